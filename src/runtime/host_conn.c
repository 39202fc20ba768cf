/*
 * host_conn.c - the sockets of one connection, on the host thread.
 *
 * IMPLEMENTATION NOTES
 *
 * A connection has up to two sockets (sides): the client and, in proxy
 * mode, its backend. Each side moves bytes in two directions:
 *
 *   socket -> ring: a read lands in the host's shared read buffer and is
 *   written to the worker's ring at once, split at the ring's message
 *   limit. If the ring is full, the rest is copied to the side's `hold`
 *   buffer (at most one read, RT_READ_CHUNK bytes), reading stops, and the
 *   connection waits on the worker's blocked list until the worker reports
 *   room. The worker can also pause a side (W_PAUSE / W_RESUME).
 *
 *   ring -> socket: W_DATA payloads are copied into the side's chunk queue
 *   and written with at most one uv_write in flight (later messages are
 *   batched into the next write). The worker never has more than
 *   write_window unwritten bytes per side: the host returns credit with
 *   H_ACK as writes complete, so the queue is bounded.
 *
 * Everything owed to the worker that could not be written because the ring
 * was full is remembered as PEND_* flags (plus the hold buffers) and sent,
 * in order, by memtls__hconn_flush(). Nothing else is written for a
 * connection while it is blocked, so the worker sees its messages in order.
 *
 * Closing a side gracefully: write what is queued, shut down the write
 * side, then read and discard until the peer's FIN or linger_ms, and only
 * then close. Closing with unread input would make the kernel send a reset
 * that can destroy our last bytes (the close_notify) in flight.
 *
 * A connection is freed when the worker released its id (W_CLOSE, or it
 * never had one) and every libuv handle has been closed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

static void side_update_reading(hside *s);
static void side_maybe_finish(hside *s);
static void side_close_now(hside *s);
static void conn_maybe_free(hconn *c);

static rt_worker *conn_worker(const hconn *c)
{
    return &c->host->srv->workers[c->worker];
}

static uint64_t now_ms(void)
{
    return uv_hrtime() / 1000000u;
}

/* --- blocked list (per worker, FIFO) -------------------------------------- */

static void block(hconn *c)
{
    rt_host *h = c->host;
    if (c->blocked) {
        return;
    }
    c->blocked = 1;
    c->next_blocked = NULL;
    if (h->blocked_tail[c->worker] != NULL) {
        h->blocked_tail[c->worker]->next_blocked = c;
    } else {
        h->blocked_head[c->worker] = c;
    }
    h->blocked_tail[c->worker] = c;
}

static void unblock(hconn *c)
{
    rt_host *h = c->host;
    if (!c->blocked) {
        return;
    }
    hconn *prev = NULL;
    for (hconn *p = h->blocked_head[c->worker]; p != NULL; prev = p, p = p->next_blocked) {
        if (p == c) {
            if (prev != NULL) {
                prev->next_blocked = c->next_blocked;
            } else {
                h->blocked_head[c->worker] = c->next_blocked;
            }
            if (h->blocked_tail[c->worker] == c) {
                h->blocked_tail[c->worker] = prev;
            }
            break;
        }
    }
    c->blocked = 0;
    c->next_blocked = NULL;
}

void memtls__hconn_retry_blocked(rt_host *h, unsigned worker)
{
    /* Detach the list: connections that block again re-append themselves
     * in the same order. */
    hconn *c = h->blocked_head[worker];
    h->blocked_head[worker] = NULL;
    h->blocked_tail[worker] = NULL;
    while (c != NULL) {
        hconn *next = c->next_blocked;
        c->blocked = 0;
        c->next_blocked = NULL;
        memtls__hconn_flush(c);
        c = next;
    }
}

/* --- messages to the worker ------------------------------------------------ */

/* Write one message to the worker. Returns 0, or non-zero when the ring is
 * full (the worker will report room). */
