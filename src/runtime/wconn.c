/*
 * wconn.c - one connection on its worker: the session, the flow of bytes
 * between the channel, the session and the application, the timers, and
 * the end of the connection. The application (echo, proxy, custom) plugs
 * in through rt_app_ops (worker.h).
 *
 * IMPLEMENTATION NOTES
 *
 * Session callbacks only record what happened (flags) and hand ciphertext
 * to the channel; the work is done by progress(), which runs once per
 * pass for every connection that had a message (the ready list), and
 * loops until nothing changes. So the session is never re-entered from
 * its own callbacks, and there is one place that decides what to do next.
 *
 * Flow, client -> application: H_DATA goes straight into the session
 * (memtls_session_feed) from the ring. When the session refuses (its
 * inbound buffer is over its limit because the application is not
 * consuming), the bytes wait in in_hold, and W_PAUSE stops the host
 * reading that socket; the bytes already in flight are bounded by the
 * ring. Plaintext is pulled with memtls_session_read in chunks of
 * RT_APP_CHUNK and offered to the application; what it does not consume
 * waits in app_hold, and nothing more is read until it does.
 *
 * Flow, application -> client: the session's send callback writes W_DATA
 * messages while the connection has credit (write_window bytes not yet
 * written by the host) and the ring has room; the rest stays in the
 * session's pending_out, which pauses encryption, which makes
 * memtls_session_write push back on the application. H_ACK (credit) and
 * ring room resume it.
 *
 * Fairness. progress() makes at most PROGRESS_ROUNDS rounds; a connection
 * with work left goes to the back of the worker's ready list and is
 * continued after the others had their turn, so one busy connection
 * cannot hold its worker.
 *
 * The end: a connection is finishing when its session reached a terminal
 * state, the host reported a reset, or it could not be set up. Once the
 * session's last ciphertext (close_notify or alert) has been handed to the
 * host, W_CLOSE releases the id; the host then flushes and closes the
 * sockets. The only message a released id still gets an answer to is
 * H_RESET (see worker.c). A closing connection reads nothing more from
 * either socket, and is cut when its peer takes none of our last bytes for
 * close_timeout_ms: bytes it keeps sending are not activity.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include <memtls/proxy.h>

#include "metrics.h"
#include "worker.h"

/* Rounds of progress() per pass; see "Fairness" above. */
#define PROGRESS_ROUNDS 8
#define HOLD_LIMIT_MIN (1u << 20)

static memtls_server *srv_of(const rt_wconn *c)
{
    return c->w->srv;
}

static const rt_app_ops *app_of(const rt_wconn *c)
{
    return c->w->app;
}

void memtls__wconn_reason(rt_wconn *c, int failed, const char *text, const char *detail)
{
    if (c->reason[0] != '\0') {
        return;
    }
    snprintf(c->reason, sizeof c->reason, "%s%s", text, detail != NULL ? detail : "");
    c->failed = failed;
}

void memtls__wconn_touch(rt_wconn *c)
{
    c->dirty = 1;
    c->active = 1;
    if (!c->w->sweep_on) {
        c->w->sweep_wanted = 1;
    }
    rt_fifo_push(&c->w->ready, &c->ready);
}

/*
 * Memory of quiet connections. OpenSSL's record buffers (about 34 KiB a
 * connection) and the queues' storage are what a connection costs beyond
 * its state; keeping them while it is busy saves allocating them for every
 * record, giving them back once it has been quiet for a sweep interval
 * keeps a server full of idle connections small.
 */
static void release_buffers(rt_wconn *c)
{
    c->released = 1;
    (void)memtls_session_release_buffers(c->s);
    if (c->in_hold.len == 0) {
        memtls__bytebuf_free(&c->in_hold);
    }
    if (c->app_hold.len == 0) {
        memtls__bytebuf_free(&c->app_hold);
    }
}

int memtls__wconn_sweep(rt_worker *w, unsigned *released)
{
    int busy = 0;
    *released = 0;
    for (rt_wconn *c = w->all; c != NULL; c = c->next_all) {
        if (c->active) {
            c->active = 0;
            c->released = 0;
            busy = 1;
        } else if (!c->released && c->s != NULL && !c->finishing && c->opened) {
            (*released)++;
            release_buffers(c);
        }
    }
    return busy;
}

void memtls__wconn_activity(rt_wconn *c)
{
    c->last_ms = uv_now(c->w->uv);
}

