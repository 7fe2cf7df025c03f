/* Placeholder until the 'list' command lands. */
#include <stdio.h>
#include "harness/commands.h"

int zp_cmd_list(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "harness: 'list' is not available in this build\n");
    return ZP_EXIT_FAILED;
}
