/*
 * tls_attack.c - hostile TLS clients for the interop tests: the attacks
 * that Python's ssl module cannot make, on a real OpenSSL client.
 *
 *   tls_attack keyupdate PORT [--seconds S] [--read] [--reconnect] [--rcvbuf N]
 *                        [--with-data]
 *       TLS 1.3: KeyUpdate(update_requested) records back to back, as fast
 *       as the socket takes them (--with-data: each followed by a 1-byte
 *       application record).
 *   tls_attack tiny PORT [--seconds S] [--read] [--reconnect] [--rcvbuf N]
 *       1-byte application records as fast as the socket takes them.
 *   tls_attack renegotiate PORT [--seconds S]
 *       TLS 1.2: an echo round trip, then a renegotiation request; reads
 *       until the server ends the connection.
 *   tls_attack bigext PORT [--ext-size N] [--seconds S]
 *       a ClientHello carrying one extension of N bytes (default 16384),
 *       then an echo round trip and a clean close.
 *
 * --read drains everything the server sends (otherwise nothing is read);
 * --reconnect opens a new connection whenever the server ends one, until
 * --seconds (default 3) have passed; --rcvbuf N sets the socket's receive
 * buffer before connecting (a small one makes a client that does not read
 * push back on the server at once). The tool never verifies the server:
 * the tests are about the server's behaviour, not its identity.
 *
 * Output, one line per connection (the first 5 with --reconnect):
 *   conn=N records=R key_updates=K bytes_read=B ms=T end=HOW
 * where HOW is "deadline" (still open when the time was up),
 * "close_notify", "alert:<description>", "eof" (FIN without close_notify),
 * "reset" (ECONNRESET/EPIPE) or "error:<text>"; then one line
 *   total conns=N records=R key_updates=K bytes_read=B ends=HOW:COUNT,...
 *   max_ms=T (the longest a connection lasted)
 * Exit 0 when the attack ran (whatever the server did), 1 when the tool
 * could not run it (connect refused, first handshake failed), 2 on usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

enum mode { M_KEYUPDATE, M_TINY, M_RENEGOTIATE, M_BIGEXT };

/* An extension number for private use (RFC 8446 section 11: 0xff00-0xffff),
 * which the server does not know and must skip. */
#define BIGEXT_TYPE 0xff77u
#define MAX_ENDS 8

typedef struct opts {
    enum mode mode;
    int port;
    double seconds;
    int read;
    int reconnect;
    int with_data;
    int rcvbuf;
    size_t ext_size;
} opts;

/* How one connection ended, and what it did before. */
typedef struct conn_result {
    unsigned long long records;
    unsigned long long key_updates;
    unsigned long long bytes_read;
    long long ms;
    char end[160];
} conn_result;

typedef struct totals {
    unsigned long long conns, records, key_updates, bytes_read;
    long long max_ms;
    char ends[MAX_ENDS][160];
    unsigned long long end_counts[MAX_ENDS];
    int nends;
} totals;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage(void)
{
    fprintf(stderr, "usage: tls_attack keyupdate|tiny|renegotiate|bigext PORT [--seconds S] "
                    "[--read] [--reconnect] [--with-data] [--rcvbuf N] [--ext-size N]\n");
}

/* The last alert the server sent us, if any (the info callback's record). */
static char g_alert[96];

static void info_cb(const SSL *ssl, int where, int ret)
{
    (void)ssl;
    if ((where & SSL_CB_ALERT) != 0 && (where & SSL_CB_READ) != 0) {
        snprintf(g_alert, sizeof g_alert, "%s", SSL_alert_desc_string_long(ret));
    }
}

static unsigned char *g_ext;

static int bigext_add(SSL *s, unsigned int ext_type, unsigned int context,
                      const unsigned char **out, size_t *outlen, X509 *x, size_t chainidx, int *al,
                      void *add_arg)
{
    const opts *o = add_arg;
    (void)s, (void)ext_type, (void)context, (void)x, (void)chainidx, (void)al;
    *out = g_ext;
    *outlen = o->ext_size;
    return 1;
}

