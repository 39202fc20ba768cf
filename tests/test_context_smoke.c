/* Test: a TLS 1.3 handshake and a round trip between two contexts. */
#include "test.h"
#include <string.h>

#include <memtls/context.h>

#include "pump.h"
#include "testpki.h"

static void test_round_trip(void **state)
{
    memtls_pem ca = testpki_ca(MEMTLS_KEY_EC_P256);
    memtls_pem srv =
        testpki_leaf(&ca, MEMTLS_CERT_SERVER, MEMTLS_KEY_EC_P256, "localhost", "localhost", 0, 0);
    memtls_config *scfg = memtls_config_new(MEMTLS_ROLE_SERVER);
    memtls_config *ccfg = memtls_config_new(MEMTLS_ROLE_CLIENT);
    assert_int_equal(
        memtls_config_load_cert_pem(scfg, srv.cert, srv.cert_len, srv.key, srv.key_len), 0);
    assert_int_equal(memtls_config_load_ca_pem(ccfg, ca.cert, ca.cert_len), 0);
    memtls_ctx *s = memtls_ctx_new(scfg);
    memtls_ctx *c = memtls_ctx_new(ccfg);
    assert_non_null(s);
    assert_non_null(c);
    assert_int_equal(memtls_ctx_set_hostname(c, "localhost"), 0);
    int crc, src;
    assert_true(pump_handshake(c, s, 0, &crc, &src));
    assert_string_equal(memtls_ctx_protocol(c), "TLSv1.3");
    assert_true(memtls_ctx_peer_verified(c));
    assert_string_equal(memtls_ctx_sni(s), "localhost");
    size_t n = 0;
    assert_int_equal(memtls_ctx_write(c, "hello", 5, &n), 0);
    assert_int_equal(n, 5);
    pump_both(c, s);
    char buf[64];
    assert_got(memtls_ctx_read(s, buf, sizeof buf, &n), buf, n, "hello");
    memtls_ctx_free(s);
    memtls_ctx_free(c);
    memtls_config_free(scfg);
    memtls_config_free(ccfg);
    memtls_pem_free(&ca);
    memtls_pem_free(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_round_trip)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
