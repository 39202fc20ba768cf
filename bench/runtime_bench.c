/*
 * runtime_bench.c - the full runtime (memtls_server: host I/O thread, rings,
 * TLS workers) over 127.0.0.1 against a baseline server in the same run:
 * plain OpenSSL over blocking sockets, one thread per connection, with the
 * very same SSL_CTX (certificate, settings). The same client threads drive
 * both. Measures
 *
 *   (a) echo throughput: C client connections (TLS 1.3), each in its own
 *       thread, send their share of the total and read it back (full
 *       duplex, non-blocking client sockets); MB/s = payload bytes echoed
 *       (counted once) / wall time, 1 MB = 10^6 bytes;
 *   (b) new connections/s: client threads each run connect + full TLS 1.3
 *       handshake (no resumption) + a 64-byte echo + close_notify both
 *       ways + close, one after the other.
 *
 * and prints each figure and the ratio memtls / baseline.
 *
 * Usage: runtime_bench [megabytes [connections [clients [workers]]]]
 *        defaults:      256         2000          4         0 (server default)
 *
 * Runtime is bounded: every socket has a 20 s timeout and the program gives
 * up (exit 1) after 60 s.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memtls/config.h>
#include <memtls/openssl.h>
#include <memtls/pki.h>

#include "bench_tls.h"
#include <memtls/server.h>

#define CHUNK 16384
#define SMALL 64
#define IO_TIMEOUT_S 20
#define MAX_CLIENTS 64

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "runtime_bench: %s\n", what);
    exit(1);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "runtime_bench: over 60 s, giving up\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(1);
}

static void set_timeouts(int fd)
{
    struct timeval tv = {IO_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int tcp_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    set_timeouts(fd);
    return fd;
}

/* --- baseline: OpenSSL, blocking sockets, a thread per connection ------------ */

typedef struct baseline {
    SSL_CTX *ctx;
    int lfd;
    uint16_t port;
    pthread_t thread;
    atomic_int stop;
} baseline;

static void *baseline_conn(void *arg)
{
    SSL *ssl = arg;
    unsigned char buf[CHUNK];
    if (SSL_accept(ssl) == 1) {
        for (;;) {
            size_t n = 0;
            if (SSL_read_ex(ssl, buf, sizeof buf, &n) != 1) {
                if (SSL_get_error(ssl, 0) == SSL_ERROR_ZERO_RETURN) {
                    SSL_shutdown(ssl); /* answer the close_notify */
                }
                break;
            }
            size_t w = 0;
            if (SSL_write_ex(ssl, buf, n, &w) != 1) {
                break;
            }
        }
    }
    int fd = SSL_get_fd(ssl);
    SSL_free(ssl);
    close(fd);
    ERR_clear_error();
    return NULL;
}

static void *baseline_main(void *arg)
{
    baseline *b = arg;
    for (;;) {
        int fd = accept(b->lfd, NULL, NULL);
        if (atomic_load(&b->stop)) {
            if (fd >= 0) {
                close(fd);
            }
            break;
        }
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            break;
        }
        set_timeouts(fd);
        SSL *ssl = SSL_new(b->ctx);
        if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
            SSL_free(ssl);
            close(fd);
            continue;
        }
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &at, baseline_conn, ssl) != 0) {
            SSL_free(ssl);
            close(fd);
        }
        pthread_attr_destroy(&at);
    }
    return NULL;
}

