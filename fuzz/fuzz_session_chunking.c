/*
 * fuzz_session_chunking.c - a client and a server memtls_session joined
 * by an in-memory transport whose every move the input chooses: how many
 * bytes each delivery carries, how much of each send() the transport takes
 * (backpressure, refusals), application writes and reads, KeyUpdates,
 * closes and half closes, flushes. Then both transports take everything
 * and the connection is run to its end.
 *
 * Input: [setup] then operations [op] [operand] ... until the input ends.
 *   setup bits 0-1  0 TLS 1.3, 1 TLS 1.2, 2 plaintext, 3 TLS 1.3 with a
 *                   client certificate
 *   setup bit 2/3   client/server in push mode (on_data), else pull mode
 *   setup bits 4-5  session limits: defaults, small, tiny, mixed
 *   setup bit 6     at the end the server closes first (else the client)
 *   op % 16         see the switch in run_op()
 *
 * Checked, not only "no crash":
 *   - every plaintext byte arrives in order and unchanged: each side
 *     writes a position-keyed byte stream and the receiver checks every
 *     byte against its position (no loss inside the stream, no
 *     duplication, no reordering);
 *   - all of it arrives: a side that did not close on its own (close()
 *     discards inbound data by contract) receives exactly the bytes the
 *     peer's session accepted;
 *   - both sessions end CLOSED, with nothing left anywhere: no pending
 *     ciphertext, no queued plaintext, empty write BIOs, empty transports;
 *   - a terminal state never changes, and the byte counters agree with
 *     what the application and the transport saw.
 */
#include <string.h>

#include <memtls/session.h>

#include "fuzz_support.h"

#define CLIENT 0
#define SERVER 1

typedef struct end {
    memtls_session *s;
    int idx;
    int push;
    /* Transport toward the peer: bytes send() took, not yet delivered. */
    fz_buf out;
    size_t out_off;
    int policy;         /* 0: take all; 1: refuse all; 2: take at most `cap` per call */
    size_t cap;         /* per-call cap for policy 2 */
    int refused;        /* send() took less than offered since the last flush */
    int eof_sent;       /* end of stream delivered to the peer */
    uint64_t taken;     /* ciphertext send() took */
    uint64_t delivered; /* bytes the peer's recv took */
    uint64_t discarded; /* bytes the peer refused with MEMTLS_CLOSED */
    /* Application. */
    uint64_t written;  /* plaintext the session accepted */
    uint64_t received; /* plaintext received and checked */
    int local_close;   /* the application called close() while data could be in flight */
    int half_closed;   /* the application called shutdown_write() */
    int terminal_seen; /* on_state reported a terminal state */
} end;

static end g_end[2];
static memtls_config *g_cfg[2][4]; /* [role][mode] */

/* The byte at `pos` of side idx's stream: keyed by position, so a lost,
 * repeated or moved byte shows. */
static uint8_t stream_byte(int idx, uint64_t pos)
{
    uint64_t x = pos * 0x9e3779b97f4a7c15ULL + (uint64_t)idx * 0x632be59bd9b4e019ULL;
    x ^= x >> 29;
    return (uint8_t)(x ^ (x >> 8));
}

static int is_terminal(memtls_state st)
{
    return st == MEMTLS_STATE_CLOSED || st == MEMTLS_STATE_ERROR || st == MEMTLS_STATE_AUTHFAIL;
}

static void check_received(end *e, const uint8_t *data, size_t len)
{
    int from = 1 - e->idx;
    for (size_t i = 0; i < len; i++) {
        FZ_CHECK(data[i] == stream_byte(from, e->received + i),
                 "side %d: byte %llu of the stream is wrong (lost, repeated or reordered)", e->idx,
                 (unsigned long long)(e->received + i));
    }
    e->received += len;
    FZ_CHECK(e->received <= g_end[from].written, "side %d received %llu bytes, only %llu written",
             e->idx, (unsigned long long)e->received, (unsigned long long)g_end[from].written);
}

/* --- session callbacks ------------------------------------------------------ */

