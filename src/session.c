/*
 * session.c - the session state machine; see include/memtls/session.h.
 *
 * IMPLEMENTATION NOTES
 *
 * Everything happens in one loop, pump(), run after every public call:
 *
 *   1. offer pending_out (ciphertext the transport refused) again;
 *   2. HANDSHAKE: memtls_ctx_handshake(), drain;
 *   3. READY: read plaintext while there is room (drain after each read:
 *      TLS 1.3 tickets and KeyUpdate replies come out of reads), then
 *      encrypt queued plaintext while pending ciphertext is under its
 *      limit (drain after each write), then close if asked (drain);
 *   4. CLOSING: once close_notify and everything before it has been taken
 *      by the transport, CLOSED.
 *
 * drain() is the only way ciphertext leaves the context, and every context
 * call is followed by it. Ciphertext goes straight to the transport while
 * nothing older is waiting; otherwise it is appended to pending_out so the
 * byte order on the wire is the order OpenSSL produced.
 *
 * Callbacks may call back into the session (an echo application writes
 * from on_data). pump() is guarded: a nested call only marks the loop to
 * run again, so the context is never entered twice and nothing is
 * reordered.
 */
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memtls/session.h>

#include "bytebuf.h"
#include "errbuf.h"

/* Largest plaintext handed to one memtls_ctx_write: four records; and
 * the smallest, one. */
#define WRITE_CHUNK (64u * 1024)
#define MIN_WRITE (16u * 1024)
/* Inbound ciphertext handed to the context per step of a feed: one
 * record of the largest size (header, 2^14 + 256 bytes). */
#define FEED_SLICE (5u + 16384u + 256u)
/* Stack buffer for drains and push-mode reads: one record and change. */
#define IO_CHUNK (17u * 1024)

struct memtls_session {
    memtls_ctx *ctx;
    memtls_session_cbs cbs;
    memtls_session_limits lim;
    memtls_state state;
    memtls_reason reason;
    memtls_reason close_reason;
    char *error; /* the first failure as text (NULL: none) */

    int started;
    int close_requested; /* full close: flush, close_notify, CLOSED */
    int shutdown_write;  /* half close: flush, close_notify, keep reading */
    int write_closed;    /* close_notify handed to the context */
    int eof;             /* transport EOF seen */
    int read_closed;     /* peer closed, session kept open (on_peer_close) */
    int in_pump;
    int pump_again;
    int want_writable;
    int in_write; /* inside memtls_session_write: on_writable held back */
    int input_paused;
    int ku_held; /* KeyUpdate replies held while the transport refuses */
    /* Something that lets reading make progress happened since the read
     * loop last ran (input arrived, plaintext was taken, output drained,
     * the handshake completed): see do_reads. */
    int reads_wanted;

    memtls__bytebuf pending_out; /* ciphertext refused by the transport */
    memtls__bytebuf plain_in;    /* pull mode: decrypted, not yet read */
    memtls__bytebuf plain_out;   /* queued application writes */

    memtls_session_stats stats;
#ifndef NDEBUG
    pthread_t owner;
#endif
};

/* --- state ---------------------------------------------------------------- */

static void check_thread(const memtls_session *s)
{
#ifndef NDEBUG
    /* A session belongs to the thread that created it. */
    assert(pthread_equal(pthread_self(), s->owner));
#else
    (void)s;
#endif
}

static int terminal(memtls_state st)
{
    return st == MEMTLS_STATE_CLOSED || st == MEMTLS_STATE_AUTHFAIL || st == MEMTLS_STATE_ERROR;
}

/*
 * Reading stops for good (the session left HANDSHAKE/READY, or the peer
 * closed and the application keeps the session open). Ciphertext that
 * arrived but was never processed (the application had not read, a record
 * was incomplete) would stay in the read BIO until the session is freed:
 * discard it now, counted like every inbound byte after close. A transport
 * told to pause is released: from now on it may feed (and we discard).
 */
static void stop_reading(memtls_session *s)
{
    s->stats.discarded_in += memtls_ctx_discard_input(s->ctx);
    if (s->input_paused) {
        s->input_paused = 0;
        if (s->cbs.on_input_paused != NULL) {
            s->cbs.on_input_paused(s->cbs.arg, 0);
        }
    }
}

