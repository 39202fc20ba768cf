/*
 * readfile.h - read a small file (a PEM certificate, key or CA bundle)
 * whole, with messages that name it. Header-only because two programs use
 * it: the library's memtls_config_load_*_file() and the memtls command,
 * which reads each file once and hands the bytes to the *_pem loaders
 * (a hidden library symbol would not reach the command when it links the
 * shared library).
 */
#ifndef MEMTLS_READFILE_H
#define MEMTLS_READFILE_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <memtls/common.h>

/* Largest file read: certificate bundles are far smaller. */
#define MEMTLS__READ_FILE_MAX (16u * 1024 * 1024)

/*
 * Read `path` into a NUL-terminated malloc'd buffer (*out, *outlen bytes
 * without the NUL). `label` names the file in messages ("certificate",
 * "--key"): "LABEL PATH: cannot open: No such file or directory". Returns
 * 0, or MEMTLS_ERR_INVALID (no path), MEMTLS_ERR_CONFIG (cannot open, not a
 * regular file, too large, empty, read error) or MEMTLS_ERR_NOMEM, with the
 * message in err. A caller reading a key wipes the buffer with
 * OPENSSL_cleanse before freeing it.
 */
static inline int memtls__read_file(const char *label, const char *path, char **out, size_t *outlen,
                                    char *err, size_t errlen)
{
    FILE *f = NULL;
    char *buf = NULL;
    struct stat st;
    int rc = MEMTLS_ERR_CONFIG;

    if (path == NULL || path[0] == '\0') {
        snprintf(err, errlen, "%s: no file name given", label);
        return MEMTLS_ERR_INVALID;
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s %s: cannot open: %s", label, path, strerror(errno));
        goto out;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s %s: not a regular file", label, path);
        goto out;
    }
    if ((unsigned long long)st.st_size > MEMTLS__READ_FILE_MAX) {
        snprintf(err, errlen, "%s %s: larger than %u bytes", label, path, MEMTLS__READ_FILE_MAX);
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        snprintf(err, errlen, "%s %s: out of memory", label, path);
        rc = MEMTLS_ERR_NOMEM;
        goto out;
    }
    size_t n = fread(buf, 1, (size_t)st.st_size, f);
    if (ferror(f)) {
        snprintf(err, errlen, "%s %s: read error: %s", label, path, strerror(errno));
        goto out;
    }
    if (n == 0) {
        snprintf(err, errlen, "%s %s: file is empty", label, path);
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    if (f != NULL) {
        fclose(f);
    }
    return rc;
}

#endif
