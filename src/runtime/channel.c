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
#define _GNU_SOURCE /* memfd_create, F_ADD_SEALS */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
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

void memtls__bell_clear(rt_bell *b)
{
    uint64_t v;
    ssize_t n;
    do {
        n = read(b->fd, &v, sizeof v);
    } while (n < 0 && errno == EINTR);
}

static void shared_init(rt_chan_shared *sh)
{
    memset(sh, 0, sizeof *sh);
    for (int d = 0; d < 2; d++) {
        atomic_init(&sh->asleep[d], 0);
        atomic_init(&sh->waiting[d], 0);
        atomic_init(&sh->room[d], 0);
        atomic_init(&sh->signals[d], 0);
    }
    atomic_init(&sh->stop, 0);
    atomic_init(&sh->exit, 0);
    atomic_init(&sh->retire, 0);
    atomic_init(&sh->exited, 0);
    atomic_init(&sh->ready, 0);
    atomic_init(&sh->broken, 0);
    atomic_init(&sh->messages, 0);
    atomic_init(&sh->conns_failed, 0);
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
    ch->sh = &ch->own;
    shared_init(ch->sh);
    ch->asleep[RT_TO_WORKER] = &worker_bell->asleep;
    ch->fd[RT_TO_WORKER] = worker_bell->fd;
    ch->asleep[RT_TO_HOST] = &host_bell->asleep;
    ch->fd[RT_TO_HOST] = host_bell->fd;
    ch->max_msg = memtls_ring_max_message(ch->ring[0]);
    /* A worker that never blocks on a bell runs in the host's thread. */
    ch->one_thread = worker_bell->fd < 0;
    return ch;
}

/* Layout of the shared memory: the flags' page, then each ring's. */
#define SHARED_FLAGS 4096u
_Static_assert(sizeof(rt_chan_shared) <= SHARED_FLAGS, "the channel's flags must fit a page");

size_t memtls__chan_map_size(size_t capacity)
{
    return SHARED_FLAGS + 2 * memtls_ring_shared_size(capacity);
}

int memtls__chan_memfd(size_t capacity, const char *name)
{
    size_t len = memtls__chan_map_size(capacity);
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        return -errno;
    }
    /* Sealed at its size: neither side can shrink it under the other's
     * mapping (a SIGBUS) or grow it. */
    if (ftruncate(fd, (off_t)len) != 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

rt_channel *memtls__chan_map(int memfd, size_t capacity, int init, int fd_to_worker,
                             int own_to_worker, int fd_to_host, int own_to_host)
{
    size_t ring_len = memtls_ring_shared_size(capacity);
    size_t len = memtls__chan_map_size(capacity);
    if (ring_len == 0) {
        return NULL;
    }
    rt_channel *ch = calloc(1, sizeof *ch);
    if (ch == NULL) {
        return NULL;
    }
    ch->fd[RT_TO_WORKER] = fd_to_worker;
    ch->own_fd[RT_TO_WORKER] = own_to_worker;
    ch->fd[RT_TO_HOST] = fd_to_host;
    ch->own_fd[RT_TO_HOST] = own_to_host;
    void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (map == MAP_FAILED) {
        memtls__chan_free(ch);
        return NULL;
    }
    ch->map = map;
    ch->map_len = len;
    ch->sh = map;
    if (init) {
        shared_init(ch->sh);
    }
    uint8_t *base = (uint8_t *)map + SHARED_FLAGS;
    ch->ring[RT_TO_WORKER] = memtls_ring_attach(base, ring_len, capacity, init);
    ch->ring[RT_TO_HOST] = memtls_ring_attach(base + ring_len, ring_len, capacity, init);
    if (ch->ring[0] == NULL || ch->ring[1] == NULL) {
        memtls__chan_free(ch);
        return NULL;
    }
    ch->asleep[RT_TO_WORKER] = &ch->sh->asleep[RT_TO_WORKER];
    ch->asleep[RT_TO_HOST] = &ch->sh->asleep[RT_TO_HOST];
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
    if (ch->map != NULL) {
        munmap(ch->map, ch->map_len);
    }
    for (int d = 0; d < 2; d++) {
        if (ch->own_fd[d] && ch->fd[d] >= 0) {
            close(ch->fd[d]);
        }
    }
    free(ch);
}

static void signal_fd(rt_channel *ch, rt_dir d)
{
    if (ch->fd[d] < 0) {
        return;
    }
    uint64_t one = 1;
    ssize_t n;
    do {
        n = write(ch->fd[d], &one, sizeof one);
    } while (n < 0 && errno == EINTR);
    /* EAGAIN: the counter is saturated, so the owner is being woken. */
    atomic_fetch_add_explicit(&ch->sh->signals[d], 1, memory_order_relaxed);
}

/* Producer of d, after publishing (or the consumer of the other
 * direction, after making room): wake the consumer of d if it may be
 * blocking. A consumer in the producer's own thread never is: its loop
 * pumps it before blocking, so neither the fence nor the flag is needed
 * (the fence, a locked instruction, was the costliest part of a hop). */
static void wake(rt_channel *ch, rt_dir d)
{
    if (ch->one_thread || ch->fd[d] < 0) {
        return;
    }
    atomic_int *asleep = ch->asleep[d];
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(asleep, memory_order_relaxed)) {
        /* Only the first producer to see it asleep signals. */
        if (atomic_exchange_explicit(asleep, 0, memory_order_relaxed)) {
            signal_fd(ch, d);
        }
    }
}

