/* CPU feature detection, the one source of it in the tree: which ISA levels this
 * machine (and OS) can run, capped by the ISA limit, plus the model name and the
 * relevant /proc/cpuinfo flags for run.json. AMX would additionally need
 * arch_prctl(ARCH_REQ_XCOMP_PERM); no AMX kernel exists, so the AMX level is
 * never reported (docs/kernels.md). */
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
    if ((m & (1u << ZP_ISA_AVX512BW)) && __builtin_cpu_supports("avx512bf16"))
        m |= 1u << ZP_ISA_AVX512BF16;
#endif
#if defined(ZP_EMULATE_ISA)
    /* The emulated-ISA test build (mk/isa.mk): the AVX-512 files run on SIMDe
     * over AVX2, so those levels are there wherever AVX2 is. AMX has no kernel. */
    if (m & (1u << ZP_ISA_AVX2))
        m |= 1u << ZP_ISA_AVX512BW | 1u << ZP_ISA_AVX512VNNI | 1u << ZP_ISA_AVX512VPOPCNT |
             1u << ZP_ISA_AVX512BF16;
#endif
    return m;
}

/* -2: not read yet; -1: no limit; else an enum zp_isa. Benign races: every
 * thread computes the same values, and callers set the limit before kernels run. */
static int limit = -2;
static unsigned detected, mask;

/* An unknown name is ignored (the kernels print nothing; zp_cpu_limit() == -1
 * then tells the caller no limit is in force). */
static int env_limit(void)
{
    const char *lim = getenv("ZP_ISA_LIMIT");
    return lim && *lim ? zp_isa_parse(lim) : -1;
}

int zp_cpu_limit(void)
{
    if (limit == -2)
        limit = env_limit();
    return limit;
}

int zp_cpu_set_limit(int isa)
{
    if (isa < -1 || isa >= ZP_ISA_COUNT)
        return -1;
    limit = isa;
    mask = 0;
    return 0;
}

/* ZP_ISA_LIMIT=NAME caps the detected levels at NAME (enum order), so the
 * no-AVX-512 and portable paths can be exercised on a bigger CPU:
 * ZP_ISA_LIMIT=avx2 make unit. */
unsigned zp_cpu_isa_mask(void)
{
    if (!mask) {
        if (!detected)
            detected = detect();
        int l = zp_cpu_limit();
        mask = l >= 0 ? detected & ((2u << l) - 1u) : detected;
    }
    return mask;
}

int zp_cpu_has(enum zp_isa isa)
{
    return (int)(isa < ZP_ISA_COUNT && (zp_cpu_isa_mask() >> isa) & 1u);
}

enum zp_isa zp_cpu_best(void)
{
    enum zp_isa best = ZP_ISA_REF;
    for (int i = 0; i < ZP_ISA_COUNT; i++)
        if (zp_cpu_has((enum zp_isa)i))
            best = (enum zp_isa)i;
    return best;
}

static const char *const isa_names[ZP_ISA_COUNT] = {
    [ZP_ISA_REF] = "ref",
    [ZP_ISA_AVX2] = "avx2",
    [ZP_ISA_AVX512BW] = "avx512bw",
    [ZP_ISA_AVX512VNNI] = "avx512vnni",
    [ZP_ISA_AVX512VPOPCNT] = "avx512vpopcnt",
    [ZP_ISA_AVX512BF16] = "avx512bf16",
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

/* /proc/cpuinfo, read once: the first "model name" and "flags" lines. */
static char model[256], flags[8192];

static void read_cpuinfo(void)
{
    if (model[0])
        return;
    char m[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[16384];
        while (fgets(line, sizeof line, f)) {
            char *colon = strchr(line, ':');
            if (!colon)
                continue;
            char *val = colon + 1;
            while (*val == ' ')
                val++;
            val[strcspn(val, "\n")] = '\0';
            if (strncmp(line, "model name", 10) == 0 && strcmp(m, "unknown") == 0)
                snprintf(m, sizeof m, "%s", val);
            if (strncmp(line, "flags", 5) == 0 && !flags[0])
                snprintf(flags, sizeof flags, " %s ", val);
        }
        fclose(f);
    }
    snprintf(model, sizeof model, "%s", m);
}

const char *zp_cpu_model(void)
{
    read_cpuinfo();
    return model;
}

int zp_cpu_flags(const char **out, int max)
{
    static const char *const keep[] = {"avx2", "fma", "avx512f", "avx512bw", "avx512vl",
                                       "avx512_vnni", "avx512_vpopcntdq", "avx512_bf16",
                                       "avx512vbmi", "avx_vnni", "amx_tile", "amx_int8"};
    read_cpuinfo();
    int n = 0;
    for (size_t i = 0; i < sizeof keep / sizeof keep[0] && n < max; i++) {
        char pat[64];
        snprintf(pat, sizeof pat, " %s ", keep[i]);
        if (strstr(flags, pat))
            out[n++] = keep[i];
    }
    return n;
}
