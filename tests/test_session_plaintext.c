/*
 * Test: the plaintext twin through the same session code. READY at start,
 * bytes pass unchanged in both directions (what the transport carries is
 * the plaintext), writes before the peer reads are queued the same way,
 * close ends with the transport's EOF (no close_notify exists), KeyUpdate
 * is refused like on TLS 1.2, and push mode works.
 */
#include "test.h"

#include <string.h>

#include <memtls/session.h>

#include "sessionpair.h"

/* Test: bytes pass unchanged, both ways. */
static void test_round_trip(void **state)
{
    sessionpair *p = sp_new(&(sp_opts){.mode = SP_PLAINTEXT});
    sp_end *c = &p->end[SP_CLIENT];
    assert_false(memtls_ctx_is_tls(memtls_session_ctx(c->s)));
    assert_int_equal(memtls_session_state(c->s), MEMTLS_STATE_READY);
    sp_write_all(p, SP_CLIENT, "GET / HTTP/1.0\r\n\r\n", 18);
    /* On the wire exactly as written. */
    assert_int_equal(c->out.len, 18);
    assert_memory_equal(c->out.data + c->out.start, "GET / HTTP/1.0\r\n\r\n", 18);
    sp_run(p, 100);
    assert_int_equal(sp_read_all(p, SP_SERVER), 18);
    sp_write_all(p, SP_SERVER, "HTTP/1.0 200 OK\r\n", 17);
    sp_run(p, 100);
    assert_int_equal(sp_read_all(p, SP_CLIENT), 17);
    assert_memory_equal(p->end[SP_CLIENT].got, "HTTP/1.0 200 OK\r\n", 17);
    assert_int_equal(memtls_session_key_update(c->s, 1), MEMTLS_ERR_SSL);
    assert_int_equal(memtls_session_state(c->s), MEMTLS_STATE_READY);
    assert_string_equal(memtls_ctx_protocol(memtls_session_ctx(c->s)), "");
    sp_free(p);
}

/* Test: close: CLOSING -> CLOSED at once (nothing to send); the peer sees
 * the transport's EOF as the clean end: MEMTLS_CLOSED, PEER_CLOSED. */
static void test_close(void **state)
{
    sessionpair *p = sp_new(&(sp_opts){.mode = SP_PLAINTEXT});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];
    sp_write_all(p, SP_CLIENT, "last", 4);
    uint64_t before = c->accepted;
    assert_int_equal(memtls_session_close(c->s), 0);
    assert_int_equal(c->accepted, before); /* no close_notify */
    assert_int_equal(memtls_session_state(c->s), MEMTLS_STATE_CLOSED);
    assert_int_equal(memtls_session_reason(c->s), MEMTLS_REASON_LOCAL_CLOSE);
    sp_run(p, 100);
    assert_true(c->eof_sent);
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_CLOSED);
    assert_int_equal(memtls_session_reason(s->s), MEMTLS_REASON_PEER_CLOSED);
    assert_int_equal(sp_read_all(p, SP_SERVER), 4);
    char buf[8];
    size_t n = 0;
    assert_int_equal(memtls_session_read(s->s, buf, sizeof buf, &n), MEMTLS_CLOSED);
    assert_int_equal(sp_leftover(p, SP_CLIENT), 0);
    assert_int_equal(sp_leftover(p, SP_SERVER), 0);
    sp_free(p);
}

/* Test: push mode and the output queue, as for TLS. */
static void test_push_and_queue(void **state)
{
    sessionpair *p = sp_new(&(sp_opts){.mode = SP_PLAINTEXT,
                                       .push[SP_SERVER] = 1,
                                       .limits[SP_CLIENT].plaintext_out = 1000,
                                       .limits[SP_CLIENT].ciphertext_out = 1});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];
    static uint8_t data[5000];
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t)i;
    }
    c->refuse_all = 1;
    size_t n = 0;
    size_t total = 0;
    assert_int_equal(memtls_session_write(c->s, data, 2000, &n), 0);
    total += n;
    assert_int_equal(memtls_session_write(c->s, data + total, 3000, &n), 0);
    assert_int_equal(n, 1000);
    total += n;
    assert_int_equal(memtls_session_write(c->s, data + total, 2000, &n), MEMTLS_WANT_WRITE);
    c->refuse_all = 0;
    sp_run(p, 100);
    assert_int_equal(c->writable_calls, 1);
    sp_write_all(p, SP_CLIENT, data + total, sizeof data - total);
    sp_run(p, 100);
    assert_int_equal(s->got_len, sizeof data);
    assert_memory_equal(s->got, data, sizeof data);
    assert_int_equal(memtls_session_readable(s->s), 0);
    sp_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_close),
        cmocka_unit_test(test_push_and_queue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
