/* config.c - the shared SSL_CTX wrapper; see include/memtls/config.h. */
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memtls/config.h>
#include <memtls/openssl.h>

#include "config_internal.h"
#include "errbuf.h"
#include "readfile.h"

#define CONFIG_MAX_ALPN 16

/* TLS 1.2: forward-secret AEAD suites only. */
static const char DEFAULT_CIPHERS[] = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL:!SHA1:!kRSA";

struct memtls_config {
    atomic_int refs;
    atomic_int frozen;
    memtls_role role;
    memtls_verify verify;
    int has_cert;
    int alpn_strict;
    SSL_CTX *ssl_ctx;
    unsigned char alpn[CONFIG_MAX_ALPN * 256]; /* wire format */
    size_t alpn_len;
    char error[MEMTLS__ERROR_MAX];
};

/* Failures are reported in cfg->error (memtls_config_error). */
#define fail(cfg, status, ...) memtls__fail((status), (cfg)->error, sizeof(cfg)->error, __VA_ARGS__)
/* The same with OpenSSL's reasons appended; the queue is cleared. */
#define fail_ssl(cfg, ...)                                                                         \
    memtls__fail_ssl(MEMTLS_ERR_CONFIG, (cfg)->error, sizeof(cfg)->error, __VA_ARGS__)

/* Common guard for every setter: valid and not yet shared. */
static int check_mutable(memtls_config *cfg)
{
    if (cfg == NULL) {
        return MEMTLS_ERR_INVALID;
    }
    if (atomic_load(&cfg->frozen)) {
        return fail(cfg, MEMTLS_ERR_INVALID,
                    "configuration is in use by a context and can no longer change");
    }
    cfg->error[0] = '\0';
    ERR_clear_error();
    return 0;
}

static void apply_verify(memtls_config *cfg)
{
    int mode = SSL_VERIFY_NONE;
    if (cfg->role == MEMTLS_ROLE_CLIENT) {
        mode = cfg->verify == MEMTLS_VERIFY_NONE ? SSL_VERIFY_NONE : SSL_VERIFY_PEER;
    } else if (cfg->verify == MEMTLS_VERIFY_OPTIONAL) {
        mode = SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE;
    } else if (cfg->verify == MEMTLS_VERIFY_REQUIRED) {
        mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT | SSL_VERIFY_CLIENT_ONCE;
    }
    SSL_CTX_set_verify(cfg->ssl_ctx, mode, NULL);
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    memtls_config *cfg = arg;
    unsigned char *sel = NULL;
    (void)ssl;
    if (cfg->alpn_len == 0) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    if (SSL_select_next_proto(&sel, outlen, cfg->alpn, (unsigned int)cfg->alpn_len, in, inlen) ==
        OPENSSL_NPN_NEGOTIATED) {
        *out = sel;
        return SSL_TLSEXT_ERR_OK;
    }
    return cfg->alpn_strict ? SSL_TLSEXT_ERR_ALERT_FATAL : SSL_TLSEXT_ERR_NOACK;
}

