/*
 * memtls/context.h - one TLS connection over memory buffers, no I/O.
 *
 * A memtls_ctx is one end of one connection, client or server. It never
 * touches a socket. The caller moves bytes:
 *
 *     network --ciphertext--> memtls_recv()  --> [read BIO]  --> OpenSSL
 *     network <--ciphertext-- memtls_send()  <-- [write BIO] <-- OpenSSL
 *     app     <--plaintext--- memtls_read()
 *     app     ---plaintext--> memtls_write()
 *
 * Both BIOs are plain BIO_s_mem objects owned by the context. An empty read
 * BIO reads as "retry" (SSL_ERROR_WANT_READ), never as end of stream; only
 * memtls_recv_eof() turns it into EOF, so OpenSSL can tell a truncation
 * (EOF without close_notify) from a clean close.
 *
 * STATUS CONTRACT. memtls_handshake(), memtls_read(), memtls_write() and
 * memtls_close() return 0 on success or the SSL_get_error() code of the
 * underlying call (SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE,
 * SSL_ERROR_ZERO_RETURN, SSL_ERROR_SSL, SSL_ERROR_SYSCALL, ...). Byte counts
 * travel only through out-parameters, which are 0 whenever the status is not
 * 0. No function returns a negative number. The only reinterpretation of an
 * OpenSSL status is MEMTLS_ERR_X509_VERIFY, returned by memtls_handshake()
 * when the handshake failed because the peer's certificate did not verify
 * (or a required certificate never came).
 *
 *     size_t n = 0;
 *     int rc = memtls_read(ctx, buf, sizeof buf, &n);
 *     switch (rc) {
 *     case 0:                     // n bytes of plaintext in buf
 *         break;
 *     case SSL_ERROR_WANT_READ:
 *     case SSL_ERROR_WANT_WRITE:  // feed ciphertext / drain, then retry
 *         break;
 *     case SSL_ERROR_ZERO_RETURN: // peer sent close_notify
 *         break;
 *     default:                    // fatal: memtls_ctx_error() says why
 *         break;
 *     }
 *
 * DRAIN RULE. Every operation, reads included, may leave ciphertext in the
 * write BIO: handshake flights, TLS 1.3 NewSessionTicket and KeyUpdate
 * replies produced inside SSL_read, and the fatal alert written on
 * SSL_ERROR_SSL. After every call, check memtls_pending_write() and send
 * what is there; bytes left behind are a peer that hangs. memtls_session
 * (session.h) does this for you.
 *
 * ERROR QUEUE. The calling thread's OpenSSL error queue is cleared before
 * every SSL call and again after its failure has been recorded in the
 * context, so an error on one context is never reported by another. The
 * first fatal error of a context sticks and is readable with
 * memtls_ctx_error().
 *
 * THREADS. A context may be used by one thread at a time; distinct contexts
 * (even sharing one memtls_config) may be used from distinct threads.
 *
 * The plaintext twin (memtls_ctx_new_plaintext) implements the same calls
 * with no encryption, so code above cannot tell the two apart.
 */
#ifndef MEMTLS_CONTEXT_H
#define MEMTLS_CONTEXT_H

#include <stddef.h>
#include <stdint.h>

/* The SSL_ERROR_* status values are OpenSSL's own. */
#include <openssl/ssl.h>

#include <memtls/common.h>
#include <memtls/config.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One end of one connection: TLS (memtls_ctx_new) or plaintext twin. */
typedef struct memtls_ctx memtls_ctx;

/*
 * Create a TLS context from `cfg`. The context takes its own reference on
 * the configuration (the caller may memtls_config_free() its copy at once),
 * and the configuration is frozen: its setters fail from now on.
 * A client context sends no SNI and checks no host name until
 * memtls_ctx_set_hostname() is called (see config.h for verification).
 * Returns NULL if `cfg` is NULL, is a server configuration without a
 * certificate, or memory ran out.
 */
