/*
 * bytebuf.h - a growable FIFO of bytes (append at the tail, consume from
 * the head), shared by the session's queues and the runtime's hold
 * buffers. Internal: not part of the public API. Bounds are the caller's
 * (every user checks its documented limit before appending).
 */
#ifndef MEMTLS_BYTEBUF_H
#define MEMTLS_BYTEBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct memtls__bytebuf {
    uint8_t *data;
    size_t start; /* offset of the first byte */
    size_t len;   /* bytes held */
    size_t cap;   /* bytes allocated */
} memtls__bytebuf;

/* The first byte held (valid until the next append/reserve/free). */
uint8_t *memtls__bytebuf_head(const memtls__bytebuf *b);

/* Drop `n` <= b->len bytes from the head. */
void memtls__bytebuf_consume(memtls__bytebuf *b, size_t n);

/* Make room for `extra` more bytes at the tail (compacting first, then
 * doubling). Returns 0 or MEMTLS_ERR_NOMEM (nothing changed). */
int memtls__bytebuf_reserve(memtls__bytebuf *b, size_t extra);

/* Append `n` bytes. Returns 0 or MEMTLS_ERR_NOMEM (nothing appended). */
int memtls__bytebuf_append(memtls__bytebuf *b, const void *data, size_t n);

/* Free the storage and zero the struct. */
void memtls__bytebuf_free(memtls__bytebuf *b);

#endif
