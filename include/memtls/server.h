/*
 * memtls/server.h - a TLS terminator built as a host I/O thread and TLS
 * worker threads joined by ring buffers (the host/enclave split of
 * Microsoft CCF).
 *
 *                 +--------------------- memtls_server ----------------------+
 *   clients ----> | host thread (libuv)          worker thread 0..N-1        |
 *   (sockets)     |   listeners, accept,  ring    sessions (memtls_session), |
 *                 |   socket reads/writes <====>  application (echo, proxy,  |
 *   backend <---- |   backend connects    ring    custom callbacks)          |
 *                 +-----------------------------------------------------------+
 *
 * The host thread owns every socket and never calls into TLS: it carries
 * client traffic only as ciphertext, and plaintext only to a plaintext
 * backend (proxy mode). Each worker owns the sessions of the connections
 * assigned to it (by connection id) and talks to the host only through its
 * own pair of single-producer single-consumer rings (memtls/ring.h).
 * docs/runtime.md describes the messages, the backpressure and the memory
 * bounds.
 *
 * Lifecycle: memtls_server_new() (binds the listeners) ->
 * memtls_server_start() (threads run, connections are accepted) ->
 * memtls_server_stop() (graceful stop, joins the threads) ->
 * memtls_server_free(). A server is started at most once.
 *
 * THREADS. memtls_server_new/start/free are called from one controlling
 * thread. memtls_server_stop, memtls_server_reload, memtls_server_get_stats,
 * memtls_server_get_ring_stats, memtls_server_bound_port,
 * memtls_server_metrics and memtls_server_metrics_port may be called
 * from any thread (for example a thread that waits for signals with
 * sigwait()), concurrently with each other. None of them may be called from
 * an asynchronous signal handler, nor from a server callback.
 *
 * Every call that can fail returns 0 or a MEMTLS_ERR_* status (common.h).
 */
#ifndef MEMTLS_SERVER_H
#define MEMTLS_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <memtls/common.h>
#include <memtls/config.h>
#include <memtls/context.h>
#include <memtls/ring.h>
#include <memtls/session.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct memtls_server memtls_server;

/* --- options -------------------------------------------------------------- */

/* One listening socket. */
typedef struct memtls_listener_opts {
    /* Numeric IPv4 or IPv6 address to bind ("127.0.0.1", "::1", "0.0.0.0",
     * "::"). NULL means "127.0.0.1". Host names are not resolved. */
    const char *host;
    /* TCP port; 0 binds an ephemeral port (see memtls_server_bound_port). */
    uint16_t port;
    /* 1: the listener carries plaintext (the plaintext twin of context.h
     * stands in for TLS; no certificate needed). 0: TLS. */
    int plaintext;
    /*
     * A listening socket to use instead of binding host:port (socket
     * activation: a descriptor inherited from systemd). Positive: a
     * bound, listening SOCK_STREAM socket of family AF_INET or AF_INET6;
     * host and port are then ignored (the socket's own address is
     * reported). 0 or negative: bind host:port. The server never closes
     * this descriptor: every I/O thread accepts on a duplicate of its own
     * (an inherited socket cannot join a SO_REUSEPORT group, so the I/O
     * threads share its one accept queue). It makes the socket
     * non-blocking, which the caller's descriptor shares (O_NONBLOCK
     * belongs to the open socket, not to a descriptor).
     */
    int fd;
    /*
     * 1: every connection starts with a PROXY protocol header (version 1
     * or 2, memtls/proxy.h) from an L4 load balancer in front, before
     * the TLS handshake. Its source address stands for the client: the
     * connection record's `peer` and the address a proxy passes on with
     * backend_proxy_protocol. A connection whose first bytes are not a
     * valid header, whose header is malformed or longer than 4096 bytes,
     * or that does not complete it within handshake_timeout_ms, is
     * closed with a record saying why. A LOCAL / UNKNOWN header (a
     * balancer's health check) keeps the socket's own address. The header
     * is read by the worker, never by the I/O thread. 0: no header.
     */
    int proxy_protocol;
} memtls_listener_opts;

