/*
 * fuzz_config_pem.c - configuration loading from bytes: certificate
 * chains, private keys and CA bundles through the library's *_pem
 * loaders, the cipher and ALPN setters, and the certificate fingerprint.
 *
 * Input: [flags] then up to four parts separated by NUL bytes:
 *   certificate chain PEM, private key PEM, CA bundle PEM, a text that is
 *   used as a TLS 1.2 cipher list, a TLS 1.3 suite list and a comma
 *   separated ALPN list.
 *   flags bit 0  server configuration (else client)
 *   flags bit 1  load the CA bundle before the certificate (else after)
 *   flags bit 2  load the certificate a second time (must still work or
 *                fail cleanly)
 *
 * Checked: every call returns 0 or a documented status; every failure
 * leaves a reason in memtls_config_error() that names what failed; a
 * failed load does not install a certificate (memtls_config_has_cert);
 * a successful one does, and a server configuration with it makes a
 * context; the fingerprint is 95 characters or an error.
 */
#include <string.h>

#include <memtls/config.h>
#include <memtls/context.h>
#include <memtls/pki.h>

#include "fuzz_support.h"

typedef struct part {
    const char *p;
    size_t n;
} part;

static void check_status(memtls_config *cfg, int rc, const char *what)
{
    FZ_CHECK(rc == 0 || rc == MEMTLS_ERR_CONFIG || rc == MEMTLS_ERR_INVALID, "%s: status %d", what,
             rc);
    if (rc != 0) {
        const char *err = memtls_config_error(cfg);
        FZ_CHECK(err != NULL && err[0] != '\0', "%s failed without a reason", what);
    }
}

static void load_cert(memtls_config *cfg, const part *cert, const part *key)
{
    int had = memtls_config_has_cert(cfg);
    int rc = memtls_config_load_cert_pem(cfg, cert->p, cert->n, key->p, key->n);
    check_status(cfg, rc, "load_cert_pem");
    if (rc == 0) {
        FZ_CHECK(memtls_config_has_cert(cfg) == 1, "loaded but no certificate");
    } else {
        FZ_CHECK(memtls_config_has_cert(cfg) == had, "a failed load changed the certificate");
        /* The message names the source. */
        FZ_CHECK(strstr(memtls_config_error(cfg), "memory") != NULL ||
                     strstr(memtls_config_error(cfg), "key") != NULL ||
                     strstr(memtls_config_error(cfg), "certificate") != NULL,
                 "load_cert_pem: reason '%s' names nothing", memtls_config_error(cfg));
    }
}

/* The text part, NUL-terminated, as a cipher list, a suite list and ALPN. */
static void strings(memtls_config *cfg, const part *text)
{
    char buf[512];
    const char *protos[16];
    size_t count = 0;
    size_t n = text->n < sizeof buf - 1 ? text->n : sizeof buf - 1;

    memcpy(buf, text->p, n);
    buf[n] = '\0';
    check_status(cfg, memtls_config_set_ciphers(cfg, buf), "set_ciphers");
    check_status(cfg, memtls_config_set_ciphersuites(cfg, buf), "set_ciphersuites");
    /* Split on commas in place for ALPN. */
    char *p = buf;
    while (count < 16) {
        protos[count++] = p;
        char *comma = strchr(p, ',');
        if (comma == NULL) {
            break;
        }
        *comma = '\0';
        p = comma + 1;
    }
    check_status(cfg, memtls_config_set_alpn(cfg, protos, count), "set_alpn");
}

static void fingerprint(const part *cert)
{
    char fp[96];
    memtls_pem pem = {0};
    pem.cert = malloc(cert->n + 1);
    FZ_CHECK(pem.cert != NULL, "out of memory");
    memcpy(pem.cert, cert->p, cert->n);
    pem.cert[cert->n] = '\0';
    pem.cert_len = strlen(pem.cert);
    int rc = memtls_pem_fingerprint(&pem, fp);
    FZ_CHECK(rc == 0 ? strlen(fp) == 95 : rc == MEMTLS_ERR_INVALID || rc == MEMTLS_ERR_NOMEM,
             "fingerprint: %d", rc);
    free(pem.cert);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    part parts[4] = {{"", 0}, {"", 0}, {"", 0}, {"", 0}};
    if (size == 0) {
        return 0;
    }
    unsigned flags = data[0];
    const char *p = (const char *)data + 1;
    size_t left = size - 1;
    for (int i = 0; i < 4 && left > 0; i++) {
        const char *nul = i < 3 ? memchr(p, '\0', left) : NULL;
        size_t n = nul != NULL ? (size_t)(nul - p) : left;
        parts[i].p = p;
        parts[i].n = n;
        p += n;
        left -= n;
        if (nul != NULL) {
            p++;
            left--;
        }
    }

    memtls_role role = (flags & 1) ? MEMTLS_ROLE_SERVER : MEMTLS_ROLE_CLIENT;
    memtls_config *cfg = memtls_config_new(role);
    FZ_CHECK(cfg != NULL, "config");
    if (flags & 2) {
        check_status(cfg, memtls_config_load_ca_pem(cfg, parts[2].p, parts[2].n), "load_ca_pem");
    }
    load_cert(cfg, &parts[0], &parts[1]);
    if (flags & 4) {
        load_cert(cfg, &parts[0], &parts[1]);
    }
    if (!(flags & 2)) {
        check_status(cfg, memtls_config_load_ca_pem(cfg, parts[2].p, parts[2].n), "load_ca_pem");
    }
    strings(cfg, &parts[3]);
    fingerprint(&parts[0]);

    if (role == MEMTLS_ROLE_CLIENT || memtls_config_has_cert(cfg)) {
        memtls_ctx *ctx = memtls_ctx_new(cfg);
        FZ_CHECK(ctx != NULL, "a usable configuration made no context");
        memtls_ctx_free(ctx);
    }
    memtls_config_free(cfg);
    return 0;
}
