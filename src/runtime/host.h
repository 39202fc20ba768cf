/*
 * host.h - private: the host I/O thread's connection objects, shared by
 * host.c (loop, listeners, messages) and host_conn.c (sockets of one
 * connection). Host thread only, except where noted.
 *
 * The host never calls into TLS: it moves bytes between sockets and rings.
 */
#ifndef MEMTLS_RUNTIME_HOST_H
#define MEMTLS_RUNTIME_HOST_H

#include "outq.h"
#include "runtime.h"

/* Messages owed to the worker, sent in this order when the ring has room. */
enum {
    PEND_START = 1u << 0,
    PEND_EOF = 1u << 1,
    PEND_RESET = 1u << 2,
    PEND_BK_RESULT = 1u << 3,
    PEND_BK_EOF = 1u << 4,
    PEND_BK_RESET = 1u << 5,
    PEND_ACK = 1u << 6
};

struct hconn;

/* One socket of a connection: the client, or its backend. */
typedef struct hside {
    struct hconn *conn;
    int which; /* RT_SIDE_* */
    uv_tcp_t tcp;
    uv_timer_t linger;
    uv_write_t wreq;
    uv_shutdown_t sreq;
    uv_connect_t creq;
    int open;         /* handles initialised: they must be closed */
    int connected;    /* usable for reads and writes */
    int reading;      /* uv_read_start in effect */
    int paused;       /* the worker asked us not to read */
    int eof;          /* read side finished (FIN or error) */
    int write_active; /* a uv_write is in flight */
    size_t write_len; /* its size */
    int shut_wanted;  /* shut the write side once the queue is empty */
    int shut_started;
    int shut_done;
    int close_wanted; /* graceful close: flush, shutdown, drain, close */
    int closing;      /* uv_close called */
    int discard;      /* reading only to drain before the close */
    int lingering;    /* the drain timer runs */
    uint8_t *hold;    /* bytes read but refused by the full ring */
    size_t hold_off;
    size_t hold_len;
    rt_outq q;    /* bytes waiting to be written */
    uint64_t ack; /* written, not yet acknowledged to the worker */
} hside;

typedef struct hconn {
    uint64_t id; /* seq << RT_SLOT_BITS | slot; 0 for refused ones */
    uint32_t slot;
    unsigned worker;
    struct rt_host *host;
    size_t listener;
    int plaintext;
    int refused;
    uint64_t accepted_ms;
    char peer[56];
    hside side[2];
    unsigned handles;  /* open libuv handles; freed when 0 and worker_done */
    int worker_done;   /* the worker released the id (or never had it) */
    unsigned pend;     /* PEND_* */
    int32_t bk_status; /* for PEND_BK_RESULT */
    int blocked;       /* on the worker's blocked list */
    struct hconn *next_blocked;
    struct hconn *prev_all;
    struct hconn *next_all;
} hconn;

typedef struct rt_host {
    memtls_server *srv;
    uv_loop_t loop;
    int loop_init;
    rt_waker waker;
    int waker_init;
    uv_tcp_t *listeners;
    uint16_t *ports;
    size_t nlisteners;
    uv_timer_t grace;
    hconn **conns; /* by slot */
    uint32_t *free_slots;
    uint32_t nfree;
    uint64_t next_seq;
    hconn *blocked_head[RT_MAX_WORKERS];
    hconn *blocked_tail[RT_MAX_WORKERS];
    hconn *all;
    rt_pool pool;
    uint8_t *rbuf;
    int stopping;
    int exiting;
    unsigned live;             /* connections in the table */
    unsigned refusing;         /* refused connections still closing */
    atomic_int stop_requested; /* any thread */
} rt_host;

/* host.c: a connection was freed (ends a stop when it was the last). */
void memtls__host_conn_freed(rt_host *h);

/* host_conn.c */
hconn *memtls__hconn_accept(rt_host *h, uv_stream_t *server, size_t listener, int plaintext);
void memtls__hconn_flush(hconn *c); /* send what is owed to the worker */
void memtls__hconn_on_message(hconn *c, const memtls_ring_msg *m);
void memtls__hconn_force_close(hconn *c);
void memtls__hconn_retry_blocked(rt_host *h, unsigned worker);

#endif
