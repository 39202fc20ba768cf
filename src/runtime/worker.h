/*
 * worker.h - private: a TLS worker and its connections, shared by
 * worker.c (the worker's pass over its channel), wconn.c (the life of one
 * connection: session, flow control, timers, the end) and the
 * applications app_echo.c, app_proxy.c, app_custom.c, which plug into a
 * connection through rt_app_ops. Worker thread only (or the thread of the
 * host that runs the worker inline).
 */
#ifndef MEMTLS_RUNTIME_WORKER_H
#define MEMTLS_RUNTIME_WORKER_H

#include "bytebuf.h"
#include "fifo.h"
#include "loop.h"
#include "runtime.h"

/* The public memtls_server_conn is the worker's connection object. */
typedef struct memtls_server_conn rt_wconn;

/*
 * What an application does with a connection. The connection layer
 * (wconn.c) calls these; every one may be NULL except input.
 */
typedef struct rt_app_ops {
    /* The session is ready (handshake done, peer allowed). Nonzero closes
     * the connection. */
    int (*open)(rt_wconn *c);
    /* Plaintext from the client; returns how much was consumed. What is
     * not consumed waits (app_hold) and is offered again, first. */
    size_t (*input)(rt_wconn *c, const uint8_t *data, size_t len);
    /* The client finished sending and every byte of it was consumed.
     * Returns 0 when handled, nonzero to be asked again later (the ring
     * was full). */
    int (*client_done)(rt_wconn *c);
    /* The session has room for writes again. */
    void (*writable)(rt_wconn *c);
    /* A backend message (H_BK_*); the layer handles the client's. */
    void (*message)(rt_wconn *c, const memtls_ring_msg *m);
    /* Once per progress round, after the client's input. */
    void (*round)(rt_wconn *c);
    /* Once per progress round, after the session's output went to the
     * host: what waits for an empty output queue acts here (the flush may
     * have emptied it, and no message may come to run another round). */
    void (*flushed)(rt_wconn *c);
    /* Finishing: may the id be released now (nonzero), or does the
     * application still deliver something (zero)? */
    int (*can_release)(rt_wconn *c);
    /* The server is stopping; the application decides how to end. */
    void (*stop)(rt_wconn *c);
    /* Last call, before the connection is freed. */
    void (*closed)(rt_wconn *c);
    /* Sessions are half-close aware (the client's close ends only its
     * direction: see session.h on_peer_close). */
    int half_close;
} rt_app_ops;

extern const rt_app_ops memtls__app_echo;
extern const rt_app_ops memtls__app_proxy;
extern const rt_app_ops memtls__app_custom;
extern const rt_app_ops memtls__app_custom_half;

enum { BK_NONE = 0, BK_WANT, BK_CONNECTING, BK_OPEN, BK_FAILED };

/* The proxy's state of one connection (app_proxy.c). */
typedef struct rt_proxy {
    int state;            /* BK_* */
    size_t inflight;      /* W_BK_DATA bytes the host has not written */
    memtls__bytebuf hold; /* backend plaintext the session could not queue */
    int eof_pending;      /* H_BK_EOF seen, to act on after hold */
    int eof_fed;
    int hdr_pending;     /* connected; the PROXY header still to go first */
    int shut_sent;       /* W_BK_SHUTDOWN sent: the backend saw our FIN */
    int client_half;     /* backend finished first: 1 shutdown_write asked,
                                2 W_SHUTDOWN sent (client socket half-closed) */
    uint64_t connect_ns; /* with metrics: when W_BK_CONNECT went out */
} rt_proxy;

typedef struct rt_worker {
    memtls_server *srv;
    unsigned index;
    rt_channel *ch;
    const rt_app_ops *app;
    rt_loop own;   /* a worker thread's loop (unused when inline) */
    uv_loop_t *uv; /* own.uv, or the loop of the host running it */
    pthread_t thread;
    int thread_started;
    int inline_;
    int process;      /* a worker process (isolate): it leaves when retired and idle */
    rt_wconn **conns; /* by slot */
    rt_wconn *all;    /* every live connection */
    unsigned live;
    rt_fifo blocked;  /* waiting for room in the worker -> host ring */
    rt_fifo ready;    /* with work to do in this pass */
    uint8_t *scratch; /* RT_APP_CHUNK */
    uv_timer_t sweep; /* gives back the buffers of quiet connections */
    int sweep_init;
    int sweep_on;
    int sweep_wanted; /* a connection was active since the timer stopped */
    int stopping;
    int exited;
    struct rt_wmetrics *m; /* its metrics (metrics.h), NULL when off */
} rt_worker;

struct memtls_server_conn {
    uint64_t id;
    rt_worker *w;
    memtls_session *s;
    uint32_t listener;
    int plaintext;
    rt_msg_start start; /* the client's address, as the host sent it */
    uint64_t start_ms;
    uint64_t start_ns; /* with metrics: when the worker took it (monotonic) */
    uint64_t last_ms;  /* last progress in either direction */
    uint64_t close_ms; /* when closing began (0: not closing) */
    uv_timer_t timer;

