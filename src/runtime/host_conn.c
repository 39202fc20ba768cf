/*
 * host_conn.c - one connection on its host: the client socket and, in
 * proxy mode, the backend socket; what the host owes the worker; the
 * worker's messages; the graceful close.
 *
 * IMPLEMENTATION NOTES
 *
 * Socket -> ring. A readable socket is read once per loop pass, straight
 * into space reserved in the worker's ring (one message per read, no
 * intermediate buffer). If the ring has no room, the socket stops being
 * watched for reading and the connection waits on its channel's blocked
 * list until the worker reports room. The worker can also pause a socket
 * (W_PAUSE / W_RESUME).
 *
 * Ring -> socket. W_DATA payloads are sent to the socket at once, from the
 * ring; only what the kernel does not take is copied into the socket's
 * queue, which is then written when the socket is writable. The worker
 * never has more than write_window bytes per socket that the host has not
 * written: the host returns credit with H_ACK once a quarter of the
 * window has been written (a worker that waits for credit has a full
 * window outstanding, so the quarter is always reached; no ACK per write).
 *
 * Order. Everything owed to the worker that could not be written because
 * the ring was full is remembered as PEND_* flags and sent, in order, by
 * flush(); while anything is owed, no socket of the connection is read,
 * so the worker sees data, EOF and resets in the order they happened.
 *
 * Closing a socket gracefully (after W_CLOSE): write what is queued (at
 * most close_timeout_ms), shut the write side (unless the peer already
 * sent its FIN: then close() does it), then read and discard until the
 * peer's FIN or linger_ms, and only then close. Closing with unread input
 * would make the kernel send a reset that can destroy our last bytes (the
 * close_notify) in flight.
 *
 * A connection is freed when the worker released its id (W_CLOSE, or it
 * never had one) and every libuv handle has been closed.
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "metrics.h"

static void sock_update(hsock *s);
static void backend_try(hconn *c, int last_err);
static void sock_close_now(hsock *s);
static void sock_continue_close(hsock *s);
static void conn_maybe_free(hconn *c);

static memtls_server *srv_of(const hconn *c)
{
    return c->host->srv;
}

static uint64_t id_seq(const hconn *c)
{
    return rt_seq(c->id);
}

/* --- what the host owes the worker ------------------------------------------ */

static int put(hconn *c, uint32_t type, const void *a, size_t alen)
{
    return memtls__chan_put(c->ch, RT_TO_WORKER, type, c->id, a, alen, NULL, 0);
}

static void block(hconn *c)
{
    rt_fifo_push(&c->host->links[c->wi].blocked, &c->blocked);
}

