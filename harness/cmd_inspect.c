/* Placeholder until the 'inspect' command lands; owned by the module that implements it. */
#include <stdio.h>
#include "harness/commands.h"

int zp_cmd_inspect(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "harness: 'inspect' is not available in this build\n");
    return ZP_EXIT_FAILED;
}
