/*
 * memtls/config.h - the configuration shared by many contexts.
 *
 * A memtls_config wraps one OpenSSL SSL_CTX (memtls_config_ssl_ctx() in
 * memtls/openssl.h gives access to it): role, certificate chain and
 * key, trusted CAs, peer verification, ALPN, protocol floor, ciphers and
 * key exchange groups.
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
 *   - no renegotiation, no compression: OpenSSL 3 defaults otherwise;
 *   - clients verify the server (MEMTLS_VERIFY_REQUIRED), servers do not
 *     ask for client certificates (MEMTLS_VERIFY_NONE);
 *   - servers resume sessions with stateless tickets (TLS 1.2 and 1.3),
 *     keep no session cache, and encrypt the tickets with keys of their
 *     own that rotate every hour (see SESSION TICKETS below).
 *
 * SEVERAL CERTIFICATES (servers). A configuration holds any number of
 * certificate/key pairs. memtls_config_load_cert_*() sets the first one
 * (the default), memtls_config_add_cert_*() appends more. A handshake
 * offers, for each key type (RSA, ECDSA, Ed25519, ...), the first pair in
 * load order whose certificate names the client's SNI exactly, else the
 * first whose wildcard covers it; OpenSSL then picks among them what the
 * client supports, so an RSA and an ECDSA certificate for one name may
 * both be loaded. A certificate's names are its DNS subject alternative
 * names, or its subject's CN only when it has no DNS name; wildcards as
 * RFC 6125 allows them: "*" is the whole leftmost label, stands for one
 * label, and needs at least two labels after it ("*.example.com", not
 * "*.com", "f*.example.com" or "www.*.com"). Names compare without
 * case; a trailing dot in the SNI is ignored. Without SNI, or when no
 * certificate names it, the default set answers: the first pair, plus for
 * each other key type the first later pair that shares a name with it.
 * A ticket is resumed only under the SNI it was issued for.
 * memtls_ctx_cert_index() tells which pair answered a handshake.
 *
 * SESSION TICKETS (servers). Resumption is on by default and stateless:
 * the session travels, encrypted, in a ticket the client keeps (RFC 5077
 * for TLS 1.2, RFC 8446 for 1.3); the server keeps no cache. The ticket
 * keys are AES-256-CBC + HMAC-SHA256 keys with a 16-byte name. Without a
 * key file the configuration makes its own when the first context needs
 * them and rotates them (memtls_config_set_ticket_rotation): a new key
 * encrypts, the previous ones still decrypt for the ticket lifetime, then
 * are wiped (OPENSSL_cleanse). For a fleet, give every process the same
 * keys (memtls_config_load_ticket_keys_file). A reload keeps tickets
 * working with memtls_config_share_ticket_keys(). A ticket that cannot
 * be decrypted (an unknown or retired key, a damaged ticket) gets a full
 * handshake and a new ticket.
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

/*
 * Key exchange groups, most preferred first, separated by ':' (OpenSSL's
 * names: "X25519", "P-256" or "prime256v1", "P-384", "P-521", "X448",
 * "ffdhe2048" ... "ffdhe8192"); at most 32, the list at most 512 bytes.
 * A client offers them (a key share for the first); a server takes the
 * first of the client's key shares it allows, else asks for its own most
 * preferred group the client supports. Both roles default to
 * MEMTLS_DEFAULT_GROUPS: the elliptic curves OpenSSL offers, without the
 * finite-field groups, whose server-side cost (ffdhe8192: milliseconds of
 * CPU per handshake, forced by any client that offers only it) makes them
 * a way to exhaust a server. An unknown name or an empty element is
 * MEMTLS_ERR_CONFIG with the name in the message; the configuration then
 * keeps its groups.
 */
#define MEMTLS_DEFAULT_GROUPS "X25519:P-256:X448:P-521:P-384"
MEMTLS_API int memtls_config_set_groups(memtls_config *cfg, const char *list) MEMTLS_WUR;

/*
 * Server: append another certificate/key pair (see SEVERAL CERTIFICATES
 * above); the same checks and messages as memtls_config_load_cert_file.
 * On a configuration without a pair this one becomes the first. A pair
 * that fails to load leaves the others as they were. MEMTLS_ERR_INVALID
 * for a client configuration or beyond 10000 pairs.
 */