static size_t cb_send(void *arg, const uint8_t *data, size_t len)
{
    end *e = arg;
    size_t n = len;
    if (e->policy == 1) {
        n = 0;
    } else if (e->policy == 2 && n > e->cap) {
        n = e->cap;
    }
    fz_buf_append(&e->out, data, n);
    e->taken += n;
    if (n < len) {
        e->refused = 1;
    }
    return n;
}

static void cb_data(void *arg, const uint8_t *data, size_t len)
{
    check_received(arg, data, len);
}

static void cb_state(void *arg, memtls_state from, memtls_state to, memtls_reason why,
                     const char *detail)
{
    end *e = arg;
    (void)why;
    (void)detail;
    FZ_CHECK(!is_terminal(from), "side %d left terminal state %s for %s", e->idx,
             memtls_state_name(from), memtls_state_name(to));
    if (is_terminal(to)) {
        e->terminal_seen = 1;
    }
}

/* --- transport ---------------------------------------------------------------- */

/* The transport has room again: let the sender offer its pending bytes. */
static void flush(end *e)
{
    if (e->refused && e->policy != 1) {
        e->refused = 0;
        FZ_CHECK(memtls_session_flush(e->s) == 0, "flush");
    }
}

static void read_pull(end *e)
{
    uint8_t buf[8192];
    if (e->push) {
        return;
    }
    for (;;) {
        size_t n = 0;
        int rc = memtls_session_read(e->s, buf, sizeof buf, &n);
        if (rc != 0) {
            FZ_CHECK(n == 0, "read status %d with %zu bytes", rc, n);
            return;
        }
        check_received(e, buf, n);
    }
}

/* Deliver at most `max` bytes of e's transport to its peer. Returns the
 * number of bytes that left the transport. */
static size_t deliver(end *e, size_t max)
{
    end *peer = &g_end[1 - e->idx];
    size_t avail = e->out.len - e->out_off;
    size_t n = avail < max ? avail : max;
    size_t moved = 0;

    if (n > 0) {
        int rc = memtls_session_feed(peer->s, e->out.data + e->out_off, n);
        if (rc == 0 || rc == MEMTLS_CLOSED) {
            if (rc == MEMTLS_CLOSED) {
                e->discarded += n;
            }
            e->out_off += n;
            e->delivered += n;
            moved = n;
        } else {
            FZ_CHECK(rc == MEMTLS_WANT_WRITE, "recv status %d", rc);
        }
    }
    if (e->out_off == e->out.len) {
        e->out_off = e->out.len = 0;
    }
    flush(e);
    /* End of stream once the sender is finished and everything it sent
     * was delivered: a socket transport closes after the last byte. A
     * plaintext half close travels as end of stream too. */
    memtls_state st = memtls_session_state(e->s);
    int done = is_terminal(st) || (e->half_closed && !memtls_ctx_is_tls(memtls_session_ctx(e->s)) &&
                                   memtls_session_queued_out(e->s) == 0);
    if (done && !e->eof_sent && e->out.len == 0 && memtls_session_pending_out(e->s) == 0) {
        e->eof_sent = 1;
        FZ_CHECK(memtls_session_feed_eof(peer->s) == 0, "recv_eof");
    }
    read_pull(peer);
    return moved;
}

static void app_write(end *e, size_t len)
{
    uint8_t buf[65536];
    size_t accepted = 0;
    if (len > sizeof buf) {
        len = sizeof buf;
    }
    for (size_t i = 0; i < len; i++) {
        buf[i] = stream_byte(e->idx, e->written + i);
    }
    int rc = memtls_session_write(e->s, buf, len, &accepted);
    FZ_CHECK(rc == 0 ? accepted <= len && (accepted > 0 || len == 0) : accepted == 0,
             "write status %d accepted %zu of %zu", rc, accepted, len);
    e->written += accepted;
}

static size_t chunk_len(uint8_t b)
{
    /* Mostly small chunks, sometimes up to ~64 KiB. */
    return (b & 0x80) ? (size_t)(b & 0x7f) * 512 + 1 : (size_t)b + 1;
}

