/*
 * Test: the session property (issue 3). A client and a server session over
 * the random in-memory transport of sessionpair.h: ciphertext cut into
 * random chunks (1 byte .. 64 KiB), random refusals (backpressure), random
 * session limits, application reads and writes interleaved on both sides
 * (pull mode; push mode with on_data for some seeds, with writes from
 * inside on_data), TLS 1.3 KeyUpdates requested mid-stream from either
 * side, NewSessionTickets, then one of several ways to close.
 *
 * Over every seed:
 *   - each plaintext byte the sender's session accepted arrives exactly
 *     once and in order (checked byte by byte against the generator that
 *     made it), and when both sides wait for each other, all of it;
 *   - both sessions end CLOSED with the reasons the close implies;
 *   - no ciphertext is left anywhere: write and read BIOs of both
 *     contexts, both pending_out buffers, both transport queues;
 *   - the byte counters agree with what the transport saw;
 *   - the drain rule holds throughout: after every session call, and at
 *     every state change, the context's write BIO is empty.
 *
 * Seeds: 200 by default (CI). MEMTLS_SEEDS=N runs N seeds,
 * MEMTLS_SEED=S replays one. A failure prints the seed, the case drawn
 * from it and the replay command. Payloads are scaled down under
 * sanitizers (MEMTLS_SANITIZED).
 */
#include "test.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <memtls/session.h>

#include "sessionpair.h"

#define DEFAULT_SEEDS 200
#define FIRST_SEED 1

#ifdef MEMTLS_SANITIZED
#define SIZE_SHIFT 1 /* payloads / 2 */
#else
#define SIZE_SHIFT 0
#endif

/* How the connection ends. */
enum close_mode {
    CM_CLIENT_CLOSE = 0, /* client closes once it sent and received everything */
    CM_SERVER_CLOSE,     /* the same, server side */
    CM_BOTH_HALF,        /* each side shutdown_write as soon as it sent everything */
    CM_CLIENT_HALF,      /* client shutdown_write once sent; server closes in answer */
    CM_EARLY_CLOSE,      /* one side closes as soon as it sent everything */
    CM_KEEP_OPEN,        /* one side half-closes once sent; the other, half-close
                            aware (on_peer_close), writes on, then closes */
    CM_COUNT
};

static const char *const close_mode_names[CM_COUNT] = {"client-close",    "server-close",
                                                       "both-half-close", "client-half-close",
                                                       "early-close",     "keep-open"};

/* The payload of one direction: byte i is a function of (seed, direction, i). */
typedef struct stream {
    sp_rng r;
    uint64_t word;
    int avail;
    uint64_t pos;
} stream;

static void stream_init(stream *st, uint64_t seed, int dir)
{
    sp_rng_seed(&st->r, seed * 2 + (uint64_t)dir + 0x5EED0000ull);
    st->avail = 0;
    st->pos = 0;
}

static uint8_t stream_byte(stream *st)
{
    if (st->avail == 0) {
        st->word = sp_rng_next(&st->r);
        st->avail = 8;
    }
    uint8_t b = (uint8_t)st->word;
    st->word >>= 8;
    st->avail--;
    st->pos++;
    return b;
}

struct prop;

typedef struct app {
    struct prop *t;
    int idx;
    int push;
    stream gen;        /* what this side writes */
    stream check;      /* what the peer writes, to verify what arrives */
    uint64_t total;    /* bytes this side means to write */
    uint64_t written;  /* bytes the session accepted */
    uint64_t received; /* bytes that arrived and matched */
    uint8_t *wbuf;     /* generated, not yet accepted: wbuf[woff .. wlen) */
    size_t woff;
    size_t wlen;
    size_t wcap;
    int wait_writable; /* after MEMTLS_WANT_WRITE / partial write: wait for on_writable */
    int write_done;    /* wrote everything, or writes were refused (peer closed) */
    int closed_call;   /* called memtls_session_close */
    int shut_call;     /* called memtls_session_shutdown_write */
    int read_end;      /* a read returned MEMTLS_CLOSED */
    int key_updates;   /* successful KeyUpdate requests */
    int in_data;       /* inside on_data (no nested writes from nested hooks) */
} app;

