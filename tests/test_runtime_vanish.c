/*
 * test_runtime_vanish.c - peers that go away during the handshake: with a
 * FIN after a partial ClientHello, with a reset, and silently (the
 * handshake timeout ends it). Every id is released and the server is back
 * to 0 open connections; the silent peer sees a clean close (FIN), not a
 * reset.
 */
#include "test.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rt_fixture.h"

/* The start of a TLS record carrying a ClientHello, cut short. */
static const unsigned char partial_hello[] = {0x16, 0x03, 0x01, 0x00, 0xf0, 0x01, 0x00, 0x00};

/* A raw connection that sent `partial_hello`. */
static int partial_client(uint16_t port)
{
    int fd = rc_tcp_connect(port);
    assert_true(fd >= 0);
    assert_int_equal(send(fd, partial_hello, sizeof partial_hello, MSG_NOSIGNAL),
                     (ssize_t)sizeof partial_hello);
    return fd;
}

/* Test: FIN, reset and silence mid-handshake all release their ids. */
static void test_vanish_mid_handshake(void **state)
{
    rt_fixture *f = *state;
    f->opts.handshake_timeout_ms = 300;
    rt_start(f);

    /* FIN after a partial ClientHello. */
    int a = partial_client(f->port);
    shutdown(a, SHUT_WR);
    /* Reset after a partial ClientHello. */
    int b = partial_client(f->port);
    struct linger lg = {1, 0};
    setsockopt(b, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    /* Silence: connected, sends nothing. */
    int c = rc_tcp_connect(f->port);

    /* The FIN peer gets a FIN back (after a possible alert); the silent
     * one is closed by the handshake timeout, with a FIN. */
    int a_eof = rc_fd_wait_eof(a, NULL, TEST_TIMEOUT_MS);
    close(a);
    close(b); /* RST */
    int c_eof = c >= 0 ? rc_fd_wait_eof(c, NULL, TEST_TIMEOUT_MS) : -1;
    if (c >= 0) {
        close(c);
    }
    assert_int_equal(a_eof, 0);
    assert_int_equal(c_eof, 0);

    rt_finish(f, 3);
    assert_true(rc_log_has(&f->log, "handshake timeout"));
    assert_true(rc_log_has(&f->log, "truncated") || rc_log_has(&f->log, "protocol error"));
    assert_int_equal(f->stats.conns_open, 0);
    assert_int_equal(f->stats.conns_failed, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_vanish_mid_handshake, rt_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