void memtls__wconn_taken(rt_wconn *c, int side, size_t n)
{
    c->taken[side] += n;
}

int memtls__wconn_put(rt_wconn *c, uint32_t type, const void *data, size_t len)
{
    if (c->w->m != NULL) { /* ring delay probe ahead of the message (metrics.h) */
        memtls__metrics_probe_send(c->w->ch, RT_TO_HOST, &c->w->m->probe, c->w->index,
                                   uv_now(c->w->uv));
    }
    int rc = memtls__chan_put(c->w->ch, RT_TO_HOST, type, c->id, data, len, NULL, 0);
    if (rc != 0) {
        rt_fifo_push(&c->w->blocked, &c->blocked);
        return MEMTLS_WANT_WRITE;
    }
    return 0;
}

static int closing(const rt_wconn *c)
{
    if (c->finishing || c->s == NULL) {
        return 1;
    }
    memtls_state st = memtls_session_state(c->s);
    return st != MEMTLS_STATE_HANDSHAKE && st != MEMTLS_STATE_READY;
}

static void arm_timer(rt_wconn *c);

/* The connection is ending: from now on only the peer taking our last
 * bytes counts as activity. What still arrives is dropped and not
 * acknowledged, so the host stops reading after one window of it. */
static void note_closing(rt_wconn *c)
{
    if (c->close_ms != 0 || !closing(c)) {
        return;
    }
    c->close_ms = uv_now(c->w->uv);
    c->last_ms = c->close_ms;
    arm_timer(c);
}

void memtls__wconn_close(rt_wconn *c)
{
    if (c->s != NULL) {
        memtls_session_close(c->s);
    }
    memtls__wconn_touch(c);
}

void memtls__wconn_abort(rt_wconn *c, const char *why)
{
    memtls__wconn_reason(c, 1, why, NULL);
    c->finishing = 1;
    c->abort = 1;
    memtls__wconn_touch(c);
}

/* --- session callbacks ------------------------------------------------------ */

static size_t sess_send(void *arg, const uint8_t *data, size_t len)
{
    rt_wconn *c = arg;
    size_t window = srv_of(c)->write_window;
    size_t max = c->w->ch->max_msg;
    size_t done = 0;
    while (done < len && c->out_inflight < window) {
        size_t n = len - done;
        if (n > max) {
            n = max;
        }
        if (n > window - c->out_inflight) {
            n = window - c->out_inflight;
        }
        if (memtls__wconn_put(c, MSG_W_DATA, data + done, n) != 0) {
            break;
        }
        done += n;
        c->out_inflight += n;
    }
    if (done > 0 && c->close_ms == 0) {
        memtls__wconn_activity(c); /* traffic out is traffic too */
    }
    return done;
}

/* Zero copy: the ciphertext goes straight into the ring, as one W_DATA of
 * up to the credit and the ring's message limit. */
static uint8_t *sess_reserve(void *arg, size_t *len)
{
    rt_wconn *c = arg;
    size_t window = srv_of(c)->write_window;
    size_t credit = c->out_inflight < window ? window - c->out_inflight : 0;
    size_t n = *len;
    if (n > credit) {
        n = credit;
    }
    if (n > c->w->ch->max_msg) {
        n = c->w->ch->max_msg;
    }
    if (n == 0) {
        return NULL;
    }
    uint8_t *p = memtls__chan_reserve(c->w->ch, RT_TO_HOST, n);
    if (p == NULL) {
        rt_fifo_push(&c->w->blocked, &c->blocked);
        return NULL;
    }
    *len = n;
    return p;
}

static void sess_commit(void *arg, size_t len)
{
    rt_wconn *c = arg;
    if (len > 0) {
        memtls__chan_commit(c->w->ch, RT_TO_HOST, MSG_W_DATA, c->id, len);
        c->out_inflight += len;
        if (c->close_ms == 0) {
            memtls__wconn_activity(c); /* traffic out is traffic too */
        }
    }
}

static void sess_dirty(void *arg)
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
    (void)paused;
    sess_dirty(arg);
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
        memtls__wconn_reason(
            c, 0, why == MEMTLS_REASON_PEER_CLOSED ? "peer closed" : "closed cleanly", NULL);
        break;
    case MEMTLS_STATE_AUTHFAIL:
        memtls__wconn_reason(c, 1, "auth failed: ", detail);
        break;
    case MEMTLS_STATE_ERROR:
        memtls__wconn_reason(
            c, 1, why == MEMTLS_REASON_TRUNCATED ? "truncated: " : "protocol error: ", detail);
        break;
    case MEMTLS_STATE_HANDSHAKE:
    default:
        break;
    }
}

