/* harness: the command-line entry point. Dispatches to one subcommand per verb
 * (harness/commands.h); only this file and the commands decide exit codes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/keys.h"
#include "harness/commands.h"

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
    const char *usage;
};

static const struct command commands[] = {
    {"run", zp_cmd_run, "run an experiment config: tensors, models, schemes -> CSV + figures",
     "usage: harness run CONFIG [options]\n"
     "  --out DIR        run folder (default results/<config name>/)\n"
     "  --only NAMES     run only the schemes whose label or name is in the comma list\n"
     "  --resume         keep finished cells of an existing run folder, run the rest\n"
     "  --save-logits    write each model cell's logits to logits/<cell id>.npy\n"
     "  --force          replace an existing non-empty run folder\n"
     "  --data DIR       data root for '@data/' paths (else $ZP_DATA; no default)\n"
     "  --plugin SO      load an external scheme plugin (repeatable)\n"
     "  --shard I/N      run only shard I of N (0-based) of the cells\n"
     "  --threads N      threads for inference (default: all cores)\n"
     "  --limit N        evaluate at most N examples (quick look; recorded in run.json)\n"
     "  --no-plots       skip rendering figures\n"
     "  --yes            run a plan of more than 10000 cells (docs/sweeps.md)\n"
     "  --quiet          no progress output\n"},
    {"list", zp_cmd_list, "list every registered scheme with its options, ranges and defaults",
     "usage: harness list [--plugin SO]... [--json]\n"},
    {"inspect", zp_cmd_inspect, "print a model's graph, parameter counts and weight ranges",
     "usage: harness inspect MODEL.onnx | --ops\n"
     "  MODEL.onnx  the graph, parameters and weight ranges; when nodes cannot be loaded,\n"
     "              every one of them (name, operator, why) on stderr and exit code 1\n"
     "  --ops       the op table (docs/ops.md): op, forward, backward, quantization point\n"},
    {"bench", zp_cmd_bench, "benchmark every scheme's kernels against float and libraries",
     "usage: harness bench CONFIG [--out DIR] [--isa NAME] [--peak] [--quiet]\n"
     "       harness bench --peak   measure the per-core instruction peaks only\n"},
    {"train", zp_cmd_train, "train a model (float or fake-quantized) from a config, write ONNX",
     "usage: harness train CONFIG [--out FILE.onnx] [--resume] [--threads N] [--data DIR] [--quiet]\n"
     "  --data DIR       data root for '@data/' paths (else $ZP_DATA; no default)\n"},
    {"plot", zp_cmd_plot, "regenerate every figure and the report of a finished run folder",
     "usage: harness plot RESULTS_DIR\n"},
    {"export", zp_cmd_export, "write one cell's quantized model as ONNX QDQ (int8 / uint8, opset 13)",
     "usage: harness export CONFIG --cell LABEL --out FILE.onnx [options]\n"
     "  --cell LABEL     the cell's scheme label (as in accuracy.csv; an entry's label if unique)\n"
     "  --out FILE.onnx  file to write (whole or not at all)\n"
     "  --model NAME     which of the config's models (needed when it has several)\n"
     "  --data DIR       data root for '@data/' paths (else $ZP_DATA; no default)\n"
     "  --plugin SO      load an external scheme plugin (repeatable)\n"
     "  --threads N      threads for calibration (default: all cores)\n"
     "  --quiet          no progress output\n"
     "exit codes: 0 written, 1 model / data / file failure, 2 usage, config, unknown cell\n"
     "            or a scheme with no QDQ form\n"},
    {"merge", zp_cmd_merge, "join shard run folders into one run folder",
     "usage: harness merge --out DIR [--no-plots] SHARD_DIR...\n"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

const char *zp_command_usage(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].usage;
    return NULL;
}

/* Edit distance (insertions, deletions, substitutions), for "did you mean". */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return (size_t)-1;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The nearest of the candidates to word, or NULL when none is close: within a
 * third of the word's length (at least 2 edits), or a candidate the word is a
 * prefix of ("--thr" -> "--threads"). */
static const char *nearest(const char *word, const char *const *cand, size_t n)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1, wl = strlen(word);
    size_t limit = wl / 3 > 2 ? wl / 3 : 2;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(word, cand[i]);
        if (wl >= 3 && strncmp(cand[i], word, wl) == 0 && d > 1)
            d = 1; /* an abbreviation */
        if (d < best_d) {
            best_d = d;
            best = cand[i];
        }
    }
    return best && best_d > 0 && best_d <= limit ? best : NULL;
}

