/*
 * test_runtime_slow_reader.c - a client that sends but stops reading. Its
 * echo backs up (host write queue, credit, session pending_out, session
 * input) until the host stops reading its socket, so its sends stall;
 * meanwhile other clients on the same workers keep flowing. When it reads
 * again, everything arrives intact.
 */
#include "test.h"

#include <string.h>

#include "rt_fixture.h"

#define SLOW_BYTES (48u * 1024 * 1024)

/* Test: one stalled client does not stall the others. */
static void test_slow_reader(void **state)
{
    rt_fixture *f = *state;
    f->opts.ring_capacity = 4096;
    f->opts.write_window = 16 * 1024;
    f->opts.workers = 1; /* the slow client shares its worker with the others */
    f->opts.session_limits.plaintext_in = 16 * 1024;
    f->opts.session_limits.plaintext_out = 32 * 1024;
    f->opts.session_limits.ciphertext_out = 32 * 1024;
    f->opts.session_limits.ciphertext_in = 32 * 1024;
    rt_start(f);

    /* Small client buffers: what the kernel can absorb is then mostly the
     * server's socket buffers (a few MiB on loopback), well under
     * SLOW_BYTES, so a stall proves the server stopped reading. */
    rc_set_sockbuf(64 * 1024);
    rc_conn *slow = rt_connect(f, (rc_how){0});
    rc_set_sockbuf(0);
    rc_stream *s = rt_stream(f, 77, SLOW_BYTES);
    assert_int_equal(rc_stream_send_until_stalled(slow, s, 300), 0);
    /* Backpressure reached the socket: the server stopped reading. */
    if (s->sent >= SLOW_BYTES) {
        print_error("slow client sent all %u bytes without reading\n", SLOW_BYTES);
    }
    assert_true(s->sent < SLOW_BYTES);

    /* Others keep flowing while the slow one is stuck. */
    for (unsigned i = 0; i < 4; i++) {
        rc_conn *c = rt_connect(f, (rc_how){0});
        assert_int_equal(rc_echo(c, 200 + i, 256 * 1024, 20000), 0);
        assert_int_equal(rc_close(c, TEST_TIMEOUT_MS), 0);
        rc_free(c);
    }

    /* The slow reader reads again: every byte arrives, in order. */
    assert_int_equal(rc_stream_run(slow, s, 120000), 0);
    assert_int_equal(rc_close(slow, TEST_TIMEOUT_MS), 0);
    rt_finish(f, 5);
    assert_int_equal(f->stats.conns_total, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_slow_reader, rt_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
