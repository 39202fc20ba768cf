/*
 * test_runtime_idle.c - the idle timeout: a connection with no traffic for
 * idle_timeout_ms is closed gracefully (close_notify for TLS, FIN for
 * plaintext) with the reason "idle timeout"; traffic restarts the clock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "runtime_client.h"

#define IDLE_MS 300u

static void run_case(int plaintext)
{
    rc_pki pki;
    rc_pki_make(&pki);
    memtls_config *cfg = rc_server_config(&pki, MEMTLS_VERIFY_NONE);
    rc_log log;
    rc_log_init(&log);
    memtls_server_opts o;
    memtls_listener_opts l;
    rc_opts_default(&o, &l, plaintext, cfg, &log);
    o.idle_timeout_ms = IDLE_MS;
    char err[256];
    memtls_server *srv = memtls_server_new(&o, err, sizeof err);
    assert_non_null(srv);
    assert_int_equal(memtls_server_start(srv), 0);

    rc_conn c;
    assert_int_equal(rc_connect(&c, memtls_server_bound_port(srv, 0), !plaintext, &pki, 0, 10000),
                     0);
    assert_int_equal(rc_echo(&c, 3, 1000, 10000), 0);
    uint64_t t1 = rc_now_ms();
    /* Silence: the server closes within the idle time (plus timer slack);
     * waiting for its close is the synchronisation. */
    assert_int_equal(rc_expect_close(&c, 10000), 0);
    uint64_t t2 = rc_now_ms();
    rc_free(&c);
    /* Not before the idle time counted from the last traffic. */
    assert_true(t2 - t1 + 5 >= IDLE_MS);
    assert_true(t2 - t1 < 5000); /* the idle time, not the handshake timeout */

    assert_int_equal(rc_log_wait(&log, 1, 10000), 0);
    assert_int_equal(rc_wait_open(srv, 0, 10000), 0);
    memtls_server_stats st;
    assert_int_equal(memtls_server_get_stats(srv, &st), 0);
    memtls_server_stop(srv, 1000);
    rc_log_dump(&log);
    assert_int_equal(rc_log_count(&log), 1);
    assert_true(rc_log_has(&log, "idle timeout"));
    assert_int_equal(log.clean, 0);
    assert_int_equal(st.conns_failed, 1);
    memtls_server_free(srv);
    memtls_config_free(cfg);
    rc_log_destroy(&log);
    rc_pki_free(&pki);
}

/* Test: a silent TLS connection gets close_notify after the idle time. */
static void test_idle_tls(void **state)
{
    (void)state;
    run_case(0);
}

/* Test: a silent plaintext connection gets a FIN after the idle time. */
static void test_idle_plaintext(void **state)
{
    (void)state;
    run_case(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_tls),
        cmocka_unit_test(test_idle_plaintext),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
