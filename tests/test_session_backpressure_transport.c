/*
 * Test: a transport that refuses. Refused ciphertext stays in the
 * session's pending_out, in order; newer ciphertext queues behind it, never
 * around it; memtls_session_flush ("the transport has room again") and any
 * later call offer it again. Nothing is dropped, duplicated or reordered,
 * checked byte for byte on the plaintext twin (whose ciphertext is the
 * plaintext) and by decryption under TLS.
 */
#include "test.h"

#include <string.h>

#include <memtls/session.h>

#include "sessionpair.h"

static uint8_t data[100000];

static void fill(void)
{
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t)(i * 7 + i / 251);
    }
}

/* Test: refusing everything, then flush delivers it in order. */
static void refuse_then_flush(sp_mode mode)
{
    fill();
    sessionpair *p = sp_ready(&(sp_opts){.mode = mode});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];

    c->refuse_all = 1;
    uint64_t before = c->accepted;
    for (size_t off = 0; off < sizeof data; off += 10000) {
        sp_write_all(p, SP_CLIENT, data + off, 10000);
    }
    assert_int_equal(c->accepted, before);
    size_t held = memtls_session_pending_out(c->s);
    assert_true(held >= sizeof data);
    assert_int_equal(memtls_ctx_pending_out(memtls_session_ctx(c->s)), 0);
    /* Other calls retry too, and are refused again: nothing changes. */
    assert_int_equal(memtls_session_flush(c->s), 0);
    assert_int_equal(memtls_session_pending_out(c->s), held);

    c->refuse_all = 0;
    assert_int_equal(memtls_session_flush(c->s), 0);
    assert_int_equal(memtls_session_pending_out(c->s), 0);
    assert_int_equal(c->accepted - before, held);
    if (mode == SP_PLAINTEXT) {
        assert_int_equal(c->out.len, sizeof data);
        assert_memory_equal(c->out.data + c->out.start, data, sizeof data);
    }
    sp_run(p, 100);
    sp_read_all(p, SP_SERVER);
    assert_int_equal(s->got_len, sizeof data);
    assert_memory_equal(s->got, data, sizeof data);
    sp_free(p);
}

static void test_refuse_then_flush_tls13(void **state)
{
    refuse_then_flush(SP_TLS13);
}

static void test_refuse_then_flush_plaintext(void **state)
{
    refuse_then_flush(SP_PLAINTEXT);
}

/* A transport that takes at most `quota` bytes per call. */
static void trickle(sp_mode mode, size_t quota)
{
    fill();
    sessionpair *p = sp_ready(&(sp_opts){.mode = mode});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];

    /* Capacity limits what each send() can take: the ring drains by
     * `quota` per round. */
    c->capacity = quota;
    for (size_t off = 0; off < sizeof data; off += 7000) {
        size_t len = sizeof data - off < 7000 ? sizeof data - off : 7000;
        sp_write_all(p, SP_CLIENT, data + off, len);
        sp_deliver(p, SP_CLIENT, 0);
    }
    for (int i = 0; i < 100000 && (c->out.len > 0 || memtls_session_pending_out(c->s) > 0); i++) {
        sp_deliver(p, SP_CLIENT, 0);
        assert_int_equal(memtls_session_flush(c->s), 0);
    }
    sp_run(p, 100);
    sp_read_all(p, SP_SERVER);
    assert_int_equal(s->got_len, sizeof data);
    assert_memory_equal(s->got, data, sizeof data);
    memtls_session_stats st;
    memtls_session_get_stats(c->s, &st);
    assert_int_equal(st.ciphertext_out, c->accepted);
    sp_free(p);
}

/* Test: one byte per call, plaintext (exact bytes on the wire). */
static void test_one_byte_at_a_time_plaintext(void **state)
{
    trickle(SP_PLAINTEXT, 1);
}

/* Test: odd-sized quotas under TLS 1.3 and 1.2. */
static void test_trickle_tls(void **state)
{
    trickle(SP_TLS13, 777);
    trickle(SP_TLS12, 4099);
}

/* Test: the handshake itself survives a refusing transport (flights wait
 * in pending_out and go out on flush). */
static void test_handshake_through_refusals(void **state)
{
    sessionpair *p = sp_new(&(sp_opts){.mode = SP_TLS13});
    for (int i = 0; i < 2; i++) {
        p->end[i].capacity = 100;
    }
    assert_true(sp_handshake(p));
    sp_run(p, 1000);
    assert_int_equal(p->end[SP_CLIENT].tickets, 2);
    sp_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refuse_then_flush_tls13),
        cmocka_unit_test(test_refuse_then_flush_plaintext),
        cmocka_unit_test(test_one_byte_at_a_time_plaintext),
        cmocka_unit_test(test_trickle_tls),
        cmocka_unit_test(test_handshake_through_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
