/*
 * memtls/session.h - a TLS (or plaintext) session: a state machine over
 * one memtls_ctx that delivers every byte, in order, exactly once.
 *
 *             handshake ok          close() or            flushed
 *   HANDSHAKE --------------> READY ----------------> CLOSING ---------> CLOSED
 *     |    |                    |    peer close_notify
 *     |    | verify failed      | protocol error,
 *     |    `------> AUTHFAIL    | truncation
 *     |                         v
 *     `------------------->   ERROR
 *     (close() during the handshake: straight to CLOSED, reason ABORTED)
 *
 * Every change is reported once through on_state with a reason.
 * AUTHFAIL, ERROR and CLOSED are terminal.
 *
 * Statuses are common.h's (its table lists what each call returns):
 * MEMTLS_WANT_WRITE says "full, retry after the callback", MEMTLS_WANT_READ
 * "nothing to read yet", MEMTLS_CLOSED "this direction is over".
 *
 * Bytes flow like this:
 *
 *   transport --ciphertext--> memtls_session_feed()  -> ctx -> plaintext
 *       -> on_data (push) or the bounded input buffer (memtls_session_read)
 *   app --plaintext--> memtls_session_write() -> bounded output queue
 *       -> ctx -> ciphertext -> cbs.send() -> transport
 *
 * THE DRAIN RULE. After every context call (handshake, read, write, close)
 * the session moves all outbound ciphertext from the context to the
 * transport. TLS 1.3 produces ciphertext while reading (NewSessionTicket,
 * KeyUpdate replies) and OpenSSL writes an alert on fatal errors; none of
 * it is ever stranded.
 *
 * BACKPRESSURE. The transport's send() may accept fewer bytes than offered
 * (its ring buffer is full). The rest stays in the session's pending_out,
 * in order, and is offered again on every later call and on
 * memtls_session_flush() ("the transport has room again"). Nothing is
 * dropped, duplicated or reordered. While pending ciphertext is above
 * limits.ciphertext_out, queued plaintext is not encrypted; when the
 * output queue is full, memtls_session_write() accepts what fits and says
 * MEMTLS_WANT_WRITE when nothing fits, and on_writable fires once
 * room returns. Inbound processing never waits for outbound room: reads
 * continue while writes are paused, which is what keeps both directions
 * from deadlocking.
 *
 * MEMORY. Per session, at most (limits below, defaults in brackets):
 *   plaintext_in   [64 KiB]  decrypted bytes waiting for memtls_session_read
 *   plaintext_out  [256 KiB] application bytes waiting to be encrypted
 *   ciphertext_out [256 KiB] encrypted bytes refused by the transport
 *   ciphertext_in  [256 KiB] received ciphertext not yet decrypted
 * plaintext_in and ciphertext_out may be exceeded by one TLS record
 * (16 KiB + overhead) or one handshake flight / alert, ciphertext_in by the
 * bytes of one memtls_session_feed() call (it refuses only once the limit
 * is reached), plaintext_out never; plus OpenSSL's own per-connection state
 * (~30-60 KiB). A session that ends frees its output queue at once.
 *
 * THREADS. A session is used from one thread only (the thread that created
 * it); debug builds (NDEBUG not defined) assert it. Callbacks run on that
 * thread, inside the session call that caused them. A callback may call
 * memtls_session_write/read/close/shutdown_write on the same session (the
 * session re-runs its loop after the callback returns) but must not call
 * memtls_session_free.
 */
#ifndef MEMTLS_SESSION_H
#define MEMTLS_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include <memtls/common.h>
#include <memtls/context.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct memtls_session memtls_session;

typedef enum memtls_state {
    MEMTLS_STATE_HANDSHAKE = 0,
    MEMTLS_STATE_READY = 1,
    MEMTLS_STATE_CLOSING = 2,
    MEMTLS_STATE_CLOSED = 3,
    MEMTLS_STATE_AUTHFAIL = 4,
    MEMTLS_STATE_ERROR = 5
} memtls_state;

typedef enum memtls_reason {
    MEMTLS_REASON_NONE = 0,
    MEMTLS_REASON_HANDSHAKE_DONE = 1, /* handshake -> ready */
    MEMTLS_REASON_LOCAL_CLOSE = 2,    /* memtls_session_close(): -> closing,
                                         and closing -> closed once flushed */
    MEMTLS_REASON_PEER_CLOSED = 3,    /* peer's close_notify (plaintext: EOF):
                                         -> closing, -> closed once flushed */
    MEMTLS_REASON_TRUNCATED = 4,      /* transport EOF without close_notify
                                         (or mid-handshake): -> error */
    MEMTLS_REASON_AUTH_FAILED = 5,    /* peer certificate rejected or missing:
                                         -> authfail; detail has the reason */
    MEMTLS_REASON_PROTOCOL_ERROR = 6, /* TLS failure: -> error; detail has the
                                         OpenSSL reason */
    MEMTLS_REASON_ABORTED = 7,        /* closed during the handshake: nothing
                                         to flush, -> closed */
    MEMTLS_REASON_INPUT_OVERFLOW = 8  /* internal limit exceeded: -> error */
} memtls_reason;

