/*
 * test_runtime_proxy_protocol.c - the PROXY protocol in the runtime.
 *
 * Sending: a proxy whose backend_proxy_protocol is v1 or v2 starts each
 * backend connection with the header, before the client's first byte: an
 * in-test backend parses it and finds the client's address and port, the
 * listener's, and (v2) the SNI as authority, the TLS version and cipher
 * the connection negotiated, and the client certificate's CN with the
 * flags and verify result of a verified certificate; the client's bytes
 * follow intact.
 *
 * Accepting: a listener with proxy_protocol reads a v1 or v2 header from
 * the first client bytes (TLS and plaintext listeners); its source stands
 * for the client in the record and in the header passed on to a backend;
 * a LOCAL header keeps the socket's address. A client that sends no
 * header, a truncated one, an oversized one, a line without CRLF, or
 * stops halfway (the handshake timeout) is cut, with a record saying
 * why.
 */
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memtls/proxy.h>

#include "rt_fixture.h"

/* A backend that reads a PROXY header, keeps it, and echoes the rest. */
typedef struct pp_backend {
    int lfd;
    uint16_t port;
    pthread_t thread;
    int status; /* memtls_proxy_parse's answer (-1: no bytes) */
    memtls_proxy_header h;
    uint8_t buf[8192]; /* the bytes the header was parsed from (h points here) */
    size_t len;
} pp_backend;

static int send_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void *backend_main(void *arg)
{
    pp_backend *b = arg;
    int fd = accept(b->lfd, NULL, NULL);
    if (fd < 0) {
        return NULL;
    }
    size_t used = 0;
    b->status = -1;
    while (b->len < sizeof b->buf) {
        ssize_t n = recv(fd, b->buf + b->len, sizeof b->buf - b->len, 0);
        if (n <= 0) {
            break;
        }
        b->len += (size_t)n;
        b->status = memtls_proxy_parse(b->buf, b->len, 0, &b->h, &used);
        if (b->status != MEMTLS_WANT_READ) {
            break;
        }
    }
    if (b->status == MEMTLS_OK && send_all(fd, b->buf + used, b->len - used) == 0) {
        uint8_t buf[16384];
        for (;;) {
            ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n <= 0 || send_all(fd, buf, (size_t)n) != 0) {
                break;
            }
        }
    }
    shutdown(fd, SHUT_WR);
    close(fd);
    return NULL;
}

/* The backend's thread starts after the server (see rt_start). */
static void backend_go(pp_backend *b)
{
    assert_int_equal(pthread_create(&b->thread, NULL, backend_main, b), 0);
}

static void backend_start(rt_fixture *f, pp_backend *b, memtls_proxy_version v)
{
    memset(b, 0, sizeof *b);
    b->lfd = rc_listen(&b->port);
    f->opts.app = MEMTLS_APP_PROXY;
    f->opts.backend_host = "127.0.0.1";
    f->opts.backend_port = b->port;
    f->opts.backend_proxy_protocol = v;
}

static void backend_join(pp_backend *b)
{
    pthread_join(b->thread, NULL);
    close(b->lfd);
}

static void assert_addr(const struct sockaddr_storage *ss, const char *want)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    char text[80];
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        snprintf(text, sizeof text, "%s:%u", ip, ntohs(a->sin_port));
    } else {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        snprintf(text, sizeof text, "[%s]:%u", ip, ntohs(a->sin6_port));
    }
    assert_string_equal(text, want);
}

static void assert_value(memtls_proxy_value v, const char *want)
{
    if (v.data == NULL || v.len != strlen(want) || memcmp(v.data, want, v.len) != 0) {
        print_error("TLV '%.*s', wanted '%s'\n", (int)v.len, v.data ? (const char *)v.data : "",
                    want);
        fail();
    }
}

static unsigned local_port(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    return ntohs(a.sin_port);
}

/* Test: version 1 to the backend: the client's address and the
 * listener's, then the client's bytes. */
