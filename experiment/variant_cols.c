/* How a variant appears in the CSVs: see runner.h. */
#include <string.h>

#include "experiment/runner.h"

int zp_variant_nudge(const struct zp_scheme_config *c)
{
    int i = zp_scheme_option_index(c->scheme, "nudge_zero");
    return i >= 0 ? c->opt[i].num != 0 : -1;
}

int zp_variant_narrow(const struct zp_scheme_config *c)
{
    const struct zp_scheme *s = c->scheme;
    int i = zp_scheme_option_index(s, "narrow_range");
    if (i >= 0)
        return c->opt[i].num != 0;
    const char *k = zp_scheme_kernel_family(c);
    return k && strcmp(k, "s8-narrow") == 0 ? 1 : -1;
}
