/* sessionpair.c - see sessionpair.h. */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include <memtls/openssl.h>

#include "sessionpair.h"
#include "testpki.h"

/* --- PRNG ------------------------------------------------------------------ */

void sp_rng_seed(sp_rng *r, uint64_t seed)
{
    /* splitmix64 of the seed: xorshift must not start at 0, and nearby
     * seeds should not give nearby streams. */
    uint64_t z = seed + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    r->s = z != 0 ? z : 0x2545F4914F6CDD1Dull;
}

uint64_t sp_rng_next(sp_rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

uint64_t sp_rng_below(sp_rng *r, uint64_t n)
{
    return n == 0 ? 0 : sp_rng_next(r) % n;
}

uint64_t sp_rng_range(sp_rng *r, uint64_t lo, uint64_t hi)
{
    return hi <= lo ? lo : lo + sp_rng_below(r, hi - lo + 1);
}

int sp_rng_chance(sp_rng *r, uint64_t num, uint64_t den)
{
    return sp_rng_below(r, den) < num;
}

/* --- PKI and configurations ------------------------------------------------ */

static memtls_pem g_ca;
static memtls_pem g_server;
static memtls_pem g_client;
static int g_pki_made;

static void make_pki(void)
{
    if (g_pki_made) {
        return;
    }
    /* EC keys: the property test makes hundreds of handshakes. */
    g_ca = testpki_ca(MEMTLS_KEY_EC_P256);
    g_server =
        testpki_leaf(&g_ca, MEMTLS_CERT_SERVER, MEMTLS_KEY_EC_P256, "localhost", "localhost", 0, 0);
    g_client = testpki_leaf(&g_ca, MEMTLS_CERT_CLIENT, MEMTLS_KEY_EC_P256, "client", NULL, 0, 0);
    g_pki_made = 1;
}

const memtls_pem *sp_test_ca(void)
{
    make_pki();
    return &g_ca;
}

const memtls_pem *sp_test_server_cert(void)
{
    make_pki();
    return &g_server;
}

const memtls_pem *sp_test_client_cert(void)
{
    make_pki();
    return &g_client;
}

const char *sp_mode_name(sp_mode m)
{
    switch (m) {
    case SP_TLS12:
        return "tls1.2";
    case SP_TLS13:
        return "tls1.3";
    case SP_PLAINTEXT:
        return "plaintext";
    default:
        return "?";
    }
}

/* The client SSL_CTX's new-session callback: one call per session the
 * client learns (TLS 1.3: per NewSessionTicket). */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
    (void)sess;
    sp_end *e = SSL_get_app_data(ssl);
    if (e != NULL) {
        e->tickets++;
    }
    return 0; /* we did not keep a reference */
}

void sp_count_tickets(memtls_config *client_cfg)
{
    SSL_CTX *sctx = memtls_config_ssl_ctx(client_cfg);
    SSL_CTX_set_session_cache_mode(sctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(sctx, on_new_session);
}

void sp_default_configs(sp_mode mode, memtls_config **client, memtls_config **server)
{
    make_pki();
    memtls_config *c = memtls_config_new(MEMTLS_ROLE_CLIENT);
    memtls_config *s = memtls_config_new(MEMTLS_ROLE_SERVER);
    assert_non_null(c);
    assert_non_null(s);
    assert_int_equal(memtls_config_load_cert_pem(s, g_server.cert, g_server.cert_len, g_server.key,
                                                 g_server.key_len),
                     0);
    assert_int_equal(memtls_config_load_ca_pem(c, g_ca.cert, g_ca.cert_len), 0);
    memtls_version_floor v = mode == SP_TLS12 ? MEMTLS_TLS1_2 : MEMTLS_TLS1_3;
    assert_int_equal(memtls_config_set_min_version(c, v), 0);
    assert_int_equal(memtls_config_set_max_version(c, v), 0);
    assert_int_equal(memtls_config_set_min_version(s, v), 0);
    assert_int_equal(memtls_config_set_max_version(s, v), 0);
    sp_count_tickets(c);
    *client = c;
    *server = s;
}

/* --- queues ------------------------------------------------------------------- */

/* Make room for `need` bytes in a buffer that doubles (from 4 KiB). */
static void grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap) {
        return;
    }
    size_t want = *cap ? *cap : 4096;
    while (want < need) {
        want *= 2;
    }
    uint8_t *d = realloc(*buf, want);
    assert_non_null(d);
    *buf = d;
    *cap = want;
}