void memtls__chan_force(rt_channel *ch, rt_dir d)
{
    signal_fd(ch, d);
}

void memtls__chan_sleep(rt_channel *ch, rt_dir d, int on)
{
    atomic_int *asleep = &ch->sh->asleep[d];
    if (atomic_load_explicit(asleep, memory_order_relaxed) != on) {
        atomic_store_explicit(asleep, on, memory_order_seq_cst);
    }
}

int memtls__chan_put(rt_channel *ch, rt_dir d, uint32_t type, uint64_t id, const void *a,
                     size_t alen, const void *b, size_t blen)
{
    memtls_ring *r = ch->ring[d];
    int rc = memtls_ring_try_write(r, type, id, a, alen, b, blen);
    if (rc == MEMTLS_WANT_WRITE) {
        atomic_store_explicit(&ch->sh->waiting[d], 1, memory_order_seq_cst);
        atomic_thread_fence(memory_order_seq_cst);
        rc = memtls_ring_try_write(r, type, id, a, alen, b, blen);
    }
    if (rc == 0) {
        wake(ch, d);
    }
    return rc;
}

void *memtls__chan_reserve(rt_channel *ch, rt_dir d, size_t len)
{
    memtls_ring *r = ch->ring[d];
    void *p = memtls_ring_reserve(r, len);
    if (p == NULL) {
        atomic_store_explicit(&ch->sh->waiting[d], 1, memory_order_seq_cst);
        atomic_thread_fence(memory_order_seq_cst);
        p = memtls_ring_reserve(r, len);
    }
    return p;
}

void memtls__chan_commit(rt_channel *ch, rt_dir d, uint32_t type, uint64_t id, size_t len)
{
    /* Cannot fail: the reservation was checked for `len` or more bytes. */
    if (memtls_ring_commit(ch->ring[d], type, id, len) == 0) {
        wake(ch, d);
    }
}

int memtls__chan_take_room(rt_channel *ch, rt_dir d)
{
    atomic_int *room = &ch->sh->room[d];
    if (!atomic_load_explicit(room, memory_order_relaxed)) {
        return 0;
    }
    return atomic_exchange_explicit(room, 0, memory_order_acq_rel);
}

size_t memtls__chan_read(rt_channel *ch, rt_dir d, memtls_ring_handler fn,
                         memtls_ring_batch_end end, void *arg, size_t max)
{
    size_t n = memtls_ring_read_batch(ch->ring[d], fn, end, arg, max);
    if (n == 0) {
        return 0;
    }
    if (ch->one_thread) {
        /* One writer (this thread): no locked add; readers of the
         * statistics see one value or the next. */
        uint_fast64_t m = atomic_load_explicit(&ch->sh->messages, memory_order_relaxed);
        atomic_store_explicit(&ch->sh->messages, m + n, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&ch->sh->messages, n, memory_order_relaxed);
        atomic_thread_fence(memory_order_seq_cst);
    }
    if (atomic_load_explicit(&ch->sh->waiting[d], memory_order_relaxed) &&
        atomic_exchange_explicit(&ch->sh->waiting[d], 0, memory_order_seq_cst)) {
        atomic_store_explicit(&ch->sh->room[d], 1, memory_order_seq_cst);
        wake(ch, (rt_dir)(1 - d));
    }
    return n;
}

int memtls__chan_has_work(rt_channel *ch, rt_dir d)
{
    return !memtls_ring_empty(ch->ring[d]) ||
           atomic_load_explicit(&ch->sh->room[1 - d], memory_order_relaxed);
}

int memtls__chan_check(rt_channel *ch, rt_dir d)
{
    if (!memtls_ring_corrupt(ch->ring[d]) && !memtls_ring_corrupt(ch->ring[1 - d])) {
        return atomic_load_explicit(&ch->sh->broken, memory_order_acquire);
    }
    if (!atomic_exchange_explicit(&ch->sh->broken, 1, memory_order_acq_rel)) {
        memtls__chan_force(ch, (rt_dir)(1 - d));
    }
    return 1;
}
