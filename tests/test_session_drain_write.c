/*
 * Test: the drain after the write call. Data the application writes is
 * encrypted and handed to the transport within memtls_session_write, even
 * when nothing else in that call would drain (the input buffer is full, so
 * no read runs after the write).
 *
 * Fails if session.c stops draining after memtls_ctx_write().
 */
#include "test.h"

#include <string.h>

#include <memtls/session.h>

#include "sessionpair.h"

/* A pair whose client input buffer (1 KiB) is full, with more ciphertext
 * from the server waiting unread in the client's read BIO. */
static sessionpair *client_input_full(sp_mode mode)
{
    sessionpair *p = sp_ready(&(sp_opts){.mode = mode, .limits[SP_CLIENT].plaintext_in = 1024});
    static char fill[8192];
    memset(fill, 'f', sizeof fill);
    /* Two records: the second stays in the read BIO. */
    sp_write_all(p, SP_SERVER, fill, sizeof fill);
    sp_write_all(p, SP_SERVER, fill, sizeof fill);
    sp_run(p, 100);
    sp_end *c = &p->end[SP_CLIENT];
    assert_int_equal(memtls_session_readable(c->s), 1024);
    assert_true(memtls_ctx_pending_in(memtls_session_ctx(c->s)) > 0);
    return p;
}

static void write_reaches_transport(sp_mode mode)
{
    sessionpair *p = client_input_full(mode);
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];

    /* Fast path: nothing queued, encrypted straight from our buffer. */
    uint64_t before = c->accepted;
    sp_write_all(p, SP_CLIENT, "hello", 5);
    assert_int_equal(memtls_ctx_pending_out(memtls_session_ctx(c->s)), 0);
    assert_true(c->accepted >= before + 5);
    assert_int_equal(memtls_session_queued_out(c->s), 0);

    /* The transport refuses everything: the ciphertext still leaves the
     * write BIO, into pending_out; once there is room, flush sends it. */
    c->refuse_all = 1;
    sp_write_all(p, SP_CLIENT, " world", 6);
    assert_int_equal(memtls_ctx_pending_out(memtls_session_ctx(c->s)), 0);
    assert_true(memtls_session_pending_out(c->s) > 0);
    c->refuse_all = 0;
    before = c->accepted;
    assert_int_equal(memtls_session_flush(c->s), 0);
    assert_true(c->accepted >= before + 6);
    assert_int_equal(memtls_session_pending_out(c->s), 0);
    assert_int_equal(memtls_ctx_pending_out(memtls_session_ctx(c->s)), 0);

    sp_run(p, 100);
    sp_read_all(p, SP_SERVER);
    assert_int_equal(s->got_len, 11);
    assert_memory_equal(s->got, "hello world", 11);
    /* The client still reads everything the server sent. */
    assert_int_equal(sp_read_all(p, SP_CLIENT), 2 * 8192);
    sp_free(p);
}

/* Test: TLS 1.3. */
static void test_write_reaches_transport_tls13(void **state)
{
    write_reaches_transport(SP_TLS13);
}

/* Test: TLS 1.2. */
static void test_write_reaches_transport_tls12(void **state)
{
    write_reaches_transport(SP_TLS12);
}

/* Test: the plaintext twin (its "ciphertext" is the plaintext itself). */
static void test_write_reaches_transport_plaintext(void **state)
{
    sessionpair *p = client_input_full(SP_PLAINTEXT);
    sp_end *c = &p->end[SP_CLIENT];
    sp_write_all(p, SP_CLIENT, "hello", 5);
    assert_int_equal(memtls_ctx_pending_out(memtls_session_ctx(c->s)), 0);
    assert_int_equal(c->out.len, 5);
    assert_memory_equal(c->out.data + c->out.start, "hello", 5);
    sp_free(p);
}

/* Test: a write larger than one encryption chunk (64 KiB) comes out
 * whole within the call. */
static void test_large_write_reaches_transport(void **state)
{
    sessionpair *p = client_input_full(SP_TLS13);
    sp_end *c = &p->end[SP_CLIENT];
    static char big[200 * 1024];
    memset(big, 'b', sizeof big);
    uint64_t before = c->accepted;
    sp_write_all(p, SP_CLIENT, big, sizeof big);
    assert_int_equal(memtls_ctx_pending_out(memtls_session_ctx(c->s)), 0);
    assert_int_equal(memtls_session_queued_out(c->s), 0);
    assert_true(c->accepted >= before + sizeof big);
    sp_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_reaches_transport_tls13),
        cmocka_unit_test(test_write_reaches_transport_tls12),
        cmocka_unit_test(test_write_reaches_transport_plaintext),
        cmocka_unit_test(test_large_write_reaches_transport),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
