/*
 * memtls/context.h - one TLS connection over memory buffers, no I/O.
 *
 * A memtls_ctx is one end of one connection, client or server. It never
 * touches a socket. The caller moves bytes:
 *
 *     network --ciphertext--> memtls_ctx_feed()  --> [read BIO]  --> OpenSSL
 *     network <--ciphertext-- memtls_ctx_drain() <-- [write BIO] <-- OpenSSL
 *     app     <--plaintext--- memtls_ctx_read()
 *     app     ---plaintext--> memtls_ctx_write()
 *
 * Both BIOs are plain OpenSSL memory BIOs owned by the context. An empty
 * read BIO reads as "retry" (MEMTLS_WANT_READ), never as end of stream;
 * only memtls_ctx_feed_eof() turns it into EOF, so OpenSSL can tell a
 * truncation (EOF without close_notify) from a clean close.
 *
 * STATUS CONTRACT. memtls_ctx_handshake(), memtls_ctx_read(),
 * memtls_ctx_write(), memtls_ctx_close() and memtls_ctx_key_update()
 * return MEMTLS_OK (0) or the SSL_get_error() value of the underlying
 * call, spelled with memtls' names (common.h: MEMTLS_WANT_READ,
 * MEMTLS_CLOSED, MEMTLS_ERR_SSL, MEMTLS_ERR_SYSCALL; the numbers are
 * OpenSSL's). Byte counts travel only through out-parameters, which are 0
 * whenever the status is not MEMTLS_OK. No function returns a negative
 * number. The only reinterpretation of an OpenSSL status is
 * MEMTLS_ERR_X509_VERIFY, returned by memtls_ctx_handshake() when the
 * handshake failed because the peer's certificate did not verify (or a
 * required certificate never came). The table of which call returns what
 * is in common.h.
 *
 *     size_t n = 0;
 *     int rc = memtls_ctx_read(ctx, buf, sizeof buf, &n);
 *     switch (rc) {
 *     case MEMTLS_OK:        // n bytes of plaintext in buf
 *         break;
 *     case MEMTLS_WANT_READ: // feed the peer's ciphertext, then retry
 *         break;
 *     case MEMTLS_CLOSED:    // the peer sent close_notify
 *         break;
 *     default:               // fatal: memtls_ctx_error() says why
 *         break;
 *     }
 *
 * DRAIN RULE. Every operation, reads included, may leave ciphertext in the
 * write BIO: handshake flights, TLS 1.3 NewSessionTicket and KeyUpdate
 * replies produced inside SSL_read, and the fatal alert written on
 * MEMTLS_ERR_SSL. After every call, check memtls_ctx_pending_out() and
 * send what is there; bytes left behind are a peer that hangs.
 * memtls_session (session.h) does this for you.
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
 *
 * This header needs no OpenSSL header. The OpenSSL objects underneath
 * (SSL, SSL_CTX) and the raw verify result are in memtls/openssl.h.
 */
#ifndef MEMTLS_CONTEXT_H
#define MEMTLS_CONTEXT_H

#include <stddef.h>
#include <stdint.h>

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
 * memtls_ctx_feed() come out of memtls_ctx_read(); bytes given to
 * memtls_ctx_write() come out of memtls_ctx_drain(). memtls_ctx_handshake()
 * succeeds at once; memtls_ctx_read() after memtls_ctx_feed_eof() with
 * nothing buffered returns MEMTLS_CLOSED (a plaintext stream has no
 * close_notify, so EOF is its clean close); memtls_ctx_close() stops
 * further writes. `role` is MEMTLS_ROLE_CLIENT or MEMTLS_ROLE_SERVER and
 * is only reported. Returns NULL on an invalid role or out of memory.
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
 * and not sent as SNI, as RFC 6066 requires; an IPv6 literal may be
 * written in brackets, "[::1]", as in URLs). The string is copied.
 * Returns 0, or MEMTLS_ERR_INVALID (NULL/empty name, server context,
 * plaintext twin, handshake already started), or MEMTLS_ERR_NOMEM.
 */
MEMTLS_API int memtls_ctx_set_hostname(memtls_ctx *ctx, const char *hostname) MEMTLS_WUR;

/* --- ciphertext plumbing ------------------------------------------------ */

