/*
 * Test: writes during the handshake. They are accepted and queued (not
 * encrypted: there are no keys yet), up to the plaintext_out limit, and
 * arrive at the peer in order once the handshake completes; a write that
 * did not fit gets on_writable once the queue drained.
 */
#include "test.h"

#include <string.h>

#include <memtls/session.h>

#include "sessionpair.h"

static void queued_during_handshake(sp_mode mode)
{
    sessionpair *p = sp_new(&(sp_opts){.mode = mode, .limits[SP_CLIENT].plaintext_out = 4096});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];
    uint64_t hello = c->accepted;

    static uint8_t data[10000];
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t)(i * 13 + 1);
    }
    /* Two writes fit the 4 KiB queue, the third only partly, the fourth
     * not at all. Nothing reaches the transport. */
    size_t n = 0;
    assert_int_equal(memtls_session_write(c->s, data, 1000, &n), 0);
    assert_int_equal(n, 1000);
    assert_int_equal(memtls_session_write(c->s, data + 1000, 2000, &n), 0);
    assert_int_equal(n, 2000);
    assert_int_equal(memtls_session_write(c->s, data + 3000, 7000, &n), 0);
    assert_int_equal(n, 1096);
    size_t queued = 3000 + n;
    assert_int_equal(memtls_session_write(c->s, data + queued, sizeof data - queued, &n),
                     MEMTLS_WANT_WRITE);
    assert_int_equal(n, 0);
    assert_int_equal(memtls_session_queued_out(c->s), queued);
    assert_int_equal(c->accepted, hello);
    assert_int_equal(c->writable_calls, 0);

    /* The server writes during its handshake too. */
    sp_deliver(p, SP_CLIENT, 0);
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_HANDSHAKE);
    sp_write_all(p, SP_SERVER, "early reply", 11);

    assert_true(sp_handshake(p));
    sp_run(p, 100);
    assert_int_equal(memtls_session_queued_out(c->s), 0);
    assert_int_equal(c->writable_calls, 1);
    /* Room again: the rest goes now. */
    sp_write_all(p, SP_CLIENT, data + queued, sizeof data - queued);
    sp_run(p, 100);
    sp_read_all(p, SP_SERVER);
    sp_read_all(p, SP_CLIENT);
    assert_int_equal(s->got_len, sizeof data);
    assert_memory_equal(s->got, data, sizeof data);
    assert_int_equal(c->got_len, 11);
    assert_memory_equal(c->got, "early reply", 11);
    sp_free(p);
}

/* Test: TLS 1.3. */
static void test_queued_tls13(void **state)
{
    queued_during_handshake(SP_TLS13);
}

/* Test: TLS 1.2. */
static void test_queued_tls12(void **state)
{
    queued_during_handshake(SP_TLS12);
}

/* Test: a close requested right after the handshake completes still sends
 * what was queued during it first. */
static void test_queued_then_close(void **state)
{
    sessionpair *p = sp_new(&(sp_opts){.mode = SP_TLS13});
    sp_write_all(p, SP_CLIENT, "queued early", 12);
    assert_true(sp_handshake(p));
    assert_int_equal(memtls_session_close(p->end[SP_CLIENT].s), 0);
    sp_run(p, 100);
    sp_read_all(p, SP_SERVER);
    assert_int_equal(p->end[SP_SERVER].got_len, 12);
    assert_memory_equal(p->end[SP_SERVER].got, "queued early", 12);
    assert_int_equal(memtls_session_state(p->end[SP_SERVER].s), MEMTLS_STATE_CLOSED);
    assert_int_equal(memtls_session_state(p->end[SP_CLIENT].s), MEMTLS_STATE_CLOSED);
    sp_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queued_tls13),
        cmocka_unit_test(test_queued_tls12),
        cmocka_unit_test(test_queued_then_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
