/* Placeholder until the 'bench' command lands; owned by the module that implements it. */
#include <stdio.h>
#include "harness/commands.h"

int zp_cmd_bench(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "harness: 'bench' is not available in this build\n");
    return ZP_EXIT_FAILED;
}
