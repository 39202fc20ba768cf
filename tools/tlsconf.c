/* see tlsconf.h */
#include "tlsconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <memtls/pki.h>

#include "readfile.h"

/* SHA-256 fingerprint of the first certificate in PEM text, "" when it
 * does not parse. */
static void fingerprint(char *cert_pem, size_t len, char out[96])
{
    memtls_pem pem;
    memset(&pem, 0, sizeof pem);
    pem.cert = cert_pem;
    pem.cert_len = len;
    if (memtls_pem_fingerprint(&pem, out) != 0) {
        out[0] = '\0';
    }
}

/*
 * The certificate and key: from the files, each read once here (errors
 * name the option) and handed to the library as PEM, or the in-memory
 * pair. The key's bytes are wiped before they are freed.
 */
static int load_cert(memtls_config *cfg, const tlsconf_opts *o, char fp[96], char *err,
                     size_t errlen)
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
    if (memtls__read_file("--cert", o->cert, &cert, &cert_len, err, errlen) != 0 ||
        memtls__read_file("--key", o->key, &key, &key_len, err, errlen) != 0) {
        goto out;
    }
    if (memtls_config_load_cert_pem(cfg, cert, cert_len, key, key_len) != 0) {
        snprintf(err, errlen, "--cert %s, --key %s: %s", o->cert, o->key, memtls_config_error(cfg));
        goto out;
    }
    if (fp != NULL) {
        fingerprint(cert, cert_len, fp);
    }
    rc = 0;
out:
    free(cert);
    if (key != NULL) {
        OPENSSL_cleanse(key, key_len);
        free(key);
    }
    return rc;
}

static int load_ca(memtls_config *cfg, const char *path, char *err, size_t errlen)
{
    char *ca = NULL;
    size_t len = 0;
    int rc = TOOL_EXIT_FAIL;
    if (memtls__read_file("--ca", path, &ca, &len, err, errlen) != 0) {
        return TOOL_EXIT_FAIL;
    }
    if (memtls_config_load_ca_pem(cfg, ca, len) != 0) {
        snprintf(err, errlen, "--ca %s: %s", path, memtls_config_error(cfg));
    } else {
        rc = 0;
    }
    free(ca);
    return rc;
}

int tlsconf_build(memtls_role role, const tlsconf_opts *o, memtls_config **out, char fp[96],
                  char *err, size_t errlen)
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
    if (fp != NULL) {
        fp[0] = '\0';
    }
    if ((o->cert != NULL || o->cert_pem != NULL) && load_cert(cfg, o, fp, err, errlen) != 0) {
        goto out;
    }
    if (o->ca != NULL) {
        if (load_ca(cfg, o->ca, err, errlen) != 0) {
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
    if (o->groups != NULL && memtls_config_set_groups(cfg, o->groups) != 0) {
        snprintf(err, errlen, "--groups: %s", memtls_config_error(cfg));
        goto out;
    }
    *out = cfg;
    cfg = NULL;
    rc = 0;
out:
    memtls_config_free(cfg);
    return rc;
}