/* Half-close aware sessions only: the client finished sending; the
 * session stays open for writes. */
static void sess_peer_close(void *arg)
{
    rt_wconn *c = arg;
    c->peer_closed = 1;
    c->dirty = 1;
}

static void sess_hs_error(void *arg, const char *text)
{
    rt_wconn *c = arg;
    char peer[64];
    memtls__format_addr((const struct sockaddr *)c->start.peer, peer, sizeof peer);
    memtls__log(srv_of(c), MEMTLS_LOG_DEBUG, "conn %llu (%s): handshake failed: %s",
                (unsigned long long)rt_seq(c->id), peer, text);
}

/* --- inbound ---------------------------------------------------------------- */

static size_t hold_limit(const rt_wconn *c)
{
    size_t cap = srv_of(c)->ring_capacity * 4;
    return cap > HOLD_LIMIT_MIN ? cap : HOLD_LIMIT_MIN;
}

static void hold_or_fail(rt_wconn *c, memtls__bytebuf *b, const uint8_t *data, size_t len)
{
    if (b->len + len > hold_limit(c) || memtls__bytebuf_append(b, data, len) != 0) {
        memtls__wconn_abort(c, "input overflow");
    }
}

/* Held input goes in slices, so the session's input buffer stays near
 * its limit (a feed is taken whole when the buffer is under it). */
#define FEED_MAX (16u * 1024)

static void feed_input(rt_wconn *c)
{
    while (c->in_hold.len > 0) {
        size_t n = c->in_hold.len < FEED_MAX ? c->in_hold.len : FEED_MAX;
        int rc = memtls_session_feed(c->s, memtls__bytebuf_head(&c->in_hold), n);
        if (rc == MEMTLS_WANT_WRITE) {
            break;
        }
        memtls__bytebuf_consume(&c->in_hold, n);
        memtls__wconn_taken(c, RT_SIDE_CLIENT, n);
        c->dirty = 1;
    }
    if (c->in_hold.len == 0) {
        memtls__bytebuf_free(&c->in_hold);
        if (c->eof_pending && !c->eof_fed) {
            c->eof_fed = 1;
            memtls_session_feed_eof(c->s);
            c->dirty = 1;
        }
    }
    c->want_pause[RT_SIDE_CLIENT] = c->stopping;
}

/* New input: straight from the ring into the session, in slices, while it
 * takes them (and nothing older waits); the rest is held. */
static void feed_message(rt_wconn *c, const uint8_t *data, size_t len)
{
    while (len > 0 && c->in_hold.len == 0) {
        size_t n = len < FEED_MAX ? len : FEED_MAX;
        int rc = memtls_session_feed(c->s, data, n);
        if (rc == MEMTLS_WANT_WRITE) {
            break;
        }
        if (rc != 0) {
            return; /* the session ended: the rest is not wanted */
        }
        memtls__wconn_taken(c, RT_SIDE_CLIENT, n);
        data += n;
        len -= n;
    }
    if (len > 0) {
        hold_or_fail(c, &c->in_hold, data, len);
    }
}

/* The connection ends at once (nothing was said to the client yet). */
static void proxy_header_refused(rt_wconn *c, const char *why)
{
    memtls__wconn_reason(c, 1, "PROXY header refused: ", why);
    memtls__bytebuf_free(&c->pp_in);
    c->finishing = 1;
    c->abort = 1;
    memtls__wconn_touch(c);
}

/*
 * A PROXY protocol listener: the first client bytes are the header. The
 * parser keeps no state, so bytes are held only while a header is
 * incomplete (at most RT_PROXY_HEADER_MAX plus one message). What follows
 * the header goes to the session as usual.
 */
