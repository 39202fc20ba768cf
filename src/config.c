/* config.c - the shared SSL_CTX wrapper; see include/memtls/config.h. */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memtls/config.h>
#include <memtls/openssl.h>

#include "certs.h"
#include "config_internal.h"
#include "errbuf.h"
#include "readfile.h"
#include "ticket_keys.h"
#include "tickets.h"

#define CONFIG_MAX_ALPN 16
/* Certificate/key pairs one configuration holds at most. */
#define CONFIG_MAX_CERTS 10000u
#define TICKET_LIFETIME_DEFAULT 7200u
#define TICKET_LIFETIME_MAX 604800u /* RFC 8446 section 4.6.1: 7 days */
#define TICKET_ROTATE_DEFAULT 3600u

/* TLS 1.2: forward-secret AEAD suites only. */
static const char DEFAULT_CIPHERS[] = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL:!SHA1:!kRSA";

struct memtls_config {
    atomic_int refs;
    atomic_int frozen;
    memtls_role role;
    memtls_verify verify;
    int alpn_strict;
    SSL_CTX *ssl_ctx;
    unsigned char alpn[CONFIG_MAX_ALPN * 256]; /* wire format */
    size_t alpn_len;

    /* Certificate/key pairs in load order (certs.h). The default set is
     * installed in the SSL_CTX, so a handshake that picks it costs
     * nothing more; ctx_exact says the SSL_CTX holds nothing else (a
     * replaced first pair may leave a key type behind, which cert_cb then
     * clears per connection). */
    memtls__cert_pair *pairs;
    size_t npairs;
    size_t defaults[MEMTLS__CERT_KINDS];
    size_t ndefaults;
    int installed[MEMTLS__CERT_KINDS]; /* key types installed in the SSL_CTX */
    size_t ninstalled;
    int ctx_exact;

    /* Session tickets (server): on/off, lifetime, the rotation of
     * generated keys, and the keys (tickets.h), made when the first
     * handshake needs them unless a key file or another configuration's
     * keys were given. */
    int tickets;
    unsigned ticket_lifetime;
    unsigned ticket_rotate;
    _Atomic(memtls__ticket_ring *) ring;

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

/* The ex_data slot of an SSL_CTX that points back to its configuration
 * (the ticket key callback has no argument of its own). */
static int g_cfg_index = -1;
static pthread_once_t g_cfg_index_once = PTHREAD_ONCE_INIT;

static void make_cfg_index(void)
{
    g_cfg_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static memtls_config *config_of(SSL *ssl)
{
    return g_cfg_index < 0 ? NULL : SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), g_cfg_index);
}

/* The configuration's ticket keys, made on first use. Any thread. */
static memtls__ticket_ring *ring_of(memtls_config *cfg)
{
    memtls__ticket_ring *r = atomic_load(&cfg->ring);
    if (r != NULL) {
        return r;
    }
    r = memtls__ticket_ring_generated(cfg->ticket_rotate, cfg->ticket_lifetime);
    if (r == NULL) {
        return NULL;
    }
    memtls__ticket_ring *none = NULL;
    if (!atomic_compare_exchange_strong(&cfg->ring, &none, r)) {
        memtls__ticket_ring_unref(r); /* another thread made them first */
        return none;
    }
    return r;
}

static int ticket_key_cb(SSL *ssl, unsigned char name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
                         EVP_MAC_CTX *hctx, int enc)
{
    memtls_config *cfg = config_of(ssl);
    memtls__ticket_ring *r = cfg != NULL ? ring_of(cfg) : NULL;
    if (r == NULL) {
        return enc ? -1 : 0; /* no keys: no ticket made, none accepted */
    }
    return memtls__ticket_ring_cb(r, name, iv, cctx, hctx, enc);
}

/*
 * The SNI the client sent. OpenSSL parses the server_name extension
 * after it looks for a TLS 1.2 session, so during that look-up the name
 * comes from the ClientHello itself. Returns 0 for a malformed one.
 */