static int bigext_parse(SSL *s, unsigned int ext_type, unsigned int context,
                        const unsigned char *in, size_t inlen, X509 *x, size_t chainidx, int *al,
                        void *parse_arg)
{
    (void)s, (void)ext_type, (void)context, (void)in, (void)inlen, (void)x, (void)chainidx;
    (void)al, (void)parse_arg;
    return 1;
}

static SSL_CTX *make_ctx(const opts *o)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    /* Each connection is a full handshake: no tickets to resume. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    if (o->mode == M_KEYUPDATE) {
        SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    }
    if (o->mode == M_RENEGOTIATE) {
        SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    }
    if (o->mode == M_BIGEXT) {
        g_ext = malloc(o->ext_size);
        if (g_ext == NULL) {
            SSL_CTX_free(ctx);
            return NULL;
        }
        for (size_t i = 0; i < o->ext_size; i++) {
            g_ext[i] = (unsigned char)(i * 7);
        }
        if (SSL_CTX_add_custom_ext(ctx, BIGEXT_TYPE, SSL_EXT_CLIENT_HELLO, bigext_add, NULL,
                                   (void *)o, bigext_parse, NULL) != 1) {
            fprintf(stderr, "tls_attack: cannot add the custom extension\n");
            SSL_CTX_free(ctx);
            return NULL;
        }
    }
    SSL_CTX_set_info_callback(ctx, info_cb);
    return ctx;
}

static int tcp_connect(int port, int rcvbuf, char *err, size_t errlen)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    /* Before connect, so the window announced in the SYN is already small. */
    if (rcvbuf > 0) {
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    }
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        snprintf(err, errlen, "connect 127.0.0.1:%d: %s", port, strerror(errno));
        close(fd);
        return -1;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* Wait for the socket to be ready for `events` until `deadline`. Returns
 * 1 ready (or in error: the next SSL call tells), 0 at the deadline. */
static int wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            return 0;
        }
        struct pollfd p = {fd, events, 0};
        int n = poll(&p, 1, left > 100 ? 100 : (int)left);
        if (n > 0) {
            return 1;
        }
        if (n < 0 && errno != EINTR) {
            return 1;
        }
    }
}

/* Name how a failed SSL call ended the connection into r->end; returns 1
 * when the connection is over, 0 when the call only wants I/O. */
static int classify(SSL *ssl, int rc, conn_result *r)
{
    int e = SSL_get_error(ssl, rc);
    int saved = errno;
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        return 0;
    }
    if (e == SSL_ERROR_ZERO_RETURN) {
        snprintf(r->end, sizeof r->end, "close_notify");
    } else if (g_alert[0] != '\0') {
        snprintf(r->end, sizeof r->end, "alert:%s", g_alert);
    } else if (e == SSL_ERROR_SYSCALL && (saved == ECONNRESET || saved == EPIPE)) {
        snprintf(r->end, sizeof r->end, "reset");
    } else if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && saved != 0) {
        snprintf(r->end, sizeof r->end, "error:%s", strerror(saved));
    } else if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
        snprintf(r->end, sizeof r->end, "eof");
    } else {
        unsigned long code = ERR_peek_last_error();
        const char *why = ERR_reason_error_string(code);
        if (code != 0 && ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            snprintf(r->end, sizeof r->end, "eof");
        } else {
            snprintf(r->end, sizeof r->end, "error:%s", why != NULL ? why : "ssl error");
        }
    }
    ERR_clear_error();
    /* One word per outcome, so the summary line splits on spaces. */
    for (char *p = r->end; *p != '\0'; p++) {
        if (*p == ' ') {
            *p = '_';
        }
    }
    return 1;
}

/* Drive a call that may want I/O until it succeeds, the connection ends
 * or the deadline passes. Returns 1 done, 0 connection over, -1 deadline. */
