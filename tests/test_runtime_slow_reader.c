/*
 * test_runtime_slow_reader.c - a client that sends but stops reading. Its
 * echo backs up (host write queue, credit, session pending_out, session
 * input) until the host stops reading its socket, so its sends stall;
 * meanwhile other clients on the same workers keep flowing. When it reads
 * again, everything arrives intact.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "runtime_client.h"

#define SLOW_BYTES (48u * 1024 * 1024)

/* Test: one stalled client does not stall the others. */
static void test_slow_reader(void **state)
{
    (void)state;
    rc_pki pki;
    rc_pki_make(&pki);
    memtls_config *cfg = rc_server_config(&pki, MEMTLS_VERIFY_NONE);
    memtls_server_opts o;
    memtls_listener_opts l;
    rc_opts_default(&o, &l, 0, cfg, NULL);
    o.ring_capacity = 4096;
    o.write_window = 16 * 1024;
    o.workers = 1; /* the slow client shares its worker with the others */
    o.session_limits.plaintext_in = 16 * 1024;
    o.session_limits.plaintext_out = 32 * 1024;
    o.session_limits.ciphertext_out = 32 * 1024;
    o.session_limits.ciphertext_in = 32 * 1024;
    char err[256];
    memtls_server *srv = memtls_server_new(&o, err, sizeof err);
    assert_non_null(srv);
    assert_int_equal(memtls_server_start(srv), 0);
    uint16_t port = memtls_server_bound_port(srv, 0);

    /* Small client buffers: what the kernel can absorb is then mostly the
     * server's socket buffers (a few MiB on loopback), well under
     * SLOW_BYTES, so a stall proves the server stopped reading. */
    rc_set_sockbuf(64 * 1024);
    rc_conn slow;
    assert_int_equal(rc_connect(&slow, port, 1, &pki, 0, 10000), 0);
    rc_stream s;
    rc_stream_init(&s, 77, SLOW_BYTES);
    assert_int_equal(rc_stream_send_until_stalled(&slow, &s, 300), 0);
    /* Backpressure reached the socket: the server stopped reading. */
    if (s.sent >= SLOW_BYTES) {
        print_error("slow client sent all %u bytes without reading\n", SLOW_BYTES);
    }
    assert_true(s.sent < SLOW_BYTES);

    rc_set_sockbuf(0);
    /* Others keep flowing while the slow one is stuck. */
    for (unsigned i = 0; i < 4; i++) {
        rc_conn c;
        assert_int_equal(rc_connect(&c, port, 1, &pki, 0, 10000), 0);
        assert_int_equal(rc_echo(&c, 200 + i, 256 * 1024, 20000), 0);
        assert_int_equal(rc_close(&c, 10000), 0);
        rc_free(&c);
    }

    /* The slow reader reads again: every byte arrives, in order. */
    assert_int_equal(rc_stream_run(&slow, &s, 120000), 0);
    assert_int_equal(rc_close(&slow, 10000), 0);
    rc_stream_free(&s);
    rc_free(&slow);

    assert_int_equal(rc_wait_open(srv, 0, 10000), 0);
    memtls_server_stats st;
    assert_int_equal(memtls_server_get_stats(srv, &st), 0);
    assert_int_equal(st.conns_total, 5);
    memtls_server_free(srv);
    memtls_config_free(cfg);
    rc_pki_free(&pki);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
