/*
 * wake.c - sleeping and waking across threads; see runtime.h.
 *
 * IMPLEMENTATION NOTES
 *
 * Both hand-offs are the classic store-then-load pair (Dekker): one side
 * stores its flag and then looks at the other side's state, the other side
 * publishes its state and then looks at the flag. With a sequentially
 * consistent fence between the store and the load on each side, at least
 * one of the two sees the other, so a wake-up is never lost:
 *
 *   consumer (uv_prepare, before it may block): asleep = 1; fence;
 *       ring empty?  -> block.   Else wake itself and keep going.
 *   producer (after a ring write):              publish; fence;
 *       asleep?      -> uv_async_send.
 *
 *   producer (ring full):   waiting = 1; fence; retry the write.
 *   consumer (after reads): release space; fence; waiting? -> room, wake.
 *
 * uv_async_send itself coalesces, but it still costs an atomic and often
 * a write() on an eventfd; the asleep flag saves both while the consumer
 * is busy.
 */
#include "runtime.h"

void memtls__waker_notify(rt_waker *w)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&w->asleep, memory_order_relaxed)) {
        uv_async_send(&w->async);
    }
}

int memtls__ring_put(memtls_ring *r, atomic_int *waiting, uint32_t type, uint64_t id, const void *a,
                     size_t alen, const void *b, size_t blen)
{
    int rc = memtls_ring_try_write(r, type, id, a, alen, b, blen);
    if (rc != MEMTLS_WANT_WRITE) {
        return rc;
    }
    atomic_store_explicit(waiting, 1, memory_order_seq_cst);
    atomic_thread_fence(memory_order_seq_cst);
    return memtls_ring_try_write(r, type, id, a, alen, b, blen);
}

void memtls__ring_room(atomic_int *waiting, atomic_int *room, rt_waker *producer)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(waiting, memory_order_relaxed) &&
        atomic_exchange_explicit(waiting, 0, memory_order_seq_cst)) {
        atomic_store_explicit(room, 1, memory_order_seq_cst);
        uv_async_send(&producer->async);
    }
}