static void proxy_header_input(rt_wconn *c, const uint8_t *data, size_t len)
{
    const uint8_t *p = data;
    size_t n = len;
    if (c->pp_in.len > 0) {
        hold_or_fail(c, &c->pp_in, data, len);
        p = memtls__bytebuf_head(&c->pp_in);
        n = c->pp_in.len;
    }
    memtls_proxy_header h;
    size_t used = 0;
    int rc = memtls_proxy_parse(p, n, RT_PROXY_HEADER_MAX, &h, &used);
    if (rc == MEMTLS_WANT_READ && n < RT_PROXY_HEADER_MAX) {
        if (c->pp_in.len == 0) {
            hold_or_fail(c, &c->pp_in, data, len);
        }
        return;
    }
    if (rc != MEMTLS_OK) {
        char why[sizeof h.error + 32];
        if (rc == MEMTLS_WANT_READ) {
            snprintf(why, sizeof why, "longer than %u bytes", RT_PROXY_HEADER_MAX);
        } else {
            snprintf(why, sizeof why, "%s", h.error);
        }
        proxy_header_refused(c, why);
        return;
    }
    if (!h.local && (h.family == AF_INET || h.family == AF_INET6)) {
        size_t alen =
            h.family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
        memcpy(c->start.peer, &h.src, alen);
        c->start.peer_len = (uint32_t)alen;
        memcpy(c->pp_dst, &h.dst, alen);
        c->pp_has_dst = 1;
    }
    c->pp_wait = 0;
    if (n > used) {
        feed_message(c, p + used, n - used);
    }
    memtls__bytebuf_free(&c->pp_in);
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
        size_t n = app_of(c)->input(c, memtls__bytebuf_head(&c->app_hold), c->app_hold.len);
        memtls__bytebuf_consume(&c->app_hold, n > c->app_hold.len ? c->app_hold.len : n);
        if (c->app_hold.len > 0) {
            return;
        }
        memtls__bytebuf_free(&c->app_hold);
        c->dirty = 1;
    }
    for (;;) {
        size_t got = 0;
        if (memtls_session_read(c->s, w->scratch, RT_APP_CHUNK, &got) != 0) {
            break;
        }
        size_t n = app_of(c)->input(c, w->scratch, got);
        if (n < got) {
            if (memtls__bytebuf_append(&c->app_hold, w->scratch + n, got - n) != 0) {
                memtls__wconn_abort(c, "out of memory");
            }
            break;
        }
    }
}

static void on_ready(rt_wconn *c)
{
    memtls_server *srv = srv_of(c);
    memtls_ctx *ctx = memtls_session_ctx(c->s);
    arm_timer(c); /* from now on the idle timeout counts */
    if (c->w->m != NULL && !c->plaintext) {
        memtls__metrics_handshake(c->w->m, memtls_ctx_protocol(ctx), memtls_ctx_resumed(ctx),
                                  rt_now_ns() - c->start_ns);
    }
    if (!c->plaintext && srv->nallowed > 0) {
        int ok = 0;
        for (size_t i = 0; i < srv->nallowed && !ok; i++) {
            ok = memtls_ctx_peer_has_name(ctx, srv->allowed[i]);
        }
        if (!ok) {
            const char *subj = memtls_ctx_peer_subject(ctx);
            memtls__wconn_reason(c, 1, "peer not allowed: ", subj[0] ? subj : "no certificate");
            memtls__wconn_close(c);
            return;
        }
    }
    c->opened = 1;
    c->just_opened = 1;
    if (app_of(c)->open != NULL && app_of(c)->open(c) != 0) {
        memtls__wconn_reason(c, 0, "closed by the application", NULL);
        memtls__wconn_close(c);
    }
}

/* The client finished sending: once every byte it sent has been consumed
 * by the application, tell it. Without a half-close aware application the
 * session closes by itself. */
static void client_done(rt_wconn *c)
{
    if (!c->peer_closed || c->peer_close_told || c->app_hold.len > 0 ||
        memtls_session_readable(c->s) > 0 || !c->opened) {
        return;
    }
    if (app_of(c)->client_done != NULL && app_of(c)->client_done(c) != 0) {
        return; /* asked again later */
    }
    c->peer_close_told = 1;
    c->dirty = 1;
}

/* --- control messages -------------------------------------------------------- */

static void send_controls(rt_wconn *c)
{
    /* Input credit in batches of a quarter window: a host that waits has a
     * whole window outstanding, so the batch is always reached. */
    size_t batch = c->w->srv->write_window / 4;
    if (c->taken[0] >= batch || c->taken[1] >= batch) {
        rt_msg_ack ack = {c->taken[0], c->taken[1]};
        if (memtls__wconn_put(c, MSG_W_ACK, &ack, sizeof ack) != 0) {
            return;
        }
        c->taken[0] = c->taken[1] = 0;
    }
    for (int side = 0; side < 2; side++) {
        if (c->want_pause[side] != c->sent_pause[side]) {
            rt_msg_side m = {(uint32_t)side};
            uint32_t type = c->want_pause[side] ? MSG_W_PAUSE : MSG_W_RESUME;
            if (memtls__wconn_put(c, type, &m, sizeof m) != 0) {
                return;
            }
            c->sent_pause[side] = c->want_pause[side];
        }
    }
}

