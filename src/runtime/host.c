/*
 * host.c - the host I/O thread: a libuv loop with the listeners, the
 * consumer side of every worker->host ring, and the stop sequence.
 * The sockets of one connection are in host_conn.c.
 *
 * IMPLEMENTATION NOTES
 *
 * Wake-ups. Workers publish messages and then signal the host's uv_async
 * only when the host may be asleep (rt_waker in wake.c). The async callback
 * drains every worker's ring in batches; a ring with more left is picked
 * up again before the loop blocks (the prepare callback checks).
 *
 * Stop. memtls__host_request_stop() (any thread) sets a flag and wakes the
 * loop. The host closes its listeners, tells every worker to close its
 * connections gracefully and starts the grace timer. Connections end the
 * normal way (W_CLOSE, flush, shutdown, close). When none is left, or when
 * the grace timer fires (remaining sockets are then closed at once), the
 * workers are told to exit and the host closes its last handles, so
 * uv_run returns and the thread ends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

#define HOST_BATCH 1024u

static rt_host *host_of(memtls_server *srv)
{
    return srv->host;
}

/* --- listeners ------------------------------------------------------------ */

static void on_connection(uv_stream_t *server, int status)
{
    rt_host *h = server->loop->data;
    size_t index = (size_t)((uv_tcp_t *)server - h->listeners);
    if (status < 0) {
        memtls__log(h->srv, MEMTLS_LOG_WARN, "accept failed: %s", uv_strerror(status));
        return;
    }
    if (memtls__hconn_accept(h, server, index, h->srv->listeners[index].plaintext) == NULL) {
        memtls__log(h->srv, MEMTLS_LOG_ERROR, "accept: out of memory");
    }
}

static int parse_addr(const char *host, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0) {
        return 0;
    }
    if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0) {
        return 0;
    }
    return -1;
}

static void format_addr(const char *host, uint16_t port, char *out, size_t len)
{
    if (strchr(host, ':') != NULL) {
        snprintf(out, len, "[%s]:%u", host, (unsigned)port);
    } else {
        snprintf(out, len, "%s:%u", host, (unsigned)port);
    }
}

static int bind_listener(rt_host *h, size_t i, char *err, size_t errlen)
{
    memtls_server *srv = h->srv;
    const memtls_listener_opts *l = &srv->listeners[i];
    char name[80];
    struct sockaddr_storage ss;
    format_addr(l->host, l->port, name, sizeof name);
    if (parse_addr(l->host, l->port, &ss) != 0) {
        snprintf(err, errlen, "%s: invalid address (numeric IPv4 or IPv6 expected)", name);
        return MEMTLS_ERR_INVALID;
    }
    uv_tcp_t *t = &h->listeners[i];
    int rc = uv_tcp_init(&h->loop, t);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", name, uv_strerror(rc));
        return MEMTLS_ERR_NOMEM;
    }
    t->data = h;
    h->nlisteners = i + 1;
    rc = uv_tcp_bind(t, (const struct sockaddr *)&ss,
                     ss.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
    if (rc == 0) {
        rc = uv_listen((uv_stream_t *)t, 511, on_connection);
    }
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", name, uv_strerror(rc));
        return MEMTLS_ERR_INVALID;
    }
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    memset(&bound, 0, sizeof bound);
    if (uv_tcp_getsockname(t, (struct sockaddr *)&bound, &blen) == 0) {
        h->ports[i] = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                        : ((struct sockaddr_in *)&bound)->sin_port);
    }
    return 0;
}

uint16_t memtls__host_port(const memtls_server *srv, size_t index)
{
    if (srv == NULL || srv->host == NULL || index >= srv->host->nlisteners) {
        return 0;
    }
    return srv->host->ports[index];
}

/* --- messages from the workers ------------------------------------------- */

static void on_message(void *arg, const memtls_ring_msg *m)
{
    rt_host *h = arg;
    uint32_t slot = rt_slot(m->conn);
    if (slot >= h->srv->max_conns) {
        return;
    }
    hconn *c = h->conns[slot];
    if (c == NULL || c->id != m->conn || c->worker_done) {
        return; /* a late message for a finished connection */
    }
    memtls__hconn_on_message(c, m);
}

static int host_has_work(rt_host *h)
{
    memtls_server *srv = h->srv;
    if (atomic_load_explicit(&h->stop_requested, memory_order_relaxed) && !h->stopping) {
        return 1;
    }
    for (unsigned i = 0; i < srv->nworkers; i++) {
        rt_worker *w = &srv->workers[i];
        if (!memtls_ring_empty(w->to_host) ||
            atomic_load_explicit(&w->room_for_host, memory_order_relaxed)) {
            return 1;
        }
    }
    return 0;
}

static void begin_stop(rt_host *h);

static void on_wake(uv_async_t *a)
{
    rt_host *h = a->data;
    memtls_server *srv = h->srv;
    atomic_store_explicit(&h->waker.asleep, 0, memory_order_relaxed);
    for (unsigned i = 0; i < srv->nworkers; i++) {
        rt_worker *w = &srv->workers[i];
        if (atomic_exchange_explicit(&w->room_for_host, 0, memory_order_acq_rel)) {
            memtls__hconn_retry_blocked(h, i);
        }
        if (h->exiting) {
            continue;
        }
        memtls_ring_read(w->to_host, on_message, h, HOST_BATCH);
        memtls__ring_room(&w->w2h_waiting, &w->room_for_worker, &w->waker);
    }
    if (atomic_load_explicit(&h->stop_requested, memory_order_acquire) && !h->stopping) {
        begin_stop(h);
    }
}

static void on_prepare(uv_prepare_t *p)
{
    rt_host *h = p->data;
    atomic_store_explicit(&h->waker.asleep, 1, memory_order_seq_cst);
    atomic_thread_fence(memory_order_seq_cst);
    if (!h->exiting && host_has_work(h)) {
        atomic_store_explicit(&h->waker.asleep, 0, memory_order_relaxed);
        uv_async_send(&h->waker.async);
    }
}

static void on_check(uv_check_t *c)
{
    rt_host *h = c->data;
    atomic_store_explicit(&h->waker.asleep, 0, memory_order_relaxed);
}

/* --- stop --------------------------------------------------------------------- */

static void finish(rt_host *h)
{
    memtls_server *srv = h->srv;
    if (h->exiting) {
        return;
    }
    h->exiting = 1;
    for (unsigned i = 0; i < srv->nworkers; i++) {
        atomic_store_explicit(&srv->workers[i].exit, 1, memory_order_release);
        memtls__worker_wake(&srv->workers[i]);
    }
    /* Whatever still closes (refused connections) is cut short. */
    hconn *c = h->all;
    while (c != NULL) {
        hconn *next = c->next_all;
        memtls__hconn_force_close(c);
        c = next;
    }
    uv_close((uv_handle_t *)&h->grace, NULL);
    uv_close((uv_handle_t *)&h->waker.async, NULL);
    uv_close((uv_handle_t *)&h->waker.prepare, NULL);
    uv_close((uv_handle_t *)&h->waker.check, NULL);
}

static void maybe_finish(rt_host *h)
{
    if (h->stopping && h->live == 0) {
        finish(h);
    }
}

static void on_grace(uv_timer_t *t)
{
    rt_host *h = t->data;
    memtls__log(h->srv, MEMTLS_LOG_INFO, "grace period over: closing %u connection(s)", h->live);
    finish(h);
}

static void begin_stop(rt_host *h)
{
    memtls_server *srv = h->srv;
    h->stopping = 1;
    for (size_t i = 0; i < h->nlisteners; i++) {
        uv_close((uv_handle_t *)&h->listeners[i], NULL);
    }
    for (unsigned i = 0; i < srv->nworkers; i++) {
        atomic_store_explicit(&srv->workers[i].stop, 1, memory_order_release);
        memtls__worker_wake(&srv->workers[i]);
    }
    unsigned grace = atomic_load_explicit(&srv->grace_ms, memory_order_relaxed);
    memtls__log(srv, MEMTLS_LOG_INFO, "stopping: %u connection(s) open, grace %u ms", h->live,
                grace);
    if (h->live == 0) {
        finish(h);
        return;
    }
    uv_timer_start(&h->grace, on_grace, grace, 0);
}