typedef struct prop {
    uint64_t seed;
    sp_mode mode;
    int close_mode;
    int early_closer;
    size_t max_write;
    int deliver_pct; /* how eagerly the transport delivers */
    int stall_pct;   /* per mille: a transport starts refusing everything */
    sp_rng rng;      /* the applications' decisions */
    sessionpair *p;
    app a[2];
    int failed;
    char why[1024];
} prop;

/* What the seeds exercised, summed (printed, so a change that stops
 * exercising something shows). */
static struct {
    uint64_t would_block; /* writes refused for a full queue */
    uint64_t partial;     /* writes partly accepted */
    uint64_t refusals;    /* transport send() refusals */
    uint64_t paused;      /* on_input_paused(1) */
    uint64_t key_updates; /* KeyUpdates sent */
    uint64_t tickets;     /* NewSessionTickets seen by clients */
    uint64_t exact;       /* read_exact calls */
    uint64_t nested;      /* writes from inside on_data */
    uint64_t cut;         /* writes refused because the peer closed */
    uint64_t discarded;   /* inbound bytes discarded after close */
} g_cov;

/* The seed in progress, for the teardown's replay line after an assert. */
static uint64_t g_running_seed;
static int g_seed_open;
static char g_case[256];

static void failf(prop *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failf(prop *t, const char *fmt, ...)
{
    if (t->failed) {
        return;
    }
    t->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->why, sizeof t->why, fmt, ap);
    va_end(ap);
}

static const char *who(int idx)
{
    return idx == SP_CLIENT ? "client" : "server";
}

/* --- the applications -------------------------------------------------------------- */

static void verify_in(app *a, const uint8_t *data, size_t len)
{
    app *peer = &a->t->a[sp_peer(a->idx)];
    if (a->received + len > peer->written) {
        failf(a->t, "%s received %" PRIu64 " bytes but the peer's session accepted only %" PRIu64,
              who(a->idx), a->received + len, peer->written);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        uint8_t want = stream_byte(&a->check);
        if (data[i] != want) {
            failf(a->t, "%s: byte %" PRIu64 " of the stream is 0x%02x, expected 0x%02x",
                  who(a->idx), a->received + i, data[i], want);
            return;
        }
    }
    a->received += len;
}

static int session_open_for_writes(const app *a)
{
    memtls_state st = memtls_session_state(a->t->p->end[a->idx].s);
    return st == MEMTLS_STATE_HANDSHAKE || st == MEMTLS_STATE_READY;
}

/* One application write of a random size. Returns bytes accepted. */
static size_t app_write(app *a)
{
    prop *t = a->t;
    memtls_session *s = t->p->end[a->idx].s;
    if (a->write_done || t->failed) {
        return 0;
    }
    if (a->wait_writable) {
        if (!session_open_for_writes(a)) {
            a->write_done = 1; /* the peer closed: nothing more will be taken */
            return 0;
        }
        /* Mostly wait for on_writable as told; sometimes try anyway (that
         * is allowed, and must say MEMTLS_WANT_WRITE while the queue is full). */
        if (!sp_rng_chance(&t->rng, 1, 8)) {
            return 0;
        }
    }
    uint64_t left = a->total - a->written;
    if (left == 0) {
        a->write_done = 1;
        return 0;
    }
    size_t n = sp_rng_chance(&t->rng, 1, 4) ? (size_t)sp_rng_range(&t->rng, 1, 64)
                                            : (size_t)sp_rng_range(&t->rng, 1, t->max_write);
    if (n > left) {
        n = (size_t)left;
    }
    /* Generate what this write needs beyond what is already waiting. */
    if (a->wlen - a->woff < n) {
        if (a->woff > 0) {
            memmove(a->wbuf, a->wbuf + a->woff, a->wlen - a->woff);
            a->wlen -= a->woff;
            a->woff = 0;
        }
        if (a->wcap < n) {
            uint8_t *b = realloc(a->wbuf, n);
            assert_non_null(b);
            a->wbuf = b;
            a->wcap = n;
        }
        while (a->wlen < n) {
            a->wbuf[a->wlen++] = stream_byte(&a->gen);
        }
    }
    size_t acc = 0;
    a->wait_writable = 1; /* on_writable may fire inside the call */
    int rc = memtls_session_write(s, a->wbuf + a->woff, n, &acc);
    if (rc == 0) {
        if (acc == 0 || acc > n) {
            failf(t, "%s: write(%zu) returned 0 with accepted=%zu", who(a->idx), n, acc);
            return 0;
        }
        if (acc == n) {
            a->wait_writable = 0;
        } else {
            g_cov.partial++;
        }
    } else if (rc == MEMTLS_WANT_WRITE) {
        g_cov.would_block++;
        if (acc != 0) {
            failf(t, "%s: MEMTLS_WANT_WRITE with accepted=%zu", who(a->idx), acc);
            return 0;
        }
    } else if (rc == MEMTLS_CLOSED) {
        a->wait_writable = 0;
        if (acc != 0) {
            failf(t, "%s: CLOSED with accepted=%zu", who(a->idx), acc);
            return 0;
        }
        /* Refused only once the session is closing (the peer closed). */
        if (session_open_for_writes(a) && !a->shut_call && !a->closed_call) {
            failf(t, "%s: write refused in state %s", who(a->idx),
                  memtls_state_name(memtls_session_state(s)));
        }
        g_cov.cut++;
        a->write_done = 1;
        return 0;
    } else {
        failf(t, "%s: write returned %s", who(a->idx), memtls_status_name(rc));
        return 0;
    }
    a->woff += acc;
    a->written += acc;
    if (a->written == a->total) {
        a->write_done = 1;
    }
    return acc;
}

