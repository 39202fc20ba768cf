/*
 * worker_conn.c - one connection on its worker: the session, the
 * application (echo, proxy, custom), flow control and the end of the
 * connection.
 *
 * IMPLEMENTATION NOTES
 *
 * Session callbacks only record what happened (flags) and hand ciphertext
 * to the ring; the work is done by progress(), which runs after every
 * message for the connection and loops until nothing changes. So the
 * session is never re-entered from its own callbacks, and there is one
 * place that decides what to do next.
 *
 * Flow, client -> application: H_DATA goes straight into the session
 * (memtls_session_feed). When the session refuses (its inbound buffer is
 * over its limit because the application is not consuming), the bytes
 * wait in in_hold, and W_PAUSE stops the host reading that socket; the
 * bytes already in flight are bounded by the ring. Plaintext is pulled
 * with memtls_session_read in chunks of RT_APP_CHUNK and offered to the
 * application; what it does not consume waits in app_hold, and nothing
 * more is read until it does.
 *
 * Flow, application -> client: the session's send callback writes
 * W_DATA messages while the connection has credit (write_window bytes not
 * yet written by the host) and the ring has room; the rest stays in the
 * session's pending_out, which pauses encryption, which makes
 * memtls_session_write push back on the application. H_ACK (credit) and
 * ring room resume it.
 *
 * Proxy: plaintext from the client becomes W_BK_DATA under the backend's
 * credit; H_BK_DATA is written into the session, and what it cannot queue
 * waits in bk_hold while W_PAUSE stops the host reading the backend. So a
 * slow reader on either side stops reading on the other side.
 *
 * Proxy half-close: the two directions end independently, as TCP
 * proxies do. The session runs with on_peer_close, so the client's
 * close_notify (plaintext: FIN) only ends the client -> backend
 * direction: once the client's last plaintext is on its way, W_BK_SHUTDOWN
 * half-closes the backend, and backend bytes keep flowing to the client
 * until the backend's EOF; then the session closes (queued data,
 * close_notify). The other way round, a backend EOF (after its last bytes
 * are queued in the session) becomes memtls_session_shutdown_write() --
 * close_notify while still reading -- and, once that is with the host,
 * W_SHUTDOWN (FIN) on the client socket; client bytes keep flowing to the
 * backend until the client closes too. Either wait is bounded by the idle
 * timeout.
 *
 * The end: a connection is finishing when its session reached a terminal
 * state, the host reported a reset, or it could not be set up. Once the
 * session's last ciphertext (close_notify or alert) has been handed to the
 * host, W_CLOSE releases the id; the host then flushes and closes the
 * sockets. The only message a released id still gets an answer to is
 * H_RESET (see worker.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"

#define HOLD_LIMIT_MIN (1u << 20)

/* --- helpers ------------------------------------------------------------------ */

static memtls_server *srv_of(const rt_wconn *c)
{
    return c->w->srv;
}

/* Record why the connection ends (the first reason sticks). */
static void set_reason(rt_wconn *c, int failed, const char *text, const char *detail)
{
    if (c->reason[0] != '\0') {
        return;
    }
    snprintf(c->reason, sizeof c->reason, "%s%s", text, detail != NULL ? detail : "");
    c->failed = failed;
}

static void close_session(rt_wconn *c)
{
    if (c->s != NULL) {
        (void)memtls_session_close(c->s);
    }
    c->dirty = 1;
}

/* --- session callbacks ------------------------------------------------------------ */

static size_t sess_send(void *arg, const uint8_t *data, size_t len)
{
    rt_wconn *c = arg;
    rt_worker *w = c->w;
    size_t window = srv_of(c)->write_window;
    size_t done = 0;
    while (done < len && c->out_inflight < window) {
        size_t n = len - done;
        if (n > w->max_msg) {
            n = w->max_msg;
        }
        if (n > window - c->out_inflight) {
            n = window - c->out_inflight;
        }
        if (memtls__wput(w, MSG_W_DATA, c->id, data + done, n, NULL, 0) != 0) {
            memtls__wconn_block(c);
            break;
        }
        done += n;
        c->out_inflight += n;
    }
    return done;
}

static void sess_readable(void *arg)
{
    rt_wconn *c = arg;
    c->dirty = 1;
}

static void sess_writable(void *arg)
{
    rt_wconn *c = arg;
    c->writable = 1;
    c->dirty = 1;
}