memtls_config *memtls_config_new(memtls_role role)
{
    memtls_config *cfg = NULL;
    if (role != MEMTLS_ROLE_CLIENT && role != MEMTLS_ROLE_SERVER) {
        return NULL;
    }
    cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL) {
        return NULL;
    }
    ERR_clear_error();
    cfg->ssl_ctx =
        SSL_CTX_new(role == MEMTLS_ROLE_SERVER ? TLS_server_method() : TLS_client_method());
    if (cfg->ssl_ctx == NULL) {
        ERR_clear_error();
        free(cfg);
        return NULL;
    }
    atomic_init(&cfg->refs, 1);
    atomic_init(&cfg->frozen, 0);
    cfg->role = role;
    cfg->verify = role == MEMTLS_ROLE_CLIENT ? MEMTLS_VERIFY_REQUIRED : MEMTLS_VERIFY_NONE;

    SSL_CTX *c = cfg->ssl_ctx;
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* The mem BIOs never refuse a write; partial writes would only add a
     * state the caller must track. Moving buffers keeps the retry rule
     * simple for callers that reuse their buffers. */
    SSL_CTX_set_mode(c, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (SSL_CTX_set_cipher_list(c, DEFAULT_CIPHERS) != 1) {
        ERR_clear_error();
        SSL_CTX_free(c);
        free(cfg);
        return NULL;
    }
    if (role == MEMTLS_ROLE_SERVER) {
        /* Without a session id context, resuming a session that carried a
         * client certificate fails the handshake. */
        static const unsigned char sid_ctx[] = "memtls";
        SSL_CTX_set_session_id_context(c, sid_ctx, sizeof sid_ctx - 1);
        SSL_CTX_set_alpn_select_cb(c, alpn_select, cfg);
    }
    apply_verify(cfg);
    return cfg;
}

memtls_config *memtls_config_ref(memtls_config *cfg)
{
    if (cfg != NULL) {
        atomic_fetch_add(&cfg->refs, 1);
    }
    return cfg;
}

void memtls_config_free(memtls_config *cfg)
{
    if (cfg == NULL) {
        return;
    }
    if (atomic_fetch_sub(&cfg->refs, 1) == 1) {
        SSL_CTX_free(cfg->ssl_ctx);
        free(cfg);
    }
}

memtls_role memtls_config_role(const memtls_config *cfg)
{
    return cfg == NULL ? MEMTLS_ROLE_CLIENT : cfg->role;
}

const char *memtls_config_error(const memtls_config *cfg)
{
    return cfg == NULL ? "no configuration" : cfg->error;
}

SSL_CTX *memtls_config_ssl_ctx(memtls_config *cfg)
{
    return cfg == NULL ? NULL : cfg->ssl_ctx;
}

int memtls_config_has_cert(const memtls_config *cfg)
{
    return cfg != NULL && cfg->has_cert;
}

SSL_CTX *memtls__config_freeze(memtls_config *cfg)
{
    atomic_store(&cfg->frozen, 1);
    return cfg->ssl_ctx;
}

memtls_verify memtls__config_verify(const memtls_config *cfg)
{
    return cfg->verify;
}

/* Never prompt for a passphrase: encrypted keys are refused. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    *(int *)u = 1;
    return -1;
}

/*
 * Parse and check the certificate, chain and key completely before
 * touching the SSL_CTX: a load that fails (a bad reload: the wrong key, a
 * file that is not PEM) must leave the identity loaded before in place.
 * Installing the old way, certificate first, left a new certificate
 * without its key (OpenSSL drops a key that does not match) while
 * has_cert still said 1, and every later handshake failed.
 */