/* --- the end ---------------------------------------------------------------- */

static void on_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

/* c's log record; `peer` holds its address text. */
static void fill_record(rt_wconn *c, memtls_conn_record *rec, char *peer, size_t peerlen)
{
    memtls__format_addr((const struct sockaddr *)c->start.peer, peer, peerlen);
    memset(rec, 0, sizeof *rec);
    rec->id = rt_seq(c->id);
    rec->listener = c->listener;
    rec->plaintext = c->plaintext;
    rec->peer = peer;
    rec->sni = rec->version = rec->cipher = rec->alpn = rec->subject = rec->cert_subject = "";
    rec->cert_index = -1;
    rec->bytes_in = c->bytes_in;
    if (c->s != NULL) {
        memtls_ctx *ctx = memtls_session_ctx(c->s);
        memtls_session_stats st;
        memtls_session_get_stats(c->s, &st);
        rec->bytes_out = st.ciphertext_out;
        rec->app_in = st.plaintext_in;
        rec->app_out = st.plaintext_out;
        rec->sni = memtls_ctx_sni(ctx);
        rec->version = memtls_ctx_protocol(ctx);
        rec->cipher = memtls_ctx_cipher(ctx);
        rec->alpn = memtls_ctx_alpn(ctx);
        rec->subject = memtls_ctx_peer_subject(ctx);
        rec->resumed = memtls_ctx_resumed(ctx);
        rec->cert_index = memtls_ctx_cert_index(ctx);
        rec->cert_subject = memtls_ctx_cert_subject(ctx);
    }
    uint64_t now = uv_now(c->w->uv);
    rec->duration_ms = now > c->start_ms ? now - c->start_ms : 0;
    rec->clean = !c->failed;
    rec->reason = c->reason[0] ? c->reason : "closed";
}

/* A worker process hands its record to the host, which logs it (the
 * application's callbacks and log stream live there). Returns nonzero
 * when the ring has no room (try again). */
static int send_record(rt_wconn *c)
{
    char peer[64];
    memtls_conn_record rec;
    fill_record(c, &rec, peer, sizeof peer);
    const char *str[RT_REC_NSTR] = {
        [RT_REC_PEER] = rec.peer,
        [RT_REC_SNI] = rec.sni,
        [RT_REC_VERSION] = rec.version,
        [RT_REC_CIPHER] = rec.cipher,
        [RT_REC_ALPN] = rec.alpn,
        [RT_REC_SUBJECT] = rec.subject,
        [RT_REC_CERT_SUBJECT] = rec.cert_subject,
        [RT_REC_REASON] = rec.reason,
    };
    uint8_t buf[sizeof(rt_msg_record) + RT_REC_NSTR * RT_REC_STR_MAX];
    rt_msg_record m;
    memset(&m, 0, sizeof m);
    m.bytes_in = rec.bytes_in;
    m.bytes_out = rec.bytes_out;
    m.app_in = rec.app_in;
    m.app_out = rec.app_out;
    m.duration_ms = rec.duration_ms;
    m.cert_index = rec.cert_index;
    m.plaintext = (uint8_t)rec.plaintext;
    m.clean = (uint8_t)rec.clean;
    m.resumed = (uint8_t)rec.resumed;
    /* Each string cut to what the ring's message limit leaves it. */
    size_t room = c->w->ch->max_msg > sizeof m ? c->w->ch->max_msg - sizeof m : 0;
    size_t cap = room / RT_REC_NSTR < RT_REC_STR_MAX ? room / RT_REC_NSTR : RT_REC_STR_MAX;
    size_t len = sizeof m;
    for (int i = 0; i < RT_REC_NSTR; i++) {
        size_t n = strlen(str[i]);
        n = n < cap ? n : cap;
        memcpy(buf + len, str[i], n);
        m.len[i] = (uint16_t)n;
        len += n;
    }
    memcpy(buf, &m, sizeof m);
    return memtls__chan_put(c->w->ch, RT_TO_HOST, MSG_W_RECORD, c->id, buf, len, NULL, 0);
}

