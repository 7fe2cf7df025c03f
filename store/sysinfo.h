/* Facts about the machine and the build, recorded in run.json. */
#ifndef ZP_HARNESS_SYSINFO_H
#define ZP_HARNESS_SYSINFO_H

#include <cjson/cJSON.h>

/* Adds cpu_model, cpu_flags (the ones that matter for kernels), isa_limit (the
 * ISA limit in force, "none"), runtime_isa (the level the float runtime's vector
 * paths ran at), cores, compiler, version and git revision to obj. */
void zp_sysinfo_add(cJSON *obj);
/* ISO-8601 UTC time now. */
void zp_iso_time(char out[32]);

#endif