/* What the server does with the plaintext of a connection. */
typedef enum memtls_server_app_kind {
    /* Send every byte back to the client. */
    MEMTLS_APP_ECHO = 0,
    /* Forward the plaintext to a plaintext TCP backend
     * (backend_host:backend_port) and the backend's answer back to the
     * client. The host thread opens one backend connection per client
     * connection, when the worker asks for it after the handshake. The
     * two directions close independently: the client's close_notify (or
     * FIN) half-closes the backend socket and the backend's answer still
     * reaches the client until the backend's EOF; a backend EOF sends
     * close_notify and FIN to the client while the client's bytes still
     * reach the backend until the client closes too. docs/runtime.md. */
    MEMTLS_APP_PROXY = 1,
    /* Call the application callbacks in memtls_server_opts.app. */
    MEMTLS_APP_CUSTOM = 2
} memtls_server_app_kind;

/* The PROXY protocol header a proxy sends to its backend. */
typedef enum memtls_proxy_version {
    MEMTLS_PROXY_NONE = 0,
    MEMTLS_PROXY_V1 = 1, /* "PROXY TCP4 src dst sport dport\r\n" */
    MEMTLS_PROXY_V2 = 2  /* binary, with the TLS TLVs */
} memtls_proxy_version;

/* Where the TLS workers run: see memtls_server_opts.worker_mode. */
typedef enum memtls_worker_mode {
    MEMTLS_WORKERS_AUTO = 0,
    MEMTLS_WORKERS_THREADS = 1,
    MEMTLS_WORKERS_INLINE = 2
} memtls_worker_mode;

typedef enum memtls_log_level {
    MEMTLS_LOG_ERROR = 0,
    MEMTLS_LOG_WARN = 1,
    MEMTLS_LOG_INFO = 2,
    MEMTLS_LOG_DEBUG = 3
} memtls_log_level;

/*
 * One finished connection, handed to on_conn_log once, when the
 * connection's id is released. Every string is non-NULL (possibly "") and
 * valid only during the callback.
 */
typedef struct memtls_conn_record {
    uint64_t id;          /* unique per server, increasing, starts at 1 */
    size_t listener;      /* index into memtls_server_opts.listeners */
    int plaintext;        /* 1 for a plaintext listener */
    const char *peer;     /* "127.0.0.1:54321" or "[::1]:54321" */
    const char *sni;      /* server name the client sent, "" if none */
    const char *version;  /* "TLSv1.3", "" before/without a handshake */
    const char *cipher;   /* "TLS_AES_256_GCM_SHA384", "" likewise */
    const char *alpn;     /* negotiated ALPN protocol, "" if none */
    const char *subject;  /* peer certificate subject (RFC 2253), "" if none */
    uint64_t bytes_in;    /* bytes received from the client socket */
    uint64_t bytes_out;   /* bytes handed to the host for the client socket */
    uint64_t app_in;      /* plaintext delivered to the application */
    uint64_t app_out;     /* plaintext the application sent */
    uint64_t duration_ms; /* from accept (host) or start (worker) to release */
    int clean;            /* 1 when the connection ended without an error */
    /* Why it ended, as text: "closed cleanly", "peer closed",
     * "truncated (EOF without close_notify)", "handshake timeout",
     * "idle timeout", "refused: connection limit", "peer not allowed: ...",
     * "auth failed: ...", "protocol error: ...", "server stopping",
     * "PROXY header refused: ...", ... */
    const char *reason;
    /* 1 when the handshake resumed a session (a ticket was accepted). */
    int resumed;
    /* Which certificate/key pair of the configuration answered
     * (memtls_ctx_cert_index: load order from 0), -1 when none was sent
     * (resumed, plaintext, no handshake); its subject (RFC 2253) or "". */
    int cert_index;
    const char *cert_subject;
} memtls_conn_record;