/* One application read (pull mode). Returns bytes read. */
static size_t app_read(app *a)
{
    prop *t = a->t;
    memtls_session *s = t->p->end[a->idx].s;
    static uint8_t buf[96 * 1024];
    if (a->read_end || t->failed) {
        return 0;
    }
    size_t avail = memtls_session_readable(s);
    if (avail > 0 && sp_rng_chance(&t->rng, 1, 6)) {
        /* Exact reads: all-or-nothing. One byte too many takes nothing. */
        size_t want = (size_t)sp_rng_range(&t->rng, 1, avail);
        if (sp_rng_chance(&t->rng, 1, 4) && avail < t->p->opts.limits[a->idx].plaintext_in &&
            avail < sizeof buf) {
            int rc = memtls_session_read_exact(s, buf, avail + 1);
            if (memtls_session_readable(s) != avail ||
                (rc != MEMTLS_WANT_READ && rc != MEMTLS_CLOSED)) {
                failf(t, "%s: read_exact(%zu) with %zu buffered returned %s, %zu left", who(a->idx),
                      avail + 1, avail, memtls_status_name(rc), memtls_session_readable(s));
                return 0;
            }
        }
        g_cov.exact++;
        int rc = memtls_session_read_exact(s, buf, want);
        if (rc != 0) {
            failf(t, "%s: read_exact(%zu) with %zu buffered returned %s", who(a->idx), want, avail,
                  memtls_status_name(rc));
            return 0;
        }
        verify_in(a, buf, want);
        return want;
    }
    size_t len = sp_rng_chance(&t->rng, 1, 4) ? (size_t)sp_rng_range(&t->rng, 1, 32)
                                              : (size_t)sp_rng_range(&t->rng, 1, sizeof buf);
    size_t n = 12345;
    int rc = memtls_session_read(s, buf, len, &n);
    if (rc == 0) {
        if (n == 0 || n > len) {
            failf(t, "%s: read(%zu) returned 0 with %zu bytes", who(a->idx), len, n);
            return 0;
        }
        verify_in(a, buf, n);
        return n;
    }
    if (n != 0) {
        failf(t, "%s: read returned %s with readbytes=%zu", who(a->idx), memtls_status_name(rc), n);
        return 0;
    }
    if (rc == MEMTLS_CLOSED) {
        a->read_end = 1;
    } else if (rc != MEMTLS_WANT_READ) {
        failf(t, "%s: read returned %s", who(a->idx), memtls_status_name(rc));
    }
    return 0;
}

static void on_data_hook(sp_end *e, const uint8_t *data, size_t len)
{
    app *a = e->user;
    verify_in(a, data, len);
    /* An echo-style application writes from inside on_data. */
    if (!a->in_data && sp_rng_chance(&a->t->rng, 1, 4)) {
        a->in_data = 1;
        g_cov.nested++;
        app_write(a);
        a->in_data = 0;
    }
}

static void on_writable_hook(sp_end *e)
{
    app *a = e->user;
    a->wait_writable = 0;
}