static int put(hconn *c, uint32_t type, const void *a, size_t alen)
{
    rt_worker *w = conn_worker(c);
    int rc = memtls__ring_put(w->to_worker, &w->h2w_waiting, type, c->id, a, alen, NULL, 0);
    if (rc == 0) {
        memtls__waker_notify(&w->waker);
        return 0;
    }
    return 1;
}

/* Send a side's held bytes; returns 1 if some remain. */
static int flush_hold(hconn *c, hside *s)
{
    size_t max = memtls_ring_max_message(conn_worker(c)->to_worker);
    uint32_t type = s->which == RT_SIDE_CLIENT ? MSG_H_DATA : MSG_H_BK_DATA;
    while (s->hold_len > 0) {
        size_t n = s->hold_len < max ? s->hold_len : max;
        if (put(c, type, s->hold + s->hold_off, n) != 0) {
            return 1;
        }
        s->hold_off += n;
        s->hold_len -= n;
    }
    s->hold_off = 0;
    return 0;
}

static int flush_flag(hconn *c, unsigned flag, uint32_t type, const void *a, size_t alen)
{
    if (!(c->pend & flag)) {
        return 0;
    }
    if (put(c, type, a, alen) != 0) {
        return 1;
    }
    c->pend &= ~flag;
    return 0;
}

void memtls__hconn_flush(hconn *c)
{
    if (c->worker_done) {
        c->pend = 0;
        c->side[0].hold_len = 0;
        c->side[1].hold_len = 0;
        unblock(c);
        return;
    }
    int stuck = 0;
    hside *cl = &c->side[RT_SIDE_CLIENT];
    hside *bk = &c->side[RT_SIDE_BACKEND];
    if (c->pend & PEND_START) {
        rt_msg_start st;
        memset(&st, 0, sizeof st);
        st.listener = (uint32_t)c->listener;
        st.plaintext = (uint32_t)c->plaintext;
        memcpy(st.peer, c->peer, sizeof st.peer);
        stuck = flush_flag(c, PEND_START, MSG_H_START, &st, sizeof st);
    }
    /* The client stream: data, then EOF or reset. */
    if (!stuck) {
        stuck = flush_hold(c, cl);
    }
    if (!stuck) {
        stuck = flush_flag(c, PEND_EOF, MSG_H_EOF, NULL, 0) ||
                flush_flag(c, PEND_RESET, MSG_H_RESET, NULL, 0);
    }
    /* The backend stream: connect result, data, then EOF or reset. */
    if (!stuck) {
        rt_msg_status st = {c->bk_status};
        stuck = flush_flag(c, PEND_BK_RESULT, MSG_H_BK_RESULT, &st, sizeof st);
    }
    if (!stuck) {
        stuck = flush_hold(c, bk);
    }
    if (!stuck) {
        stuck = flush_flag(c, PEND_BK_EOF, MSG_H_BK_EOF, NULL, 0) ||
                flush_flag(c, PEND_BK_RESET, MSG_H_BK_RESET, NULL, 0);
    }
    if (!stuck && (c->pend & PEND_ACK)) {
        rt_msg_ack ack = {cl->ack, bk->ack};
        if (put(c, MSG_H_ACK, &ack, sizeof ack) == 0) {
            cl->ack = 0;
            bk->ack = 0;
            c->pend &= ~(unsigned)PEND_ACK;
        } else {
            stuck = 1;
        }
    }
    if (stuck) {
        block(c);
    } else {
        unblock(c);
    }
    side_update_reading(cl);
    side_update_reading(bk);
}

/* Owe the worker a control message and try to send it now. */
static void owe(hconn *c, unsigned flag)
{
    if (c->worker_done) {
        return;
    }
    c->pend |= flag;
    memtls__hconn_flush(c);
}

/* --- reading ---------------------------------------------------------------- */

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    hside *s = handle->data;
    rt_host *h = s->conn->host;
    (void)suggested;
    *buf = uv_buf_init((char *)h->rbuf, RT_READ_CHUNK);
}