static int client_sni(SSL *ssl, char *out, size_t len)
{
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (name != NULL) {
        memtls__strlcpy(out, name, len);
        return 1;
    }
    const unsigned char *ext = NULL;
    size_t n = 0;
    out[0] = '\0';
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &n) != 1) {
        return 1; /* no SNI at all */
    }
    /* ServerNameList: u16 length, then (u8 type, u16 length, name)... */
    if (n < 5 || (size_t)((ext[0] << 8) | ext[1]) != n - 2 || ext[2] != TLSEXT_NAMETYPE_host_name) {
        return 0;
    }
    size_t hl = (size_t)((ext[3] << 8) | ext[4]);
    if (hl == 0 || hl > n - 5 || hl >= len || memchr(ext + 5, '\0', hl) != NULL) {
        return 0;
    }
    memcpy(out, ext + 5, hl);
    out[hl] = '\0';
    return 1;
}

/*
 * A ticket resumes only under the server name it was issued for (RFC
 * 6066 section 3): a session authenticated with one site's certificate
 * is not handed to a client that asked for another. A mismatch gets a
 * full handshake and a new ticket.
 */
static SSL_TICKET_RETURN ticket_decrypted(SSL *ssl, SSL_SESSION *sess, const unsigned char *keyname,
                                          size_t keyname_len, SSL_TICKET_STATUS status, void *arg)
{
    (void)keyname;
    (void)keyname_len;
    (void)arg;
    switch (status) {
    case SSL_TICKET_SUCCESS:
    case SSL_TICKET_SUCCESS_RENEW: {
        char sni[256];
        const char *issued = SSL_SESSION_get0_hostname(sess);
        if (!client_sni(ssl, sni, sizeof sni) ||
            strcasecmp(issued != NULL ? issued : "", sni) != 0) {
            return SSL_TICKET_RETURN_IGNORE_RENEW;
        }
        return status == SSL_TICKET_SUCCESS ? SSL_TICKET_RETURN_USE : SSL_TICKET_RETURN_USE_RENEW;
    }
    case SSL_TICKET_EMPTY:
    case SSL_TICKET_NO_DECRYPT:
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    default:
        return SSL_TICKET_RETURN_ABORT;
    }
}

/* Acknowledge the client's SNI: OpenSSL then records it in the session,
 * where ticket_decrypted() finds it (without an acknowledgement the
 * session keeps no name). Which certificate answers is cert_cb's
 * business; an unknown name is not an error. */
static int sni_ack(SSL *ssl, int *alert, void *arg)
{
    (void)ssl;
    (void)alert;
    (void)arg;
    return SSL_TLSEXT_ERR_OK;
}

/* Offer the certificates chosen for the client's SNI (certs.h). Runs for
 * full handshakes only (a resumed one sends no certificate). */
static int cert_cb(SSL *ssl, void *arg)
{
    memtls_config *cfg = arg;
    size_t sel[MEMTLS__CERT_KINDS];
    if (cfg->npairs <= 1 && cfg->ctx_exact) {
        return 1;
    }
    size_t n = memtls__certs_select(cfg->pairs, cfg->npairs,
                                    SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name), sel);
    if (cfg->ctx_exact && n == cfg->ndefaults &&
        memcmp(sel, cfg->defaults, n * sizeof sel[0]) == 0) {
        return 1; /* the SSL_CTX's own */
    }
    SSL_certs_clear(ssl);
    for (size_t i = 0; i < n; i++) {
        if (!memtls__cert_pair_install(&cfg->pairs[sel[i]], NULL, ssl)) {
            return 0; /* the handshake fails with an internal error */
        }
    }
    return 1;
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
    if (SSL_CTX_set_cipher_list(c, DEFAULT_CIPHERS) != 1 ||
        SSL_CTX_set1_groups_list(c, MEMTLS_DEFAULT_GROUPS) != 1) {
        ERR_clear_error();
        SSL_CTX_free(c);
        free(cfg);
        return NULL;
    }
    if (role == MEMTLS_ROLE_SERVER) {
        /* Without a session id context, resuming a session that carried a
         * client certificate fails the handshake. Every memtls server
         * uses the same one, so the processes of a fleet that share
         * ticket keys resume each other's sessions. */
        static const unsigned char sid_ctx[] = "memtls";
        SSL_CTX_set_session_id_context(c, sid_ctx, sizeof sid_ctx - 1);
        SSL_CTX_set_alpn_select_cb(c, alpn_select, cfg);
        SSL_CTX_set_cert_cb(c, cert_cb, cfg);
        SSL_CTX_set_tlsext_servername_callback(c, sni_ack);
        /* Resumption is stateless: tickets, no server-side cache that
         * grows with the clients. */
        pthread_once(&g_cfg_index_once, make_cfg_index);
        cfg->tickets = 1;
        cfg->ticket_lifetime = TICKET_LIFETIME_DEFAULT;
        cfg->ticket_rotate = TICKET_ROTATE_DEFAULT;
        SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_timeout(c, (long)cfg->ticket_lifetime);
        if (g_cfg_index < 0 || SSL_CTX_set_ex_data(c, g_cfg_index, cfg) != 1 ||
            SSL_CTX_set_tlsext_ticket_key_evp_cb(c, ticket_key_cb) != 1 ||
            SSL_CTX_set_session_ticket_cb(c, NULL, ticket_decrypted, NULL) != 1) {
            ERR_clear_error();
            SSL_CTX_free(c);
            free(cfg);
            return NULL;
        }
    }
    cfg->ctx_exact = 1;
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
        for (size_t i = 0; i < cfg->npairs; i++) {
            memtls__cert_pair_clear(&cfg->pairs[i]);
        }
        free(cfg->pairs);
        memtls__ticket_ring_unref(atomic_load(&cfg->ring));
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
    return cfg != NULL && cfg->npairs > 0;
}

