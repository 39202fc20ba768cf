/*
 * test_runtime_authfail.c - failed client authentication on a mutual-TLS
 * listener (client certificate required) is logged with its reason: a
 * client without a certificate and a client whose certificate comes from
 * another CA each leave one record "auth failed: <verify reason>", are
 * counted as failed, and release their ids.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "runtime_client.h"
#include "testpki.h"

/* Connect; with TLS 1.3 the client's handshake ends before the server has
 * checked the client certificate, so the rejection (an alert) may only
 * show on the first read. Either way the connection ends in a failure. */
static void rejected_client(uint16_t port, const memtls_pem *ca, const memtls_pem *cert)
{
    rc_conn c;
    if (rc_connect_tls(&c, NULL, port, ca, cert, 10000) == 0) {
        assert_int_equal(rc_wait_failure(&c, 10000), 0);
    }
    rc_free(&c);
}

static void run_case(int with_cert, const char *want)
{
    rc_pki pki;
    rc_pki_make(&pki);
    memtls_config *cfg = rc_server_config(&pki, MEMTLS_VERIFY_REQUIRED);
    rc_log log;
    rc_log_init(&log);
    memtls_server_opts o;
    memtls_listener_opts l;
    rc_opts_default(&o, &l, 0, cfg, &log);
    char err[256];
    memtls_server *srv = memtls_server_new(&o, err, sizeof err);
    assert_non_null(srv);
    assert_int_equal(memtls_server_start(srv), 0);

    memtls_pem other_ca = testpki_ca(MEMTLS_KEY_EC_P256);
    memtls_pem stranger = testpki_leaf(&other_ca, MEMTLS_CERT_CLIENT, MEMTLS_KEY_EC_P256,
                                       "client.test", "DNS:client.test", 0, 0);
    rejected_client(memtls_server_bound_port(srv, 0), &pki.ca, with_cert ? &stranger : NULL);

    assert_int_equal(rc_log_wait(&log, 1, 10000), 0);
    assert_int_equal(rc_wait_open(srv, 0, 10000), 0);
    memtls_server_stats st;
    assert_int_equal(memtls_server_get_stats(srv, &st), 0);
    memtls_server_stop(srv, 1000);
    rc_log_dump(&log);
    assert_int_equal(rc_log_count(&log), 1);
    assert_int_equal(log.clean, 0);
    assert_true(rc_log_has(&log, "auth failed: "));
    assert_true(rc_log_has(&log, want));
    assert_int_equal(st.conns_failed, 1);
    memtls_server_free(srv);
    memtls_config_free(cfg);
    memtls_pem_free(&stranger);
    memtls_pem_free(&other_ca);
    rc_log_destroy(&log);
    rc_pki_free(&pki);
}

/* Test: no client certificate at all. */
static void test_no_client_cert(void **state)
{
    (void)state;
    run_case(0, "peer did not return a certificate");
}

/* Test: a client certificate issued by a CA the server does not trust. */
static void test_wrong_ca(void **state)
{
    (void)state;
    run_case(1, "unable to get local issuer certificate");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_client_cert),
        cmocka_unit_test(test_wrong_ca),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
