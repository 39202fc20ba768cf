/*
 * host.h - private: one I/O thread (a "host") and its connections, shared
 * by host.c (thread, listeners, accepting, stop), host_conn.c (a
 * connection and the worker's messages) and host_sock.c (one socket).
 * Host thread only, except where noted.
 *
 * The host never calls into TLS: it moves bytes between sockets and the
 * channels of its workers.
 */
#ifndef MEMTLS_RUNTIME_HOST_H
#define MEMTLS_RUNTIME_HOST_H

#include <netinet/in.h>

#include "fifo.h"
#include "loop.h"
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

/* What an event of the host's epoll set points to: the first member of
 * a socket, of a listener, or rt_host.uv_kind (libuv's descriptor). */
enum { RT_EV_SOCK = 1, RT_EV_LISTENER = 2, RT_EV_UV = 3 };

/* One socket of a connection: the client, or its backend. */
typedef struct hsock {
    int kind; /* RT_EV_SOCK */
    int fd;   /* -1 before open and after close */
    struct hconn *conn;
    int which;           /* RT_SIDE_* */
    int ready_in;        /* the kernel may have input for us (host_sock.c) */
    int ready_out;       /* ...or room for output */
    int rdhup;           /* the peer's FIN (or a hang-up) was announced */
    int error;           /* the socket reported an error */
    rt_fifo_link posted; /* on the host's list of sockets to serve */
    int connecting;      /* backend: non-blocking connect in progress */
    int paused;          /* the worker asked us not to read */
    int blocked;         /* the ring was full when we wanted to read */
    int eof;             /* read side finished (FIN or error) */
    int shut_wanted;     /* shut the write side once the queue is empty */
    int shut_done;
    int close_wanted;         /* graceful close: flush, shut, drain, close */
    int discard;              /* reading only to drain before the close */
    rt_outq q;                /* bytes waiting for the socket to take them */
    size_t discarded;         /* read and dropped while closing */
    int throttled;            /* ...enough of it: no more reads, close soon */
    unsigned discards;        /* ...in so many reads */
    uint64_t ack;             /* written, not yet acknowledged to the worker */
    size_t in_flight;         /* read and sent to the worker, not yet taken */
    struct sockaddr_in6 peer; /* the client's address (client socket) */
    socklen_t peer_len;
} hsock;

typedef struct hconn {
    uint64_t id; /* seq << RT_SLOT_BITS | slot; 0 for refused ones */
    uint32_t slot;
    unsigned wi; /* the link (worker) serving it, in its host */
    struct rt_host *host;
    rt_channel *ch;
    uint32_t listener;
    int plaintext;
    int refused;
    hsock cl;
    hsock *bk;              /* allocated when the worker asks for a backend */
    uv_timer_t timer;       /* close deadline, linger, backend connect timeout */
    int timer_what;         /* HT_* */
    unsigned handles;       /* open libuv handles (the timer); freed when 0 and
                             worker_done and both sockets are closed */
    int worker_done;        /* the worker released the id (or never had it) */
    int logged;             /* its record was logged (a worker process's, or ours) */
    uint64_t started_ms;    /* when it was accepted (the host's records) */
    unsigned pend;          /* PEND_* */
    int32_t bk_status;      /* for PEND_BK_RESULT */
    unsigned bk_next;       /* the backend address to try next */
    rt_fifo_link resolving; /* waiting for the backend's addresses */
    rt_fifo_link blocked;   /* on its channel's blocked list */
    struct hconn *prev_all;
    struct hconn *next_all;
} hconn;

enum { HT_NONE = 0, HT_CONNECT, HT_FLUSH, HT_LINGER };

/* A closing socket drains (discards) the peer's input for at most
 * linger_ms, so that closing with unread input does not reset the
 * connection before the peer has read our last bytes. A peer that keeps
 * sending after them costs us a read per event: after this much input or
 * this many reads we read no more and close RT_DRAIN_GRACE_MS later (time
 * enough for a peer that reads to take our last bytes), so a peer that
 * streams at us is bounded. */
#define RT_DISCARD_MAX (64u * 1024)
#define RT_DISCARD_READS 64u
#define RT_DRAIN_GRACE_MS 250u

/* The backend's addresses (host_resolve.c). */
#define RT_MAX_ADDRS 8
#define RT_RESOLVE_TTL_MS 10000u

