/*
 * worker.c - a TLS worker: its pass over its channel (messages from the
 * host, room for its own messages, stop and exit), its lists of
 * connections waiting for room or with work left over, and, when it runs
 * on a thread of its own, that thread's loop. The life of one connection
 * is in wconn.c.
 */
#include <stdio.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>

#include "metrics.h"
#include "worker.h"

/* Messages read from the ring per pass (then each touched connection makes
 * progress once). */
#define WORKER_BATCH 256u

static void on_message(void *arg, const memtls_ring_msg *m)
{
    rt_worker *w = arg;
    if (m->type == MSG_H_PROBE) {
        if (w->m != NULL) {
            memtls__metrics_probe_to_worker(w->m, m); /* ring delay (metrics.h) */
        }
        return;
    }
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
            (void)memtls__chan_put(w->ch, RT_TO_HOST, MSG_W_CLOSE, m->conn, &cm, sizeof cm, NULL,
                                   0);
        }
        return;
    }
    memtls__wconn_on_message(c, m);
}

/* Connections that found the ring full retry in the order they blocked. */
static void retry_blocked(rt_worker *w)
{
    rt_fifo list = rt_fifo_take(&w->blocked);
    rt_fifo_link *l;
    while ((l = rt_fifo_pop(&list)) != NULL) {
        memtls__wconn_touch(RT_FIFO_ENTRY(l, rt_wconn, blocked));
    }
}

/* Every connection with something to do makes progress once (a
 * connection that stays busy re-queues itself at the back). */
static int run_ready(rt_worker *w)
{
    rt_fifo list = rt_fifo_take(&w->ready);
    rt_fifo_link *l;
    int any = 0;
    while ((l = rt_fifo_pop(&list)) != NULL) {
        memtls__wconn_progress(RT_FIFO_ENTRY(l, rt_wconn, ready));
        any = 1;
    }
    return any;
}

/* Quiet connections are swept every SWEEP_MS: one that had no message
 * for a whole interval gives back its buffers (wconn.c). The timer runs
 * only while some connection is active, so an idle worker sleeps. */
#define SWEEP_MS 500u

static void on_sweep(uv_timer_t *t)
{
    rt_worker *w = t->data;
    unsigned released = 0;
    int busy = memtls__wconn_sweep(w, &released);
#ifdef __GLIBC__
    if (released > 0) {
        /* Freed record buffers sit between live allocations, where the
         * allocator keeps them resident; hand their pages back. Once per
         * sweep that released something, so after a burst the process
         * shrinks again. */
        malloc_trim(0);
    }
#endif
    if (!busy) {
        uv_timer_stop(&w->sweep);
        w->sweep_on = 0;
    }
}