/*
 * Callbacks for MEMTLS_APP_CUSTOM. They run on the worker thread that owns
 * the connection, one connection's callbacks never concurrently with each
 * other; callbacks of connections on different workers run in parallel.
 * `arg` is memtls_server_app.arg. The memtls_server_conn_* functions below
 * may be called only from inside these callbacks, on their own connection.
 */
typedef struct memtls_server_conn memtls_server_conn;

typedef struct memtls_server_app {
    void *arg;
    /* The handshake finished (a plaintext connection: it started) and the
     * peer passed the allow-list. Return 0 to keep the connection, any
     * other value to close it. May be NULL. */
    int (*on_open)(void *arg, memtls_server_conn *c);
    /*
     * Plaintext from the client. Return how many bytes were consumed
     * (0..len). Bytes not consumed are kept (at most one read chunk, 16 KiB)
     * and offered again, first, after the next on_writable or
     * memtls_server_conn_resume(); until then no more input is read for this
     * connection (which eventually stops reading its socket). Required.
     */
    size_t (*on_data)(void *arg, memtls_server_conn *c, const uint8_t *data, size_t len);
    /* memtls_server_conn_write() accepted less than asked, and there is
     * room again. May be NULL. */
    void (*on_writable)(void *arg, memtls_server_conn *c);
    /*
     * The client finished sending (close_notify, or EOF on a plaintext
     * connection), and every byte it sent before has been offered to
     * on_data. Setting this callback makes the application half-close
     * aware: the connection stays open for writing after the client's
     * close (TLS 1.3 and TCP allow it), memtls_server_conn_write() keeps
     * working, and the connection ends only when the application calls
     * memtls_server_conn_close() (queued data, then close_notify; the
     * record's reason is then "closed by the application"), here or from
     * a later callback (on_writable), or when the idle timeout expires.
     * When NULL, the client's close ends the connection: writes already
     * queued are still sent, then close_notify; later writes fail with
     * MEMTLS_CLOSED.
     */
    void (*on_peer_close)(void *arg, memtls_server_conn *c);
    /* Last call for this connection (also when on_open was never
     * called): release what memtls_server_conn_set_data() stored. The
     * handle is invalid afterwards. May be NULL. */
    void (*on_close)(void *arg, memtls_server_conn *c, const char *reason);
} memtls_server_app;

