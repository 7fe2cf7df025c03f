/* Machine and build facts for run.json: see sysinfo.h. */
#include "store/sysinfo.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kernels/kernels.h"
#include "model/graph.h"

void zp_iso_time(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void zp_sysinfo_add(cJSON *obj)
{
    /* CPU facts from kernels/cpu.c, the one feature source */
    cJSON_AddStringToObject(obj, "cpu_model", zp_cpu_model());
    const char *flags[32];
    int nf = zp_cpu_flags(flags, 32);
    cJSON *arr = cJSON_AddArrayToObject(obj, "cpu_flags");
    for (int i = 0; i < nf; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(flags[i]));
    int lim = zp_cpu_limit();
    cJSON_AddStringToObject(obj, "isa_limit", lim >= 0 ? zp_isa_name((enum zp_isa)lim) : "none");
    cJSON_AddStringToObject(obj, "runtime_isa", zp_isa_name((enum zp_isa)zp_model_isa()));
    cJSON_AddNumberToObject(obj, "cores", (double)sysconf(_SC_NPROCESSORS_ONLN));
#ifdef __VERSION__
    char comp[128];
    snprintf(comp, sizeof comp, "%s %s",
#ifdef __clang__
             "clang",
#else
             "gcc",
#endif
             __VERSION__);
    cJSON_AddStringToObject(obj, "compiler", comp);
#endif
    cJSON_AddStringToObject(obj, "version", ZP_VERSION);
    cJSON_AddStringToObject(obj, "git_revision", ZP_GIT_REV);
}