/* Callbacks. `arg` is passed back to each. Only `send` is required. */
typedef struct memtls_session_cbs {
    void *arg;
    /*
     * Hand outbound ciphertext to the transport. Return how many bytes it
     * took (0..len): the transport copies them; the rest is offered again
     * later, starting where this call stopped. Must not call back into the
     * session.
     */
    size_t (*send)(void *arg, const uint8_t *data, size_t len);
    /*
     * Optional, zero copy (both or neither): a transport that can lend its
     * own memory. send_reserve returns room for at most *len bytes and
     * sets *len to its size (at least 1), or NULL when it takes nothing
     * now; the session writes ciphertext straight into it and then calls
     * send_commit with how much it wrote (possibly 0: the room is given
     * back). Used while nothing older waits in pending_out; `send` covers
     * everything else. Neither may call back into the session.
     */
    uint8_t *(*send_reserve)(void *arg, size_t *len);
    void (*send_commit)(void *arg, size_t len);
    /*
     * Push mode: every plaintext byte is handed here as soon as it is
     * decrypted (the input buffer and memtls_session_read are then
     * unused). `data` is valid during the call only.
     */
    void (*on_data)(void *arg, const uint8_t *data, size_t len);
    /* Pull mode (on_data NULL): plaintext is waiting to be read. */
    void (*on_readable)(void *arg);
    /* memtls_session_write said MEMTLS_WANT_WRITE (or accepted less than given)
     * and there is room again. Never called from inside
     * memtls_session_write itself: a write that makes room while it runs
     * takes it, so a caller may safely mark itself blocked after the call. */
    void (*on_writable)(void *arg);
    /*
     * Inbound ciphertext buffered in the session crossed its limit
     * (paused = 1: stop feeding memtls_session_feed, e.g. stop reading the
     * socket) or fell back below half of it (paused = 0: resume).
     */
    void (*on_input_paused)(void *arg, int paused);
    /* Every state change, with the reason and a human-readable detail
     * (verify reason, OpenSSL reason, or a fixed phrase). */
    void (*on_state)(void *arg, memtls_state from, memtls_state to, memtls_reason why,
                     const char *detail);
    /* A failed handshake, as one line of text, before on_state. */
    void (*on_handshake_error)(void *arg, const char *text);
    /*
     * Half-close aware applications (a proxy whose client sends
     * close_notify before the backend has answered; TLS 1.3 allows it):
     * when set, the peer's close_notify (plaintext: EOF) does not close the
     * session. The session stops reading (reads then return
     * MEMTLS_CLOSED, later inbound bytes are discarded), calls this,
     * and stays READY for writes until the application calls
     * memtls_session_close(), which ends in CLOSED with
     * MEMTLS_REASON_PEER_CLOSED. When NULL (the default), the peer's
     * close_notify closes the session: queued writes are flushed, our
     * close_notify follows, CLOSED. After memtls_session_shutdown_write()
     * the peer's close_notify always completes the close.
     */
    void (*on_peer_close)(void *arg);
} memtls_session_cbs;

/* Per-session bounds; 0 in a field means its default (see MEMORY above). */
typedef struct memtls_session_limits {
    size_t plaintext_in;
    size_t plaintext_out;
    size_t ciphertext_out;
    size_t ciphertext_in;
    /* KeyUpdate messages the peer may send: this many, plus one per MiB of
     * ciphertext it sent. One more ends the session (ERROR,
     * MEMTLS_REASON_PROTOCOL_ERROR, "too many KeyUpdate messages..."). */
    size_t key_updates;
} memtls_session_limits;

#define MEMTLS_SESSION_DEFAULT_PLAINTEXT_IN (64u * 1024)
#define MEMTLS_SESSION_DEFAULT_PLAINTEXT_OUT (256u * 1024)
#define MEMTLS_SESSION_DEFAULT_CIPHERTEXT_OUT (256u * 1024)
#define MEMTLS_SESSION_DEFAULT_CIPHERTEXT_IN (256u * 1024)
#define MEMTLS_SESSION_DEFAULT_KEY_UPDATES 32u

