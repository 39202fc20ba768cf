/*
 * Test: cipher configuration. The defaults negotiate only forward-secret
 * AEAD suites; a TLS 1.2 list that selects a non-AEAD cipher (CBC, RC4,
 * NULL) or nothing at all is rejected with MEMTLS_ERR_CONFIG and leaves the
 * configuration as it was; AEAD lists and TLS 1.3 suites are accepted and
 * take effect.
 */
#include "test.h"
#include <string.h>

#include <openssl/ssl.h>

#include <memtls/config.h>
#include <memtls/context.h>
#include <memtls/openssl.h>

#include "pump.h"
#include "tlspair.h"

/* Every TLS 1.2 suite the configuration would offer is ECDHE + AEAD. */
static void assert_only_aead(memtls_config *cfg)
{
    STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(memtls_config_ssl_ctx(cfg));
    assert_true(sk_SSL_CIPHER_num(sk) > 0);
    for (int i = 0; i < sk_SSL_CIPHER_num(sk); i++) {
        const SSL_CIPHER *c = sk_SSL_CIPHER_value(sk, i);
        if (strcmp(SSL_CIPHER_get_version(c), "TLSv1.3") == 0) {
            continue;
        }
        if (!SSL_CIPHER_is_aead(c) || SSL_CIPHER_get_kx_nid(c) != NID_kx_ecdhe) {
            print_error("default offers %s\n", SSL_CIPHER_get_name(c));
            fail();
        }
    }
}

static void test_defaults_are_aead(void **state)
{
    memtls_config *c = memtls_config_new(MEMTLS_ROLE_CLIENT);
    memtls_config *s = memtls_config_new(MEMTLS_ROLE_SERVER);
    assert_only_aead(c);
    assert_only_aead(s);
    /* And TLS 1.2 is the floor. */
    assert_int_equal(SSL_CTX_get_min_proto_version(memtls_config_ssl_ctx(c)), TLS1_2_VERSION);
    memtls_config_free(c);
    memtls_config_free(s);
}

static void test_non_aead_rejected(void **state)
{
    static const char *const bad[] = {
        "AES128-SHA",                        /* RSA kx, CBC */
        "ECDHE-RSA-AES128-SHA",              /* CBC */
        "ECDHE-ECDSA-AES256-SHA384",         /* CBC */
        "ECDHE+AESGCM:ECDHE-RSA-AES128-SHA", /* one bad apple */
        "DEFAULT",                           /* includes CBC suites */
    };
    memtls_config *cfg = memtls_config_new(MEMTLS_ROLE_SERVER);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        print_message("list: %s\n", bad[i]);
        assert_int_equal(memtls_config_set_ciphers(cfg, bad[i]), MEMTLS_ERR_CONFIG);
        assert_true(text_has(memtls_config_error(cfg), "not an AEAD"));
        assert_true(text_has(memtls_config_error(cfg), bad[i]));
        /* The previous list is untouched. */
        assert_only_aead(cfg);
    }
    memtls_config_free(cfg);
}

static void test_nothing_selected_rejected(void **state)
{
    memtls_config *cfg = memtls_config_new(MEMTLS_ROLE_SERVER);
    assert_int_equal(memtls_config_set_ciphers(cfg, "NO-SUCH-CIPHER"), MEMTLS_ERR_CONFIG);
    assert_true(text_has(memtls_config_error(cfg), "selects no cipher"));
    assert_int_equal(memtls_config_set_ciphers(cfg, "eNULL"), MEMTLS_ERR_CONFIG);
    assert_int_equal(memtls_config_set_ciphersuites(cfg, "TLS_NO_SUCH_SUITE"), MEMTLS_ERR_CONFIG);
    assert_true(text_has(memtls_config_error(cfg), "TLS_NO_SUCH_SUITE"));
    assert_only_aead(cfg);
    memtls_config_free(cfg);
}

/* Test: an accepted AEAD list takes effect in the handshake (TLS 1.2 and
 * the TLS 1.3 suite setting). */
static void test_aead_lists_take_effect(void **state)
{
    tlspair p;
    tlspair_opts o = {0};
    o.version = MEMTLS_TLS1_2;
    tlspair_init(&p, &o);
    assert_int_equal(memtls_config_set_ciphers(p.scfg, "ECDHE-ECDSA-CHACHA20-POLY1305"), 0);
    assert_string_equal(memtls_config_error(p.scfg), "");
    tlspair_contexts(&p, "localhost");
    tlspair_handshake(&p);
    assert_string_equal(memtls_ctx_cipher(p.c), "ECDHE-ECDSA-CHACHA20-POLY1305");
    tlspair_free(&p);

    o.version = MEMTLS_TLS1_3;
    tlspair_init(&p, &o);
    assert_int_equal(memtls_config_set_ciphersuites(p.ccfg, "TLS_AES_128_GCM_SHA256"), 0);
    tlspair_contexts(&p, "localhost");
    tlspair_handshake(&p);
    assert_string_equal(memtls_ctx_cipher(p.s), "TLS_AES_128_GCM_SHA256");
    tlspair_free(&p);

    /* No common TLS 1.2 suite: the handshake fails (not silently weaker). */
    o.version = MEMTLS_TLS1_2;
    tlspair_init(&p, &o);
    assert_int_equal(memtls_config_set_ciphers(p.scfg, "ECDHE-ECDSA-AES256-GCM-SHA384"), 0);
    assert_int_equal(memtls_config_set_ciphers(p.ccfg, "ECDHE-ECDSA-AES128-GCM-SHA256"), 0);
    tlspair_contexts(&p, "localhost");
    int crc = -1;
    int src = -1;
    assert_false(pump_handshake(p.c, p.s, 0, &crc, &src));
    assert_int_equal(src, MEMTLS_ERR_SSL);
    assert_true(text_has(memtls_ctx_error(p.s), "no shared cipher"));
    tlspair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_aead),
        cmocka_unit_test(test_non_aead_rejected),
        cmocka_unit_test(test_nothing_selected_rejected),
        cmocka_unit_test(test_aead_lists_take_effect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
