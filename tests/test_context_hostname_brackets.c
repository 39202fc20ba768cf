/*
 * test_context_hostname_brackets.c - memtls_ctx_set_hostname() takes an
 * IPv6 literal as URLs and HOST:PORT strings write it, "[::1]": it is the
 * IP ::1 (matched against IP SANs, never sent as SNI), not a DNS name
 * "[::1]" that no certificate can match.
 */
#include "test.h"
#include <string.h>

#include <memtls/context.h>

#include "pump.h"
#include "testpki.h"
#include "tlspair.h"

static int handshake_with(const char *hostname)
{
    tlspair p;
    tlspair_opts o = {0};
    tlspair_init(&p, &o);
    memtls_pem leaf =
        testpki_leaf(&p.ca, MEMTLS_CERT_SERVER, MEMTLS_KEY_EC_P256, "v6", "IP:::1", 0, 0);
    testpki_load(p.scfg, &leaf);
    tlspair_contexts(&p, hostname);
    int crc = -1;
    int src = -1;
    int ok = pump_handshake(p.c, p.s, 0, &crc, &src);
    if (ok) {
        /* An IP literal is not a server name: no SNI went out. */
        assert_string_equal(memtls_ctx_sni(p.s), "");
    }
    tlspair_free(&p);
    memtls_pem_free(&leaf);
    return ok;
}

/* Test: "[::1]" verifies against a certificate for IP ::1, like "::1". */
static void test_brackets_are_the_address(void **state)
{
    (void)state;
    assert_true(handshake_with("::1"));
    assert_true(handshake_with("[::1]"));
}

/* Test: the address still has to match: "[::2]" fails verification. */
static void test_brackets_still_verified(void **state)
{
    (void)state;
    assert_false(handshake_with("[::2]"));
}

/* Test: "[]" names nothing and is refused. */
static void test_empty_brackets_refused(void **state)
{
    (void)state;
    tlspair p;
    tlspair_opts o = {0};
    tlspair_init(&p, &o);
    memtls_ctx *c = memtls_ctx_new(p.ccfg);
    assert_non_null(c);
    assert_int_equal(memtls_ctx_set_hostname(c, "[]"), MEMTLS_ERR_INVALID);
    memtls_ctx_free(c);
    tlspair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_brackets_are_the_address),
        cmocka_unit_test(test_brackets_still_verified),
        cmocka_unit_test(test_empty_brackets_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