/*
 * Append `len` bytes of inbound ciphertext (bytes from the network) to the
 * read BIO. They are copied; nothing is processed until the next
 * handshake/read/write call. Returns 0, MEMTLS_ERR_INVALID (NULL ctx, NULL
 * data with len > 0, len > INT_MAX, or called after memtls_ctx_feed_eof()),
 * or MEMTLS_ERR_NOMEM. len == 0 is a successful no-op.
 */
MEMTLS_API int memtls_ctx_feed(memtls_ctx *ctx, const void *data, size_t len) MEMTLS_WUR;

/*
 * The transport reported end of stream: once the read BIO is empty it now
 * reads as EOF instead of retry. A TLS read that then finds no close_notify
 * fails with MEMTLS_ERR_SSL (OpenSSL 3: "unexpected eof while reading") or
 * MEMTLS_ERR_SYSCALL: a truncation. Idempotent. Returns 0 or
 * MEMTLS_ERR_INVALID (NULL ctx).
 */
MEMTLS_API int memtls_ctx_feed_eof(memtls_ctx *ctx);

/* Bytes of inbound ciphertext given to memtls_ctx_feed() not yet
 * consumed (0 for NULL). */
MEMTLS_API size_t memtls_ctx_pending_in(const memtls_ctx *ctx);

/*
 * Drop the inbound ciphertext not yet consumed (a caller that stops
 * reading for good: nothing of it will ever be processed) and return how
 * many bytes that was (0 for NULL). An EOF given with
 * memtls_ctx_feed_eof() stays.
 */
MEMTLS_API size_t memtls_ctx_discard_input(memtls_ctx *ctx);

/* Bytes of outbound ciphertext waiting in the write BIO (0 for NULL). */
MEMTLS_API size_t memtls_ctx_pending_out(const memtls_ctx *ctx);

/*
 * Drain up to `len` bytes of outbound ciphertext into `buf`. *sent is the
 * number of bytes copied (0 when nothing waits). Returns 0, or
 * MEMTLS_ERR_INVALID (NULL ctx/sent, NULL buf with len > 0) with *sent = 0
 * when `sent` is not NULL.
 */
MEMTLS_API int memtls_ctx_drain(memtls_ctx *ctx, void *buf, size_t len, size_t *sent);

/* --- TLS operations: MEMTLS_OK or an SSL_get_error() outcome ------------ */

/*
 * Advance the handshake as far as buffered input allows. Returns 0 once
 * the handshake is complete (also on later calls), MEMTLS_WANT_READ when
 * more peer bytes are needed, MEMTLS_ERR_X509_VERIFY when the peer's
 * certificate failed verification or a required client certificate never
 * came (memtls_ctx_verify_error() says why), MEMTLS_CLOSED when the peer
 * sent close_notify before the handshake completed (a failure that sticks
 * like the others), MEMTLS_ERR_SSL / MEMTLS_ERR_SYSCALL on other failures
 * (memtls_ctx_error() says why), MEMTLS_ERR_INVALID for a NULL ctx. Drain
 * memtls_ctx_pending_out() afterwards in every case: it holds the next
 * flight, session tickets, or the fatal alert.
 */
MEMTLS_API int memtls_ctx_handshake(memtls_ctx *ctx) MEMTLS_WUR;

/*
 * Read up to `len` bytes of plaintext (len may exceed a TLS record; one
 * call returns at most one record's worth plus what is buffered). Runs the
 * handshake first if it is not complete. On 0, *readbytes >= 1. On any
 * other status *readbytes is 0: MEMTLS_WANT_READ (feed ciphertext),
 * MEMTLS_CLOSED (peer's close_notify: clean end of stream), MEMTLS_ERR_SSL
 * / MEMTLS_ERR_SYSCALL (fatal; after memtls_ctx_feed_eof() this is a
 * truncation, see memtls_ctx_truncated()), MEMTLS_ERR_INVALID (NULL
 * ctx/buf/readbytes, len == 0 or len > INT_MAX).
 */
MEMTLS_API int memtls_ctx_read(memtls_ctx *ctx, void *buf, size_t len,
                               size_t *readbytes) MEMTLS_WUR;

/*
 * Encrypt `len` bytes of plaintext into the write BIO. Memory BIOs never
 * push back, so on 0 *written == len (large buffers become several
 * records). Runs the handshake first if needed: before it completes this
 * returns MEMTLS_WANT_READ with *written = 0. Fatal statuses as
 * memtls_ctx_read(); MEMTLS_CLOSED after memtls_ctx_close() (nothing
 * sent); MEMTLS_ERR_INVALID for NULL ctx/written, NULL buf with len > 0,
 * or len > INT_MAX. len == 0 is a successful no-op.
 */
