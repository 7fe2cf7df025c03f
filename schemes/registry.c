/* The scheme registry: the built-in table (expanded from schemes/schemes.inc)
 * followed by schemes registered at run time by plugins (dlopen). Lookup is by
 * registry name; built-ins come first and a plugin cannot shadow one. */
#include "schemes/scheme.h"

#include "common/shared_object.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZP_SCHEME(id) extern const struct zp_scheme zp_scheme_##id;
#include "schemes/schemes.inc"
#undef ZP_SCHEME

static const struct zp_scheme *const builtin[] = {
#define ZP_SCHEME(id) &zp_scheme_##id,
#include "schemes/schemes.inc"
#undef ZP_SCHEME
};
#define N_BUILTIN ((int)(sizeof builtin / sizeof builtin[0]))

/* Plugins register at start-up, before any worker thread exists, so the list
 * needs no lock. Descriptors live in the plugin's mapping, which is never
 * unloaded once a registration succeeded. */
#define ZP_MAX_PLUGIN_SCHEMES 64
static const struct zp_scheme *plugin_list[ZP_MAX_PLUGIN_SCHEMES];
static int n_plugin;

const struct zp_scheme *zp_scheme_find(const char *name)
{
    if (!name)
        return NULL;
    for (int i = 0; i < N_BUILTIN; i++)
        if (strcmp(builtin[i]->name, name) == 0)
            return builtin[i];
    for (int i = 0; i < n_plugin; i++)
        if (strcmp(plugin_list[i]->name, name) == 0)
            return plugin_list[i];
    return NULL;
}

int zp_scheme_count(void)
{
    return N_BUILTIN + n_plugin;
}

const struct zp_scheme *zp_scheme_at(int i)
{
    if (i < 0 || i >= N_BUILTIN + n_plugin)
        return NULL;
    return i < N_BUILTIN ? builtin[i] : plugin_list[i - N_BUILTIN];
}

