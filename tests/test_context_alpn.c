/*
 * Test: ALPN. Agreement (the server's preference wins), no overlap (the
 * handshake continues without ALPN), strict mode (no overlap fails the
 * handshake with no_application_protocol), and one side without ALPN.
 */
#include "test.h"
#include <string.h>

#include <memtls/context.h>

#include "pump.h"
#include "tlspair.h"

/* Set up a pair with these ALPN lists (count 0: none) and handshake. */
static int alpn_pair(tlspair *p, int version, const char *const *client, size_t nc,
                     const char *const *server, size_t ns, int strict, int *crc, int *src)
{
    tlspair_opts o = {0};
    o.version = version;
    tlspair_init(p, &o);
    if (nc > 0) {
        assert_int_equal(memtls_config_set_alpn(p->ccfg, client, nc), 0);
    }
    if (ns > 0) {
        assert_int_equal(memtls_config_set_alpn(p->scfg, server, ns), 0);
    }
    assert_int_equal(memtls_config_set_alpn_strict(p->scfg, strict), 0);
    tlspair_contexts(p, "localhost");
    assert_string_equal(memtls_ctx_alpn(p->c), "");
    return pump_handshake(p->c, p->s, 0, crc, src);
}

static const int versions[] = {MEMTLS_TLS1_2, MEMTLS_TLS1_3};

static const char *const h2_http11[] = {"h2", "http/1.1"};
static const char *const http11_h2[] = {"http/1.1", "h2"};
static const char *const h2[] = {"h2"};
static const char *const http11[] = {"http/1.1"};

/* Handshakes that complete, and what they agree on ("": no ALPN). */
static const struct {
    const char *what;
    const char *const *client;
    size_t nc;
    const char *const *server;
    size_t ns;
    int strict;
    const char *agreed;
} agreements[] = {
    {"both offer both: the server's first choice wins", h2_http11, 2, http11_h2, 2, 0, "http/1.1"},
    {"one common protocol", h2_http11, 2, h2, 1, 1, "h2"},
    {"no overlap: the handshake continues without ALPN", h2, 1, http11, 1, 0, ""},
    /* Strict only applies when the client offered ALPN. */
    {"the client offers none (strict server)", NULL, 0, h2, 1, 1, ""},
    {"the server has none", h2, 1, NULL, 0, 0, ""},
};

/* Test: every row of `agreements`, with TLS 1.2 and TLS 1.3; traffic
 * flows afterwards. */
static void test_agreements(void **state)
{
    for (size_t k = 0; k < sizeof agreements / sizeof agreements[0]; k++) {
        for (size_t i = 0; i < 2; i++) {
            print_message("%s (TLS 1.%d)\n", agreements[k].what, (versions[i] & 0xff) - 1);
            tlspair p;
            int crc;
            int src;
            assert_true(alpn_pair(&p, versions[i], agreements[k].client, agreements[k].nc,
                                  agreements[k].server, agreements[k].ns, agreements[k].strict,
                                  &crc, &src));
            assert_string_equal(memtls_ctx_alpn(p.c), agreements[k].agreed);
            assert_string_equal(memtls_ctx_alpn(p.s), agreements[k].agreed);
            tlspair_transfer(p.c, p.s, "GET /", 5);
            tlspair_free(&p);
        }
    }
}

static void test_mismatch_strict_fails(void **state)
{
    static const char *const client[] = {"h2", "spdy/3"};
    static const char *const server[] = {"http/1.1"};
    for (size_t i = 0; i < 2; i++) {
        tlspair p;
        int crc = -1;
        int src = -1;
        assert_false(alpn_pair(&p, versions[i], client, 2, server, 1, 1, &crc, &src));
        /* A protocol failure on both sides, not an authentication one. */
        assert_int_equal(src, MEMTLS_ERR_SSL);
        assert_int_equal(crc, MEMTLS_ERR_SSL);
        assert_true(text_has(memtls_ctx_error(p.c), "no application protocol"));
        assert_false(memtls_ctx_handshake_done(p.c));
        assert_false(memtls_ctx_handshake_done(p.s));
        assert_string_equal(memtls_ctx_alpn(p.c), "");
        tlspair_free(&p);
    }
}

/* Test: a 255-byte protocol name (the maximum) is negotiated intact. */
static void test_long_name(void **state)
{
    char name[256];
    memset(name, 'x', 255);
    name[255] = '\0';
    const char *const list[] = {name};
    tlspair p;
    int crc;
    int src;
    assert_true(alpn_pair(&p, 0, list, 1, list, 1, 1, &crc, &src));
    assert_string_equal(memtls_ctx_alpn(p.c), name);
    assert_string_equal(memtls_ctx_alpn(p.s), name);
    tlspair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agreements),
        cmocka_unit_test(test_mismatch_strict_fails),
        cmocka_unit_test(test_long_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
