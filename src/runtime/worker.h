/*
 * worker.h - private: a worker's connection, shared by worker.c (thread,
 * loop, ring) and worker_conn.c (session and application of one
 * connection). Worker thread only.
 */
#ifndef MEMTLS_RUNTIME_WORKER_H
#define MEMTLS_RUNTIME_WORKER_H

#include "bytebuf.h"
#include "runtime.h"

/* A growable byte buffer for the rare case where bytes must wait. */

enum { BK_NONE = 0, BK_WANT, BK_CONNECTING, BK_OPEN, BK_FAILED };

/* The public memtls_server_conn is the worker's connection object. */
typedef struct memtls_server_conn rt_wconn;

struct memtls_server_conn {
    uint64_t id;
    rt_worker *w;
    memtls_session *s;
    uint32_t listener;
    int plaintext;
    char peer[56];
    uint64_t start_ms;
    uint64_t last_ms;
    uv_timer_t timer;

    size_t out_inflight; /* W_DATA bytes the host has not written yet */
    size_t bk_inflight;  /* W_BK_DATA likewise */
    uint64_t bytes_in;   /* H_DATA bytes received */

    memtls__bytebuf in_hold;  /* client bytes the session refused (input paused) */
    memtls__bytebuf bk_hold;  /* backend plaintext the session could not queue */
    memtls__bytebuf app_hold; /* plaintext the application did not consume */
    int eof_pending;          /* H_EOF seen, to feed after in_hold */
    int eof_fed;
    int bk_eof_pending;
    int bk_eof_fed;

    int want_pause[2]; /* by RT_SIDE_* */
    int sent_pause[2];
    int bk_state;

    int became_ready;
    int opened;
    int peer_closed;     /* the client finished sending (close_notify / FIN) */
    int peer_close_told; /* ...and the application was told (custom, proxy) */
    int bk_shut_sent;    /* W_BK_SHUTDOWN sent: the backend saw our FIN */
    int cl_half;         /* backend finished first: 1 shutdown_write asked,
                            2 W_SHUTDOWN sent (client socket half-closed) */
    int writable;
    int stopping;    /* server stop: no more reading, answer what came in */
    int stop_closed; /* ...all of it answered, close requested */
    int dirty;
    int finishing;
    int abort;
    int failed;
    char reason[192];

    int blocked;
    rt_wconn *next_blocked;
    rt_wconn *prev_all;
    rt_wconn *next_all;
    void *app_data;
};

/* worker.c */
int memtls__wput(rt_worker *w, uint32_t type, uint64_t id, const void *a, size_t alen,
                 const void *b, size_t blen);
void memtls__wconn_block(rt_wconn *c);
void memtls__wconn_unlink(rt_wconn *c);

/* worker_conn.c */
void memtls__wconn_start(rt_worker *w, uint64_t id, const memtls_ring_msg *m);
void memtls__wconn_app_close(rt_wconn *c);
void memtls__wconn_on_message(rt_wconn *c, const memtls_ring_msg *m);
/* Do everything that can be done now; may free c. */
void memtls__wconn_progress(rt_wconn *c);
/* Server stopping: close gracefully. */
void memtls__wconn_stop(rt_wconn *c);
/* Worker exiting: free at once, no messages. */
void memtls__wconn_discard(rt_wconn *c);

#endif
