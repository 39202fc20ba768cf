/*
 * test_runtime_listen_fd.c - a listener given as a listening socket
 * (memtls_listener_opts.fd, socket activation) instead of an address:
 * served by one and by several I/O threads, its address reported, the
 * caller's descriptor left open; descriptors that are not listening TCP
 * sockets are refused with a message naming them.
 */
#include "test.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netinet/in.h>

#include "rt_fixture.h"

static void serve_given_socket(rt_fixture *f, unsigned io_threads)
{
    uint16_t port = 0;
    int fd = rc_listen(&port);
    f->listeners[0].host = "192.0.2.1"; /* ignored: the socket is given */
    f->listeners[0].port = 9;
    f->listeners[0].fd = fd;
    f->opts.io_threads = io_threads;
    f->opts.workers = io_threads;
    rt_start(f);
    assert_int_equal(memtls_server_bound_port(f->srv, 0), port);
    assert_int_equal(f->port, port);

    /* Enough connections that every I/O thread gets its chance. */
    rc_how how = {.port = port, .ca = &f->pki.ca, .plaintext = rt_plaintext(f)};
    assert_int_equal(rc_echo_clients(&how, 8, 11, 20000, 100, 30000), 0);
    rt_finish(f, 8);
    memtls_server_free(f->srv);
    f->srv = NULL;
    /* The caller's descriptor is still its own, and still listening. */
    assert_true(fcntl(fd, F_GETFD) >= 0);
    int c = rc_tcp_connect(port);
    assert_true(c >= 0);
    close(c);
    close(fd);
}

static void test_given_socket_one_thread(void **state)
{
    serve_given_socket(*state, 1);
}

static void test_given_socket_two_threads(void **state)
{
    serve_given_socket(*state, 2);
}

/* Descriptors that cannot be listeners. */
static void test_given_socket_errors(void **state)
{
    rt_fixture *f = *state;
    char err[256];
    int p[2];
    assert_int_equal(pipe(p), 0);
    f->listeners[0].fd = p[0];
    assert_null(memtls_server_new(&f->opts, err, sizeof err));
    char want[64];
    snprintf(want, sizeof want, "listener fd %d: not a socket", p[0]);
    assert_string_equal(err, want);
    close(p[0]);
    close(p[1]);

    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    f->listeners[0].fd = s;
    assert_null(memtls_server_new(&f->opts, err, sizeof err));
    snprintf(want, sizeof want, "listener fd %d: not listening", s);
    assert_string_equal(err, want);
    close(s);

    int u = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(u >= 0);
    f->listeners[0].fd = u;
    assert_null(memtls_server_new(&f->opts, err, sizeof err));
    snprintf(want, sizeof want, "listener fd %d: not a stream (TCP) socket", u);
    assert_string_equal(err, want);
    close(u);

    int x[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, x), 0);
    f->listeners[0].fd = x[0];
    assert_null(memtls_server_new(&f->opts, err, sizeof err));
    snprintf(want, sizeof want, "listener fd %d: not listening", x[0]);
    assert_string_equal(err, want);
    close(x[0]);
    close(x[1]);

    f->listeners[0].fd = 1000; /* not open */
    assert_null(memtls_server_new(&f->opts, err, sizeof err));
    assert_non_null(strstr(err, "listener fd 1000: Bad file descriptor"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_given_socket_one_thread, rt_setup),
        RT_TEST(test_given_socket_one_thread, rt_setup_plaintext),
        RT_TEST(test_given_socket_two_threads, rt_setup),
        RT_TEST(test_given_socket_errors, rt_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
