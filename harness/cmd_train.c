/* Placeholder until the 'train' command lands; owned by the module that implements it. */
#include <stdio.h>
#include "harness/commands.h"

int zp_cmd_train(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "harness: 'train' is not available in this build\n");
    return ZP_EXIT_FAILED;
}