typedef struct memtls_server_opts {
    /* Listeners, at least one. The array and strings are read by
     * memtls_server_new() only. */
    const memtls_listener_opts *listeners;
    size_t listener_count;

    /* Server configuration (certificate, key, verification, ALPN) for the
     * TLS listeners. The server takes its own reference (the caller may
     * free its copy after memtls_server_new). Required when a listener is
     * TLS; may be NULL when all listeners are plaintext. */
    memtls_config *tls;

    memtls_server_app_kind app;
    /* MEMTLS_APP_PROXY: numeric backend address and port (the backend
     * speaks plaintext TCP). Copied. */
    const char *backend_host;
    uint16_t backend_port;
    /* MEMTLS_APP_CUSTOM: the callbacks, copied. */
    memtls_server_app custom;

    /*
     * Threads. The server runs `io_threads` I/O threads (hosts), each with
     * its own event loop and its own listening sockets (several hosts
     * share each port with SO_REUSEPORT, so the kernel spreads the
     * connections), and `workers` TLS workers; worker i belongs to host
     * i % io_threads and serves only that host's connections, through its
     * own pair of rings. With `worker_mode`:
     *   MEMTLS_WORKERS_THREADS: every worker runs on a thread of its own;
     *   MEMTLS_WORKERS_INLINE:  every worker runs in its host's thread,
     *       pumped by the host's loop after each batch of socket events
     *       (co-scheduling): the messages still cross the same rings and
     *       the host code still never touches TLS state, but no message
     *       needs a wake-up or a thread switch;
     *   MEMTLS_WORKERS_AUTO (0, the default): threads when every thread
     *       can have a CPU of its own (io_threads + workers <= the CPUs
     *       this process may run on), inline otherwise.
     * Defaults (0): io_threads = the usable CPUs (sched_getaffinity), or
     * fewer when `workers` is smaller; workers = io_threads, or the CPUs
     * left over by the I/O threads when that is more. So on a machine
     * given to the server every CPU runs one I/O thread with its worker
     * inline (the nginx/HAProxy model, with the split kept), and
     * `io_threads = 1` gives one I/O thread and a worker thread per
     * remaining CPU. At most 64 of each; workers >= io_threads.
     */
    unsigned io_threads;
    unsigned workers;
    memtls_worker_mode worker_mode;
    /* Hard cap on open connections (accepted, not yet released); 0 means
     * 10000. A connection over the cap is accepted and closed at once
     * (no data read, no worker involved) and counted as refused. */
    unsigned max_connections;
    /* A TLS handshake must finish within this many ms (0: 10000). */
    unsigned handshake_timeout_ms;
    /* A connection with no traffic in either direction for this long is
     * closed (0: 300000). Bytes that are only discarded (sent by a peer
     * after the connection began to close) are not traffic. */
    unsigned idle_timeout_ms;
    /* A closing connection (our close_notify queued) reads nothing more;
     * it is cut when its peer takes none of our last bytes for this long
     * (0: 5000). The host's flush of the last bytes after the worker
     * released the connection is bounded by the same time. */
    unsigned close_timeout_ms;
    /* Proxy: a backend connection not established within this many ms is
     * abandoned and the client's connection closed (0: 5000). */
    unsigned backend_connect_timeout_ms;
    /* After the last byte was written, a closing socket's unread input is
     * drained (and discarded) for at most this long before the socket is
     * closed, so the peer does not see a reset (0: 2000). */
    unsigned linger_ms;
    /* Capacity of each ring (one per direction per worker), a power of two
     * in MEMTLS_RING_MIN_CAPACITY .. MEMTLS_RING_MAX_CAPACITY
     * (0: 256 KiB). Payloads larger than memtls_ring_max_message() are split
     * transparently. */
    size_t ring_capacity;
    /* Bytes the host may hold per connection and per socket waiting to be
     * written (credit window of the worker; 0: 64 KiB). The same window bounds the
     * bytes read from a socket and not yet taken in by the worker. */
    size_t write_window;
    /* Per-session bounds (session.h). Zero fields take the runtime's
     * defaults, smaller than a lone session's so that a connection whose
     * peer stops reading costs little: 16 KiB plaintext in, 16 KiB
     * plaintext out, 32 KiB ciphertext out and in (KeyUpdates: the
     * session's default). */
    memtls_session_limits session_limits;

    /* Allow-list of peer names, checked after the handshake with
     * memtls_ctx_peer_has_name() (DNS/IP SAN, or CN): a peer that matches no
     * name is closed with reason "peer not allowed". Needs a configuration
     * that asks for client certificates (MEMTLS_VERIFY_OPTIONAL/REQUIRED).
     * NULL/0: everyone allowed. Copied. Ignored on plaintext listeners. */
    const char *const *allowed_peers;
    size_t allowed_peer_count;

    /* One record per finished connection (including refused ones). Called
     * from the host or a worker thread, possibly concurrently: it must be
     * thread-safe and must not call memtls_server_* functions. May be NULL. */
    void (*on_conn_log)(void *arg, const memtls_conn_record *rec);
    /* General log lines ("listening on 127.0.0.1:8443", errors, ...), any
     * thread, same rules. Lines above log_level are not produced. May be
     * NULL. */
    void (*on_log)(void *arg, memtls_log_level level, const char *line);
    memtls_log_level log_level;
    void *log_arg; /* passed to on_conn_log and on_log */

    /*
     * Metrics (docs/runtime.md, "Metrics"). 1: the workers and I/O threads
     * count what memtls_server_metrics() renders: connections by close
     * reason, handshakes by version and resumption, latency histograms
     * (handshake, backend connect, connection lifetime, the time a message
     * waits in each ring) and per-worker gauges. 0 (the default): none of
     * that is counted (no clock reads, no ring probes).
     */
    int metrics;
    /* Also serve them over plain HTTP, GET /metrics on this numeric
     * address and port (port 0: an ephemeral port, see
     * memtls_server_metrics_port), from the first I/O thread; implies
     * metrics = 1. NULL: no endpoint. Copied. */
    const char *metrics_host;
    uint16_t metrics_port;
    /*
     * MEMTLS_APP_PROXY: start each backend connection with a PROXY
     * protocol header (memtls/proxy.h), before any byte of the client's:
     * the client's address (from the listener's own PROXY header when it
     * has one) and the address it connected to (the listener's address
     * and port, or the destination of that header). Version 2 carries
     * what HAProxy's send-proxy-v2-ssl and -ssl-cn send: PP2_TYPE_SSL
     * with the client bits, the verify result (0: a certificate that
     * verified), the TLS version, the cipher and, for a verified client
     * certificate, its CN; PP2_TYPE_AUTHORITY with the SNI; PP2_TYPE_ALPN
     * with the negotiated protocol. Plaintext listeners send the
     * addresses only. A wildcard listener (0.0.0.0, ::) names the
     * wildcard address as the destination. MEMTLS_PROXY_NONE: no header.
     */
    memtls_proxy_version backend_proxy_protocol;

    /*
     * Where the configuration comes from, instead of `tls`: called to make
     * it (NULL `previous`) and again by memtls_server_reload(srv, NULL)
     * (with the configuration in use, so the new one can share its ticket
     * keys: memtls_config_share_ticket_keys). Returns a new server
     * configuration, or NULL with a message in err. With threads it runs
     * in the calling thread (memtls_server_new, memtls_server_reload);
     * with `isolate` in the spawner process (see ISOLATION below), never
     * in the process that holds the sockets. NULL: use `tls`.
     */
    memtls_config *(*load_tls)(void *arg, memtls_config *previous, char *err, size_t errlen);
    void *load_tls_arg;

    /*
     * ISOLATION. 1: every TLS worker is a process of its own, and the
     * process that calls memtls_server_new (the host: listeners, client
     * and backend sockets, I/O threads) never holds a key, a session
     * secret or a configuration. Requires load_tls (and tls NULL).
     *
     * memtls_server_new forks a spawner process first, before it binds or
     * creates anything; the spawner calls load_tls and forks the workers.
     * Call it before the program starts other threads: the spawner is a
     * copy of the calling process, and a lock another thread held at that
     * moment (an allocator's, OpenSSL's) stays held in the copy for good.
     * A worker shares with the host only its channel: two rings and
     * their flags in a sealed memfd mapped by both, and an eventfd each
     * way. Before it serves, a worker drops what it does not need: it
     * switches to `user` (when it runs as root), sets no_new_privs, makes
     * itself undumpable, and installs a seccomp filter that allows only
     * the system calls of its loop (no socket, connect, open, execve,
     * ptrace...): a forbidden call kills it.
     *
     * A worker that dies (crash, kill, the filter) has its connections
     * closed by the host (a TCP close: the host cannot send a TLS alert),
     * with a log line naming the signal or exit status, and is started
     * again with backoff (1 s doubling to 30 s while starts keep failing);
     * the other workers' connections are untouched. memtls_server_reload
     * (srv, NULL) makes the spawner load the configuration again and
     * starts a new worker for every running one; the old ones serve their
     * connections to the end and then leave (live connections keep their
     * configuration, as with threads). When the host process dies, the
     * spawner and the workers die with it.
     *
     * The application callbacks (custom, on_conn_log, on_log) run in the
     * worker processes for what the workers do: they must not rely on
     * memory shared with the host process (log to a descriptor). The
     * server's statistics and metrics are gathered from all processes.
     * worker_mode is ignored (workers are processes); the default thread
     * layout is one I/O thread per four CPUs (at least one) and a worker
     * per CPU. docs/architecture.md draws the processes.
     */
    int isolate;
    /* isolate: the user the workers run as when started as root (a name
     * from the password database). NULL: stay as started. Copied. */
    const char *user;
} memtls_server_opts;

