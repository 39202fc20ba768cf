/*
 * Test: garbage fed as ciphertext. The read or handshake that meets it
 * returns MEMTLS_ERR_SSL, the context writes a fatal alert into its write
 * BIO (memtls_ctx_pending_out() > 0) which, delivered, makes the peer fail
 * too, and the failure sticks with its first reason.
 */
#include "test.h"
#include <string.h>

#include <memtls/context.h>

#include "pump.h"
#include "tlspair.h"

static const int versions[] = {MEMTLS_TLS1_2, MEMTLS_TLS1_3};

/* Consume TLS 1.3 tickets so both sides have empty BIOs. */
static void settle(tlspair *p)
{
    uint8_t buf[16];
    size_t n = 0;
    assert_int_equal(memtls_ctx_read(p->c, buf, sizeof buf, &n), MEMTLS_WANT_READ);
    assert_int_equal(memtls_ctx_read(p->s, buf, sizeof buf, &n), MEMTLS_WANT_READ);
    assert_int_equal(memtls_ctx_pending_out(p->c), 0);
    assert_int_equal(memtls_ctx_pending_out(p->s), 0);
}

/* `victim` was fed garbage; check the failure, the alert, its delivery. */
static void assert_garbage_failure(memtls_ctx *victim, memtls_ctx *peer, const char *reason)
{
    uint8_t buf[64];
    size_t n = 99;
    assert_int_equal(memtls_ctx_read(victim, buf, sizeof buf, &n), MEMTLS_ERR_SSL);
    assert_int_equal(n, 0);
    assert_true(text_has(memtls_ctx_error(victim), reason));
    /* The fatal alert waits in the write BIO: one record. */
    size_t alert = memtls_ctx_pending_out(victim);
    assert_true(alert >= 7);

    /* Sticky: more calls fail the same way, the first reason is kept and
     * no second alert is produced. */
    char first[512];
    strncpy(first, memtls_ctx_error(victim), sizeof first - 1);
    first[sizeof first - 1] = '\0';
    assert_int_equal(memtls_ctx_feed(victim, "\x17\x03\x03\x00\x01Z", 6), 0);
    assert_status_no_bytes(MEMTLS_ERR_SSL, memtls_ctx_read(victim, buf, sizeof buf, &n), n);
    assert_status_no_bytes(MEMTLS_ERR_SSL, memtls_ctx_write(victim, "x", 1, &n), n);
    assert_int_equal(memtls_ctx_handshake(victim), MEMTLS_ERR_SSL);
    assert_string_equal(memtls_ctx_error(victim), first);
    assert_int_equal(memtls_ctx_pending_out(victim), alert);

    /* Delivered, the alert ends the peer's session too. */
    pump_one_way(victim, peer, 0);
    assert_status_no_bytes(MEMTLS_ERR_SSL, memtls_ctx_read(peer, buf, sizeof buf, &n), n);
    assert_true(text_has(memtls_ctx_error(peer), "alert"));
}

/* Test: a forged application-data record (right header, random body)
 * after the handshake: authentication of the record fails. */
static void test_forged_record(void **state)
{
    for (size_t i = 0; i < 2; i++) {
        for (int to_server = 0; to_server < 2; to_server++) {
            print_message("case: %s, to %s\n", versions[i] == MEMTLS_TLS1_2 ? "TLS 1.2" : "TLS 1.3",
                          to_server ? "server" : "client");
            tlspair p;
            tlspair_opts o = {0};
            o.version = versions[i];
            tlspair_connect(&p, &o, "localhost");
            settle(&p);
            uint8_t rec[5 + 64] = {0x17, 0x03, 0x03, 0x00, 64};
            fill_pattern(rec + 5, 64, 7);
            memtls_ctx *victim = to_server ? p.s : p.c;
            memtls_ctx *peer = to_server ? p.c : p.s;
            assert_int_equal(memtls_ctx_feed(victim, rec, sizeof rec), 0);
            assert_garbage_failure(victim, peer, "bad record mac");
            tlspair_free(&p);
        }
    }
}