static void set_state(memtls_session *s, memtls_state to, memtls_reason why, const char *detail)
{
    memtls_state from = s->state;
    if (from == to || terminal(from)) {
        return;
    }
    s->state = to;
    s->reason = why;
    if ((from == MEMTLS_STATE_HANDSHAKE || from == MEMTLS_STATE_READY) &&
        to != MEMTLS_STATE_READY) {
        stop_reading(s);
    }
    if (terminal(to) && s->plain_out.len > 0) {
        /* Never to be sent (a failure, or a close during the handshake):
         * give the memory back now rather than at free. */
        memtls__bytebuf_free(&s->plain_out);
    }
    if ((to == MEMTLS_STATE_ERROR || to == MEMTLS_STATE_AUTHFAIL) && s->error == NULL) {
        s->error = strdup(detail ? detail : memtls_reason_name(why));
    }
    if (s->cbs.on_state != NULL) {
        s->cbs.on_state(s->cbs.arg, from, to, why,
                        detail != NULL ? detail : memtls_reason_name(why));
    }
}

static void fail(memtls_session *s, memtls_state to, memtls_reason why, const char *detail)
{
    set_state(s, to, why, detail);
}

/* The context failed with `rc` during `op`: classify and end the session. */
static void fail_ctx(memtls_session *s, int rc)
{
    const char *detail = memtls_ctx_error(s->ctx);
    if (detail[0] == '\0') {
        detail = memtls_status_name(rc);
    }
    if (rc == MEMTLS_ERR_NOMEM) {
        fail(s, MEMTLS_STATE_ERROR, MEMTLS_REASON_PROTOCOL_ERROR, "out of memory");
    } else if (memtls_ctx_truncated(s->ctx)) {
        fail(s, MEMTLS_STATE_ERROR, MEMTLS_REASON_TRUNCATED, detail);
    } else {
        fail(s, MEMTLS_STATE_ERROR, MEMTLS_REASON_PROTOCOL_ERROR, detail);
    }
}

/* --- ciphertext out --------------------------------------------------------- */

/* Offer refused ciphertext again. Returns 1 if pending_out is now empty. */
static int flush_pending(memtls_session *s)
{
    while (s->pending_out.len > 0) {
        size_t n =
            s->cbs.send(s->cbs.arg, memtls__bytebuf_head(&s->pending_out), s->pending_out.len);
        if (n > s->pending_out.len) {
            n = s->pending_out.len; /* a transport that over-reports */
        }
        if (n == 0) {
            return 0;
        }
        s->stats.ciphertext_out += n;
        memtls__bytebuf_consume(&s->pending_out, n);
        s->reads_wanted = 1; /* reading may have waited for output room */
    }
    return 1;
}

/* Move every byte of outbound ciphertext out of the context: to the
 * transport while nothing older waits, otherwise to pending_out. */
/* Zero copy: straight from the write BIO into the transport's memory.
 * Returns when the BIO is empty or the transport lends no more room. */
static void drain_direct(memtls_session *s)
{
    size_t avail;
    while (s->pending_out.len == 0 && (avail = memtls_ctx_pending_out(s->ctx)) > 0) {
        size_t len = avail;
        uint8_t *room = s->cbs.send_reserve(s->cbs.arg, &len);
        if (room == NULL || len == 0) {
            return;
        }
        size_t n = 0;
        (void)memtls_ctx_drain(s->ctx, room, len < avail ? len : avail, &n);
        s->cbs.send_commit(s->cbs.arg, n);
        s->stats.ciphertext_out += n;
        if (n == 0) {
            return;
        }
    }
}

static void drain(memtls_session *s)
{
    uint8_t buf[IO_CHUNK];
    if (s->cbs.send_reserve != NULL && s->cbs.send_commit != NULL) {
        drain_direct(s);
    }
    while (memtls_ctx_pending_out(s->ctx) > 0) {
        size_t n = 0;
        if (memtls_ctx_drain(s->ctx, buf, sizeof buf, &n) != 0 || n == 0) {
            break;
        }
        size_t off = 0;
        if (s->pending_out.len == 0) {
            off = s->cbs.send(s->cbs.arg, buf, n);
            if (off > n) {
                off = n;
            }
            s->stats.ciphertext_out += off;
        }
        if (off < n && memtls__bytebuf_append(&s->pending_out, buf + off, n - off) != 0) {
            /* Cannot hold the bytes: the stream is broken; say so. */
            fail(s, MEMTLS_STATE_ERROR, MEMTLS_REASON_PROTOCOL_ERROR,
                 "out of memory holding outbound ciphertext");
            return;
        }
    }
}

static size_t cipher_pending(const memtls_session *s)
{
    return s->pending_out.len + memtls_ctx_pending_out(s->ctx);
}