/* --- lifecycle ------------------------------------------------------------ */

/*
 * Validate `opts`, create the rings, and bind and listen on every listener
 * (nothing is accepted before memtls_server_start). Returns the server, or
 * NULL with a message of at most errlen - 1 bytes in `err` (when err is not
 * NULL), naming the address for bind failures ("127.0.0.1:8443: address
 * already in use", "::x: invalid address") and the option for invalid
 * options.
 */
MEMTLS_API memtls_server *memtls_server_new(const memtls_server_opts *opts, char *err,
                                            size_t errlen) MEMTLS_WUR;

/*
 * Start the host thread and the workers. Returns once the listeners
 * accept connections: 0, MEMTLS_ERR_INVALID (NULL, already started), or
 * MEMTLS_ERR_NOMEM (a thread could not be created; nothing is left
 * running).
 */
MEMTLS_API int memtls_server_start(memtls_server *srv) MEMTLS_WUR;

/*
 * The port listener `index` is bound to (useful with port 0), or 0 for a
 * NULL server or an index out of range. Valid right after
 * memtls_server_new().
 */
MEMTLS_API uint16_t memtls_server_bound_port(const memtls_server *srv, size_t index);

/*
 * Stop: close the listeners; echo and custom connections stop reading,
 * answer what they already received and close (close_notify after their
 * queued data); proxy connections run on until both sides close (a proxy
 * cannot tell where a request ends). Wait up to `grace_ms` for all of
 * them, then close the rest, and join all threads. Returns
 * when the threads have exited. Safe from any thread and more than once
 * (later calls wait for the first to finish); a no-op on a server that was
 * never started. Returns 0, or MEMTLS_ERR_INVALID for NULL.
 */