static void emit_record(rt_wconn *c)
{
    memtls_server *srv = srv_of(c);
    if (srv->on_conn_log == NULL || c->record_sent) {
        return;
    }
    c->record_sent = 1;
    if (c->w->process) {
        (void)send_record(c); /* best effort: the connection is being cut */
        return;
    }
    char peer[64];
    memtls_conn_record rec;
    fill_record(c, &rec, peer, sizeof peer);
    srv->on_conn_log(srv->log_arg, &rec);
}

static void unlink_conn(rt_wconn *c)
{
    rt_worker *w = c->w;
    rt_fifo_remove(&w->blocked, &c->blocked);
    rt_fifo_remove(&w->ready, &c->ready);
    if (c->prev_all != NULL) {
        c->prev_all->next_all = c->next_all;
    } else {
        w->all = c->next_all;
    }
    if (c->next_all != NULL) {
        c->next_all->prev_all = c->prev_all;
    }
    c->prev_all = c->next_all = NULL;
    if (w->conns[rt_slot(c->id)] == c) {
        w->conns[rt_slot(c->id)] = NULL;
    }
    w->live--;
    if (w->m != NULL) {
        rt_gauge(&w->m->open, w->live);
    }
}

/* Free everything of c; the id is already released (or never will be
 * needed again). */
/* Count c's end (metrics, failures) once, before its record goes out, so
 * whoever reads the record sees the counters that include it. */
static void conclude(rt_wconn *c)
{
    if (c->concluded) {
        return;
    }
    c->concluded = 1;
    if (c->reason[0] == '\0') {
        memtls__wconn_reason(c, 1, "closed", NULL);
    }
    if (c->w->m != NULL) {
        memtls__metrics_closed(c->w->m, c->reason, rt_now_ns() - c->start_ns);
    }
    if (c->failed) {
        atomic_fetch_add_explicit(&c->w->ch->sh->conns_failed, 1, memory_order_relaxed);
    }
}