static void baseline_start(baseline *b, SSL_CTX *ctx)
{
    memset(b, 0, sizeof *b);
    b->ctx = ctx;
    b->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (b->lfd < 0 || bind(b->lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(b->lfd, 512) != 0 || getsockname(b->lfd, (struct sockaddr *)&a, &len) != 0) {
        die("baseline: cannot listen on 127.0.0.1");
    }
    b->port = ntohs(a.sin_port);
    if (pthread_create(&b->thread, NULL, baseline_main, b) != 0) {
        die("baseline: thread");
    }
}

static void baseline_stop(baseline *b)
{
    atomic_store(&b->stop, 1);
    int fd = tcp_connect(b->port); /* wake accept() */
    if (fd >= 0) {
        close(fd);
    }
    pthread_join(b->thread, NULL);
    close(b->lfd);
    /* Connection threads are detached; every client has closed by now, so
     * they end on their own (the process may exit before they unwind). */
}

/* --- clients (the same for both servers) ------------------------------------ */

typedef struct job {
    SSL_CTX *cctx;
    uint16_t port;
    size_t bytes;   /* (a): bytes to echo on this connection */
    unsigned conns; /* (b): connections to make */
    int ok;
} job;

static SSL *client_connect(SSL_CTX *cctx, uint16_t port)
{
    int fd = tcp_connect(port);
    if (fd < 0) {
        return NULL;
    }
    SSL *ssl = SSL_new(cctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1) {
        SSL_free(ssl);
        close(fd);
        return NULL;
    }
    return ssl;
}

static void client_close(SSL *ssl)
{
    int fd = SSL_get_fd(ssl);
    SSL_free(ssl);
    close(fd);
}

static void stream_error(const char *what, int status, size_t sent, size_t got)
{
    char reason[256] = "";
    unsigned long e = ERR_peek_error();
    if (e != 0) {
        ERR_error_string_n(e, reason, sizeof reason);
    }
    fprintf(
        stderr,
        "runtime_bench: echo stream: %s (status %d, errno %d %s) after %zu sent, %zu received\n",
        what, status, errno, reason, sent, got);
    ERR_clear_error();
}

/* Full duplex over a non-blocking socket: send `total` bytes, read them
 * back (the content is checked by length only: echo correctness has its
 * tests). */
static int echo_stream(SSL *ssl, size_t total)
{
    int fd = SSL_get_fd(ssl);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    unsigned char out[CHUNK], in[CHUNK];
    memset(out, 'x', sizeof out);
    size_t sent = 0, got = 0;
    while (got < total) {
        short ev = POLLIN;
        int progress = 0;
        if (sent < total) {
            size_t n = total - sent < sizeof out ? total - sent : sizeof out;
            size_t w = 0;
            if (SSL_write_ex(ssl, out, n, &w) == 1) {
                sent += w;
                progress = 1;
            } else {
                int e = SSL_get_error(ssl, 0);
                if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) {
                    stream_error("write", e, sent, got);
                    return -1;
                }
                ev |= POLLOUT;
            }
        }
        size_t r = 0;
        if (SSL_read_ex(ssl, in, sizeof in, &r) == 1) {
            got += r;
            progress = 1;
        } else {
            int e = SSL_get_error(ssl, 0);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                stream_error("read", e, sent, got);
                return -1;
            }
        }
        if (!progress) {
            struct pollfd p = {fd, ev, 0};
            if (poll(&p, 1, IO_TIMEOUT_S * 1000) <= 0) {
                stream_error("poll timeout", 0, sent, got);
                return -1;
            }
        }
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return 0;
}

/* close_notify, then wait for the server's close (close_notify or EOF). */
static void close_both_ways(SSL *ssl)
{
    unsigned char buf[256];
    size_t n;
    if (SSL_shutdown(ssl) == 0) {
        while (SSL_read_ex(ssl, buf, sizeof buf, &n) == 1) {
        }
    }
    ERR_clear_error();
}

static void *bulk_client(void *arg)
{
    job *j = arg;
    SSL *ssl = client_connect(j->cctx, j->port);
    j->ok = ssl != NULL && echo_stream(ssl, j->bytes) == 0;
    if (ssl != NULL) {
        close_both_ways(ssl);
        client_close(ssl);
    }
    return NULL;
}

static void *rate_client(void *arg)
{
    job *j = arg;
    unsigned char msg[SMALL], back[SMALL];
    memset(msg, 'r', sizeof msg);
    j->ok = 1;
    for (unsigned i = 0; i < j->conns && j->ok; i++) {
        SSL *ssl = client_connect(j->cctx, j->port);
        size_t w = 0, got = 0;
        if (ssl == NULL || SSL_write_ex(ssl, msg, sizeof msg, &w) != 1) {
            j->ok = 0;
        }
        while (j->ok && got < sizeof back) {
            size_t r = 0;
            if (SSL_read_ex(ssl, back + got, sizeof back - got, &r) != 1) {
                j->ok = 0;
            }
            got += r;
        }
        if (ssl != NULL) {
            close_both_ways(ssl);
            client_close(ssl);
        }
    }
    return NULL;
}

/* Run `clients` threads of `fn`; returns the wall time, or -1 on failure. */
static double run_clients(void *(*fn)(void *), SSL_CTX *cctx, uint16_t port, unsigned clients,
                          size_t bytes_each, unsigned conns_each)
{
    pthread_t th[MAX_CLIENTS];
    job jobs[MAX_CLIENTS];
    double t0 = now();
    for (unsigned i = 0; i < clients; i++) {
        jobs[i] = (job){cctx, port, bytes_each, conns_each, 0};
        if (pthread_create(&th[i], NULL, fn, &jobs[i]) != 0) {
            die("client thread");
        }
    }
    int ok = 1;
    for (unsigned i = 0; i < clients; i++) {
        pthread_join(th[i], NULL);
        ok = ok && jobs[i].ok;
    }
    double dt = now() - t0;
    return ok ? dt : -1.0;
}

