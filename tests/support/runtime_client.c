/* runtime_client.c - see runtime_client.h. */
#include "test.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "runtime_client.h"
#include "testpki.h"

#define IO_CHUNK (16 * 1024)

uint64_t rc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint8_t rc_byte(uint64_t seed, uint64_t i)
{
    uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull ^ (seed * 0xC2B2AE3D27D4EB4Full);
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    return (uint8_t)(x >> 56);
}

static void fill(uint64_t seed, uint64_t off, uint8_t *p, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        p[k] = rc_byte(seed, off + k);
    }
}

/* --- PKI and options -------------------------------------------------------- */

void rc_pki_make(rc_pki *p)
{
    p->ca = testpki_ca(MEMTLS_KEY_EC_P256);
    p->server = testpki_leaf(&p->ca, MEMTLS_CERT_SERVER, MEMTLS_KEY_EC_P256, "localhost",
                             "IP:127.0.0.1", 0, 0);
    p->client = testpki_leaf(&p->ca, MEMTLS_CERT_CLIENT, MEMTLS_KEY_EC_P256, "client.test",
                             "DNS:client.test", 0, 0);
}

void rc_pki_free(rc_pki *p)
{
    memtls_pem_free(&p->ca);
    memtls_pem_free(&p->server);
    memtls_pem_free(&p->client);
}

memtls_config *rc_server_config(const rc_pki *p, memtls_verify verify)
{
    memtls_config *cfg = memtls_config_new(MEMTLS_ROLE_SERVER);
    assert_non_null(cfg);
    assert_int_equal(memtls_config_load_cert_pem(cfg, p->server.cert, p->server.cert_len,
                                                 p->server.key, p->server.key_len),
                     0);
    if (verify != MEMTLS_VERIFY_NONE) {
        assert_int_equal(memtls_config_load_ca_pem(cfg, p->ca.cert, p->ca.cert_len), 0);
        assert_int_equal(memtls_config_set_verify(cfg, verify), 0);
    }
    return cfg;
}

void rc_log_init(rc_log *l)
{
    memset(l, 0, sizeof *l);
    pthread_mutex_init(&l->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cond, &ca);
    pthread_condattr_destroy(&ca);
}

void rc_log_destroy(rc_log *l)
{
    pthread_cond_destroy(&l->cond);
    pthread_mutex_destroy(&l->lock);
}

void rc_log_record(void *arg, const memtls_conn_record *rec)
{
    rc_log *l = arg;
    pthread_mutex_lock(&l->lock);
    if (l->count < 64) {
        snprintf(l->reasons[l->count], sizeof l->reasons[0], "%s", rec->reason);
        snprintf(l->peers[l->count], sizeof l->peers[0], "%s", rec->peer);
        l->resumed[l->count] = rec->resumed;
        l->cert_index[l->count] = rec->cert_index;
        snprintf(l->cert_subjects[l->count], sizeof l->cert_subjects[0], "%s", rec->cert_subject);
    }
    l->count++;
    l->clean += rec->clean ? 1 : 0;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->lock);
}

int rc_log_has_peer(rc_log *l, const char *text)
{
    int found = 0;
    pthread_mutex_lock(&l->lock);
    for (size_t i = 0; i < l->count && i < 64 && !found; i++) {
        found = strstr(l->peers[i], text) != NULL;
    }
    pthread_mutex_unlock(&l->lock);
    return found;
}

int rc_log_wait(rc_log *l, size_t count, unsigned timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(timeout_ms / 1000u);
    until.tv_nsec += (long)(timeout_ms % 1000u) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    pthread_mutex_lock(&l->lock);
    while (l->count < count && rc == 0) {
        rc = pthread_cond_timedwait(&l->cond, &l->lock, &until);
    }
    size_t got = l->count;
    pthread_mutex_unlock(&l->lock);
    if (got < count) {
        print_error("rc_log_wait: %zu records, wanted %zu\n", got, count);
        return -1;
    }
    return 0;
}