MEMTLS_API int memtls_server_stop(memtls_server *srv, unsigned grace_ms);

/*
 * Use `cfg` (a server configuration with a certificate) for handshakes
 * that start from now on; live connections keep the configuration they
 * started with. The server takes its own reference. With `cfg` NULL, load
 * it again with opts.load_tls (with `isolate`: in the spawner, then new
 * worker processes replace the running ones). Safe from any thread.
 * Returns 0; MEMTLS_ERR_INVALID (NULL server, client role, no
 * certificate, NULL cfg without load_tls, a cfg with isolate);
 * MEMTLS_ERR_CONFIG when load_tls failed (its message went to on_log at
 * level error; the configuration in use stays).
 */
MEMTLS_API int memtls_server_reload(memtls_server *srv, memtls_config *cfg) MEMTLS_WUR;

/* Stop (grace 0) if still running, and free everything. NULL is a no-op. */
MEMTLS_API void memtls_server_free(memtls_server *srv);

/* --- observation -------------------------------------------------------- */

typedef struct memtls_server_stats {
    uint64_t conns_open;    /* accepted and not yet released */
    uint64_t conns_total;   /* accepted since start (refused included) */
    uint64_t conns_refused; /* closed at once: connection cap, stopping */
    uint64_t conns_failed;  /* handshake/auth/protocol failures, timeouts */
    uint64_t bytes_in;      /* from client sockets */
    uint64_t bytes_out;     /* written to client sockets */
    uint64_t backend_in;    /* from backend sockets */
    uint64_t backend_out;   /* written to backend sockets */
    uint64_t accept_errors; /* accepts that failed for want of descriptors
                               or memory (accepting then pauses briefly) */
    unsigned io_threads;    /* number of I/O threads */
    unsigned workers;       /* number of workers */
    int workers_inline;     /* 1: workers run in their I/O thread */
    /* Over all rings of one direction: the highest high-water mark (bytes)
     * and the sum of refusals (writes that found the ring full). */
    size_t to_worker_high_water;
    uint64_t to_worker_refusals;
    size_t to_host_high_water;
    uint64_t to_host_refusals;
    /* Messages that crossed the rings (both directions), and wake-ups
     * (a signal to a sleeping thread) sent by all threads. */
    uint64_t ring_messages;
    uint64_t wakeups;
    size_t ring_capacity;
} memtls_server_stats;