static void sess_input_paused(void *arg, int paused)
{
    rt_wconn *c = arg;
    (void)paused;
    c->dirty = 1;
}

static void sess_state(void *arg, memtls_state from, memtls_state to, memtls_reason why,
                       const char *detail)
{
    rt_wconn *c = arg;
    (void)from;
    c->dirty = 1;
    switch (to) {
    case MEMTLS_STATE_READY:
        c->became_ready = 1;
        break;
    case MEMTLS_STATE_CLOSING:
        if (why == MEMTLS_REASON_PEER_CLOSED) {
            c->peer_closed = 1;
        }
        break;
    case MEMTLS_STATE_CLOSED:
        set_reason(c, 0, why == MEMTLS_REASON_PEER_CLOSED ? "peer closed" : "closed cleanly", NULL);
        break;
    case MEMTLS_STATE_AUTHFAIL:
        set_reason(c, 1, "auth failed: ", detail);
        break;
    case MEMTLS_STATE_ERROR:
        if (why == MEMTLS_REASON_TRUNCATED) {
            set_reason(c, 1, "truncated: ", detail);
        } else {
            set_reason(c, 1, "protocol error: ", detail);
        }
        break;
    case MEMTLS_STATE_HANDSHAKE:
    default:
        break;
    }
}

/* Half-close aware sessions only (echo, proxy, custom with on_peer_close):
 * the client finished sending; the session stays open for writes. */
static void sess_peer_close(void *arg)
{
    rt_wconn *c = arg;
    c->peer_closed = 1;
    c->dirty = 1;
}

static void sess_hs_error(void *arg, const char *text)
{
    rt_wconn *c = arg;
    memtls__log(srv_of(c), MEMTLS_LOG_DEBUG, "conn %llu (%s): handshake failed: %s",
                (unsigned long long)rt_seq(c->id), c->peer, text);
}

/* --- the application ------------------------------------------------------------ */

static void on_timer(uv_timer_t *t);

/* Push plaintext to the backend under its credit; returns bytes taken. */
static size_t proxy_push(rt_wconn *c, const uint8_t *data, size_t len)
{
    rt_worker *w = c->w;
    size_t window = srv_of(c)->write_window;
    if (c->bk_state == BK_FAILED) {
        return len; /* nowhere to go; the connection is closing */
    }
    if (c->bk_state != BK_OPEN) {
        return 0;
    }
    size_t done = 0;
    while (done < len && c->bk_inflight < window) {
        size_t n = len - done;
        if (n > w->max_msg) {
            n = w->max_msg;
        }
        if (n > window - c->bk_inflight) {
            n = window - c->bk_inflight;
        }
        if (memtls__wput(w, MSG_W_BK_DATA, c->id, data + done, n, NULL, 0) != 0) {
            memtls__wconn_block(c);
            break;
        }
        done += n;
        c->bk_inflight += n;
    }
    return done;
}

static size_t app_offer(rt_wconn *c, const uint8_t *data, size_t len)
{
    memtls_server *srv = srv_of(c);
    size_t n = 0;
    switch (srv->app) {
    case MEMTLS_APP_ECHO: {
        int rc = memtls_session_write(c->s, data, len, &n);
        if (rc == MEMTLS_WANT_WRITE) {
            n = 0;
        } else if (rc != 0) {
            n = len; /* closing: what the client sent after close is dropped */
        }
        break;
    }
    case MEMTLS_APP_PROXY:
        n = proxy_push(c, data, len);
        break;
    case MEMTLS_APP_CUSTOM:
        n = srv->custom.on_data(srv->custom.arg, c, data, len);
        break;
    default:
        n = len;
        break;
    }
    return n > len ? len : n;
}

/* Offer held, then new plaintext to the application until it stops
 * consuming or nothing is left. */
static void app_input(rt_wconn *c)
{
    rt_worker *w = c->w;
    if (!c->opened || c->abort) {
        return;
    }
    if (c->app_hold.len > 0) {
        size_t n = app_offer(c, memtls__bytebuf_head(&c->app_hold), c->app_hold.len);
        memtls__bytebuf_consume(&c->app_hold, n);
        if (c->app_hold.len > 0) {
            return;
        }
        c->dirty = 1;
    }
    for (;;) {
        size_t got = 0;
        if (memtls_session_read(c->s, w->scratch, RT_APP_CHUNK, &got) != 0) {
            break;
        }
        size_t n = app_offer(c, w->scratch, got);
        if (n < got) {
            if (memtls__bytebuf_append(&c->app_hold, w->scratch + n, got - n) != 0) {
                set_reason(c, 1, "out of memory", NULL);
                c->finishing = 1;
                c->abort = 1;
            }
            break;
        }
    }
}