size_t memtls_config_cert_count(const memtls_config *cfg)
{
    return cfg == NULL ? 0 : cfg->npairs;
}

SSL_CTX *memtls__config_freeze(memtls_config *cfg)
{
    atomic_store(&cfg->frozen, 1);
    if (cfg->role == MEMTLS_ROLE_SERVER && cfg->tickets) {
        /* Generated ticket keys exist from the first use on: processes
         * forked after it (worker processes) share them. */
        (void)ring_of(cfg);
    }
    return cfg->ssl_ctx;
}

int memtls__config_cert_index(const memtls_config *cfg, const X509 *leaf)
{
    for (size_t i = 0; leaf != NULL && i < cfg->npairs; i++) {
        if (cfg->pairs[i].leaf == leaf) {
            return (int)i;
        }
    }
    return -1;
}

const char *memtls__config_cert_subject(const memtls_config *cfg, int index)
{
    return index < 0 || (size_t)index >= cfg->npairs ? "" : cfg->pairs[index].subject;
}

memtls__ticket_ring *memtls__config_ticket_ring(memtls_config *cfg)
{
    return cfg->role == MEMTLS_ROLE_SERVER ? ring_of(cfg) : NULL;
}

memtls_verify memtls__config_verify(const memtls_config *cfg)
{
    return cfg->verify;
}

/* Install the default set in the SSL_CTX (after the pairs changed). A
 * failure here (memory) only costs speed: cert_cb then installs per
 * connection. */
static void install_defaults(memtls_config *cfg)
{
    cfg->ndefaults = memtls__certs_select(cfg->pairs, cfg->npairs, NULL, cfg->defaults);
    int ok = 1;
    for (size_t i = 0; i < cfg->ndefaults; i++) {
        const memtls__cert_pair *p = &cfg->pairs[cfg->defaults[i]];
        size_t k = 0;
        while (k < cfg->ninstalled && cfg->installed[k] != p->kind) {
            k++;
        }
        if (k == cfg->ninstalled && k < MEMTLS__CERT_KINDS) {
            cfg->installed[cfg->ninstalled++] = p->kind;
        }
        ok &= memtls__cert_pair_install(p, cfg->ssl_ctx, NULL);
    }
    ERR_clear_error();
    /* Exact when every key type ever installed is one of the defaults. */
    cfg->ctx_exact = ok && cfg->ninstalled == cfg->ndefaults;
}

/* Keep pair *p (taken over): as the first pair, or appended. */
static int store_pair(memtls_config *cfg, int first, memtls__cert_pair *p)
{
    if (first && cfg->npairs > 0) {
        memtls__cert_pair_clear(&cfg->pairs[0]);
        cfg->pairs[0] = *p;
    } else {
        memtls__cert_pair *grown = realloc(cfg->pairs, (cfg->npairs + 1) * sizeof *grown);
        if (grown == NULL) {
            memtls__cert_pair_clear(p);
            return fail(cfg, MEMTLS_ERR_NOMEM, "out of memory");
        }
        cfg->pairs = grown;
        cfg->pairs[cfg->npairs++] = *p;
    }
    install_defaults(cfg);
    return 0;
}

