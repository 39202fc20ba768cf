/*
 * test_runtime_idle.c - the idle timeout: a connection with no traffic for
 * idle_timeout_ms is closed gracefully (close_notify for TLS, FIN for
 * plaintext) with the reason "idle timeout"; traffic restarts the clock.
 */
#include "test.h"

#include <string.h>
#include <time.h>

#include "rt_fixture.h"

#define IDLE_MS 300u

/* Test: a silent connection is closed after the idle time (TLS:
 * close_notify; plaintext: FIN). */
static void test_idle(void **state)
{
    rt_fixture *f = *state;
    f->opts.idle_timeout_ms = IDLE_MS;
    rt_start(f);

    rc_conn *c = rt_connect(f, (rc_how){0});
    /* The server's last traffic (its echo) lies between t0 and t1. */
    uint64_t t0 = rc_now_ms();
    assert_int_equal(rc_echo(c, 3, 1000, TEST_TIMEOUT_MS), 0);
    uint64_t t1 = rc_now_ms();
    /* Silence: the server closes within the idle time (plus timer slack);
     * waiting for its close is the synchronisation. */
    assert_int_equal(rc_expect_close(c, TEST_TIMEOUT_MS), 0);
    uint64_t t2 = rc_now_ms();
    /* Not before the idle time counted from the last traffic. */
    assert_true(t2 - t0 + 5 >= IDLE_MS);
    assert_true(t2 - t1 < 5000); /* the idle time, not the handshake timeout */

    rt_finish(f, 1);
    assert_true(rc_log_has(&f->log, "idle timeout"));
    assert_int_equal(f->log.clean, 0);
    assert_int_equal(f->stats.conns_failed, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_idle, rt_setup),
        RT_TEST(test_idle, rt_setup_plaintext),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
