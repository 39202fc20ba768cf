/*
 * test_runtime_vanish.c - peers that go away during the handshake: with a
 * FIN after a partial ClientHello, with a reset, and silently (the
 * handshake timeout ends it). Every id is released and the server is back
 * to 0 open connections; the silent peer sees a clean close (FIN), not a
 * reset.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime_client.h"

/* The start of a TLS record carrying a ClientHello, cut short. */
static const unsigned char partial_hello[] = {0x16, 0x03, 0x01, 0x00, 0xf0, 0x01, 0x00, 0x00};

/* Test: FIN, reset and silence mid-handshake all release their ids. */
static void test_vanish_mid_handshake(void **state)
{
    (void)state;
    rc_pki pki;
    rc_pki_make(&pki);
    memtls_config *cfg = rc_server_config(&pki, MEMTLS_VERIFY_NONE);
    rc_log log;
    rc_log_init(&log);
    memtls_server_opts o;
    memtls_listener_opts l;
    rc_opts_default(&o, &l, 0, cfg, &log);
    o.handshake_timeout_ms = 300;
    char err[256];
    memtls_server *srv = memtls_server_new(&o, err, sizeof err);
    assert_non_null(srv);
    assert_int_equal(memtls_server_start(srv), 0);
    uint16_t port = memtls_server_bound_port(srv, 0);

    /* FIN after a partial ClientHello. */
    int a = rc_tcp_connect(port);
    assert_true(a >= 0);
    assert_int_equal(send(a, partial_hello, sizeof partial_hello, MSG_NOSIGNAL),
                     (ssize_t)sizeof partial_hello);
    shutdown(a, SHUT_WR);

    /* Reset after a partial ClientHello. */
    int b = rc_tcp_connect(port);
    assert_true(b >= 0);
    assert_int_equal(send(b, partial_hello, sizeof partial_hello, MSG_NOSIGNAL),
                     (ssize_t)sizeof partial_hello);
    struct linger lg = {1, 0};
    setsockopt(b, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);

    /* Silence: connected, sends nothing. */
    int c = rc_tcp_connect(port);
    assert_true(c >= 0);

    /* The FIN peer gets a FIN back (after a possible alert). */
    char buf[512];
    struct pollfd p = {a, POLLIN, 0};
    ssize_t n;
    do {
        assert_int_equal(poll(&p, 1, 10000), 1);
        n = recv(a, buf, sizeof buf, 0);
    } while (n > 0);
    assert_int_equal(n, 0);
    close(a);
    close(b); /* RST */

    /* The silent peer is closed by the handshake timeout, with a FIN. */
    p.fd = c;
    do {
        assert_int_equal(poll(&p, 1, 10000), 1);
        n = recv(c, buf, sizeof buf, 0);
    } while (n > 0);
    if (n < 0) {
        print_error("silent peer: %s (expected a clean EOF)\n", strerror(errno));
    }
    assert_int_equal(n, 0);
    close(c);

    assert_int_equal(rc_wait_open(srv, 0, 10000), 0);
    memtls_server_stop(srv, 1000);
    assert_int_equal(rc_log_count(&log), 3);
    assert_true(rc_log_has(&log, "handshake timeout"));
    assert_true(rc_log_has(&log, "truncated") || rc_log_has(&log, "protocol error"));
    memtls_server_stats st;
    assert_int_equal(memtls_server_get_stats(srv, &st), 0);
    assert_int_equal(st.conns_open, 0);
    assert_int_equal(st.conns_failed, 3);
    memtls_server_free(srv);
    memtls_config_free(cfg);
    rc_log_destroy(&log);
    rc_pki_free(&pki);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vanish_mid_handshake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