MEMTLS_API int memtls_ctx_write(memtls_ctx *ctx, const void *buf, size_t len,
                                size_t *written) MEMTLS_WUR;

/*
 * Send close_notify (queued in the write BIO: drain it). Returns 0 once
 * the alert is queued (first call) or already sent (later calls). Never
 * calls SSL_get_error after SSL_shutdown returned 0: that is progress.
 * Returns MEMTLS_ERR_SSL if the handshake has not completed or a fatal
 * error happened before (nothing is sent), MEMTLS_ERR_INVALID for NULL.
 */
MEMTLS_API int memtls_ctx_close(memtls_ctx *ctx) MEMTLS_WUR;

/*
 * Ask for a TLS 1.3 KeyUpdate. `update_requested`: 1 asks the peer to
 * update its keys as well. The message is written to the write BIO at the
 * next memtls_ctx_write(), memtls_ctx_handshake() or memtls_ctx_close()
 * call. (Conversely, a KeyUpdate the peer sends with update_requested is
 * answered inside the memtls_ctx_read() that receives it, so a side that
 * only reads still updates its keys: drain after reads.) Returns 0,
 * MEMTLS_ERR_SSL (not TLS 1.3, handshake incomplete), or
 * MEMTLS_ERR_INVALID.
 */
MEMTLS_API int memtls_ctx_key_update(memtls_ctx *ctx, int update_requested) MEMTLS_WUR;

/*
 * Hold back replies to the peer's KeyUpdate(update_requested) (hold = 1),
 * or send the one that waited (hold = 0, into the write BIO during this
 * call: drain after it). While held, memtls_ctx_read() does not answer a
 * request; OpenSSL keeps a single reply pending however many requests
 * arrive (RFC 8446 section 4.6.3 lets a side that has not written answer
 * them all with one), and a memtls_ctx_write() sends it first. For a
 * caller whose transport is not taking output: a peer that requests
 * updates without reading cannot make it queue one reply per request.
 * Off by default. Returns 0 (also for the plaintext twin, where there is
 * nothing to hold) or MEMTLS_ERR_INVALID for NULL.
 */
MEMTLS_API int memtls_ctx_hold_key_update_replies(memtls_ctx *ctx, int hold);

/*
 * Give back the memory an idle connection does not need: OpenSSL's record
 * buffers (it allocates them again for the next record) and the storage
 * of the two memory BIOs (which otherwise keeps its largest size). Does
 * nothing while bytes wait in either BIO, in the SSL object, or during
 * the handshake, nor once the SSL object was taken (memtls_ctx_ssl: the
 * caller may hold its BIOs); costs a few allocations when traffic
 * resumes, so call it for connections that have been quiet for a while,
 * not after every exchange. Returns 0, or MEMTLS_ERR_INVALID for NULL.
 */
MEMTLS_API int memtls_ctx_release_buffers(memtls_ctx *ctx);

/* KeyUpdate messages received from the peer so far (TLS 1.3; 0 for the
 * twin or NULL). OpenSSL 3.0 sets no limit; memtls_session enforces one
 * (memtls_session_limits.key_updates). */
MEMTLS_API uint64_t memtls_ctx_key_updates_received(const memtls_ctx *ctx);

/* --- state and peer information ---------------------------------------- */

/* 1 once the handshake completed (at once for the plaintext twin). */
MEMTLS_API int memtls_ctx_handshake_done(const memtls_ctx *ctx);

/* 1 once the peer's close_notify was received (twin: EOF read). */
MEMTLS_API int memtls_ctx_peer_closed(const memtls_ctx *ctx);

/* 1 if a read failed because the stream ended without close_notify. */
MEMTLS_API int memtls_ctx_truncated(const memtls_ctx *ctx);

/*
 * 1 if the peer presented a certificate that verified against the
 * configured CAs (and host name, for clients). 0 otherwise, including no
 * certificate and the plaintext twin.
 */
MEMTLS_API int memtls_ctx_peer_verified(const memtls_ctx *ctx);

/*
 * Why the peer's certificate did not verify, as text
 * ("certificate has expired", "Hostname mismatch", "peer did not return a
 * certificate", ...), or "ok" when it did, or "no peer certificate". The
 * string lives as long as the context. (The raw X509_V_* code is
 * memtls_ctx_verify_result() in memtls/openssl.h.)
 */
MEMTLS_API const char *memtls_ctx_verify_error(const memtls_ctx *ctx);

