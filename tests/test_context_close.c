/*
 * Test: close_notify each way. memtls_ctx_close() queues the alert in the
 * write BIO; the peer's read then returns MEMTLS_CLOSED (a clean
 * end of stream, not an error), after any data sent before the close.
 */
#include "test.h"
#include <string.h>

#include <memtls/context.h>

#include "pump.h"
#include "tlspair.h"

/*
 * `closer` sends "last words" then close_notify; `reader` must get the
 * words, then MEMTLS_CLOSED on every later read. The closer may
 * still read (half close): the reader answers, then closes too.
 */
static void close_one_way(memtls_ctx *closer, memtls_ctx *reader)
{
    uint8_t buf[256];
    size_t n = 0;

    /* Consume anything pending (TLS 1.3 tickets) so the reads below see
     * only what this test sends. */
    assert_int_equal(memtls_ctx_read(closer, buf, sizeof buf, &n), MEMTLS_WANT_READ);
    assert_int_equal(memtls_ctx_read(reader, buf, sizeof buf, &n), MEMTLS_WANT_READ);

    assert_int_equal(memtls_ctx_write(closer, "last words", 10, &n), 0);
    size_t before = memtls_ctx_pending_out(closer);
    assert_int_equal(memtls_ctx_close(closer), 0);
    /* The alert is queued, not sent anywhere: it waits to be drained. */
    assert_true(memtls_ctx_pending_out(closer) > before);
    /* Writing after close is refused and sends nothing. */
    size_t queued = memtls_ctx_pending_out(closer);
    assert_status_no_bytes(MEMTLS_CLOSED, memtls_ctx_write(closer, "more", 4, &n), n);
    /* A second close is a no-op. */
    assert_int_equal(memtls_ctx_close(closer), 0);
    assert_int_equal(memtls_ctx_pending_out(closer), queued);

    pump_one_way(closer, reader, 0);
    assert_got(memtls_ctx_read(reader, buf, sizeof buf, &n), buf, n, "last words");
    assert_false(memtls_ctx_peer_closed(reader));

    assert_status_no_bytes(MEMTLS_CLOSED, memtls_ctx_read(reader, buf, sizeof buf, &n), n);
    assert_true(memtls_ctx_peer_closed(reader));
    assert_false(memtls_ctx_truncated(reader));
    /* A clean close is not a failure: no error recorded. */
    assert_string_equal(memtls_ctx_error(reader), "");
    /* And it stays closed. */
    assert_status_no_bytes(MEMTLS_CLOSED, memtls_ctx_read(reader, buf, sizeof buf, &n), n);

    /* Half close: the reader may still answer, the closer still reads. */
    assert_int_equal(memtls_ctx_write(reader, "reply", 5, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(memtls_ctx_close(reader), 0);
    pump_one_way(reader, closer, 0);
    assert_got(memtls_ctx_read(closer, buf, sizeof buf, &n), buf, n, "reply");
    assert_int_equal(memtls_ctx_read(closer, buf, sizeof buf, &n), MEMTLS_CLOSED);
    assert_int_equal(n, 0);
    assert_true(memtls_ctx_peer_closed(closer));
    assert_false(memtls_ctx_truncated(closer));
    assert_string_equal(memtls_ctx_error(closer), "");
}

static void run_close(int version, int client_first)
{
    tlspair p;
    tlspair_opts o = {0};
    o.version = version;
    print_message("case: %s, %s closes first\n", version == MEMTLS_TLS1_2 ? "TLS 1.2" : "TLS 1.3",
                  client_first ? "client" : "server");
    tlspair_connect(&p, &o, "localhost");
    if (client_first) {
        close_one_way(p.c, p.s);
    } else {
        close_one_way(p.s, p.c);
    }
    tlspair_free(&p);
}

static void test_client_closes_tls12(void **state)
{
    run_close(MEMTLS_TLS1_2, 1);
}

static void test_server_closes_tls12(void **state)
{
    run_close(MEMTLS_TLS1_2, 0);
}

static void test_client_closes_tls13(void **state)
{
    run_close(MEMTLS_TLS1_3, 1);
}

static void test_server_closes_tls13(void **state)
{
    run_close(MEMTLS_TLS1_3, 0);
}

/* Test: closing before the handshake completed fails with MEMTLS_ERR_SSL,
 * queues nothing, and does not poison the context: the handshake can
 * still complete and the close then works. */
static void test_close_before_handshake(void **state)
{
    tlspair p;
    tlspair_init(&p, NULL);
    tlspair_contexts(&p, "localhost");
    assert_int_equal(memtls_ctx_close(p.c), MEMTLS_ERR_SSL);
    assert_int_equal(memtls_ctx_pending_out(p.c), 0);
    assert_string_equal(memtls_ctx_error(p.c), "");
    assert_int_equal(memtls_ctx_handshake(p.c), MEMTLS_WANT_READ);
    /* Mid-handshake too. */
    assert_int_equal(memtls_ctx_close(p.c), MEMTLS_ERR_SSL);
    tlspair_handshake(&p);
    close_one_way(p.c, p.s);
    tlspair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_closes_tls12),    cmocka_unit_test(test_server_closes_tls12),
        cmocka_unit_test(test_client_closes_tls13),    cmocka_unit_test(test_server_closes_tls13),
        cmocka_unit_test(test_close_before_handshake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