/* The read side failed or finished: tell the worker, in order. */
static void side_read_end(hside *s, int error)
{
    hconn *c = s->conn;
    s->eof = 1;
    side_update_reading(s);
    if (s->discard || c->worker_done) {
        if (error) {
            side_close_now(s);
        } else {
            side_maybe_finish(s);
        }
        return;
    }
    if (error) {
        side_close_now(s);
        owe(c, s->which == RT_SIDE_CLIENT ? PEND_RESET : PEND_BK_RESET);
    } else {
        owe(c, s->which == RT_SIDE_CLIENT ? PEND_EOF : PEND_BK_EOF);
        side_maybe_finish(s);
    }
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    hside *s = stream->data;
    hconn *c = s->conn;
    memtls_server *srv = c->host->srv;
    if (nread == 0) {
        return;
    }
    if (nread < 0) {
        side_read_end(s, nread != UV_EOF);
        return;
    }
    atomic_fetch_add_explicit(s->which == RT_SIDE_CLIENT ? &srv->bytes_in : &srv->backend_in,
                              (uint64_t)nread, memory_order_relaxed);
    if (s->discard || c->worker_done) {
        return;
    }
    const uint8_t *p = (const uint8_t *)buf->base;
    size_t len = (size_t)nread;
    if (!c->blocked) {
        size_t max = memtls_ring_max_message(conn_worker(c)->to_worker);
        uint32_t type = s->which == RT_SIDE_CLIENT ? MSG_H_DATA : MSG_H_BK_DATA;
        while (len > 0) {
            size_t n = len < max ? len : max;
            if (put(c, type, p, n) != 0) {
                break;
            }
            p += n;
            len -= n;
        }
    }
    if (len > 0) {
        /* The ring is full: keep the rest and stop reading until room. */
        if (s->hold == NULL) {
            s->hold = malloc(RT_READ_CHUNK);
        }
        if (s->hold == NULL) {
            memtls__log(srv, MEMTLS_LOG_ERROR, "conn %llu: out of memory",
                        (unsigned long long)rt_seq(c->id));
            side_close_now(s);
            owe(c, s->which == RT_SIDE_CLIENT ? PEND_RESET : PEND_BK_RESET);
            return;
        }
        memcpy(s->hold, p, len);
        s->hold_off = 0;
        s->hold_len = len;
        block(c);
    }
    side_update_reading(s);
}

static void side_update_reading(hside *s)
{
    hconn *c = s->conn;
    int want = s->open && s->connected && !s->eof && !s->closing &&
               (s->discard || (!s->paused && s->hold_len == 0 && !c->blocked && !c->worker_done));
    if (want && !s->reading) {
        if (uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read) == 0) {
            s->reading = 1;
        }
    } else if (!want && s->reading) {
        uv_read_stop((uv_stream_t *)&s->tcp);
        s->reading = 0;
    }
}

/* --- writing ---------------------------------------------------------------- */

static void side_kick(hside *s);

static void on_write(uv_write_t *req, int status)
{
    hside *s = req->data;
    hconn *c = s->conn;
    memtls_server *srv = c->host->srv;
    s->write_active = 0;
    if (s->closing) {
        return;
    }
    if (status < 0) {
        side_close_now(s);
        owe(c, s->which == RT_SIDE_CLIENT ? PEND_RESET : PEND_BK_RESET);
        return;
    }
    size_t n = s->write_len;
    memtls__outq_consume(&s->q, &c->host->pool, n);
    atomic_fetch_add_explicit(s->which == RT_SIDE_CLIENT ? &srv->bytes_out : &srv->backend_out,
                              (uint64_t)n, memory_order_relaxed);
    if (!c->worker_done) {
        s->ack += n;
        /* Return credit in batches, and at once when the queue ran dry so
         * a worker waiting for credit never waits on a quiet socket. */
        if (s->ack >= srv->write_window / 4 || s->q.bytes == 0) {
            owe(c, PEND_ACK);
        }
    }
    side_kick(s);
    side_maybe_finish(s);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    hside *s = req->data;
    (void)status;
    s->shut_done = 1;
    if (!s->closing) {
        side_maybe_finish(s);
    }
}