/*
 * The first fatal error of this context as text, with the OpenSSL reason
 * when there was one (for example "MEMTLS_ERR_SSL: error:0A000086:SSL
 * routines::certificate verify failed (unable to get local issuer
 * certificate)"). Empty string when no fatal error happened.
 */
MEMTLS_API const char *memtls_ctx_error(const memtls_ctx *ctx);

/* Negotiated protocol ("TLSv1.3"), cipher name, or "" before/without. */
MEMTLS_API const char *memtls_ctx_protocol(const memtls_ctx *ctx);
MEMTLS_API const char *memtls_ctx_cipher(const memtls_ctx *ctx);

/* 1 when the completed handshake resumed an earlier session (a TLS 1.3
 * ticket or PSK, a TLS 1.2 session ticket or id); 0 for a full
 * handshake, before the handshake completed, for the plaintext twin and
 * for NULL. */
MEMTLS_API int memtls_ctx_resumed(const memtls_ctx *ctx);

/* Negotiated ALPN protocol as a NUL-terminated copy, "" if none. */
MEMTLS_API const char *memtls_ctx_alpn(const memtls_ctx *ctx);

/* Server: the SNI host name the client sent, "" if none. Client: "". */
MEMTLS_API const char *memtls_ctx_sni(const memtls_ctx *ctx);

/*
 * Server: which certificate/key pair of the configuration answered the
 * handshake, as its index in load order (0 is the first: see SEVERAL
 * CERTIFICATES in config.h), or -1 when none was sent: before the
 * handshake completed, on a resumed handshake (the session was
 * authenticated earlier), for a client or the plaintext twin.
 */
MEMTLS_API int memtls_ctx_cert_index(const memtls_ctx *ctx);

/* The subject (RFC 2253) of that certificate, "" when the index is -1.
 * Lives as long as the context. */
MEMTLS_API const char *memtls_ctx_cert_subject(const memtls_ctx *ctx);

/*
 * The peer's leaf certificate, DER-encoded, copied into `buf`. *outlen is
 * the full DER size (so a call with len 0 sizes the buffer). Returns 0,
 * MEMTLS_ERR_NO_PEER_CERT, MEMTLS_ERR_INVALID, or MEMTLS_ERR_TOO_SMALL
 * when len < *outlen (nothing copied).
 */
MEMTLS_API int memtls_ctx_peer_cert_der(const memtls_ctx *ctx, uint8_t *buf, size_t len,
                                        size_t *outlen) MEMTLS_WUR;

/*
 * The peer's subject as a one-line RFC 2253 string ("CN=client,O=Test"),
 * or "" when there is no peer certificate. Lives as long as the context.
 */
MEMTLS_API const char *memtls_ctx_peer_subject(const memtls_ctx *ctx);

/*
 * The first CN of the peer certificate's subject, NUL-terminated in
 * `buf` (UTF-8). Returns 0, MEMTLS_ERR_NO_PEER_CERT (no certificate, or
 * one without a CN), MEMTLS_ERR_TOO_SMALL (len too small: nothing useful
 * in buf) or MEMTLS_ERR_INVALID.
 */
MEMTLS_API int memtls_ctx_peer_cn(const memtls_ctx *ctx, char *buf, size_t len) MEMTLS_WUR;

/*
 * The peer's subject alternative names, comma separated with their types
 * ("DNS:localhost, IP:127.0.0.1, email:a@b"), or "" when none.
 */
MEMTLS_API const char *memtls_ctx_peer_sans(const memtls_ctx *ctx);

/*
 * 1 if the peer certificate names `name`: a DNS SAN (wildcards per RFC
 * 6125), an IP SAN when `name` is an IP literal, or, only when the
 * certificate has no DNS SAN, the subject CN. 0 otherwise.
 */
MEMTLS_API int memtls_ctx_peer_has_name(const memtls_ctx *ctx, const char *name);

/*
 * Human-readable text for `status` as returned by any memtls call: its
 * name and meaning, plus, when `ctx` is given and recorded one, the
 * OpenSSL reason or verify reason. Writes a NUL-terminated string of at
 * most len - 1 bytes into buf and returns buf. buf must not be NULL and
 * len must be at least 1; otherwise returns "" (a static string).
 */
MEMTLS_API const char *memtls_ctx_status_text(const memtls_ctx *ctx, int status, char *buf,
                                              size_t len);

#ifdef __cplusplus
}
#endif
#endif