/* The worker is done with c (it released the id, or it is gone). */
static void worker_gone(hconn *c)
{
    if (!c->worker_done) {
        c->worker_done = 1;
        c->host->links[c->wi].conns--;
    }
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

/* Send what is owed, in order; 1 when the ring is full. */
static int flush_owed(hconn *c)
{
    if (c->worker_done) {
        c->pend = 0;
        return 0;
    }
    if (c->pend & PEND_START) {
        rt_msg_start st;
        memset(&st, 0, sizeof st);
        st.listener = c->listener;
        st.plaintext = (uint32_t)c->plaintext;
        st.peer_len = c->cl.peer_len <= sizeof st.peer ? c->cl.peer_len : 0;
        memcpy(st.peer, &c->cl.peer, st.peer_len);
        if (c->host->srv->backend_proxy != MEMTLS_PROXY_NONE) {
            struct sockaddr_in6 local;
            socklen_t len = sizeof local;
            if (getsockname(c->cl.fd, (struct sockaddr *)&local, &len) == 0 &&
                len <= sizeof st.local) {
                memcpy(st.local, &local, len);
                st.local_len = len;
            }
        }
        if (flush_flag(c, PEND_START, MSG_H_START, &st, sizeof st)) {
            return 1;
        }
    }
    if (flush_flag(c, PEND_EOF, MSG_H_EOF, NULL, 0) ||
        flush_flag(c, PEND_RESET, MSG_H_RESET, NULL, 0)) {
        return 1;
    }
    rt_msg_status st = {c->bk_status};
    if (flush_flag(c, PEND_BK_RESULT, MSG_H_BK_RESULT, &st, sizeof st) ||
        flush_flag(c, PEND_BK_EOF, MSG_H_BK_EOF, NULL, 0) ||
        flush_flag(c, PEND_BK_RESET, MSG_H_BK_RESET, NULL, 0)) {
        return 1;
    }
    if (c->pend & PEND_ACK) {
        rt_msg_ack ack = {c->cl.ack, c->bk != NULL ? c->bk->ack : 0};
        if (put(c, MSG_H_ACK, &ack, sizeof ack) != 0) {
            return 1;
        }
        c->cl.ack = 0;
        if (c->bk != NULL) {
            c->bk->ack = 0;
        }
        c->pend &= ~(unsigned)PEND_ACK;
    }
    return 0;
}

static void flush(hconn *c)
{
    if (flush_owed(c)) {
        block(c);
    }
    sock_update(&c->cl);
    if (c->bk != NULL) {
        sock_update(c->bk);
    }
}

static void owe(hconn *c, unsigned flag)
{
    if (c->worker_done) {
        return;
    }
    c->pend |= flag;
    flush(c);
}

void memtls__hconn_retry_blocked(rt_host *h, unsigned wi)
{
    rt_fifo list = rt_fifo_take(&h->links[wi].blocked);
    rt_fifo_link *l;
    while ((l = rt_fifo_pop(&list)) != NULL) {
        hconn *c = RT_FIFO_ENTRY(l, hconn, blocked);
        c->cl.blocked = 0;
        if (c->bk != NULL) {
            c->bk->blocked = 0;
        }
        flush(c);
    }
}

/* --- the connection timer ----------------------------------------------------- */

static void on_timer(uv_timer_t *t)
{
    hconn *c = t->data;
    int what = c->timer_what;
    c->timer_what = HT_NONE;
    if (what == HT_CONNECT) {
        if (c->bk != NULL && c->bk->connecting) {
            c->bk_status = UV_ETIMEDOUT;
            sock_close_now(c->bk);
            owe(c, PEND_BK_RESULT);
        }
        return;
    }
    /* The close deadline (flush) or the drain after it (linger). */
    sock_close_now(&c->cl);
    if (c->bk != NULL) {
        sock_close_now(c->bk);
    }
}

static void timer_set(hconn *c, int what, uint64_t ms)
{
    c->timer_what = what;
    uv_timer_start(&c->timer, on_timer, ms > 0 ? ms : 1, 0);
}

/* --- one socket ---------------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *handle)
{
    hconn *c = handle->data;
    c->handles--;
    conn_maybe_free(c);
}

static int want_read(const hsock *s)
{
    const hconn *c = s->conn;
    return s->fd >= 0 && !s->eof && !s->connecting &&
           ((s->discard && !s->throttled) ||
            (!s->discard && !s->paused && !s->blocked && c->pend == 0 && !c->worker_done &&
             s->in_flight < c->host->srv->write_window));
}

/* Something changed that may let the socket act on readiness it already
 * has (edge-triggered: no new event will come for it): serve it in this
 * pass of the loop. */
static void sock_update(hsock *s)
{
    if (s->fd < 0) {
        return;
    }
    if ((s->ready_in && want_read(s)) || (s->ready_out && s->q.bytes > 0) || s->error) {
        rt_fifo_push(&s->conn->host->posted, &s->posted);
    }
}

static void sock_close_now(hsock *s)
{
    if (s->fd < 0) {
        return;
    }
    memtls__hsock_close(s);
    rt_fifo_remove(&s->conn->host->posted, &s->posted);
    memtls__outq_clear(&s->q, &s->conn->host->pool);
    conn_maybe_free(s->conn);
}

/* The socket failed: close it and tell the worker. */
static void sock_failed(hsock *s)
{
    hconn *c = s->conn;
    sock_close_now(s);
    owe(c, s->which == RT_SIDE_CLIENT ? PEND_RESET : PEND_BK_RESET);
}

/* Bytes reached the kernel: count them, and return credit in batches. */
static void sock_written(hsock *s, size_t n)
{
    hconn *c = s->conn;
    memtls_server *srv = srv_of(c);
    if (n == 0) {
        return;
    }
    atomic_fetch_add_explicit(s->which == RT_SIDE_CLIENT ? &srv->bytes_out : &srv->backend_out,
                              (uint64_t)n, memory_order_relaxed);
    if (!c->worker_done) {
        s->ack += n;
        if (s->ack >= srv->write_window / 4) {
            owe(c, PEND_ACK);
        }
    }
}

static void gather_flush(rt_host *h);

static void sock_write(hsock *s, const uint8_t *data, size_t len)
{
    if (s->fd < 0 || s->shut_wanted || s->connecting) {
        return; /* gone: the worker learns it from the reset */
    }
    rt_gather *g = &s->conn->host->gather;
    if (s->q.bytes == 0 && s->ready_out && len > 0) {
        /* It would go out now: with the batch's other pieces (rt_gather). */
        if (g->n == RT_GATHER_MAX) {
            gather_flush(s->conn->host);
        }
        if (s->fd >= 0 && s->q.bytes == 0 && s->ready_out) {
            g->e[g->n].s = s;
            g->e[g->n].data = data;
            g->e[g->n].len = len;
            g->n++;
            return;
        }
        if (s->fd < 0) {
            return;
        }
    }
    size_t n = 0;
    if (memtls__hsock_send(s, &s->conn->host->pool, data, len, &n) != 0) {
        sock_failed(s);
        return;
    }
    sock_written(s, n);
    if (s->q.bytes > 0) {
        sock_update(s);
    }
}

/* Write the gathered pieces: one sendmsg per socket, in message order. */
static void gather_flush(rt_host *h)
{
    rt_gather *g = &h->gather;
    for (unsigned i = 0; i < g->n; i++) {
        hsock *s = g->e[i].s;
        if (s == NULL) {
            continue;
        }
        struct iovec iov[RT_GATHER_MAX];
        unsigned k = 0;
        for (unsigned j = i; j < g->n; j++) {
            if (g->e[j].s == s) {
                iov[k].iov_base = (void *)g->e[j].data;
                iov[k].iov_len = g->e[j].len;
                k++;
                g->e[j].s = NULL;
            }
        }
        if (s->fd < 0) {
            continue; /* failed meanwhile: the worker learns it from the reset */
        }
        size_t n = 0;
        if (memtls__hsock_sendv(s, &h->pool, iov, k, &n) != 0) {
            sock_failed(s);
            continue;
        }
        sock_written(s, n);
        if (s->q.bytes > 0) {
            sock_update(s);
        }
    }
    g->n = 0;
}

void memtls__hconn_batch_end(void *arg)
{
    rt_host *h = arg;
    if (h->gather.n > 0) {
        gather_flush(h);
    }
}

static void sock_flush(hsock *s)
{
    size_t n = 0;
    int rc = memtls__hsock_flush(s, &s->conn->host->pool, &n);
    sock_written(s, n);
    if (rc != 0) {
        sock_failed(s);
        return;
    }
    if (s->q.bytes == 0) {
        if (s->shut_wanted && !s->shut_done && !s->close_wanted) {
            (void)memtls__hsock_shut(s);
        }
        sock_continue_close(s);
    }
    sock_update(s);
}

static void sock_read_end(hsock *s, ssize_t n)
{
    hconn *c = s->conn;
    s->eof = 1;
    if (n < 0) {
        sock_failed(s);
        return;
    }
    if (!s->discard) {
        owe(c, s->which == RT_SIDE_CLIENT ? PEND_EOF : PEND_BK_EOF);
    }
    sock_continue_close(s);
    sock_update(s);
}

static void sock_read(hsock *s)
{
    hconn *c = s->conn;
    memtls_server *srv = srv_of(c);
    atomic_uint_fast64_t *count = s->which == RT_SIDE_CLIENT ? &srv->bytes_in : &srv->backend_in;
    if (s->discard) {
        ssize_t n = memtls__hsock_recv(s, c->host->scratch, RT_READ_CHUNK);
        if (n > 0) {
            atomic_fetch_add_explicit(count, (uint64_t)n, memory_order_relaxed);
            s->discarded += (size_t)n;
            if (!s->throttled &&
                (s->discarded > RT_DISCARD_MAX || ++s->discards > RT_DISCARD_READS)) {
                /* See RT_DISCARD_MAX: read no more, close soon. */
                s->throttled = 1;
                if (c->timer_what != HT_LINGER || RT_DRAIN_GRACE_MS < srv->linger_ms) {
                    timer_set(c, HT_LINGER, RT_DRAIN_GRACE_MS);
                }
            }
        } else if (n != -EAGAIN) {
            sock_read_end(s, n);
        }
        return;
    }
    size_t max = RT_READ_CHUNK < c->ch->max_msg ? RT_READ_CHUNK : c->ch->max_msg;
    size_t credit = srv->write_window - s->in_flight; /* > 0: see want_read */
    if (max > credit) {
        max = credit;
    }
    if (srv->metrics != NULL) { /* ring delay probe ahead of the data (metrics.h) */
        memtls__metrics_probe_host(srv, c->ch, c->host->links[c->wi].gid,
                                   uv_now(&c->host->loop.uv));
    }
    void *p = memtls__chan_reserve(c->ch, RT_TO_WORKER, max);
    if (p == NULL) {
        s->blocked = 1;
        block(c);
        sock_update(s);
        return;
    }
    ssize_t n = memtls__hsock_recv(s, p, max);
    if (n > 0) {
        memtls__chan_commit(c->ch, RT_TO_WORKER,
                            s->which == RT_SIDE_CLIENT ? MSG_H_DATA : MSG_H_BK_DATA, c->id,
                            (size_t)n);
        s->in_flight += (size_t)n;
        atomic_fetch_add_explicit(count, (uint64_t)n, memory_order_relaxed);
    } else if (n != -EAGAIN) {
        sock_read_end(s, n);
    }
}

/* Graceful close, step by step: flush, shut, drain, close. */
static void sock_continue_close(hsock *s)
{
    hconn *c = s->conn;
    if (s->fd < 0 || !s->close_wanted) {
        return;
    }
    if (s->connecting) {
        sock_close_now(s);
        return;
    }
    if (s->q.bytes > 0) {
        return; /* writable first */
    }
    if (s->eof) {
        /* The peer finished sending and we read it all: close() sends
         * our FIN, and there is no unread input to turn it into a reset. */
        sock_close_now(s);
        return;
    }
    if (!s->shut_done) {
        (void)memtls__hsock_shut(s);
    }
    s->discard = 1;
    int draining = 1;
    if (c->bk != NULL && c->bk->fd >= 0) {
        hsock *other = s == c->bk ? &c->cl : c->bk;
        draining = other->fd < 0 || (other->shut_done && other->q.bytes == 0);
    }
    if (draining && c->timer_what != HT_LINGER) {
        timer_set(c, HT_LINGER, srv_of(c)->linger_ms);
    }
}

static void sock_close(hsock *s, int abort_now)
{
    if (s->fd < 0) {
        return;
    }
    if (abort_now) {
        sock_close_now(s);
        return;
    }
    s->close_wanted = 1;
    s->discard = 1;
    sock_continue_close(s);
    sock_update(s);
}

static void connect_done(hsock *s)
{
    hconn *c = s->conn;
    int err = memtls__hsock_connect_result(s);
    if (c->timer_what == HT_CONNECT) {
        uv_timer_stop(&c->timer);
        c->timer_what = HT_NONE;
    }
    s->connecting = 0;
    if (err != 0) {
        /* This address failed: the next one, if the name has more. */
        memtls__hsock_close(s);
        rt_fifo_remove(&c->host->posted, &s->posted);
        backend_try(c, err);
        return;
    }
    c->bk_status = 0;
    owe(c, PEND_BK_RESULT);
    sock_update(s);
}

void memtls__hconn_serve(hsock *s)
{
    if (s->fd < 0) {
        return;
    }
    if (s->connecting) {
        if (s->ready_out || s->error) {
            connect_done(s); /* a failed connect reports an error: SO_ERROR says which */
        }
        return;
    }
    if (s->error) {
        sock_failed(s);
        return;
    }
    if (s->ready_out && s->q.bytes > 0) {
        sock_flush(s);
    }
    if (want_read(s) && s->ready_in) {
        sock_read(s);
        /* One read per socket and pass (fairness): more waits its turn. */
        if (want_read(s) && s->ready_in) {
            rt_fifo_push(&s->conn->host->posted, &s->posted);
        }
    }
}

static int sock_open(hsock *s, hconn *c, int which, int fd)
{
    memset(s, 0, offsetof(hsock, peer));
    s->conn = c;
    s->which = which;
    return memtls__hsock_register(s, c->host->epfd, fd) == 0 ? 0 : -1;
}

/* --- opening -------------------------------------------------------------------- */

/* Connect to the backend address bk_next (the next after a failure);
 * when none is left, the last failure is the result. */
static void backend_try(hconn *c, int last_err)
{
    rt_resolver *r = &c->host->resolver;
    int rc = last_err != 0 ? last_err : r->err != 0 ? r->err : UV_ECONNREFUSED;
    while (c->bk_next < r->n) {
        unsigned i = c->bk_next++;
        int fd = -1;
        rc = memtls__hsock_connect((const struct sockaddr *)&r->addr[i], r->len[i], &fd);
        if (rc != 0) {
            continue;
        }
        if (c->bk == NULL) {
            c->bk = calloc(1, sizeof *c->bk);
        }
        if (c->bk == NULL || sock_open(c->bk, c, RT_SIDE_BACKEND, fd) != 0) {
            close(fd);
            rc = UV_ENOMEM;
            break;
        }
        c->bk->connecting = 1;
        if (c->timer_what != HT_CONNECT) {
            /* One deadline for all the addresses. */
            timer_set(c, HT_CONNECT, srv_of(c)->connect_timeout_ms);
        }
        sock_update(c->bk);
        return;
    }
    if (c->timer_what == HT_CONNECT) {
        uv_timer_stop(&c->timer);
        c->timer_what = HT_NONE;
    }
    c->bk_status = rc;
    owe(c, PEND_BK_RESULT);
}

static void backend_connect(hconn *c)
{
    if (c->bk != NULL || c->resolving.queued) {
        return;
    }
    if (memtls__resolve(&c->host->resolver, &c->resolving)) {
        c->bk_next = 0;
        backend_try(c, 0);
    }
}

void memtls__hconn_resolved(rt_fifo_link *waiter)
{
    hconn *c = RT_FIFO_ENTRY(waiter, hconn, resolving);
    if (!c->worker_done) {
        c->bk_next = 0;
        backend_try(c, 0);
    }
}

static void link_all(hconn *c)
{
    rt_host *h = c->host;
    c->next_all = h->all;
    if (h->all != NULL) {
        h->all->prev_all = c;
    }
    h->all = c;
}

void memtls__hconn_log(hconn *c, const char *reason)
{
    memtls_server *srv = c->host->srv;
    if (srv->on_conn_log == NULL || c->logged) {
        return;
    }
    c->logged = 1;
    char peer[64];
    memtls__format_addr((const struct sockaddr *)&c->cl.peer, peer, sizeof peer);
    memtls_conn_record rec;
    memset(&rec, 0, sizeof rec);
    rec.id = c->refused ? 0 : id_seq(c);
    rec.listener = c->listener;
    rec.plaintext = c->plaintext;
    rec.peer = peer;
    rec.sni = rec.version = rec.cipher = rec.alpn = rec.subject = rec.cert_subject = "";
    rec.cert_index = -1;
    uint64_t now = uv_now(&c->host->loop.uv);
    rec.duration_ms = c->started_ms != 0 && now > c->started_ms ? now - c->started_ms : 0;
    rec.reason = reason;
    srv->on_conn_log(srv->log_arg, &rec);
}

/* Over the cap, stopping, or no worker serving (`no_worker`: every
 * worker process of this I/O thread is starting or gone): a clean close,
 * no worker involved. */
static void refuse(hconn *c, int no_worker)
{
    rt_host *h = c->host;
    memtls_server *srv = h->srv;
    c->refused = 1;
    c->worker_done = 1;
    atomic_fetch_add_explicit(&srv->conns_refused, 1, memory_order_relaxed);
    const char *why = h->stopping ? "server stopping"
                      : no_worker ? "no worker available"
                                  : "connection limit";
    memtls__log_limited(srv, &h->cap_logged, MEMTLS_LOG_WARN, "refusing connections (%s: %u open)",
                        why, srv->max_conns);
    memtls__hconn_log(c, h->stopping ? "refused: server stopping"
                         : no_worker ? "refused: no worker available"
                                     : "refused: connection limit");
    h->refusing++;
    sock_close(&c->cl, h->refusing > RT_MAX_REFUSING);
}

hconn *memtls__hconn_accept(rt_host *h, size_t listener, int fd, const struct sockaddr *sa,
                            socklen_t salen)
{
    memtls_server *srv = h->srv;
    hconn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        close(fd);
        return NULL;
    }
    c->host = h;
    c->listener = (uint32_t)listener;
    c->started_ms = uv_now(&h->loop.uv);
    c->plaintext = srv->listeners[listener].plaintext;
    if (sock_open(&c->cl, c, RT_SIDE_CLIENT, fd) != 0) {
        close(fd);
        free(c);
        return NULL;
    }
    uv_timer_init(&h->loop.uv, &c->timer);
    c->timer.data = c;
    c->handles++;
    memcpy(&c->cl.peer, sa, salen <= sizeof c->cl.peer ? salen : sizeof c->cl.peer);
    c->cl.peer_len = salen <= sizeof c->cl.peer ? salen : 0;
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    link_all(c);
    atomic_fetch_add_explicit(&srv->conns_total, 1, memory_order_relaxed);

    /* Workers take the host's connections in turn, skipping any that
     * does not serve now (a broken channel, a process starting, retiring
     * or gone). */
    int wi = memtls__host_pick_link(h);
    uint64_t open = atomic_fetch_add_explicit(&srv->conns_open, 1, memory_order_relaxed);
    if (h->stopping || open >= srv->max_conns || h->nfree == 0 || wi < 0) {
        atomic_fetch_sub_explicit(&srv->conns_open, 1, memory_order_relaxed);
        refuse(c, wi < 0 && !h->stopping && open < srv->max_conns && h->nfree != 0);
        return c;
    }
    c->wi = (unsigned)wi;
    h->links[wi].conns++;
    c->slot = h->free_slots[--h->nfree];
    /* Ids are unique in the server: they name connections in the log. */
    uint64_t seq = atomic_fetch_add_explicit(&srv->next_id, 1, memory_order_relaxed) + 1;
    c->id = (seq << RT_SLOT_BITS) | c->slot;
    c->ch = h->links[wi].ch;
    h->conns[c->slot] = c;
    h->live++;
    owe(c, PEND_START);
    return c;
}

