/*
 * test_runtime_cap.c - the hard cap on open connections: a connection
 * over the cap is closed cleanly at once (FIN, no reset), counted and
 * logged; once a slot frees up, new connections are served again.
 */
#include "test.h"

#include <unistd.h>

#include "rt_fixture.h"

/* Test: cap 2, third connection refused cleanly, slots reused. */
static void test_connection_cap(void **state)
{
    rt_fixture *f = *state;
    f->opts.max_connections = 2;
    rt_start(f);

    rc_conn *a = rt_connect(f, (rc_how){0});
    rc_conn *b = rt_connect(f, (rc_how){0});
    assert_int_equal(rc_echo(a, 1, 1000, TEST_TIMEOUT_MS), 0);
    assert_int_equal(rc_echo(b, 2, 1000, TEST_TIMEOUT_MS), 0);

    /* Over the cap: a clean EOF at once, no reset, no data. */
    int x = rc_tcp_connect(f->port);
    assert_true(x >= 0);
    size_t data = 0;
    int eof = rc_fd_wait_eof(x, &data, TEST_TIMEOUT_MS);
    close(x);
    assert_int_equal(eof, 0);
    assert_int_equal(data, 0);

    memtls_server_stats st;
    assert_int_equal(memtls_server_get_stats(f->srv, &st), 0);
    assert_int_equal(st.conns_refused, 1);
    assert_int_equal(st.conns_open, 2);
    assert_true(rc_log_has(&f->log, "refused: connection limit"));

    /* A slot frees up: served again. */
    assert_int_equal(rc_close(a, TEST_TIMEOUT_MS), 0);
    rc_free(a);
    assert_int_equal(rc_wait_open(f->srv, 1, TEST_TIMEOUT_MS), 0);
    rc_conn *c = rt_connect(f, (rc_how){0});
    assert_int_equal(rc_echo(c, 3, 100000, TEST_TIMEOUT_MS), 0);
    assert_int_equal(rc_close(c, TEST_TIMEOUT_MS), 0);
    assert_int_equal(rc_close(b, TEST_TIMEOUT_MS), 0);
    rt_finish(f, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_connection_cap, rt_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
