/*
 * test_runtime_allowlist.c - the peer allow-list on a mutual-TLS listener:
 * a client whose certificate names an allowed peer (SAN DNS:client.test)
 * is served; a client with another certificate from the same CA (valid,
 * but named other.test) is closed after the handshake, and its record says
 * "peer not allowed" with the certificate's subject.
 */
#include "test.h"

#include <string.h>

#include "rt_fixture.h"
#include "testpki.h"

/* Test: allowed client echoes; a CA-valid but unlisted client is closed. */
static void test_allowlist(void **state)
{
    rt_fixture *f = *state;
    const memtls_pem *other =
        rt_keep_pem(f, testpki_leaf(&f->pki.ca, MEMTLS_CERT_CLIENT, MEMTLS_KEY_EC_P256,
                                    "other.test", "DNS:other.test", 0, 0));
    static const char *const allowed[] = {"nobody.test", "client.test"};
    f->opts.allowed_peers = allowed;
    f->opts.allowed_peer_count = 2;
    rt_start(f);

    /* On the list: served. */
    rc_conn *c = rt_connect(f, (rc_how){.cert = &f->pki.client});
    assert_int_equal(rc_echo(c, 1, 64 * 1024, TEST_TIMEOUT_MS), 0);
    assert_int_equal(rc_close(c, TEST_TIMEOUT_MS), 0);
    assert_int_equal(rc_log_wait(&f->log, 1, TEST_TIMEOUT_MS), 0);
    assert_true(rc_log_has(&f->log, "peer closed"));

    /* Valid for the CA, not on the list: the handshake completes, then the
     * server closes (close_notify) without echoing anything. */
    c = rt_connect(f, (rc_how){.cert = other});
    assert_true(rc_io_write(c, "hello", 5) == 5);
    assert_int_equal(rc_expect_close(c, TEST_TIMEOUT_MS), 0);

    rt_finish(f, 2);
    assert_int_equal(f->log.clean, 1);
    assert_true(rc_log_has(&f->log, "peer not allowed: "));
    assert_true(rc_log_has(&f->log, "CN=other.test"));
    assert_int_equal(f->stats.conns_failed, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_allowlist, rt_setup_client_certs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
