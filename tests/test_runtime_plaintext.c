/*
 * test_runtime_plaintext.c - a plaintext listener next to a TLS one (and
 * an IPv6 one when ::1 is available): echo works on each, and a plaintext
 * client's FIN is a clean close answered with a FIN.
 */
#include "test.h"

#include <string.h>

#include "rt_fixture.h"

/* Test: plaintext and TLS listeners on one server. */
static void test_plaintext_listener(void **state)
{
    rt_fixture *f = *state;
    rt_add_listener(f, "127.0.0.1", 0);
    f->opts.ring_capacity = 8192;
    rt_start(f);
    assert_true(rt_port(f, 1) != f->port);
    assert_int_equal(memtls_server_bound_port(f->srv, 2), 0);

    for (size_t i = 0; i < 2; i++) {
        rc_conn *c = rt_connect(f, (rc_how){.listener = i});
        assert_int_equal(rc_echo(c, 5 + i, 1024 * 1024, 20000), 0);
        assert_int_equal(rc_close(c, TEST_TIMEOUT_MS), 0);
        rc_free(c);
    }
    rt_finish(f, 2);
    assert_true(rc_log_has(&f->log, "peer closed"));
}

/* Test: a plaintext-only server needs no TLS configuration; a bad address
 * and an address in use are named in the error. */
static void test_plaintext_only_and_bind_errors(void **state)
{
    rt_fixture *f = *state;
    f->opts.tls = NULL;
    char err[256];
    /* Bound, never started (the teardown's free is all it needs). */
    f->srv = memtls_server_new(&f->opts, err, sizeof err);
    assert_non_null(f->srv);

    memtls_listener_opts busy = f->listeners[0];
    busy.port = rt_port(f, 0);
    f->opts.listeners = &busy;
    assert_null(memtls_server_new(&f->opts, err, sizeof err));
    assert_non_null(strstr(err, "127.0.0.1:"));
    assert_non_null(strstr(err, "in use"));

    memtls_listener_opts bad = f->listeners[0];
    bad.host = "not-an-address";
    f->opts.listeners = &bad;
    assert_null(memtls_server_new(&f->opts, err, sizeof err));
    assert_non_null(strstr(err, "not-an-address"));

    /* TLS listener without a configuration. */
    memtls_listener_opts tls = f->listeners[0];
    tls.plaintext = 0;
    f->opts.listeners = &tls;
    assert_null(memtls_server_new(&f->opts, err, sizeof err));
    assert_non_null(strstr(err, "tls"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_plaintext_listener, rt_setup_plaintext),
        RT_TEST(test_plaintext_only_and_bind_errors, rt_setup_plaintext),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