/* Checks everything the harness relies on before it calls through a descriptor. */
static enum zp_status check_descriptor(const struct zp_scheme *s, struct zp_err *err)
{
    if (!s)
        return zp_err_set(err, ZP_EINVAL, "zp_scheme_register: descriptor is NULL");
    if (s->abi != ZP_SCHEME_ABI)
        return zp_err_set(err, ZP_EUNSUPPORTED,
                          "scheme ABI mismatch: expected %d, got %u (rebuild the plugin "
                          "against this harness's schemes/scheme.h)",
                          ZP_SCHEME_ABI, (unsigned)s->abi);
    if (!s->name || !s->name[0])
        return zp_err_set(err, ZP_EINVAL, "scheme descriptor has no name");
    for (const char *c = s->name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
            return zp_err_set(err, ZP_EINVAL,
                              "scheme '%s': name must use only a-z, 0-9, '-' and '_'", s->name);
    if (!s->fit || !s->quantize || !s->dequantize)
        return zp_err_set(err, ZP_EINVAL,
                          "scheme '%s': fit, quantize and dequantize must all be non-NULL "
                          "(got fit=%s quantize=%s dequantize=%s)",
                          s->name, s->fit ? "set" : "NULL", s->quantize ? "set" : "NULL",
                          s->dequantize ? "set" : "NULL");
    if (s->min_bits < 1 || s->max_bits > 16 || s->min_bits > s->max_bits ||
        s->default_bits < s->min_bits || s->default_bits > s->max_bits)
        return zp_err_set(err, ZP_EINVAL,
                          "scheme '%s': bit range must satisfy 1 <= min_bits <= default_bits "
                          "<= max_bits <= 16, got %d <= %d <= %d",
                          s->name, s->min_bits, s->default_bits, s->max_bits);
    if (!(s->granularities & ZP_GRAN_BIT(ZP_PER_TENSOR)) || (s->granularities & ~7u))
        return zp_err_set(err, ZP_EINVAL,
                          "scheme '%s': granularities mask 0x%x must include per-tensor and "
                          "only per-tensor/per-channel/per-group",
                          s->name, s->granularities);
    if (s->block_size < 0 ||
        (s->block_size > 0 && !(s->granularities & ZP_GRAN_BIT(ZP_PER_GROUP))))
        return zp_err_set(err, ZP_EINVAL,
                          "scheme '%s': block_size %d must be >= 0, and > 0 only with per-group "
                          "in the granularities",
                          s->name, s->block_size);
    if (s->n_options < 0 || s->n_options > ZP_MAX_OPTIONS || (s->n_options > 0 && !s->options))
        return zp_err_set(err, ZP_EINVAL,
                          "scheme '%s': n_options %d must be 0..%d with a non-NULL options array",
                          s->name, s->n_options, ZP_MAX_OPTIONS);
    for (int i = 0; i < s->n_options; i++) {
        const struct zp_option_desc *o = &s->options[i];
        if (!o->name || !o->name[0])
            return zp_err_set(err, ZP_EINVAL, "scheme '%s': option %d has no name", s->name, i);
        if (o->type == ZP_OPT_ENUM && (!o->choices || !o->choices[0]))
            return zp_err_set(err, ZP_EINVAL, "scheme '%s': enum option '%s' has no choices",
                              s->name, o->name);
    }
    return ZP_OK;
}

enum zp_status zp_scheme_register(const struct zp_scheme *s, struct zp_err *err)
{
    enum zp_status st = check_descriptor(s, err);
    if (st != ZP_OK)
        return st;
    if (zp_scheme_find(s->name))
        return zp_err_set(err, ZP_EINVAL, "scheme '%s' is already registered", s->name);
    if (s->alias_of && !zp_scheme_find(s->alias_of))
        return zp_err_set(err, ZP_EINVAL, "scheme '%s': alias_of names unknown scheme '%s'",
                          s->name, s->alias_of);
    if (n_plugin >= ZP_MAX_PLUGIN_SCHEMES)
        return zp_err_set(err, ZP_EUNSUPPORTED, "scheme '%s': too many plugin schemes (max %d)",
                          s->name, ZP_MAX_PLUGIN_SCHEMES);
    plugin_list[n_plugin++] = s;
    return ZP_OK;
}

enum zp_status zp_scheme_load_plugin(const char *path, struct zp_err *err)
{
    if (!path || !path[0])
        return zp_err_set(err, ZP_EINVAL, "plugin: empty path");
    /* dlopen searches the library path for a bare name; a plugin is a file, so
     * make a bare name relative to the working directory. */
    char buf[4096];
    const char *open_path = path;
    if (!strchr(path, '/')) {
        snprintf(buf, sizeof buf, "./%s", path);
        open_path = buf;
    }
    /* Check the file before dlopen: a FIFO would block it, a truncated .so kills
     * the process with SIGBUS inside it, and "not a shared object" says more than
     * the loader's "invalid ELF header". */
    struct zp_err why_not = {0};
    if (zp_shared_object_check(open_path, &why_not))
        return zp_err_set(err, why_not.status, "plugin %s", why_not.msg);
    dlerror();
    void *h = dlopen(open_path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        return zp_err_set(err, ZP_EIO, "plugin %s: cannot load: %s", path,
                          why ? why : "unknown dlopen error");
    }
    /* Converting a data pointer to a function pointer is what dlsym requires
     * (POSIX guarantees it works); go through a union to stay ISO C clean. */
    union {
        void *obj;
        zp_plugin_entry_fn fn;
    } entry;
    dlerror();
    entry.obj = dlsym(h, ZP_PLUGIN_ENTRY);
    if (!entry.obj) {
        dlclose(h);
        return zp_err_set(err, ZP_EINVAL,
                          "plugin %s: no symbol '%s' (a plugin must export "
                          "enum zp_status %s(struct zp_err *))",
                          path, ZP_PLUGIN_ENTRY, ZP_PLUGIN_ENTRY);
    }
    int before = n_plugin;
    struct zp_err local = {0};
    enum zp_status st = entry.fn(&local);
    if (st == ZP_OK && local.status != ZP_OK)
        st = local.status;
    if (st == ZP_OK && n_plugin == before)
        st = zp_err_set(&local, ZP_EINVAL, "registered no scheme");
    if (st != ZP_OK) {
        /* Roll back whatever this plugin registered: its descriptors go away
         * with the mapping. */
        n_plugin = before;
        dlclose(h);
        if (local.status == ZP_OK)
            zp_err_set(&local, st, "%s failed without a message", ZP_PLUGIN_ENTRY);
        return zp_err_set(err, st, "plugin %s: %s", path, local.msg);
    }
    return ZP_OK; /* h stays open for the life of the process */
}

void zp_scheme_config_defaults(struct zp_scheme_config *cfg, const struct zp_scheme *s)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->scheme = s;
    cfg->bits = s->default_bits;
    cfg->granularity = ZP_PER_TENSOR;
    cfg->axis = 0;
    cfg->group_size = 32;
    if (s->block_size > 0) {
        cfg->granularity = ZP_PER_GROUP;
        cfg->group_size = s->block_size;
    }
    for (int i = 0; i < s->n_options && i < ZP_MAX_OPTIONS; i++)
        cfg->opt[i].num = s->options[i].def;
}

int zp_scheme_option_index(const struct zp_scheme *s, const char *name)
{
    if (!s || !name)
        return -1;
    for (int i = 0; i < s->n_options; i++)
        if (strcmp(s->options[i].name, name) == 0)
            return i;
    return -1;
}

double zp_scheme_opt(const struct zp_scheme_config *cfg, const char *name)
{
    int i = zp_scheme_option_index(cfg->scheme, name);
    return i < 0 ? 0.0 : cfg->opt[i].num;
}