void rc_log_dump(rc_log *l)
{
    pthread_mutex_lock(&l->lock);
    for (size_t i = 0; i < l->count && i < 64; i++) {
        print_message("record %zu: %s (%s)\n", i, l->reasons[i], l->peers[i]);
    }
    pthread_mutex_unlock(&l->lock);
}

int rc_log_has(rc_log *l, const char *text)
{
    int found = 0;
    pthread_mutex_lock(&l->lock);
    for (size_t i = 0; i < l->count && i < 64 && !found; i++) {
        found = strstr(l->reasons[i], text) != NULL;
    }
    pthread_mutex_unlock(&l->lock);
    return found;
}

size_t rc_log_count(rc_log *l)
{
    pthread_mutex_lock(&l->lock);
    size_t n = l->count;
    pthread_mutex_unlock(&l->lock);
    return n;
}

void rc_opts_default(memtls_server_opts *o, memtls_listener_opts *l, int plaintext,
                     memtls_config *cfg, rc_log *log)
{
    memset(o, 0, sizeof *o);
    memset(l, 0, sizeof *l);
    l->host = "127.0.0.1";
    l->port = 0;
    l->plaintext = plaintext;
    o->listeners = l;
    o->listener_count = 1;
    o->tls = cfg;
    o->app = MEMTLS_APP_ECHO;
    o->workers = 2;
    o->linger_ms = 500;
    if (log != NULL) {
        o->on_conn_log = rc_log_record;
        o->log_arg = log;
    }
}

int rc_wait_open(memtls_server *srv, uint64_t want, unsigned timeout_ms)
{
    uint64_t deadline = rc_now_ms() + timeout_ms;
    memtls_server_stats st;
    for (;;) {
        if (memtls_server_get_stats(srv, &st) == 0 && st.conns_open == want) {
            return 0;
        }
        if (rc_now_ms() > deadline) {
            print_error("rc_wait_open: %llu open, wanted %llu\n", (unsigned long long)st.conns_open,
                        (unsigned long long)want);
            return -1;
        }
        /* No event tells the test when the host freed a connection: poll. */
        poll(NULL, 0, 5);
    }
}

/* --- connections ------------------------------------------------------------- */

static int sockbuf;

void rc_set_sockbuf(int bytes)
{
    sockbuf = bytes;
}

int rc_tcp_connect(uint16_t port)
{
    return rc_tcp_connect_host("127.0.0.1", port);
}

