/* The harness's subcommands. Each takes the arguments after its name
 * (argv[0] is the command name) and returns the process exit code:
 * 0 success, 1 a run that failed on its inputs or while running, 2 usage or config error. */
#ifndef ZP_HARNESS_COMMANDS_H
#define ZP_HARNESS_COMMANDS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZP_EXIT_OK 0
#define ZP_EXIT_FAILED 1
#define ZP_EXIT_USAGE 2

int zp_cmd_run(int argc, char **argv);     /* harness/cmd_run.c */
int zp_cmd_list(int argc, char **argv);    /* harness/cmd_list.c */
int zp_cmd_inspect(int argc, char **argv); /* harness/cmd_inspect.c */
int zp_cmd_bench(int argc, char **argv);   /* harness/cmd_bench.c */
int zp_cmd_train(int argc, char **argv);   /* harness/cmd_train.c */
int zp_cmd_plot(int argc, char **argv);    /* harness/cmd_plot.c */
int zp_cmd_merge(int argc, char **argv);   /* harness/cmd_merge.c */
int zp_cmd_export(int argc, char **argv);  /* harness/cmd_export.c */

/* Usage text of a command, NULL for an unknown name (harness/main.c). */
const char *zp_command_usage(const char *name);
/* For an unknown option arg of command: " (did you mean --threads?)" naming the
 * nearest flag of the command's usage text, or "" when none is close. */
void zp_flag_hint(const char *command, const char *arg, char *out, size_t n);

#ifdef __cplusplus
}
#endif
#endif
