/*
 * loop.c - one runtime thread's event loop; see loop.h.
 */
#include "loop.h"

/*
 * Rounds of pumping per loop pass. Each round reads whole batches from the
 * rings; more rounds are only needed while the two sides keep answering
 * each other in the same thread (an inline worker). Past the cap the loop
 * goes round once more without blocking, so socket events are not starved
 * by a burst of messages.
 */
#define PUMP_ROUNDS 16

static void on_idle(uv_idle_t *h);

/* Pump until there is nothing left or the round cap is reached; returns
 * nonzero if work may be left. */
static int pump_rounds(rt_loop *l)
{
    for (int round = 0; round < PUMP_ROUNDS; round++) {
        int work = 0;
        for (unsigned i = 0; i < l->nrunners && !l->closing; i++) {
            work |= l->runners[i].pump(l->runners[i].arg);
        }
        if (!work || l->closing) {
            return 0;
        }
    }
    return 1;
}

static int any_work(rt_loop *l)
{
    for (unsigned i = 0; i < l->nrunners; i++) {
        if (l->runners[i].has_work(l->runners[i].arg)) {
            return 1;
        }
    }
    return 0;
}

static void keep_awake(rt_loop *l, int more)
{
    if (more && !l->closing) {
        if (!uv_is_active((uv_handle_t *)&l->idle)) {
            uv_idle_start(&l->idle, on_idle);
        }
    } else if (uv_is_active((uv_handle_t *)&l->idle)) {
        uv_idle_stop(&l->idle);
    }
}

static void on_idle(uv_idle_t *h)
{
    /* Only keeps the loop from blocking; the check callback pumps. */
    (void)h;
}

void memtls__loop_woke(rt_loop *l)
{
    atomic_store_explicit(&l->bell.asleep, 0, memory_order_relaxed);
    if (l->sleep != NULL) {
        l->sleep(l->sleep_arg, 0);
    }
}

int memtls__loop_check(rt_loop *l)
{
    memtls__loop_woke(l);
    for (unsigned i = 0; i < l->nrunners && !l->closing; i++) {
        if (l->runners[i].pass != NULL) {
            l->runners[i].pass(l->runners[i].arg);
        }
    }
    return l->closing ? 0 : pump_rounds(l);
}

int memtls__loop_prepare(rt_loop *l)
{
    if (l->closing) {
        return 0;
    }
    /* Timer callbacks of this pass may have produced messages. */
    int more = pump_rounds(l);
    if (!more && l->bell.fd >= 0) {
        atomic_store_explicit(&l->bell.asleep, 1, memory_order_seq_cst);
        if (l->sleep != NULL) {
            l->sleep(l->sleep_arg, 1);
        }
        atomic_thread_fence(memory_order_seq_cst);
        if (any_work(l)) {
            memtls__loop_woke(l);
            more = 1;
        }
    }
    return more;
}

static void on_check(uv_check_t *h)
{
    rt_loop *l = h->data;
    int more = memtls__loop_check(l);
    if (!l->closing) {
        keep_awake(l, more);
    }
}

static void on_prepare(uv_prepare_t *h)
{
    rt_loop *l = h->data;
    if (l->closing) {
        return;
    }
    keep_awake(l, memtls__loop_prepare(l));
}

static void on_bell(uv_poll_t *h, int status, int events)
{
    rt_loop *l = h->data;
    (void)status;
    (void)events;
    memtls__bell_clear(&l->bell);
    /* The check callback of this pass pumps. */
}

int memtls__loop_add(rt_loop *l, int (*pump)(void *), int (*has_work)(void *), void (*pass)(void *),
                     void *arg)
{
    if (l->nrunners >= RT_LOOP_MAX_RUNNERS) {
        return MEMTLS_ERR_INVALID;
    }
    l->runners[l->nrunners].pump = pump;
    l->runners[l->nrunners].has_work = has_work;
    l->runners[l->nrunners].pass = pass;
    l->runners[l->nrunners].arg = arg;
    l->nrunners++;
    return 0;
}

void memtls__loop_on_sleep(rt_loop *l, void (*sleep)(void *arg, int on), void *arg)
{
    l->sleep = sleep;
    l->sleep_arg = arg;
}

static int loop_start(rt_loop *l);

int memtls__loop_init(rt_loop *l, int signalled)
{
    if (memtls__bell_init(&l->bell, signalled) != 0) {
        return MEMTLS_ERR_NOMEM;
    }
    return loop_start(l);
}

int memtls__loop_init_fd(rt_loop *l, int fd)
{
    (void)memtls__bell_init(&l->bell, 0);
    l->bell.fd = fd;
    return loop_start(l);
}

static int loop_start(rt_loop *l)
{
    if (uv_loop_init(&l->uv) != 0) {
        memtls__bell_close(&l->bell);
        return MEMTLS_ERR_NOMEM;
    }
    l->init = 1;
    uv_prepare_init(&l->uv, &l->prepare);
    uv_check_init(&l->uv, &l->check);
    uv_idle_init(&l->uv, &l->idle);
    l->prepare.data = l;
    l->check.data = l;
    l->idle.data = l;
    uv_prepare_start(&l->prepare, on_prepare);
    uv_check_start(&l->check, on_check);
    /* The loop lives as long as its owner's handles (listeners,
     * connections, timers) and the bell. */
    uv_unref((uv_handle_t *)&l->prepare);
    uv_unref((uv_handle_t *)&l->check);
    if (l->bell.fd >= 0) {
        uv_poll_init(&l->uv, &l->bell_poll, l->bell.fd);
        l->bell_poll.data = l;
        uv_poll_start(&l->bell_poll, UV_READABLE, on_bell);
    }
    return 0;
}

static void close_one(uv_handle_t *h)
{
    if (!uv_is_closing(h)) {
        uv_close(h, NULL);
    }
}

void memtls__loop_close_handles(rt_loop *l)
{
    if (l->closing) {
        return;
    }
    l->closing = 1;
    close_one((uv_handle_t *)&l->prepare);
    close_one((uv_handle_t *)&l->check);
    close_one((uv_handle_t *)&l->idle);
    if (l->bell.fd >= 0) {
        close_one((uv_handle_t *)&l->bell_poll);
    }
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    close_one(h);
}

void memtls__loop_free(rt_loop *l)
{
    if (!l->init) {
        return;
    }
    l->closing = 1;
    uv_walk(&l->uv, close_walk, NULL);
    uv_run(&l->uv, UV_RUN_DEFAULT);
    uv_loop_close(&l->uv);
    memtls__bell_close(&l->bell);
    l->init = 0;
}
