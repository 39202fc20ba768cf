/*
 * test_runtime_large.c - a 16 MiB echo through 4 KiB rings (whose largest
 * message is about 1 KiB): payloads are split, backpressure holds the
 * rest, nothing hangs and every byte comes back in order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "runtime_client.h"

/* Test: 16 MiB over TLS and over plaintext, 4 KiB rings, one worker. */
static void test_large_echo(void **state)
{
    (void)state;
    rc_pki pki;
    rc_pki_make(&pki);
    memtls_config *cfg = rc_server_config(&pki, MEMTLS_VERIFY_NONE);
    memtls_server_opts o;
    memtls_listener_opts ls[2];
    rc_opts_default(&o, &ls[0], 0, cfg, NULL);
    ls[1] = ls[0];
    ls[1].plaintext = 1;
    o.listeners = ls;
    o.listener_count = 2;
    o.ring_capacity = 4096;
    o.workers = 1;
    char err[256];
    memtls_server *srv = memtls_server_new(&o, err, sizeof err);
    assert_non_null(srv);
    assert_int_equal(memtls_server_start(srv), 0);

    rc_conn c;
    assert_int_equal(rc_connect(&c, memtls_server_bound_port(srv, 0), 1, &pki, 0, 10000), 0);
    assert_int_equal(rc_echo(&c, 16, 16u * 1024 * 1024, 120000), 0);
    assert_int_equal(rc_close(&c, 10000), 0);
    rc_free(&c);

    assert_int_equal(rc_connect(&c, memtls_server_bound_port(srv, 1), 0, NULL, 0, 10000), 0);
    assert_int_equal(rc_echo(&c, 17, 16u * 1024 * 1024, 120000), 0);
    assert_int_equal(rc_close(&c, 10000), 0);
    rc_free(&c);

    assert_int_equal(rc_wait_open(srv, 0, 10000), 0);
    memtls_server_stats st;
    assert_int_equal(memtls_server_get_stats(srv, &st), 0);
    assert_true(st.bytes_in >= 32u * 1024 * 1024);
    assert_true(st.bytes_out >= 32u * 1024 * 1024);
    assert_true(st.to_worker_high_water <= 4096);
    memtls_server_free(srv);
    memtls_config_free(cfg);
    rc_pki_free(&pki);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_large_echo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