typedef struct rt_resolver {
    struct rt_host *host;
    struct sockaddr_storage addr[RT_MAX_ADDRS];
    socklen_t len[RT_MAX_ADDRS];
    unsigned n;       /* addresses known (0: none yet) */
    int err;          /* the last resolution's error (0: none) */
    uint64_t expires; /* loop time the addresses go stale */
    int busy;         /* a resolution runs */
    uint64_t logged;  /* rate limit of the failure's log line */
    uv_getaddrinfo_t req;
    rt_fifo waiting; /* connections waiting for it */
    void (*ready)(rt_fifo_link *waiter);
} rt_resolver;

typedef struct rt_listener {
    int kind; /* RT_EV_LISTENER */
    int fd;
    struct rt_host *host;
    size_t index;
    int open;
    int ready; /* connections may be waiting to be accepted */
} rt_listener;

/*
 * One worker as a host serves it: its channel and what the host keeps
 * about it. With threads a host has one link per worker for its whole
 * life. With worker processes (isolate) a link is a slot: a worker
 * process is started into a free one (STARTING) and serves once it says
 * so (ACTIVE); a reload starts a replacement in another slot and the old
 * one gets no new connections (RETIRING) until its process leaves; a
 * process that dies frees its slot and its connections are cut, and its
 * worker is started again (procs.c).
 */
enum {
    RT_LINK_FREE = 0,
    RT_LINK_STARTING,
    RT_LINK_ACTIVE,
    RT_LINK_RETIRING,
    RT_LINK_BROKEN /* a corrupt channel (threads): no new connections, ever */
};

typedef struct rt_link {
    rt_channel *ch;  /* NULL when free */
    unsigned worker; /* the worker's index in the server */
    unsigned gid;    /* the slot's index in the server (metrics block) */
    int state;       /* RT_LINK_* */
    rt_fifo blocked; /* connections waiting for room in its ring */
    unsigned conns;  /* connections it still serves (not worker_done) */
    /* Worker processes only. */
    int pid;             /* 0 until the spawner answered */
    int replaces;        /* STARTING for a reload: the link it replaces, or -1 */
    uint64_t respawn_at; /* FREE: when to start worker `worker` again (0: no) */
    uint64_t since_ms;   /* when it became ACTIVE */
} rt_link;

/*
 * Data messages of one ring batch, waiting to be written: a worker writes
 * a message per TLS record (16 KiB), and a batch often holds several for
 * one socket. Their bytes stay in the ring until the batch ends
 * (memtls_ring_read_batch), so they are written then, one sendmsg per
 * socket with all its pieces, instead of one per message: fewer system
 * calls and larger segments for the kernel. Only bytes that would have
 * been written at once are gathered (the socket's queue is empty and the
 * kernel took everything so far); any other message ends the gather
 * first, so nothing is reordered.
 */
#define RT_GATHER_MAX 32
typedef struct rt_gather {
    unsigned n;
    struct {
        hsock *s; /* NULL once written */
        const uint8_t *data;
        size_t len;
    } e[RT_GATHER_MAX];
} rt_gather;

typedef struct rt_host {
    memtls_server *srv;
    unsigned index;
    rt_loop loop;
    int epfd;             /* the event set of this host's sockets, and libuv's */
    int uv_kind;          /* RT_EV_UV: the data of libuv's descriptor in the set */
    rt_fifo posted;       /* sockets with work left from their last event */
    rt_resolver resolver; /* the backend's addresses */
    pthread_t thread;
    int thread_started;
    rt_listener *listeners;
    uint16_t *ports;
    size_t nlisteners;
    uv_timer_t accept_timer; /* accepting paused: out of descriptors */
    int accept_paused;
    uint64_t emfile_logged;
    uint64_t cap_logged;
    uint64_t foreign_logged;
    uv_timer_t grace;
    /* The workers this host serves: nw of them, through nlinks link
     * slots (nw with threads; more with processes, for replacements). */
    unsigned nw;
    unsigned nlinks;
    rt_link *links;
    unsigned next_link;          /* round robin over the ACTIVE links */
    unsigned reading;            /* the link whose ring is being read */
    struct rt_procs_host *procs; /* worker processes: events from procs.c */
    /* Connections. */
    hconn **conns; /* by slot */
    uint32_t *free_slots;
    uint32_t nfree;
    uint64_t next_seq;
    hconn *all;
    rt_pool pool;
    uint8_t *scratch; /* discarded reads */
    rt_gather gather; /* socket writes of the ring batch being read */
    int stopping;
    int exiting;
    unsigned live;             /* connections in the table */
    unsigned refusing;         /* refused connections still closing */
    atomic_int stop_requested; /* any thread */
} rt_host;

