/* bytebuf.c - see bytebuf.h. */
#include "bytebuf.h"

#include <stdlib.h>
#include <string.h>

#include <memtls/common.h>

uint8_t *memtls__bytebuf_head(const memtls__bytebuf *b)
{
    return b->data + b->start;
}

void memtls__bytebuf_consume(memtls__bytebuf *b, size_t n)
{
    b->start += n;
    b->len -= n;
    if (b->len == 0) {
        b->start = 0;
    }
}

int memtls__bytebuf_reserve(memtls__bytebuf *b, size_t extra)
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

int memtls__bytebuf_append(memtls__bytebuf *b, const void *data, size_t n)
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

void memtls__bytebuf_free(memtls__bytebuf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}