/* --- the loop ------------------------------------------------------------------ */

static void on_peer_closed(memtls_session *s)
{
    s->close_reason = MEMTLS_REASON_PEER_CLOSED;
    s->close_requested = 1;
    set_state(s, MEMTLS_STATE_CLOSING, MEMTLS_REASON_PEER_CLOSED,
              memtls_ctx_is_tls(s->ctx) ? "peer sent close_notify" : "peer closed the stream");
}

static void update_input_pause(memtls_session *s)
{
    size_t pending = memtls_ctx_pending_in(s->ctx);
    if (!s->input_paused && pending >= s->lim.ciphertext_in) {
        s->input_paused = 1;
        if (s->cbs.on_input_paused != NULL) {
            s->cbs.on_input_paused(s->cbs.arg, 1);
        }
    } else if (s->input_paused && pending < s->lim.ciphertext_in / 2) {
        s->input_paused = 0;
        if (s->cbs.on_input_paused != NULL) {
            s->cbs.on_input_paused(s->cbs.arg, 0);
        }
    }
}

static void do_handshake(memtls_session *s)
{
    int rc = memtls_ctx_handshake(s->ctx);
    drain(s);
    if (rc == 0) {
        set_state(s, MEMTLS_STATE_READY, MEMTLS_REASON_HANDSHAKE_DONE, "handshake complete");
        s->reads_wanted = 1;
        s->pump_again = 1;
        return;
    }
    if (rc == MEMTLS_WANT_READ || rc == MEMTLS_WANT_WRITE) {
        if (s->eof && memtls_ctx_pending_in(s->ctx) == 0) {
            static const char text[] = "transport closed during the handshake";
            if (s->cbs.on_handshake_error != NULL) {
                s->cbs.on_handshake_error(s->cbs.arg, text);
            }
            fail(s, MEMTLS_STATE_ERROR, MEMTLS_REASON_TRUNCATED, text);
        }
        return;
    }
    char text[MEMTLS__ERROR_MAX];
    int truncated = s->eof && (memtls_ctx_truncated(s->ctx) || rc == MEMTLS_ERR_SYSCALL);
    if (truncated && s->stats.ciphertext_in == 0) {
        /* A port probe or health check: connected, sent nothing, left. */
        memtls__strlcpy(text, "transport closed (eof) before the peer sent anything", sizeof text);
    } else if (truncated) {
        snprintf(text, sizeof text, "transport closed during the handshake (%s)",
                 memtls_ctx_error(s->ctx));
    } else {
        memtls_ctx_status_text(s->ctx, rc, text, sizeof text);
    }
    if (s->cbs.on_handshake_error != NULL) {
        s->cbs.on_handshake_error(s->cbs.arg, text);
    }
    if (rc == MEMTLS_ERR_X509_VERIFY) {
        fail(s, MEMTLS_STATE_AUTHFAIL, MEMTLS_REASON_AUTH_FAILED, memtls_ctx_verify_error(s->ctx));
    } else if (truncated) {
        fail(s, MEMTLS_STATE_ERROR, MEMTLS_REASON_TRUNCATED, text);
    } else {
        fail_ctx(s, rc);
    }
}

/*
 * Output that reading produced and the transport did not take. Application
 * writes stop encrypting at ciphertext_out (encrypt_from), so only reading
 * itself -- replies to the peer's KeyUpdates, alerts -- can queue more than
 * twice that plus one write chunk. Reading pauses then (and the input
 * limit then pauses the transport), so a peer that sends such requests
 * and never reads cannot grow our memory; in every other case reading
 * goes on whatever the output does, which keeps two peers that both write
 * before they read from waiting on each other.
 */
static int reads_blocked_by_output(const memtls_session *s)
{
    return cipher_pending(s) > 2 * s->lim.ciphertext_out + WRITE_CHUNK;
}

/* The peer's KeyUpdates over the limit: a fixed allowance plus one per MiB
 * of ciphertext it sent (OpenSSL 3.0 has no limit of its own, and each
 * update costs us a key derivation). */
static int key_updates_exceeded(memtls_session *s)
{
    uint64_t got = memtls_ctx_key_updates_received(s->ctx);
    if (got <= s->lim.key_updates ||
        got <= s->lim.key_updates + s->stats.ciphertext_in / (1u << 20)) {
        return 0;
    }
    char text[96];
    snprintf(text, sizeof text, "too many KeyUpdate messages from the peer (%llu)",
             (unsigned long long)got);
    fail(s, MEMTLS_STATE_ERROR, MEMTLS_REASON_PROTOCOL_ERROR, text);
    return 1;
}

