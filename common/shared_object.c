/* Shared-object checks before dlopen: see shared_object.h. Only the ELF and
 * program headers are read (pread), never the whole file. */
#include "common/shared_object.h"

#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "common/file.h"

#if UINTPTR_MAX == 0xffffffffu
typedef Elf32_Ehdr zp_ehdr;
typedef Elf32_Phdr zp_phdr;
#define ZP_ELFCLASS ELFCLASS32
#else
typedef Elf64_Ehdr zp_ehdr;
typedef Elf64_Phdr zp_phdr;
#define ZP_ELFCLASS ELFCLASS64
#endif

static int read_at(int fd, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

enum zp_status zp_shared_object_check(const char *path, struct zp_err *err)
{
    size_t size = 0;
    int fd = zp_file_open_regular(path, &size, err);
    if (fd < 0)
        return err && err->status ? err->status : ZP_EIO;
    enum zp_status st = ZP_OK;
    zp_ehdr eh;
    memset(&eh, 0, sizeof eh);
    size_t head = size < sizeof eh ? size : sizeof eh;
    if (read_at(fd, &eh, head, 0) != 0) {
        st = zp_err_set(err, ZP_EIO, "%s: read error: %s", path, strerror(errno));
        goto out_close;
    }
    if (size >= SELFMAG && memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: not a shared object (starts %02x %02x %02x %02x, not an "
                        "ELF file)", path, eh.e_ident[0], eh.e_ident[1], eh.e_ident[2], eh.e_ident[3]);
        goto out_close;
    }
    if (size < sizeof eh) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: not a shared object (%zu bytes, shorter than an ELF header)",
                        path, size);
        goto out_close;
    }
    const uint16_t one = 1;
    int little = *(const uint8_t *)&one == 1;
    if (eh.e_ident[EI_CLASS] != ZP_ELFCLASS ||
        eh.e_ident[EI_DATA] != (little ? ELFDATA2LSB : ELFDATA2MSB)) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: an ELF file of another machine class or byte order", path);
        goto out_close;
    }
    if (eh.e_type != ET_DYN) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: an ELF file but not a shared object (type %u; build it "
                        "with -shared -fPIC)", path, (unsigned)eh.e_type);
        goto out_close;
    }
    if (eh.e_phentsize != sizeof(zp_phdr) || eh.e_phnum == 0 ||
        eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(zp_phdr) > size) {
        st = zp_err_set(err, ZP_EFORMAT, "%s: truncated or corrupt shared object: the program headers "
                        "(%u at byte %llu) are not inside the file's %zu bytes", path,
                        (unsigned)eh.e_phnum, (unsigned long long)eh.e_phoff, size);
        goto out_close;
    }
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        zp_phdr ph;
        if (read_at(fd, &ph, sizeof ph, eh.e_phoff + (uint64_t)i * sizeof ph) != 0) {
            st = zp_err_set(err, ZP_EIO, "%s: read error in the program headers", path);
            goto out_close;
        }
        uint64_t end = (uint64_t)ph.p_offset + ph.p_filesz;
        if (ph.p_type == PT_LOAD && (end < ph.p_offset || end > size)) {
            st = zp_err_set(err, ZP_EFORMAT, "%s: truncated shared object: segment %u ends at byte %llu, "
                            "the file has %zu", path, i, (unsigned long long)end, size);
            goto out_close;
        }
    }
out_close:
    close(fd);
    return st;
}