/* host.c */
/* Host `index` (srv->hosts[index]) with its listeners bound (the first
 * host picks ephemeral ports, the others share them). */
int memtls__host_new(memtls_server *srv, unsigned index, char *err, size_t errlen);
/* Serve one more worker, through `ch` (workers k = index, index + nio...):
 * the next link, ACTIVE. */
void memtls__host_attach(rt_host *h, rt_channel *ch);
/* Add the host to its loop (after its inline workers) and accept. */
int memtls__host_ready(rt_host *h);
void *memtls__host_main(void *arg);
void memtls__host_request_stop(rt_host *h); /* any thread */
void memtls__host_free(rt_host *h);
uint16_t memtls__host_port(const rt_host *h, size_t index);
/* The link a new connection goes to (round robin over the ACTIVE ones),
 * or -1 when none serves. */
int memtls__host_pick_link(rt_host *h);
/* Close the connections link `li` serves at once (TCP close: the host has
 * no keys for an alert), saying why in one log line. */
void memtls__host_cut_link(rt_host *h, unsigned li, const char *why);

/* host_conn.c */
hconn *memtls__hconn_accept(rt_host *h, size_t listener, int fd, const struct sockaddr *sa,
                            socklen_t salen);
/* Messages from a worker (memtls_ring_handler; arg is the host). */
void memtls__hconn_on_message(void *arg, const memtls_ring_msg *m);
/* The end of a batch of them (memtls_ring_batch_end): write what was
 * gathered. */
void memtls__hconn_batch_end(void *arg);
/* The worker's ring has room again: resend what connections owe it. */
void memtls__hconn_retry_blocked(rt_host *h, unsigned wi);
/* Close at once, tell the worker nothing (the host is exiting). */
void memtls__hconn_force_close(hconn *c);

/* Log c's record from the host (no TLS details: the host has none):
 * refused connections, and those of a worker process that died. */
void memtls__hconn_log(hconn *c, const char *reason);

/* host_resolve.c */
void memtls__resolve_init(rt_resolver *r, rt_host *h, void (*ready)(rt_fifo_link *waiter));
/* 1: r->addr / r->n / r->err are current; 0: `waiter` is queued, and
 * `ready` is called with it when a resolution ends. */
int memtls__resolve(rt_resolver *r, rt_fifo_link *waiter);
void memtls__resolve_cancel(rt_resolver *r, rt_fifo_link *waiter);
/* The host is exiting: do not wait for a resolution in flight. */
void memtls__resolve_stop(rt_resolver *r);

/* host_conn.c, for host.c: the backend's addresses are known (a waiter of
 * the resolver). */
void memtls__hconn_resolved(rt_fifo_link *waiter);

/* host_conn.c, for host.c: a socket's readiness changed (an event of the
 * set), or it was posted: do what it allows. */
void memtls__hconn_serve(hsock *s);

/* host_sock.c: system calls on one socket, no policy. Errors are negative
 * errno values (libuv's UV_E* codes on Unix, so uv_strerror names them). */
/* Add fd to the epoll set, edge-triggered, pointing at s. 0 or -errno. */
int memtls__hsock_register(hsock *s, int epfd, int fd);
/* Note what an event says about the socket. */
void memtls__hsock_event(hsock *s, uint32_t events);
/* Bytes read, 0 at EOF, -EAGAIN when nothing is there, or -errno. */
ssize_t memtls__hsock_recv(hsock *s, void *buf, size_t len);
/* Send now what the kernel takes (*written) and queue the rest. 0 or
 * -errno (the socket failed; nothing queued). */
int memtls__hsock_send(hsock *s, rt_pool *pool, const uint8_t *data, size_t len, size_t *written);
/* The same for the `n` pieces of iov, in one system call. */
int memtls__hsock_sendv(hsock *s, rt_pool *pool, const struct iovec *iov, unsigned n,
                        size_t *written);
/* Write queued bytes while the kernel takes them. 0 or -errno. */
int memtls__hsock_flush(hsock *s, rt_pool *pool, size_t *written);
int memtls__hsock_shut(hsock *s);
/* Bytes we sent that the peer has not acknowledged yet (SIOCOUTQ). */
size_t memtls__hsock_unsent(const hsock *s);
/* Close the descriptor (which leaves the event set). */
void memtls__hsock_close(hsock *s);
/* Start a non-blocking connect: 0 with *fd, or -errno. */
int memtls__hsock_connect(const struct sockaddr *sa, socklen_t len, int *fd);
/* After writability or an error: 0 (connected) or -errno. */
int memtls__hsock_connect_result(hsock *s);

#endif