/*
 * Reading runs only when something that lets it progress happened
 * (reads_wanted): every pump would otherwise ask the context for a read
 * that can only say "want read" again, and pumps happen on every call.
 * The loop itself stops at "want read", a full plaintext buffer, output
 * over its bound or the end of the stream; each of those changes only
 * through an event that sets reads_wanted again.
 */
static void do_reads(memtls_session *s)
{
    uint8_t buf[IO_CHUNK];
    int delivered = 0;
    if (!s->reads_wanted) {
        return;
    }
    s->reads_wanted = 0;
    while (s->state == MEMTLS_STATE_READY && !s->read_closed && !reads_blocked_by_output(s)) {
        size_t n = 0;
        int rc;
        if (s->cbs.on_data != NULL) {
            rc = memtls_ctx_read(s->ctx, buf, sizeof buf, &n);
            drain(s);
            if (rc == 0 && !key_updates_exceeded(s)) {
                s->stats.plaintext_in += n;
                s->cbs.on_data(s->cbs.arg, buf, n);
                continue;
            }
        } else {
            size_t room =
                s->lim.plaintext_in > s->plain_in.len ? s->lim.plaintext_in - s->plain_in.len : 0;
            if (room == 0) {
                break; /* the application must read first */
            }
            if (memtls__bytebuf_reserve(&s->plain_in, room) != 0) {
                fail(s, MEMTLS_STATE_ERROR, MEMTLS_REASON_PROTOCOL_ERROR, "out of memory");
                break;
            }
            rc = memtls_ctx_read(s->ctx, s->plain_in.data + s->plain_in.start + s->plain_in.len,
                                 room, &n);
            drain(s);
            if (rc == 0 && !key_updates_exceeded(s)) {
                s->plain_in.len += n;
                s->stats.plaintext_in += n;
                delivered = 1;
                continue;
            }
        }
        if (key_updates_exceeded(s)) {
            break;
        }
        if (rc == MEMTLS_WANT_READ || rc == MEMTLS_WANT_WRITE) {
            break;
        }
        if (rc == MEMTLS_CLOSED) {
            if (s->cbs.on_peer_close != NULL && !s->shutdown_write) {
                /* Half close: the application decides when to close. */
                s->read_closed = 1;
                s->close_reason = MEMTLS_REASON_PEER_CLOSED;
                stop_reading(s);
                s->cbs.on_peer_close(s->cbs.arg);
            } else {
                on_peer_closed(s);
            }
        } else {
            fail_ctx(s, rc);
        }
        break;
    }
    update_input_pause(s);
    if (delivered && s->cbs.on_readable != NULL) {
        s->cbs.on_readable(s->cbs.arg);
    }
}

/* Encrypt from `data`; returns how much was taken. Stops when pending
 * ciphertext reaches its limit or the session fails. */
static size_t encrypt_from(memtls_session *s, const uint8_t *data, size_t len)
{
    size_t done = 0;
    while (done < len && cipher_pending(s) < s->lim.ciphertext_out &&
           (s->state == MEMTLS_STATE_READY || s->state == MEMTLS_STATE_CLOSING)) {
        /* No more than the room under the limit (one record at least), so
         * queued ciphertext stays near its bound. */
        size_t pending = cipher_pending(s);
        size_t room = s->lim.ciphertext_out > pending ? s->lim.ciphertext_out - pending : 0;
        size_t cap = room < MIN_WRITE ? MIN_WRITE : room > WRITE_CHUNK ? WRITE_CHUNK : room;
        size_t chunk = len - done < cap ? len - done : cap;
        size_t n = 0;
        int rc = memtls_ctx_write(s->ctx, data + done, chunk, &n);
        drain(s);
        if (rc != 0) {
            if (rc != MEMTLS_WANT_READ && rc != MEMTLS_WANT_WRITE) {
                fail_ctx(s, rc);
            }
            break;
        }
        done += n;
        s->stats.plaintext_out += n;
    }
    return done;
}

static void do_writes(memtls_session *s)
{
    if (s->plain_out.len > 0 && !s->write_closed) {
        size_t n = encrypt_from(s, memtls__bytebuf_head(&s->plain_out), s->plain_out.len);
        memtls__bytebuf_consume(&s->plain_out, n);
    }
    if (s->want_writable && !s->in_write && s->plain_out.len <= s->lim.plaintext_out / 2 &&
        (s->state == MEMTLS_STATE_READY || s->state == MEMTLS_STATE_HANDSHAKE) &&
        !s->close_requested && !s->shutdown_write) {
        s->want_writable = 0;
        if (s->cbs.on_writable != NULL) {
            s->cbs.on_writable(s->cbs.arg);
        }
    }
}