static void test_send_v1(void **state)
{
    rt_fixture *f = *state;
    pp_backend b;
    backend_start(f, &b, MEMTLS_PROXY_V1);
    rt_start(f);
    backend_go(&b);
    rc_conn *c = rt_connect(f, (rc_how){0});
    char want_src[32], want_dst[32];
    snprintf(want_src, sizeof want_src, "127.0.0.1:%u", local_port(c->fd));
    snprintf(want_dst, sizeof want_dst, "127.0.0.1:%u", f->port);
    assert_int_equal(rc_echo(c, 7, 100000, TEST_TIMEOUT_MS), 0);
    assert_int_equal(rc_close(c, TEST_TIMEOUT_MS), 0);
    rc_free(c);
    rt_finish(f, 1);
    backend_join(&b);
    assert_int_equal(b.status, MEMTLS_OK);
    assert_int_equal(b.h.version, 1);
    assert_addr(&b.h.src, want_src);
    assert_addr(&b.h.dst, want_dst);
}

/* Test: version 2 to the backend: addresses, SNI as authority, the TLS
 * block with version and cipher; without a client certificate the
 * verify field is not 0 and no CN is sent. Plaintext listeners send the
 * addresses only. */
static void test_send_v2(void **state)
{
    rt_fixture *f = *state;
    pp_backend b;
    backend_start(f, &b, MEMTLS_PROXY_V2);
    rt_start(f);
    backend_go(&b);
    rc_conn *c = rt_connect(f, (rc_how){.sni = "localhost"});
    char want_src[32];
    snprintf(want_src, sizeof want_src, "127.0.0.1:%u", local_port(c->fd));
    char version[32] = "";
    char cipher[64] = "";
    if (c->ssl != NULL) {
        snprintf(version, sizeof version, "%s", SSL_get_version(c->ssl));
        snprintf(cipher, sizeof cipher, "%s", SSL_get_cipher_name(c->ssl));
    }
    assert_int_equal(rc_echo(c, 8, 70000, TEST_TIMEOUT_MS), 0);
    assert_int_equal(rc_close(c, TEST_TIMEOUT_MS), 0);
    rc_free(c);
    rt_finish(f, 1);
    backend_join(&b);
    assert_int_equal(b.status, MEMTLS_OK);
    assert_int_equal(b.h.version, 2);
    assert_int_equal(b.h.local, 0);
    assert_addr(&b.h.src, want_src);
    if (rt_plaintext(f)) {
        assert_int_equal(b.h.ssl, 0);
        assert_null(b.h.authority.data);
        return;
    }
    assert_value(b.h.authority, "localhost");
    assert_int_equal(b.h.ssl, 1);
    assert_int_equal(b.h.ssl_client, MEMTLS_PP2_CLIENT_SSL);
    assert_int_not_equal(b.h.ssl_verify, 0);
    assert_value(b.h.ssl_version, version);
    assert_value(b.h.ssl_cipher, cipher);
    assert_null(b.h.ssl_cn.data);
    assert_null(b.h.alpn.data);
    /* The record says which certificate answered; nothing was resumed. */
    assert_int_equal(f->log.cert_index[0], 0);
    assert_string_equal(f->log.cert_subjects[0], "CN=localhost");
    assert_int_equal(f->log.resumed[0], 0);
}

/* Test: a verified client certificate: the client bits say it came on
 * this connection, verify is 0, and its CN is sent. */
static void test_send_v2_client_cert(void **state)
{
    rt_fixture *f = *state;
    pp_backend b;
    backend_start(f, &b, MEMTLS_PROXY_V2);
    rt_start(f);
    backend_go(&b);
    rc_conn *c = rt_connect(f, (rc_how){.cert = &f->pki.client});
    assert_int_equal(rc_echo(c, 9, 1000, TEST_TIMEOUT_MS), 0);
    assert_int_equal(rc_close(c, TEST_TIMEOUT_MS), 0);
    rc_free(c);
    rt_finish(f, 1);
    backend_join(&b);
    assert_int_equal(b.status, MEMTLS_OK);
    assert_int_equal(b.h.ssl_client, MEMTLS_PP2_CLIENT_SSL | MEMTLS_PP2_CLIENT_CERT_CONN |
                                         MEMTLS_PP2_CLIENT_CERT_SESS);
    assert_int_equal(b.h.ssl_verify, 0);
    assert_value(b.h.ssl_cn, "client.test");
}

