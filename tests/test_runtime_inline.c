/*
 * test_runtime_inline.c - workers inline in their I/O thread
 * (MEMTLS_WORKERS_INLINE): the messages still cross the rings, in both
 * directions, but the channel is one thread's, so no side ever rings the
 * other's bell (wakeups stays 0). Small rings make both directions fill,
 * so the "ring full, retry when there is room" hand-off runs in one
 * thread too, and every byte still arrives. With worker threads the same
 * load crosses the same rings (the bells are exercised by every other
 * runtime test).
 */
#include "test.h"

#include "rt_fixture.h"

#define CLIENTS 6
#define BYTES (256u * 1024)

/* One I/O thread, two workers placed by `mode`, 4 KiB rings; start. */
static void start_small_rings(rt_fixture *f, memtls_worker_mode mode)
{
    f->opts.worker_mode = mode;
    f->opts.io_threads = 1;
    f->opts.workers = 2;
    f->opts.ring_capacity = 4096;
    f->opts.write_window = 16 * 1024;
    rt_start(f);
}

static void run_load(rt_fixture *f)
{
    rc_how how = {.port = f->port, .ca = &f->pki.ca, .timeout_ms = 20000};
    assert_int_equal(rc_echo_clients(&how, CLIENTS, 4242, BYTES, 1021, 60000), 0);
    rt_finish(f, CLIENTS);
    assert_int_equal(f->stats.conns_total, CLIENTS);
    assert_int_equal(f->stats.conns_failed, 0);
    /* Every connection's bytes went through the rings, both ways. */
    assert_true(f->stats.ring_messages >= 2u * CLIENTS);
    assert_true(f->stats.bytes_in >= (uint64_t)CLIENTS * BYTES);
    assert_true(f->stats.bytes_out >= (uint64_t)CLIENTS * BYTES);
}

/* Test: inline workers, 4 KiB rings: all data intact, the rings were full
 * at times, and not one wake-up was sent. */
static void test_inline_no_wakeups(void **state)
{
    rt_fixture *f = *state;
    if (rt_isolated()) {
        skip(); /* worker processes are never inline */
    }
    start_small_rings(f, MEMTLS_WORKERS_INLINE);
    run_load(f);
    assert_int_equal(f->stats.workers_inline, 1);
    assert_int_equal(f->stats.io_threads, 1);
    assert_int_equal(f->stats.workers, 2);
    assert_true(f->stats.to_worker_refusals + f->stats.to_host_refusals > 0);
    assert_int_equal(f->stats.wakeups, 0);
}

/* Test: the same load with worker threads: same results, through the same
 * rings. */
static void test_threads_same_load(void **state)
{
    rt_fixture *f = *state;
    start_small_rings(f, MEMTLS_WORKERS_THREADS);
    run_load(f);
    assert_int_equal(f->stats.workers_inline, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_inline_no_wakeups, rt_setup),
        RT_TEST(test_threads_same_load, rt_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