/* Test: bytes that are not TLS at all after the handshake. */
static void test_non_tls_after_handshake(void **state)
{
    for (size_t i = 0; i < 2; i++) {
        tlspair p;
        tlspair_opts o = {0};
        o.version = versions[i];
        tlspair_connect(&p, &o, "localhost");
        settle(&p);
        uint8_t junk[100];
        memset(junk, 0xAA, sizeof junk);
        assert_int_equal(memtls_ctx_feed(p.s, junk, sizeof junk), 0);
        assert_garbage_failure(p.s, p.c, "wrong version number");
        tlspair_free(&p);
    }
}

/*
 * Test: a handshake record with a garbage body where the peer's first
 * flight should be. Before keys exist the alert is a plaintext alert
 * record: type 21, level fatal (2).
 */
static void test_garbage_handshake_record(void **state)
{
    static const uint8_t bad[] = {0x16, 0x03, 0x01, 0x00, 0x08, 0xEE, 0xEE,
                                  0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE};
    for (int to_server = 0; to_server < 2; to_server++) {
        print_message("case: to %s\n", to_server ? "server" : "client");
        tlspair p;
        tlspair_init(&p, NULL);
        tlspair_contexts(&p, "localhost");
        memtls_ctx *victim = to_server ? p.s : p.c;
        if (!to_server) {
            /* The client must have sent its hello first. */
            assert_int_equal(memtls_ctx_handshake(p.c), MEMTLS_WANT_READ);
            uint8_t hello[4096];
            size_t n = 0;
            assert_int_equal(memtls_ctx_drain(p.c, hello, sizeof hello, &n), 0);
            assert_true(n > 0);
        }
        assert_int_equal(memtls_ctx_feed(victim, bad, sizeof bad), 0);
        assert_int_equal(memtls_ctx_handshake(victim), MEMTLS_ERR_SSL);
        assert_false(memtls_ctx_handshake_done(victim));
        assert_true(memtls_ctx_error(victim)[0] != '\0');
        uint8_t out[64];
        size_t n = 0;
        assert_int_equal(memtls_ctx_pending_out(victim), 7);
        assert_int_equal(memtls_ctx_drain(victim, out, sizeof out, &n), 0);
        assert_int_equal(n, 7);
        assert_int_equal(out[0], 21); /* alert */
        assert_int_equal(out[3], 0);
        assert_int_equal(out[4], 2);
        assert_int_equal(out[5], 2); /* fatal */
        /* A protocol error is not an authentication failure. */
        assert_int_equal(memtls_ctx_handshake(victim), MEMTLS_ERR_SSL);
        tlspair_free(&p);
    }
}

/*
 * Test: bytes that do not even look like TLS as the very first input of a
 * server. OpenSSL deliberately sends no alert to something that is not a
 * TLS peer; the handshake still fails with MEMTLS_ERR_SSL, with the reason.
 */
static void test_not_tls_at_all(void **state)
{
    tlspair p;
    tlspair_init(&p, NULL);
    tlspair_contexts(&p, "localhost");
    static const char http[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    assert_int_equal(memtls_ctx_feed(p.s, http, sizeof http - 1), 0);
    assert_int_equal(memtls_ctx_handshake(p.s), MEMTLS_ERR_SSL);
    assert_true(text_has(memtls_ctx_error(p.s), "http request"));
    tlspair_free(&p);

    tlspair_init(&p, NULL);
    tlspair_contexts(&p, "localhost");
    uint8_t junk[64];
    memset(junk, 0x5A, sizeof junk);
    assert_int_equal(memtls_ctx_feed(p.s, junk, sizeof junk), 0);
    assert_int_equal(memtls_ctx_handshake(p.s), MEMTLS_ERR_SSL);
    assert_true(text_has(memtls_ctx_error(p.s), "wrong version number"));
    tlspair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forged_record),
        cmocka_unit_test(test_non_tls_after_handshake),
        cmocka_unit_test(test_garbage_handshake_record),
        cmocka_unit_test(test_not_tls_at_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
