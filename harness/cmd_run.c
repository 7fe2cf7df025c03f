/* Placeholder until the 'run' command lands. */
#include <stdio.h>
#include "harness/commands.h"

int zp_cmd_run(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "harness: 'run' is not available in this build\n");
    return ZP_EXIT_FAILED;
}
