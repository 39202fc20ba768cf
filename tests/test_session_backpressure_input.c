/*
 * Test: the input limit. When undecrypted ciphertext reaches
 * limits.ciphertext_in (the application is not reading and the input
 * buffer is full), memtls_session_feed takes nothing and says
 * MEMTLS_WANT_WRITE, after on_input_paused(1); reads by the
 * application bring it below half and on_input_paused(0) follows.
 */
#include "test.h"

#include <string.h>

#include <memtls/session.h>

#include "sessionpair.h"

static uint8_t data[400 * 1024];

static void input_paused(sp_mode mode)
{
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t)(i ^ (i >> 9));
    }
    sessionpair *p = sp_ready(&(sp_opts){.mode = mode,
                                         .limits[SP_SERVER].plaintext_in = 1024,
                                         .limits[SP_SERVER].ciphertext_in = 32 * 1024});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];

    memtls_session_stats st;
    memtls_session_get_stats(s->s, &st);
    uint64_t handshake_in = st.ciphertext_in;
    sp_write_all(p, SP_CLIENT, data, sizeof data);
    /* Deliver in 4 KiB chunks until the server pushes back. */
    int rc = 0;
    size_t fed = 0;
    while (c->out.len > 0) {
        size_t n = c->out.len < 4096 ? c->out.len : 4096;
        rc = memtls_session_feed(s->s, c->out.data + c->out.start, n);
        if (rc != 0) {
            break;
        }
        c->out.start += n;
        c->out.len -= n;
        fed += n;
    }
    assert_int_equal(rc, MEMTLS_WANT_WRITE);
    assert_true(memtls_session_input_paused(s->s));
    assert_int_equal(s->paused_calls[1], 1);
    assert_int_equal(s->paused_calls[0], 0);
    memtls_ctx *ctx = memtls_session_ctx(s->s);
    assert_true(memtls_ctx_pending_in(ctx) >= 32 * 1024);
    assert_true(memtls_ctx_pending_in(ctx) < 32 * 1024 + 4096);
    memtls_session_get_stats(s->s, &st);
    /* The refused chunk was not taken. */
    assert_int_equal(st.ciphertext_in, handshake_in + fed);
    /* Refused again while nothing changed; still paused once. */
    assert_int_equal(memtls_session_feed(s->s, c->out.data + c->out.start, 1), MEMTLS_WANT_WRITE);
    assert_int_equal(s->paused_calls[1], 1);

    /* The application reads; the session resumes. */
    size_t got = 0;
    char buf[1024];
    while (memtls_session_input_paused(s->s)) {
        size_t n = 0;
        assert_int_equal(memtls_session_read(s->s, buf, sizeof buf, &n), 0);
        assert_memory_equal(buf, data + got, n);
        got += n;
    }
    assert_int_equal(s->paused_calls[0], 1);
    assert_true(memtls_ctx_pending_in(ctx) < 16 * 1024);

    /* Everything else flows, with more pauses as needed. */
    for (int i = 0; i < 100000 && got < sizeof data; i++) {
        sp_deliver(p, SP_CLIENT, 0);
        size_t n = 0;
        while (memtls_session_read(s->s, buf, sizeof buf, &n) == 0) {
            assert_memory_equal(buf, data + got, n);
            got += n;
        }
    }
    assert_int_equal(got, sizeof data);
    assert_int_equal(s->paused_calls[0], s->paused_calls[1]);
    assert_false(memtls_session_input_paused(s->s));
    sp_free(p);
}

/* Test: TLS 1.3. */
static void test_input_paused_tls13(void **state)
{
    input_paused(SP_TLS13);
}

/* Test: TLS 1.2. */
static void test_input_paused_tls12(void **state)
{
    input_paused(SP_TLS12);
}

/* Test: the plaintext twin. */
static void test_input_paused_plaintext(void **state)
{
    input_paused(SP_PLAINTEXT);
}

/* Test: a paused input does not stop the output: the paused side still
 * writes and its peer still reads it. */
static void test_paused_input_keeps_writing(void **state)
{
    sessionpair *p = sp_ready(&(sp_opts){.mode = SP_TLS13,
                                         .limits[SP_SERVER].plaintext_in = 1024,
                                         .limits[SP_SERVER].ciphertext_in = 20 * 1024});
    sp_end *s = &p->end[SP_SERVER];
    sp_write_all(p, SP_CLIENT, data, 100 * 1024);
    /* Small chunks, so that the limit stops the transport early. */
    for (int i = 0; i < 100 && !p->end[SP_CLIENT].blocked; i++) {
        sp_deliver(p, SP_CLIENT, 4096);
    }
    assert_true(memtls_session_input_paused(s->s));
    assert_true(p->end[SP_CLIENT].blocked);
    assert_true(p->end[SP_CLIENT].out.len > 0);
    sp_write_all(p, SP_SERVER, "still talking", 13);
    sp_run(p, 100);
    assert_int_equal(sp_read_all(p, SP_CLIENT), 13);
    assert_memory_equal(p->end[SP_CLIENT].got, "still talking", 13);
    sp_free(p);
}

/* Test: a session that stops reading while paused (it closes) releases
 * its transport with on_input_paused(0) and drops what it held. */
static void test_close_while_paused(void **state)
{
    sessionpair *p = sp_ready(&(sp_opts){.mode = SP_TLS13,
                                         .no_auto_eof = 1,
                                         .limits[SP_SERVER].plaintext_in = 1024,
                                         .limits[SP_SERVER].ciphertext_in = 20 * 1024});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];
    sp_write_all(p, SP_CLIENT, data, 100 * 1024);
    for (int i = 0; i < 100 && !c->blocked; i++) {
        sp_deliver(p, SP_CLIENT, 4096);
    }
    assert_true(c->blocked);
    assert_int_equal(s->paused_calls[1], 1);
    size_t held = memtls_ctx_pending_in(memtls_session_ctx(s->s));
    assert_true(held >= 20 * 1024);

    assert_int_equal(memtls_session_close(s->s), 0);
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_CLOSED);
    assert_false(memtls_session_input_paused(s->s));
    assert_int_equal(s->paused_calls[0], 1);
    assert_false(c->blocked); /* the transport may deliver again */
    assert_int_equal(memtls_ctx_pending_in(memtls_session_ctx(s->s)), 0);
    memtls_session_stats st;
    memtls_session_get_stats(s->s, &st);
    assert_int_equal(st.discarded_in, held);
    /* The rest is discarded as it comes. */
    size_t rest = c->out.len;
    sp_deliver(p, SP_CLIENT, 0);
    assert_int_equal(c->out.len, 0);
    memtls_session_get_stats(s->s, &st);
    assert_int_equal(st.discarded_in, held + rest);
    sp_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_input_paused_tls13),
        cmocka_unit_test(test_input_paused_tls12),
        cmocka_unit_test(test_input_paused_plaintext),
        cmocka_unit_test(test_paused_input_keeps_writing),
        cmocka_unit_test(test_close_while_paused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
