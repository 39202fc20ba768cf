/*
 * test_runtime_large.c - a 16 MiB echo through 4 KiB rings (whose largest
 * message is about 1 KiB): payloads are split, backpressure holds the
 * rest, nothing hangs and every byte comes back in order.
 */
#include "test.h"

#include "rt_fixture.h"

#define LARGE (16u * 1024 * 1024)

/* Test: 16 MiB over TLS and over plaintext, 4 KiB rings, one worker. */
static void test_large_echo(void **state)
{
    rt_fixture *f = *state;
    rt_add_listener(f, "127.0.0.1", 1);
    f->opts.ring_capacity = 4096;
    f->opts.workers = 1;
    rt_start(f);

    for (size_t i = 0; i < 2; i++) {
        rc_conn *c = rt_connect(f, (rc_how){.listener = i});
        assert_int_equal(rc_echo(c, 16 + i, LARGE, 120000), 0);
        assert_int_equal(rc_close(c, TEST_TIMEOUT_MS), 0);
        rc_free(c);
    }
    rt_finish(f, 2);
    assert_true(f->stats.bytes_in >= 2u * LARGE);
    assert_true(f->stats.bytes_out >= 2u * LARGE);
    assert_true(f->stats.to_worker_high_water <= 4096);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_large_echo, rt_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
