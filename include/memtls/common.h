/*
 * memtls/common.h - the status vocabulary, roles and attributes shared by
 * every memtls header.
 *
 * STATUS VALUES. Every memtls call that can fail returns an int status.
 * No call returns a negative number. The six outcomes of an operation have
 * the same values as OpenSSL's SSL_ERROR_* codes (checked at build time),
 * so a context operation returns exactly what SSL_get_error() said, and
 * code written against OpenSSL's numbers keeps working; memtls' own error
 * codes (MEMTLS_ERR_* from 0x1001 up) can never collide with them. Each
 * outcome has one spelling across the context, the session, the ring and
 * the server:
 *
 *   MEMTLS_OK          0  done (byte counts in the out-parameters)
 *   MEMTLS_ERR_SSL     1  fatal TLS protocol or library failure
 *   MEMTLS_WANT_READ   2  needs input first: feed the peer's ciphertext,
 *                         or there is nothing to read yet
 *   MEMTLS_WANT_WRITE  3  the destination is full: retry once it drained
 *   MEMTLS_ERR_SYSCALL 5  the transport failed, or ended without
 *                         close_notify (a truncation)
 *   MEMTLS_CLOSED      6  the stream is finished: for reads, the peer
 *                         closed cleanly (close_notify; plaintext: EOF);
 *                         for writes and feeds, this side is closing or
 *                         closed and nothing was taken
 *
 * STATUS TABLE: what each call returns besides MEMTLS_OK. Every call also
 * returns MEMTLS_ERR_INVALID for NULL or malformed arguments and calls in
 * the wrong state (nothing changed); "fatal" is MEMTLS_ERR_SSL or
 * MEMTLS_ERR_SYSCALL, after which memtls_ctx_error() says why. A byte
 * count is only ever reported through an out-parameter, which is 0 on any
 * status other than MEMTLS_OK.
 *
 *   context (context.h)
 *     memtls_ctx_handshake    WANT_READ; fatal; MEMTLS_ERR_X509_VERIFY
 *     memtls_ctx_read         WANT_READ; CLOSED (peer's close_notify); fatal
 *     memtls_ctx_write        WANT_READ (handshake still running); CLOSED
 *                             (after memtls_ctx_close); fatal
 *     memtls_ctx_close        MEMTLS_ERR_SSL (handshake incomplete, or an
 *                             earlier failure)
 *     memtls_ctx_key_update   MEMTLS_ERR_SSL (not TLS 1.3, not ready)
 *     memtls_ctx_feed         MEMTLS_ERR_NOMEM
 *     memtls_ctx_drain, memtls_ctx_feed_eof: nothing else
 *     memtls_ctx_set_hostname MEMTLS_ERR_NOMEM
 *     memtls_ctx_peer_cert_der MEMTLS_ERR_NO_PEER_CERT, MEMTLS_ERR_TOO_SMALL
 *   session (session.h)
 *     memtls_session_feed     WANT_WRITE (its inbound buffer is over its
 *                             limit: keep the bytes, feed them after
 *                             on_input_paused(0)); CLOSED (discarded)
 *     memtls_session_write    WANT_WRITE (the queue is full: on_writable
 *                             follows); CLOSED
 *     memtls_session_read, memtls_session_read_exact:
 *                             WANT_READ (nothing, or too little, buffered);
 *                             CLOSED (no more bytes will come:
 *                             memtls_session_state() says how it ended)
 *     memtls_session_start    MEMTLS_ERR_X509_VERIFY or CLOSED when the
 *                             session failed at once (on_state said so)
 *     memtls_session_key_update MEMTLS_ERR_SSL (not TLS 1.3, not ready)
 *     memtls_session_feed_eof, _flush, _close, _shutdown_write: nothing else
 *   ring (ring.h)
 *     memtls_ring_try_write   WANT_WRITE (full now); MEMTLS_ERR_TOO_BIG
 *   server (server.h)
 *     memtls_server_new       NULL with a message
 *     memtls_server_start     MEMTLS_ERR_NOMEM (no thread)
 *     memtls_server_conn_write WANT_WRITE (on_writable follows); CLOSED
 *   configuration (config.h): MEMTLS_ERR_CONFIG, MEMTLS_ERR_NOMEM, with
 *     memtls_config_error() naming the file and the problem
 *   PROXY protocol (proxy.h)
 *     memtls_proxy_parse      WANT_READ (a valid beginning: give more
 *                             bytes); MEMTLS_ERR_PROXY
 *     memtls_proxy_build      MEMTLS_ERR_TOO_SMALL
 *   test PKI (pki.h): MEMTLS_ERR_CONFIG, MEMTLS_ERR_NOMEM, with a message
 *
 * Memory BIOs never refuse bytes, so a context operation does not return
 * MEMTLS_WANT_WRITE; OpenSSL's other SSL_ERROR_* values (X509 lookup,
 * async, connect/accept BIOs, client-hello callbacks) need features memtls
 * does not enable, and would be passed through unchanged.
 */