static void on_ready(rt_wconn *c)
{
    memtls_server *srv = srv_of(c);
    memtls_ctx *ctx = memtls_session_ctx(c->s);
    /* The handshake timer is done: from now on the idle timeout counts
     * (without this, a TLS connection idled for the handshake timeout
     * whenever that was the longer of the two). */
    uv_timer_start(&c->timer, on_timer, srv->idle_timeout_ms, 0);
    if (!c->plaintext && srv->nallowed > 0) {
        int ok = 0;
        for (size_t i = 0; i < srv->nallowed && !ok; i++) {
            ok = memtls_ctx_peer_has_name(ctx, srv->allowed[i]);
        }
        if (!ok) {
            const char *subj = memtls_ctx_peer_subject(ctx);
            set_reason(c, 1, "peer not allowed: ", subj[0] ? subj : "no certificate");
            close_session(c);
            return;
        }
    }
    c->opened = 1;
    if (srv->app == MEMTLS_APP_PROXY) {
        /* Ask for the backend in the next round (send_controls): a client
         * that waits for the backend to speak first (a banner) sends
         * nothing that would run progress() again. */
        c->bk_state = BK_WANT;
        c->dirty = 1;
    } else if (srv->app == MEMTLS_APP_CUSTOM && srv->custom.on_open != NULL) {
        if (srv->custom.on_open(srv->custom.arg, c) != 0) {
            set_reason(c, 0, "closed by the application", NULL);
            close_session(c);
        }
    }
}

/* --- inbound ------------------------------------------------------------------ */

static size_t hold_limit(const rt_wconn *c)
{
    size_t cap = srv_of(c)->ring_capacity * 4;
    return cap > HOLD_LIMIT_MIN ? cap : HOLD_LIMIT_MIN;
}

static void hold_or_fail(rt_wconn *c, memtls__bytebuf *b, const uint8_t *data, size_t len)
{
    if (b->len + len > hold_limit(c) || memtls__bytebuf_append(b, data, len) != 0) {
        set_reason(c, 1, "input overflow", NULL);
        c->finishing = 1;
        c->abort = 1;
    }
}

static void feed_input(rt_wconn *c)
{
    while (c->in_hold.len > 0) {
        int rc = memtls_session_feed(c->s, memtls__bytebuf_head(&c->in_hold), c->in_hold.len);
        if (rc == MEMTLS_WANT_WRITE) {
            break;
        }
        memtls__bytebuf_consume(&c->in_hold, c->in_hold.len);
        c->dirty = 1;
    }
    if (c->in_hold.len == 0 && c->eof_pending && !c->eof_fed) {
        c->eof_fed = 1;
        (void)memtls_session_feed_eof(c->s);
        c->dirty = 1;
    }
    c->want_pause[RT_SIDE_CLIENT] =
        c->stopping || c->in_hold.len > 0 || memtls_session_input_paused(c->s);
}

static void feed_backend(rt_wconn *c)
{
    while (c->bk_hold.len > 0) {
        size_t n = 0;
        int rc = memtls_session_write(c->s, memtls__bytebuf_head(&c->bk_hold), c->bk_hold.len, &n);
        if (rc == MEMTLS_WANT_WRITE) {
            break;
        }
        if (rc != 0) {
            n = c->bk_hold.len; /* the session is closing: drop */
        }
        memtls__bytebuf_consume(&c->bk_hold, n);
        c->dirty = 1;
    }
    c->want_pause[RT_SIDE_BACKEND] = c->bk_hold.len > 0;
    if (c->bk_hold.len == 0 && c->bk_eof_pending && !c->bk_eof_fed) {
        /* The backend's last byte is queued in the session. */
        c->bk_eof_fed = 1;
        if (c->peer_closed) {
            /* Both directions are finished: the client closed first and
             * the backend has answered. */
            set_reason(c, 0, "peer closed", NULL);
            close_session(c);
        } else if (c->bk_state != BK_OPEN) {
            /* The backend socket is gone too (it reset what the client
             * sent after its FIN): nothing the client sends can go
             * anywhere, so close both ways. */
            set_reason(c, 0, "backend closed", NULL);
            close_session(c);
        } else {
            /* Half-close towards the client: close_notify now, FIN once
             * it is with the host (client_half_close), and keep relaying
             * the client's bytes to the backend. */
            c->cl_half = 1;
            (void)memtls_session_shutdown_write(c->s);
            c->dirty = 1;
        }
    }
}

