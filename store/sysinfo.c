/* Machine and build facts for run.json: see sysinfo.h. */
#include "store/sysinfo.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void zp_iso_time(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void zp_sysinfo_add(cJSON *obj)
{
    char model[256] = "unknown", flags[8192] = "";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[16384];
        while (fgets(line, sizeof line, f)) {
            char *colon = strchr(line, ':');
            if (!colon)
                continue;
            char *val = colon + 2;
            val[strcspn(val, "\n")] = '\0';
            if (strncmp(line, "model name", 10) == 0 && strcmp(model, "unknown") == 0)
                snprintf(model, sizeof model, "%s", val);
            if (strncmp(line, "flags", 5) == 0 && !flags[0])
                snprintf(flags, sizeof flags, "%s", val);
        }
        fclose(f);
    }
    cJSON_AddStringToObject(obj, "cpu_model", model);
    static const char *const keep[] = {"avx2", "fma", "avx512f", "avx512bw", "avx512vl",
                                       "avx512_vnni", "avx512_vpopcntdq", "avx512_bf16",
                                       "avx512vbmi", "avx_vnni", "amx_tile", "amx_int8", NULL};
    cJSON *arr = cJSON_AddArrayToObject(obj, "cpu_flags");
    for (const char *const *k = keep; *k; k++) {
        char pat[64];
        snprintf(pat, sizeof pat, " %s ", *k);
        char padded[8300];
        snprintf(padded, sizeof padded, " %s ", flags);
        if (strstr(padded, pat))
            cJSON_AddItemToArray(arr, cJSON_CreateString(*k));
    }
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
