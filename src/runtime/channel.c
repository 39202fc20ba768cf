/*
 * channel.c - the host <-> worker channel; see channel.h.
 *
 * IMPLEMENTATION NOTES
 *
 * Both hand-offs are the classic store-then-load pair (Dekker): one side
 * stores its flag and then looks at the other side's state, the other side
 * publishes its state and then looks at the flag. With a sequentially
 * consistent fence between the store and the load on each side, at least
 * one of the two sees the other, so a wake-up is never lost:
 *
 *   consumer (before it may block): asleep = 1; fence; rings empty? block.
 *   producer (after a ring write):  publish;    fence; asleep? signal.
 *
 *   producer (ring full):   waiting = 1; fence; retry the write.
 *   consumer (after reads): release space; fence; waiting? -> room, signal.
 *
 * The signal is a write to an eventfd that the consumer's libuv loop polls
 * (uv_poll). libuv's own uv_async_send is not used: in libuv 1.44 it spins
 * with sched_yield() while the other thread is inside its callback, which
 * costs several context switches per hop when both threads share a CPU.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "channel.h"

int memtls__bell_init(rt_bell *b, int with_fd)
{
    atomic_init(&b->asleep, 0);
    atomic_init(&b->signals, 0);
    b->fd = -1;
    if (with_fd) {
        b->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (b->fd < 0) {
            return MEMTLS_ERR_NOMEM;
        }
    }
    return 0;
}

void memtls__bell_close(rt_bell *b)
{
    if (b->fd >= 0) {
        close(b->fd);
        b->fd = -1;
    }
}

void memtls__bell_force(rt_bell *b)
{
    if (b->fd < 0) {
        return;
    }
    uint64_t one = 1;
    ssize_t n;
    do {
        n = write(b->fd, &one, sizeof one);
    } while (n < 0 && errno == EINTR);
    /* EAGAIN: the counter is saturated, so the owner is being woken. */
    atomic_fetch_add_explicit(&b->signals, 1, memory_order_relaxed);
}

void memtls__bell_ring(rt_bell *b)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (b->fd >= 0 && atomic_load_explicit(&b->asleep, memory_order_relaxed)) {
        /* Only the first producer to see it asleep signals. */
        if (atomic_exchange_explicit(&b->asleep, 0, memory_order_relaxed)) {
            memtls__bell_force(b);
        }
    }
}

void memtls__bell_clear(rt_bell *b)
{
    uint64_t v;
    ssize_t n;
    do {
        n = read(b->fd, &v, sizeof v);
    } while (n < 0 && errno == EINTR);
}

rt_channel *memtls__chan_new(size_t capacity, rt_bell *host_bell, rt_bell *worker_bell)
{
    rt_channel *ch = calloc(1, sizeof *ch);
    if (ch == NULL) {
        return NULL;
    }
    ch->ring[RT_TO_WORKER] = memtls_ring_new(capacity);
    ch->ring[RT_TO_HOST] = memtls_ring_new(capacity);
    if (ch->ring[0] == NULL || ch->ring[1] == NULL) {
        memtls__chan_free(ch);
        return NULL;
    }
    for (int d = 0; d < 2; d++) {
        atomic_init(&ch->waiting[d], 0);
        atomic_init(&ch->room[d], 0);
    }
    atomic_init(&ch->stop, 0);
    atomic_init(&ch->exit, 0);
    atomic_init(&ch->exited, 0);
    atomic_init(&ch->broken, 0);
    atomic_init(&ch->messages, 0);
    ch->bell[RT_TO_WORKER] = worker_bell;
    ch->bell[RT_TO_HOST] = host_bell;
    ch->max_msg = memtls_ring_max_message(ch->ring[0]);
    return ch;
}

void memtls__chan_free(rt_channel *ch)
{
    if (ch == NULL) {
        return;
    }
    memtls_ring_free(ch->ring[0]);
    memtls_ring_free(ch->ring[1]);
    free(ch);
}

int memtls__chan_put(rt_channel *ch, rt_dir d, uint32_t type, uint64_t id, const void *a,
                     size_t alen, const void *b, size_t blen)
{
    memtls_ring *r = ch->ring[d];
    int rc = memtls_ring_try_write(r, type, id, a, alen, b, blen);
    if (rc == MEMTLS_WANT_WRITE) {
        atomic_store_explicit(&ch->waiting[d], 1, memory_order_seq_cst);
        atomic_thread_fence(memory_order_seq_cst);
        rc = memtls_ring_try_write(r, type, id, a, alen, b, blen);
    }
    if (rc == 0) {
        memtls__bell_ring(ch->bell[d]);
    }
    return rc;
}

void *memtls__chan_reserve(rt_channel *ch, rt_dir d, size_t len)
{
    memtls_ring *r = ch->ring[d];
    void *p = memtls_ring_reserve(r, len);
    if (p == NULL) {
        atomic_store_explicit(&ch->waiting[d], 1, memory_order_seq_cst);
        atomic_thread_fence(memory_order_seq_cst);
        p = memtls_ring_reserve(r, len);
    }
    return p;
}

void memtls__chan_commit(rt_channel *ch, rt_dir d, uint32_t type, uint64_t id, size_t len)
{
    /* Cannot fail: the reservation was checked for `len` or more bytes. */
    if (memtls_ring_commit(ch->ring[d], type, id, len) == 0) {
        memtls__bell_ring(ch->bell[d]);
    }
}

int memtls__chan_take_room(rt_channel *ch, rt_dir d)
{
    if (!atomic_load_explicit(&ch->room[d], memory_order_relaxed)) {
        return 0;
    }
    return atomic_exchange_explicit(&ch->room[d], 0, memory_order_acq_rel);
}

size_t memtls__chan_read(rt_channel *ch, rt_dir d, memtls_ring_handler fn, void *arg, size_t max)
{
    size_t n = memtls_ring_read(ch->ring[d], fn, arg, max);
    if (n == 0) {
        return 0;
    }
    atomic_fetch_add_explicit(&ch->messages, n, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&ch->waiting[d], memory_order_relaxed) &&
        atomic_exchange_explicit(&ch->waiting[d], 0, memory_order_seq_cst)) {
        atomic_store_explicit(&ch->room[d], 1, memory_order_seq_cst);
        memtls__bell_ring(ch->bell[1 - d]);
    }
    return n;
}

int memtls__chan_has_work(rt_channel *ch, rt_dir d)
{
    return !memtls_ring_empty(ch->ring[d]) ||
           atomic_load_explicit(&ch->room[1 - d], memory_order_relaxed);
}

int memtls__chan_check(rt_channel *ch, rt_dir d)
{
    if (!memtls_ring_corrupt(ch->ring[d])) {
        return atomic_load_explicit(&ch->broken, memory_order_acquire);
    }
    if (!atomic_exchange_explicit(&ch->broken, 1, memory_order_acq_rel)) {
        memtls__bell_force(ch->bell[1 - d]);
    }
    return 1;
}