/* --- main ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    long mb = argc > 1 ? atol(argv[1]) : 256;
    long conns = argc > 2 ? atol(argv[2]) : 2000;
    long clients = argc > 3 ? atol(argv[3]) : 4;
    long workers = argc > 4 ? atol(argv[4]) : 0;
    if (mb <= 0 || conns <= 0 || clients <= 0 || clients > MAX_CLIENTS || workers < 0 ||
        workers > 64) {
        die("usage: runtime_bench [megabytes [connections [clients [workers]]]]");
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    alarm(60);

    memtls_config *scfg = NULL;
    memtls_config *ccfg = NULL;
    bench_tls_configs("runtime_bench", "IP:127.0.0.1", &scfg, &ccfg);
    /* The baseline serves with the runtime's own SSL_CTX; the clients use
     * the client configuration's SSL_CTX, without a session cache, so every
     * handshake is a full one. */
    SSL_CTX *sctx = memtls_config_ssl_ctx(scfg);
    SSL_CTX *cctx = memtls_config_ssl_ctx(ccfg);
    SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);

    memtls_listener_opts l = {.host = "127.0.0.1", .port = 0, .plaintext = 0};
    memtls_server_opts o;
    memset(&o, 0, sizeof o);
    o.listeners = &l;
    o.listener_count = 1;
    o.tls = scfg;
    o.app = MEMTLS_APP_ECHO;
    o.workers = (unsigned)workers;
    char err[256];
    memtls_server *srv = memtls_server_new(&o, err, sizeof err);
    if (srv == NULL || memtls_server_start(srv) != 0) {
        die(srv == NULL ? err : "cannot start the server");
    }
    uint16_t rt_port = memtls_server_bound_port(srv, 0);
    memtls_server_stats st;
    if (memtls_server_get_stats(srv, &st) != 0) {
        die("stats");
    }
    baseline b;
    baseline_start(&b, sctx);

    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    printf("memtls runtime_bench: TLS 1.3, ECDSA P-256, %s; %ld CPUs online; runtime: %u "
           "worker(s) + host thread; baseline: OpenSSL, blocking sockets, thread per connection\n",
           OpenSSL_version(OPENSSL_VERSION), ncpu, st.workers);

    size_t total = (size_t)mb * 1024 * 1024;
    size_t each = total / (size_t)clients;
    double base_dt = run_clients(bulk_client, cctx, b.port, (unsigned)clients, each, 0);
    double rt_dt = run_clients(bulk_client, cctx, rt_port, (unsigned)clients, each, 0);
    if (base_dt < 0 || rt_dt < 0) {
        die(base_dt < 0 ? "echo through the baseline failed" : "echo through the runtime failed");
    }
    double moved = (double)(each * (size_t)clients);
    double base_mb = moved / base_dt / 1e6, rt_mb = moved / rt_dt / 1e6;
    printf("echo MB/s     baseline %9.1f   memtls runtime %9.1f   ratio %.3f   (%ld conns x %zu "
           "MiB, echoed back)\n",
           base_mb, rt_mb, rt_mb / base_mb, clients, each / (1024 * 1024));

    unsigned per = (unsigned)((conns + clients - 1) / clients);
    base_dt = run_clients(rate_client, cctx, b.port, (unsigned)clients, 0, per);
    rt_dt = run_clients(rate_client, cctx, rt_port, (unsigned)clients, 0, per);
    if (base_dt < 0 || rt_dt < 0) {
        die(base_dt < 0 ? "connections to the baseline failed"
                        : "connections to the runtime failed");
    }
    double made = (double)per * (double)clients;
    double base_cps = made / base_dt, rt_cps = made / rt_dt;
    printf("new conns/s   baseline %9.0f   memtls runtime %9.0f   ratio %.3f   (%.0f conns, %ld "
           "client threads; handshake + %d-byte echo + close)\n",
           base_cps, rt_cps, rt_cps / base_cps, made, clients, SMALL);

    baseline_stop(&b);
    memtls_server_stop(srv, 2000);
    if (memtls_server_get_stats(srv, &st) == 0) {
        printf("runtime stats: %llu connections, %llu failed, %llu refused; ring high water "
               "%zu / %zu bytes (to worker), %zu (to host); refusals %llu / %llu\n",
               (unsigned long long)st.conns_total, (unsigned long long)st.conns_failed,
               (unsigned long long)st.conns_refused, st.to_worker_high_water, st.ring_capacity,
               st.to_host_high_water, (unsigned long long)st.to_worker_refusals,
               (unsigned long long)st.to_host_refusals);
    }
    memtls_server_free(srv);
    memtls_config_free(scfg);
    memtls_config_free(ccfg);
    return 0;
}
