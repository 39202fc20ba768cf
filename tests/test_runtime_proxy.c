/*
 * test_runtime_proxy.c - proxy mode: TLS clients reach an in-test
 * plaintext TCP backend (an echo server on 127.0.0.1) through the host,
 * which opens the backend connection when the worker asks. Data flows
 * both ways intact with small rings; a backend that refuses connections
 * closes the client's connection with a logged reason.
 */
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rt_fixture.h"

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

/* Proxy to 127.0.0.1:`port`. */
static void use_backend(rt_fixture *f, uint16_t port)
{
    f->opts.app = MEMTLS_APP_PROXY;
    f->opts.backend_host = "127.0.0.1";
    f->opts.backend_port = port;
}

/* Test: 4 TLS clients through the proxy to a plaintext echo backend. */
static void test_proxy_echo_backend(void **state)
{
    rt_fixture *f = *state;
    backend be = {.accepts = CLIENTS};
    be.lfd = rc_listen(&be.port);
    use_backend(f, be.port);
    f->opts.ring_capacity = 4096;
    f->opts.write_window = 16 * 1024;
    rt_start(f); /* before the backend's thread: see rt_start */
    assert_int_equal(pthread_create(&be.thread, NULL, backend_main, &be), 0);

    rc_how how = {.port = f->port, .ca = &f->pki.ca, .timeout_ms = 20000};
    unsigned failed = rc_echo_clients(&how, CLIENTS, 300, 2u * 1024 * 1024, 0, 60000);
    rt_finish(f, CLIENTS);
    pthread_join(be.thread, NULL);
    close(be.lfd);
    assert_int_equal(failed, 0);
    assert_true(f->stats.backend_out >= CLIENTS * 2u * 1024 * 1024);
    assert_true(f->stats.backend_in >= CLIENTS * 2u * 1024 * 1024);
}

/* Test: no backend listening: the client's connection is closed
 * (close_notify) and the reason names the backend failure. */
static void test_proxy_backend_down(void **state)
{
    rt_fixture *f = *state;
    use_backend(f, rc_unused_port());
    rt_start(f);
    rc_conn *c = rt_connect(f, (rc_how){0});
    /* The server closes: the echo ends early (rc_echo prints why). */
    assert_int_not_equal(rc_echo(c, 1, 100, TEST_TIMEOUT_MS), 0);
    rc_free(c);
    rt_finish(f, 1);
    assert_true(rc_log_has(&f->log, "backend connect failed"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_proxy_echo_backend, rt_setup),
        RT_TEST(test_proxy_backend_down, rt_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
