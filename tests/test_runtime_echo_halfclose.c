/*
 * test_runtime_echo_halfclose.c - echo mode with a client that sends its
 * data and its close in one go (TLS: records + close_notify; plaintext:
 * data + FIN) and only then reads: every byte sent before the close is
 * echoed, then the server closes cleanly. Regression test for echo dropping
 * bytes that arrived in the same flight as the client's close_notify.
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "rt_fixture.h"

#define SEED 77u

/* A request of `total` bytes and the client's close in one go, then the
 * whole echo and the server's clean close. */
static void request_then_close(rt_fixture *f, size_t total)
{
    rt_start(f);
    rc_conn *c = rt_connect(f, (rc_how){0});
    /* Small enough to sit in socket buffers: the whole request and the
     * close leave before the client reads anything. */
    assert_int_equal(rc_write_seq(c, SEED, 0, total, TEST_TIMEOUT_MS), 0);
    assert_int_equal(rc_shutdown_write(c, TEST_TIMEOUT_MS), 0);
    assert_int_equal(rc_read_expect(c, SEED, total, TEST_TIMEOUT_MS), 0);
    assert_int_equal(rc_expect_close(c, TEST_TIMEOUT_MS), 0);
    rt_finish(f, 1);
    assert_int_equal(f->log.clean, 1);
}

/* Test: one small request and close_notify in one flight. */
static void test_echo_halfclose_small(void **state)
{
    request_then_close(*state, 5);
}

/* Test: several records (plaintext: several segments), then the close. */
static void test_echo_halfclose(void **state)
{
    request_then_close(*state, 48 * 1024);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_echo_halfclose_small, rt_setup),
        RT_TEST(test_echo_halfclose, rt_setup),
        RT_TEST(test_echo_halfclose, rt_setup_plaintext),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