static int drive(SSL *ssl, int fd, int (*call)(SSL *), long long deadline, conn_result *r)
{
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int rc = call(ssl);
        if (rc == 1) {
            return 1;
        }
        if (classify(ssl, rc, r)) {
            return 0;
        }
        short ev = SSL_get_error(ssl, rc) == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
        if (!wait_fd(fd, ev, deadline)) {
            return -1;
        }
    }
}

/* Read whatever is there without waiting; returns 1 when the connection
 * ended (r->end says how). */
static int drain_reads(SSL *ssl, conn_result *r)
{
    unsigned char buf[16384];
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int n = SSL_read(ssl, buf, sizeof buf);
        if (n > 0) {
            r->bytes_read += (unsigned long long)n;
            continue;
        }
        return classify(ssl, n, r);
    }
}

/* Write all of buf (the echo round trips of renegotiate and bigext). */
static int write_all(SSL *ssl, int fd, const char *buf, int len, long long deadline, conn_result *r)
{
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int n = SSL_write(ssl, buf, len);
        if (n == len) {
            return 1;
        }
        if (classify(ssl, n, r)) {
            return 0;
        }
        short ev = SSL_get_error(ssl, n) == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
        if (!wait_fd(fd, ev, deadline)) {
            return -1;
        }
    }
}

/* Read until `want` bytes arrived; returns 1, 0 (ended) or -1 (deadline). */
static int read_exact(SSL *ssl, int fd, char *buf, int want, long long deadline, conn_result *r)
{
    int got = 0;
    while (got < want) {
        ERR_clear_error();
        errno = 0;
        int n = SSL_read(ssl, buf + got, want - got);
        if (n > 0) {
            got += n;
            r->bytes_read += (unsigned long long)n;
            continue;
        }
        if (classify(ssl, n, r)) {
            return 0;
        }
        if (!wait_fd(fd, POLLIN, deadline)) {
            return -1;
        }
    }
    return 1;
}

/* keyupdate and tiny: records back to back until the server ends the
 * connection or the deadline. In keyupdate mode each record is a
 * KeyUpdate(update_requested) (followed by a 1-byte application record
 * with --with-data); in tiny mode each is a 1-byte application record. */
static void storm(SSL *ssl, int fd, const opts *o, long long deadline, conn_result *r)
{
    int pending = 0; /* an SSL call to retry (the same one, same arguments) */
    int data_next = 0;
    for (;;) {
        if (now_ms() >= deadline) {
            snprintf(r->end, sizeof r->end, "deadline");
            return;
        }
        int n;
        ERR_clear_error();
        if (o->mode == M_KEYUPDATE && !data_next) {
            if (!pending && SSL_key_update(ssl, SSL_KEY_UPDATE_REQUESTED) != 1) {
                unsigned long code = ERR_peek_last_error();
                snprintf(r->end, sizeof r->end, "error:SSL_key_update:%s",
                         code != 0 ? ERR_reason_error_string(code) : "failed");
                ERR_clear_error();
                return;
            }
            errno = 0;
            n = SSL_do_handshake(ssl);
            if (n == 1) {
                r->key_updates++;
                r->records++;
                data_next = o->with_data;
            }
        } else {
            errno = 0;
            n = SSL_write(ssl, "k", 1);
            if (n == 1) {
                r->records++;
                data_next = 0;
            }
        }
        if (n == 1) {
            pending = 0;
            if (o->read && (r->records & 63) == 0 && drain_reads(ssl, r)) {
                return;
            }
            continue;
        }
        if (classify(ssl, n, r)) {
            return;
        }
        pending = 1;
        short ev = SSL_get_error(ssl, n) == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        if (o->read) {
            if (drain_reads(ssl, r)) {
                return;
            }
            ev |= POLLIN;
        }
        (void)wait_fd(fd, ev, deadline);
    }
}

/* renegotiate: an echo round trip in TLS 1.2, then a renegotiation
 * request; read until the server ends the connection. */