static void run_op(fz_in *in)
{
    uint8_t op = fz_u8(in);
    uint8_t arg = fz_u8(in);
    end *e = &g_end[op & 1];

    switch ((op >> 1) & 7) {
    case 0: /* deliver */
        (void)deliver(e, chunk_len(arg));
        break;
    case 1: /* application write */
        app_write(e, (size_t)arg * arg + (arg & 3));
        break;
    case 2: /* transport policy */
        e->policy = arg % 3;
        e->cap = (size_t)(arg >> 2) * 13 + 1;
        flush(e);
        break;
    case 3: /* KeyUpdate (TLS 1.3 READY only; refused otherwise) */
        (void)memtls_session_key_update(e->s, arg & 1);
        break;
    case 4: /* pull read: a bounded amount */
        if (!e->push) {
            uint8_t buf[4096];
            size_t n = 0;
            size_t want = (size_t)arg * 16 + 1;
            if (memtls_session_read(e->s, buf, want, &n) == 0) {
                check_received(e, buf, n);
            }
        }
        break;
    case 5: /* close or half close, once the handshake is done on this side */
        if (memtls_session_state(e->s) == MEMTLS_STATE_READY && !e->local_close &&
            !e->half_closed) {
            if (arg & 1) {
                e->half_closed = 1;
                FZ_CHECK(memtls_session_shutdown_write(e->s) == 0, "shutdown_write");
            } else {
                e->local_close = 1;
                FZ_CHECK(memtls_session_close(e->s) == 0, "close");
            }
        }
        break;
    case 6: /* flush */
        FZ_CHECK(memtls_session_flush(e->s) == 0, "flush");
        break;
    default: /* both directions, one chunk each */
        (void)deliver(&g_end[CLIENT], chunk_len(arg));
        (void)deliver(&g_end[SERVER], chunk_len(arg));
        break;
    }
}

/* Anything that moved: bytes, end of stream, states. */
static uint64_t progress_mark(void)
{
    uint64_t m = 0;
    for (int i = 0; i < 2; i++) {
        const end *e = &g_end[i];
        m += e->taken + e->delivered + e->discarded + e->received + (uint64_t)e->eof_sent +
             (uint64_t)memtls_session_state(e->s);
    }
    return m;
}

/* Both transports take everything; deliver until nothing moves. */
static void settle(void)
{
    for (int i = 0; i < 2; i++) {
        g_end[i].policy = 0;
        g_end[i].refused = 1; /* offer whatever was refused */
        flush(&g_end[i]);
    }
    for (int round = 0; round < 10000; round++) {
        uint64_t before = progress_mark();
        (void)deliver(&g_end[CLIENT], SIZE_MAX);
        (void)deliver(&g_end[SERVER], SIZE_MAX);
        if (progress_mark() == before) {
            return;
        }
    }
    FZ_CHECK(0, "the connection does not settle");
}

static memtls_session *make_session(int idx, unsigned setup)
{
    static const memtls_session_limits limits[4] = {
        {0, 0, 0, 0, 0},
        {1024, 2048, 1024, 2048, 0},
        {1, 1, 1, 1, 0},
        {100, 0, 5000, 1, 0},
    };
    unsigned mode = setup & 3u;
    memtls_ctx *ctx;
    memtls_session_cbs cbs;

    if (mode == 2) {
        ctx = memtls_ctx_new_plaintext(idx == CLIENT ? MEMTLS_ROLE_CLIENT : MEMTLS_ROLE_SERVER);
    } else {
        ctx = memtls_ctx_new(g_cfg[idx][mode]);
        if (ctx != NULL && idx == CLIENT) {
            FZ_CHECK(memtls_ctx_set_hostname(ctx, "localhost") == 0, "hostname");
        }
    }
    FZ_CHECK(ctx != NULL, "context");
    memset(&cbs, 0, sizeof cbs);
    cbs.arg = &g_end[idx];
    cbs.send = cb_send;
    cbs.on_state = cb_state;
    if (g_end[idx].push) {
        cbs.on_data = cb_data;
    }
    memtls_session *s = memtls_session_new(ctx, &cbs, &limits[(setup >> 4) & 3u]);
    FZ_CHECK(s != NULL, "session");
    return s;
}

