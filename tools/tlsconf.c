/* see tlsconf.h */
#include "tlsconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <memtls/pki.h>

#define TLSCONF_MAX_FILE (1024u * 1024u)

int tlsconf_read_file(const char *flag, const char *path, char **buf, size_t *len, char *err,
                      size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    struct stat st;
    int rc = TOOL_EXIT_FAIL;

    if (f == NULL) {
        snprintf(err, errlen, "%s %s: cannot open: %s", flag, path, strerror(errno));
        goto out;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s %s: not a regular file", flag, path);
        goto out;
    }
    if ((unsigned long long)st.st_size > TLSCONF_MAX_FILE) {
        snprintf(err, errlen, "%s %s: larger than %u bytes", flag, path, TLSCONF_MAX_FILE);
        goto out;
    }
    data = malloc((size_t)st.st_size + 1);
    if (data == NULL) {
        snprintf(err, errlen, "%s %s: out of memory", flag, path);
        goto out;
    }
    size_t n = fread(data, 1, (size_t)st.st_size, f);
    if (ferror(f)) {
        snprintf(err, errlen, "%s %s: read error: %s", flag, path, strerror(errno));
        goto out;
    }
    if (n == 0) {
        snprintf(err, errlen, "%s %s: file is empty", flag, path);
        goto out;
    }
    data[n] = '\0';
    *buf = data;
    *len = n;
    data = NULL;
    rc = 0;
out:
    free(data);
    if (f != NULL) {
        fclose(f);
    }
    return rc;
}

int tlsconf_fingerprint(const char *cert_pem, char out[96])
{
    memtls_pem pem;
    memset(&pem, 0, sizeof pem);
    pem.cert = (char *)cert_pem;
    pem.cert_len = strlen(cert_pem);
    return memtls_pem_fingerprint(&pem, out) == 0 ? 0 : TOOL_EXIT_FAIL;
}

/* The key file's bytes are wiped before they are freed. */
static void free_secret(char *buf, size_t len)
{
    if (buf != NULL) {
        memset(buf, 0, len);
        free(buf);
    }
}

static int load_cert(memtls_config *cfg, const tlsconf_opts *o, char *err, size_t errlen)
{
    char *cert = NULL;
    char *key = NULL;
    size_t cert_len = 0;
    size_t key_len = 0;
    int rc = TOOL_EXIT_FAIL;

    if (o->cert == NULL) {
        if (memtls_config_load_cert_pem(cfg, o->cert_pem, strlen(o->cert_pem), o->key_pem,
                                        strlen(o->key_pem)) != 0) {
            snprintf(err, errlen, "%s", memtls_config_error(cfg));
            return TOOL_EXIT_FAIL;
        }
        return 0;
    }
    /* Read both files here first so that a missing file is reported with
     * the option that named it. */
    if (tlsconf_read_file("--cert", o->cert, &cert, &cert_len, err, errlen) != 0 ||
        tlsconf_read_file("--key", o->key, &key, &key_len, err, errlen) != 0) {
        goto out;
    }
    if (memtls_config_load_cert_file(cfg, o->cert, o->key) != 0) {
        snprintf(err, errlen, "%s", memtls_config_error(cfg));
        goto out;
    }
    rc = 0;
out:
    free(cert);
    free_secret(key, key_len);
    return rc;
}

int tlsconf_build(memtls_role role, const tlsconf_opts *o, memtls_config **out, char *err,
                  size_t errlen)
{
    memtls_config *cfg = memtls_config_new(role);
    int rc = TOOL_EXIT_FAIL;

    if (cfg == NULL) {
        snprintf(err, errlen, "cannot create a TLS configuration (out of memory)");
        return TOOL_EXIT_FAIL;
    }
    if ((o->cert == NULL) != (o->key == NULL)) {
        snprintf(err, errlen, "%s given without %s", o->cert != NULL ? "--cert" : "--key",
                 o->cert != NULL ? "--key" : "--cert");
        goto out;
    }
    if ((o->cert != NULL || o->cert_pem != NULL) && load_cert(cfg, o, err, errlen) != 0) {
        goto out;
    }
    if (o->ca != NULL) {
        char *ca = NULL;
        size_t ca_len = 0;
        if (tlsconf_read_file("--ca", o->ca, &ca, &ca_len, err, errlen) != 0) {
            goto out;
        }
        free(ca);
        if (memtls_config_load_ca_file(cfg, o->ca) != 0) {
            snprintf(err, errlen, "--ca %s", memtls_config_error(cfg));
            goto out;
        }
    } else if (o->system_ca && memtls_config_use_system_ca(cfg) != 0) {
        snprintf(err, errlen, "%s", memtls_config_error(cfg));
        goto out;
    }
    if (memtls_config_set_verify(cfg, o->verify) != 0) {
        snprintf(err, errlen, "%s", memtls_config_error(cfg));
        goto out;
    }
    if (o->alpn != NULL && o->alpn->n > 0 &&
        memtls_config_set_alpn(cfg, (const char *const *)o->alpn->v, o->alpn->n) != 0) {
        snprintf(err, errlen, "--alpn: %s", memtls_config_error(cfg));
        goto out;
    }
    if (o->min_version != 0 &&
        memtls_config_set_min_version(cfg, (memtls_version_floor)o->min_version) != 0) {
        snprintf(err, errlen, "--min-tls: %s", memtls_config_error(cfg));
        goto out;
    }
    if (o->max_version != 0 &&
        memtls_config_set_max_version(cfg, (memtls_version_floor)o->max_version) != 0) {
        snprintf(err, errlen, "--max-tls: %s", memtls_config_error(cfg));
        goto out;
    }
    if (o->ciphers != NULL && memtls_config_set_ciphers(cfg, o->ciphers) != 0) {
        snprintf(err, errlen, "--ciphers: %s", memtls_config_error(cfg));
        goto out;
    }
    if (o->ciphersuites != NULL && memtls_config_set_ciphersuites(cfg, o->ciphersuites) != 0) {
        snprintf(err, errlen, "--ciphersuites: %s", memtls_config_error(cfg));
        goto out;
    }
    *out = cfg;
    cfg = NULL;
    rc = 0;
out:
    memtls_config_free(cfg);
    return rc;
}
