/*
 * test_runtime_echo_halfclose.c - echo mode with a client that sends its
 * data and its close in one go (TLS: records + close_notify; plaintext:
 * data + FIN) and only then reads: every byte sent before the close is
 * echoed, then the server closes cleanly. Regression test for echo dropping
 * bytes that arrived in the same flight as the client's close_notify.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "runtime_client.h"

#define SEED 77u

static void run_case(int plaintext, size_t total)
{
    rc_pki pki;
    rc_pki_make(&pki);
    memtls_config *cfg = rc_server_config(&pki, MEMTLS_VERIFY_NONE);
    rc_log log;
    rc_log_init(&log);
    memtls_server_opts o;
    memtls_listener_opts l;
    rc_opts_default(&o, &l, plaintext, cfg, &log);
    char err[256];
    memtls_server *srv = memtls_server_new(&o, err, sizeof err);
    assert_non_null(srv);
    assert_int_equal(memtls_server_start(srv), 0);

    rc_conn c;
    assert_int_equal(rc_connect(&c, memtls_server_bound_port(srv, 0), !plaintext, &pki, 0, 10000),
                     0);
    uint8_t *data = malloc(total);
    assert_non_null(data);
    for (size_t i = 0; i < total; i++) {
        data[i] = rc_byte(SEED, i);
    }
    /* Small enough to sit in socket buffers: the whole request and the
     * close leave before the client reads anything. */
    assert_int_equal(rc_write_all(&c, data, total, 10000), 0);
    assert_int_equal(rc_shutdown_write(&c, 10000), 0);
    assert_int_equal(rc_read_expect(&c, SEED, total, 10000), 0);
    assert_int_equal(rc_expect_close(&c, 10000), 0);
    rc_free(&c);
    free(data);

    assert_int_equal(rc_log_wait(&log, 1, 10000), 0);
    assert_int_equal(rc_wait_open(srv, 0, 10000), 0);
    memtls_server_stop(srv, 1000);
    rc_log_dump(&log);
    assert_int_equal(rc_log_count(&log), 1);
    assert_int_equal(log.clean, 1);
    memtls_server_free(srv);
    memtls_config_free(cfg);
    rc_log_destroy(&log);
    rc_pki_free(&pki);
}

/* Test: TLS, one small request and close_notify in one flight. */
static void test_echo_halfclose_tls_small(void **state)
{
    (void)state;
    run_case(0, 5);
}

/* Test: TLS, several records then close_notify. */
static void test_echo_halfclose_tls(void **state)
{
    (void)state;
    run_case(0, 48 * 1024);
}

/* Test: plaintext, data then FIN. */
static void test_echo_halfclose_plaintext(void **state)
{
    (void)state;
    run_case(1, 48 * 1024);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_halfclose_tls_small),
        cmocka_unit_test(test_echo_halfclose_tls),
        cmocka_unit_test(test_echo_halfclose_plaintext),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
