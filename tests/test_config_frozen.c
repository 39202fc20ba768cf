/*
 * Test: creating the first context freezes a configuration. From then on
 * every setter returns MEMTLS_ERR_INVALID and says why, and changes
 * nothing; contexts keep the configuration alive after the caller frees
 * its reference.
 */
#include "test.h"
#include <string.h>

#include <memtls/config.h>
#include <memtls/context.h>

#include "pump.h"
#include "tlspair.h"

/* Every setter on `cfg` must fail as frozen. */
static void assert_all_setters_fail(memtls_config *cfg, const tlspair *p)
{
    static const char *const alpn[] = {"h2"};
    const memtls_pem *pem = &p->server_pem;
    const int want = MEMTLS_ERR_INVALID;
    assert_int_equal(
        memtls_config_load_cert_pem(cfg, pem->cert, pem->cert_len, pem->key, pem->key_len), want);
    assert_true(text_has(memtls_config_error(cfg), "in use"));
    assert_int_equal(memtls_config_load_cert_file(cfg, "/nonexistent.pem", "/nonexistent.key"),
                     want);
    assert_int_equal(memtls_config_load_ca_pem(cfg, p->ca.cert, p->ca.cert_len), want);
    assert_int_equal(memtls_config_load_ca_file(cfg, "/nonexistent.pem"), want);
    assert_int_equal(memtls_config_use_system_ca(cfg), want);
    assert_int_equal(memtls_config_set_verify(cfg, MEMTLS_VERIFY_NONE), want);
    assert_int_equal(memtls_config_set_alpn(cfg, alpn, 1), want);
    assert_int_equal(memtls_config_set_alpn_strict(cfg, 1), want);
    assert_int_equal(memtls_config_set_min_version(cfg, MEMTLS_TLS1_3), want);
    assert_int_equal(memtls_config_set_max_version(cfg, MEMTLS_TLS1_2), want);
    assert_int_equal(memtls_config_set_ciphers(cfg, "ECDHE+AESGCM"), want);
    assert_int_equal(memtls_config_set_ciphersuites(cfg, "TLS_AES_128_GCM_SHA256"), want);
    assert_int_equal(memtls_config_set_groups(cfg, "X25519"), want);
    assert_true(text_has(memtls_config_error(cfg), "in use"));
}

static void test_setters_fail_after_first_context(void **state)
{
    tlspair p;
    tlspair_init(&p, NULL);
    /* Before any context: setters work. */
    assert_int_equal(memtls_config_set_min_version(p.ccfg, MEMTLS_TLS1_2), 0);
    tlspair_contexts(&p, "localhost");
    assert_all_setters_fail(p.scfg, &p);
    assert_all_setters_fail(p.ccfg, &p);

    /* Nothing changed: the client still verifies (the refused set_verify
     * NONE did not apply) and TLS 1.3 is still allowed (the refused max
     * version did not apply). */
    tlspair_handshake(&p);
    assert_true(memtls_ctx_peer_verified(p.c));
    assert_string_equal(memtls_ctx_protocol(p.c), "TLSv1.3");

    /* Still frozen after every context is gone. */
    memtls_ctx_free(p.c);
    memtls_ctx_free(p.s);
    p.c = NULL;
    p.s = NULL;
    assert_int_equal(memtls_config_set_verify(p.ccfg, MEMTLS_VERIFY_NONE), MEMTLS_ERR_INVALID);
    tlspair_free(&p);
}

/* Test: many contexts from one configuration; the configuration outlives
 * the caller's reference (freed with the last context: ASan checks). */
static void test_contexts_hold_reference(void **state)
{
    tlspair p;
    tlspair_init(&p, NULL);
    memtls_ctx *servers[3];
    memtls_ctx *clients[3];
    for (int i = 0; i < 3; i++) {
        servers[i] = memtls_ctx_new(p.scfg);
        clients[i] = memtls_ctx_new(p.ccfg);
        assert_non_null(servers[i]);
        assert_non_null(clients[i]);
    }
    memtls_config_free(p.scfg);
    memtls_config_free(p.ccfg);
    p.scfg = NULL;
    p.ccfg = NULL;
    for (int i = 0; i < 3; i++) {
        int crc;
        int src;
        assert_true(pump_handshake(clients[i], servers[i], 0, &crc, &src));
        tlspair_transfer(clients[i], servers[i], "shared config", 13);
        memtls_ctx_free(clients[i]);
        memtls_ctx_free(servers[i]);
    }
    tlspair_free(&p);
}

/* Test: the plaintext twin does not involve a configuration at all. */
static void test_plaintext_does_not_freeze(void **state)
{
    memtls_config *cfg = memtls_config_new(MEMTLS_ROLE_CLIENT);
    memtls_ctx *t = memtls_ctx_new_plaintext(MEMTLS_ROLE_CLIENT);
    assert_int_equal(memtls_config_set_verify(cfg, MEMTLS_VERIFY_NONE), 0);
    memtls_ctx_free(t);
    memtls_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_setters_fail_after_first_context),
        cmocka_unit_test(test_contexts_hold_reference),
        cmocka_unit_test(test_plaintext_does_not_freeze),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
