/*
 * Test: arguments and names. memtls_session_new refuses a missing send
 * callback (and still frees the context it was given); NULL sessions are
 * refused everywhere without crashing; limits default when 0; state and
 * reason names.
 */
#include "test.h"

#include <string.h>

#include <memtls/session.h>

#include "sessionpair.h"

static size_t sink(void *arg, const uint8_t *data, size_t len)
{
    (void)arg;
    (void)data;
    return len;
}

/* Test: memtls_session_new. */
static void test_new(void **state)
{
    memtls_session_cbs cbs = {0};
    /* No send callback: NULL, and the context is freed (ASan would tell). */
    assert_null(memtls_session_new(memtls_ctx_new_plaintext(MEMTLS_ROLE_CLIENT), &cbs, NULL));
    assert_null(memtls_session_new(memtls_ctx_new_plaintext(MEMTLS_ROLE_CLIENT), NULL, NULL));
    cbs.send = sink;
    assert_null(memtls_session_new(NULL, &cbs, NULL));

    memtls_session *s =
        memtls_session_new(memtls_ctx_new_plaintext(MEMTLS_ROLE_SERVER), &cbs, NULL);
    assert_non_null(s);
    assert_int_equal(memtls_session_state(s), MEMTLS_STATE_HANDSHAKE);
    assert_int_equal(memtls_session_reason(s), MEMTLS_REASON_NONE);
    assert_string_equal(memtls_session_error(s), "");
    assert_non_null(memtls_session_ctx(s));
    assert_int_equal(memtls_ctx_role(memtls_session_ctx(s)), MEMTLS_ROLE_SERVER);
    /* Not started: writes queue, reads wait. */
    size_t n = 0;
    assert_int_equal(memtls_session_write(s, "abc", 3, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(memtls_session_queued_out(s), 3);
    char buf[4];
    assert_int_equal(memtls_session_read(s, buf, sizeof buf, &n), MEMTLS_WANT_READ);
    assert_int_equal(memtls_session_start(s), 0);
    assert_int_equal(memtls_session_state(s), MEMTLS_STATE_READY);
    assert_int_equal(memtls_session_queued_out(s), 0);
    /* Length 0 is a successful no-op. */
    assert_int_equal(memtls_session_write(s, NULL, 0, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(memtls_session_feed(s, NULL, 0), 0);
    assert_int_equal(memtls_session_write(s, NULL, 1, &n), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_session_write(s, "x", 1, NULL), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_session_feed(s, NULL, 1), MEMTLS_ERR_INVALID);
    /* End of stream: a plaintext session's clean close. */
    assert_int_equal(memtls_session_feed_eof(s), 0);
    assert_int_equal(memtls_session_state(s), MEMTLS_STATE_CLOSED);
    memtls_session_free(s);
    memtls_session_free(NULL);
}

/* Test: NULL sessions. */
static void test_null_session(void **state)
{
    char buf[4];
    size_t n = 99;
    assert_int_equal(memtls_session_start(NULL), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_session_feed(NULL, "x", 1), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_session_feed_eof(NULL), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_session_read(NULL, buf, sizeof buf, &n), MEMTLS_ERR_INVALID);
    assert_int_equal(n, 0);
    assert_status_no_bytes(MEMTLS_ERR_INVALID, memtls_session_write(NULL, "x", 1, &n), n);
    assert_int_equal(memtls_session_flush(NULL), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_session_close(NULL), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_session_shutdown_write(NULL), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_session_key_update(NULL, 1), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_session_state(NULL), MEMTLS_STATE_ERROR);
    assert_int_equal(memtls_session_reason(NULL), MEMTLS_REASON_NONE);
    assert_string_equal(memtls_session_error(NULL), "");
    assert_null(memtls_session_ctx(NULL));
    assert_int_equal(memtls_session_pending_out(NULL), 0);
    assert_int_equal(memtls_session_queued_out(NULL), 0);
    assert_int_equal(memtls_session_readable(NULL), 0);
    assert_int_equal(memtls_session_input_paused(NULL), 0);
    memtls_session_stats st;
    memset(&st, 0xff, sizeof st);
    memtls_session_get_stats(NULL, &st);
    assert_int_equal(st.plaintext_in + st.ciphertext_in + st.discarded_in, 0);
    memtls_session_get_stats(NULL, NULL);
}

/* Test: limits of 0 mean the defaults (observable through the input
 * buffer: pull mode buffers up to 64 KiB). */
static void test_default_limits(void **state)
{
    sessionpair *p = sp_new(&(sp_opts){.mode = SP_PLAINTEXT});
    static char data[100 * 1024];
    memset(data, 'd', sizeof data);
    sp_write_all(p, SP_CLIENT, data, sizeof data);
    sp_run(p, 100);
    assert_int_equal(memtls_session_readable(p->end[SP_SERVER].s),
                     MEMTLS_SESSION_DEFAULT_PLAINTEXT_IN);
    /* read_exact's bound is the same limit. */
    static char buf[MEMTLS_SESSION_DEFAULT_PLAINTEXT_IN + 1];
    assert_int_equal(memtls_session_read_exact(p->end[SP_SERVER].s, buf, sizeof buf),
                     MEMTLS_ERR_INVALID);
    sp_free(p);
}

/* Test: names for logs. */
static void test_names(void **state)
{
    assert_string_equal(memtls_state_name(MEMTLS_STATE_HANDSHAKE), "handshake");
    assert_string_equal(memtls_state_name(MEMTLS_STATE_READY), "ready");
    assert_string_equal(memtls_state_name(MEMTLS_STATE_CLOSING), "closing");
    assert_string_equal(memtls_state_name(MEMTLS_STATE_CLOSED), "closed");
    assert_string_equal(memtls_state_name(MEMTLS_STATE_AUTHFAIL), "authfail");
    assert_string_equal(memtls_state_name(MEMTLS_STATE_ERROR), "error");
    assert_string_equal(memtls_state_name((memtls_state)99), "unknown");
    assert_string_equal(memtls_reason_name(MEMTLS_REASON_LOCAL_CLOSE), "closed cleanly");
    assert_string_equal(memtls_reason_name(MEMTLS_REASON_PEER_CLOSED), "closed by peer");
    assert_non_null(strstr(memtls_reason_name(MEMTLS_REASON_TRUNCATED), "truncated"));
    assert_string_equal(memtls_reason_name(MEMTLS_REASON_AUTH_FAILED), "authentication failed");
    assert_string_equal(memtls_reason_name(MEMTLS_REASON_PROTOCOL_ERROR), "protocol error");
    assert_string_equal(memtls_reason_name(MEMTLS_REASON_ABORTED), "closed during the handshake");
    assert_string_equal(memtls_reason_name((memtls_reason)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new),
        cmocka_unit_test(test_null_session),
        cmocka_unit_test(test_default_limits),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
