/* CPU feature detection: which ISA levels this machine (and OS) can run. AMX would
 * additionally need arch_prctl(ARCH_REQ_XCOMP_PERM); no AMX kernel exists, so the
 * AMX level is never reported (docs/kernels.md). */
#include "kernels/kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned detect(void)
{
    unsigned m = 1u << ZP_ISA_REF;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        m |= 1u << ZP_ISA_AVX2;
    if ((m & (1u << ZP_ISA_AVX2)) && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        m |= 1u << ZP_ISA_AVX512BW;
    if ((m & (1u << ZP_ISA_AVX512BW)) && __builtin_cpu_supports("avx512vnni"))
        m |= 1u << ZP_ISA_AVX512VNNI;
    if ((m & (1u << ZP_ISA_AVX512BW)) && __builtin_cpu_supports("avx512vpopcntdq") &&
        __builtin_cpu_supports("avx512bitalg"))
        m |= 1u << ZP_ISA_AVX512VPOPCNT;
#endif
    return m;
}

/* ZP_ISA_LIMIT=NAME caps the detected levels at NAME (enum order), so the
 * no-AVX-512 and portable paths can be exercised on a bigger CPU:
 * ZP_ISA_LIMIT=avx2 make unit. Unknown names are ignored. */
static unsigned apply_limit(unsigned m)
{
    const char *lim = getenv("ZP_ISA_LIMIT");
    int l = lim && *lim ? zp_isa_parse(lim) : -1;
    if (l >= 0)
        m &= (2u << l) - 1u;
    return m;
}

unsigned zp_cpu_isa_mask(void)
{
    static unsigned mask; /* benign race: every thread computes the same value */
    if (!mask)
        mask = apply_limit(detect());
    return mask;
}

int zp_cpu_has(enum zp_isa isa)
{
    return (int)(isa < ZP_ISA_COUNT && (zp_cpu_isa_mask() >> isa) & 1u);
}

static const char *const isa_names[ZP_ISA_COUNT] = {
    [ZP_ISA_REF] = "ref",
    [ZP_ISA_AVX2] = "avx2",
    [ZP_ISA_AVX512BW] = "avx512bw",
    [ZP_ISA_AVX512VNNI] = "avx512vnni",
    [ZP_ISA_AVX512VPOPCNT] = "avx512vpopcnt",
    [ZP_ISA_AMX] = "amx",
};

const char *zp_isa_name(enum zp_isa isa)
{
    return isa < ZP_ISA_COUNT ? isa_names[isa] : "?";
}

int zp_isa_parse(const char *name)
{
    for (int i = 0; i < ZP_ISA_COUNT; i++)
        if (strcmp(name, isa_names[i]) == 0)
            return i;
    return -1;
}

const char *zp_cpu_model(void)
{
    static char model[128];
    if (model[0])
        return model;
    snprintf(model, sizeof model, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return model;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *c = strchr(line, ':');
            if (c) {
                c++;
                while (*c == ' ')
                    c++;
                c[strcspn(c, "\n")] = '\0';
                snprintf(model, sizeof model, "%s", c);
            }
            break;
        }
    }
    fclose(f);
    return model;
}

static const char *const scheme_names[ZP_KF_COUNT] = {
    [ZP_KF_F32] = "float",   [ZP_KF_U8] = "asymmetric", [ZP_KF_S8] = "symmetric",
    [ZP_KF_S8N] = "no-128",  [ZP_KF_Q4] = "linear4",    [ZP_KF_LUT4] = "lut4",
    [ZP_KF_BIN] = "binary",
};

const char *zp_kfmt_scheme(enum zp_kfmt f)
{
    return f < ZP_KF_COUNT ? scheme_names[f] : "?";
}

int zp_kfmt_parse(const char *scheme)
{
    for (int i = 0; i < ZP_KF_COUNT; i++)
        if (strcmp(scheme, scheme_names[i]) == 0)
            return i;
    return -1;
}
