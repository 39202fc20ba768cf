/*
 * test_runtime_stop.c - lifecycle: start and stop with nothing connected;
 * stop from another thread with connections in flight (idle ones get
 * close_notify within the grace period, a client that never reads is cut
 * off when the grace period ends); stop twice; free without start; reload
 * of the certificate while running.
 */
#include "test.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "rt_fixture.h"

/* Test: start, stop, stop again, free; and free without start. */
static void test_start_stop_empty(void **state)
{
    rt_fixture *f = *state;
    f->opts.tls = NULL;
    rt_start(f);
    assert_int_equal(memtls_server_start(f->srv), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_server_stop(f->srv, 5000), 0);
    assert_int_equal(memtls_server_stop(f->srv, 5000), 0);
    memtls_server_free(f->srv);

    char err[256];
    f->srv = memtls_server_new(&f->opts, err, sizeof err);
    assert_non_null(f->srv);
    /* Never started: the teardown's free is all it needs. */
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
    rt_fixture *f = *state;
    f->opts.ring_capacity = 4096;
    f->opts.write_window = 16 * 1024;
    f->opts.session_limits.plaintext_out = 32 * 1024;
    f->opts.session_limits.ciphertext_out = 32 * 1024;
    f->opts.session_limits.ciphertext_in = 32 * 1024;
    f->opts.session_limits.plaintext_in = 16 * 1024;
    rt_start(f);

    rc_conn *idle[3];
    for (unsigned i = 0; i < 3; i++) {
        idle[i] = rt_connect(f, (rc_how){0});
        assert_int_equal(rc_echo(idle[i], 40 + i, 50000, TEST_TIMEOUT_MS), 0);
    }
    /* One client floods and never reads: it cannot finish in time. */
    rc_set_sockbuf(64 * 1024);
    rc_conn *flood = rt_connect(f, (rc_how){0});
    rc_set_sockbuf(0);
    rc_stream *s = rt_stream(f, 99, 48u * 1024 * 1024);
    assert_int_equal(rc_stream_send_until_stalled(flood, s, 300), 0);

    stopper st = {f->srv, 700};
    pthread_t th;
    uint64_t t0 = rc_now_ms();
    assert_int_equal(pthread_create(&th, NULL, stop_main, &st), 0);
    /* Idle clients get the server's close_notify (they wait for it rather
     * than closing first, so the stop is what ends them). */
    int closed = 0;
    for (unsigned i = 0; i < 3; i++) {
        closed += rc_expect_close(idle[i], TEST_TIMEOUT_MS) == 0;
    }
    pthread_join(th, NULL);
    uint64_t took = rc_now_ms() - t0;
    assert_int_equal(closed, 3);
    /* The grace period bounded the stop (generously, for sanitizers). */
    assert_true(took < 700 + 5000);
    memtls_server_stats stats;
    assert_int_equal(memtls_server_get_stats(f->srv, &stats), 0);
    rc_log_dump(&f->log);
    /* The idle connections ended with the stop; the flood, which could
     * not finish, was cut when the grace period ended (a failure). */
    assert_true(rc_log_has(&f->log, "server stopping"));
    assert_true(rc_log_has(&f->log, "server stopped (grace period over)"));
    assert_true(stats.conns_failed >= 1);
}

/* Test: reload swaps the certificate for new handshakes only. */
static void test_reload(void **state)
{
    rt_fixture *f = *state;
    if (rt_isolated()) {
        /* Worker processes reload through load_tls only (the spawner
         * loads the files again): interop_test_isolate covers it. */
        skip();
    }
    rt_start(f);
    rc_conn *before = rt_connect(f, (rc_how){0});

    /* A certificate from another CA: clients trusting pki.ca reject it. */
    const rc_pki *other = rt_other_pki(f);
    assert_int_equal(memtls_server_reload(f->srv, NULL), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_server_reload(f->srv, rt_config(f, other, MEMTLS_VERIFY_NONE)), 0);

    rc_conn *after = rt_connect(f, (rc_how){.ca = &other->ca});
    assert_int_equal(rc_echo(after, 2, 10000, TEST_TIMEOUT_MS), 0);
    /* The live connection keeps working on the old configuration. */
    assert_int_equal(rc_echo(before, 1, 10000, TEST_TIMEOUT_MS), 0);
    assert_int_equal(rc_close(before, TEST_TIMEOUT_MS), 0);
    assert_int_equal(rc_close(after, TEST_TIMEOUT_MS), 0);
    rt_finish(f, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_start_stop_empty, rt_setup_plaintext),
        RT_TEST(test_stop_in_flight, rt_setup),
        RT_TEST(test_reload, rt_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
