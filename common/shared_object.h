/* Checks a file before dlopen: dlopen maps an ELF's segments as its program
 * headers describe them, so a truncated shared object maps pages past the end
 * of the file and the process dies of SIGBUS on first touch (a plugin cut by a
 * failed copy does exactly this). zp_shared_object_check refuses, with a
 * message naming the file, anything that is not a regular file holding a
 * complete ELF shared object of this machine's class and byte order:
 * "p.so: not a shared object (starts 6e 6f 74 20, not an ELF file)",
 * "p.so: truncated shared object: segment 2 ends at byte 16400, the file has 4096".
 * Status ZP_EIO (cannot open / not a regular file) or ZP_EFORMAT. */
#ifndef ZP_COMMON_SHARED_OBJECT_H
#define ZP_COMMON_SHARED_OBJECT_H

#include "common/err.h"

#ifdef __cplusplus
extern "C" {
#endif

enum zp_status zp_shared_object_check(const char *path, struct zp_err *err);

#ifdef __cplusplus
}
#endif
#endif
