/*
 * test_runtime_proxy.c - proxy mode: TLS clients reach an in-test
 * plaintext TCP backend (an echo server on 127.0.0.1) through the host,
 * which opens the backend connection when the worker asks. Data flows
 * both ways intact with small rings; a backend that refuses connections
 * closes the client's connection with a logged reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime_client.h"

#define CLIENTS 4

typedef struct backend {
    int lfd;
    uint16_t port;
    int accepts;
    pthread_t thread;
} backend;

static void *echo_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[16384];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            break;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
            if (w <= 0) {
                goto out;
            }
            off += w;
        }
    }
out:
    shutdown(fd, SHUT_WR);
    close(fd);
    return NULL;
}

/* Accept `accepts` connections, each echoed by its own thread. */
static void *backend_main(void *arg)
{
    backend *b = arg;
    pthread_t th[CLIENTS];
    int n = 0;
    for (; n < b->accepts; n++) {
        int fd = accept(b->lfd, NULL, NULL);
        if (fd < 0) {
            break;
        }
        pthread_create(&th[n], NULL, echo_conn, (void *)(intptr_t)fd);
    }
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
    }
    return NULL;
}

static void backend_start(backend *b, int accepts)
{
    b->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(b->lfd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(b->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(b->lfd, 16), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(b->lfd, (struct sockaddr *)&a, &len), 0);
    b->port = ntohs(a.sin_port);
    b->accepts = accepts;
    assert_int_equal(pthread_create(&b->thread, NULL, backend_main, b), 0);
}

typedef struct job {
    uint16_t port;
    const rc_pki *pki;
    unsigned index;
    int result;
} job;

static void *client_main(void *arg)
{
    job *j = arg;
    rc_conn c;
    j->result = -1;
    if (rc_connect(&c, j->port, 1, j->pki, 0, 20000) == 0 &&
        rc_echo(&c, 300 + j->index, 2u * 1024 * 1024, 60000) == 0 && rc_close(&c, 20000) == 0) {
        j->result = 0;
    }
    rc_free(&c);
    return NULL;
}

/* Test: 4 TLS clients through the proxy to a plaintext echo backend. */
static void test_proxy_echo_backend(void **state)
{
    (void)state;
    rc_pki pki;
    rc_pki_make(&pki);
    memtls_config *cfg = rc_server_config(&pki, MEMTLS_VERIFY_NONE);
    backend be;
    backend_start(&be, CLIENTS);
    rc_log log;
    rc_log_init(&log);
    memtls_server_opts o;
    memtls_listener_opts l;
    rc_opts_default(&o, &l, 0, cfg, &log);
    o.app = MEMTLS_APP_PROXY;
    o.backend_host = "127.0.0.1";
    o.backend_port = be.port;
    o.ring_capacity = 4096;
    o.write_window = 16 * 1024;
    char err[256];
    memtls_server *srv = memtls_server_new(&o, err, sizeof err);
    assert_non_null(srv);
    assert_int_equal(memtls_server_start(srv), 0);
    uint16_t port = memtls_server_bound_port(srv, 0);

    pthread_t th[CLIENTS];
    job jobs[CLIENTS];
    for (unsigned i = 0; i < CLIENTS; i++) {
        jobs[i] = (job){port, &pki, i, -1};
        assert_int_equal(pthread_create(&th[i], NULL, client_main, &jobs[i]), 0);
    }
    for (unsigned i = 0; i < CLIENTS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(jobs[i].result, 0);
    }
    assert_int_equal(rc_wait_open(srv, 0, 10000), 0);
    memtls_server_stats st;
    assert_int_equal(memtls_server_get_stats(srv, &st), 0);
    assert_true(st.backend_out >= CLIENTS * 2u * 1024 * 1024);
    assert_true(st.backend_in >= CLIENTS * 2u * 1024 * 1024);
    memtls_server_stop(srv, 1000);
    pthread_join(be.thread, NULL);
    close(be.lfd);
    assert_int_equal(rc_log_count(&log), CLIENTS);
    memtls_server_free(srv);
    memtls_config_free(cfg);
    rc_log_destroy(&log);
    rc_pki_free(&pki);
}

/* Test: no backend listening: the client's connection is closed
 * (close_notify) and the reason names the backend failure. */
static void test_proxy_backend_down(void **state)
{
    (void)state;
    rc_pki pki;
    rc_pki_make(&pki);
    memtls_config *cfg = rc_server_config(&pki, MEMTLS_VERIFY_NONE);
    /* A port that was free a moment ago and has no listener now. */
    backend be;
    be.lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(be.lfd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(be.lfd, (struct sockaddr *)&a, &len), 0);
    close(be.lfd);

    rc_log log;
    rc_log_init(&log);
    memtls_server_opts o;
    memtls_listener_opts l;
    rc_opts_default(&o, &l, 0, cfg, &log);
    o.app = MEMTLS_APP_PROXY;
    o.backend_host = "127.0.0.1";
    o.backend_port = ntohs(a.sin_port);
    char err[256];
    memtls_server *srv = memtls_server_new(&o, err, sizeof err);
    assert_non_null(srv);
    assert_int_equal(memtls_server_start(srv), 0);
    rc_conn c;
    assert_int_equal(rc_connect(&c, memtls_server_bound_port(srv, 0), 1, &pki, 0, 10000), 0);
    /* The server closes: the echo ends early (rc_echo prints why). */
    assert_int_not_equal(rc_echo(&c, 1, 100, 10000), 0);
    rc_free(&c);
    assert_int_equal(rc_wait_open(srv, 0, 10000), 0);
    memtls_server_stop(srv, 1000);
    assert_true(rc_log_has(&log, "backend connect failed"));
    memtls_server_free(srv);
    memtls_config_free(cfg);
    rc_log_destroy(&log);
    rc_pki_free(&pki);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proxy_echo_backend),
        cmocka_unit_test(test_proxy_backend_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