/* The backend finished first: once our close_notify (and everything
 * before it) is with the host, shut the client socket's write side. */
static void client_half_close(rt_wconn *c)
{
    if (c->cl_half != 1 || memtls_session_state(c->s) != MEMTLS_STATE_READY ||
        memtls_session_queued_out(c->s) > 0 || memtls_session_pending_out(c->s) > 0) {
        return;
    }
    if (memtls__wput(c->w, MSG_W_SHUTDOWN, c->id, NULL, 0, NULL, 0) != 0) {
        memtls__wconn_block(c);
        return;
    }
    c->cl_half = 2;
}

/* The client finished sending: once every byte it sent has been offered to
 * the application (and, for the proxy, taken towards the backend), tell the
 * application -- the proxy half-closes the backend. */
static void client_done(rt_wconn *c)
{
    memtls_server *srv = srv_of(c);
    if (!c->peer_closed || c->peer_close_told || c->app_hold.len > 0 ||
        memtls_session_readable(c->s) > 0) {
        return;
    }
    switch (srv->app) {
    case MEMTLS_APP_PROXY:
        if (c->bk_state == BK_WANT || c->bk_state == BK_CONNECTING) {
            return; /* the client's bytes wait in app_hold for the backend */
        }
        if (c->bk_state == BK_OPEN) {
            if (memtls__wput(c->w, MSG_W_BK_SHUTDOWN, c->id, NULL, 0, NULL, 0) != 0) {
                memtls__wconn_block(c);
                return;
            }
            c->bk_shut_sent = 1;
        }
        break;
    case MEMTLS_APP_CUSTOM:
        if (c->opened && srv->custom.on_peer_close != NULL) {
            srv->custom.on_peer_close(srv->custom.arg, c);
        }
        break;
    case MEMTLS_APP_ECHO:
        /* Every byte the client sent before its close has been echoed
         * (queued in the session): now flush and send close_notify. */
        close_session(c);
        break;
    default:
        break;
    }
    c->peer_close_told = 1;
    c->dirty = 1;
}

/* --- control messages ------------------------------------------------------------ */

static int send_controls(rt_wconn *c)
{
    for (int side = 0; side < 2; side++) {
        if (c->want_pause[side] != c->sent_pause[side]) {
            rt_msg_side m = {(uint32_t)side};
            uint32_t type = c->want_pause[side] ? MSG_W_PAUSE : MSG_W_RESUME;
            if (memtls__wput(c->w, type, c->id, &m, sizeof m, NULL, 0) != 0) {
                memtls__wconn_block(c);
                return 1;
            }
            c->sent_pause[side] = c->want_pause[side];
        }
    }
    if (c->bk_state == BK_WANT) {
        if (memtls__wput(c->w, MSG_W_BK_CONNECT, c->id, NULL, 0, NULL, 0) != 0) {
            memtls__wconn_block(c);
            return 1;
        }
        c->bk_state = BK_CONNECTING;
    }
    return 0;
}

/* --- the end ------------------------------------------------------------------ */

static void on_timer_closed(uv_handle_t *h)
{
    rt_wconn *c = h->data;
    free(c);
}

static void emit_record(rt_wconn *c)
{
    memtls_server *srv = srv_of(c);
    if (srv->on_conn_log == NULL) {
        return;
    }
    memtls_conn_record rec;
    memset(&rec, 0, sizeof rec);
    rec.id = rt_seq(c->id);
    rec.listener = c->listener;
    rec.plaintext = c->plaintext;
    rec.peer = c->peer;
    rec.sni = rec.version = rec.cipher = rec.alpn = rec.subject = "";
    rec.bytes_in = c->bytes_in;
    if (c->s != NULL) {
        memtls_ctx *ctx = memtls_session_ctx(c->s);
        memtls_session_stats st;
        memtls_session_get_stats(c->s, &st);
        rec.bytes_out = st.ciphertext_out;
        rec.app_in = st.plaintext_in;
        rec.app_out = st.plaintext_out;
        rec.sni = memtls_ctx_sni(ctx);
        rec.version = memtls_ctx_protocol(ctx);
        rec.cipher = memtls_ctx_cipher(ctx);
        rec.alpn = memtls_ctx_alpn(ctx);
        rec.subject = memtls_ctx_peer_subject(ctx);
    }
    uint64_t now = uv_now(&c->w->loop);
    rec.duration_ms = now > c->start_ms ? now - c->start_ms : 0;
    rec.clean = !c->failed;
    rec.reason = c->reason[0] ? c->reason : "closed";
    srv->on_conn_log(srv->log_arg, &rec);
}