static void side_kick(hside *s)
{
    if (!s->open || !s->connected || s->closing || s->write_active) {
        return;
    }
    if (s->q.bytes > 0) {
        uv_buf_t iov[16];
        size_t bytes = 0;
        unsigned n = memtls__outq_iov(&s->q, iov, 16, &bytes);
        s->wreq.data = s;
        if (uv_write(&s->wreq, (uv_stream_t *)&s->tcp, iov, n, on_write) != 0) {
            hconn *c = s->conn;
            side_close_now(s);
            owe(c, s->which == RT_SIDE_CLIENT ? PEND_RESET : PEND_BK_RESET);
            return;
        }
        s->write_active = 1;
        s->write_len = bytes;
        return;
    }
    if (s->shut_wanted && !s->shut_started) {
        s->shut_started = 1;
        s->sreq.data = s;
        if (uv_shutdown(&s->sreq, (uv_stream_t *)&s->tcp, on_shutdown) != 0) {
            s->shut_done = 1;
        }
    }
}

/* --- closing ----------------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *handle)
{
    hside *s = handle->data;
    hconn *c = s->conn;
    c->handles--;
    conn_maybe_free(c);
}

static void side_close_now(hside *s)
{
    if (!s->open || s->closing) {
        return;
    }
    s->closing = 1;
    s->reading = 0;
    uv_timer_stop(&s->linger);
    uv_close((uv_handle_t *)&s->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&s->linger, on_handle_closed);
}

static void on_linger(uv_timer_t *t)
{
    side_close_now(t->data);
}

/* Graceful close, step by step: flush, shutdown, drain, close. */
static void side_maybe_finish(hside *s)
{
    if (!s->open || s->closing || !s->close_wanted) {
        return;
    }
    if (!s->connected) {
        side_close_now(s);
        return;
    }
    s->shut_wanted = 1;
    if (s->write_active || s->q.bytes > 0 || !s->shut_started) {
        side_kick(s);
        return;
    }
    if (!s->shut_done) {
        return;
    }
    if (s->eof) {
        side_close_now(s);
        return;
    }
    /* Drain unread input for a bounded time so close() sends no reset. */
    s->discard = 1;
    side_update_reading(s);
    if (!s->lingering) {
        s->lingering = 1;
        uv_timer_start(&s->linger, on_linger, s->conn->host->srv->linger_ms, 0);
    }
}

static void side_close(hside *s, int abort_now)
{
    if (!s->open || s->closing) {
        return;
    }
    if (abort_now) {
        side_close_now(s);
        return;
    }
    s->close_wanted = 1;
    s->discard = 1;
    side_update_reading(s);
    /* A peer that never reads would keep the queue from draining: bound
     * the flush by the idle timeout (the drain afterwards by linger_ms). */
    uv_timer_start(&s->linger, on_linger, s->conn->host->srv->idle_timeout_ms, 0);
    side_maybe_finish(s);
}

static void emit_refused(hconn *c)
{
    memtls_server *srv = c->host->srv;
    if (srv->on_conn_log == NULL) {
        return;
    }
    memtls_conn_record rec;
    memset(&rec, 0, sizeof rec);
    rec.listener = c->listener;
    rec.plaintext = c->plaintext;
    rec.peer = c->peer;
    rec.sni = rec.version = rec.cipher = rec.alpn = rec.subject = "";
    rec.reason = c->host->stopping ? "refused: server stopping" : "refused: connection limit";
    srv->on_conn_log(srv->log_arg, &rec);
}

static void conn_maybe_free(hconn *c)
{
    rt_host *h = c->host;
    if (!c->worker_done || c->handles > 0) {
        return;
    }
    unblock(c);
    for (int i = 0; i < 2; i++) {
        memtls__outq_clear(&c->side[i].q, &h->pool);
        free(c->side[i].hold);
    }
    if (c->prev_all != NULL) {
        c->prev_all->next_all = c->next_all;
    } else {
        h->all = c->next_all;
    }
    if (c->next_all != NULL) {
        c->next_all->prev_all = c->prev_all;
    }
    if (c->refused) {
        h->refusing--;
    } else {
        h->conns[c->slot] = NULL;
        h->free_slots[h->nfree++] = c->slot;
        h->live--;
        atomic_fetch_sub_explicit(&h->srv->conns_open, 1, memory_order_relaxed);
    }
    free(c);
    memtls__host_conn_freed(h);
}

