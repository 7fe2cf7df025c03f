/* '@data/' paths: the one place the data root is chosen (run and train configs).
 * There is no default root: the repository's ./data is the loaders' C source
 * folder, so a silent default sent every '@data/' path to the wrong place. */
#include "config/data_cfg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The root and where it came from, or NULL when neither is set. */
static const char *pick_root(const char *data_root, const char **source)
{
    if (data_root && *data_root) {
        *source = "--data";
        return data_root;
    }
    const char *env = getenv("ZP_DATA");
    if (env && *env) {
        *source = "$ZP_DATA";
        return env;
    }
    *source = NULL;
    return NULL;
}

enum zp_status zp_resolve_data_path(const char *in, const char *data_root, char *out,
                                    size_t out_len, const char *what, struct zp_err *err)
{
    if (strncmp(in, "@data/", 6) != 0) {
        if ((size_t)snprintf(out, out_len, "%s", in) >= out_len)
            return zp_err_set(err, ZP_ECONFIG, "%s: path too long", what);
        return ZP_OK;
    }
    const char *source;
    const char *root = pick_root(data_root, &source);
    if (!root)
        return zp_err_set(err, ZP_ECONFIG,
                          "%s: '%s' needs a data root: pass --data DIR or set ZP_DATA (there is "
                          "no default)",
                          what, in);
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
        return zp_err_set(err, ZP_ECONFIG,
                          "%s: '%s' needs the data root, but %s ('%s') is not a directory; "
                          "pass --data DIR or set ZP_DATA",
                          what, in, source, root);
    if ((size_t)snprintf(out, out_len, "%s/%s", root, in + 6) >= out_len)
        return zp_err_set(err, ZP_ECONFIG, "%s: path too long", what);
    return ZP_OK;
}

enum zp_status zp_check_data_path(const char *in, const char *resolved, const char *data_root,
                                  const char *what, struct zp_err *err)
{
    if (strncmp(in, "@data/", 6) != 0)
        return ZP_OK; /* plain paths are the loaders' to open and report */
    struct stat st;
    if (stat(resolved, &st) == 0)
        return ZP_OK;
    const char *source;
    const char *root = pick_root(data_root, &source);
    return zp_err_set(err, ZP_EIO,
                      "%s: cannot open '%s' (%s): %s; the data root '%s' comes from %s: pass "
                      "--data DIR or set ZP_DATA to the folder that holds %s",
                      what, resolved, in, strerror(errno), root ? root : "?",
                      source ? source : "nowhere", in + 6);
}