MEMTLS_API int memtls_config_add_cert_file(memtls_config *cfg, const char *cert_path,
                                           const char *key_path) MEMTLS_WUR;

/* The same from PEM text in memory. */
MEMTLS_API int memtls_config_add_cert_pem(memtls_config *cfg, const char *cert_pem, size_t cert_len,
                                          const char *key_pem, size_t key_len) MEMTLS_WUR;

/*
 * Server: append pair `index` of `src` (same certificate, chain and key,
 * shared by reference; `src` may be in use). A reload that cannot read
 * one pair's files keeps that pair as it was this way. Returns 0,
 * MEMTLS_ERR_INVALID (no such pair, client configuration) or
 * MEMTLS_ERR_NOMEM.
 */
MEMTLS_API int memtls_config_add_cert_from(memtls_config *cfg, const memtls_config *src,
                                           size_t index) MEMTLS_WUR;

/* 1 if a certificate and key have been loaded. */
MEMTLS_API int memtls_config_has_cert(const memtls_config *cfg);

/* The number of certificate/key pairs (0 for NULL). */
MEMTLS_API size_t memtls_config_cert_count(const memtls_config *cfg);

/*
 * Server: session tickets on (1, the default) or off (0: no resumption
 * at all, neither tickets nor a session cache). MEMTLS_ERR_INVALID for a
 * client configuration.
 */
MEMTLS_API int memtls_config_set_tickets(memtls_config *cfg, int enabled) MEMTLS_WUR;

/* 1 when a server configuration issues and accepts tickets. */
MEMTLS_API int memtls_config_tickets_enabled(const memtls_config *cfg);

/*
 * Server: how long a ticket (a resumable session) is valid, 1 to 604800
 * seconds (7 days, RFC 8446's limit); default 7200. It is the lifetime
 * hint sent with the ticket and the age beyond which it is refused.
 */
MEMTLS_API int memtls_config_set_ticket_lifetime(memtls_config *cfg, unsigned seconds) MEMTLS_WUR;

/*
 * Server: a new ticket key every `seconds` (1 to 604800; default 3600)
 * for keys the configuration makes itself. Each retired key decrypts for
 * the ticket lifetime, then is wiped; the keys needed at once
 * (lifetime / rotation + 1) must not exceed 256. The rotation happens in
 * the handshake that finds it due (no timer). MEMTLS_ERR_INVALID when
 * keys were given already (a key file, shared keys).
 */
MEMTLS_API int memtls_config_set_ticket_rotation(memtls_config *cfg, unsigned seconds) MEMTLS_WUR;

/*
 * Server: ticket keys from the text of a key file: one key per line, the
 * base64 of 80 bytes (16-byte name, 32-byte HMAC-SHA256 key, 32-byte
 * AES-256 key: `openssl rand 80 | base64 -w0`); blank lines and lines
 * starting with '#' are skipped. The first key encrypts new tickets,
 * every key decrypts; these keys never rotate by themselves. At most 256
 * keys. A malformed text is MEMTLS_ERR_CONFIG with memtls_config_error()
 * naming the line and the problem ("line 3: decodes to 48 bytes; a key
 * is 80 bytes ..."); the keys in place stay. The text is
 * not kept (the keys are copied; wipe your copy).
 */
MEMTLS_API int memtls_config_set_ticket_keys(memtls_config *cfg, const char *text,
                                             size_t len) MEMTLS_WUR;

/* The same from a file, read and wiped here; messages name the file
 * ("/etc/memtls/tickets.key: line 2: ..."). */
MEMTLS_API int memtls_config_load_ticket_keys_file(memtls_config *cfg, const char *path) MEMTLS_WUR;

/*
 * Server: use the ticket keys of `from` (its key file's, or the keys it
 * makes and rotates, made now if it has none yet), so tickets of either
 * configuration resume under the other: for a reload, the new
 * configuration shares the old one's keys. `from` may be in use.
 */
MEMTLS_API int memtls_config_share_ticket_keys(memtls_config *cfg, memtls_config *from) MEMTLS_WUR;

/*
 * Text of the last failure of a call on this configuration (names the file
 * and the problem), "" if none. Lives until the next failing call.
 */
MEMTLS_API const char *memtls_config_error(const memtls_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