static void renegotiate(SSL *ssl, int fd, long long deadline, conn_result *r)
{
    char buf[64];
    static const char msg[] = "before renegotiation\n";
    int len = (int)sizeof msg - 1;
    int rc = write_all(ssl, fd, msg, len, deadline, r);
    if (rc == 1) {
        rc = read_exact(ssl, fd, buf, len, deadline, r);
    }
    if (rc != 1) {
        if (rc < 0) {
            snprintf(r->end, sizeof r->end, "deadline");
        }
        return;
    }
    if (SSL_version(ssl) != TLS1_2_VERSION) {
        snprintf(r->end, sizeof r->end, "error:negotiated %s, not TLSv1.2", SSL_get_version(ssl));
        return;
    }
    if (SSL_renegotiate(ssl) != 1) {
        snprintf(r->end, sizeof r->end, "error:SSL_renegotiate refused locally");
        ERR_clear_error();
        return;
    }
    r->records++;
    rc = drive(ssl, fd, SSL_do_handshake, deadline, r);
    if (rc == 1) {
        /* The server renegotiated: report it, then read to the end. */
        fprintf(stdout, "renegotiated=1\n");
        for (;;) {
            if (drain_reads(ssl, r)) {
                return;
            }
            if (!wait_fd(fd, POLLIN, deadline)) {
                snprintf(r->end, sizeof r->end, "deadline");
                return;
            }
        }
    }
    if (rc < 0) {
        snprintf(r->end, sizeof r->end, "deadline");
    }
}

/* bigext: the handshake already carried the extension; an echo round
 * trip, then our close_notify and the server's. */
static void bigext(SSL *ssl, int fd, long long deadline, conn_result *r)
{
    char buf[64];
    static const char msg[] = "after a big ClientHello\n";
    int len = (int)sizeof msg - 1;
    int rc = write_all(ssl, fd, msg, len, deadline, r);
    if (rc == 1) {
        rc = read_exact(ssl, fd, buf, len, deadline, r);
    }
    if (rc == 1 && memcmp(buf, msg, (size_t)len) != 0) {
        snprintf(r->end, sizeof r->end, "error:echo mismatch");
        return;
    }
    if (rc == 1) {
        r->records++;
        (void)SSL_shutdown(ssl);
        for (;;) {
            if (drain_reads(ssl, r)) {
                return;
            }
            if (!wait_fd(fd, POLLIN, deadline)) {
                snprintf(r->end, sizeof r->end, "deadline");
                return;
            }
        }
    }
    if (rc < 0) {
        snprintf(r->end, sizeof r->end, "deadline");
    }
}

/* One connection. Returns 0, or -1 when it could not even start. */
static int one_conn(SSL_CTX *ctx, const opts *o, long long deadline, conn_result *r, char *err,
                    size_t errlen)
{
    memset(r, 0, sizeof *r);
    g_alert[0] = '\0';
    long long start = now_ms();
    int fd = tcp_connect(o->port, o->rcvbuf, err, errlen);
    if (fd < 0) {
        return -1;
    }
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL) {
        snprintf(err, errlen, "SSL_new failed");
        close(fd);
        return -1;
    }
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, "localhost");
    int rc = drive(ssl, fd, SSL_connect, deadline, r);
    if (rc == 1) {
        switch (o->mode) {
        case M_KEYUPDATE:
        case M_TINY:
            storm(ssl, fd, o, deadline, r);
            break;
        case M_RENEGOTIATE:
            renegotiate(ssl, fd, deadline, r);
            break;
        case M_BIGEXT:
            bigext(ssl, fd, deadline, r);
            break;
        }
    } else if (rc < 0) {
        snprintf(r->end, sizeof r->end, "handshake_deadline");
    } else {
        char was[120];
        snprintf(was, sizeof was, "%.119s", r->end);
        snprintf(r->end, sizeof r->end, "handshake_%s", was);
    }
    r->ms = now_ms() - start;
    SSL_free(ssl);
    close(fd);
    return 0;
}