MEMTLS_API memtls_ctx *memtls_ctx_new(memtls_config *cfg) MEMTLS_WUR;

/*
 * Create the plaintext twin: same calls, no TLS. Bytes given to
 * memtls_recv() come out of memtls_read(); bytes given to memtls_write()
 * come out of memtls_send(). memtls_handshake() succeeds at once;
 * memtls_read() after memtls_recv_eof() with nothing buffered returns
 * SSL_ERROR_ZERO_RETURN (a plaintext stream has no close_notify, so EOF is
 * its clean close); memtls_close() stops further writes.
 * `role` is MEMTLS_ROLE_CLIENT or MEMTLS_ROLE_SERVER and is only reported.
 * Returns NULL on an invalid role or out of memory.
 */
MEMTLS_API memtls_ctx *memtls_ctx_new_plaintext(memtls_role role) MEMTLS_WUR;

/* Free a context and both BIOs. NULL is a no-op. */
MEMTLS_API void memtls_ctx_free(memtls_ctx *ctx);

/* 1 for a TLS context, 0 for the plaintext twin (or NULL). */
MEMTLS_API int memtls_ctx_is_tls(const memtls_ctx *ctx);

/* The role the context was created with; MEMTLS_ROLE_CLIENT for NULL. */
MEMTLS_API memtls_role memtls_ctx_role(const memtls_ctx *ctx);

/*
 * Client only, before the handshake starts: the server name to send as SNI
 * and, when the configuration verifies the peer, to check against the
 * server certificate (DNS names; an IP literal is matched against IP SANs
 * and not sent as SNI, as RFC 6066 requires). The string is copied.
 * Returns 0, or MEMTLS_ERR_INVALID (NULL/empty name, server context,
 * plaintext twin, handshake already started), or MEMTLS_ERR_NOMEM.
 */
MEMTLS_API int memtls_ctx_set_hostname(memtls_ctx *ctx, const char *hostname) MEMTLS_WUR;

/* --- ciphertext plumbing ------------------------------------------------ */

/*
 * Append `len` bytes of inbound ciphertext (bytes from the network) to the
 * read BIO. They are copied; nothing is processed until the next
 * handshake/read/write call. Returns 0, MEMTLS_ERR_INVALID (NULL ctx, NULL
 * data with len > 0, len > INT_MAX, or called after memtls_recv_eof()), or
 * MEMTLS_ERR_NOMEM. len == 0 is a successful no-op.
 */
MEMTLS_API int memtls_recv(memtls_ctx *ctx, const void *data, size_t len) MEMTLS_WUR;

/*
 * The transport reported end of stream: once the read BIO is empty it now
 * reads as EOF instead of retry. A TLS read that then finds no close_notify
 * fails with SSL_ERROR_SSL (OpenSSL 3: "unexpected eof while reading") or
 * SSL_ERROR_SYSCALL: a truncation. Idempotent. Returns 0 or
 * MEMTLS_ERR_INVALID (NULL ctx).
 */
MEMTLS_API int memtls_recv_eof(memtls_ctx *ctx) MEMTLS_WUR;

/* Bytes of inbound ciphertext given to memtls_recv() not yet consumed. */
MEMTLS_API size_t memtls_pending_read(const memtls_ctx *ctx);

/* Bytes of outbound ciphertext waiting in the write BIO (0 for NULL). */
MEMTLS_API size_t memtls_pending_write(const memtls_ctx *ctx);

/*
 * Drain up to `len` bytes of outbound ciphertext into `buf`. *sent is the
 * number of bytes copied (0 when nothing waits). Returns 0, or
 * MEMTLS_ERR_INVALID (NULL ctx/sent, NULL buf with len > 0) with *sent = 0
 * when `sent` is not NULL.
 */
MEMTLS_API int memtls_send(memtls_ctx *ctx, void *buf, size_t len, size_t *sent) MEMTLS_WUR;

/* --- TLS operations: 0 or an SSL_ERROR_* code -------------------------- */

