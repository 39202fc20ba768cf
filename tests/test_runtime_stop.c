/*
 * test_runtime_stop.c - lifecycle: start and stop with nothing connected;
 * stop from another thread with connections in flight (idle ones get
 * close_notify within the grace period, a client that never reads is cut
 * off when the grace period ends); stop twice; free without start; reload
 * of the certificate while running.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "runtime_client.h"

/* Test: start, stop, stop again, free; and free without start. */
static void test_start_stop_empty(void **state)
{
    (void)state;
    memtls_server_opts o;
    memtls_listener_opts l;
    rc_opts_default(&o, &l, 1, NULL, NULL);
    char err[256];
    memtls_server *srv = memtls_server_new(&o, err, sizeof err);
    assert_non_null(srv);
    assert_int_equal(memtls_server_start(srv), 0);
    assert_int_equal(memtls_server_start(srv), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_server_stop(srv, 5000), 0);
    assert_int_equal(memtls_server_stop(srv, 5000), 0);
    memtls_server_free(srv);

    srv = memtls_server_new(&o, err, sizeof err);
    assert_non_null(srv);
    memtls_server_free(srv);
}

typedef struct stopper {
    memtls_server *srv;
    unsigned grace;
} stopper;

static void *stop_main(void *arg)
{
    stopper *s = arg;
    memtls_server_stop(s->srv, s->grace);
    return NULL;
}

/* Test: stop from another thread with connections in flight. */
static void test_stop_in_flight(void **state)
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
    o.ring_capacity = 4096;
    o.write_window = 16 * 1024;
    o.session_limits.plaintext_out = 32 * 1024;
    o.session_limits.ciphertext_out = 32 * 1024;
    o.session_limits.ciphertext_in = 32 * 1024;
    o.session_limits.plaintext_in = 16 * 1024;
    char err[256];
    memtls_server *srv = memtls_server_new(&o, err, sizeof err);
    assert_non_null(srv);
    assert_int_equal(memtls_server_start(srv), 0);
    uint16_t port = memtls_server_bound_port(srv, 0);

    rc_conn idle[3];
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(rc_connect(&idle[i], port, 1, &pki, 0, 10000), 0);
        assert_int_equal(rc_echo(&idle[i], 40 + i, 50000, 10000), 0);
    }
    /* One client floods and never reads: it cannot finish in time. */
    rc_set_sockbuf(64 * 1024);
    rc_conn flood;
    assert_int_equal(rc_connect(&flood, port, 1, &pki, 0, 10000), 0);
    rc_set_sockbuf(0);
    rc_stream s;
    rc_stream_init(&s, 99, 48u * 1024 * 1024);
    assert_int_equal(rc_stream_send_until_stalled(&flood, &s, 300), 0);

    stopper st = {srv, 700};
    pthread_t th;
    uint64_t t0 = rc_now_ms();
    assert_int_equal(pthread_create(&th, NULL, stop_main, &st), 0);
    /* Idle clients get the server's close_notify (they wait for it rather
     * than closing first, so the stop is what ends them). */
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(rc_expect_close(&idle[i], 10000), 0);
        rc_free(&idle[i]);
    }
    pthread_join(th, NULL);
    uint64_t took = rc_now_ms() - t0;
    /* The grace period bounded the stop (generously, for sanitizers). */
    assert_true(took < 700 + 5000);
    rc_stream_free(&s);
    rc_free(&flood);
    memtls_server_stats stats;
    assert_int_equal(memtls_server_get_stats(srv, &stats), 0);
    rc_log_dump(&log);
    /* The idle connections ended with the stop; the flood, which could
     * not finish, was cut when the grace period ended (a failure). */
    assert_true(rc_log_has(&log, "server stopping"));
    assert_true(rc_log_has(&log, "server stopped (grace period over)"));
    assert_true(stats.conns_failed >= 1);
    memtls_server_free(srv);
    memtls_config_free(cfg);
    rc_log_destroy(&log);
    rc_pki_free(&pki);
}

/* Test: reload swaps the certificate for new handshakes only. */
static void test_reload(void **state)
{
    (void)state;
    rc_pki pki;
    rc_pki_make(&pki);
    memtls_config *cfg = rc_server_config(&pki, MEMTLS_VERIFY_NONE);
    memtls_server_opts o;
    memtls_listener_opts l;
    rc_opts_default(&o, &l, 0, cfg, NULL);
    char err[256];
    memtls_server *srv = memtls_server_new(&o, err, sizeof err);
    assert_non_null(srv);
    assert_int_equal(memtls_server_start(srv), 0);
    uint16_t port = memtls_server_bound_port(srv, 0);
    rc_conn before;
    assert_int_equal(rc_connect(&before, port, 1, &pki, 0, 10000), 0);

    /* A certificate from another CA: clients trusting pki.ca reject it. */
    rc_pki other;
    rc_pki_make(&other);
    memtls_config *cfg2 = rc_server_config(&other, MEMTLS_VERIFY_NONE);
    assert_int_equal(memtls_server_reload(srv, NULL), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_server_reload(srv, cfg2), 0);

    rc_conn after;
    assert_int_equal(rc_connect(&after, port, 1, &other, 0, 10000), 0);
    assert_int_equal(rc_echo(&after, 2, 10000, 10000), 0);
    /* The live connection keeps working on the old configuration. */
    assert_int_equal(rc_echo(&before, 1, 10000, 10000), 0);
    assert_int_equal(rc_close(&before, 10000), 0);
    assert_int_equal(rc_close(&after, 10000), 0);
    rc_free(&before);
    rc_free(&after);
    memtls_server_free(srv);
    memtls_config_free(cfg);
    memtls_config_free(cfg2);
    rc_pki_free(&pki);
    rc_pki_free(&other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_stop_empty),
        cmocka_unit_test(test_stop_in_flight),
        cmocka_unit_test(test_reload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
