/*
 * Test: key exchange groups. The default offers and accepts the elliptic
 * curves only: a client that offers nothing but a finite-field group is
 * refused, and X25519 is what two defaults agree on. A server's list
 * decides (a retry request brings the client to it); a list with an
 * unknown name, an empty name, too many names or too many bytes is refused
 * with the reason and leaves the configuration as it was.
 */
#include "test.h"
#include <string.h>

#include <openssl/obj_mac.h>
#include <openssl/ssl.h>

#include <memtls/config.h>
#include <memtls/context.h>
#include <memtls/openssl.h>

#include "pump.h"
#include "tlspair.h"

/* Handshake `p` (contexts made here); 1 if it completed. On failure the
 * server must report a TLS error (MEMTLS_ERR_SSL). */
static int try_handshake(tlspair *p)
{
    int crc = -1;
    int src = -1;
    tlspair_contexts(p, "localhost");
    int ok = pump_handshake(p->c, p->s, 0, &crc, &src);
    if (!ok) {
        assert_int_equal(src, MEMTLS_ERR_SSL);
    }
    return ok;
}

static int negotiated(const tlspair *p)
{
    return SSL_get_negotiated_group(memtls_ctx_ssl(p->s));
}

/* A `version` handshake between a client with groups `client` and a
 * server with groups `server` (NULL: the default) agrees on group `nid`,
 * or fails (nid 0). */
static void expect_group(int version, const char *client, const char *server, int nid)
{
    tlspair p;
    tlspair_opts o = {0};
    o.version = version;
    print_message("client %s, server %s\n", client ? client : "default",
                  server ? server : "default");
    tlspair_init(&p, &o);
    if (client != NULL) {
        assert_int_equal(memtls_config_set_groups(p.ccfg, client), 0);
    }
    if (server != NULL) {
        assert_int_equal(memtls_config_set_groups(p.scfg, server), 0);
    }
    if (nid == 0) {
        assert_false(try_handshake(&p));
    } else {
        assert_true(try_handshake(&p));
        assert_int_equal(negotiated(&p), nid);
    }
    tlspair_free(&p);
}

/* Test: two defaults agree on X25519, in TLS 1.3 and TLS 1.2. */
static void test_default_is_x25519(void **state)
{
    (void)state;
    expect_group(MEMTLS_TLS1_3, NULL, NULL, NID_X25519);
    expect_group(MEMTLS_TLS1_2, NULL, NULL, NID_X25519);
}

/* Test: a client offering only finite-field groups is refused by a
 * default server, and served by one that allows them. */
static void test_ffdhe_only_client(void **state)
{
    (void)state;
    expect_group(MEMTLS_TLS1_3, "ffdhe2048:ffdhe8192", NULL, 0);
    expect_group(MEMTLS_TLS1_3, "ffdhe2048", "X25519:ffdhe2048", NID_ffdhe2048);
}

/* Test: the server's list decides. A client whose key share is for a
 * group the server does not allow is asked for another (a retry request)
 * and the handshake completes on the server's group; with no group in
 * common it fails. Names in any of OpenSSL's spellings. */
static void test_server_list_decides(void **state)
{
    (void)state;
    expect_group(MEMTLS_TLS1_3, "P-384:X25519", "X25519", NID_X25519);
    expect_group(MEMTLS_TLS1_3, "P-521", "P-256:X25519", 0);
    expect_group(MEMTLS_TLS1_3, "prime256v1", "secp384r1:P-256", NID_X9_62_prime256v1);
}

/* After a refused list the configuration still has its groups: a client
 * offering X25519 only is served. */
static void assert_still_default(memtls_config *scfg)
{
    tlspair p;
    tlspair_opts o = {0};
    o.version = MEMTLS_TLS1_3;
    tlspair_init(&p, &o);
    memtls_config_free(p.scfg);
    p.scfg = memtls_config_ref(scfg);
    assert_int_equal(memtls_config_load_cert_pem(scfg, p.server_pem.cert, p.server_pem.cert_len,
                                                 p.server_pem.key, p.server_pem.key_len),
                     0);
    assert_int_equal(memtls_config_set_groups(p.ccfg, "X25519"), 0);
    assert_true(try_handshake(&p));
    assert_int_equal(negotiated(&p), NID_X25519);
    tlspair_free(&p);
}

/* Test: bad lists are refused with the reason; nothing changes. */
static void test_bad_lists(void **state)
{
    (void)state;
    char many[600] = "";
    for (int i = 0; i < 33; i++) {
        strcat(many, i == 0 ? "X25519" : ":X25519");
    }
    char longest[600];
    memset(longest, 'x', 513);
    longest[513] = '\0';
    static const struct {
        const char *list;
        int status;
        const char *says;
    } cases[] = {
        {"", MEMTLS_ERR_INVALID, "empty"},
        {"X25519::P-256", MEMTLS_ERR_CONFIG, "empty name"},
        {":X25519", MEMTLS_ERR_CONFIG, "empty name"},
        {"X25519:", MEMTLS_ERR_CONFIG, "empty name"},
        {"X25519:NO-SUCH-GROUP", MEMTLS_ERR_CONFIG, "'NO-SUCH-GROUP'"},
        {"X25519,P-256", MEMTLS_ERR_CONFIG, "'X25519,P-256'"},
    };
    memtls_config *s = memtls_config_new(MEMTLS_ROLE_SERVER);
    assert_non_null(s);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        print_message("list: '%s'\n", cases[i].list);
        assert_int_equal(memtls_config_set_groups(s, cases[i].list), cases[i].status);
        if (!text_has(memtls_config_error(s), cases[i].says)) {
            print_error("error '%s' does not say '%s'\n", memtls_config_error(s), cases[i].says);
            fail();
        }
    }
    assert_int_equal(memtls_config_set_groups(s, many), MEMTLS_ERR_CONFIG);
    assert_true(text_has(memtls_config_error(s), "more than 32"));
    assert_int_equal(memtls_config_set_groups(s, longest), MEMTLS_ERR_INVALID);
    assert_true(text_has(memtls_config_error(s), "longer than 512"));
    assert_int_equal(memtls_config_set_groups(s, NULL), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_config_set_groups(NULL, "X25519"), MEMTLS_ERR_INVALID);
    assert_still_default(s);
    memtls_config_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_is_x25519),
        cmocka_unit_test(test_ffdhe_only_client),
        cmocka_unit_test(test_server_list_decides),
        cmocka_unit_test(test_bad_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
