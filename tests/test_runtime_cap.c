/*
 * test_runtime_cap.c - the hard cap on open connections: a connection
 * over the cap is closed cleanly at once (FIN, no reset), counted and
 * logged; once a slot frees up, new connections are served again.
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

/* Test: cap 2, third connection refused cleanly, slots reused. */
static void test_connection_cap(void **state)
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
    o.max_connections = 2;
    char err[256];
    memtls_server *srv = memtls_server_new(&o, err, sizeof err);
    assert_non_null(srv);
    assert_int_equal(memtls_server_start(srv), 0);
    uint16_t port = memtls_server_bound_port(srv, 0);

    rc_conn a, b;
    assert_int_equal(rc_connect(&a, port, 1, &pki, 0, 10000), 0);
    assert_int_equal(rc_connect(&b, port, 1, &pki, 0, 10000), 0);
    assert_int_equal(rc_echo(&a, 1, 1000, 10000), 0);
    assert_int_equal(rc_echo(&b, 2, 1000, 10000), 0);

    int x = rc_tcp_connect(port);
    assert_true(x >= 0);
    char buf[64];
    struct pollfd p = {x, POLLIN, 0};
    assert_int_equal(poll(&p, 1, 10000), 1);
    ssize_t n = recv(x, buf, sizeof buf, 0);
    if (n != 0) {
        print_error("refused connection: recv = %zd (%s), expected a clean EOF\n", n,
                    n < 0 ? strerror(errno) : "data");
    }
    assert_int_equal(n, 0);
    close(x);

    memtls_server_stats st;
    assert_int_equal(memtls_server_get_stats(srv, &st), 0);
    assert_int_equal(st.conns_refused, 1);
    assert_int_equal(st.conns_open, 2);
    assert_true(rc_log_has(&log, "refused: connection limit"));

    assert_int_equal(rc_close(&a, 10000), 0);
    rc_free(&a);
    assert_int_equal(rc_wait_open(srv, 1, 10000), 0);
    rc_conn c;
    assert_int_equal(rc_connect(&c, port, 1, &pki, 0, 10000), 0);
    assert_int_equal(rc_echo(&c, 3, 100000, 10000), 0);
    assert_int_equal(rc_close(&c, 10000), 0);
    assert_int_equal(rc_close(&b, 10000), 0);
    rc_free(&b);
    rc_free(&c);
    assert_int_equal(rc_wait_open(srv, 0, 10000), 0);
    memtls_server_free(srv);
    assert_int_equal(rc_log_count(&log), 4);
    memtls_config_free(cfg);
    rc_log_destroy(&log);
    rc_pki_free(&pki);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connection_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
