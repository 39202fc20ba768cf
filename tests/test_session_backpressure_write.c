/*
 * Test: the output limits. While pending ciphertext is over
 * limits.ciphertext_out, queued plaintext is not encrypted; when the
 * plaintext_out queue is full, memtls_session_write takes what fits, then
 * says MEMTLS_WANT_WRITE with accepted 0; on_writable fires once the
 * queue is half empty again, and every accepted byte arrives.
 */
#include "test.h"

#include <string.h>

#include <memtls/session.h>

#include "sessionpair.h"

static uint8_t data[64 * 1024];

static void fill(void)
{
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t)(i * 31 + 7);
    }
}

static void queue_full(sp_mode mode)
{
    fill();
    sessionpair *p = sp_ready(&(sp_opts){.mode = mode,
                                         .limits[SP_CLIENT].plaintext_out = 10000,
                                         .limits[SP_CLIENT].ciphertext_out = 1});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];

    c->refuse_all = 1;
    size_t total = 0;
    size_t n = 0;
    /* Nothing pending yet: the first write is encrypted (and refused by
     * the transport: it waits in pending_out). */
    assert_int_equal(memtls_session_write(c->s, data, 3000, &n), 0);
    assert_int_equal(n, 3000);
    total += n;
    assert_true(memtls_session_pending_out(c->s) >= 3000);
    assert_int_equal(memtls_session_queued_out(c->s), 0);
    /* Now pending ciphertext is over its limit: writes queue as plaintext,
     * up to 10000 bytes. */
    assert_int_equal(memtls_session_write(c->s, data + total, 6000, &n), 0);
    assert_int_equal(n, 6000);
    total += n;
    assert_int_equal(memtls_session_write(c->s, data + total, 6000, &n), 0);
    assert_int_equal(n, 4000); /* what fits */
    total += n;
    assert_int_equal(memtls_session_queued_out(c->s), 10000);
    assert_status_no_bytes(MEMTLS_WANT_WRITE, memtls_session_write(c->s, data + total, 6000, &n),
                           n);
    assert_int_equal(memtls_session_queued_out(c->s), 10000);
    assert_int_equal(c->writable_calls, 0);

    /* Receiving does not wait for the blocked output. */
    sp_write_all(p, SP_SERVER, "while blocked", 13);
    sp_run(p, 100);
    assert_int_equal(sp_read_all(p, SP_CLIENT), 13);
    assert_int_equal(c->writable_calls, 0);

    /* The transport has room again: pending ciphertext goes, the queue is
     * encrypted, on_writable fires once. */
    c->refuse_all = 0;
    for (int i = 0; i < 100 && c->writable_calls == 0; i++) {
        sp_step(p);
    }
    assert_int_equal(c->writable_calls, 1);
    assert_int_equal(memtls_session_write(c->s, data + total, 6000, &n), 0);
    assert_int_equal(n, 6000);
    total += n;
    sp_run(p, 100);
    assert_int_equal(c->writable_calls, 1); /* only after a refusal */
    sp_read_all(p, SP_SERVER);
    assert_int_equal(s->got_len, total);
    assert_memory_equal(s->got, data, total);
    memtls_session_stats st;
    memtls_session_get_stats(c->s, &st);
    assert_int_equal(st.plaintext_out, total);
    sp_free(p);
}

/* Test: TLS 1.3. */
static void test_queue_full_tls13(void **state)
{
    queue_full(SP_TLS13);
}

/* Test: the plaintext twin. */
static void test_queue_full_plaintext(void **state)
{
    queue_full(SP_PLAINTEXT);
}

/* Test: a peer that does not read. The writer's ciphertext fills the
 * transport and the peer's input limit; writes then block instead of
 * buffering without bound, and everything resumes when the peer reads. */
static void test_slow_reader(void **state)
{
    fill();
    sessionpair *p = sp_new(&(sp_opts){.mode = SP_TLS13});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];
    c->capacity = 100 * 1024; /* the client's ring holds 100 KiB */
    assert_true(sp_handshake(p));
    sp_run(p, 100);

    uint64_t total = 0;
    int blocked = 0;
    for (int i = 0; i < 1000 && !blocked; i++) {
        size_t n = 0;
        int rc = memtls_session_write(c->s, data, sizeof data, &n);
        if (rc == MEMTLS_WANT_WRITE) {
            blocked = 1;
        } else {
            assert_int_equal(rc, 0);
            total += n;
            blocked = n < sizeof data;
        }
        sp_step(p);
    }
    assert_true(blocked);
    /* Bounded: plaintext_in + ciphertext_in at the reader, the ring,
     * ciphertext_out + plaintext_out at the writer, each plus a record. */
    size_t bound = (64 + 256 + 100 + 256 + 256 + 5 * 17) * 1024;
    assert_true(total <= bound);
    assert_true(memtls_session_queued_out(c->s) <= MEMTLS_SESSION_DEFAULT_PLAINTEXT_OUT);
    assert_true(memtls_session_pending_out(c->s) <=
                MEMTLS_SESSION_DEFAULT_CIPHERTEXT_OUT + 64 * 1024 + 4096);

    /* The reader reads; the writer is told it may write again. */
    int w = c->writable_calls;
    while (s->got_len < total) {
        size_t before = s->got_len;
        sp_read_all(p, SP_SERVER);
        sp_step(p);
        if (s->got_len == before && sp_step(p) == 0) {
            break;
        }
    }
    assert_int_equal(s->got_len, total);
    assert_true(c->writable_calls > w);
    sp_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_full_tls13),
        cmocka_unit_test(test_queue_full_plaintext),
        cmocka_unit_test(test_slow_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
