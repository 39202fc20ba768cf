/*
 * test_runtime_allowlist.c - the peer allow-list on a mutual-TLS listener:
 * a client whose certificate names an allowed peer (SAN DNS:client.test)
 * is served; a client with another certificate from the same CA (valid,
 * but named other.test) is closed after the handshake, and its record says
 * "peer not allowed" with the certificate's subject.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "runtime_client.h"
#include "testpki.h"

/* Test: allowed client echoes; a CA-valid but unlisted client is closed. */
static void test_allowlist(void **state)
{
    (void)state;
    rc_pki pki;
    rc_pki_make(&pki);
    memtls_pem other = testpki_leaf(&pki.ca, MEMTLS_CERT_CLIENT, MEMTLS_KEY_EC_P256, "other.test",
                                    "DNS:other.test", 0, 0);
    memtls_config *cfg = rc_server_config(&pki, MEMTLS_VERIFY_REQUIRED);
    rc_log log;
    rc_log_init(&log);
    memtls_server_opts o;
    memtls_listener_opts l;
    rc_opts_default(&o, &l, 0, cfg, &log);
    static const char *const allowed[] = {"nobody.test", "client.test"};
    o.allowed_peers = allowed;
    o.allowed_peer_count = 2;
    char err[256];
    memtls_server *srv = memtls_server_new(&o, err, sizeof err);
    assert_non_null(srv);
    assert_int_equal(memtls_server_start(srv), 0);
    uint16_t port = memtls_server_bound_port(srv, 0);

    /* On the list: served. */
    rc_conn c;
    assert_int_equal(rc_connect_tls(&c, NULL, port, &pki.ca, &pki.client, 10000), 0);
    assert_int_equal(rc_echo(&c, 1, 64 * 1024, 10000), 0);
    assert_int_equal(rc_close(&c, 10000), 0);
    rc_free(&c);
    assert_int_equal(rc_log_wait(&log, 1, 10000), 0);
    assert_true(rc_log_has(&log, "peer closed"));

    /* Valid for the CA, not on the list: the handshake completes, then the
     * server closes (close_notify) without echoing anything. */
    assert_int_equal(rc_connect_tls(&c, NULL, port, &pki.ca, &other, 10000), 0);
    assert_true(rc_io_write(&c, "hello", 5) == 5);
    assert_int_equal(rc_expect_close(&c, 10000), 0);
    rc_free(&c);

    assert_int_equal(rc_log_wait(&log, 2, 10000), 0);
    assert_int_equal(rc_wait_open(srv, 0, 10000), 0);
    memtls_server_stats st;
    assert_int_equal(memtls_server_get_stats(srv, &st), 0);
    memtls_server_stop(srv, 1000);
    rc_log_dump(&log);
    assert_int_equal(rc_log_count(&log), 2);
    assert_int_equal(log.clean, 1);
    assert_true(rc_log_has(&log, "peer not allowed: "));
    assert_true(rc_log_has(&log, "CN=other.test"));
    assert_int_equal(st.conns_failed, 1);
    memtls_server_free(srv);
    memtls_config_free(cfg);
    memtls_pem_free(&other);
    rc_log_destroy(&log);
    rc_pki_free(&pki);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allowlist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