static void app_key_update(app *a)
{
    prop *t = a->t;
    memtls_session *s = t->p->end[a->idx].s;
    if (memtls_session_state(s) != MEMTLS_STATE_READY || a->shut_call || a->closed_call) {
        return;
    }
    int rc = memtls_session_key_update(s, (int)sp_rng_below(&t->rng, 2));
    if (t->mode == SP_TLS13) {
        /* MEMTLS_ERR_SSL only if one is already pending. */
        if (rc == 0) {
            a->key_updates++;
        } else if (rc != MEMTLS_ERR_SSL) {
            failf(t, "%s: key_update returned %s", who(a->idx), memtls_status_name(rc));
        }
    } else if (rc != MEMTLS_ERR_SSL) {
        failf(t, "%s: key_update on %s returned %s", who(a->idx), sp_mode_name(t->mode),
              memtls_status_name(rc));
    }
    if (memtls_session_state(s) != MEMTLS_STATE_READY) {
        failf(t, "%s: key_update left the session %s", who(a->idx),
              memtls_state_name(memtls_session_state(s)));
    }
}

static void app_close(app *a, int full)
{
    prop *t = a->t;
    sp_end *e = &t->p->end[a->idx];
    int rc;
    if (full) {
        a->closed_call = 1;
        rc = memtls_session_close(e->s);
    } else {
        a->shut_call = 1;
        rc = sp_shutdown_write(t->p, a->idx);
    }
    if (rc != 0) {
        failf(t, "%s: %s returned %s", who(a->idx), full ? "close" : "shutdown_write",
              memtls_status_name(rc));
    }
}

/* The close policy of this seed. */
static void app_maybe_close(app *a)
{
    prop *t = a->t;
    app *peer = &t->a[sp_peer(a->idx)];
    memtls_session *s = t->p->end[a->idx].s;
    if (a->closed_call || a->shut_call || !a->write_done || a->wait_writable ||
        memtls_session_state(s) != MEMTLS_STATE_READY) {
        return;
    }
    int got_all = a->received == peer->total;
    switch (t->close_mode) {
    case CM_CLIENT_CLOSE:
        if (a->idx == SP_CLIENT && got_all) {
            app_close(a, 1);
        }
        break;
    case CM_SERVER_CLOSE:
        if (a->idx == SP_SERVER && got_all) {
            app_close(a, 1);
        }
        break;
    case CM_BOTH_HALF:
        app_close(a, 0);
        break;
    case CM_CLIENT_HALF:
        if (a->idx == SP_CLIENT) {
            app_close(a, 0);
        }
        break;
    case CM_EARLY_CLOSE:
        if (a->idx == t->early_closer) {
            app_close(a, 1);
        }
        break;
    case CM_KEEP_OPEN:
        if (a->idx == t->early_closer) {
            app_close(a, 0);
        } else if (got_all && t->p->end[a->idx].peer_close_calls > 0) {
            app_close(a, 1); /* the peer's half close came, our part is done */
        }
        break;
    default:
        break;
    }
}

/* --- one seed ------------------------------------------------------------------------ */

static uint64_t payload_size(sp_rng *r)
{
    uint64_t n;
    switch (sp_rng_below(r, 20)) {
    case 0:
        n = 0;
        break;
    case 1:
    case 2:
        n = sp_rng_range(r, 3u << 20, 8u << 20); /* several MiB */
        break;
    case 3:
    case 4:
        n = sp_rng_range(r, 512u << 10, 2u << 20);
        break;
    case 5:
    case 6:
    case 7:
    case 8:
    case 9:
        n = sp_rng_range(r, 64u << 10, 512u << 10);
        break;
    default:
        n = sp_rng_range(r, 1, 64u << 10);
        break;
    }
    return n >> SIZE_SHIFT;
}

static size_t pick_limit(sp_rng *r, size_t lo, size_t hi)
{
    /* A third of the time the default, else a random bound. */
    return sp_rng_chance(r, 1, 3) ? 0 : (size_t)sp_rng_range(r, lo, hi);
}

