/*
 * outq.h - private: the host's per-socket queue of bytes waiting to be
 * written, as a list of fixed-size chunks recycled through a pool, so the
 * hot path allocates nothing once the pool is warm. Host thread only.
 */
#ifndef MEMTLS_RUNTIME_OUTQ_H
#define MEMTLS_RUNTIME_OUTQ_H

#include <stddef.h>
#include <stdint.h>

#include <sys/uio.h>

#define RT_CHUNK_SIZE (16u * 1024)
/* Chunks kept in the pool for reuse (4 MiB); more are freed. */
#define RT_POOL_MAX 256u

typedef struct rt_chunk {
    struct rt_chunk *next;
    size_t start; /* first unwritten byte */
    size_t len;   /* bytes filled */
    uint8_t data[RT_CHUNK_SIZE];
} rt_chunk;

typedef struct rt_pool {
    rt_chunk *free;
    size_t count;
} rt_pool;

typedef struct rt_outq {
    rt_chunk *head;
    rt_chunk *tail;
    size_t bytes;
} rt_outq;

/* Append `len` bytes (copied). Returns 0 or MEMTLS_ERR_NOMEM (nothing
 * appended). Bytes already queued never move. */
int memtls__outq_append(rt_outq *q, rt_pool *pool, const uint8_t *data, size_t len);

/* Fill up to `max` buffers with the oldest queued bytes; returns how many. */
unsigned memtls__outq_iov(const rt_outq *q, struct iovec *iov, unsigned max);

/* Drop the oldest `n` bytes (they were written). */
void memtls__outq_consume(rt_outq *q, rt_pool *pool, size_t n);

/* Drop everything. */
void memtls__outq_clear(rt_outq *q, rt_pool *pool);

/* Free the pool's chunks. */
void memtls__pool_free(rt_pool *pool);

#endif