/* --- messages from the worker ------------------------------------------------- */

static void shut_when_flushed(hsock *s)
{
    if (s->fd < 0 || s->close_wanted) {
        return;
    }
    s->shut_wanted = 1;
    if (s->q.bytes == 0 && !s->shut_done) {
        (void)memtls__hsock_shut(s);
    }
}

/* A worker process's log record of c (MSG_W_RECORD), logged here: every
 * length is checked against the message, every string copied and ended. */
static void worker_record(hconn *c, const memtls_ring_msg *m)
{
    memtls_server *srv = c->host->srv;
    rt_msg_record r;
    if (srv->on_conn_log == NULL || m->len < sizeof r) {
        return;
    }
    memcpy(&r, m->data, sizeof r);
    char str[RT_REC_NSTR][RT_REC_STR_MAX + 1];
    size_t off = sizeof r;
    for (int i = 0; i < RT_REC_NSTR; i++) {
        size_t n = r.len[i];
        if (n > RT_REC_STR_MAX || n > m->len - off) {
            memtls__log_limited(srv, &c->host->foreign_logged, MEMTLS_LOG_ERROR,
                                "worker %u sent a malformed connection record: ignored",
                                c->host->links[c->wi].worker);
            return;
        }
        memcpy(str[i], m->data + off, n);
        str[i][n] = '\0';
        off += n;
    }
    memtls_conn_record rec;
    memset(&rec, 0, sizeof rec);
    rec.id = id_seq(c);
    rec.listener = c->listener;
    rec.plaintext = c->plaintext;
    rec.peer = str[RT_REC_PEER];
    rec.sni = str[RT_REC_SNI];
    rec.version = str[RT_REC_VERSION];
    rec.cipher = str[RT_REC_CIPHER];
    rec.alpn = str[RT_REC_ALPN];
    rec.subject = str[RT_REC_SUBJECT];
    rec.cert_subject = str[RT_REC_CERT_SUBJECT];
    rec.reason = str[RT_REC_REASON];
    rec.bytes_in = r.bytes_in;
    rec.bytes_out = r.bytes_out;
    rec.app_in = r.app_in;
    rec.app_out = r.app_out;
    rec.duration_ms = r.duration_ms;
    rec.cert_index = r.cert_index;
    rec.clean = r.clean != 0;
    rec.resumed = r.resumed != 0;
    c->logged = 1;
    srv->on_conn_log(srv->log_arg, &rec);
}