/*
 * Advance the handshake as far as buffered input allows. Returns 0 once
 * the handshake is complete (also on later calls), SSL_ERROR_WANT_READ
 * when more peer bytes are needed, MEMTLS_ERR_X509_VERIFY when the peer's
 * certificate failed verification or a required client certificate never
 * came (memtls_verify_error() says why), SSL_ERROR_ZERO_RETURN when the
 * peer sent close_notify before the handshake completed (a failure that
 * sticks like the others), SSL_ERROR_SSL / SSL_ERROR_SYSCALL on other
 * failures (memtls_ctx_error() says why), MEMTLS_ERR_INVALID for a NULL
 * ctx. Drain memtls_pending_write() afterwards in every case: it holds
 * the next flight, session tickets, or the fatal alert.
 */
MEMTLS_API int memtls_handshake(memtls_ctx *ctx) MEMTLS_WUR;

/*
 * Read up to `len` bytes of plaintext (len may exceed a TLS record; one
 * call returns at most one record's worth plus what is buffered). Runs the
 * handshake first if it is not complete. On 0, *readbytes >= 1. On any
 * other status *readbytes is 0: SSL_ERROR_WANT_READ (feed ciphertext),
 * SSL_ERROR_ZERO_RETURN (peer's close_notify: clean end of stream),
 * SSL_ERROR_SSL / SSL_ERROR_SYSCALL (fatal; after memtls_recv_eof() this is
 * a truncation, see memtls_ctx_truncated()), MEMTLS_ERR_INVALID (NULL
 * ctx/buf/readbytes, len == 0 or len > INT_MAX).
 */
MEMTLS_API int memtls_read(memtls_ctx *ctx, void *buf, size_t len, size_t *readbytes) MEMTLS_WUR;

/*
 * Encrypt `len` bytes of plaintext into the write BIO. Memory BIOs never
 * push back, so on 0 *written == len (large buffers become several
 * records). Runs the handshake first if needed: before it completes this
 * returns SSL_ERROR_WANT_READ with *written = 0. Other statuses as
 * memtls_read(); MEMTLS_ERR_CLOSED after memtls_close() (nothing sent);
 * MEMTLS_ERR_INVALID for NULL ctx/written, NULL buf with len > 0, or
 * len > INT_MAX. len == 0 is a successful no-op.
 */
MEMTLS_API int memtls_write(memtls_ctx *ctx, const void *buf, size_t len,
                            size_t *written) MEMTLS_WUR;

/*
 * Send close_notify (queued in the write BIO: drain it). Returns 0 once
 * the alert is queued (first call) or already sent (later calls). Never
 * calls SSL_get_error after SSL_shutdown returned 0: that is progress.
 * Returns SSL_ERROR_SSL if the handshake has not completed or a fatal
 * error happened before (nothing is sent), MEMTLS_ERR_INVALID for NULL.
 */
MEMTLS_API int memtls_close(memtls_ctx *ctx) MEMTLS_WUR;

/*
 * Ask for a TLS 1.3 KeyUpdate. `update_requested`: 1 asks the peer to
 * update its keys as well. The message is written to the write BIO at the
 * next memtls_write(), memtls_handshake() or memtls_close() call.
 * (Conversely, a KeyUpdate the peer sends with update_requested is answered
 * inside the memtls_read() that receives it, so a side that only reads
 * still updates its keys: drain after reads.) Returns 0, SSL_ERROR_SSL
 * (not TLS 1.3, handshake incomplete), or MEMTLS_ERR_INVALID.
 */
MEMTLS_API int memtls_key_update(memtls_ctx *ctx, int update_requested) MEMTLS_WUR;

/* --- state and peer information ---------------------------------------- */

/* 1 once the handshake completed (at once for the plaintext twin). */
MEMTLS_API int memtls_handshake_done(const memtls_ctx *ctx);

/* 1 once the peer's close_notify was received (twin: EOF read). */
MEMTLS_API int memtls_peer_closed(const memtls_ctx *ctx);