#ifndef MEMTLS_COMMON_H
#define MEMTLS_COMMON_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * MEMTLS_WUR marks calls whose status the caller must act on (it can say
 * "not now", "closed" or "failed" for reasons other than misuse). Calls
 * that can fail only on NULL arguments or a call in the wrong state, or
 * whose failure is also reported through the session's on_state, do not
 * carry it.
 */
#if defined(__GNUC__) || defined(__clang__)
#define MEMTLS_WUR __attribute__((warn_unused_result))
#define MEMTLS_API __attribute__((visibility("default")))
#else
#define MEMTLS_WUR
#define MEMTLS_API
#endif

/* The outcomes; values equal OpenSSL's SSL_ERROR_NONE, _SSL, _WANT_READ,
 * _WANT_WRITE, _SYSCALL and _ZERO_RETURN. Meanings in the table above. */
#define MEMTLS_OK 0
#define MEMTLS_ERR_SSL 1
#define MEMTLS_WANT_READ 2
#define MEMTLS_WANT_WRITE 3
#define MEMTLS_ERR_SYSCALL 5
#define MEMTLS_CLOSED 6

/*
 * Handshake failed because the peer's certificate did not verify (unknown
 * CA, expired, wrong host name, ...) or a required client certificate
 * never came. OpenSSL reports these as SSL_ERROR_SSL; memtls_ctx_handshake()
 * reports them as this value so callers can treat them as authentication
 * failures (memtls_ctx_verify_error() says why). Only the handshake (and
 * memtls_session_start) return it.
 */
#define MEMTLS_ERR_X509_VERIFY 0x1001

/* An argument was invalid (NULL, zero or oversized length, wrong role or
 * state for the call). Nothing was changed. */
#define MEMTLS_ERR_INVALID 0x1002

/* Memory allocation failed. Nothing was changed. */
#define MEMTLS_ERR_NOMEM 0x1003

/* Loading configuration failed (file missing, not PEM, key mismatch, ...);
 * memtls_config_error() names the file and the problem. */
#define MEMTLS_ERR_CONFIG 0x1004

/* The peer presented no certificate. */
#define MEMTLS_ERR_NO_PEER_CERT 0x1005

/* The caller's buffer is too small; the needed size was reported. */
#define MEMTLS_ERR_TOO_SMALL 0x1006

/* 0x1007 and 0x1008 were MEMTLS_ERR_WOULD_BLOCK and MEMTLS_ERR_CLOSED
 * before 1.0 (now MEMTLS_WANT_READ / MEMTLS_WANT_WRITE and MEMTLS_CLOSED);
 * they are not reused. */

/* A message does not fit a ring buffer's limit, even when empty. */
#define MEMTLS_ERR_TOO_BIG 0x1009

/* Not a PROXY protocol header, or a malformed or oversized one
 * (memtls/proxy.h; the parsed header's `error` says why). */
#define MEMTLS_ERR_PROXY 0x100A

typedef enum memtls_role { MEMTLS_ROLE_CLIENT = 0, MEMTLS_ROLE_SERVER = 1 } memtls_role;

/*
 * The symbolic name of a status ("MEMTLS_WANT_READ", "MEMTLS_ERR_INVALID",
 * "MEMTLS_OK"); OpenSSL's name for its other SSL_ERROR_* values;
 * "UNKNOWN_STATUS" for anything else. Static string. For text with the
 * reason of a context's failure see memtls_ctx_status_text().
 */
MEMTLS_API const char *memtls_status_name(int status);

#ifdef __cplusplus
}
#endif
#endif