static void add_total(totals *t, const conn_result *r)
{
    t->conns++;
    t->records += r->records;
    t->key_updates += r->key_updates;
    t->bytes_read += r->bytes_read;
    if (r->ms > t->max_ms) {
        t->max_ms = r->ms;
    }
    for (int i = 0; i < t->nends; i++) {
        if (strcmp(t->ends[i], r->end) == 0) {
            t->end_counts[i]++;
            return;
        }
    }
    int i = t->nends < MAX_ENDS ? t->nends++ : MAX_ENDS - 1;
    snprintf(t->ends[i], sizeof t->ends[i], "%s", r->end);
    t->end_counts[i]++;
}

static int parse_args(int argc, char **argv, opts *o)
{
    static const char *const names[] = {"keyupdate", "tiny", "renegotiate", "bigext"};
    memset(o, 0, sizeof *o);
    o->seconds = 3;
    o->ext_size = 16384;
    if (argc < 3) {
        return -1;
    }
    int found = 0;
    for (int i = 0; i < 4; i++) {
        if (strcmp(argv[1], names[i]) == 0) {
            o->mode = (enum mode)i;
            found = 1;
        }
    }
    char *end = NULL;
    o->port = (int)strtol(argv[2], &end, 10);
    if (!found || *end != '\0' || o->port <= 0 || o->port > 65535) {
        return -1;
    }
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--read") == 0) {
            o->read = 1;
        } else if (strcmp(argv[i], "--reconnect") == 0) {
            o->reconnect = 1;
        } else if (strcmp(argv[i], "--with-data") == 0) {
            o->with_data = 1;
        } else if (strcmp(argv[i], "--rcvbuf") == 0 && i + 1 < argc) {
            o->rcvbuf = (int)strtol(argv[++i], &end, 10);
            if (*end != '\0' || o->rcvbuf <= 0) {
                return -1;
            }
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            o->seconds = strtod(argv[++i], &end);
            if (*end != '\0' || o->seconds <= 0) {
                return -1;
            }
        } else if (strcmp(argv[i], "--ext-size") == 0 && i + 1 < argc) {
            o->ext_size = (size_t)strtoul(argv[++i], &end, 10);
            if (*end != '\0' || o->ext_size == 0 || o->ext_size > 65535) {
                return -1;
            }
        } else {
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    opts o;
    if (parse_args(argc, argv, &o) != 0) {
        usage();
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    SSL_CTX *ctx = make_ctx(&o);
    if (ctx == NULL) {
        fprintf(stderr, "tls_attack: cannot make the TLS context\n");
        return 1;
    }
    long long deadline = now_ms() + (long long)(o.seconds * 1000);
    totals t;
    memset(&t, 0, sizeof t);
    int status = 0;
    do {
        conn_result r;
        char err[256] = "";
        if (one_conn(ctx, &o, deadline, &r, err, sizeof err) != 0) {
            fprintf(stderr, "tls_attack: %s\n", err);
            status = 1;
            break;
        }
        if (t.conns < 5) {
            printf("conn=%llu records=%llu key_updates=%llu bytes_read=%llu ms=%lld end=%s\n",
                   t.conns + 1, r.records, r.key_updates, r.bytes_read, r.ms, r.end);
        }
        add_total(&t, &r);
        if (t.conns == 1 && strncmp(r.end, "handshake_", 10) == 0) {
            fprintf(stderr, "tls_attack: the first handshake failed: %s\n", r.end + 10);
            status = 1;
            break;
        }
    } while (o.reconnect && now_ms() < deadline);
    printf("total conns=%llu records=%llu key_updates=%llu bytes_read=%llu ends=", t.conns,
           t.records, t.key_updates, t.bytes_read);
    for (int i = 0; i < t.nends; i++) {
        printf("%s%s:%llu", i ? "," : "", t.ends[i], t.end_counts[i]);
    }
    printf(" max_ms=%lld\n", t.max_ms);
    SSL_CTX_free(ctx);
    free(g_ext);
    return status;
}