static void q_append(sp_queue *q, const uint8_t *data, size_t n)
{
    if (n == 0) {
        return;
    }
    if (q->start + q->len + n > q->cap && q->start > 0) {
        memmove(q->data, q->data + q->start, q->len);
        q->start = 0;
    }
    grow(&q->data, &q->cap, q->start + q->len + n);
    memcpy(q->data + q->start + q->len, data, n);
    q->len += n;
}

static void q_consume(sp_queue *q, size_t n)
{
    q->start += n;
    q->len -= n;
    if (q->len == 0) {
        q->start = 0;
    }
}

static void got_append(sp_end *e, const uint8_t *data, size_t n)
{
    grow(&e->got, &e->got_cap, e->got_len + n);
    memcpy(e->got + e->got_len, data, n);
    e->got_len += n;
}

/* --- session callbacks -------------------------------------------------------- */

static size_t cb_send(void *arg, const uint8_t *data, size_t len)
{
    sp_end *e = arg;
    sessionpair *p = e->pair;
    size_t take = len;
    e->send_calls++;
    if (e->refuse_all) {
        take = 0;
    } else if (p->opts.random) {
        /* Mostly all of it, sometimes a random prefix, sometimes nothing. */
        uint64_t r = sp_rng_below(&p->rng, 8);
        if (r == 0) {
            take = 0;
        } else if (r <= 2) {
            take = (size_t)sp_rng_below(&p->rng, (uint64_t)len + 1);
        }
    }
    size_t room = e->capacity > e->out.len ? e->capacity - e->out.len : 0;
    if (take > room) {
        take = room;
    }
    if (take < len) {
        e->refused = 1;
        e->refusals++;
    }
    q_append(&e->out, data, take);
    e->accepted += take;
    return take;
}

static void cb_on_data(void *arg, const uint8_t *data, size_t len)
{
    sp_end *e = arg;
    if (e->data_hook != NULL) {
        e->data_hook(e, data, len);
    } else {
        got_append(e, data, len);
    }
}

static void cb_on_readable(void *arg)
{
    sp_end *e = arg;
    e->readable_calls++;
}

static void cb_on_writable(void *arg)
{
    sp_end *e = arg;
    e->writable_calls++;
    if (e->writable_hook != NULL) {
        e->writable_hook(e);
    }
}

static void cb_on_input_paused(void *arg, int paused)
{
    sp_end *e = arg;
    e->paused_calls[paused ? 1 : 0]++;
    if (!paused) {
        /* The peer's transport may deliver again. */
        e->pair->end[sp_peer(e->idx)].blocked = 0;
    }
}

static void cb_on_state(void *arg, memtls_state from, memtls_state to, memtls_reason why,
                        const char *detail)
{
    sp_end *e = arg;
    if (e->nevents < SP_MAX_EVENTS) {
        sp_event *ev = &e->events[e->nevents];
        ev->from = from;
        ev->to = to;
        ev->why = why;
        snprintf(ev->detail, sizeof ev->detail, "%s", detail != NULL ? detail : "(null)");
        ev->pending_write = memtls_ctx_pending_out(memtls_session_ctx(e->s));
        ev->hs_errors_before = e->hs_error_calls;
        ev->accepted_before = e->accepted;
    }
    e->nevents++;
}

static void cb_on_peer_close(void *arg)
{
    sp_end *e = arg;
    e->peer_close_calls++;
    if (e->peer_close_hook != NULL) {
        e->peer_close_hook(e);
    }
}

