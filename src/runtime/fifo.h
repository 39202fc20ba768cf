/*
 * fifo.h - private: an intrusive first-in first-out list, used for every
 * "waiting" list of the runtime (connections blocked on a full ring, on
 * either side, and connections with work left over for the next pass).
 * One implementation, so both sides retry in arrival order.
 *
 * An element embeds an rt_fifo_link; `queued` says whether it is on a
 * list, so push is idempotent and removal of an element that is not
 * queued is a no-op. Removal from the middle is O(n): it happens only when
 * a connection ends while waiting, which is rare.
 */
#ifndef MEMTLS_RUNTIME_FIFO_H
#define MEMTLS_RUNTIME_FIFO_H

#include <stddef.h>

typedef struct rt_fifo_link {
    struct rt_fifo_link *next;
    int queued;
} rt_fifo_link;

typedef struct rt_fifo {
    rt_fifo_link *head;
    rt_fifo_link *tail;
} rt_fifo;

/* The element that embeds `link` as member `field`. */
#define RT_FIFO_ENTRY(link, type, field) ((type *)(void *)((char *)(link)-offsetof(type, field)))

static inline int rt_fifo_empty(const rt_fifo *f)
{
    return f->head == NULL;
}

static inline void rt_fifo_push(rt_fifo *f, rt_fifo_link *l)
{
    if (l->queued) {
        return;
    }
    l->queued = 1;
    l->next = NULL;
    if (f->tail != NULL) {
        f->tail->next = l;
    } else {
        f->head = l;
    }
    f->tail = l;
}

static inline rt_fifo_link *rt_fifo_pop(rt_fifo *f)
{
    rt_fifo_link *l = f->head;
    if (l == NULL) {
        return NULL;
    }
    f->head = l->next;
    if (f->head == NULL) {
        f->tail = NULL;
    }
    l->next = NULL;
    l->queued = 0;
    return l;
}

static inline void rt_fifo_remove(rt_fifo *f, rt_fifo_link *l)
{
    if (!l->queued) {
        return;
    }
    rt_fifo_link *prev = NULL;
    for (rt_fifo_link *p = f->head; p != NULL; prev = p, p = p->next) {
        if (p != l) {
            continue;
        }
        if (prev != NULL) {
            prev->next = l->next;
        } else {
            f->head = l->next;
        }
        if (f->tail == l) {
            f->tail = prev;
        }
        break;
    }
    l->next = NULL;
    l->queued = 0;
}

/*
 * Take the whole list out, so that elements which must wait again during
 * a retry are appended to a fresh list (in the same order) instead of
 * being met again in the same pass.
 */
static inline rt_fifo rt_fifo_take(rt_fifo *f)
{
    rt_fifo all = *f;
    f->head = f->tail = NULL;
    return all;
}

#endif