/*
 * A session over `ctx`, which it takes over (freed with the session, also
 * when this call fails). `cbs` is copied; cbs->send must be set. `limits`
 * may be NULL for the defaults. Nothing happens until
 * memtls_session_start(). Returns NULL on bad arguments or out of memory.
 */
MEMTLS_API memtls_session *memtls_session_new(memtls_ctx *ctx, const memtls_session_cbs *cbs,
                                              const memtls_session_limits *limits) MEMTLS_WUR;

/* Free the session and its context. Sends nothing: call
 * memtls_session_close() first for a graceful end. NULL is a no-op. */
MEMTLS_API void memtls_session_free(memtls_session *s);

/*
 * Start: a client sends its ClientHello; a plaintext session becomes READY
 * at once. Returns 0, or MEMTLS_ERR_INVALID when already started, or, when
 * the session failed at once (on_state has said how),
 * MEMTLS_ERR_X509_VERIFY (AUTHFAIL) or MEMTLS_CLOSED (ERROR).
 */
MEMTLS_API int memtls_session_start(memtls_session *s);

/*
 * Inbound ciphertext from the transport: buffered, then the handshake is
 * advanced, plaintext decrypted (into on_data or the input buffer) and
 * queued writes encrypted. Returns 0 (all `len` bytes taken);
 * MEMTLS_WANT_WRITE when the inbound buffer is over its limit
 * (nothing taken: hold the bytes, wait for on_input_paused(0));
 * MEMTLS_CLOSED when the session is closing or finished (the bytes
 * are discarded, as they must be after close); MEMTLS_ERR_INVALID.
 * A session that fails during this call reports it through on_state and
 * returns 0 (the bytes were taken); memtls_session_state() tells.
 */
MEMTLS_API int memtls_session_feed(memtls_session *s, const void *data, size_t len) MEMTLS_WUR;

/*
 * The transport reached end of stream. TLS: if the peer's close_notify was
 * not seen, the session ends in ERROR with MEMTLS_REASON_TRUNCATED
 * (after delivering what was received). Plaintext: a clean peer close.
 * Returns 0 or MEMTLS_ERR_INVALID.
 */
MEMTLS_API int memtls_session_feed_eof(memtls_session *s);

/*
 * Pull mode: copy up to `len` bytes of plaintext. Returns 0 with
 * *readbytes >= 1; MEMTLS_WANT_READ when nothing is buffered yet;
 * MEMTLS_CLOSED once no byte will ever come (every byte was read and the
 * peer closed, or the session ended otherwise: memtls_session_state() and
 * memtls_session_reason() say which);
 * MEMTLS_ERR_INVALID. *readbytes is 0 on any non-zero status.
 */
MEMTLS_API int memtls_session_read(memtls_session *s, void *buf, size_t len,
                                   size_t *readbytes) MEMTLS_WUR;

/*
 * Pull mode, exact: copy exactly `len` bytes or nothing. Returns 0 when
 * all `len` bytes were copied, MEMTLS_WANT_READ when fewer are buffered
 * (nothing consumed), MEMTLS_CLOSED when they
 * can never arrive, MEMTLS_ERR_INVALID when len is 0 or larger than the
 * input buffer limit.
 */
MEMTLS_API int memtls_session_read_exact(memtls_session *s, void *buf, size_t len) MEMTLS_WUR;

/* Plaintext bytes buffered for memtls_session_read. */
MEMTLS_API size_t memtls_session_readable(const memtls_session *s);

/*
 * Queue plaintext for encryption (also during the handshake: it is sent
 * once the handshake completes). Takes as much as the output queue has room
 * for: returns 0 with *accepted in 1..len (or 0 for len 0); when nothing
 * fits returns MEMTLS_WANT_WRITE with *accepted = 0 and on_writable
 * fires later. MEMTLS_CLOSED after close/shutdown_write or in a
 * terminal state; MEMTLS_ERR_INVALID for bad arguments.
 */
MEMTLS_API int memtls_session_write(memtls_session *s, const void *data, size_t len,
                                    size_t *accepted) MEMTLS_WUR;

/*
 * The transport has room again: offer pending ciphertext, then encrypt
 * queued plaintext. Returns 0 or MEMTLS_ERR_INVALID.
 */
MEMTLS_API int memtls_session_flush(memtls_session *s);

/*
 * Graceful close: queued plaintext is encrypted and sent, then
 * close_notify; the session is CLOSED once all of it was taken by the
 * transport. Inbound bytes are discarded from now on. During the handshake
 * the session closes at once (MEMTLS_REASON_ABORTED). Returns 0
 * (also when already closing/closed) or MEMTLS_ERR_INVALID.
 */