int rc_tcp_connect_host(const char *host, uint16_t port)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    memset(&ss, 0, sizeof ss);
    if (host == NULL) {
        host = "127.0.0.1";
    }
    if (strchr(host, ':') != NULL) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1) {
            return -1;
        }
        sslen = sizeof *a6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
            return -1;
        }
        sslen = sizeof *a4;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    if (sockbuf > 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sockbuf, sizeof sockbuf);
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sockbuf, sizeof sockbuf);
    }
    if (connect(fd, (struct sockaddr *)&ss, sslen) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int wait_fd(int fd, short events, uint64_t deadline)
{
    uint64_t now = rc_now_ms();
    if (now >= deadline) {
        return 0;
    }
    struct pollfd p = {fd, events, 0};
    return poll(&p, 1, (int)(deadline - now));
}

static int load_pem_cert(SSL_CTX *ctx, const memtls_pem *pem)
{
    BIO *b = BIO_new_mem_buf(pem->cert, (int)pem->cert_len);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    b = BIO_new_mem_buf(pem->key, (int)pem->key_len);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    int ok = x != NULL && k != NULL && SSL_CTX_use_certificate(ctx, x) == 1 &&
             SSL_CTX_use_PrivateKey(ctx, k) == 1;
    X509_free(x);
    EVP_PKEY_free(k);
    return ok ? 0 : -1;
}

/* TCP connect (then non-blocking) and, for TLS, the handshake. */
static int connect_common(rc_conn *c, const char *host, uint16_t port, int tls,
                          const memtls_pem *ca_pem, const memtls_pem *cert, unsigned timeout_ms,
                          const rc_how *how)
{
    memset(c, 0, sizeof *c);
    c->fd = rc_tcp_connect_host(host, port);
    if (c->fd < 0) {
        print_error("rc_connect: connect to %s port %u: %s\n", host ? host : "127.0.0.1", port,
                    strerror(errno));
        return -1;
    }
    for (size_t off = 0; how->preamble != NULL && off < how->preamble_len;) {
        ssize_t w =
            send(c->fd, (const char *)how->preamble + off, how->preamble_len - off, MSG_NOSIGNAL);
        if (w <= 0) {
            print_error("rc_connect: sending the preamble: %s\n", strerror(errno));
            return -1;
        }
        off += (size_t)w;
    }
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    if (!tls) {
        return 0;
    }
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (c->ctx == NULL) {
        return -1;
    }
    SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (ca_pem != NULL) {
        BIO *b = BIO_new_mem_buf(ca_pem->cert, (int)ca_pem->cert_len);
        X509 *ca = PEM_read_bio_X509(b, NULL, NULL, NULL);
        BIO_free(b);
        X509_STORE_add_cert(SSL_CTX_get_cert_store(c->ctx), ca);
        X509_free(ca);
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    }
    if (cert != NULL && load_pem_cert(c->ctx, cert) != 0) {
        return -1;
    }
    c->ssl = SSL_new(c->ctx);
    SSL_set_fd(c->ssl, c->fd);
    if (how->sni != NULL) {
        SSL_set_tlsext_host_name(c->ssl, how->sni);
    }
    uint64_t deadline = rc_now_ms() + timeout_ms;
    for (;;) {
        ERR_clear_error();
        int r = SSL_connect(c->ssl);
        if (r == 1) {
            return 0;
        }
        int e = SSL_get_error(c->ssl, r);
        short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
        if (ev == 0 || wait_fd(c->fd, ev, deadline) <= 0) {
            print_error("rc_connect: handshake failed (ssl error %d)\n", e);
            return -1;
        }
    }
}

int rc_connect(rc_conn *c, const rc_how *how)
{
    return connect_common(c, how->host, how->port, !how->plaintext, how->ca, how->cert,
                          how->timeout_ms != 0 ? how->timeout_ms : TEST_TIMEOUT_MS, how);
}

typedef struct echo_job {
    const rc_how *how;
    uint64_t seed;
    size_t bytes;
    unsigned timeout_ms;
    int result;
    pthread_t thread;
} echo_job;

static void *echo_client(void *arg)
{
    echo_job *j = arg;
    rc_conn c;
    j->result = rc_connect(&c, j->how) == 0 && rc_echo(&c, j->seed, j->bytes, j->timeout_ms) == 0 &&
                        rc_close(&c, j->timeout_ms) == 0
                    ? 0
                    : -1;
    rc_free(&c);
    return NULL;
}

unsigned rc_echo_clients(const rc_how *how, unsigned count, uint64_t seed, size_t bytes,
                         size_t step, unsigned timeout_ms)
{
    echo_job *jobs = calloc(count, sizeof *jobs);
    unsigned failed = 0;
    assert_non_null(jobs);
    for (unsigned i = 0; i < count; i++) {
        jobs[i] = (echo_job){how, seed + i, bytes + i * step, timeout_ms, -1, 0};
        if (pthread_create(&jobs[i].thread, NULL, echo_client, &jobs[i]) != 0) {
            count = i;
            failed++;
            break;
        }
    }
    for (unsigned i = 0; i < count; i++) {
        pthread_join(jobs[i].thread, NULL);
        if (jobs[i].result != 0) {
            print_error("echo client %u (seed %llu) failed\n", i, (unsigned long long)jobs[i].seed);
            failed++;
        }
    }
    free(jobs);
    return failed;
}

int rc_listen(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        print_error("rc_listen: %s\n", strerror(errno));
        close(fd);
        fail();
    }
    *port = ntohs(a.sin_port);
    return fd;
}

uint16_t rc_unused_port(void)
{
    uint16_t port = 0;
    close(rc_listen(&port));
    return port;
}

