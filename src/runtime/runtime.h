/*
 * runtime.h - private: what the host thread, the workers and server.c
 * share. See include/memtls/server.h for the public contract and
 * docs/runtime.md for the design.
 */
#ifndef MEMTLS_RUNTIME_H
#define MEMTLS_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <memtls/ring.h>
#include <memtls/server.h>

#include "msg.h"

/* Host: one socket read goes into this shared buffer, then into the ring. */
#define RT_READ_CHUNK (64u * 1024)
/* Worker: plaintext handed to the application per call. */
#define RT_APP_CHUNK (16u * 1024)
/* Slot bits in an internal connection id: id = (seq << RT_SLOT_BITS) | slot. */
#define RT_SLOT_BITS 24u
#define RT_SLOT_MASK ((1u << RT_SLOT_BITS) - 1u)
#define RT_MAX_WORKERS 64u
/* Refused connections being closed gracefully at once; more are reset. */
#define RT_MAX_REFUSING 256u

static inline uint32_t rt_slot(uint64_t id)
{
    return (uint32_t)(id & RT_SLOT_MASK);
}

static inline uint64_t rt_seq(uint64_t id)
{
    return id >> RT_SLOT_BITS;
}

/*
 * A thread that sleeps in a libuv loop and can be woken by others. The
 * sleeper sets `asleep` before it may block (uv_prepare) and clears it when
 * it wakes (uv_check); producers signal only when it is set, so a busy
 * consumer is never signalled (batched wake-ups).
 */
typedef struct rt_waker {
    uv_async_t async;
    uv_prepare_t prepare;
    uv_check_t check;
    atomic_int asleep;
} rt_waker;

/* Producer side, after publishing work: wake the consumer if it may sleep. */
void memtls__waker_notify(rt_waker *w);

/*
 * Producer: write a message; when the ring is full, raise `waiting` (the
 * consumer then reports room) and try once more so a consumer that emptied
 * the ring in between is not missed. Returns 0, MEMTLS_WANT_WRITE or
 * MEMTLS_ERR_TOO_BIG / _INVALID.
 */
int memtls__ring_put(memtls_ring *r, atomic_int *waiting, uint32_t type, uint64_t id, const void *a,
                     size_t alen, const void *b, size_t blen);

/*
 * Consumer, after releasing space: if the producer was waiting for room,
 * set its `room` flag and wake it.
 */
void memtls__ring_room(atomic_int *waiting, atomic_int *room, rt_waker *producer);

struct rt_host;
struct memtls_server_conn;

typedef struct rt_worker {
    memtls_server *srv;
    unsigned index;
    pthread_t thread;
    int thread_started;
    int loop_ok;
    uv_loop_t loop;
    rt_waker waker;

    memtls_ring *to_worker; /* host produces, worker consumes */
    memtls_ring *to_host;   /* worker produces, host consumes */
    atomic_int h2w_waiting; /* host found to_worker full */
    atomic_int w2h_waiting; /* worker found to_host full */
    atomic_int room_for_host;
    atomic_int room_for_worker;
    atomic_int stop; /* close every connection gracefully */
    atomic_int exit; /* free everything and leave the loop */

    /* Worker-private. */
    struct memtls_server_conn **conns;  /* by slot */
    struct memtls_server_conn *all;     /* every live connection */
    struct memtls_server_conn *blocked; /* waiting for room in to_host */
    uint8_t *scratch;                   /* RT_APP_CHUNK */
    size_t max_msg;
    int stopping;
    unsigned live;
} rt_worker;

struct memtls_server {
    /* Options, copied. */
    size_t nlisteners;
    memtls_listener_opts *listeners;
    char **listener_hosts;
    memtls_server_app_kind app;
    struct sockaddr_storage backend;
    memtls_server_app custom;
    unsigned nworkers;
    unsigned max_conns;
    unsigned hs_timeout_ms;
    unsigned idle_timeout_ms;
    unsigned linger_ms;
    size_t ring_capacity;
    size_t write_window;
    memtls_session_limits limits;
    char **allowed;
    size_t nallowed;
    void (*on_conn_log)(void *arg, const memtls_conn_record *rec);
    void (*on_log)(void *arg, memtls_log_level level, const char *line);
    memtls_log_level log_level;
    void *log_arg;

    pthread_mutex_t cfg_lock;
    memtls_config *cfg;

    struct rt_host *host;
    rt_waker *host_waker; /* the host's, for workers to wake it */
    rt_worker *workers;

    pthread_mutex_t life_lock;
    int started;
    int stopped;
    pthread_t host_thread;
    atomic_uint grace_ms;

    atomic_uint_fast64_t conns_open;
    atomic_uint_fast64_t conns_total;
    atomic_uint_fast64_t conns_refused;
    atomic_uint_fast64_t conns_failed;
    atomic_uint_fast64_t bytes_in;
    atomic_uint_fast64_t bytes_out;
    atomic_uint_fast64_t backend_in;
    atomic_uint_fast64_t backend_out;
};

/* Log a line through opts.on_log if `level` is enabled (printf format). */
void memtls__log(memtls_server *srv, memtls_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The configuration for a new TLS session, with a reference for the caller
 * (NULL when none). */
memtls_config *memtls__server_cfg(memtls_server *srv);

/* Host (host.c): create/bind (in memtls_server_new), run (host thread),
 * request stop (any thread), free (after the thread ended). */
int memtls__host_new(memtls_server *srv, char *err, size_t errlen);
void *memtls__host_main(void *arg);
void memtls__host_request_stop(memtls_server *srv);
void memtls__host_free(memtls_server *srv);
uint16_t memtls__host_port(const memtls_server *srv, size_t index);

/* Worker (worker.c). */
int memtls__worker_init(rt_worker *w, memtls_server *srv, unsigned index);
void *memtls__worker_main(void *arg);
void memtls__worker_free(rt_worker *w);
/* Wake a worker after setting one of its flags (any thread). */
void memtls__worker_wake(rt_worker *w);

#endif