/* A version 2 header from an IPv6 client. */
static size_t v2_header(uint8_t *buf, size_t len, const char *src, unsigned sport, const char *dst,
                        unsigned dport)
{
    struct sockaddr_in6 s, d;
    memset(&s, 0, sizeof s);
    memset(&d, 0, sizeof d);
    s.sin6_family = d.sin6_family = AF_INET6;
    inet_pton(AF_INET6, src, &s.sin6_addr);
    inet_pton(AF_INET6, dst, &d.sin6_addr);
    s.sin6_port = htons((uint16_t)sport);
    d.sin6_port = htons((uint16_t)dport);
    memtls_proxy_info info = {0};
    info.src = (struct sockaddr *)&s;
    info.dst = (struct sockaddr *)&d;
    info.authority = "ignored.test";
    size_t out = 0;
    assert_int_equal(memtls_proxy_build(2, &info, buf, len, &out), 0);
    return out;
}

/* Test: a listener that accepts PROXY headers: v1 and v2 sources stand
 * for the client in the record; a LOCAL header keeps the socket's
 * address; data flows as without a header. */
static void test_accept(void **state)
{
    rt_fixture *f = *state;
    f->listeners[0].proxy_protocol = 1;
    rt_start(f);
    const char *v1 = "PROXY TCP4 203.0.113.7 198.51.100.1 40000 443\r\n";
    rc_conn *c = rt_connect(f, (rc_how){.preamble = v1, .preamble_len = strlen(v1)});
    assert_int_equal(rc_echo(c, 1, 50000, TEST_TIMEOUT_MS), 0);
    assert_int_equal(rc_close(c, TEST_TIMEOUT_MS), 0);
    rc_free(c);

    uint8_t hdr[128];
    size_t n = v2_header(hdr, sizeof hdr, "2001:db8::7", 40001, "2001:db8::1", 443);
    c = rt_connect(f, (rc_how){.preamble = hdr, .preamble_len = n});
    assert_int_equal(rc_echo(c, 2, 1000, TEST_TIMEOUT_MS), 0);
    assert_int_equal(rc_close(c, TEST_TIMEOUT_MS), 0);
    rc_free(c);

    memtls_proxy_info local = {0};
    assert_int_equal(memtls_proxy_build(2, &local, hdr, sizeof hdr, &n), 0);
    c = rt_connect(f, (rc_how){.preamble = hdr, .preamble_len = n});
    assert_int_equal(rc_echo(c, 3, 1000, TEST_TIMEOUT_MS), 0);
    assert_int_equal(rc_close(c, TEST_TIMEOUT_MS), 0);
    rc_free(c);

    rt_finish(f, 3);
    assert_true(rc_log_has_peer(&f->log, "203.0.113.7:40000"));
    assert_true(rc_log_has_peer(&f->log, "[2001:db8::7]:40001"));
    assert_true(rc_log_has_peer(&f->log, "127.0.0.1:"));
    assert_int_equal(f->log.clean, 3);
}

/* Raw bytes on a plain socket, then wait for the server to cut it (EOF
 * or reset) within the deadline; returns how long that took (ms). */
static uint64_t send_and_wait_cut(rt_fixture *f, const void *p, size_t n, int half_close)
{
    int fd = rc_tcp_connect(f->port);
    assert_true(fd >= 0);
    uint64_t t0 = rc_now_ms();
    if (n > 0) {
        assert_int_equal(send_all(fd, p, n), 0);
    }
    if (half_close) {
        shutdown(fd, SHUT_WR);
    }
    (void)rc_fd_wait_eof(fd, NULL, TEST_TIMEOUT_MS); /* EOF or reset: both are a cut */
    uint64_t took = rc_now_ms() - t0;
    assert_true(took < TEST_TIMEOUT_MS);
    close(fd);
    return took;
}

/* Test: what a PROXY listener refuses, each with its reason in the
 * record: no header (a TLS ClientHello or plaintext first), a truncated
 * header then EOF, a v2 header announcing more than 4096 bytes, a v1
 * line without CRLF, and half a header then silence (cut by the
 * handshake timeout). Nothing crashes and the next client is served. */
