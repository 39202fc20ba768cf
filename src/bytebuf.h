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
#include <stdlib.h>
#include <string.h>

#include <memtls/common.h>

typedef struct memtls__bytebuf {
    uint8_t *data;
    size_t start; /* offset of the first byte */
    size_t len;   /* bytes held */
    size_t cap;   /* bytes allocated */
} memtls__bytebuf;

/*
 * The functions are static inline: the runtime library uses them too, and
 * internal helpers must not become symbols that one library needs from
 * another (they are hidden in the shared libmemtls).
 *
 * memtls__bytebuf_head: the first byte held (valid until the next
 * append/reserve/free). memtls__bytebuf_consume: drop n <= b->len bytes
 * from the head. memtls__bytebuf_reserve: make room for `extra` more bytes
 * at the tail (compacting first, then doubling); 0 or MEMTLS_ERR_NOMEM
 * (nothing changed). memtls__bytebuf_append: append n bytes; 0 or
 * MEMTLS_ERR_NOMEM (nothing appended). memtls__bytebuf_free: free the
 * storage and zero the struct.
 */
static inline uint8_t *memtls__bytebuf_head(const memtls__bytebuf *b)
{
    return b->data + b->start;
}

static inline void memtls__bytebuf_consume(memtls__bytebuf *b, size_t n)
{
    b->start += n;
    b->len -= n;
    if (b->len == 0) {
        b->start = 0;
    }
}

static inline int memtls__bytebuf_reserve(memtls__bytebuf *b, size_t extra)
{
    if (b->start + b->len + extra <= b->cap) {
        return 0;
    }
    if (b->start > 0) { /* compact first */
        memmove(b->data, b->data + b->start, b->len);
        b->start = 0;
        if (b->len + extra <= b->cap) {
            return 0;
        }
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra) {
        cap *= 2;
    }
    uint8_t *p = realloc(b->data, cap);
    if (p == NULL) {
        return MEMTLS_ERR_NOMEM;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

static inline int memtls__bytebuf_append(memtls__bytebuf *b, const void *data, size_t n)
{
    if (n == 0) {
        return 0;
    }
    if (memtls__bytebuf_reserve(b, n) != 0) {
        return MEMTLS_ERR_NOMEM;
    }
    memcpy(b->data + b->start + b->len, data, n);
    b->len += n;
    return 0;
}

static inline void memtls__bytebuf_free(memtls__bytebuf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

#endif