static void do_close(memtls_session *s)
{
    if ((s->close_requested || s->shutdown_write) && !s->write_closed && s->plain_out.len == 0 &&
        (s->state == MEMTLS_STATE_READY || s->state == MEMTLS_STATE_CLOSING)) {
        int rc = memtls_ctx_close(s->ctx);
        drain(s);
        if (rc != 0) {
            fail_ctx(s, rc);
            return;
        }
        s->write_closed = 1;
    }
    if (s->close_requested && s->state == MEMTLS_STATE_READY) {
        set_state(s, MEMTLS_STATE_CLOSING, s->close_reason, "closing");
    }
    if (s->state == MEMTLS_STATE_CLOSING && s->write_closed && cipher_pending(s) == 0) {
        set_state(s, MEMTLS_STATE_CLOSED, s->close_reason,
                  s->close_reason == MEMTLS_REASON_PEER_CLOSED ? "closed by peer"
                                                               : "closed cleanly");
    }
}

/* Replies to the peer's KeyUpdates wait (one at most) while the transport
 * refuses our bytes; see memtls_ctx_hold_key_update_replies(). */
static void hold_replies(memtls_session *s)
{
    int hold = s->pending_out.len > 0;
    if (hold != s->ku_held) {
        s->ku_held = hold;
        s->reads_wanted = 1;
        memtls_ctx_hold_key_update_replies(s->ctx, hold);
        drain(s);
    }
}

static void step(memtls_session *s)
{
    flush_pending(s);
    hold_replies(s);
    switch (s->state) {
    case MEMTLS_STATE_HANDSHAKE:
        if (s->started) {
            do_handshake(s);
        }
        break;
    case MEMTLS_STATE_READY:
        do_reads(s);
        do_writes(s);
        do_close(s);
        break;
    case MEMTLS_STATE_CLOSING:
        do_writes(s);
        do_close(s);
        break;
    case MEMTLS_STATE_CLOSED:
    case MEMTLS_STATE_AUTHFAIL:
    case MEMTLS_STATE_ERROR:
    default:
        break; /* only pending ciphertext (alerts) still moves */
    }
}

static void pump(memtls_session *s)
{
    if (s->in_pump) {
        s->pump_again = 1;
        return;
    }
    s->in_pump = 1;
    do {
        s->pump_again = 0;
        step(s);
    } while (s->pump_again);
    s->in_pump = 0;
}

/* --- public API ------------------------------------------------------------ */

memtls_session *memtls_session_new(memtls_ctx *ctx, const memtls_session_cbs *cbs,
                                   const memtls_session_limits *limits)
{
    memtls_session *s = NULL;
    if (ctx == NULL || cbs == NULL || cbs->send == NULL) {
        memtls_ctx_free(ctx);
        return NULL;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        memtls_ctx_free(ctx);
        return NULL;
    }
    s->ctx = ctx;
    s->cbs = *cbs;
    if (limits != NULL) {
        s->lim = *limits;
    }
    if (s->lim.plaintext_in == 0) {
        s->lim.plaintext_in = MEMTLS_SESSION_DEFAULT_PLAINTEXT_IN;
    }
    if (s->lim.plaintext_out == 0) {
        s->lim.plaintext_out = MEMTLS_SESSION_DEFAULT_PLAINTEXT_OUT;
    }
    if (s->lim.ciphertext_out == 0) {
        s->lim.ciphertext_out = MEMTLS_SESSION_DEFAULT_CIPHERTEXT_OUT;
    }
    if (s->lim.ciphertext_in == 0) {
        s->lim.ciphertext_in = MEMTLS_SESSION_DEFAULT_CIPHERTEXT_IN;
    }
    if (s->lim.key_updates == 0) {
        s->lim.key_updates = MEMTLS_SESSION_DEFAULT_KEY_UPDATES;
    }
    s->state = MEMTLS_STATE_HANDSHAKE;
    s->close_reason = MEMTLS_REASON_LOCAL_CLOSE;
#ifndef NDEBUG
    s->owner = pthread_self();
#endif
    return s;
}

void memtls_session_free(memtls_session *s)
{
    if (s == NULL) {
        return;
    }
    memtls_ctx_free(s->ctx);
    free(s->error);
    memtls__bytebuf_free(&s->pending_out);
    memtls__bytebuf_free(&s->plain_in);
    memtls__bytebuf_free(&s->plain_out);
    free(s);
}

