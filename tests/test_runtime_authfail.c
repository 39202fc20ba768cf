/*
 * test_runtime_authfail.c - failed client authentication on a mutual-TLS
 * listener (client certificate required) is logged with its reason: a
 * client without a certificate and a client whose certificate comes from
 * another CA each leave one record "auth failed: <verify reason>", are
 * counted as failed, and release their ids.
 */
#include "test.h"

#include <string.h>

#include "rt_fixture.h"

/* A client the server rejects (`cert` NULL: none) leaves one failed
 * record naming `want`. With TLS 1.3 the client's handshake ends before
 * the server has checked the client certificate, so the rejection (an
 * alert) may only show on the first read; either way the connection ends
 * in a failure. */
static void rejected(rt_fixture *f, const memtls_pem *cert, const char *want)
{
    rt_start(f);
    int ok = 0;
    rc_conn *c = rt_try_connect(f, (rc_how){.cert = cert}, &ok);
    if (ok) {
        assert_int_equal(rc_wait_failure(c, TEST_TIMEOUT_MS), 0);
    }
    rt_finish(f, 1);
    assert_int_equal(f->log.clean, 0);
    assert_true(rc_log_has(&f->log, "auth failed: "));
    assert_true(rc_log_has(&f->log, want));
    assert_int_equal(f->stats.conns_failed, 1);
}

/* Test: no client certificate at all. */
static void test_no_client_cert(void **state)
{
    rejected(*state, NULL, "peer did not return a certificate");
}

/* Test: a client certificate issued by a CA the server does not trust. */
static void test_wrong_ca(void **state)
{
    rt_fixture *f = *state;
    rejected(f, &rt_other_pki(f)->client, "unable to get local issuer certificate");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_no_client_cert, rt_setup_client_certs),
        RT_TEST(test_wrong_ca, rt_setup_client_certs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