/* Free everything of c; the id is already released (or never will be
 * needed again). */
static void release(rt_wconn *c)
{
    memtls_server *srv = srv_of(c);
    if (c->reason[0] == '\0') {
        set_reason(c, 1, "closed", NULL);
    }
    emit_record(c);
    if (c->failed) {
        atomic_fetch_add_explicit(&srv->conns_failed, 1, memory_order_relaxed);
    }
    if (srv->app == MEMTLS_APP_CUSTOM && srv->custom.on_close != NULL) {
        srv->custom.on_close(srv->custom.arg, c, c->reason);
    }
    memtls__wconn_unlink(c);
    memtls_session_free(c->s);
    c->s = NULL;
    memtls__bytebuf_free(&c->in_hold);
    memtls__bytebuf_free(&c->bk_hold);
    memtls__bytebuf_free(&c->app_hold);
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}

/* Finishing: release the id once the last ciphertext is with the host.
 * Returns 1 if c was freed. */
static int try_release(rt_wconn *c)
{
    if (!c->abort && c->s != NULL) {
        if (memtls_session_pending_out(c->s) > 0) {
            return 0; /* waits for credit or ring room */
        }
        if (srv_of(c)->app == MEMTLS_APP_PROXY && c->bk_state == BK_OPEN &&
            (c->app_hold.len > 0 || memtls_session_readable(c->s) > 0)) {
            return 0; /* the client's last plaintext still goes to the backend */
        }
    }
    rt_msg_close m = {(uint32_t)c->abort};
    if (memtls__wput(c->w, MSG_W_CLOSE, c->id, &m, sizeof m, NULL, 0) != 0) {
        memtls__wconn_block(c);
        return 0;
    }
    release(c);
    return 1;
}

static int session_terminal(const rt_wconn *c)
{
    memtls_state st = memtls_session_state(c->s);
    return st == MEMTLS_STATE_CLOSED || st == MEMTLS_STATE_ERROR || st == MEMTLS_STATE_AUTHFAIL;
}

static void stop_when_drained(rt_wconn *c);

void memtls__wconn_progress(rt_wconn *c)
{
    memtls_server *srv = srv_of(c);
    for (int round = 0; round < 64; round++) {
        c->dirty = 0;
        (void)send_controls(c);
        if (c->s != NULL && !c->abort) {
            feed_input(c);
            if (c->became_ready) {
                c->became_ready = 0;
                on_ready(c);
            }
            feed_backend(c);
            app_input(c);
            if (c->writable) {
                c->writable = 0;
                if (srv->app == MEMTLS_APP_CUSTOM && c->opened && srv->custom.on_writable) {
                    srv->custom.on_writable(srv->custom.arg, c);
                }
            }
            client_done(c);
            stop_when_drained(c);
            (void)memtls_session_flush(c->s);
            client_half_close(c);
            if (session_terminal(c)) {
                c->finishing = 1;
            }
        }
        if (c->finishing) {
            if (try_release(c)) {
                return;
            }
        }
        if (!c->dirty) {
            break;
        }
    }
}

/* --- timers ------------------------------------------------------------------ */