static void describe_case(prop *t, char *buf, size_t len)
{
    const sp_opts *o = &t->p->opts;
    snprintf(buf, len,
             "mode=%s close=%s push=%d/%d payload=%" PRIu64 "/%" PRIu64
             " limits(c: in=%zu out=%zu cout=%zu cin=%zu; s: in=%zu out=%zu cout=%zu cin=%zu)"
             " capacity=%zu/%zu deliver=%d%% stall=%d/1000",
             sp_mode_name(t->mode), close_mode_names[t->close_mode], o->push[0], o->push[1],
             t->a[0].total, t->a[1].total, o->limits[0].plaintext_in, o->limits[0].plaintext_out,
             o->limits[0].ciphertext_out, o->limits[0].ciphertext_in, o->limits[1].plaintext_in,
             o->limits[1].plaintext_out, o->limits[1].ciphertext_out, o->limits[1].ciphertext_in,
             t->p->end[0].capacity, t->p->end[1].capacity, t->deliver_pct, t->stall_pct);
}

static int done(prop *t)
{
    for (int i = 0; i < 2; i++) {
        sp_end *e = &t->p->end[i];
        memtls_state st = memtls_session_state(e->s);
        if (st != MEMTLS_STATE_CLOSED && st != MEMTLS_STATE_AUTHFAIL && st != MEMTLS_STATE_ERROR) {
            return 0;
        }
        if (sp_leftover(t->p, i) != 0 || memtls_session_readable(e->s) != 0) {
            return 0;
        }
    }
    return 1;
}

/* The drain rule, observed from outside: whenever a session call has
 * returned, and whenever the session reports a state change, its write
 * BIO is empty (everything went to the transport or to pending_out). */
static void check_drained(prop *t, const char *after)
{
    for (int i = 0; i < 2 && !t->failed; i++) {
        sp_end *e = &t->p->end[i];
        size_t left = memtls_ctx_pending_out(memtls_session_ctx(e->s));
        if (left != 0) {
            failf(t, "%s: %zu bytes of ciphertext left in the write BIO after %s", who(i), left,
                  after);
        }
        int n = e->nevents < SP_MAX_EVENTS ? e->nevents : SP_MAX_EVENTS;
        for (int k = 0; k < n && !t->failed; k++) {
            if (e->events[k].pending_write != 0) {
                failf(t, "%s: %zu bytes left in the write BIO when it reported %s -> %s", who(i),
                      e->events[k].pending_write, memtls_state_name(e->events[k].from),
                      memtls_state_name(e->events[k].to));
            }
        }
    }
}

static int both_finished(prop *t)
{
    for (int i = 0; i < 2; i++) {
        memtls_state st = memtls_session_state(t->p->end[i].s);
        if (st != MEMTLS_STATE_CLOSED && st != MEMTLS_STATE_AUTHFAIL && st != MEMTLS_STATE_ERROR) {
            return 0;
        }
    }
    return 1;
}

static uint64_t progress_mark(prop *t)
{
    uint64_t m = 0;
    for (int i = 0; i < 2; i++) {
        sp_end *e = &t->p->end[i];
        m += t->a[i].written + t->a[i].received + e->accepted + e->delivered +
             (uint64_t)memtls_session_state(e->s) + (uint64_t)e->nevents +
             (uint64_t)e->writable_calls;
    }
    return m;
}

