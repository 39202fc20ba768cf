/*
 * runtime.h - private: the server object and what every runtime file
 * needs. See include/memtls/server.h for the public contract and
 * docs/runtime.md for the design.
 *
 * Who sees what. server.c creates the I/O threads (host.c: sockets, never
 * TLS) and the workers (worker.c: sessions and applications), and joins
 * each worker to its host with one channel (channel.h). The host side and
 * the worker side each see the channel and the read-only options below,
 * never each other's objects.
 */
#ifndef MEMTLS_RUNTIME_H
#define MEMTLS_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <memtls/ring.h>
#include <memtls/server.h>

#include "channel.h"
#include "msg.h"

/* Host: one socket read, at most (it goes straight into the ring). */
#define RT_READ_CHUNK (64u * 1024)
/* Worker: plaintext handed to the application per call. */
#define RT_APP_CHUNK (16u * 1024)
/* Slot bits in an internal connection id: id = (seq << RT_SLOT_BITS) | slot. */
#define RT_SLOT_BITS 24u
#define RT_SLOT_MASK ((1u << RT_SLOT_BITS) - 1u)
#define RT_MAX_THREADS 64u
/* Worker processes: link slots per worker of a host (the serving one, a
 * replacement starting during a reload, and one more retiring). */
#define RT_LINK_SLOTS 3u
/* Refused connections being closed gracefully at once; more are reset. */
#define RT_MAX_REFUSING 256u
/* A PROXY protocol header a listener accepts is at most this long. */
#define RT_PROXY_HEADER_MAX 4096u

static inline uint32_t rt_slot(uint64_t id)
{
    return (uint32_t)(id & RT_SLOT_MASK);
}

static inline uint64_t rt_seq(uint64_t id)
{
    return id >> RT_SLOT_BITS;
}

struct rt_host;
struct rt_worker;

struct memtls_server {
    /* Options, copied and resolved (defaults applied); read-only once the
     * threads run. */
    size_t nlisteners;
    memtls_listener_opts *listeners;
    char **listener_hosts;
    memtls_server_app_kind app;
    struct sockaddr_storage backend; /* a numeric backend address */
    socklen_t backend_len;
    char *backend_name; /* ...or a name, resolved by each host */
    uint16_t backend_port;
    memtls_server_app custom;
    unsigned nio;       /* I/O threads (hosts) */
    unsigned nworkers;  /* workers in all */
    int worker_threads; /* 1: workers run on threads of their own */
    unsigned max_conns;
    unsigned hs_timeout_ms;
    unsigned idle_timeout_ms;
    unsigned close_timeout_ms;
    unsigned connect_timeout_ms;
    unsigned linger_ms;
    size_t ring_capacity;
    size_t write_window;
    memtls_session_limits limits;
    char **allowed;
    size_t nallowed;
    memtls_proxy_version backend_proxy; /* header sent to backends */
    void (*on_conn_log)(void *arg, const memtls_conn_record *rec);
    void (*on_log)(void *arg, memtls_log_level level, const char *line);
    memtls_log_level log_level;
    void *log_arg;

    pthread_mutex_t cfg_lock;
    memtls_config *cfg; /* threads; in a worker process, the spawner's copy */
    memtls_config *(*load_tls)(void *arg, memtls_config *previous, char *err, size_t errlen);
    void *load_tls_arg;

    /* Worker processes (procs.c), or NULL/0 with threads. */
    int isolate;
    int drop_user; /* switch the workers to uid/gid */
    unsigned uid;
    unsigned gid;
    struct rt_procs *procs;
    /* Guards srv->chans[] entries, which the hosts change as worker
     * processes come and go, against readers on other threads (stats,
     * metrics). Threads never change them. */
    pthread_rwlock_t chans_lock;

    struct rt_host **hosts;     /* nio */
    struct rt_worker **workers; /* nworkers; worker i belongs to host i % nio */
    rt_channel **chans;         /* nworkers: worker i's channel (isolate: the
                                   serving process's, or NULL) */

    pthread_mutex_t life_lock;
    int started;
    int stopped;
    atomic_uint grace_ms;
    atomic_uint hosts_running;

    atomic_uint_fast64_t next_id; /* connection ids, all hosts */

    /* Statistics, updated by any thread (relaxed). */
    atomic_uint_fast64_t conns_open;
    atomic_uint_fast64_t conns_total;
    atomic_uint_fast64_t conns_refused;
    atomic_uint_fast64_t conns_failed;
    atomic_uint_fast64_t accept_errors;
    atomic_uint_fast64_t bytes_in;
    atomic_uint_fast64_t bytes_out;
    atomic_uint_fast64_t backend_in;
    atomic_uint_fast64_t backend_out;

    /* Metrics (metrics.h), or NULL when they are off. */
    struct rt_metrics *metrics;
};

/* Log a line through opts.on_log if `level` is enabled (printf format). */
void memtls__log(memtls_server *srv, memtls_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like memtls__log, at most once per second per `last` stamp (ms of a
 * monotonic clock, owned by the caller's thread); returns 1 if logged. */
int memtls__log_limited(memtls_server *srv, uint64_t *last, memtls_log_level level, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));

/* Monotonic milliseconds. */
uint64_t memtls__now_ms(void);

/* Format a socket address as "127.0.0.1:443" / "[::1]:443". */
void memtls__format_addr(const struct sockaddr *sa, char *out, size_t len);

/* listen_fd.c: a given listening socket (memtls_listener_opts.fd). Check
 * that fd is a listening TCP socket and write its address (numeric, no
 * brackets) and port; 0 or MEMTLS_ERR_INVALID with a message naming fd. */
int memtls__listen_fd_check(int fd, char *host, size_t hostlen, uint16_t *port, char *err,
                            size_t errlen);
/* A close-on-exec duplicate of fd, made non-blocking; -1 with errno. */
int memtls__listen_fd_dup(int fd);

/* Connections that ended with an error: the workers count them in their
 * channels (srv->conns_failed keeps what channels that were replaced
 * counted). Any thread. */
uint64_t memtls__server_conns_failed(const memtls_server *srv);

/* The configuration for a new TLS session, with a reference for the caller
 * (NULL when none). Any thread. */
memtls_config *memtls__server_cfg(memtls_server *srv);

#endif