static void release(rt_wconn *c)
{
    conclude(c);
    emit_record(c);
    if (app_of(c)->closed != NULL) {
        app_of(c)->closed(c);
    }
    unlink_conn(c);
    memtls_session_free(c->s);
    c->s = NULL;
    memtls__bytebuf_free(&c->in_hold);
    memtls__bytebuf_free(&c->app_hold);
    memtls__bytebuf_free(&c->px.hold);
    memtls__bytebuf_free(&c->pp_in);
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
        if (app_of(c)->can_release != NULL && !app_of(c)->can_release(c)) {
            return 0;
        }
    }
    if (c->w->process && srv_of(c)->on_conn_log != NULL && !c->record_sent) {
        /* The record goes ahead of the close, while the id is the host's. */
        conclude(c);
        if (send_record(c) != 0) {
            rt_fifo_push(&c->w->blocked, &c->blocked);
            return 0;
        }
        c->record_sent = 1;
    }
    /* The worker's open gauge drops before the host can see the close:
     * once the host counts the connection gone, no scrape may still find
     * it open here (unlink_conn sets the same value again). */
    rt_worker *w = c->w;
    if (w->m != NULL) {
        rt_gauge(&w->m->open, w->live - 1);
    }
    rt_msg_close m = {(uint32_t)c->abort};
    if (memtls__wconn_put(c, MSG_W_CLOSE, &m, sizeof m) != 0) {
        if (w->m != NULL) {
            rt_gauge(&w->m->open, w->live); /* not released after all */
        }
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

/* Ciphertext the session holds undecrypted because its output is backed
 * up (it reads no more records until the transport takes its bytes): input
 * received but not answered yet. With the output flowing, what stays in
 * is at most a partial record, which a stopping connection never
 * completes (it reads no more). */
static int input_held_behind_output(rt_wconn *c)
{
    return memtls_ctx_pending_in(memtls_session_ctx(c->s)) > 0 &&
           (memtls_session_blocked(c->s) & MEMTLS_BLOCKED_ON_TRANSPORT) != 0;
}

/* Close a stopping connection once its received input is all answered. */
static void stop_when_drained(rt_wconn *c)
{
    if (c->stopping && !c->stop_closed && c->in_hold.len == 0 && c->app_hold.len == 0 &&
        memtls_session_readable(c->s) == 0 && !input_held_behind_output(c)) {
        c->stop_closed = 1;
        memtls__wconn_close(c);
    }
}

/* One round; returns 1 if c was freed. */
static int round_once(rt_wconn *c)
{
    const rt_app_ops *app = app_of(c);
    c->dirty = 0;
    if (c->s != NULL && !c->abort) {
        feed_input(c);
        if (c->became_ready) {
            c->became_ready = 0;
            on_ready(c);
        }
        if (app->round != NULL) {
            app->round(c);
        }
        app_input(c);
        if (c->writable) {
            c->writable = 0;
            if (c->opened && app->writable != NULL) {
                app->writable(c);
            }
        }
        client_done(c);
        stop_when_drained(c);
        memtls_session_flush(c->s);
        if (app->flushed != NULL) {
            app->flushed(c);
        }
        if (session_terminal(c)) {
            c->finishing = 1;
        }
        if (c->just_opened && !c->dirty && !c->finishing) {
            /* The handshake's buffers go back as soon as its work is done,
             * unless application data already flowed (a busy connection
             * keeps them; the sweep sees to it later): the next handshake
             * reuses them, so a burst of new connections that then stay
             * quiet leaves no holes between the state they keep. */
            c->just_opened = 0;
            memtls_session_stats st;
            memtls_session_get_stats(c->s, &st);
            if (st.plaintext_in == 0 && st.plaintext_out == 0) {
                release_buffers(c);
            }
        }
        note_closing(c);
    }
    /* After the work: a pause decided in this round goes out now, before
     * the host reads more. */
    send_controls(c);
    if (c->finishing && try_release(c)) {
        return 1;
    }
    return 0;
}

void memtls__wconn_progress(rt_wconn *c)
{
    for (int round = 0; round < PROGRESS_ROUNDS; round++) {
        if (round_once(c)) {
            return;
        }
        if (!c->dirty) {
            return;
        }
    }
    /* Still busy: continue after the other connections' turn. */
    rt_fifo_push(&c->w->ready, &c->ready);
}

/* --- timers ---------------------------------------------------------------- */

static uint64_t due_ms(const rt_wconn *c)
{
    memtls_server *srv = srv_of(c);
    if (c->close_ms != 0) {
        return c->last_ms + srv->close_timeout_ms;
    }
    if (c->pp_wait) {
        return c->start_ms + srv->hs_timeout_ms;
    }
    if (!c->opened && c->s != NULL && memtls_session_state(c->s) == MEMTLS_STATE_HANDSHAKE) {
        return c->start_ms + (c->plaintext ? srv->idle_timeout_ms : srv->hs_timeout_ms);
    }
    return c->last_ms + srv->idle_timeout_ms;
}

static void on_timer(uv_timer_t *t);

static void arm_timer(rt_wconn *c)
{
    uint64_t now = uv_now(c->w->uv);
    uint64_t due = due_ms(c);
    uv_timer_start(&c->timer, on_timer, due > now ? due - now : 1, 0);
}

static void on_timer(uv_timer_t *t)
{
    rt_wconn *c = t->data;
    uint64_t now = uv_now(c->w->uv);
    if (now < due_ms(c)) {
        arm_timer(c); /* there was activity since the timer was set */
        return;
    }
    if (c->close_ms != 0) {
        memtls__wconn_abort(c, "close timeout (the peer does not read)");
    } else if (c->pp_wait) {
        proxy_header_refused(c, "not complete within the handshake timeout");
    } else if (!c->opened && c->s != NULL && memtls_session_state(c->s) == MEMTLS_STATE_HANDSHAKE) {
        memtls__wconn_reason(c, 1, c->plaintext ? "idle timeout" : "handshake timeout", NULL);
        memtls__wconn_close(c);
    } else {
        memtls__wconn_reason(c, 1, "idle timeout", NULL);
        memtls__wconn_close(c);
    }
    memtls__wconn_progress(c);
}

/* --- lifecycle ------------------------------------------------------------- */

static void link_conn(rt_worker *w, rt_wconn *c)
{
    w->conns[rt_slot(c->id)] = c;
    c->next_all = w->all;
    if (w->all != NULL) {
        w->all->prev_all = c;
    }
    w->all = c;
    w->live++;
    if (w->m != NULL) {
        rt_gauge(&w->m->open, w->live);
    }
}

static memtls_session *new_session(rt_wconn *c)
{
    memtls_server *srv = srv_of(c);
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
    if (ctx == NULL) {
        return NULL;
    }
    memtls_session_cbs cbs;
    memset(&cbs, 0, sizeof cbs);
    cbs.arg = c;
    cbs.send = sess_send;
    cbs.send_reserve = sess_reserve;
    cbs.send_commit = sess_commit;
    cbs.on_readable = sess_dirty;
    cbs.on_writable = sess_writable;
    cbs.on_input_paused = sess_input_paused;
    cbs.on_state = sess_state;
    cbs.on_handshake_error = sess_hs_error;
    if (app_of(c)->half_close) {
        /* The client's close ends only its direction (see the notes). */
        cbs.on_peer_close = sess_peer_close;
    }
    return memtls_session_new(ctx, &cbs, &srv->limits);
}

void memtls__wconn_start(rt_worker *w, uint64_t id, const memtls_ring_msg *m)
{
    rt_wconn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        rt_msg_close cm = {1};
        /* Best effort: without memory we cannot even remember to retry. */
        (void)memtls__chan_put(w->ch, RT_TO_HOST, MSG_W_CLOSE, id, &cm, sizeof cm, NULL, 0);
        return;
    }
    memcpy(&c->start, m->data, m->len < sizeof c->start ? m->len : sizeof c->start);
    c->id = id;
    c->w = w;
    c->listener = c->start.listener;
    c->plaintext = c->start.plaintext != 0;
    c->pp_wait = c->listener < w->srv->nlisteners && w->srv->listeners[c->listener].proxy_protocol;
    c->start_ms = c->last_ms = uv_now(w->uv);
    c->start_ns = w->m != NULL ? rt_now_ns() : 0;
    uv_timer_init(w->uv, &c->timer);
    c->timer.data = c;
    link_conn(w, c);

    c->s = new_session(c);
    if (c->s == NULL) {
        memtls__wconn_reason(c, 1, "refused: cannot create a session (no certificate or no memory)",
                             NULL);
        c->finishing = 1;
    } else if (w->stopping) {
        memtls__wconn_reason(c, 0, "refused: server stopping", NULL);
        c->finishing = 1;
    } else {
        memtls_session_start(c->s);
        arm_timer(c);
    }
    memtls__wconn_touch(c);
}