static void sweep_start(rt_worker *w)
{
    w->sweep_wanted = 0;
    if (!w->sweep_init && !w->exited) {
        /* Made on first use, on the loop the worker runs on: a server
         * that never ran has no handle to close. */
        uv_timer_init(w->uv, &w->sweep);
        w->sweep.data = w;
        w->sweep_init = 1;
    }
    if (!w->sweep_on && w->sweep_init && !w->exited) {
        w->sweep_on = 1;
        uv_timer_start(&w->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
    }
}

static void exit_now(rt_worker *w)
{
    while (w->all != NULL) {
        memtls__wconn_discard(w->all);
    }
    w->exited = 1;
    if (w->sweep_init) {
        uv_close((uv_handle_t *)&w->sweep, NULL);
        w->sweep_init = 0;
    }
    if (!w->inline_) {
        memtls__loop_close_handles(&w->own);
    }
    atomic_store_explicit(&w->ch->sh->exited, 1, memory_order_release);
    memtls__chan_force(w->ch, RT_TO_HOST);
}

static void begin_stop(rt_worker *w, int now)
{
    for (rt_wconn *c = w->all, *next; c != NULL; c = next) {
        next = c->next_all;
        if (now) {
            /* Grace period over: close_notify now (after what is queued),
             * and the record says the connection was cut. */
            snprintf(c->reason, sizeof c->reason, "server stopped (grace period over)");
            c->failed = 1;
            memtls__wconn_close(c);
        } else if (w->app->stop != NULL) {
            w->app->stop(c);
        }
    }
}

int memtls__worker_pump(void *arg)
{
    rt_worker *w = arg;
    rt_channel *ch = w->ch;
    if (w->exited) {
        return 0;
    }
    if (atomic_load_explicit(&ch->sh->exit, memory_order_acquire)) {
        exit_now(w);
        return 0;
    }
    if (memtls__chan_check(ch, RT_TO_WORKER)) {
        /* A frame nobody wrote: the channel's memory is not trustworthy.
         * Stop using it; the host cuts the connections on its side. */
        memtls__log(w->srv, MEMTLS_LOG_ERROR,
                    "worker %u: corrupt message ring: its %u connection(s) are cut", w->index,
                    w->live);
        exit_now(w);
        return 0;
    }
    int work = 0;
    if (memtls__chan_take_room(ch, RT_TO_HOST)) {
        retry_blocked(w);
        work = 1;
    }
    work |= memtls__chan_read(ch, RT_TO_WORKER, on_message, NULL, w, WORKER_BATCH) > 0;
    int stop = atomic_load_explicit(&ch->sh->stop, memory_order_acquire);
    if (stop > w->stopping) {
        begin_stop(w, stop > 1);
        w->stopping = stop;
        work = 1;
    }
    work |= run_ready(w);
    if (w->process && w->live == 0 && atomic_load_explicit(&ch->sh->retire, memory_order_acquire)) {
        /* Replaced by a reload, and its last connection is gone. */
        exit_now(w);
        return 0;
    }
    if (w->sweep_wanted) {
        sweep_start(w);
    }
    return work;
}

int memtls__worker_has_work(void *arg)
{
    rt_worker *w = arg;
    rt_channel *ch = w->ch;
    if (w->exited) {
        return 0;
    }
    return memtls__chan_has_work(ch, RT_TO_WORKER) || !rt_fifo_empty(&w->ready) ||
           (w->process && w->live == 0 &&
            atomic_load_explicit(&ch->sh->retire, memory_order_relaxed)) ||
           atomic_load_explicit(&ch->sh->stop, memory_order_relaxed) > w->stopping ||
           atomic_load_explicit(&ch->sh->exit, memory_order_relaxed);
}

void *memtls__worker_main(void *arg)
{
    rt_worker *w = arg;
    uv_run(w->uv, UV_RUN_DEFAULT);
    return NULL;
}

int memtls__worker_new(memtls_server *srv, unsigned index, const rt_app_ops *app,
                       uv_loop_t *host_loop, int bell_fd, rt_worker **out)
{
    *out = NULL;
    rt_worker *w = calloc(1, sizeof *w);
    if (w == NULL) {
        return MEMTLS_ERR_NOMEM;
    }
    w->srv = srv;
    w->index = index;
    w->app = app;
    w->m = srv->metrics != NULL && index < srv->metrics->nblocks ? &srv->metrics->w[index] : NULL;
    w->conns = calloc(srv->max_conns, sizeof *w->conns);
    w->scratch = malloc(RT_APP_CHUNK);
    if (w->conns == NULL || w->scratch == NULL) {
        memtls__worker_free(w);
        return MEMTLS_ERR_NOMEM;
    }
    if (host_loop != NULL) {
        w->inline_ = 1;
        w->uv = host_loop;
        (void)memtls__bell_init(&w->own.bell, 0); /* never signalled */
    } else {
        if ((bell_fd >= 0 ? memtls__loop_init_fd(&w->own, bell_fd)
                          : memtls__loop_init(&w->own, 1)) != 0 ||
            memtls__loop_add(&w->own, memtls__worker_pump, memtls__worker_has_work, NULL, w) != 0) {
            memtls__worker_free(w);
            return MEMTLS_ERR_NOMEM;
        }
        w->uv = &w->own.uv;
    }
    *out = w;
    return 0;
}

rt_bell *memtls__worker_bell(rt_worker *w)
{
    return &w->own.bell;
}

void memtls__worker_free(rt_worker *w)
{
    if (w == NULL) {
        return;
    }
    while (w->all != NULL) {
        memtls__wconn_discard(w->all);
    }
    if (!w->inline_) {
        memtls__loop_free(&w->own);
    }
    free(w->conns);
    free(w->scratch);
    free(w);
}