static void check_end(unsigned setup)
{
    for (int i = 0; i < 2; i++) {
        end *e = &g_end[i];
        end *peer = &g_end[1 - i];
        memtls_session_stats st;
        memtls_state state = memtls_session_state(e->s);
        FZ_CHECK(state == MEMTLS_STATE_CLOSED, "side %d ends %s (%s: %s)", i,
                 memtls_state_name(state), memtls_reason_name(memtls_session_reason(e->s)),
                 memtls_session_error(e->s));
        FZ_CHECK(e->terminal_seen, "side %d: no on_state for the end", i);
        FZ_CHECK(memtls_session_pending_out(e->s) == 0 && memtls_session_queued_out(e->s) == 0,
                 "side %d: %zu bytes pending, %zu queued", i, memtls_session_pending_out(e->s),
                 memtls_session_queued_out(e->s));
        FZ_CHECK(memtls_ctx_pending_out(memtls_session_ctx(e->s)) == 0, "side %d: write BIO", i);
        FZ_CHECK(e->out.len == 0, "side %d: transport still holds %zu bytes", i, e->out.len);
        if (!e->local_close) {
            FZ_CHECK(e->received == peer->written,
                     "side %d received %llu of the %llu bytes the peer's session accepted "
                     "(setup 0x%02x)",
                     i, (unsigned long long)e->received, (unsigned long long)peer->written, setup);
        }
        memtls_session_get_stats(e->s, &st);
        FZ_CHECK(st.plaintext_in == e->received && st.plaintext_out == e->written,
                 "side %d counters: in %llu/%llu out %llu/%llu", i,
                 (unsigned long long)st.plaintext_in, (unsigned long long)e->received,
                 (unsigned long long)st.plaintext_out, (unsigned long long)e->written);
        FZ_CHECK(st.ciphertext_out == e->taken, "side %d ciphertext out %llu, transport %llu", i,
                 (unsigned long long)st.ciphertext_out, (unsigned long long)e->taken);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_cfg[0][0] == NULL) {
        fz_rand_install();
        g_cfg[CLIENT][0] = fz_config(MEMTLS_ROLE_CLIENT, FZ_TLS13_ONLY);
        g_cfg[SERVER][0] = fz_config(MEMTLS_ROLE_SERVER, 0);
        g_cfg[CLIENT][1] = fz_config(MEMTLS_ROLE_CLIENT, FZ_TLS12_ONLY);
        g_cfg[SERVER][1] = fz_config(MEMTLS_ROLE_SERVER, 0);
        g_cfg[CLIENT][3] = fz_config(MEMTLS_ROLE_CLIENT, FZ_MUTUAL | FZ_TLS13_ONLY);
        g_cfg[SERVER][3] = fz_config(MEMTLS_ROLE_SERVER, FZ_MUTUAL);
    }
    fz_in in = {data, size};
    unsigned setup = fz_u8(&in);

    fz_rand_reset(FZ_SEED_CLIENT);
    memset(g_end, 0, sizeof g_end);
    for (int i = 0; i < 2; i++) {
        g_end[i].idx = i;
        g_end[i].push = (setup >> (2 + i)) & 1u;
        g_end[i].s = make_session(i, setup);
    }
    FZ_CHECK(memtls_session_start(g_end[CLIENT].s) == 0, "client start");
    FZ_CHECK(memtls_session_start(g_end[SERVER].s) == 0, "server start");

    while (in.n > 0) {
        run_op(&in);
    }

    /* Run to the end: finish the handshake and every transfer, then close
     * whatever side has not closed yet, in the order the setup says. Such
     * a close loses nothing: everything was delivered and read first. */
    settle();
    int first = (setup & 0x40) ? SERVER : CLIENT;
    for (int k = 0; k < 2; k++) {
        end *e = &g_end[k == 0 ? first : 1 - first];
        if (memtls_session_state(e->s) == MEMTLS_STATE_READY && !e->half_closed &&
            !e->local_close) {
            FZ_CHECK(memtls_session_close(e->s) == 0, "close");
        }
        settle();
    }
    check_end(setup);

    for (int i = 0; i < 2; i++) {
        memtls_session_free(g_end[i].s);
        fz_buf_free(&g_end[i].out);
    }
    return 0;
}