static void on_timer(uv_timer_t *t)
{
    rt_wconn *c = t->data;
    memtls_server *srv = srv_of(c);
    uint64_t now = uv_now(&c->w->loop);
    uint64_t due;
    if (c->finishing || (c->s != NULL && memtls_session_state(c->s) == MEMTLS_STATE_CLOSING)) {
        /* Still flushing after the idle time: the peer is not reading. */
        due = c->last_ms + srv->idle_timeout_ms;
        if (now >= due) {
            set_reason(c, 1, "idle timeout while closing", NULL);
            c->finishing = 1;
            c->abort = 1;
            memtls__wconn_progress(c);
            return;
        }
    } else if (!c->opened && c->s != NULL && memtls_session_state(c->s) == MEMTLS_STATE_HANDSHAKE) {
        due = c->start_ms + srv->hs_timeout_ms;
        if (now >= due) {
            set_reason(c, 1, "handshake timeout", NULL);
            close_session(c);
            memtls__wconn_progress(c);
            return;
        }
    } else {
        due = c->last_ms + srv->idle_timeout_ms;
        if (now >= due) {
            set_reason(c, 1, "idle timeout", NULL);
            close_session(c);
            memtls__wconn_progress(c);
            if (c->w->conns[rt_slot(c->id)] != c) {
                return;
            }
            due = now + srv->idle_timeout_ms; /* then as "while closing" */
        }
    }
    uv_timer_start(&c->timer, on_timer, due > now ? due - now : 1, 0);
}

/* --- lifecycle ------------------------------------------------------------------ */

void memtls__wconn_start(rt_worker *w, uint64_t id, const memtls_ring_msg *m)
{
    memtls_server *srv = w->srv;
    rt_msg_start st;
    memset(&st, 0, sizeof st);
    memcpy(&st, m->data, m->len < sizeof st ? m->len : sizeof st);
    st.peer[sizeof st.peer - 1] = '\0';

    rt_wconn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        rt_msg_close cm = {1};
        /* Best effort: without memory we cannot even remember to retry. */
        (void)memtls__wput(w, MSG_W_CLOSE, id, &cm, sizeof cm, NULL, 0);
        return;
    }
    c->id = id;
    c->w = w;
    c->listener = st.listener;
    c->plaintext = st.plaintext != 0;
    memcpy(c->peer, st.peer, sizeof c->peer);
    c->start_ms = c->last_ms = uv_now(&w->loop);
    uv_timer_init(&w->loop, &c->timer);
    c->timer.data = c;
    w->conns[rt_slot(id)] = c;
    c->next_all = w->all;
    if (w->all != NULL) {
        w->all->prev_all = c;
    }
    w->all = c;
    w->live++;

    memtls_ctx *ctx = NULL;
    if (c->plaintext) {
        ctx = memtls_ctx_new_plaintext(MEMTLS_ROLE_SERVER);
    } else {
        memtls_config *cfg = memtls__server_cfg(srv);
        if (cfg != NULL) {
            ctx = memtls_ctx_new(cfg);
            memtls_config_free(cfg);
        }
    }
    memtls_session_cbs cbs;
    memset(&cbs, 0, sizeof cbs);
    cbs.arg = c;
    cbs.send = sess_send;
    cbs.on_readable = sess_readable;
    cbs.on_writable = sess_writable;
    cbs.on_input_paused = sess_input_paused;
    cbs.on_state = sess_state;
    cbs.on_handshake_error = sess_hs_error;
    if (srv->app == MEMTLS_APP_PROXY || srv->app == MEMTLS_APP_ECHO ||
        (srv->app == MEMTLS_APP_CUSTOM && srv->custom.on_peer_close != NULL)) {
        /* The client's close ends only its direction (see the notes); echo
         * uses it too, so bytes that arrive with the close_notify are
         * still echoed before ours. */
        cbs.on_peer_close = sess_peer_close;
    }
    if (ctx != NULL) {
        c->s = memtls_session_new(ctx, &cbs, &srv->limits);
    }
    if (c->s == NULL) {
        set_reason(c, 1, "refused: cannot create a session (no certificate or no memory)", NULL);
        c->finishing = 1;
    } else if (w->stopping) {
        set_reason(c, 0, "refused: server stopping", NULL);
        c->finishing = 1;
        c->abort = 0;
    } else {
        (void)memtls_session_start(c->s);
        unsigned first = c->plaintext ? srv->idle_timeout_ms : srv->hs_timeout_ms;
        uv_timer_start(&c->timer, on_timer, first, 0);
    }
    memtls__wconn_progress(c);
}