static void test_accept_refused(void **state)
{
    rt_fixture *f = *state;
    f->listeners[0].proxy_protocol = 1;
    f->opts.handshake_timeout_ms = 400;
    rt_start(f);

    rc_conn *c;
    if (rt_plaintext(f)) {
        /* A plaintext client's first bytes are not a header either. */
        send_and_wait_cut(f, "hello\n", 6, 0);
    } else {
        int ok = 1;
        c = rt_try_connect(f, (rc_how){.timeout_ms = 3000}, &ok);
        assert_false(ok);
        rc_free(c);
    }

    send_and_wait_cut(f, "PROXY TCP4 1.2.3.4", 18, 1);
    uint8_t big[16];
    static const uint8_t sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                    0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    memcpy(big, sig, 12);
    big[12] = 0x21;
    big[13] = 0x11;
    big[14] = 0xFF;
    big[15] = 0xFF;
    send_and_wait_cut(f, big, sizeof big, 0);
    char line[200];
    memset(line, 'a', sizeof line);
    memcpy(line, "PROXY UNKNOWN ", 14);
    send_and_wait_cut(f, line, sizeof line, 0);
    uint64_t took = send_and_wait_cut(f, "PROXY TCP4 1.2.3.4 5.6", 22, 0);
    assert_true(took >= 300);

    /* Still serving. */
    const char *v1 = "PROXY TCP4 192.0.2.55 192.0.2.1 1234 443\r\n";
    c = rt_connect(f, (rc_how){.preamble = v1, .preamble_len = strlen(v1)});
    assert_int_equal(rc_echo(c, 4, 1000, TEST_TIMEOUT_MS), 0);
    assert_int_equal(rc_close(c, TEST_TIMEOUT_MS), 0);
    rc_free(c);

    rt_finish(f, 6);
    assert_true(rc_log_has(&f->log, "PROXY header refused: not a PROXY protocol header"));
    assert_true(rc_log_has(&f->log, "PROXY header refused: end of stream after 18 bytes"));
    assert_true(rc_log_has(&f->log, "PROXY header refused: v2: header of 65551 bytes exceeds "
                                    "the limit of 4096"));
    assert_true(rc_log_has(&f->log, "PROXY header refused: v1: no CRLF in the first 107 bytes"));
    assert_true(rc_log_has(&f->log, "PROXY header refused: not complete within the handshake"));
    assert_true(rc_log_has_peer(&f->log, "192.0.2.55:1234"));
    assert_int_equal(f->log.clean, 1);
}

/* Test: chained balancers: the source and destination of the header the
 * listener accepted are what the backend's header carries. */
static void test_accept_and_send(void **state)
{
    rt_fixture *f = *state;
    f->listeners[0].proxy_protocol = 1;
    pp_backend b;
    backend_start(f, &b, MEMTLS_PROXY_V2);
    rt_start(f);
    backend_go(&b);
    const char *v1 = "PROXY TCP4 203.0.113.9 198.51.100.20 5555 8443\r\n";
    rc_conn *c = rt_connect(f, (rc_how){.preamble = v1, .preamble_len = strlen(v1)});
    assert_int_equal(rc_echo(c, 5, 1000, TEST_TIMEOUT_MS), 0);
    assert_int_equal(rc_close(c, TEST_TIMEOUT_MS), 0);
    rc_free(c);
    rt_finish(f, 1);
    backend_join(&b);
    assert_int_equal(b.status, MEMTLS_OK);
    assert_addr(&b.h.src, "203.0.113.9:5555");
    assert_addr(&b.h.dst, "198.51.100.20:8443");
}

/* Test: backend_proxy_protocol is checked: proxy mode only, v1 or v2. */
static void test_options(void **state)
{
    rt_fixture *f = *state;
    char err[256] = "";
    f->opts.backend_proxy_protocol = MEMTLS_PROXY_V2;
    assert_null(memtls_server_new(&f->opts, err, sizeof err));
    assert_non_null(strstr(err, "backend_proxy_protocol"));
    f->opts.app = MEMTLS_APP_PROXY;
    f->opts.backend_host = "127.0.0.1";
    f->opts.backend_port = 9;
    f->opts.backend_proxy_protocol = (memtls_proxy_version)3;
    assert_null(memtls_server_new(&f->opts, err, sizeof err));
    assert_non_null(strstr(err, "backend_proxy_protocol: 3"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_send_v1, rt_setup),
        RT_TEST(test_send_v2, rt_setup),
        RT_TEST(test_send_v2, rt_setup_plaintext),
        RT_TEST(test_send_v2_client_cert, rt_setup_client_certs),
        RT_TEST(test_accept, rt_setup),
        RT_TEST(test_accept, rt_setup_plaintext),
        RT_TEST(test_accept_refused, rt_setup),
        RT_TEST(test_accept_refused, rt_setup_plaintext),
        RT_TEST(test_accept_and_send, rt_setup),
        RT_TEST(test_options, rt_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