static void check_end(prop *t)
{
    sessionpair *p = t->p;
    for (int i = 0; i < 2 && !t->failed; i++) {
        sp_end *e = &p->end[i];
        sp_end *pe = &p->end[sp_peer(i)];
        app *a = &t->a[i];
        app *peer = &t->a[sp_peer(i)];
        memtls_state st = memtls_session_state(e->s);
        memtls_session_stats stats;
        memtls_session_get_stats(e->s, &stats);

        if (st != MEMTLS_STATE_CLOSED) {
            failf(t, "%s ended %s (%s): %s", who(i), memtls_state_name(st),
                  memtls_reason_name(memtls_session_reason(e->s)), memtls_session_error(e->s));
            return;
        }
        /* Every accepted byte arrived (the early closer may stop short). */
        int may_stop_short = t->close_mode == CM_EARLY_CLOSE && i == t->early_closer;
        if (a->received != peer->written && !may_stop_short) {
            failf(t, "%s received %" PRIu64 " of the %" PRIu64 " bytes the peer's session took",
                  who(i), a->received, peer->written);
            return;
        }
        /* Where both sides wait for each other, everything was written. */
        if ((t->close_mode == CM_CLIENT_CLOSE || t->close_mode == CM_SERVER_CLOSE ||
             t->close_mode == CM_KEEP_OPEN) &&
            a->written != a->total) {
            failf(t, "%s wrote %" PRIu64 " of %" PRIu64, who(i), a->written, a->total);
            return;
        }
        if (sp_leftover(p, i) != 0 || memtls_session_queued_out(e->s) != 0 ||
            memtls_session_readable(e->s) != 0) {
            failf(t, "%s has bytes left:\n%s", who(i), sp_describe(p));
            return;
        }
        /* Counters agree with the application and the transport. */
        if (stats.plaintext_out != a->written || stats.plaintext_in != a->received) {
            failf(t,
                  "%s stats plaintext out/in %" PRIu64 "/%" PRIu64 " != app %" PRIu64 "/%" PRIu64,
                  who(i), stats.plaintext_out, stats.plaintext_in, a->written, a->received);
            return;
        }
        if (stats.ciphertext_out != e->accepted) {
            failf(t, "%s stats ciphertext_out %" PRIu64 " != transport took %" PRIu64, who(i),
                  stats.ciphertext_out, e->accepted);
            return;
        }
        if (stats.ciphertext_in != pe->delivered - pe->discarded ||
            stats.discarded_in < pe->discarded) {
            failf(t,
                  "%s stats ciphertext_in %" PRIu64 " discarded_in %" PRIu64
                  " vs delivered %" PRIu64 " refused-as-closed %" PRIu64,
                  who(i), stats.ciphertext_in, stats.discarded_in, pe->delivered, pe->discarded);
            return;
        }
    }
    if (t->failed) {
        return;
    }
    /* Close reasons. */
    memtls_reason rc = memtls_session_reason(p->end[SP_CLIENT].s);
    memtls_reason rs = memtls_session_reason(p->end[SP_SERVER].s);
    memtls_reason want_c = MEMTLS_REASON_PEER_CLOSED;
    memtls_reason want_s = MEMTLS_REASON_PEER_CLOSED;
    if (t->close_mode == CM_CLIENT_CLOSE ||
        (t->close_mode == CM_EARLY_CLOSE && t->early_closer == SP_CLIENT)) {
        want_c = MEMTLS_REASON_LOCAL_CLOSE;
    }
    if (t->close_mode == CM_SERVER_CLOSE ||
        (t->close_mode == CM_EARLY_CLOSE && t->early_closer == SP_SERVER)) {
        want_s = MEMTLS_REASON_LOCAL_CLOSE;
    }
    if (t->close_mode == CM_KEEP_OPEN) {
        /* The half-close aware side ends "closed by peer" too (its close
         * completes the peer's). */
        want_c = want_s = MEMTLS_REASON_PEER_CLOSED;
        int keeper = sp_peer(t->early_closer);
        if (p->end[keeper].peer_close_calls != 1 || p->end[t->early_closer].peer_close_calls != 0) {
            failf(t, "on_peer_close calls: %s %d, %s %d (expected 1 and 0)", who(keeper),
                  p->end[keeper].peer_close_calls, who(t->early_closer),
                  p->end[t->early_closer].peer_close_calls);
            return;
        }
    }
    if (t->close_mode == CM_BOTH_HALF) {
        /* Whoever read the other's close_notify first answered it; the
         * other then saw the answer: both are "closed by peer". */
        want_c = want_s = MEMTLS_REASON_PEER_CLOSED;
    }
    if (rc != want_c || rs != want_s) {
        failf(t, "close reasons client=%s server=%s, expected %s/%s", memtls_reason_name(rc),
              memtls_reason_name(rs), memtls_reason_name(want_c), memtls_reason_name(want_s));
        return;
    }
    /* Tickets: the client reads until the server's close_notify, except
     * when it closes first itself. */
    int client_reads_to_end = !(t->close_mode == CM_CLIENT_CLOSE ||
                                (t->close_mode == CM_EARLY_CLOSE && t->early_closer == 0));
    if (t->mode != SP_PLAINTEXT && (client_reads_to_end || t->mode == SP_TLS12) &&
        p->end[SP_CLIENT].tickets < 1) {
        failf(t, "the client saw no NewSessionTicket");
    }
}