void memtls__wconn_on_message(rt_wconn *c, const memtls_ring_msg *m)
{
    c->last_ms = uv_now(&c->w->loop);
    switch (m->type) {
    case MSG_H_DATA:
        c->bytes_in += m->len;
        if (c->s == NULL || c->finishing) {
            break; /* dropped: the session is over */
        }
        if (c->in_hold.len == 0) {
            int rc = memtls_session_feed(c->s, m->data, m->len);
            if (rc != MEMTLS_WANT_WRITE) {
                break;
            }
        }
        hold_or_fail(c, &c->in_hold, m->data, m->len);
        break;
    case MSG_H_EOF:
        c->eof_pending = 1;
        break;
    case MSG_H_RESET:
        set_reason(c, 1, "connection reset by peer", NULL);
        c->finishing = 1;
        c->abort = 1;
        break;
    case MSG_H_ACK: {
        rt_msg_ack ack;
        memset(&ack, 0, sizeof ack);
        memcpy(&ack, m->data, m->len < sizeof ack ? m->len : sizeof ack);
        c->out_inflight -= ack.client < c->out_inflight ? (size_t)ack.client : c->out_inflight;
        c->bk_inflight -= ack.backend < c->bk_inflight ? (size_t)ack.backend : c->bk_inflight;
        break;
    }
    case MSG_H_BK_RESULT: {
        rt_msg_status st = {0};
        memcpy(&st, m->data, m->len < sizeof st ? m->len : sizeof st);
        if (st.status == 0) {
            c->bk_state = BK_OPEN;
        } else {
            c->bk_state = BK_FAILED;
            set_reason(c, 1, "backend connect failed: ", uv_strerror(st.status));
            close_session(c);
        }
        break;
    }
    case MSG_H_BK_DATA:
        if (c->s == NULL || c->finishing) {
            break;
        }
        if (c->bk_hold.len == 0) {
            size_t n = 0;
            int rc = memtls_session_write(c->s, m->data, m->len, &n);
            if (rc != 0 && rc != MEMTLS_WANT_WRITE) {
                break; /* closing: dropped */
            }
            if (n < m->len) {
                hold_or_fail(c, &c->bk_hold, m->data + n, m->len - n);
            }
        } else {
            hold_or_fail(c, &c->bk_hold, m->data, m->len);
        }
        break;
    case MSG_H_BK_EOF:
        c->bk_eof_pending = 1;
        break;
    case MSG_H_BK_RESET:
        c->bk_state = BK_FAILED;
        if (!c->bk_eof_pending) {
            set_reason(c, 1, "backend connection reset", NULL);
            close_session(c);
        } else if (c->bk_eof_fed) {
            /* After its EOF the backend closed its socket and reset what
             * the client sent since: it has finished, not failed. */
            set_reason(c, 0, "backend closed", NULL);
            close_session(c);
        }
        /* else feed_backend closes once the backend's last bytes are
         * queued in the session. */
        break;
    default:
        memtls__log(srv_of(c), MEMTLS_LOG_ERROR, "conn %llu: unknown message type %u",
                    (unsigned long long)rt_seq(c->id), (unsigned)m->type);
        break;
    }
    memtls__wconn_progress(c);
}

/*
 * Stopping (echo, custom): read no more from the client, but answer
 * everything already received (held, buffered in the session, held by the
 * application) before close_notify, so a stop loses no byte the server
 * took in. Proxy connections run on until they end. Whatever is still open
 * when the grace period ends is cut (memtls__wconn_discard).
 */
void memtls__wconn_stop(rt_wconn *c)
{
    if (srv_of(c)->app == MEMTLS_APP_PROXY && c->opened) {
        /* A proxy cannot tell where a request ends: cutting the client's
         * input here would hand the backend half a request. The connection
         * runs on until either side closes, or the grace period ends. */
        return;
    }
    set_reason(c, 0, "server stopping", NULL);
    c->stopping = 1;
    c->want_pause[RT_SIDE_CLIENT] = 1;
    c->dirty = 1;
    memtls__wconn_progress(c);
}

/* Close a stopping connection once its received input is all answered. */
static void stop_when_drained(rt_wconn *c)
{
    if (c->stopping && !c->stop_closed && c->in_hold.len == 0 && c->app_hold.len == 0 &&
        memtls_session_readable(c->s) == 0) {
        c->stop_closed = 1;
        close_session(c);
    }
}

void memtls__wconn_discard(rt_wconn *c)
{
    /* A cut connection is a failure, whatever was recorded before. */
    snprintf(c->reason, sizeof c->reason, "server stopped (grace period over)");
    c->failed = 1;
    release(c);
}

/* Close on the application's request (memtls_server_conn_close). */
void memtls__wconn_app_close(rt_wconn *c)
{
    set_reason(c, 0, "closed by the application", NULL);
    close_session(c);
}