/*
 * Parse and check the pair completely before changing anything: a load
 * that fails (a bad reload: the wrong key, a file that is not PEM) leaves
 * the pairs loaded before in place. `first`: replace the first pair (the
 * single-certificate calls), else append one.
 */
static int load_cert(memtls_config *cfg, int first, const char *cert_name, const char *cert_pem,
                     size_t cert_len, const char *key_name, const char *key_pem, size_t key_len)
{
    memtls__cert_pair p;
    if (!first && cfg->npairs >= CONFIG_MAX_CERTS) {
        return fail(cfg, MEMTLS_ERR_INVALID, "%s: at most %u certificates", cert_name,
                    CONFIG_MAX_CERTS);
    }
    int rc = memtls__cert_pair_parse(&p, SSL_CTX_get_security_level(cfg->ssl_ctx), cert_name,
                                     cert_pem, cert_len, key_name, key_pem, key_len, cfg->error,
                                     sizeof cfg->error);
    if (rc != 0) {
        return rc;
    }
    return store_pair(cfg, first, &p);
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
    return load_cert(cfg, 1, "certificate", cert_pem, cert_len, "key", key_pem, key_len);
}

int memtls_config_add_cert_pem(memtls_config *cfg, const char *cert_pem, size_t cert_len,
                               const char *key_pem, size_t key_len)
{
    int rc = check_mutable(cfg);
    if (rc != 0) {
        return rc;
    }
    if (cfg->role != MEMTLS_ROLE_SERVER) {
        return fail(cfg, MEMTLS_ERR_INVALID, "several certificates are a server setting");
    }
    if (cert_pem == NULL || key_pem == NULL || cert_len == 0 || key_len == 0) {
        return fail(cfg, MEMTLS_ERR_INVALID, "certificate and key PEM must not be empty");
    }
    return load_cert(cfg, 0, "certificate", cert_pem, cert_len, "key", key_pem, key_len);
}

int memtls_config_add_cert_from(memtls_config *cfg, const memtls_config *src, size_t index)
{
    memtls__cert_pair p;
    int rc = check_mutable(cfg);
    if (rc != 0) {
        return rc;
    }
    if (cfg->role != MEMTLS_ROLE_SERVER || src == NULL || index >= src->npairs) {
        return fail(cfg, MEMTLS_ERR_INVALID, "no certificate %zu in the given configuration",
                    index);
    }
    if (cfg->npairs >= CONFIG_MAX_CERTS) {
        return fail(cfg, MEMTLS_ERR_INVALID, "at most %u certificates", CONFIG_MAX_CERTS);
    }
    if (memtls__cert_pair_copy(&p, &src->pairs[index]) != 0) {
        return fail(cfg, MEMTLS_ERR_NOMEM, "out of memory");
    }
    return store_pair(cfg, 0, &p);
}

static int load_cert_file(memtls_config *cfg, int first, const char *cert_path,
                          const char *key_path)
{
    char *cert = NULL;
    char *key = NULL;
    size_t cert_len = 0;
    size_t key_len = 0;
    int rc = check_mutable(cfg);
    if (rc != 0) {
        return rc;
    }
    if (!first && cfg->role != MEMTLS_ROLE_SERVER) {
        return fail(cfg, MEMTLS_ERR_INVALID, "several certificates are a server setting");
    }
    rc = memtls__read_file("certificate", cert_path, &cert, &cert_len, cfg->error,
                           sizeof cfg->error);
    if (rc == 0) {
        rc = memtls__read_file("key", key_path, &key, &key_len, cfg->error, sizeof cfg->error);
    }
    if (rc == 0) {
        rc = load_cert(cfg, first, cert_path, cert, cert_len, key_path, key, key_len);
    }
    free(cert);
    if (key != NULL) {
        OPENSSL_cleanse(key, key_len);
        free(key);
    }
    return rc;
}

int memtls_config_load_cert_file(memtls_config *cfg, const char *cert_path, const char *key_path)
{
    return load_cert_file(cfg, 1, cert_path, key_path);
}