/* --- opening ----------------------------------------------------------------- */

static int side_init(hconn *c, int which)
{
    hside *s = &c->side[which];
    rt_host *h = c->host;
    s->conn = c;
    s->which = which;
    if (uv_tcp_init(&h->loop, &s->tcp) != 0) {
        return -1;
    }
    uv_timer_init(&h->loop, &s->linger);
    s->tcp.data = s;
    s->linger.data = s;
    s->open = 1;
    c->handles += 2;
    return 0;
}

static void format_peer(const struct sockaddr_storage *ss, char *out, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        uv_ip6_name(a, ip, sizeof ip);
        snprintf(out, len, "[%s]:%u", ip, (unsigned)ntohs(a->sin6_port));
    } else if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        uv_ip4_name(a, ip, sizeof ip);
        snprintf(out, len, "%s:%u", ip, (unsigned)ntohs(a->sin_port));
    } else {
        snprintf(out, len, "unknown");
    }
}

hconn *memtls__hconn_accept(rt_host *h, uv_stream_t *server, size_t listener, int plaintext)
{
    memtls_server *srv = h->srv;
    hconn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return NULL;
    }
    c->host = h;
    c->listener = listener;
    c->plaintext = plaintext;
    c->accepted_ms = now_ms();
    if (side_init(c, RT_SIDE_CLIENT) != 0) {
        free(c);
        return NULL;
    }
    c->next_all = h->all;
    if (h->all != NULL) {
        h->all->prev_all = c;
    }
    h->all = c;
    hside *cl = &c->side[RT_SIDE_CLIENT];
    atomic_fetch_add_explicit(&srv->conns_total, 1, memory_order_relaxed);
    if (uv_accept(server, (uv_stream_t *)&cl->tcp) != 0) {
        c->refused = 1;
        h->refusing++;
        c->worker_done = 1;
        atomic_fetch_add_explicit(&srv->conns_refused, 1, memory_order_relaxed);
        side_close_now(cl);
        return c;
    }
    cl->connected = 1;
    uv_tcp_nodelay(&cl->tcp, 1);
    struct sockaddr_storage ss;
    int sslen = sizeof ss;
    memset(&ss, 0, sizeof ss);
    if (uv_tcp_getpeername(&cl->tcp, (struct sockaddr *)&ss, &sslen) == 0) {
        format_peer(&ss, c->peer, sizeof c->peer);
    } else {
        snprintf(c->peer, sizeof c->peer, "unknown");
    }
    if (h->stopping || h->nfree == 0) {
        /* Over the cap: answer with a clean close, no worker involved. */
        c->refused = 1;
        c->worker_done = 1;
        atomic_fetch_add_explicit(&srv->conns_refused, 1, memory_order_relaxed);
        memtls__log(srv, MEMTLS_LOG_WARN, "%s: connection refused (%s)", c->peer,
                    h->stopping ? "stopping" : "connection limit");
        emit_refused(c);
        side_close(cl, h->refusing >= RT_MAX_REFUSING);
        h->refusing++;
        return c;
    }
    c->slot = h->free_slots[--h->nfree];
    uint64_t seq = ++h->next_seq;
    c->id = (seq << RT_SLOT_BITS) | c->slot;
    c->worker = (unsigned)(seq % srv->nworkers);
    h->conns[c->slot] = c;
    h->live++;
    atomic_fetch_add_explicit(&srv->conns_open, 1, memory_order_relaxed);
    owe(c, PEND_START);
    side_update_reading(cl);
    return c;
}

/* --- messages from the worker ------------------------------------------------- */

