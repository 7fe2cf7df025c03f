/* harness list: every registered scheme with its options, ranges and defaults. */
#include <stdio.h>
#include <string.h>

#include "harness/commands.h"
#include "schemes/scheme.h"

static void print_option(const struct zp_option_desc *o)
{
    switch (o->type) {
    case ZP_OPT_BOOL:
        printf("    %-14s bool, default %s", o->name, o->def != 0 ? "true" : "false");
        break;
    case ZP_OPT_INT:
        printf("    %-14s integer %g..%g, default %g", o->name, o->min, o->max, o->def);
        break;
    case ZP_OPT_NUMBER:
        printf("    %-14s number %g..%g, default %g", o->name, o->min, o->max, o->def);
        break;
    case ZP_OPT_ENUM: {
        const char *p = o->choices;
        int idx = 0;
        char def[64] = "";
        while (p && *p) {
            size_t l = strcspn(p, "|");
            if (idx == (int)o->def)
                snprintf(def, sizeof def, "%.*s", (int)l, p);
            p += l;
            if (*p == '|')
                p++;
            idx++;
        }
        printf("    %-14s one of %s, default %s", o->name, o->choices, def);
        break;
    }
    }
    printf("%s%s\n", o->help ? ": " : "", o->help ? o->help : "");
}

int zp_cmd_list(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--plugin") == 0 && i + 1 < argc) {
            struct zp_err err = {0};
            if (zp_scheme_load_plugin(argv[++i], &err)) {
                fprintf(stderr, "harness list: %s\n", err.msg);
                return ZP_EXIT_USAGE;
            }
        } else {
            char hint[96];
            zp_flag_hint("list", argv[i], hint, sizeof hint);
            fprintf(stderr, "harness list: unknown argument '%s'%s\n%s", argv[i], hint,
                    zp_command_usage("list"));
            return ZP_EXIT_USAGE;
        }
    }
    for (int i = 0; i < zp_scheme_count(); i++) {
        const struct zp_scheme *s = zp_scheme_at(i);
        char gran[64] = "";
        if (s->granularities & ZP_GRAN_BIT(ZP_PER_TENSOR))
            strcat(gran, "per-tensor ");
        if (s->granularities & ZP_GRAN_BIT(ZP_PER_CHANNEL))
            strcat(gran, "per-channel ");
        if (s->granularities & ZP_GRAN_BIT(ZP_PER_GROUP))
            strcat(gran, "per-group");
        printf("%s%s%s%s\n  %s\n", s->name, s->alias_of ? " (= " : "",
               s->alias_of ? s->alias_of : "", s->alias_of ? " preset)" : "", s->summary);
        if (s->min_bits == s->max_bits)
            printf("    %-14s %d\n", "bits", s->min_bits);
        else
            printf("    %-14s integer %d..%d, default %d\n", "bits", s->min_bits, s->max_bits,
                   s->default_bits);
        if (s->block_size > 0) /* block-scaled: the block is the group (zp_scheme_default_config) */
            printf("    %-14s %s (default per-group, group_size %d: the format's block; axis "
                   "default 0)\n",
                   "granularity", gran, s->block_size);
        else
            printf("    %-14s %s (default per-tensor; axis default 0, group_size default 32)\n",
                   "granularity", gran);
        for (int k = 0; k < s->n_options; k++)
            print_option(&s->options[k]);
        printf("    %-14s %s\n", "kernel", s->kernel_family ? s->kernel_family : "none");
    }
    return ZP_EXIT_OK;
}