int memtls_config_add_cert_file(memtls_config *cfg, const char *cert_path, const char *key_path)
{
    return load_cert_file(cfg, 0, cert_path, key_path);
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

#define GROUPS_MAX 32
#define GROUPS_LIST_MAX 512

int memtls_config_set_groups(memtls_config *cfg, const char *list)
{
    SSL_CTX *probe = NULL;
    int rc = check_mutable(cfg);
    if (rc != 0) {
        return rc;
    }
    if (list == NULL || list[0] == '\0') {
        return fail(cfg, MEMTLS_ERR_INVALID, "group list is empty");
    }
    size_t len = strnlen(list, GROUPS_LIST_MAX + 1);
    if (len > GROUPS_LIST_MAX) {
        return fail(cfg, MEMTLS_ERR_INVALID, "group list is longer than %d bytes", GROUPS_LIST_MAX);
    }
    /* Each name alone on a throwaway context, so that the message names
     * the one OpenSSL does not know and a bad list changes nothing. */
    probe = SSL_CTX_new(TLS_method());
    if (probe == NULL) {
        return fail_ssl(cfg, "out of memory");
    }
    int count = 0;
    const char *p = list;
    for (;;) {
        const char *end = strchr(p, ':');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        char name[GROUPS_LIST_MAX + 1];
        if (n == 0) {
            rc = fail(cfg, MEMTLS_ERR_CONFIG, "group list '%s' has an empty name", list);
            goto out;
        }
        if (++count > GROUPS_MAX) {
            rc = fail(cfg, MEMTLS_ERR_CONFIG, "group list '%s' names more than %d groups", list,
                      GROUPS_MAX);
            goto out;
        }
        memcpy(name, p, n);
        name[n] = '\0';
        if (SSL_CTX_set1_groups_list(probe, name) != 1) {
            rc = fail_ssl(cfg, "unknown key exchange group '%s'", name);
            goto out;
        }
        if (end == NULL) {
            break;
        }
        p = end + 1;
    }
    if (SSL_CTX_set1_groups_list(cfg->ssl_ctx, list) != 1) {
        rc = fail_ssl(cfg, "group list '%s' rejected", list);
        goto out;
    }
    rc = 0;
out:
    SSL_CTX_free(probe);
    return rc;
}

/* --- session tickets ---------------------------------------------------------- */

static int check_server(memtls_config *cfg, const char *what)
{
    int rc = check_mutable(cfg);
    if (rc == 0 && cfg->role != MEMTLS_ROLE_SERVER) {
        rc = fail(cfg, MEMTLS_ERR_INVALID, "%s is a server setting", what);
    }
    return rc;
}

/* Generated keys: a new one every `rotate` s, each kept `lifetime` s
 * after it stops encrypting, must fit the set. */
static int check_key_count(memtls_config *cfg, unsigned lifetime, unsigned rotate)
{
    unsigned long need = (lifetime + rotate - 1) / rotate + 1;
    if (need > MEMTLS__TICKET_KEYS_MAX) {
        return fail(cfg, MEMTLS_ERR_INVALID,
                    "ticket lifetime %u s with a new key every %u s needs %lu keys at once; at "
                    "most %u: rotate less often or shorten the lifetime",
                    lifetime, rotate, need, MEMTLS__TICKET_KEYS_MAX);
    }
    return 0;
}

int memtls_config_set_tickets(memtls_config *cfg, int enabled)
{
    int rc = check_server(cfg, "session tickets");
    if (rc != 0) {
        return rc;
    }
    cfg->tickets = enabled != 0;
    if (cfg->tickets) {
        SSL_CTX_clear_options(cfg->ssl_ctx, SSL_OP_NO_TICKET);
        SSL_CTX_set_num_tickets(cfg->ssl_ctx, 2);
    } else {
        /* No tickets, and no cache either: no resumption at all. TLS 1.3
         * would otherwise send stateful tickets nobody can use. */
        SSL_CTX_set_options(cfg->ssl_ctx, SSL_OP_NO_TICKET);
        SSL_CTX_set_num_tickets(cfg->ssl_ctx, 0);
    }
    return 0;
}

int memtls_config_tickets_enabled(const memtls_config *cfg)
{
    return cfg != NULL && cfg->role == MEMTLS_ROLE_SERVER && cfg->tickets;
}

int memtls_config_set_ticket_lifetime(memtls_config *cfg, unsigned seconds)
{
    int rc = check_server(cfg, "the ticket lifetime");
    if (rc != 0) {
        return rc;
    }
    if (seconds == 0 || seconds > TICKET_LIFETIME_MAX) {
        return fail(cfg, MEMTLS_ERR_INVALID, "ticket lifetime %u s: give 1 to %u (7 days)", seconds,
                    TICKET_LIFETIME_MAX);
    }
    rc = check_key_count(cfg, seconds, cfg->ticket_rotate);
    if (rc != 0) {
        return rc;
    }
    cfg->ticket_lifetime = seconds;
    SSL_CTX_set_timeout(cfg->ssl_ctx, (long)seconds);
    return 0;
}

int memtls_config_set_ticket_rotation(memtls_config *cfg, unsigned seconds)
{
    int rc = check_server(cfg, "the ticket key rotation");
    if (rc != 0) {
        return rc;
    }
    if (seconds == 0 || seconds > TICKET_LIFETIME_MAX) {
        return fail(cfg, MEMTLS_ERR_INVALID, "ticket key rotation %u s: give 1 to %u", seconds,
                    TICKET_LIFETIME_MAX);
    }
    if (atomic_load(&cfg->ring) != NULL) {
        return fail(cfg, MEMTLS_ERR_INVALID,
                    "ticket keys were already given (a key file, or another configuration's): "
                    "they do not rotate here");
    }
    rc = check_key_count(cfg, cfg->ticket_lifetime, seconds);
    if (rc != 0) {
        return rc;
    }
    cfg->ticket_rotate = seconds;
    return 0;
}

static void set_ring(memtls_config *cfg, memtls__ticket_ring *r)
{
    memtls__ticket_ring_unref(atomic_exchange(&cfg->ring, r));
}

static int ticket_keys(memtls_config *cfg, const char *name, const char *text, size_t len)
{
    memtls__ticket_key *keys = calloc(MEMTLS__TICKET_KEYS_MAX, sizeof *keys);
    size_t n = 0;
    char why[MEMTLS__ERROR_MAX - 64];
    int rc = 0;
    if (keys == NULL) {
        return fail(cfg, MEMTLS_ERR_NOMEM, "out of memory");
    }
    if (memtls__ticket_keys_parse(text, len, keys, MEMTLS__TICKET_KEYS_MAX, &n, why, sizeof why) !=
        0) {
        rc = name != NULL ? fail(cfg, MEMTLS_ERR_CONFIG, "%s: %s", name, why)
                          : fail(cfg, MEMTLS_ERR_CONFIG, "%s", why);
    } else {
        memtls__ticket_ring *r = memtls__ticket_ring_fixed(keys, n);
        if (r == NULL) {
            rc = fail(cfg, MEMTLS_ERR_NOMEM, "out of memory");
        } else {
            set_ring(cfg, r);
        }
    }
    OPENSSL_cleanse(keys, MEMTLS__TICKET_KEYS_MAX * sizeof *keys);
    free(keys);
    return rc;
}

int memtls_config_set_ticket_keys(memtls_config *cfg, const char *text, size_t len)
{
    int rc = check_server(cfg, "ticket keys");
    if (rc != 0) {
        return rc;
    }
    if (text == NULL && len > 0) {
        return fail(cfg, MEMTLS_ERR_INVALID, "ticket keys: NULL text");
    }
    return ticket_keys(cfg, NULL, text != NULL ? text : "", len);
}

int memtls_config_load_ticket_keys_file(memtls_config *cfg, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    int rc = check_server(cfg, "ticket keys");
    if (rc != 0) {
        return rc;
    }
    rc = memtls__read_file("ticket keys", path, &text, &len, cfg->error, sizeof cfg->error);
    if (rc == 0) {
        rc = ticket_keys(cfg, path, text, len);
        OPENSSL_cleanse(text, len);
    }
    free(text);
    return rc;
}

int memtls_config_share_ticket_keys(memtls_config *cfg, memtls_config *from)
{
    int rc = check_server(cfg, "ticket keys");
    if (rc != 0) {
        return rc;
    }
    if (from == NULL || from == cfg || from->role != MEMTLS_ROLE_SERVER) {
        return fail(cfg, MEMTLS_ERR_INVALID,
                    "share ticket keys: another server configuration is needed");
    }
    memtls__ticket_ring *r = ring_of(from);
    if (r == NULL) {
        return fail(cfg, MEMTLS_ERR_NOMEM, "out of memory (ticket keys)");
    }
    set_ring(cfg, memtls__ticket_ring_ref(r));
    return 0;
}