void zp_flag_hint(const char *command, const char *arg, char *out, size_t n)
{
    out[0] = '\0';
    const char *u = zp_command_usage(command);
    if (!u || !arg || arg[0] != '-')
        return;
    /* The known flags are the ones the command's usage text names: one list. */
    char flags[32][32];
    const char *cand[32] = {"--help"}; /* every command takes it (main) */
    size_t nf = 1;
    for (const char *p = u; (p = strstr(p, "--")) && nf < 32;) {
        size_t l = 2;
        while ((p[l] >= 'a' && p[l] <= 'z') || p[l] == '-')
            l++;
        if (l > 2 && l < sizeof flags[0]) {
            snprintf(flags[nf], sizeof flags[0], "%.*s", (int)l, p);
            int dup = 0;
            for (size_t k = 0; k < nf; k++)
                dup |= strcmp(cand[k], flags[nf]) == 0;
            if (!dup) {
                cand[nf] = flags[nf];
                nf++;
            }
        }
        p += l;
    }
    char word[64];
    snprintf(word, sizeof word, "%.*s", (int)strcspn(arg, "="), arg);
    const char *near = nearest(word, cand, nf);
    if (near)
        snprintf(out, n, " (did you mean %s?)", near);
    else if (strchr(arg, '='))
        for (size_t k = 0; k < nf; k++)
            if (strcmp(cand[k], word) == 0) {
                snprintf(out, n, " (write '%s VALUE', not '%s=VALUE')", word, word);
                break;
            }
}

static void print_overview(FILE *f)
{
    fprintf(f, "zeropoint %s: a benchmarking harness for neural-network quantization schemes\n\n"
               "usage: harness COMMAND [ARGS]\n\ncommands:\n", ZP_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "  %-9s %s\n", "help", "show help for a command: harness help run");
    fprintf(f, "  %-9s %s\n", "", "every config key: harness help config");
    fprintf(f, "\nexit codes: 0 success, 1 run failed (bad model, data or a runtime error),\n"
               "            2 usage or config error\n");
}

static int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        print_overview(stdout);
        return ZP_EXIT_OK;
    }
    if (strcmp(argv[1], "config") == 0) {
        zp_config_print_keys(stdout);
        return ZP_EXIT_OK;
    }
    const char *u = zp_command_usage(argv[1]);
    if (!u) {
        fprintf(stderr, "harness: help: unknown command '%s'\n", argv[1]);
        return ZP_EXIT_USAGE;
    }
    fputs(u, stdout);
    return ZP_EXIT_OK;
}

/* OpenMP threads that wait actively (libgomp's default) burn the CPU another
 * thread of the same team needs whenever the machine is shared: training ran 4x
 * slower in wall time on a busy 2-core box (41 s against 9 s for one epoch), and
 * the runtime's node-by-node schedule stalls the same way. The policy is read when
 * libgomp loads, so when the user has not chosen one, `run` and `train` re-execute
 * the program once with OMP_WAIT_POLICY=PASSIVE. */
static void reexec_passive(char **argv)
{
    if (getenv("OMP_WAIT_POLICY"))
        return;
    /* Re-execution would leave valgrind (the new image runs natively) or, under an
     * explicit loader (ld.so bin/harness ...), start the loader with our arguments:
     * there, run with libgomp's default policy and say how to choose it. (Setting
     * the variable from the executable's preinit array is too early: libc's own
     * initializer resets environ afterwards, before libgomp reads it.) */
    const char *pre = getenv("LD_PRELOAD");
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = '\0';
    const char *base = strrchr(self, '/') ? strrchr(self, '/') + 1 : self;
    if (n <= 0 || (pre && strstr(pre, "vgpreload")) || strncmp(base, "ld-", 3) == 0 ||
        strncmp(base, "ld.so", 5) == 0) {
        fprintf(stderr, "harness: note: OpenMP threads wait actively (libgomp's default); set "
                        "OMP_WAIT_POLICY=PASSIVE when the machine is shared\n");
        return;
    }
    if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0)
        return;
    execv("/proc/self/exe", argv); /* on failure: carry on with the active policy */
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_overview(stderr);
        return ZP_EXIT_USAGE;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "--version") == 0 || strcmp(verb, "version") == 0) {
        printf("zeropoint %s (%s)\n", ZP_VERSION, ZP_GIT_REV);
        return ZP_EXIT_OK;
    }
    if (strcmp(verb, "help") == 0 || strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0)
        return cmd_help(argc - 1, argv + 1);
    if (strcmp(verb, "run") == 0 || strcmp(verb, "train") == 0)
        reexec_passive(argv);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(commands[i].name, verb) == 0) {
            for (int a = 2; a < argc; a++)
                if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
                    fputs(commands[i].usage, stdout);
                    return ZP_EXIT_OK;
                }
            return commands[i].fn(argc - 1, argv + 1);
        }
    }
    const char *names[N_COMMANDS + 1];
    for (size_t i = 0; i < N_COMMANDS; i++)
        names[i] = commands[i].name;
    names[N_COMMANDS] = "help";
    const char *near = nearest(verb, names, N_COMMANDS + 1);
    if (near)
        fprintf(stderr, "harness: unknown command '%s' (did you mean '%s'? try 'harness help')\n",
                verb, near);
    else
        fprintf(stderr, "harness: unknown command '%s' (try 'harness help')\n", verb);
    return ZP_EXIT_USAGE;
}