static void cb_on_handshake_error(void *arg, const char *text)
{
    sp_end *e = arg;
    e->hs_error_calls++;
    snprintf(e->hs_error, sizeof e->hs_error, "%s", text != NULL ? text : "(null)");
}

/* --- the pair ---------------------------------------------------------------- */

sessionpair *sp_new(const sp_opts *opts)
{
    sessionpair *p = calloc(1, sizeof *p);
    assert_non_null(p);
    p->opts = *opts;
    sp_rng_seed(&p->rng, opts->seed);

    memtls_config *cfg[2] = {opts->cfg[0], opts->cfg[1]};
    int own = 0;
    if (opts->mode != SP_PLAINTEXT && (cfg[0] == NULL || cfg[1] == NULL)) {
        memtls_config *dc = NULL;
        memtls_config *ds = NULL;
        sp_default_configs(opts->mode, &dc, &ds);
        if (cfg[0] == NULL) {
            cfg[0] = dc;
        } else {
            memtls_config_free(dc);
        }
        if (cfg[1] == NULL) {
            cfg[1] = ds;
        } else {
            memtls_config_free(ds);
        }
        own = 1;
    }

    for (int i = 0; i < 2; i++) {
        sp_end *e = &p->end[i];
        e->pair = p;
        e->idx = i;
        e->capacity = SIZE_MAX;
        memtls_role role = i == SP_CLIENT ? MEMTLS_ROLE_CLIENT : MEMTLS_ROLE_SERVER;
        memtls_ctx *ctx =
            opts->mode == SP_PLAINTEXT ? memtls_ctx_new_plaintext(role) : memtls_ctx_new(cfg[i]);
        assert_non_null(ctx);
        if (opts->mode != SP_PLAINTEXT) {
            if (!opts->no_ssl) {
                SSL_set_app_data(memtls_ctx_ssl(ctx), e);
            }
            if (i == SP_CLIENT) {
                assert_int_equal(
                    memtls_ctx_set_hostname(ctx, opts->hostname ? opts->hostname : "localhost"), 0);
            }
        }
        memtls_session_cbs cbs = {0};
        cbs.arg = e;
        cbs.send = cb_send;
        cbs.on_data = opts->push[i] ? cb_on_data : NULL;
        cbs.on_readable = cb_on_readable;
        cbs.on_writable = cb_on_writable;
        cbs.on_input_paused = cb_on_input_paused;
        cbs.on_state = cb_on_state;
        cbs.on_handshake_error = cb_on_handshake_error;
        cbs.on_peer_close = opts->keep_open[i] ? cb_on_peer_close : NULL;
        e->s = memtls_session_new(ctx, &cbs, &opts->limits[i]);
        assert_non_null(e->s);
    }
    if (own) {
        /* The contexts hold their own references. */
        if (opts->cfg[0] == NULL) {
            memtls_config_free(cfg[0]);
        }
        if (opts->cfg[1] == NULL) {
            memtls_config_free(cfg[1]);
        }
    }
    if (!opts->no_start) {
        assert_int_equal(memtls_session_start(p->end[SP_CLIENT].s), 0);
        assert_int_equal(memtls_session_start(p->end[SP_SERVER].s), 0);
    }
    return p;
}

sessionpair *sp_ready(const sp_opts *opts)
{
    sessionpair *p = sp_new(opts);
    if (!sp_handshake(p)) {
        print_error("sp_ready: handshake did not complete: %s\n", sp_describe(p));
        sp_free(p);
        fail();
    }
    sp_run(p, 100);
    return p;
}

void sp_free(sessionpair *p)
{
    if (p == NULL) {
        return;
    }
    for (int i = 0; i < 2; i++) {
        memtls_session_free(p->end[i].s);
        free(p->end[i].out.data);
        free(p->end[i].got);
    }
    free(p);
}

static int terminal(memtls_state st)
{
    return st == MEMTLS_STATE_CLOSED || st == MEMTLS_STATE_AUTHFAIL || st == MEMTLS_STATE_ERROR;
}