void memtls__hconn_on_message(void *arg, const memtls_ring_msg *m)
{
    rt_host *h = arg;
    if (h->gather.n > 0 && m->type != MSG_W_DATA && m->type != MSG_W_BK_DATA) {
        gather_flush(h); /* whatever this message does comes after them */
    }
    if (m->type == MSG_W_PROBE) {
        memtls__metrics_probe_to_host(h->srv, h->links[h->reading].gid,
                                      m); /* ring delay (metrics.h) */
        return;
    }
    uint32_t slot = rt_slot(m->conn);
    if (slot >= h->srv->max_conns) {
        return;
    }
    hconn *c = h->conns[slot];
    if (c == NULL || c->id != m->conn || c->worker_done) {
        return; /* a late message for a finished connection */
    }
    if (c->wi != h->reading) {
        /* Not a connection of the worker that wrote it: a worker speaks
         * only for its own connections. */
        memtls__log_limited(h->srv, &h->foreign_logged, MEMTLS_LOG_ERROR,
                            "worker %u wrote for a connection it does not serve: ignored",
                            h->links[h->reading].worker);
        return;
    }
    switch (m->type) {
    case MSG_W_DATA:
        sock_write(&c->cl, m->data, m->len);
        break;
    case MSG_W_BK_DATA:
        if (c->bk != NULL) {
            sock_write(c->bk, m->data, m->len);
        }
        break;
    case MSG_W_SHUTDOWN:
        shut_when_flushed(&c->cl);
        break;
    case MSG_W_BK_SHUTDOWN:
        if (c->bk != NULL) {
            shut_when_flushed(c->bk);
        }
        break;
    case MSG_W_PAUSE:
    case MSG_W_RESUME: {
        rt_msg_side sd = {0};
        memcpy(&sd, m->data, m->len < sizeof sd ? m->len : sizeof sd);
        hsock *s = sd.side == RT_SIDE_BACKEND ? c->bk : &c->cl;
        if (s != NULL) {
            s->paused = m->type == MSG_W_PAUSE;
            sock_update(s);
        }
        break;
    }
    case MSG_W_BK_CONNECT:
        backend_connect(c);
        break;
    case MSG_W_ACK: {
        rt_msg_ack ack = {0, 0};
        memcpy(&ack, m->data, m->len < sizeof ack ? m->len : sizeof ack);
        hsock *sides[2] = {&c->cl, c->bk};
        uint64_t n[2] = {ack.client, ack.backend};
        for (int i = 0; i < 2; i++) {
            if (sides[i] != NULL && n[i] > 0) {
                sides[i]->in_flight -= n[i] < sides[i]->in_flight ? n[i] : sides[i]->in_flight;
                sock_update(sides[i]);
            }
        }
        break;
    }
    case MSG_W_CLOSE: {
        rt_msg_close cm = {0};
        memcpy(&cm, m->data, m->len < sizeof cm ? m->len : sizeof cm);
        worker_gone(c);
        c->pend = 0;
        rt_fifo_remove(&h->links[c->wi].blocked, &c->blocked);
        if (c->timer_what == HT_CONNECT) {
            uv_timer_stop(&c->timer);
            c->timer_what = HT_NONE;
        }
        if (!cm.abort) {
            timer_set(c, HT_FLUSH, h->srv->close_timeout_ms);
        }
        sock_close(&c->cl, (int)cm.abort);
        if (c->bk != NULL) {
            sock_close(c->bk, (int)cm.abort);
        }
        conn_maybe_free(c);
        break;
    }
    case MSG_W_RECORD:
        worker_record(c, m);
        break;
    default:
        memtls__log(h->srv, MEMTLS_LOG_ERROR, "conn %llu: unknown message type %u",
                    (unsigned long long)id_seq(c), (unsigned)m->type);
        break;
    }
}

/* --- the end ------------------------------------------------------------------- */

static void conn_maybe_free(hconn *c)
{
    rt_host *h = c->host;
    if (!c->worker_done || c->cl.fd >= 0 || (c->bk != NULL && c->bk->fd >= 0)) {
        return;
    }
    if (!uv_is_closing((uv_handle_t *)&c->timer)) {
        uv_close((uv_handle_t *)&c->timer, on_handle_closed);
        return;
    }
    if (c->handles > 0) {
        return;
    }
    if (!c->refused) {
        rt_fifo_remove(&h->links[c->wi].blocked, &c->blocked);
    }
    memtls__resolve_cancel(&h->resolver, &c->resolving);
    memtls__outq_clear(&c->cl.q, &h->pool);
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
    free(c->bk);
    free(c);
}

void memtls__hconn_force_close(hconn *c)
{
    if (!c->refused) {
        worker_gone(c);
        rt_fifo_remove(&c->host->links[c->wi].blocked, &c->blocked);
    }
    c->pend = 0;
    sock_close_now(&c->cl);
    if (c->bk != NULL) {
        sock_close_now(c->bk);
    }
    conn_maybe_free(c);
}