static int load_cert(memtls_config *cfg, const char *cert_name, const char *cert_pem,
                     size_t cert_len, const char *key_name, const char *key_pem, size_t key_len)
{
    BIO *b = NULL;
    X509 *leaf = NULL;
    X509 *extra = NULL;
    STACK_OF(X509) *chain = NULL;
    EVP_PKEY *key = NULL;
    int rc = MEMTLS_ERR_CONFIG;
    int asked = 0;

    if (cert_len > INT_MAX || key_len > INT_MAX) {
        return fail(cfg, MEMTLS_ERR_INVALID, "certificate or key larger than INT_MAX bytes");
    }
    b = BIO_new_mem_buf(cert_pem, (int)cert_len);
    chain = sk_X509_new_null();
    if (b == NULL || chain == NULL) {
        rc = fail(cfg, MEMTLS_ERR_NOMEM, "out of memory");
        goto out;
    }
    leaf = PEM_read_bio_X509(b, NULL, NULL, NULL);
    if (leaf == NULL) {
        fail_ssl(cfg, "%s: no PEM certificate found", cert_name);
        goto out;
    }
    while ((extra = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        if (sk_X509_push(chain, extra) <= 0) {
            X509_free(extra);
            rc = fail(cfg, MEMTLS_ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    ERR_clear_error(); /* the loop ends on "no start line": expected */
    BIO_free(b);

    b = BIO_new_mem_buf(key_pem, (int)key_len);
    if (b == NULL) {
        rc = fail(cfg, MEMTLS_ERR_NOMEM, "out of memory");
        goto out;
    }
    key = PEM_read_bio_PrivateKey(b, NULL, no_password, &asked);
    if (key == NULL) {
        if (asked) {
            fail(cfg, MEMTLS_ERR_CONFIG, "%s: key is encrypted; give an unencrypted key", key_name);
            ERR_clear_error();
        } else {
            fail_ssl(cfg, "%s: no PEM private key found", key_name);
        }
        goto out;
    }
    if (X509_check_private_key(leaf, key) != 1) {
        fail_ssl(cfg, "%s: private key does not match %s", key_name, cert_name);
        goto out;
    }
    /* SSL_CTX_use_certificate refuses (a key too weak for the security
     * level) before changing anything. */
    if (SSL_CTX_use_certificate(cfg->ssl_ctx, leaf) != 1) {
        fail_ssl(cfg, "%s: certificate rejected", cert_name);
        goto out;
    }
    /* From here a failure leaves a half-installed identity: say so by
     * clearing has_cert, so no server context is made from it. */
    if (SSL_CTX_use_PrivateKey(cfg->ssl_ctx, key) != 1) {
        cfg->has_cert = 0;
        fail_ssl(cfg, "%s: private key rejected", key_name);
        goto out;
    }
    /* No chain in the file: clear (NULL) rather than set an empty one,
     * which would stop OpenSSL from completing the chain from the store. */
    if ((sk_X509_num(chain) > 0 ? SSL_CTX_set1_chain(cfg->ssl_ctx, chain)
                                : SSL_CTX_clear_chain_certs(cfg->ssl_ctx)) != 1) {
        cfg->has_cert = 0;
        fail_ssl(cfg, "%s: chain certificate rejected", cert_name);
        goto out;
    }
    cfg->has_cert = 1;
    rc = 0;
out:
    BIO_free(b);
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);
    return rc;
}

int memtls_config_load_cert_pem(memtls_config *cfg, const char *cert_pem, size_t cert_len,
                                const char *key_pem, size_t key_len)
{
    int rc = check_mutable(cfg);
    if (rc != 0) {
        return rc;
    }
    if (cert_pem == NULL || key_pem == NULL || cert_len == 0 || key_len == 0) {
        return fail(cfg, MEMTLS_ERR_INVALID, "certificate and key PEM must not be empty");
    }
    return load_cert(cfg, "certificate", cert_pem, cert_len, "key", key_pem, key_len);
}

int memtls_config_load_cert_file(memtls_config *cfg, const char *cert_path, const char *key_path)
{
    char *cert = NULL;
    char *key = NULL;
    size_t cert_len = 0;
    size_t key_len = 0;
    int rc = check_mutable(cfg);
    if (rc != 0) {
        return rc;
    }
    rc = memtls__read_file("certificate", cert_path, &cert, &cert_len, cfg->error,
                           sizeof cfg->error);
    if (rc == 0) {
        rc = memtls__read_file("key", key_path, &key, &key_len, cfg->error, sizeof cfg->error);
    }
    if (rc == 0) {
        rc = load_cert(cfg, cert_path, cert, cert_len, key_path, key, key_len);
    }
    free(cert);
    if (key != NULL) {
        OPENSSL_cleanse(key, key_len);
        free(key);
    }
    return rc;
}

static int load_ca(memtls_config *cfg, const char *name, const char *pem, size_t len)
{
    BIO *b = NULL;
    X509 *x = NULL;
    int count = 0;
    int rc = MEMTLS_ERR_CONFIG;
    X509_STORE *store = SSL_CTX_get_cert_store(cfg->ssl_ctx);

    if (len > INT_MAX) {
        return fail(cfg, MEMTLS_ERR_INVALID, "%s: larger than INT_MAX bytes", name);
    }
    b = BIO_new_mem_buf(pem, (int)len);
    if (b == NULL) {
        return fail(cfg, MEMTLS_ERR_NOMEM, "out of memory");
    }
    while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        if (X509_STORE_add_cert(store, x) != 1) {
            unsigned long e = ERR_peek_last_error();
            /* The same CA twice is harmless. */
            if (ERR_GET_REASON(e) != X509_R_CERT_ALREADY_IN_HASH_TABLE) {
                X509_free(x);
                fail_ssl(cfg, "%s: CA certificate rejected", name);
                goto out;
            }
        }
        X509_free(x);
        count++;
    }
    ERR_clear_error();
    if (count == 0) {
        fail(cfg, MEMTLS_ERR_CONFIG, "%s: no PEM certificate found (empty or not a CA bundle)",
             name);
        goto out;
    }
    rc = 0;
out:
    BIO_free(b);
    return rc;
}

int memtls_config_load_ca_file(memtls_config *cfg, const char *path)
{
    char *pem = NULL;
    size_t len = 0;
    int rc = check_mutable(cfg);
    if (rc != 0) {
        return rc;
    }
    rc = memtls__read_file("CA bundle", path, &pem, &len, cfg->error, sizeof cfg->error);
    if (rc == 0) {
        rc = load_ca(cfg, path, pem, len);
    }
    free(pem);
    return rc;
}

int memtls_config_load_ca_pem(memtls_config *cfg, const char *pem, size_t len)
{
    int rc = check_mutable(cfg);
    if (rc != 0) {
        return rc;
    }
    if (pem == NULL || len == 0) {
        return fail(cfg, MEMTLS_ERR_INVALID, "CA bundle: empty");
    }
    return load_ca(cfg, "CA bundle", pem, len);
}

int memtls_config_use_system_ca(memtls_config *cfg)
{
    int rc = check_mutable(cfg);
    if (rc != 0) {
        return rc;
    }
    if (SSL_CTX_set_default_verify_paths(cfg->ssl_ctx) != 1) {
        return fail_ssl(cfg, "system CA store: cannot load");
    }
    return 0;
}

int memtls_config_set_verify(memtls_config *cfg, memtls_verify mode)
{
    int rc = check_mutable(cfg);
    if (rc != 0) {
        return rc;
    }
    if (mode != MEMTLS_VERIFY_NONE && mode != MEMTLS_VERIFY_OPTIONAL &&
        mode != MEMTLS_VERIFY_REQUIRED) {
        return fail(cfg, MEMTLS_ERR_INVALID, "verify mode %d is not none/optional/required",
                    (int)mode);
    }
    cfg->verify = mode;
    apply_verify(cfg);
    return 0;
}

int memtls_config_set_alpn(memtls_config *cfg, const char *const *protos, size_t count)
{
    unsigned char wire[sizeof cfg->alpn];
    size_t len = 0;
    int rc = check_mutable(cfg);
    if (rc != 0) {
        return rc;
    }
    if ((protos == NULL && count > 0) || count > CONFIG_MAX_ALPN) {
        return fail(cfg, MEMTLS_ERR_INVALID, "ALPN: give 0 to %d protocol names", CONFIG_MAX_ALPN);
    }
    for (size_t i = 0; i < count; i++) {
        size_t n = protos[i] == NULL ? 0 : strlen(protos[i]);
        if (n == 0 || n > 255) {
            return fail(cfg, MEMTLS_ERR_INVALID, "ALPN protocol %zu: must be 1..255 bytes", i);
        }
        wire[len++] = (unsigned char)n;
        memcpy(wire + len, protos[i], n);
        len += n;
    }
    if (cfg->role == MEMTLS_ROLE_CLIENT) {
        /* Note the inverted convention: 0 means success here. */
        if (SSL_CTX_set_alpn_protos(cfg->ssl_ctx, len ? wire : NULL, (unsigned int)len) != 0) {
            return fail_ssl(cfg, "ALPN list: cannot set");
        }
    }
    memcpy(cfg->alpn, wire, len);
    cfg->alpn_len = len;
    return 0;
}

int memtls_config_set_alpn_strict(memtls_config *cfg, int strict)
{
    int rc = check_mutable(cfg);
    if (rc == 0) {
        cfg->alpn_strict = strict != 0;
    }
    return rc;
}

static int version_of(memtls_version_floor v)
{
    return v == MEMTLS_TLS1_2 ? TLS1_2_VERSION : v == MEMTLS_TLS1_3 ? TLS1_3_VERSION : 0;
}

int memtls_config_set_min_version(memtls_config *cfg, memtls_version_floor v)
{
    int rc = check_mutable(cfg);
    if (rc != 0) {
        return rc;
    }
    if (version_of(v) == 0) {
        return fail(cfg, MEMTLS_ERR_INVALID, "minimum version must be TLS 1.2 or TLS 1.3");
    }
    SSL_CTX_set_min_proto_version(cfg->ssl_ctx, version_of(v));
    return 0;
}

int memtls_config_set_max_version(memtls_config *cfg, memtls_version_floor v)
{
    int rc = check_mutable(cfg);
    if (rc != 0) {
        return rc;
    }
    if (version_of(v) == 0) {
        return fail(cfg, MEMTLS_ERR_INVALID, "maximum version must be TLS 1.2 or TLS 1.3");
    }
    SSL_CTX_set_max_proto_version(cfg->ssl_ctx, version_of(v));
    return 0;
}

int memtls_config_set_ciphers(memtls_config *cfg, const char *list)
{
    SSL_CTX *probe = NULL;
    int rc = check_mutable(cfg);
    if (rc != 0) {
        return rc;
    }
    if (list == NULL || list[0] == '\0') {
        return fail(cfg, MEMTLS_ERR_INVALID, "cipher list is empty");
    }
    /* Try the list on a throwaway context first so a bad list leaves the
     * configuration as it was. */
    probe = SSL_CTX_new(TLS_method());
    if (probe == NULL) {
        return fail_ssl(cfg, "out of memory");
    }
    if (SSL_CTX_set_cipher_list(probe, list) != 1) {
        rc = fail_ssl(cfg, "cipher list '%s' selects no cipher", list);
        goto out;
    }
    STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(probe);
    for (int i = 0; i < sk_SSL_CIPHER_num(sk); i++) {
        const SSL_CIPHER *c = sk_SSL_CIPHER_value(sk, i);
        if (strcmp(SSL_CIPHER_get_version(c), "TLSv1.3") != 0 && !SSL_CIPHER_is_aead(c)) {
            rc = fail(cfg, MEMTLS_ERR_CONFIG,
                      "cipher list '%s' selects %s, which is not an AEAD cipher", list,
                      SSL_CIPHER_get_name(c));
            goto out;
        }
    }
    if (SSL_CTX_set_cipher_list(cfg->ssl_ctx, list) != 1) {
        rc = fail_ssl(cfg, "cipher list '%s' rejected", list);
        goto out;
    }
    rc = 0;
out:
    SSL_CTX_free(probe);
    return rc;
}

int memtls_config_set_ciphersuites(memtls_config *cfg, const char *list)
{
    int rc = check_mutable(cfg);
    if (rc != 0) {
        return rc;
    }
    if (list == NULL || list[0] == '\0') {
        return fail(cfg, MEMTLS_ERR_INVALID, "TLS 1.3 cipher suite list is empty");
    }
    if (SSL_CTX_set_ciphersuites(cfg->ssl_ctx, list) != 1) {
        return fail_ssl(cfg, "TLS 1.3 cipher suites '%s' rejected", list);
    }
    return 0;
}
