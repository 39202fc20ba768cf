/*
 * test_session_writable.c - on_writable is never delivered inside the
 * memtls_session_write() call that then reports MEMTLS_WANT_WRITE.
 *
 * Regression: a write that found the queue full pumped the session, the
 * transport took pending bytes, the queue drained, on_writable fired from
 * inside the call, and the call still returned MEMTLS_WANT_WRITE; a caller that
 * marks itself blocked after the call (the natural way to write it) then
 * waited forever. Now the call takes the room it made instead.
 */
#include "test.h"

#include <string.h>

#include <memtls/session.h>

typedef struct harness {
    int accept;           /* transport: 0 refuses everything, 1 takes everything */
    int in_write;         /* the test is inside memtls_session_write */
    int writable_inside;  /* on_writable calls while in_write */
    int writable_outside; /* on_writable calls otherwise */
    size_t sent;
} harness;

static size_t transport(void *arg, const uint8_t *data, size_t len)
{
    harness *h = arg;
    (void)data;
    if (!h->accept) {
        return 0;
    }
    h->sent += len;
    return len;
}

static void on_writable(void *arg)
{
    harness *h = arg;
    if (h->in_write) {
        h->writable_inside++;
    } else {
        h->writable_outside++;
    }
}

static int write_some(harness *h, memtls_session *s, size_t len, size_t *accepted)
{
    static uint8_t buf[8192];
    h->in_write = 1;
    int rc = memtls_session_write(s, buf, len, accepted);
    h->in_write = 0;
    return rc;
}

/* A started plaintext session (1 KiB limits) over a transport that
 * refuses everything, written to until its queue is full. */
static memtls_session *blocked_session(harness *h)
{
    memtls_session_cbs cbs = {.arg = h, .send = transport, .on_writable = on_writable};
    memtls_session_limits lim = {.plaintext_out = 1024, .ciphertext_out = 1024};
    memtls_session *s =
        memtls_session_new(memtls_ctx_new_plaintext(MEMTLS_ROLE_SERVER), &cbs, &lim);
    assert_non_null(s);
    assert_int_equal(memtls_session_start(s), 0);
    assert_int_equal(memtls_session_state(s), MEMTLS_STATE_READY);

    size_t acc = 0;
    /* The transport refuses: 8 KiB go to pending_out, over its limit. */
    assert_int_equal(write_some(h, s, 8192, &acc), 0);
    assert_int_equal(acc, 8192);
    assert_int_equal(memtls_session_pending_out(s), 8192);
    /* Encryption is paused: 1 KiB fills the queue, the rest is refused. */
    assert_int_equal(write_some(h, s, 2048, &acc), 0);
    assert_int_equal(acc, 1024);
    assert_int_equal(memtls_session_queued_out(s), 1024);
    assert_int_equal(write_some(h, s, 2048, &acc), MEMTLS_WANT_WRITE);
    assert_int_equal(acc, 0);
    return s;
}

/* Test: room made while the write pumps is taken by that write, and no
 * on_writable comes from inside it. */
static void test_no_writable_inside_blocked_write(void **state)
{
    harness h = {0};
    memtls_session *s = blocked_session(&h);
    size_t acc = 0;

    /* The transport has room again, but nobody told the session yet: the
     * next write's own pump drains everything. It must take the room it
     * made rather than report writable and blocked at once. */
    h.accept = 1;
    int rc = write_some(&h, s, 2048, &acc);
    assert_int_equal(h.writable_inside, 0);
    assert_int_equal(rc, 0);
    assert_true(acc > 0);
    /* Nothing is lost: everything taken reached the transport in the end. */
    assert_int_equal(memtls_session_flush(s), 0);
    assert_int_equal(h.sent, 8192 + 1024 + acc);
    memtls_session_free(s);
}

/* Test: after MEMTLS_WANT_WRITE, on_writable arrives from a later call once
 * the queue has room. */
static void test_writable_after_flush(void **state)
{
    harness h = {0};
    memtls_session *s = blocked_session(&h);
    assert_int_equal(h.writable_outside, 0);
    h.accept = 1;
    assert_int_equal(memtls_session_flush(s), 0);
    assert_int_equal(h.writable_outside, 1);
    assert_int_equal(h.writable_inside, 0);
    assert_int_equal(h.sent, 8192 + 1024);
    memtls_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_writable_inside_blocked_write),
        cmocka_unit_test(test_writable_after_flush),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
