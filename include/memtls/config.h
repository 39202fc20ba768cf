/*
 * memtls/config.h - the configuration shared by many contexts.
 *
 * A memtls_config wraps one OpenSSL SSL_CTX (memtls_config_ssl_ctx() in
 * memtls/openssl.h gives access to it): role, certificate chain and
 * key, trusted CAs, peer verification, ALPN, protocol floor and ciphers.
 * Build it on one thread, then create any number of contexts from it
 * (memtls_ctx_new), from any threads. Creating the first context freezes
 * the configuration: from then on every setter returns MEMTLS_ERR_INVALID,
 * so a configuration in use never changes under a live connection. To
 * change certificates (a reload), build a new configuration; contexts made
 * from the old one keep it alive through their reference.
 *
 * Secure defaults, applied by memtls_config_new():
 *   - TLS 1.2 minimum (memtls_config_set_min_version for 1.3 only);
 *   - TLS 1.2 suites: ECDHE with AES-GCM or ChaCha20-Poly1305 only;
 *     TLS 1.3: OpenSSL's defaults (all AEAD);
 *   - no renegotiation, no compression, no TLS 1.2 session tickets'
 *     weak modes: OpenSSL 3 defaults otherwise;
 *   - clients verify the server (MEMTLS_VERIFY_REQUIRED), servers do not
 *     ask for client certificates (MEMTLS_VERIFY_NONE).
 *
 * Every call returns 0 or a MEMTLS_ERR_* status; on failure
 * memtls_config_error() tells what went wrong, naming the file and the
 * problem ("cert.pem: no certificate found (not PEM?)").
 */
#ifndef MEMTLS_CONFIG_H
#define MEMTLS_CONFIG_H

#include <stddef.h>

#include <memtls/common.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct memtls_config memtls_config;

typedef enum memtls_verify {
    /* Server: do not ask for a client certificate. Client: accept any
     * server certificate (insecure; for tests and --insecure). */
    MEMTLS_VERIFY_NONE = 0,
    /* Server: ask for a client certificate; if one is sent it must verify,
     * but a client without one is accepted. Client: same as REQUIRED. */
    MEMTLS_VERIFY_OPTIONAL = 1,
    /* Server: a client certificate is required and must verify. Client:
     * the server certificate must verify (and match the host name when
     * memtls_ctx_set_hostname was called). */
    MEMTLS_VERIFY_REQUIRED = 2
} memtls_verify;

typedef enum memtls_version_floor {
    MEMTLS_TLS1_2 = 0x0303,
    MEMTLS_TLS1_3 = 0x0304
} memtls_version_floor;

/*
 * A new configuration for `role` with the defaults above and a reference
 * count of 1. Returns NULL on an invalid role or when OpenSSL cannot
 * create an SSL_CTX (out of memory).
 */
MEMTLS_API memtls_config *memtls_config_new(memtls_role role) MEMTLS_WUR;

/* Drop the caller's reference; the SSL_CTX is freed with the last context
 * that uses it. NULL is a no-op. Thread-safe (atomic count). */
MEMTLS_API void memtls_config_free(memtls_config *cfg);

/* Take another reference (for a second owner). Returns cfg. */
MEMTLS_API memtls_config *memtls_config_ref(memtls_config *cfg);

/* The role given to memtls_config_new (MEMTLS_ROLE_CLIENT for NULL). */
MEMTLS_API memtls_role memtls_config_role(const memtls_config *cfg);

/*
 * Load the certificate chain (leaf first, then intermediates) and the
 * private key from PEM files. The key must match the leaf. Fails with
 * MEMTLS_ERR_CONFIG for a missing/unreadable file, a file without a PEM
 * certificate or key, or a key that does not match.
 */
MEMTLS_API int memtls_config_load_cert_file(memtls_config *cfg, const char *cert_path,
                                            const char *key_path) MEMTLS_WUR;

/* The same from PEM text in memory (`*_len` bytes, NUL not required). */
MEMTLS_API int memtls_config_load_cert_pem(memtls_config *cfg, const char *cert_pem,
                                           size_t cert_len, const char *key_pem,
                                           size_t key_len) MEMTLS_WUR;

/*
 * Trust the CA certificates in a PEM bundle file (may be called several
 * times; certificates accumulate). A file with no certificate is an error.
 */
MEMTLS_API int memtls_config_load_ca_file(memtls_config *cfg, const char *path) MEMTLS_WUR;

/* The same from PEM text in memory. */
MEMTLS_API int memtls_config_load_ca_pem(memtls_config *cfg, const char *pem,
                                         size_t len) MEMTLS_WUR;

/* Trust the system's default CA store (OpenSSL's default paths). */
MEMTLS_API int memtls_config_use_system_ca(memtls_config *cfg) MEMTLS_WUR;

/* Peer verification mode; see memtls_verify. */
MEMTLS_API int memtls_config_set_verify(memtls_config *cfg, memtls_verify mode) MEMTLS_WUR;

/*
 * ALPN protocols, most preferred first ("h2", "http/1.1"); each 1..255
 * bytes, at most 16. A client offers them; a server picks the first of its
 * list that the client offered, and with no overlap continues without
 * ALPN (it does not fail the handshake; memtls_ctx_alpn() returns ""). The
 * strings are copied.
 */
MEMTLS_API int memtls_config_set_alpn(memtls_config *cfg, const char *const *protos,
                                      size_t count) MEMTLS_WUR;

/*
 * Server: when the client offers ALPN and none of ours matches, fail the
 * handshake with a no_application_protocol alert instead of continuing.
 */
MEMTLS_API int memtls_config_set_alpn_strict(memtls_config *cfg, int strict);

/* Lowest protocol version accepted: MEMTLS_TLS1_2 (default) or _TLS1_3. */
MEMTLS_API int memtls_config_set_min_version(memtls_config *cfg, memtls_version_floor v) MEMTLS_WUR;

/* Cap the highest protocol version (tests, interop): MEMTLS_TLS1_2/1_3. */
MEMTLS_API int memtls_config_set_max_version(memtls_config *cfg, memtls_version_floor v) MEMTLS_WUR;

/*
 * TLS 1.2 cipher list and TLS 1.3 cipher suites, OpenSSL syntax. A list
 * that selects nothing, or that selects a non-AEAD cipher, is rejected.
 */
MEMTLS_API int memtls_config_set_ciphers(memtls_config *cfg, const char *list) MEMTLS_WUR;
MEMTLS_API int memtls_config_set_ciphersuites(memtls_config *cfg, const char *list) MEMTLS_WUR;

/* 1 if a certificate and key have been loaded. */
MEMTLS_API int memtls_config_has_cert(const memtls_config *cfg);

/*
 * Text of the last failure of a call on this configuration (names the file
 * and the problem), "" if none. Lives until the next failing call.
 */
MEMTLS_API const char *memtls_config_error(const memtls_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
