/*
 * memtls/ring.h - single-producer single-consumer ring buffer of framed
 * messages, lock-free (C11 atomics).
 *
 * The host I/O thread and each TLS worker talk only through a pair of
 * these (one per direction). A message is a frame:
 *
 *     | type (u32) | length (u32) | connection id (u64) | payload | pad |
 *
 * Frames are stored contiguously (a frame that would straddle the end of
 * the buffer is preceded by a padding frame that the reader skips), so the
 * reader sees every payload in place, without a copy. Frames are 8-byte
 * aligned.
 *
 * Limits. The capacity is fixed at creation (a power of two, 4 KiB ..
 * 1 GiB). The largest payload, memtls_ring_max_message(), is a quarter of
 * the capacity minus the 16-byte header, so a frame always fits once the
 * reader catches up; bigger data must be split by the producer (or is
 * refused with MEMTLS_ERR_TOO_BIG, never a hang).
 *
 * Corruption. The consumer checks every frame header before it uses it
 * (the ring's memory could be overwritten by a bug, or by the other
 * process of a ring in shared memory): a frame that runs past the
 * published data or the end of the buffer, a length above
 * memtls_ring_max_message(), or padding not followed by a message stops
 * the consumer for good and is reported by memtls_ring_corrupt(). The
 * consumer never reads outside the buffer and never runs past the data,
 * whatever the buffer holds. The payload bytes are not checked.
 *
 * Threads. Exactly one thread may produce (try_write/reserve/commit) and
 * exactly one thread may consume (read/peek) at a time; they may differ.
 * The counters may be read from any thread. The ring never blocks and never
 * sleeps: waking the other side is the caller's job (see the runtime).
 */
#ifndef MEMTLS_RING_H
#define MEMTLS_RING_H

#include <stddef.h>
#include <stdint.h>

#include <memtls/common.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct memtls_ring memtls_ring;

/* One message, as seen by the consumer. `data` points into the ring and is
 * valid only during the handler call (after memtls_ring_peek(): until
 * memtls_ring_pop()). */
typedef struct memtls_ring_msg {
    uint32_t type;
    uint64_t conn;
    const uint8_t *data;
    size_t len;
} memtls_ring_msg;

/* Frame header size in bytes. */
#define MEMTLS_RING_HEADER 16u

/* Capacity bounds (bytes). */
#define MEMTLS_RING_MIN_CAPACITY 4096u
#define MEMTLS_RING_MAX_CAPACITY (1u << 30)

/*
 * A ring of `capacity` bytes (a power of two within the bounds above).
 * Returns NULL for an invalid capacity or out of memory.
 */
MEMTLS_API memtls_ring *memtls_ring_new(size_t capacity) MEMTLS_WUR;

/*
 * Rings in memory shared by two processes (a memfd mapped by both): each
 * process attaches its own handle to the same memory, one as the producer
 * and the other as the consumer. memtls_ring_shared_size() is the length
 * of memory a ring of `capacity` bytes needs (0 for an invalid capacity);
 * `mem` must be aligned to 64 bytes (a page is). Exactly one side attaches
 * with `init` = 1 before the other side uses the memory (it zeroes the
 * shared positions). Both sides must pass the same capacity: each takes it
 * from its own arguments, never from the memory. A handle treats the
 * other side as untrusted: positions that cannot be right mark the ring
 * corrupt (memtls_ring_corrupt), for the producer as well as the consumer.
 * Returns NULL for a NULL or misaligned `mem`, an invalid capacity, `len`
 * too small, or out of memory. memtls_ring_free() frees the handle only.
 */
MEMTLS_API size_t memtls_ring_shared_size(size_t capacity);
MEMTLS_API memtls_ring *memtls_ring_attach(void *mem, size_t len, size_t capacity,
                                           int init) MEMTLS_WUR;

/* Free the ring (of an attached ring, the handle: the memory is the
 * caller's). Neither side may use it any more. NULL is a no-op. */
MEMTLS_API void memtls_ring_free(memtls_ring *r);

/* Capacity in bytes, and the largest payload a single frame can carry. */
MEMTLS_API size_t memtls_ring_capacity(const memtls_ring *r);
MEMTLS_API size_t memtls_ring_max_message(const memtls_ring *r);