/* 1 if a read failed because the stream ended without close_notify. */
MEMTLS_API int memtls_ctx_truncated(const memtls_ctx *ctx);

/*
 * 1 if the peer presented a certificate that verified against the
 * configured CAs (and host name, for clients). 0 otherwise, including no
 * certificate and the plaintext twin.
 */
MEMTLS_API int memtls_peer_cert_ok(const memtls_ctx *ctx);

/*
 * Why the peer's certificate did not verify, as text
 * ("certificate has expired", "Hostname mismatch", "peer did not return a
 * certificate", ...), or "ok" when it did, or "no peer certificate". The
 * string lives as long as the context.
 */
MEMTLS_API const char *memtls_verify_error(const memtls_ctx *ctx);

/* The raw X509_V_* verify result (X509_V_OK when nothing failed). */
MEMTLS_API long memtls_verify_result(const memtls_ctx *ctx);

/*
 * The first fatal error of this context as text, with the OpenSSL reason
 * when there was one (for example "SSL_ERROR_SSL: error:0A000086:SSL
 * routines::certificate verify failed (unable to get local issuer
 * certificate)"). Empty string when no fatal error happened.
 */
MEMTLS_API const char *memtls_ctx_error(const memtls_ctx *ctx);

/* Negotiated protocol ("TLSv1.3"), cipher name, or "" before/without. */
MEMTLS_API const char *memtls_version(const memtls_ctx *ctx);
MEMTLS_API const char *memtls_cipher(const memtls_ctx *ctx);

/* Negotiated ALPN protocol as a NUL-terminated copy, "" if none. */
MEMTLS_API const char *memtls_alpn(const memtls_ctx *ctx);

/* Server: the SNI host name the client sent, "" if none. Client: "". */
MEMTLS_API const char *memtls_sni(const memtls_ctx *ctx);

/*
 * The peer's leaf certificate, DER-encoded, copied into `buf`. *outlen is
 * the full DER size (so a call with len 0 sizes the buffer). Returns 0,
 * MEMTLS_ERR_NO_PEER_CERT, MEMTLS_ERR_INVALID, or MEMTLS_ERR_TOO_SMALL
 * when len < *outlen (nothing copied).
 */
MEMTLS_API int memtls_peer_cert_der(const memtls_ctx *ctx, uint8_t *buf, size_t len,
                                    size_t *outlen) MEMTLS_WUR;

/*
 * The peer's subject as a one-line RFC 2253 string ("CN=client,O=Test"),
 * or "" when there is no peer certificate. Lives as long as the context.
 */
MEMTLS_API const char *memtls_peer_subject(const memtls_ctx *ctx);

/*
 * The peer's subject alternative names, comma separated with their types
 * ("DNS:localhost, IP:127.0.0.1, email:a@b"), or "" when none.
 */
MEMTLS_API const char *memtls_peer_sans(const memtls_ctx *ctx);

/*
 * 1 if the peer certificate names `name`: a DNS SAN (wildcards per RFC
 * 6125), an IP SAN when `name` is an IP literal, or, only when the
 * certificate has no DNS SAN, the subject CN. 0 otherwise.
 */
MEMTLS_API int memtls_peer_has_name(const memtls_ctx *ctx, const char *name);

/*
 * Human-readable text for `status` as returned by any memtls call: its
 * name and meaning, plus, when `ctx` is given and recorded one, the
 * OpenSSL reason or verify reason. Writes a NUL-terminated string of at
 * most len - 1 bytes into buf and returns buf. buf must not be NULL and
 * len must be at least 1; otherwise returns "" (a static string).
 */
MEMTLS_API const char *memtls_status_text(const memtls_ctx *ctx, int status, char *buf, size_t len);

/*
 * The underlying SSL object for advanced use (NULL for the twin). Calls
 * made on it bypass the error-queue and drain discipline of this API.
 */
MEMTLS_API struct ssl_st *memtls_ctx_ssl(memtls_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif
