/*
 * worker.c - a TLS worker thread: its libuv loop (sleeping when idle), the
 * consumer side of its host->worker ring, and the list of its connections
 * waiting for room in the worker->host ring. The per-connection logic is
 * in worker_conn.c.
 */
#include <stdlib.h>
#include <string.h>

#include "worker.h"

#define WORKER_BATCH 1024u

int memtls__wput(rt_worker *w, uint32_t type, uint64_t id, const void *a, size_t alen,
                 const void *b, size_t blen)
{
    int rc = memtls__ring_put(w->to_host, &w->w2h_waiting, type, id, a, alen, b, blen);
    if (rc == 0) {
        memtls__waker_notify(w->srv->host_waker);
    }
    return rc;
}

void memtls__wconn_block(rt_wconn *c)
{
    if (c->blocked) {
        return;
    }
    c->blocked = 1;
    c->next_blocked = c->w->blocked;
    c->w->blocked = c;
}

/* Take c out of the worker's table and lists. */
void memtls__wconn_unlink(rt_wconn *c)
{
    rt_worker *w = c->w;
    if (c->blocked) {
        rt_wconn **pp = &w->blocked;
        while (*pp != NULL && *pp != c) {
            pp = &(*pp)->next_blocked;
        }
        if (*pp == c) {
            *pp = c->next_blocked;
        }
        c->blocked = 0;
    }
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
}

static void retry_blocked(rt_worker *w)
{
    rt_wconn *c = w->blocked;
    w->blocked = NULL;
    while (c != NULL) {
        rt_wconn *next = c->next_blocked;
        c->blocked = 0;
        c->next_blocked = NULL;
        memtls__wconn_progress(c);
        c = next;
    }
}

static void on_message(void *arg, const memtls_ring_msg *m)
{
    rt_worker *w = arg;
    uint32_t slot = rt_slot(m->conn);
    if (slot >= w->srv->max_conns) {
        return;
    }
    rt_wconn *c = w->conns[slot];
    if (c != NULL && c->id != m->conn) {
        c = NULL;
    }
    if (m->type == MSG_H_START) {
        if (c == NULL) {
            memtls__wconn_start(w, m->conn, m);
        }
        return;
    }
    if (c == NULL) {
        /* Unknown id: the worker already released it (its W_CLOSE is on
         * the way). A reset is still answered, so no close is ignored. */
        if (m->type == MSG_H_RESET) {
            rt_msg_close cm = {1};
            (void)memtls__wput(w, MSG_W_CLOSE, m->conn, &cm, sizeof cm, NULL, 0);
        }
        return;
    }
    memtls__wconn_on_message(c, m);
}

static void close_loop_handles(rt_worker *w)
{
    uv_close((uv_handle_t *)&w->waker.async, NULL);
    uv_close((uv_handle_t *)&w->waker.prepare, NULL);
    uv_close((uv_handle_t *)&w->waker.check, NULL);
}

static void on_wake(uv_async_t *a)
{
    rt_worker *w = a->data;
    atomic_store_explicit(&w->waker.asleep, 0, memory_order_relaxed);
    if (atomic_load_explicit(&w->exit, memory_order_acquire)) {
        while (w->all != NULL) {
            memtls__wconn_discard(w->all);
        }
        close_loop_handles(w);
        return;
    }
    if (atomic_exchange_explicit(&w->room_for_worker, 0, memory_order_acq_rel)) {
        retry_blocked(w);
    }
    memtls_ring_read(w->to_worker, on_message, w, WORKER_BATCH);
    memtls__ring_room(&w->h2w_waiting, &w->room_for_host, w->srv->host_waker);
    if (!w->stopping && atomic_load_explicit(&w->stop, memory_order_acquire)) {
        w->stopping = 1;
        rt_wconn *c = w->all;
        while (c != NULL) {
            rt_wconn *next = c->next_all;
            memtls__wconn_stop(c);
            c = next;
        }
    }
}

static void on_prepare(uv_prepare_t *p)
{
    rt_worker *w = p->data;
    atomic_store_explicit(&w->waker.asleep, 1, memory_order_seq_cst);
    atomic_thread_fence(memory_order_seq_cst);
    if (!memtls_ring_empty(w->to_worker) ||
        atomic_load_explicit(&w->room_for_worker, memory_order_relaxed) ||
        atomic_load_explicit(&w->exit, memory_order_relaxed) ||
        (!w->stopping && atomic_load_explicit(&w->stop, memory_order_relaxed))) {
        atomic_store_explicit(&w->waker.asleep, 0, memory_order_relaxed);
        uv_async_send(&w->waker.async);
    }
}

static void on_check(uv_check_t *c)
{
    rt_worker *w = c->data;
    atomic_store_explicit(&w->waker.asleep, 0, memory_order_relaxed);
}

void memtls__worker_wake(rt_worker *w)
{
    uv_async_send(&w->waker.async);
}

void *memtls__worker_main(void *arg)
{
    rt_worker *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
    return NULL;
}

int memtls__worker_init(rt_worker *w, memtls_server *srv, unsigned index)
{
    w->srv = srv;
    w->index = index;
    atomic_init(&w->h2w_waiting, 0);
    atomic_init(&w->w2h_waiting, 0);
    atomic_init(&w->room_for_host, 0);
    atomic_init(&w->room_for_worker, 0);
    atomic_init(&w->stop, 0);
    atomic_init(&w->exit, 0);
    atomic_init(&w->waker.asleep, 0);
    w->to_worker = memtls_ring_new(srv->ring_capacity);
    w->to_host = memtls_ring_new(srv->ring_capacity);
    w->conns = calloc(srv->max_conns, sizeof *w->conns);
    w->scratch = malloc(RT_APP_CHUNK);
    if (w->to_worker == NULL || w->to_host == NULL || w->conns == NULL || w->scratch == NULL) {
        return MEMTLS_ERR_NOMEM;
    }
    w->max_msg = memtls_ring_max_message(w->to_host);
    if (uv_loop_init(&w->loop) != 0) {
        return MEMTLS_ERR_NOMEM;
    }
    w->loop.data = w;
    uv_async_init(&w->loop, &w->waker.async, on_wake);
    uv_prepare_init(&w->loop, &w->waker.prepare);
    uv_check_init(&w->loop, &w->waker.check);
    w->waker.async.data = w;
    w->waker.prepare.data = w;
    w->waker.check.data = w;
    uv_prepare_start(&w->waker.prepare, on_prepare);
    uv_check_start(&w->waker.check, on_check);
    uv_unref((uv_handle_t *)&w->waker.prepare);
    uv_unref((uv_handle_t *)&w->waker.check);
    w->loop_ok = 1;
    return 0;
}

static void close_walk(uv_handle_t *handle, void *arg)
{
    (void)arg;
    if (!uv_is_closing(handle)) {
        uv_close(handle, NULL);
    }
}

void memtls__worker_free(rt_worker *w)
{
    if (w->loop_ok) {
        while (w->all != NULL) {
            memtls__wconn_discard(w->all);
        }
        uv_walk(&w->loop, close_walk, NULL);
        uv_run(&w->loop, UV_RUN_DEFAULT);
        uv_loop_close(&w->loop);
        w->loop_ok = 0;
    }
    memtls_ring_free(w->to_worker);
    memtls_ring_free(w->to_host);
    free(w->conns);
    free(w->scratch);
    w->to_worker = w->to_host = NULL;
    w->conns = NULL;
    w->scratch = NULL;
}
