/*
 * channel.h - private: the only interface between the host (sockets) and
 * one worker (TLS): two SPSC rings of framed messages (memtls/ring.h), one
 * per direction, and a doorbell on each side to wake the consumer.
 *
 *     host  --ring[RT_TO_WORKER]-->  worker      (consumer rings bell[RT_TO_WORKER]
 *     host  <--ring[RT_TO_HOST]----  worker       to sleep, producers ring it)
 *
 * Nothing else passes between the two sides: no pointers to each other's
 * objects, no shared connection state. Control that is not a message
 * (stop, exit) is a flag of the channel. Each side holds an rt_channel
 * pointer and calls only the functions below for its own direction.
 *
 * Waking. A consumer that may block sets its bell's `asleep` flag, looks
 * at its rings once more, then blocks in its event loop; a producer
 * publishes a message and signals the bell only when the flag is set (a
 * store, a full fence and a load on each side, Dekker-style, so a wake-up
 * is never lost and a busy consumer is never signalled). A bell without a
 * descriptor belongs to a consumer that runs in the producer's own thread
 * (an inline worker): it is never signalled, its loop pumps it. A channel
 * whose two sides run in one thread (`one_thread`) takes no fences and
 * rings no bell at all: its loop pumps both sides before it may block.
 *
 * Room. A producer that finds its ring full raises `waiting` and retries
 * once (the consumer may have emptied it in between); the consumer, after
 * releasing space, turns `waiting` into `room` and rings the producer's
 * bell; the producer then retries its blocked connections in order.
 */
#ifndef MEMTLS_RUNTIME_CHANNEL_H
#define MEMTLS_RUNTIME_CHANNEL_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <memtls/ring.h>

/* Directions; also the index of the consumer's bell. */
typedef enum rt_dir { RT_TO_WORKER = 0, RT_TO_HOST = 1 } rt_dir;

/* A thread's doorbell: an eventfd its loop polls, and the asleep flag. */
typedef struct rt_bell {
    atomic_int asleep;
    int fd;                       /* eventfd, or -1: the owner never blocks on it (inline) */
    atomic_uint_fast64_t signals; /* eventfd writes (statistics) */
} rt_bell;

/* Create with an eventfd (fd >= 0) or without (inline). 0 or
 * MEMTLS_ERR_NOMEM. */
int memtls__bell_init(rt_bell *b, int with_fd);
void memtls__bell_close(rt_bell *b);
/* Any thread: wake the owner unconditionally (stop and exit requests). */
void memtls__bell_force(rt_bell *b);
/* Owner, when its descriptor polled readable: consume the signal. */
void memtls__bell_clear(rt_bell *b);

/*
 * What both sides of a channel see besides the rings: the flags of the
 * hand-offs and the control that is not a message. In the channel's own
 * allocation (threads), or the first page of the memory the host shares
 * with a worker process (memtls__chan_map). Written by both sides: a side
 * never takes anything in it for more than a flag or a counter.
 */
typedef struct rt_chan_shared {
    alignas(64) atomic_int asleep[2];  /* isolated: the consumer of ring d may block */
    alignas(64) atomic_int waiting[2]; /* the producer of ring[d] found it full */
    atomic_int room[2];                /* ...and the consumer has released space since */
    alignas(64) atomic_int stop;       /* host -> worker: 1 end connections gracefully,
                                          2 the grace period is over: close them now */
    atomic_int exit;                   /* host -> worker: free everything, leave */
    atomic_int retire;                 /* host -> worker: no new connections will come;
                                          leave when the last one is released */
    atomic_int exited;                 /* worker -> host: done (connections freed) */
    atomic_int ready;                  /* worker -> host: a worker process is serving */
    atomic_int broken;                 /* a side met a corrupt frame: the channel is unusable */
    atomic_uint_fast64_t messages;     /* messages read, both directions */
    atomic_uint_fast64_t signals[2];   /* wake-ups sent to the consumer of ring d */
    atomic_uint_fast64_t conns_failed; /* worker: connections that ended with an error */
    char error[256];                   /* worker process -> host: why it could not start */
} rt_chan_shared;