/* 1 byte count > 0, 0 would block, -1 closed (EOF / close_notify), -2 error. */
long rc_io_write(rc_conn *c, const void *p, size_t n)
{
    if (c->ssl == NULL) {
        ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL);
        if (r >= 0) {
            return (long)r;
        }
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -2;
    }
    ERR_clear_error();
    int r = SSL_write(c->ssl, p, (int)n);
    if (r > 0) {
        return r;
    }
    int e = SSL_get_error(c->ssl, r);
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -2;
}

long rc_io_read(rc_conn *c, void *p, size_t n)
{
    if (c->ssl == NULL) {
        ssize_t r = recv(c->fd, p, n, 0);
        if (r > 0) {
            return (long)r;
        }
        if (r == 0) {
            return -1;
        }
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -2;
    }
    ERR_clear_error();
    int r = SSL_read(c->ssl, p, (int)n);
    if (r > 0) {
        return r;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        return 0;
    }
    return e == SSL_ERROR_ZERO_RETURN ? -1 : -2;
}

void rc_stream_init(rc_stream *s, uint64_t seed, size_t total)
{
    memset(s, 0, sizeof *s);
    s->seed = seed;
    s->total = total;
    s->out = malloc(IO_CHUNK);
    s->in = malloc(IO_CHUNK);
}

void rc_stream_free(rc_stream *s)
{
    free(s->out);
    free(s->in);
    memset(s, 0, sizeof *s);
}

/* One write attempt: 1 progress, 0 would block, -1 failed. A write that
 * would block is retried later with exactly the same bytes, as OpenSSL
 * requires. */
static int stream_write(rc_conn *c, rc_stream *s)
{
    if (s->sent >= s->total) {
        return 0;
    }
    if (s->pending == 0) {
        s->pending = s->total - s->sent < IO_CHUNK ? s->total - s->sent : IO_CHUNK;
        fill(s->seed, s->sent, s->out, s->pending);
    }
    long w = rc_io_write(c, s->out, s->pending);
    if (w < 0) {
        print_error("stream(seed %llu): write failed after %zu bytes\n",
                    (unsigned long long)s->seed, s->sent);
        return -1;
    }
    if (w == 0) {
        return 0;
    }
    s->sent += (size_t)w;
    memmove(s->out, s->out + w, s->pending - (size_t)w);
    s->pending -= (size_t)w;
    return 1;
}

int rc_stream_send_until_stalled(rc_conn *c, rc_stream *s, unsigned stall_ms)
{
    while (s->sent < s->total) {
        int r = stream_write(c, s);
        if (r < 0) {
            return -1;
        }
        if (r == 0 && wait_fd(c->fd, POLLOUT, rc_now_ms() + stall_ms) <= 0) {
            return 0;
        }
    }
    return 0;
}

int rc_stream_run(rc_conn *c, rc_stream *s, unsigned timeout_ms)
{
    uint64_t deadline = rc_now_ms() + timeout_ms;
    while (s->got < s->total) {
        short ev = POLLIN;
        int wr = stream_write(c, s);
        if (wr < 0) {
            return -1;
        }
        if (wr == 0 && s->sent < s->total) {
            ev |= POLLOUT;
        }
        long r = rc_io_read(c, s->in, IO_CHUNK);
        if (r < 0) {
            print_error("stream(seed %llu): ended after %zu of %zu bytes\n",
                        (unsigned long long)s->seed, s->got, s->total);
            return -1;
        }
        for (long k = 0; k < r; k++) {
            if (s->in[k] != rc_byte(s->seed, s->got + (size_t)k)) {
                print_error("stream(seed %llu): byte %zu differs\n", (unsigned long long)s->seed,
                            s->got + (size_t)k);
                return -1;
            }
        }
        s->got += (size_t)r;
        if (r == 0 && wr <= 0 && wait_fd(c->fd, ev, deadline) <= 0) {
            print_error("stream(seed %llu): timeout, sent %zu got %zu of %zu\n",
                        (unsigned long long)s->seed, s->sent, s->got, s->total);
            return -1;
        }
    }
    return 0;
}