static int status_of_terminal(const memtls_session *s)
{
    return s->state == MEMTLS_STATE_AUTHFAIL ? MEMTLS_ERR_X509_VERIFY : MEMTLS_CLOSED;
}

int memtls_session_start(memtls_session *s)
{
    if (s == NULL || s->started) {
        return MEMTLS_ERR_INVALID;
    }
    check_thread(s);
    s->started = 1;
    pump(s);
    if (s->state == MEMTLS_STATE_AUTHFAIL || s->state == MEMTLS_STATE_ERROR) {
        return status_of_terminal(s);
    }
    return 0;
}

int memtls_session_feed(memtls_session *s, const void *data, size_t len)
{
    if (s == NULL || (data == NULL && len > 0)) {
        return MEMTLS_ERR_INVALID;
    }
    check_thread(s);
    if ((s->state != MEMTLS_STATE_HANDSHAKE && s->state != MEMTLS_STATE_READY) || s->read_closed) {
        s->stats.discarded_in += len;
        pump(s); /* alerts may still be waiting for the transport */
        return MEMTLS_CLOSED;
    }
    if (s->eof) {
        return MEMTLS_ERR_INVALID;
    }
    if (len == 0) {
        pump(s);
        return 0;
    }
    if (memtls_ctx_pending_in(s->ctx) >= s->lim.ciphertext_in) {
        return MEMTLS_WANT_WRITE;
    }
    if (!s->started) {
        s->started = 1; /* a server starts when its first bytes arrive */
    }
    /*
     * One record at a time: the session reacts after each (a peer over its
     * KeyUpdate limit, or whose records fail, is cut before the rest of a
     * large feed is even decrypted); what a failure leaves is discarded.
     */
    const uint8_t *p = data;
    while (len > 0) {
        size_t n = len < FEED_SLICE ? len : FEED_SLICE;
        int rc = memtls_ctx_feed(s->ctx, p, n);
        if (rc != 0) {
            return rc;
        }
        s->stats.ciphertext_in += n;
        p += n;
        len -= n;
        s->reads_wanted = 1;
        pump(s);
        if (len > 0 && (s->state != MEMTLS_STATE_HANDSHAKE && s->state != MEMTLS_STATE_READY)) {
            s->stats.discarded_in += len;
            break;
        }
    }
    return 0;
}

int memtls_session_feed_eof(memtls_session *s)
{
    if (s == NULL) {
        return MEMTLS_ERR_INVALID;
    }
    check_thread(s);
    if (!s->eof) {
        s->eof = 1;
        s->reads_wanted = 1;
        if (memtls_ctx_feed_eof(s->ctx) != 0) {
            return MEMTLS_ERR_INVALID;
        }
        if (s->state == MEMTLS_STATE_HANDSHAKE && !s->started) {
            fail(s, MEMTLS_STATE_ERROR, MEMTLS_REASON_TRUNCATED,
                 "transport closed before the handshake");
        }
    }
    pump(s);
    return 0;
}

/* Status for a pull read that found too little buffered: more may come
 * (WANT_READ), or reading is over for good, however it ended (CLOSED). */
static int empty_read_status(const memtls_session *s)
{
    if (!s->read_closed && (s->state == MEMTLS_STATE_HANDSHAKE || s->state == MEMTLS_STATE_READY)) {
        return MEMTLS_WANT_READ;
    }
    return MEMTLS_CLOSED;
}

int memtls_session_read(memtls_session *s, void *buf, size_t len, size_t *readbytes)
{
    if (readbytes != NULL) {
        *readbytes = 0;
    }
    if (s == NULL || buf == NULL || readbytes == NULL || len == 0) {
        return MEMTLS_ERR_INVALID;
    }
    check_thread(s);
    if (s->plain_in.len == 0) {
        return empty_read_status(s);
    }
    size_t n = len < s->plain_in.len ? len : s->plain_in.len;
    memcpy(buf, memtls__bytebuf_head(&s->plain_in), n);
    memtls__bytebuf_consume(&s->plain_in, n);
    s->reads_wanted = 1;
    *readbytes = n;
    pump(s); /* room again: decrypt what is waiting */
    return 0;
}