/* Run one seed; returns 0 or fails the cmocka test with the replay line. */
static void run_seed(uint64_t seed, int *mode_count, int64_t *bytes)
{
    prop *t = calloc(1, sizeof *t);
    assert_non_null(t);
    snprintf(g_case, sizeof g_case, "(not drawn yet)");
    t->seed = seed;
    sp_rng_seed(&t->rng, seed ^ 0xA99ull);

    /* Draw the case. */
    uint64_t m = sp_rng_below(&t->rng, 10);
    t->mode = m < 4 ? SP_TLS13 : m < 8 ? SP_TLS12 : SP_PLAINTEXT;
    t->close_mode = (int)sp_rng_below(&t->rng, CM_COUNT);
    t->early_closer = (int)sp_rng_below(&t->rng, 2);
    t->max_write = (size_t)sp_rng_range(&t->rng, 16, 128u << 10);
    t->deliver_pct = 25 * (int)sp_rng_range(&t->rng, 1, 4);
    t->stall_pct = sp_rng_chance(&t->rng, 1, 2) ? 0 : (int)sp_rng_range(&t->rng, 1, 40);
    sp_opts o = {0};
    o.mode = t->mode;
    o.seed = seed;
    o.random = 1;
    if (sp_rng_chance(&t->rng, 1, 4)) {
        o.push[0] = (int)sp_rng_below(&t->rng, 2);
        o.push[1] = o.push[0] ? (int)sp_rng_below(&t->rng, 2) : 1;
    }
    if (t->close_mode == CM_KEEP_OPEN) {
        o.keep_open[sp_peer(t->early_closer)] = 1;
    }
    for (int i = 0; i < 2; i++) {
        o.limits[i].plaintext_in = pick_limit(&t->rng, 1, 64u << 10);
        o.limits[i].plaintext_out = pick_limit(&t->rng, 1, 256u << 10);
        o.limits[i].ciphertext_out = pick_limit(&t->rng, 1, 256u << 10);
        /* Even below one record: OpenSSL pulls a partial record out of
         * the read BIO into its own buffer, so input never wedges. */
        o.limits[i].ciphertext_in = pick_limit(&t->rng, 1, 256u << 10);
    }
    for (int i = 0; i < 2; i++) {
        t->a[i].total = payload_size(&t->rng);
    }
    size_t capacity[2];
    for (int i = 0; i < 2; i++) {
        capacity[i] =
            sp_rng_chance(&t->rng, 1, 2) ? SIZE_MAX : (size_t)sp_rng_range(&t->rng, 1, 512u << 10);
    }

    t->p = sp_new(&o);
    for (int i = 0; i < 2; i++) {
        app *a = &t->a[i];
        sp_end *e = &t->p->end[i];
        a->t = t;
        a->idx = i;
        a->push = o.push[i];
        stream_init(&a->gen, seed, i);
        stream_init(&a->check, seed, sp_peer(i));
        e->capacity = capacity[i];
        e->user = a;
        e->data_hook = on_data_hook;
        e->writable_hook = on_writable_hook;
    }
    for (int i = 0; i < 2; i++) {
        /* Read limits for exact reads: the effective plaintext_in. */
        if (t->p->opts.limits[i].plaintext_in == 0) {
            t->p->opts.limits[i].plaintext_in = MEMTLS_SESSION_DEFAULT_PLAINTEXT_IN;
        }
    }
    describe_case(t, g_case, sizeof g_case);

    uint64_t last_mark = 0;
    long still = 0;
    for (long iter = 0; !t->failed; iter++) {
        int first = (int)sp_rng_below(&t->rng, 2);
        for (int k = 0; k < 2; k++) {
            app *a = &t->a[k == 0 ? first : sp_peer(first)];
            if (sp_rng_chance(&t->rng, 1, 2)) {
                app_write(a);
                check_drained(t, "write");
            }
            if (!a->push && sp_rng_chance(&t->rng, 1, 2)) {
                app_read(a);
                check_drained(t, "read");
            }
            if (t->mode != SP_PLAINTEXT && a->key_updates < 6 && !a->write_done &&
                sp_rng_chance(&t->rng, 1, t->mode == SP_TLS13 ? 100 : 2000)) {
                app_key_update(a);
                check_drained(t, "key_update");
            }
            app_maybe_close(a);
            check_drained(t, "close");
        }
        for (int k = 0; k < 2; k++) {
            int from = k == 0 ? first : sp_peer(first);
            sp_end *e = &t->p->end[from];
            /* Transport stalls: a full ring that takes nothing for a while. */
            if (!e->refuse_all && sp_rng_below(&t->rng, 1000) < (uint64_t)t->stall_pct) {
                e->refuse_all = 1;
            } else if (e->refuse_all && sp_rng_chance(&t->rng, 1, 20)) {
                e->refuse_all = 0;
            }
            if (sp_rng_below(&t->rng, 100) < (uint64_t)t->deliver_pct) {
                size_t max =
                    sp_rng_chance(&t->rng, 1, 3) ? (size_t)sp_rng_range(&t->rng, 1, 4096) : 0;
                sp_deliver(t->p, from, max);
                check_drained(t, "recv");
            }
        }
        if (done(t)) {
            break;
        }
        uint64_t mark = progress_mark(t);
        if (mark != last_mark) {
            last_mark = mark;
            still = 0;
        } else if (++still > 200 && both_finished(t)) {
            break; /* check_end says what was left behind */
        } else if (still > 20000) {
            failf(t, "no progress for %ld rounds (round %ld):\n%s", still, iter, sp_describe(t->p));
        }
    }
    if (!t->failed) {
        check_end(t);
    }
    if (t->failed) {
        print_error("session property FAILED: seed %" PRIu64 ": %s\n  case: %s\n  replay: "
                    "MEMTLS_SEED=%" PRIu64 " ./test_session_property\n",
                    seed, t->why, g_case, seed);
        g_seed_open = 0; /* reported here already */
        fail();
    }
    mode_count[t->mode]++;
    for (int i = 0; i < 2; i++) {
        sp_end *e = &t->p->end[i];
        memtls_session_stats st;
        memtls_session_get_stats(e->s, &st);
        g_cov.refusals += e->refusals;
        g_cov.paused += (uint64_t)e->paused_calls[1];
        g_cov.key_updates += (uint64_t)t->a[i].key_updates;
        g_cov.tickets += (uint64_t)e->tickets;
        g_cov.discarded += st.discarded_in;
    }
    *bytes += (int64_t)(t->a[0].received + t->a[1].received);
    for (int i = 0; i < 2; i++) {
        free(t->a[i].wbuf);
    }
    sp_free(t->p);
    free(t);
}