typedef struct rt_channel {
    memtls_ring *ring[2];
    rt_chan_shared *sh;    /* &own, or the shared memory */
    atomic_int *asleep[2]; /* the consumer of ring d's asleep flag */
    int fd[2];             /* ...and its eventfd (-1: it never blocks: inline) */
    int own_fd[2];         /* close fd[d] with the channel */
    size_t max_msg;
    int one_thread; /* both sides run in one thread (an inline worker) */
    void *map;      /* the shared memory (isolated), or NULL */
    size_t map_len;
    rt_chan_shared own;
} rt_channel;

/* Two rings of `capacity` bytes in this process; the bells are the two
 * sides' (not owned). A worker bell without a descriptor makes the channel
 * `one_thread` (the worker runs inline in the host's thread, so neither
 * side ever needs waking by the other). NULL when out of memory. */
rt_channel *memtls__chan_new(size_t capacity, rt_bell *host_bell, rt_bell *worker_bell);
void memtls__chan_free(rt_channel *ch);

/*
 * A channel between processes. memtls__chan_memfd() makes the memory (a
 * sealed memfd: its size cannot change, so a mapping never faults past the
 * end) for rings of `capacity` bytes: the fd, or -errno. Each side maps it
 * with memtls__chan_map(): `init` (the host, before the worker starts)
 * resets the flags and the rings; fd_to_worker / fd_to_host are this
 * process's eventfds of the two consumers, closed with the channel when
 * own_* is set. NULL when the mapping fails or out of memory. The
 * consumer side of each direction sets its asleep flag through
 * memtls__chan_sleep() before it blocks.
 */
size_t memtls__chan_map_size(size_t capacity);
int memtls__chan_memfd(size_t capacity, const char *name);
rt_channel *memtls__chan_map(int memfd, size_t capacity, int init, int fd_to_worker,
                             int own_to_worker, int fd_to_host, int own_to_host);
/* Consumer of direction d in another process than its producer: about to
 * block (on = 1) or awake (on = 0). */
void memtls__chan_sleep(rt_channel *ch, rt_dir d, int on);
/* Wake the consumer of direction d unconditionally (stop, exit). */
void memtls__chan_force(rt_channel *ch, rt_dir d);

/*
 * Producer of direction d: append a message (payload a then b). 0, or
 * MEMTLS_WANT_WRITE when the ring is full (`room` will say when to
 * retry), MEMTLS_ERR_TOO_BIG / _INVALID for a bad call.
 */
int memtls__chan_put(rt_channel *ch, rt_dir d, uint32_t type, uint64_t id, const void *a,
                     size_t alen, const void *b, size_t blen);

/* Producer, zero copy: room for up to `len` payload bytes, or NULL when
 * the ring is full (as for put). Then commit with the real length, or
 * simply never commit (the reservation is abandoned). */
void *memtls__chan_reserve(rt_channel *ch, rt_dir d, size_t len);
void memtls__chan_commit(rt_channel *ch, rt_dir d, uint32_t type, uint64_t id, size_t len);

/* Producer: did the consumer make room since we found the ring full?
 * (Clears the flag.) */
int memtls__chan_take_room(rt_channel *ch, rt_dir d);

/* Consumer of direction d: handle up to `max` messages (0: all), call
 * `end` (may be NULL) while their bytes are still valid
 * (memtls_ring_read_batch), then tell a waiting producer there is room.
 * Returns the number handled. */
size_t memtls__chan_read(rt_channel *ch, rt_dir d, memtls_ring_handler fn,
                         memtls_ring_batch_end end, void *arg, size_t max);

/* Did a side of ring d meet a corrupt frame or position
 * (memtls_ring_corrupt)? Sets `broken` (and wakes the other side) the
 * first time. */
int memtls__chan_check(rt_channel *ch, rt_dir d);

/* Consumer of direction d: anything to do (a message, or room for its own
 * messages in the other direction)? For the check before sleeping. */
int memtls__chan_has_work(rt_channel *ch, rt_dir d);

#endif