int rc_echo(rc_conn *c, uint64_t seed, size_t total, unsigned timeout_ms)
{
    rc_stream s;
    rc_stream_init(&s, seed, total);
    int rc = rc_stream_run(c, &s, timeout_ms);
    rc_stream_free(&s);
    return rc;
}

int rc_read_expect(rc_conn *c, uint64_t seed, size_t total, unsigned timeout_ms)
{
    uint8_t *in = malloc(IO_CHUNK);
    uint64_t deadline = rc_now_ms() + timeout_ms;
    size_t got = 0;
    int rc = -1;
    while (got < total) {
        size_t want = total - got < IO_CHUNK ? total - got : IO_CHUNK;
        long r = rc_io_read(c, in, want);
        if (r < 0) {
            print_error("rc_read_expect(seed %llu): ended after %zu of %zu\n",
                        (unsigned long long)seed, got, total);
            goto out;
        }
        if (r == 0) {
            if (wait_fd(c->fd, POLLIN, deadline) <= 0) {
                print_error("rc_read_expect(seed %llu): timeout after %zu of %zu\n",
                            (unsigned long long)seed, got, total);
                goto out;
            }
            continue;
        }
        for (long k = 0; k < r; k++) {
            if (in[k] != rc_byte(seed, got + (size_t)k)) {
                print_error("rc_read_expect(seed %llu): byte %zu differs\n",
                            (unsigned long long)seed, got + (size_t)k);
                goto out;
            }
        }
        got += (size_t)r;
    }
    rc = 0;
out:
    free(in);
    return rc;
}

int rc_close(rc_conn *c, unsigned timeout_ms)
{
    uint64_t deadline = rc_now_ms() + timeout_ms;
    if (c->ssl != NULL) {
        ERR_clear_error();
        int r = SSL_shutdown(c->ssl);
        if (r < 0) {
            int e = SSL_get_error(c->ssl, r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                return -1;
            }
        }
    } else {
        shutdown(c->fd, SHUT_WR);
    }
    uint8_t buf[4096];
    for (;;) {
        long r = rc_io_read(c, buf, sizeof buf);
        if (r == -1) {
            return 0;
        }
        if (r == -2) {
            return -1;
        }
        if (r == 0 && wait_fd(c->fd, POLLIN, deadline) <= 0) {
            print_error("rc_close: no close from the server within %u ms\n", timeout_ms);
            return -1;
        }
    }
}

int rc_write_all(rc_conn *c, const void *p, size_t n, unsigned timeout_ms)
{
    uint64_t deadline = rc_now_ms() + timeout_ms;
    const uint8_t *b = p;
    size_t done = 0;
    while (done < n) {
        size_t chunk = n - done < IO_CHUNK ? n - done : IO_CHUNK;
        long w = rc_io_write(c, b + done, chunk);
        if (w < 0) {
            print_error("rc_write_all: failed after %zu of %zu bytes\n", done, n);
            return -1;
        }
        if (w == 0) {
            /* OpenSSL wants the same buffer again: `chunk` does not move. */
            if (wait_fd(c->fd, POLLOUT, deadline) <= 0) {
                print_error("rc_write_all: timeout after %zu of %zu bytes\n", done, n);
                return -1;
            }
            continue;
        }
        done += (size_t)w;
    }
    return 0;
}

int rc_write_seq(rc_conn *c, uint64_t seed, size_t from, size_t to, unsigned timeout_ms)
{
    uint8_t *buf = malloc(to - from + 1);
    if (buf == NULL) {
        return -1;
    }
    fill(seed, from, buf, to - from);
    int rc = rc_write_all(c, buf, to - from, timeout_ms);
    free(buf);
    return rc;
}

