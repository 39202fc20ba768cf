/*
 * test_runtime_echo_many.c - many concurrent TLS clients stream
 * checksummed data through host, rings and workers to the echo
 * application. The rings are 4 KiB, so most messages meet a full ring and
 * every backpressure path (host hold + uv_read_stop, worker pending_out,
 * credits) runs. Afterwards every connection is released.
 */
#include "test.h"

#include "rt_fixture.h"

#define CLIENTS 16
#define BYTES (512u * 1024)

/* Test: 16 clients, 4 KiB rings, all data intact, all ids released. */
static void test_many_clients_small_rings(void **state)
{
    rt_fixture *f = *state;
    f->opts.ring_capacity = 4096;
    f->opts.write_window = 16 * 1024;
    rt_start(f);

    rc_how how = {.port = f->port, .ca = &f->pki.ca, .timeout_ms = 20000};
    assert_int_equal(rc_echo_clients(&how, CLIENTS, 1000, BYTES, 977, 60000), 0);
    rt_finish(f, CLIENTS);
    assert_int_equal(f->stats.conns_total, CLIENTS);
    assert_int_equal(f->stats.conns_refused, 0);
    assert_true(f->stats.to_worker_high_water <= 4096);
    assert_true(f->stats.to_host_high_water <= 4096);
    /* The small rings were full at some point: backpressure ran. */
    assert_true(f->stats.to_worker_refusals + f->stats.to_host_refusals > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_many_clients_small_rings, rt_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