MEMTLS_API int memtls_session_close(memtls_session *s);

/*
 * Half close: like close for the write side (queued data, then
 * close_notify), but the session keeps reading until the peer closes too,
 * then becomes CLOSED (MEMTLS_REASON_PEER_CLOSED). Writes are refused from
 * now on. Returns 0 or MEMTLS_ERR_INVALID (also during the handshake).
 */
MEMTLS_API int memtls_session_shutdown_write(memtls_session *s);

/*
 * Ask for a TLS 1.3 KeyUpdate (update_requested: the peer updates too),
 * sent at once. Returns 0, MEMTLS_ERR_SSL (not TLS 1.3 / not ready) or
 * MEMTLS_ERR_INVALID.
 */
MEMTLS_API int memtls_session_key_update(memtls_session *s, int update_requested) MEMTLS_WUR;

/*
 * Give back the memory an idle session does not need: its empty queues'
 * storage and the context's buffers (memtls_ctx_release_buffers). A
 * server calls it for connections that have been quiet for a while
 * (memtls_server does, after about a second, and once right after the
 * handshake: see docs/runtime.md): a busy connection would only allocate
 * it all again. Bytes that wait keep their buffers. Returns 0, or
 * MEMTLS_ERR_INVALID for NULL.
 */
MEMTLS_API int memtls_session_release_buffers(memtls_session *s);

/* State, the reason of the last change, and the first failure as text
 * ("" when none). The text lives as long as the session. */
MEMTLS_API memtls_state memtls_session_state(const memtls_session *s);
MEMTLS_API memtls_reason memtls_session_reason(const memtls_session *s);
MEMTLS_API const char *memtls_session_error(const memtls_session *s);

/* Names for logs: "handshake", "ready", ...; "closed cleanly", ... */
MEMTLS_API const char *memtls_state_name(memtls_state st);
MEMTLS_API const char *memtls_reason_name(memtls_reason why);

/* The context, for peer information (owned by the session). */
MEMTLS_API memtls_ctx *memtls_session_ctx(memtls_session *s);

/* Ciphertext refused by the transport and still held (pending_out). */
MEMTLS_API size_t memtls_session_pending_out(const memtls_session *s);
/* Plaintext queued by memtls_session_write, not yet encrypted. */
MEMTLS_API size_t memtls_session_queued_out(const memtls_session *s);
/* 1 while inbound is paused (see on_input_paused). */
MEMTLS_API int memtls_session_input_paused(const memtls_session *s);

/*
 * What the session waits for, after any call: the answer to "which event
 * lets it make progress?" for an event loop that must decide what to watch
 * (after the idea of s2n's s2n_blocked_status, with the direction spelled
 * out). A set of bits, because a session can wait for several parties at
 * once (a reader that stopped reading and a transport that is full):
 *
 *   MEMTLS_BLOCKED_ON_PEER         reading is open and the inbound buffer
 *                                  has room: bytes from the peer are
 *                                  wanted (keep reading the socket)
 *   MEMTLS_BLOCKED_ON_TRANSPORT    ciphertext waits for the transport
 *                                  (memtls_session_pending_out() > 0):
 *                                  call memtls_session_flush() once it has
 *                                  room; queued writes wait behind it
 *   MEMTLS_BLOCKED_ON_APPLICATION  pull mode: the input buffer is full, so
 *                                  nothing more is decrypted until the
 *                                  application calls memtls_session_read()
 *
 * 0 means nothing can happen any more: the session has ended (or the peer
 * closed its side) and every byte went out. Before memtls_session_start()
 * a client is not blocked on anything (0); a server already wants its
 * peer's first bytes.
 */
typedef enum memtls_blocked {
    MEMTLS_BLOCKED_ON_PEER = 1,
    MEMTLS_BLOCKED_ON_TRANSPORT = 2,
    MEMTLS_BLOCKED_ON_APPLICATION = 4
} memtls_blocked;
MEMTLS_API unsigned memtls_session_blocked(const memtls_session *s);

/* Byte counters: plaintext delivered to / accepted from the application,
 * ciphertext received from / handed to the transport, inbound bytes
 * discarded after close. */
typedef struct memtls_session_stats {
    uint64_t plaintext_in;
    uint64_t plaintext_out;
    uint64_t ciphertext_in;
    uint64_t ciphertext_out;
    uint64_t discarded_in;
} memtls_session_stats;
MEMTLS_API void memtls_session_get_stats(const memtls_session *s, memtls_session_stats *out);

#ifdef __cplusplus
}
#endif
#endif