static void side_append(hconn *c, hside *s, const memtls_ring_msg *m)
{
    if (!s->open || s->closing || s->shut_wanted) {
        return; /* the socket is gone: the worker learns it from RESET */
    }
    if (memtls__outq_append(&s->q, &c->host->pool, m->data, m->len) != 0) {
        memtls__log(c->host->srv, MEMTLS_LOG_ERROR, "conn %llu: out of memory",
                    (unsigned long long)rt_seq(c->id));
        side_close_now(s);
        owe(c, s->which == RT_SIDE_CLIENT ? PEND_RESET : PEND_BK_RESET);
        return;
    }
    side_kick(s);
}

static void on_connect(uv_connect_t *req, int status)
{
    hside *s = req->data;
    hconn *c = s->conn;
    if (s->closing) {
        return;
    }
    if (status == 0) {
        s->connected = 1;
        uv_tcp_nodelay(&s->tcp, 1);
    } else {
        memtls__log(c->host->srv, MEMTLS_LOG_WARN, "conn %llu: backend connect failed: %s",
                    (unsigned long long)rt_seq(c->id), uv_strerror(status));
        side_close_now(s);
    }
    c->bk_status = status;
    owe(c, PEND_BK_RESULT);
    if (status == 0) {
        side_update_reading(s);
        side_kick(s);
        side_maybe_finish(s);
    }
}

static void backend_connect(hconn *c)
{
    hside *s = &c->side[RT_SIDE_BACKEND];
    if (s->open) {
        return;
    }
    int rc = side_init(c, RT_SIDE_BACKEND);
    if (rc == 0) {
        s->creq.data = s;
        rc = uv_tcp_connect(&s->creq, &s->tcp, (const struct sockaddr *)&c->host->srv->backend,
                            on_connect);
        if (rc != 0) {
            side_close_now(s);
        }
    }
    if (rc != 0) {
        c->bk_status = rc < 0 ? rc : UV_ENOMEM;
        owe(c, PEND_BK_RESULT);
    }
}

void memtls__hconn_on_message(hconn *c, const memtls_ring_msg *m)
{
    hside *cl = &c->side[RT_SIDE_CLIENT];
    hside *bk = &c->side[RT_SIDE_BACKEND];
    switch (m->type) {
    case MSG_W_DATA:
        side_append(c, cl, m);
        break;
    case MSG_W_BK_DATA:
        side_append(c, bk, m);
        break;
    case MSG_W_SHUTDOWN:
    case MSG_W_BK_SHUTDOWN: {
        hside *s = m->type == MSG_W_SHUTDOWN ? cl : bk;
        if (s->open && !s->closing) {
            s->shut_wanted = 1;
            side_kick(s);
        }
        break;
    }
    case MSG_W_PAUSE:
    case MSG_W_RESUME: {
        rt_msg_side sd = {0};
        if (m->len >= sizeof sd) {
            memcpy(&sd, m->data, sizeof sd);
        }
        hside *s = sd.side == RT_SIDE_BACKEND ? bk : cl;
        s->paused = m->type == MSG_W_PAUSE;
        side_update_reading(s);
        break;
    }
    case MSG_W_BK_CONNECT:
        backend_connect(c);
        break;
    case MSG_W_CLOSE: {
        rt_msg_close cm = {0};
        if (m->len >= sizeof cm) {
            memcpy(&cm, m->data, sizeof cm);
        }
        c->worker_done = 1;
        c->pend = 0;
        unblock(c);
        side_close(cl, (int)cm.abort);
        side_close(bk, (int)cm.abort);
        conn_maybe_free(c);
        break;
    }
    default:
        memtls__log(c->host->srv, MEMTLS_LOG_ERROR, "conn %llu: unknown message type %u",
                    (unsigned long long)rt_seq(c->id), (unsigned)m->type);
        break;
    }
}

void memtls__hconn_force_close(hconn *c)
{
    c->worker_done = 1;
    c->pend = 0;
    unblock(c);
    side_close_now(&c->side[RT_SIDE_CLIENT]);
    side_close_now(&c->side[RT_SIDE_BACKEND]);
    conn_maybe_free(c);
}