void memtls__host_conn_freed(rt_host *h)
{
    maybe_finish(h);
}

void memtls__host_request_stop(memtls_server *srv)
{
    rt_host *h = host_of(srv);
    atomic_store_explicit(&h->stop_requested, 1, memory_order_release);
    uv_async_send(&h->waker.async);
}

/* --- thread ---------------------------------------------------------------- */

void *memtls__host_main(void *arg)
{
    memtls_server *srv = arg;
    uv_run(&host_of(srv)->loop, UV_RUN_DEFAULT);
    return NULL;
}

int memtls__host_new(memtls_server *srv, char *err, size_t errlen)
{
    rt_host *h = calloc(1, sizeof *h);
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return MEMTLS_ERR_NOMEM;
    }
    srv->host = h;
    srv->host_waker = &h->waker;
    h->srv = srv;
    atomic_init(&h->stop_requested, 0);
    atomic_init(&h->waker.asleep, 0);
    h->listeners = calloc(srv->nlisteners, sizeof *h->listeners);
    h->ports = calloc(srv->nlisteners, sizeof *h->ports);
    h->conns = calloc(srv->max_conns, sizeof *h->conns);
    h->free_slots = calloc(srv->max_conns, sizeof *h->free_slots);
    h->rbuf = malloc(RT_READ_CHUNK);
    if (h->listeners == NULL || h->ports == NULL || h->conns == NULL || h->free_slots == NULL ||
        h->rbuf == NULL) {
        snprintf(err, errlen, "out of memory");
        return MEMTLS_ERR_NOMEM;
    }
    /* Hand out low slots first. */
    for (uint32_t i = 0; i < srv->max_conns; i++) {
        h->free_slots[i] = srv->max_conns - 1 - i;
    }
    h->nfree = srv->max_conns;
    if (uv_loop_init(&h->loop) != 0) {
        snprintf(err, errlen, "cannot create the event loop");
        return MEMTLS_ERR_NOMEM;
    }
    h->loop_init = 1;
    h->loop.data = h;
    uv_async_init(&h->loop, &h->waker.async, on_wake);
    uv_prepare_init(&h->loop, &h->waker.prepare);
    uv_check_init(&h->loop, &h->waker.check);
    h->waker.async.data = h;
    h->waker.prepare.data = h;
    h->waker.check.data = h;
    uv_prepare_start(&h->waker.prepare, on_prepare);
    uv_check_start(&h->waker.check, on_check);
    uv_unref((uv_handle_t *)&h->waker.prepare);
    uv_unref((uv_handle_t *)&h->waker.check);
    uv_timer_init(&h->loop, &h->grace);
    h->grace.data = h;
    h->waker_init = 1;
    for (size_t i = 0; i < srv->nlisteners; i++) {
        int rc = bind_listener(h, i, err, errlen);
        if (rc != 0) {
            return rc;
        }
        char name[80];
        format_addr(srv->listeners[i].host, h->ports[i], name, sizeof name);
        memtls__log(srv, MEMTLS_LOG_INFO, "listening on %s (%s)", name,
                    srv->listeners[i].plaintext ? "plaintext" : "TLS");
    }
    return 0;
}

static void close_walk(uv_handle_t *handle, void *arg)
{
    (void)arg;
    if (!uv_is_closing(handle)) {
        uv_close(handle, NULL);
    }
}

void memtls__host_free(memtls_server *srv)
{
    rt_host *h = srv->host;
    if (h == NULL) {
        return;
    }
    if (h->loop_init) {
        /* Never started, or started and finished: close what is left. */
        uv_walk(&h->loop, close_walk, NULL);
        uv_run(&h->loop, UV_RUN_DEFAULT);
        /* Connections are freed by their close callbacks above. */
        uv_loop_close(&h->loop);
    }
    memtls__pool_free(&h->pool);
    free(h->listeners);
    free(h->ports);
    free(h->conns);
    free(h->free_slots);
    free(h->rbuf);
    free(h);
    srv->host = NULL;
}
