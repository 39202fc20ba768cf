/* see serve_tls.h */
#include "serve_tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <memtls/pki.h>

#include "log.h"
#include "readfile.h"
#include "tlsconf.h"

/* Read --cert/--key pair `i` and add it to cfg; its fingerprint in fp.
 * Returns 0 or -1 with the problem in err. */
static int add_pair(memtls_config *cfg, const serve_opts *o, size_t i, char fp[96], char *err,
                    size_t errlen)
{
    const char *cert_path = o->certs.v[i];
    const char *key_path = o->keys.v[i];
    char *cert = NULL;
    char *key = NULL;
    size_t cert_len = 0;
    size_t key_len = 0;
    int rc = -1;

    if (memtls__read_file("--cert", cert_path, &cert, &cert_len, err, errlen) != 0 ||
        memtls__read_file("--key", key_path, &key, &key_len, err, errlen) != 0) {
        goto out;
    }
    if (memtls_config_add_cert_pem(cfg, cert, cert_len, key, key_len) != 0) {
        snprintf(err, errlen, "--cert %s, --key %s: %s", cert_path, key_path,
                 memtls_config_error(cfg));
        goto out;
    }
    memtls_pem pem;
    memset(&pem, 0, sizeof pem);
    pem.cert = cert;
    pem.cert_len = cert_len;
    if (memtls_pem_fingerprint(&pem, fp) != 0) {
        fp[0] = '\0';
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

/* The certificates: every pair, or the ephemeral one. */
static int add_pairs(memtls_config *cfg, const serve_opts *o, memtls_config *prev, char *err,
                     size_t errlen)
{
    if (o->certs.n == 0) {
        if (memtls_config_add_cert_pem(cfg, o->ephemeral.cert, o->ephemeral.cert_len,
                                       o->ephemeral.key, o->ephemeral.key_len) != 0) {
            snprintf(err, errlen, "ephemeral certificate: %s", memtls_config_error(cfg));
            return -1;
        }
        return 0;
    }
    for (size_t i = 0; i < o->certs.n; i++) {
        char fp[96] = "";
        char why[700];
        if (add_pair(cfg, o, i, fp, why, sizeof why) == 0) {
            if (prev == NULL) {
                printf("certificate %s SHA-256 fingerprint %s\n", o->certs.v[i], fp);
            } else {
                tool_log(TOOL_LOG_INFO, "SIGHUP: reloaded %s (SHA-256 %s); new handshakes use it",
                         o->certs.v[i], fp[0] ? fp : "-");
            }
            continue;
        }
        if (prev == NULL) {
            snprintf(err, errlen, "%s", why);
            return -1;
        }
        /* A reload keeps this pair's identity from before. */
        tool_log(TOOL_LOG_ERROR, "SIGHUP: reload failed, keeping the previous certificate: %s",
                 why);
        if (memtls_config_add_cert_from(cfg, prev, i) != 0) {
            snprintf(err, errlen, "cannot keep the previous certificate of --cert %s: %s",
                     o->certs.v[i], memtls_config_error(cfg));
            return -1;
        }
    }
    fflush(stdout);
    return 0;
}

/* --ticket-keys FILE, read and wiped here. */
static int load_ticket_keys(memtls_config *cfg, const char *path, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    if (memtls__read_file("--ticket-keys", path, &text, &len, err, errlen) != 0) {
        return -1;
    }
    int rc = memtls_config_set_ticket_keys(cfg, text, len);
    if (rc != 0) {
        snprintf(err, errlen, "--ticket-keys %s: %s", path, memtls_config_error(cfg));
    }
    OPENSSL_cleanse(text, len);
    free(text);
    return rc == 0 ? 0 : -1;
}

static int set_tickets(memtls_config *cfg, const serve_opts *o, memtls_config *prev, char *err,
                       size_t errlen)
{
    if (o->no_tickets) {
        if (memtls_config_set_tickets(cfg, 0) != 0) {
            snprintf(err, errlen, "--no-tickets: %s", memtls_config_error(cfg));
            return -1;
        }
        return 0;
    }
    if (o->ticket_lifetime != 0 &&
        memtls_config_set_ticket_lifetime(cfg, (unsigned)o->ticket_lifetime) != 0) {
        snprintf(err, errlen, "--ticket-lifetime: %s", memtls_config_error(cfg));
        return -1;
    }
    if (o->ticket_keys == NULL) {
        if (o->ticket_rotate != 0 &&
            memtls_config_set_ticket_rotation(cfg, (unsigned)o->ticket_rotate) != 0) {
            snprintf(err, errlen, "--ticket-rotate: %s", memtls_config_error(cfg));
            return -1;
        }
        /* A reload goes on with the keys made so far. */
        if (prev != NULL && memtls_config_share_ticket_keys(cfg, prev) != 0) {
            snprintf(err, errlen, "ticket keys: %s", memtls_config_error(cfg));
            return -1;
        }
        return 0;
    }
    char why[700];
    if (load_ticket_keys(cfg, o->ticket_keys, why, sizeof why) == 0) {
        if (prev != NULL) {
            tool_log(TOOL_LOG_INFO, "SIGHUP: reloaded --ticket-keys %s", o->ticket_keys);
        }
        return 0;
    }
    if (prev == NULL) {
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    tool_log(TOOL_LOG_ERROR, "SIGHUP: %s; keeping the previous ticket keys", why);
    if (memtls_config_share_ticket_keys(cfg, prev) != 0) {
        snprintf(err, errlen, "ticket keys: %s", memtls_config_error(cfg));
        return -1;
    }
    return 0;
}

int serve_tls_build(const serve_opts *o, memtls_config *prev, memtls_config **out, char *err,
                    size_t errlen)
{
    tlsconf_opts t;
    memtls_config *cfg = NULL;
    memset(&t, 0, sizeof t);
    t.ca = o->ca;
    t.verify = (memtls_verify)o->verify;
    t.alpn = &o->alpn;
    t.min_version = o->min_version;
    t.ciphers = o->ciphers;
    t.ciphersuites = o->ciphersuites;
    t.groups = o->groups;
    if (tlsconf_build(MEMTLS_ROLE_SERVER, &t, &cfg, NULL, err, errlen) != 0) {
        return TOOL_EXIT_FAIL;
    }
    if (add_pairs(cfg, o, prev, err, errlen) != 0 || set_tickets(cfg, o, prev, err, errlen) != 0) {
        memtls_config_free(cfg);
        return TOOL_EXIT_FAIL;
    }
    *out = cfg;
    return 0;
}
