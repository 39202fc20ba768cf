/*
 * outq.c - chunked write queue; see outq.h.
 *
 * Appending never moves bytes that are already queued: new bytes only go
 * after them (into the free end of the tail chunk, or a new chunk).
 */
#include <stdlib.h>
#include <string.h>

#include <memtls/common.h>

#include "outq.h"

static rt_chunk *chunk_get(rt_pool *pool)
{
    rt_chunk *c = pool->free;
    if (c != NULL) {
        pool->free = c->next;
        pool->count--;
    } else {
        c = malloc(sizeof *c);
        if (c == NULL) {
            return NULL;
        }
    }
    c->next = NULL;
    c->start = 0;
    c->len = 0;
    return c;
}

static void chunk_put(rt_pool *pool, rt_chunk *c)
{
    if (pool->count >= RT_POOL_MAX) {
        free(c);
        return;
    }
    c->next = pool->free;
    pool->free = c;
    pool->count++;
}

int memtls__outq_append(rt_outq *q, rt_pool *pool, const uint8_t *data, size_t len)
{
    /* Count the chunks needed first so a failure appends nothing. */
    size_t room = q->tail != NULL ? RT_CHUNK_SIZE - q->tail->len : 0;
    rt_chunk *fresh = NULL;
    rt_chunk **link = &fresh;
    size_t need = len > room ? len - room : 0;
    while (need > 0) {
        rt_chunk *c = chunk_get(pool);
        if (c == NULL) {
            while (fresh != NULL) {
                rt_chunk *next = fresh->next;
                chunk_put(pool, fresh);
                fresh = next;
            }
            return MEMTLS_ERR_NOMEM;
        }
        *link = c;
        link = &c->next;
        need = need > RT_CHUNK_SIZE ? need - RT_CHUNK_SIZE : 0;
    }
    size_t n = len < room ? len : room;
    if (n > 0) {
        memcpy(q->tail->data + q->tail->len, data, n);
        q->tail->len += n;
    }
    size_t off = n;
    while (fresh != NULL) {
        rt_chunk *c = fresh;
        fresh = c->next;
        c->next = NULL;
        size_t k = len - off < RT_CHUNK_SIZE ? len - off : RT_CHUNK_SIZE;
        memcpy(c->data, data + off, k);
        c->len = k;
        off += k;
        if (q->tail != NULL) {
            q->tail->next = c;
        } else {
            q->head = c;
        }
        q->tail = c;
    }
    q->bytes += len;
    return 0;
}

unsigned memtls__outq_iov(const rt_outq *q, struct iovec *iov, unsigned max)
{
    unsigned n = 0;
    for (const rt_chunk *c = q->head; c != NULL && n < max; c = c->next) {
        if (c->len > c->start) {
            iov[n].iov_base = (void *)(c->data + c->start);
            iov[n].iov_len = c->len - c->start;
            n++;
        }
    }
    return n;
}

void memtls__outq_consume(rt_outq *q, rt_pool *pool, size_t n)
{
    q->bytes -= n;
    while (n > 0 && q->head != NULL) {
        rt_chunk *c = q->head;
        size_t k = c->len - c->start < n ? c->len - c->start : n;
        c->start += k;
        n -= k;
        if (c->start == c->len && (c->len == RT_CHUNK_SIZE || c != q->tail)) {
            q->head = c->next;
            if (q->head == NULL) {
                q->tail = NULL;
            }
            chunk_put(pool, c);
        } else if (c->start == c->len) {
            /* The tail, emptied but not full: reuse it from the start. */
            c->start = 0;
            c->len = 0;
        }
    }
}

void memtls__outq_clear(rt_outq *q, rt_pool *pool)
{
    while (q->head != NULL) {
        rt_chunk *c = q->head;
        q->head = c->next;
        chunk_put(pool, c);
    }
    q->tail = NULL;
    q->bytes = 0;
}

void memtls__pool_free(rt_pool *pool)
{
    while (pool->free != NULL) {
        rt_chunk *c = pool->free;
        pool->free = c->next;
        free(c);
    }
    pool->count = 0;
}