void memtls__wconn_on_message(rt_wconn *c, const memtls_ring_msg *m)
{
    switch (m->type) {
    case MSG_H_DATA:
        c->bytes_in += m->len;
        if (c->s == NULL || c->finishing || c->close_ms != 0) {
            break; /* dropped: the connection is ending (not activity) */
        }
        memtls__wconn_activity(c);
        if (c->pp_wait) {
            proxy_header_input(c, m->data, m->len);
        } else {
            feed_message(c, m->data, m->len);
        }
        break;
    case MSG_H_EOF:
        c->eof_pending = 1;
        if (c->pp_wait && !c->finishing) {
            char why[96];
            snprintf(why, sizeof why, "end of stream after %zu bytes, before the header was whole",
                     c->pp_in.len);
            proxy_header_refused(c, why);
        }
        break;
    case MSG_H_RESET:
        memtls__wconn_reason(c, 1, "connection reset by peer", NULL);
        c->finishing = 1;
        c->abort = 1;
        break;
    case MSG_H_ACK: {
        rt_msg_ack ack;
        memset(&ack, 0, sizeof ack);
        memcpy(&ack, m->data, m->len < sizeof ack ? m->len : sizeof ack);
        if (ack.client > 0) {
            memtls__wconn_activity(c); /* the client is reading */
        }
        c->out_inflight -= ack.client < c->out_inflight ? (size_t)ack.client : c->out_inflight;
        if (app_of(c)->message != NULL) {
            app_of(c)->message(c, m);
        }
        break;
    }
    default:
        if (app_of(c)->message != NULL) {
            app_of(c)->message(c, m);
        }
        break;
    }
    memtls__wconn_touch(c);
}

void memtls__wconn_stop_reading(rt_wconn *c)
{
    memtls__wconn_reason(c, 0, "server stopping", NULL);
    c->stopping = 1;
    c->want_pause[RT_SIDE_CLIENT] = 1;
    memtls__wconn_touch(c);
}

void memtls__wconn_discard(rt_wconn *c)
{
    /* A cut connection is a failure, whatever was recorded before. */
    snprintf(c->reason, sizeof c->reason, "server stopped (grace period over)");
    c->failed = 1;
    release(c);
}