int memtls_session_read_exact(memtls_session *s, void *buf, size_t len)
{
    if (s == NULL || buf == NULL || len == 0 || len > s->lim.plaintext_in) {
        return MEMTLS_ERR_INVALID;
    }
    check_thread(s);
    if (s->plain_in.len < len) {
        return empty_read_status(s);
    }
    memcpy(buf, memtls__bytebuf_head(&s->plain_in), len);
    memtls__bytebuf_consume(&s->plain_in, len);
    s->reads_wanted = 1;
    pump(s);
    return 0;
}

size_t memtls_session_readable(const memtls_session *s)
{
    return s == NULL ? 0 : s->plain_in.len;
}

int memtls_session_write(memtls_session *s, const void *data, size_t len, size_t *accepted)
{
    if (accepted != NULL) {
        *accepted = 0;
    }
    if (s == NULL || accepted == NULL || (data == NULL && len > 0)) {
        return MEMTLS_ERR_INVALID;
    }
    check_thread(s);
    if (terminal(s->state) || s->state == MEMTLS_STATE_CLOSING || s->close_requested ||
        s->shutdown_write) {
        return MEMTLS_CLOSED;
    }
    if (len == 0) {
        return 0;
    }
    /*
     * on_writable must never fire inside the call that is about to say
     * MEMTLS_WANT_WRITE: the caller would see "writable" first and "blocked"
     * second, and wait forever. So while this call runs it is held back;
     * instead, whenever pumping makes room, the loop takes more. When the
     * call returns with less than len taken, the queue is really full and
     * on_writable will come from a later call.
     */
    size_t taken = 0;
    int held = s->in_write;
    s->in_write = 1;
    for (;;) {
        /* Fast path: nothing queued, so encrypting straight from the
         * caller's buffer keeps the order and saves a copy. */
        if (s->state == MEMTLS_STATE_READY && s->plain_out.len == 0) {
            taken += encrypt_from(s, (const uint8_t *)data + taken, len - taken);
        }
        size_t room =
            s->lim.plaintext_out > s->plain_out.len ? s->lim.plaintext_out - s->plain_out.len : 0;
        size_t queue = len - taken < room ? len - taken : room;
        if (memtls__bytebuf_append(&s->plain_out, (const uint8_t *)data + taken, queue) == 0) {
            taken += queue;
        }
        size_t before = s->plain_out.len;
        pump(s);
        if (taken == len || s->plain_out.len >= before ||
            (s->state != MEMTLS_STATE_READY && s->state != MEMTLS_STATE_HANDSHAKE)) {
            break; /* all taken, or no room was made */
        }
    }
    s->in_write = held;
    if (taken < len) {
        s->want_writable = 1;
    }
    if (taken == 0) {
        return MEMTLS_WANT_WRITE;
    }
    *accepted = taken;
    return 0;
}

int memtls_session_flush(memtls_session *s)
{
    if (s == NULL) {
        return MEMTLS_ERR_INVALID;
    }
    check_thread(s);
    pump(s);
    return 0;
}

int memtls_session_close(memtls_session *s)
{
    if (s == NULL) {
        return MEMTLS_ERR_INVALID;
    }
    check_thread(s);
    if (s->state == MEMTLS_STATE_HANDSHAKE) {
        set_state(s, MEMTLS_STATE_CLOSED, MEMTLS_REASON_ABORTED, "closed during the handshake");
        return 0;
    }
    if (s->state == MEMTLS_STATE_READY && !s->close_requested) {
        s->close_requested = 1;
        if (!s->shutdown_write && !s->read_closed) {
            s->close_reason = MEMTLS_REASON_LOCAL_CLOSE;
        }
        set_state(s, MEMTLS_STATE_CLOSING, s->close_reason, "close requested");
    }
    pump(s);
    return 0;
}

int memtls_session_shutdown_write(memtls_session *s)
{
    if (s == NULL) {
        return MEMTLS_ERR_INVALID;
    }
    check_thread(s);
    if (s->state != MEMTLS_STATE_READY) {
        return s->state == MEMTLS_STATE_HANDSHAKE ? MEMTLS_ERR_INVALID : 0;
    }
    if (s->read_closed) {
        /* The peer already closed: shutting our side ends the session. */
        return memtls_session_close(s);
    }
    s->shutdown_write = 1;
    pump(s);
    return 0;
}