/* A transport closes its side once the session's output is finished:
 * the session ended, or (plaintext, which has no close_notify) the
 * application half-closed and everything queued went out. */
static void maybe_eof(sessionpair *p, int from)
{
    sp_end *e = &p->end[from];
    if (p->opts.no_auto_eof || e->eof_sent || e->out.len > 0 ||
        memtls_session_pending_out(e->s) > 0) {
        return;
    }
    memtls_state st = memtls_session_state(e->s);
    int done = terminal(st);
    if (!done && p->opts.mode == SP_PLAINTEXT && e->half_closed &&
        memtls_session_queued_out(e->s) == 0 &&
        memtls_ctx_pending_out(memtls_session_ctx(e->s)) == 0 && st != MEMTLS_STATE_HANDSHAKE) {
        done = 1;
    }
    if (done) {
        sp_eof(p, sp_peer(from));
    }
}

void sp_eof(sessionpair *p, int to)
{
    sp_end *from = &p->end[sp_peer(to)];
    from->eof_sent = 1;
    assert_int_equal(memtls_session_feed_eof(p->end[to].s), 0);
}

/* Flush the sender once its transport has room again after a refusal. */
static void maybe_flush(sessionpair *p, int from)
{
    sp_end *e = &p->end[from];
    if (e->refused && !e->refuse_all && e->out.len < e->capacity) {
        e->refused = 0;
        assert_int_equal(memtls_session_flush(e->s), 0);
    }
}

static size_t chunk_size(sessionpair *p)
{
    if (!p->opts.random) {
        return SIZE_MAX;
    }
    switch (sp_rng_below(&p->rng, 8)) {
    case 0:
        return (size_t)sp_rng_range(&p->rng, 1, 16);
    case 1:
    case 2:
        return (size_t)sp_rng_range(&p->rng, 1, 1500);
    default:
        return (size_t)sp_rng_range(&p->rng, 1, 64 * 1024);
    }
}

size_t sp_deliver(sessionpair *p, int from, size_t max)
{
    sp_end *e = &p->end[from];
    sp_end *to = &p->end[sp_peer(from)];
    size_t moved = 0;
    if (max == 0) {
        max = SIZE_MAX;
    }
    while (e->out.len > 0 && moved < max && !e->blocked) {
        size_t n = chunk_size(p);
        if (n > e->out.len) {
            n = e->out.len;
        }
        if (n > max - moved) {
            n = max - moved;
        }
        int rc = memtls_session_feed(to->s, e->out.data + e->out.start, n);
        if (rc == MEMTLS_WANT_WRITE) {
            /* The session must have told its transport to pause. */
            assert_true(memtls_session_input_paused(to->s));
            e->blocked = 1;
            break;
        }
        if (rc == MEMTLS_CLOSED) {
            e->discarded += n;
        } else {
            assert_int_equal(rc, 0);
        }
        q_consume(&e->out, n);
        e->delivered += n;
        moved += n;
        if (p->opts.random && sp_rng_chance(&p->rng, 1, 4)) {
            break; /* let the other direction and the applications run */
        }
    }
    maybe_flush(p, from);
    maybe_eof(p, from);
    return moved;
}

size_t sp_step(sessionpair *p)
{
    int first = p->opts.random ? (int)sp_rng_below(&p->rng, 2) : 0;
    size_t moved = 0;
    for (int k = 0; k < 2; k++) {
        moved += sp_deliver(p, k == 0 ? first : sp_peer(first), 0);
    }
    return moved;
}

size_t sp_run(sessionpair *p, int max_steps)
{
    size_t total = 0;
    int quiet = 0;
    for (int i = 0; i < max_steps && quiet < 8; i++) {
        size_t moved = sp_step(p);
        total += moved;
        quiet = moved == 0 ? quiet + 1 : 0;
    }
    return total;
}