/*
 * Producer: append one message whose payload is the concatenation of
 * `a` (alen bytes) and `b` (blen bytes); either may be NULL when its
 * length is 0. `type` must not be 0 (reserved for padding).
 * Returns 0; MEMTLS_WANT_WRITE when there is not enough free space
 * right now (nothing written, no side effect except the refusal counter);
 * MEMTLS_ERR_TOO_BIG when alen + blen > memtls_ring_max_message();
 * MEMTLS_ERR_INVALID for a NULL ring, type 0, or NULL data with length.
 */
MEMTLS_API int memtls_ring_try_write(memtls_ring *r, uint32_t type, uint64_t conn, const void *a,
                                     size_t alen, const void *b, size_t blen) MEMTLS_WUR;

/*
 * Producer, zero copy: reserve room for a payload of up to `len` bytes and
 * get a pointer to write it to. Nothing is visible to the consumer until
 * memtls_ring_commit(). Returns NULL when there is no room now (the
 * refusal counter counts it) or len is too big (or r is NULL). At most one
 * reservation may be outstanding: a successful reserve or try_write
 * abandons a reservation that was not committed.
 */
MEMTLS_API void *memtls_ring_reserve(memtls_ring *r, size_t len) MEMTLS_WUR;

/* Publish the reserved frame with its final type and `len` (<= the
 * reserved length). Returns 0 or MEMTLS_ERR_INVALID (no reservation, type
 * 0, len too long). */
MEMTLS_API int memtls_ring_commit(memtls_ring *r, uint32_t type, uint64_t conn,
                                  size_t len) MEMTLS_WUR;

/*
 * Consumer: call `fn` for up to `max` messages (0 means all present), in
 * order, then release their space in one step (batched). The handler must
 * not read or write this ring's consumer side. Returns the number of
 * messages handled (0 when empty or r/fn is NULL); a corrupt frame ends
 * the batch before it (memtls_ring_corrupt).
 */
typedef void (*memtls_ring_handler)(void *arg, const memtls_ring_msg *msg);
MEMTLS_API size_t memtls_ring_read(memtls_ring *r, memtls_ring_handler fn, void *arg, size_t max);

/*
 * memtls_ring_read, then `end(arg)` once after the batch's last handler
 * and before its space is released (not called when no message was
 * handled; `end` may be NULL). Every msg->data of the batch stays valid
 * until `end` returns, so a consumer can gather the data of several
 * messages into one system call (a writev) instead of one per message.
 * The same rule as for the handler: `end` must not read or write this
 * ring's consumer side.
 */
typedef void (*memtls_ring_batch_end)(void *arg);
MEMTLS_API size_t memtls_ring_read_batch(memtls_ring *r, memtls_ring_handler fn,
                                         memtls_ring_batch_end end, void *arg, size_t max);

/*
 * Consumer, one at a time: look at the oldest message without removing it
 * (returns 1 and fills *msg, or 0 when empty or corrupt), then memtls_ring_pop() to
 * release it. Useful when the consumer may have to stop mid-batch.
 */
MEMTLS_API int memtls_ring_peek(memtls_ring *r, memtls_ring_msg *msg);
MEMTLS_API void memtls_ring_pop(memtls_ring *r);

/*
 * 1 once the consumer met a frame the producer cannot have written (see
 * Corruption above), else 0 (also for NULL). From then on read and peek
 * return 0 and pop does nothing: the messages before the bad frame were
 * delivered, none after it will be. Readable from any thread.
 */
MEMTLS_API int memtls_ring_corrupt(const memtls_ring *r);

/* Bytes in use (frames and padding) and free, as seen now. */
MEMTLS_API size_t memtls_ring_used(const memtls_ring *r);
MEMTLS_API size_t memtls_ring_free_space(const memtls_ring *r);
MEMTLS_API int memtls_ring_empty(const memtls_ring *r);

/* Counters since creation (monotonic, readable from any thread). */
typedef struct memtls_ring_stats {
    uint64_t messages_written;
    uint64_t bytes_written; /* payload bytes */
    uint64_t messages_read;
    uint64_t refusals; /* try_write/reserve that found the ring full */
    size_t high_water; /* most bytes ever in use */
} memtls_ring_stats;
MEMTLS_API void memtls_ring_get_stats(const memtls_ring *r, memtls_ring_stats *out);

#ifdef __cplusplus
}
#endif
#endif