int memtls_session_key_update(memtls_session *s, int update_requested)
{
    if (s == NULL) {
        return MEMTLS_ERR_INVALID;
    }
    check_thread(s);
    if (s->state != MEMTLS_STATE_READY || s->write_closed) {
        return MEMTLS_ERR_SSL;
    }
    int rc = memtls_ctx_key_update(s->ctx, update_requested);
    if (rc != 0) {
        return rc;
    }
    /* OpenSSL sends the KeyUpdate with the next write or handshake call. */
    rc = memtls_ctx_handshake(s->ctx);
    drain(s);
    if (rc != 0 && rc != MEMTLS_WANT_READ && rc != MEMTLS_WANT_WRITE) {
        fail_ctx(s, rc);
    }
    pump(s);
    return 0;
}

int memtls_session_release_buffers(memtls_session *s)
{
    if (s == NULL) {
        return MEMTLS_ERR_INVALID;
    }
    check_thread(s);
    /* Empty queues keep their storage for the next burst; an idle
     * session gives it back (and so does its context). */
    if (s->plain_in.len == 0) {
        memtls__bytebuf_free(&s->plain_in);
    }
    if (s->plain_out.len == 0) {
        memtls__bytebuf_free(&s->plain_out);
    }
    if (s->pending_out.len == 0) {
        memtls__bytebuf_free(&s->pending_out);
    }
    return memtls_ctx_release_buffers(s->ctx);
}

memtls_state memtls_session_state(const memtls_session *s)
{
    return s == NULL ? MEMTLS_STATE_ERROR : s->state;
}

memtls_reason memtls_session_reason(const memtls_session *s)
{
    return s == NULL ? MEMTLS_REASON_NONE : s->reason;
}

const char *memtls_session_error(const memtls_session *s)
{
    return s == NULL || s->error == NULL ? "" : s->error;
}

memtls_ctx *memtls_session_ctx(memtls_session *s)
{
    return s == NULL ? NULL : s->ctx;
}

size_t memtls_session_pending_out(const memtls_session *s)
{
    return s == NULL ? 0 : s->pending_out.len;
}

size_t memtls_session_queued_out(const memtls_session *s)
{
    return s == NULL ? 0 : s->plain_out.len;
}

int memtls_session_input_paused(const memtls_session *s)
{
    return s != NULL && s->input_paused;
}

unsigned memtls_session_blocked(const memtls_session *s)
{
    unsigned blocked = 0;
    if (s == NULL) {
        return 0;
    }
    int reading = (s->state == MEMTLS_STATE_HANDSHAKE || s->state == MEMTLS_STATE_READY) &&
                  !s->read_closed && !s->eof;
    int full = s->cbs.on_data == NULL && s->plain_in.len >= s->lim.plaintext_in;
    if (reading && !s->input_paused &&
        (s->started || memtls_ctx_role(s->ctx) == MEMTLS_ROLE_SERVER)) {
        blocked |= MEMTLS_BLOCKED_ON_PEER;
    }
    if (s->pending_out.len > 0) {
        blocked |= MEMTLS_BLOCKED_ON_TRANSPORT;
    }
    if (reading && full) {
        blocked |= MEMTLS_BLOCKED_ON_APPLICATION;
    }
    return blocked;
}

void memtls_session_get_stats(const memtls_session *s, memtls_session_stats *out)
{
    if (out == NULL) {
        return;
    }
    if (s == NULL) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = s->stats;
}

const char *memtls_state_name(memtls_state st)
{
    switch (st) {
    case MEMTLS_STATE_HANDSHAKE:
        return "handshake";
    case MEMTLS_STATE_READY:
        return "ready";
    case MEMTLS_STATE_CLOSING:
        return "closing";
    case MEMTLS_STATE_CLOSED:
        return "closed";
    case MEMTLS_STATE_AUTHFAIL:
        return "authfail";
    case MEMTLS_STATE_ERROR:
        return "error";
    default:
        return "unknown";
    }
}

const char *memtls_reason_name(memtls_reason why)
{
    switch (why) {
    case MEMTLS_REASON_NONE:
        return "none";
    case MEMTLS_REASON_HANDSHAKE_DONE:
        return "handshake complete";
    case MEMTLS_REASON_LOCAL_CLOSE:
        return "closed cleanly";
    case MEMTLS_REASON_PEER_CLOSED:
        return "closed by peer";
    case MEMTLS_REASON_TRUNCATED:
        return "truncated (end of stream without close_notify)";
    case MEMTLS_REASON_AUTH_FAILED:
        return "authentication failed";
    case MEMTLS_REASON_PROTOCOL_ERROR:
        return "protocol error";
    case MEMTLS_REASON_ABORTED:
        return "closed during the handshake";
    case MEMTLS_REASON_INPUT_OVERFLOW:
        return "input limit exceeded";
    default:
        return "unknown";
    }
}