static void test_property(void **state)
{
    const char *one = getenv("MEMTLS_SEED");
    const char *count = getenv("MEMTLS_SEEDS");
    uint64_t first = FIRST_SEED;
    uint64_t n = DEFAULT_SEEDS;
    if (one != NULL && one[0] != '\0') {
        first = strtoull(one, NULL, 0);
        n = 1;
    } else if (count != NULL && count[0] != '\0') {
        n = strtoull(count, NULL, 0);
    }
    int modes[3] = {0, 0, 0};
    int64_t bytes = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t i = 0; i < n; i++) {
        g_running_seed = first + i;
        g_seed_open = 1;
        run_seed(first + i, modes, &bytes);
        g_seed_open = 0;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("session property: %" PRIu64 " seeds from %" PRIu64
           " (tls1.3 %d, tls1.2 %d, plaintext %d), %.1f MiB delivered, %.1f s\n",
           n, first, modes[SP_TLS13], modes[SP_TLS12], modes[SP_PLAINTEXT],
           (double)bytes / (1024.0 * 1024.0), secs);
    printf("  exercised: %" PRIu64 " refused (MEMTLS_WANT_WRITE) writes, %" PRIu64
           " partial writes, %" PRIu64 " transport refusals, %" PRIu64 " input pauses, %" PRIu64
           " KeyUpdates, %" PRIu64 " tickets, %" PRIu64 " exact reads, %" PRIu64
           " writes from on_data, %" PRIu64 " writes refused after peer close, %" PRIu64
           " bytes discarded after close\n",
           g_cov.would_block, g_cov.partial, g_cov.refusals, g_cov.paused, g_cov.key_updates,
           g_cov.tickets, g_cov.exact, g_cov.nested, g_cov.cut, g_cov.discarded);
}

/* After an assert inside a helper, name the seed that was running. */
static int teardown(void **state)
{
    if (g_seed_open) {
        print_error("session property: seed %" PRIu64 " failed (case: %s)\n  replay: "
                    "MEMTLS_SEED=%" PRIu64 " ./test_session_property\n",
                    g_running_seed, g_case, g_running_seed);
        g_seed_open = 0;
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_property, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