int rc_read_bytes(rc_conn *c, const void *want, size_t n, unsigned timeout_ms)
{
    uint64_t deadline = rc_now_ms() + timeout_ms;
    uint8_t buf[4096];
    size_t got = 0;
    while (got < n) {
        size_t ask = n - got < sizeof buf ? n - got : sizeof buf;
        long r = rc_io_read(c, buf, ask);
        if (r < 0) {
            print_error("rc_read_bytes: ended after %zu of %zu bytes\n", got, n);
            return -1;
        }
        if (r == 0 && wait_fd(c->fd, POLLIN, deadline) <= 0) {
            print_error("rc_read_bytes: timeout after %zu of %zu bytes\n", got, n);
            return -1;
        }
        if (r > 0 && memcmp(buf, (const uint8_t *)want + got, (size_t)r) != 0) {
            print_error("rc_read_bytes: bytes %zu..%zu differ\n", got, got + (size_t)r);
            return -1;
        }
        got += r > 0 ? (size_t)r : 0;
    }
    return 0;
}

int rc_fd_wait_eof(int fd, size_t *discarded, unsigned timeout_ms)
{
    uint64_t deadline = rc_now_ms() + timeout_ms;
    char buf[512];
    if (discarded != NULL) {
        *discarded = 0;
    }
    for (;;) {
        if (wait_fd(fd, POLLIN, deadline) <= 0) {
            print_error("rc_fd_wait_eof: no EOF within %u ms\n", timeout_ms);
            return -1;
        }
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0) {
            return 0;
        }
        if (n > 0 && discarded != NULL) {
            *discarded += (size_t)n;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            print_error("rc_fd_wait_eof: %s (expected a clean EOF)\n", strerror(errno));
            return -1;
        }
    }
}

int rc_shutdown_write(rc_conn *c, unsigned timeout_ms)
{
    if (c->ssl == NULL) {
        return shutdown(c->fd, SHUT_WR) == 0 ? 0 : -1;
    }
    uint64_t deadline = rc_now_ms() + timeout_ms;
    for (;;) {
        ERR_clear_error();
        int r = SSL_shutdown(c->ssl);
        if (r >= 0) {
            return 0; /* 0: close_notify sent, the peer's not yet seen */
        }
        int e = SSL_get_error(c->ssl, r);
        if (e != SSL_ERROR_WANT_WRITE || wait_fd(c->fd, POLLOUT, deadline) <= 0) {
            print_error("rc_shutdown_write: ssl error %d\n", e);
            return -1;
        }
    }
}

int rc_expect_close(rc_conn *c, unsigned timeout_ms)
{
    uint64_t deadline = rc_now_ms() + timeout_ms;
    uint8_t buf[4096];
    for (;;) {
        long r = rc_io_read(c, buf, sizeof buf);
        if (r == -1) {
            return 0;
        }
        if (r > 0) {
            print_error("rc_expect_close: %ld unexpected bytes\n", r);
            return -1;
        }
        if (r == -2) {
            print_error("rc_expect_close: connection failed instead of a clean close\n");
            return -1;
        }
        if (wait_fd(c->fd, POLLIN, deadline) <= 0) {
            print_error("rc_expect_close: no close within %u ms\n", timeout_ms);
            return -1;
        }
    }
}

int rc_wait_failure(rc_conn *c, unsigned timeout_ms)
{
    uint64_t deadline = rc_now_ms() + timeout_ms;
    uint8_t buf[4096];
    for (;;) {
        long r = rc_io_read(c, buf, sizeof buf);
        if (r == -2) {
            return 0;
        }
        if (r == -1) {
            print_error("rc_wait_failure: clean close instead of a failure\n");
            return -1;
        }
        if (r == 0 && wait_fd(c->fd, POLLIN, deadline) <= 0) {
            print_error("rc_wait_failure: nothing within %u ms\n", timeout_ms);
            return -1;
        }
    }
}

void rc_free(rc_conn *c)
{
    if (c->ssl != NULL) {
        SSL_free(c->ssl);
    }
    if (c->ctx != NULL) {
        SSL_CTX_free(c->ctx);
    }
    if (c->fd >= 0) {
        close(c->fd);
    }
    memset(c, 0, sizeof *c);
    c->fd = -1;
}