    size_t out_inflight; /* W_DATA bytes the host has not written yet */
    uint64_t bytes_in;   /* H_DATA bytes received */

    memtls__bytebuf in_hold;  /* client bytes the session refused (input paused) */
    memtls__bytebuf app_hold; /* plaintext the application did not consume */
    int eof_pending;          /* H_EOF seen, to feed after in_hold */
    int eof_fed;

    /* A listener with the PROXY protocol: the header is parsed from the
     * first client bytes (held in pp_in while incomplete) before anything
     * reaches the session; its source replaces start.peer, its
     * destination (pp_dst, when pp_has_dst) is passed on to a backend. */
    int pp_wait;
    memtls__bytebuf pp_in;
    int pp_has_dst;
    uint8_t pp_dst[28];

    int want_pause[2]; /* by RT_SIDE_* */
    int sent_pause[2];
    size_t taken[2]; /* input taken in, not yet acknowledged (W_ACK) */

    int became_ready;
    int opened;
    int peer_closed;     /* the client finished sending (close_notify / FIN) */
    int peer_close_told; /* ...and the application was told */
    int writable;
    int stopping;    /* server stop: no more reading, answer what came in */
    int stop_closed; /* ...all of it answered, close requested */
    int dirty;
    int active;      /* had a message since the last sweep */
    int released;    /* its buffers were given back while quiet */
    int just_opened; /* opened in this round: give the buffers back after it */
    int finishing;
    int record_sent; /* its log record went out (emit_record) */
    int concluded;   /* its end was counted (conclude) */
    int abort;
    int failed;
    char reason[160];

    rt_fifo_link blocked; /* on the worker's blocked list */
    rt_fifo_link ready;   /* on the worker's ready list */
    rt_wconn *prev_all;
    rt_wconn *next_all;
    void *app_data; /* the custom application's */
    rt_proxy px;
};

/* worker.c */
/* A worker with application `app`; on the host's loop (inline) when
 * host_loop is given, else with a loop of its own for its thread
 * (memtls__worker_main) or process, whose bell is bell_fd (an eventfd
 * the loop takes over), or a new one when bell_fd is -1. Its channel is
 * set (w->ch) before it runs.
 * 0 or MEMTLS_ERR_NOMEM. */
int memtls__worker_new(memtls_server *srv, unsigned index, const rt_app_ops *app,
                       uv_loop_t *host_loop, int bell_fd, rt_worker **out);
/* The bell the worker's channel rings to wake it (one without a
 * descriptor for an inline worker). */
rt_bell *memtls__worker_bell(rt_worker *w);
int memtls__worker_pump(void *arg);
int memtls__worker_has_work(void *arg);
void *memtls__worker_main(void *arg);
void memtls__worker_free(rt_worker *w);

/* server.c: the application of the server's connections. */
const rt_app_ops *memtls__server_app_ops(const memtls_server *srv);

/* wconn.c: the connection layer, for worker.c and the applications. */
void memtls__wconn_start(rt_worker *w, uint64_t id, const memtls_ring_msg *m);
void memtls__wconn_on_message(rt_wconn *c, const memtls_ring_msg *m);
/* Do everything that can be done now, in bounded rounds (more is queued
 * on the worker's ready list); may free c. */
void memtls__wconn_progress(rt_wconn *c);
/* Run progress in this pass (after the batch being read). */
void memtls__wconn_touch(rt_wconn *c);
/* Server stopping: read no more, answer what came in, close. */
void memtls__wconn_stop_reading(rt_wconn *c);
/* Worker exiting: free at once, no messages. */
void memtls__wconn_discard(rt_wconn *c);
/* Write a message for this connection; when the ring is full, wait on
 * the worker's blocked list (progress runs again on room). 0 or
 * MEMTLS_WANT_WRITE. */
int memtls__wconn_put(rt_wconn *c, uint32_t type, const void *data, size_t len);
/* Record why the connection ends (the first reason sticks). */
void memtls__wconn_reason(rt_wconn *c, int failed, const char *text, const char *detail);
/* Close the session gracefully (queued data, then close_notify). */
void memtls__wconn_close(rt_wconn *c);
/* End at once (no close_notify): a fatal problem. */
void memtls__wconn_abort(rt_wconn *c, const char *why);
/* A sweep of the worker's quiet connections: each one that had no message
 * for a whole sweep interval gives back its buffers (*released counts
 * them). Returns 1 while some connection is still active (the sweeps go
 * on). */
int memtls__wconn_sweep(rt_worker *w, unsigned *released);
/* Mark that the connection moved data (for the idle timeout). */
void memtls__wconn_activity(rt_wconn *c);
/* `n` bytes from socket `side` were taken in (the host may read more:
 * input credit, returned in batches). */
void memtls__wconn_taken(rt_wconn *c, int side, size_t n);

#endif
