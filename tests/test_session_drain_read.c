/*
 * Test: the drain after the read call. A peer's KeyUpdate with
 * update_requested is processed inside SSL_read, which writes our own
 * KeyUpdate into the write BIO. The session must send it although our
 * application writes nothing.
 *
 * Fails if session.c stops draining after memtls_ctx_read() (pull mode and push
 * mode each have their read; both are tested).
 */
#include "test.h"

#include <string.h>

#include <memtls/session.h>

#include "sessionpair.h"

static void key_update_reply(int push)
{
    sessionpair *p =
        sp_new(&(sp_opts){.mode = SP_TLS13, .push[SP_CLIENT] = push, .push[SP_SERVER] = push});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];
    assert_true(sp_handshake(p));
    sp_run(p, 100); /* tickets */
    assert_int_equal(sp_leftover(p, SP_CLIENT), 0);
    assert_int_equal(sp_leftover(p, SP_SERVER), 0);

    /* The server asks for a key update; its KeyUpdate goes out at once. */
    uint64_t s_before = s->accepted;
    assert_int_equal(memtls_session_key_update(s->s, 1), 0);
    assert_true(s->accepted > s_before);
    assert_int_equal(memtls_ctx_pending_out(memtls_session_ctx(s->s)), 0);

    /* Delivering it to the client makes the client answer, inside the
     * recv call, with no application write. */
    uint64_t c_before = c->accepted;
    assert_true(sp_deliver(p, SP_SERVER, 0) > 0);
    assert_int_equal(memtls_ctx_pending_out(memtls_session_ctx(c->s)), 0);
    assert_true(c->accepted > c_before);
    assert_int_equal(c->out.len, c->accepted - c_before);
    memtls_session_stats cs;
    memtls_session_get_stats(c->s, &cs);
    assert_int_equal(cs.plaintext_out, 0);
    assert_int_equal(cs.plaintext_in, 0);

    /* The server takes the answer without complaint, and data flows both
     * ways under the new keys. */
    assert_true(sp_deliver(p, SP_CLIENT, 0) > 0);
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_READY);
    assert_int_equal(memtls_session_state(c->s), MEMTLS_STATE_READY);
    sp_write_all(p, SP_CLIENT, "ping", 4);
    sp_write_all(p, SP_SERVER, "pong", 4);
    sp_run(p, 100);
    if (!push) {
        sp_read_all(p, SP_CLIENT);
        sp_read_all(p, SP_SERVER);
    }
    assert_int_equal(c->got_len, 4);
    assert_memory_equal(c->got, "pong", 4);
    assert_int_equal(s->got_len, 4);
    assert_memory_equal(s->got, "ping", 4);
    assert_int_equal(sp_leftover(p, SP_CLIENT), 0);
    assert_int_equal(sp_leftover(p, SP_SERVER), 0);
    sp_free(p);
}

/* Test: pull mode (plaintext goes to the input buffer). */
static void test_key_update_reply_pull(void **state)
{
    key_update_reply(0);
}

/* Test: push mode (plaintext goes to on_data). */
static void test_key_update_reply_push(void **state)
{
    key_update_reply(1);
}

/* Test: the KeyUpdate arrives behind application data, byte by byte; the
 * answer still goes out with no write of ours. */
static void test_key_update_reply_after_data_byte_by_byte(void **state)
{
    sessionpair *p = sp_ready(&(sp_opts){.mode = SP_TLS13});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];

    char data[3000];
    memset(data, 'k', sizeof data);
    sp_write_all(p, SP_SERVER, data, sizeof data);
    assert_int_equal(memtls_session_key_update(s->s, 1), 0);
    uint64_t c_before = c->accepted;
    while (s->out.len > 0) {
        sp_deliver(p, SP_SERVER, 1);
    }
    assert_true(c->accepted > c_before);
    assert_int_equal(memtls_ctx_pending_out(memtls_session_ctx(c->s)), 0);
    assert_int_equal(sp_read_all(p, SP_CLIENT), sizeof data);
    sp_run(p, 100);
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_READY);
    assert_int_equal(memtls_session_state(c->s), MEMTLS_STATE_READY);
    sp_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_update_reply_pull),
        cmocka_unit_test(test_key_update_reply_push),
        cmocka_unit_test(test_key_update_reply_after_data_byte_by_byte),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