/* Snapshot of the counters (each read atomically; the set is not one
 * instant). Safe from any thread. Returns 0 or MEMTLS_ERR_INVALID. */
MEMTLS_API int memtls_server_get_stats(const memtls_server *srv, memtls_server_stats *out);

/* The two rings of worker `worker` (host->worker, worker->host). Returns
 * 0 or MEMTLS_ERR_INVALID (NULL, index out of range). */
MEMTLS_API int memtls_server_get_ring_stats(const memtls_server *srv, unsigned worker,
                                            memtls_ring_stats *to_worker,
                                            memtls_ring_stats *to_host);

/*
 * isolate: the process id of worker `worker`'s serving process (0 while
 * none serves: starting, or gone and waiting to be started again). 0
 * without isolate and for an index out of range. Any thread.
 */
MEMTLS_API int memtls_server_worker_pid(const memtls_server *srv, unsigned worker);

/*
 * The metrics in the Prometheus text exposition format, version 0.0.4 (the
 * body that GET /metrics returns), for a program that serves them itself.
 * Written to `buf` with a terminating NUL; *outlen is the length without
 * it. Returns 0; MEMTLS_ERR_TOO_SMALL when they do not fit in `len` bytes
 * (*outlen is then the length needed, without the NUL; the text may grow
 * a little before the next call, so leave room); MEMTLS_ERR_INVALID for
 * NULL srv or outlen, or a server created without metrics; or
 * MEMTLS_ERR_NOMEM. Safe from any thread; each value is read atomically,
 * the set is not one instant.
 */
MEMTLS_API int memtls_server_metrics(const memtls_server *srv, char *buf, size_t len,
                                     size_t *outlen) MEMTLS_WUR;

/* The port the metrics endpoint listens on (useful with metrics_port 0),
 * or 0 without an endpoint or for NULL. Valid right after
 * memtls_server_new(). */
MEMTLS_API uint16_t memtls_server_metrics_port(const memtls_server *srv);

/* --- custom application: calls on a connection ---------------------------- */

/* The connection's id (as in memtls_conn_record). */
MEMTLS_API uint64_t memtls_server_conn_id(const memtls_server_conn *c);

/* The context, for peer information (memtls_ctx_peer_subject, memtls_ctx_alpn...). */
MEMTLS_API memtls_ctx *memtls_server_conn_ctx(memtls_server_conn *c);

/* Application data attached to the connection (NULL at first). */
MEMTLS_API void memtls_server_conn_set_data(memtls_server_conn *c, void *data);
MEMTLS_API void *memtls_server_conn_get_data(const memtls_server_conn *c);

/*
 * Queue plaintext for the client. Same contract as memtls_session_write():
 * 0 with *accepted in 1..len, or MEMTLS_WANT_WRITE (nothing taken;
 * on_writable follows), MEMTLS_CLOSED, MEMTLS_ERR_INVALID.
 */
MEMTLS_API int memtls_server_conn_write(memtls_server_conn *c, const void *data, size_t len,
                                        size_t *accepted) MEMTLS_WUR;

/* Offer unconsumed input again (see on_data). Returns 0 or
 * MEMTLS_ERR_INVALID. */
MEMTLS_API int memtls_server_conn_resume(memtls_server_conn *c);

/* Graceful close: queued data, close_notify, then the socket is shut down
 * and closed. on_close follows. Returns 0 or MEMTLS_ERR_INVALID. */
MEMTLS_API int memtls_server_conn_close(memtls_server_conn *c);

#ifdef __cplusplus
}
#endif
#endif