int sp_handshake(sessionpair *p)
{
    for (int i = 0; i < 100000; i++) {
        memtls_state c = memtls_session_state(p->end[SP_CLIENT].s);
        memtls_state s = memtls_session_state(p->end[SP_SERVER].s);
        if (c != MEMTLS_STATE_HANDSHAKE && s != MEMTLS_STATE_HANDSHAKE) {
            break;
        }
        if (sp_step(p) == 0 && i > 64) {
            break;
        }
    }
    return memtls_session_state(p->end[SP_CLIENT].s) == MEMTLS_STATE_READY &&
           memtls_session_state(p->end[SP_SERVER].s) == MEMTLS_STATE_READY;
}

int sp_inject(sessionpair *p, int to, const void *data, size_t len)
{
    return memtls_session_feed(p->end[to].s, data, len);
}

int sp_shutdown_write(sessionpair *p, int idx)
{
    int rc = memtls_session_shutdown_write(p->end[idx].s);
    if (rc == 0) {
        p->end[idx].half_closed = 1;
        maybe_eof(p, idx);
    }
    return rc;
}

size_t sp_drop(sessionpair *p, int from)
{
    sp_queue *q = &p->end[from].out;
    size_t n = q->len;
    q_consume(q, n);
    return n;
}

size_t sp_read_all(sessionpair *p, int idx)
{
    sp_end *e = &p->end[idx];
    uint8_t buf[16384];
    size_t total = 0;
    for (;;) {
        size_t n = 0;
        if (memtls_session_read(e->s, buf, sizeof buf, &n) != 0) {
            break;
        }
        got_append(e, buf, n);
        total += n;
    }
    return total;
}

void sp_write_all(sessionpair *p, int idx, const void *data, size_t len)
{
    size_t n = 0;
    assert_int_equal(memtls_session_write(p->end[idx].s, data, len, &n), 0);
    assert_int_equal(n, len);
}

const sp_event *sp_last_event(const sessionpair *p, int idx)
{
    const sp_end *e = &p->end[idx];
    if (e->nevents == 0) {
        return NULL;
    }
    int i = e->nevents < SP_MAX_EVENTS ? e->nevents - 1 : SP_MAX_EVENTS - 1;
    return &e->events[i];
}

int sp_saw(const sessionpair *p, int idx, memtls_state to, int why)
{
    const sp_end *e = &p->end[idx];
    int n = e->nevents < SP_MAX_EVENTS ? e->nevents : SP_MAX_EVENTS;
    for (int i = 0; i < n; i++) {
        if (e->events[i].to == to && (why < 0 || (int)e->events[i].why == why)) {
            return 1;
        }
    }
    return 0;
}

size_t sp_leftover(const sessionpair *p, int idx)
{
    const sp_end *e = &p->end[idx];
    memtls_ctx *ctx = memtls_session_ctx(e->s);
    return memtls_ctx_pending_out(ctx) + memtls_ctx_pending_in(ctx) +
           memtls_session_pending_out(e->s) + e->out.len;
}

const char *sp_describe(sessionpair *p)
{
    static char buf[1024];
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < 2 && off < sizeof buf; i++) {
        sp_end *e = &p->end[i];
        memtls_ctx *ctx = memtls_session_ctx(e->s);
        const sp_event *ev = sp_last_event(p, i);
        int n = snprintf(buf + off, sizeof buf - off,
                         "%s: state=%s reason=%s error=\"%s\" wbio=%zu rbio=%zu pending_out=%zu "
                         "queued_out=%zu readable=%zu queue=%zu blocked=%d refused=%d eof_sent=%d "
                         "last=\"%s\"\n",
                         i == SP_CLIENT ? "client" : "server",
                         memtls_state_name(memtls_session_state(e->s)),
                         memtls_reason_name(memtls_session_reason(e->s)),
                         memtls_session_error(e->s), memtls_ctx_pending_out(ctx),
                         memtls_ctx_pending_in(ctx), memtls_session_pending_out(e->s),
                         memtls_session_queued_out(e->s), memtls_session_readable(e->s), e->out.len,
                         e->blocked, e->refused, e->eof_sent, ev != NULL ? ev->detail : "");
        if (n < 0) {
            break;
        }
        off += (size_t)n;
    }
    return buf;
}
