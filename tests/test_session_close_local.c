/*
 * Test: local close. memtls_session_close goes READY -> CLOSING -> CLOSED
 * (MEMTLS_REASON_LOCAL_CLOSE): queued plaintext first, then close_notify,
 * and CLOSED only once the transport took all of it. The peer sees the
 * close_notify as MEMTLS_CLOSED, checked on a bare context and on
 * a peer session.
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include <memtls/session.h>

#include "sessionpair.h"

/* --- a client session against a bare server context -------------------- */

typedef struct wire {
    uint8_t buf[65536];
    size_t len;
} wire;

static size_t wire_send(void *arg, const uint8_t *data, size_t len)
{
    wire *w = arg;
    size_t room = sizeof w->buf - w->len;
    size_t n = len < room ? len : room;
    memcpy(w->buf + w->len, data, n);
    w->len += n;
    return n;
}

/* Test: the bare peer context reads close_notify as MEMTLS_CLOSED. */
static void test_peer_context_sees_zero_return(void **state)
{
    memtls_config *ccfg = NULL;
    memtls_config *scfg = NULL;
    sp_default_configs(SP_TLS13, &ccfg, &scfg);
    memtls_ctx *server = memtls_ctx_new(scfg);
    memtls_ctx *cctx = memtls_ctx_new(ccfg);
    assert_non_null(server);
    assert_non_null(cctx);
    assert_int_equal(memtls_ctx_set_hostname(cctx, "localhost"), 0);
    wire *w = calloc(1, sizeof *w);
    assert_non_null(w);
    memtls_session_cbs cbs = {0};
    cbs.arg = w;
    cbs.send = wire_send;
    memtls_session *c = memtls_session_new(cctx, &cbs, NULL);
    assert_non_null(c);
    assert_int_equal(memtls_session_start(c), 0);

    uint8_t buf[65536];
    for (int i = 0; i < 100 && memtls_session_state(c) == MEMTLS_STATE_HANDSHAKE; i++) {
        assert_int_equal(memtls_ctx_feed(server, w->buf, w->len), 0);
        w->len = 0;
        int rc = memtls_ctx_handshake(server);
        assert_true(rc == 0 || rc == MEMTLS_WANT_READ);
        size_t n = 0;
        assert_int_equal(memtls_ctx_drain(server, buf, sizeof buf, &n), 0);
        if (n > 0) {
            assert_int_equal(memtls_session_feed(c, buf, n), 0);
        }
    }
    assert_int_equal(memtls_session_state(c), MEMTLS_STATE_READY);
    assert_int_equal(memtls_ctx_feed(server, w->buf, w->len), 0); /* client Finished */
    w->len = 0;
    assert_int_equal(memtls_ctx_handshake(server), 0);

    size_t n = 0;
    assert_int_equal(memtls_session_write(c, "last words", 10, &n), 0);
    assert_int_equal(memtls_session_close(c), 0);
    assert_int_equal(memtls_session_state(c), MEMTLS_STATE_CLOSED);
    assert_int_equal(memtls_session_reason(c), MEMTLS_REASON_LOCAL_CLOSE);

    assert_int_equal(memtls_ctx_feed(server, w->buf, w->len), 0);
    assert_got(memtls_ctx_read(server, buf, sizeof buf, &n), buf, n, "last words");
    assert_status_no_bytes(MEMTLS_CLOSED, memtls_ctx_read(server, buf, sizeof buf, &n), n);
    assert_true(memtls_ctx_peer_closed(server));

    memtls_session_free(c);
    memtls_ctx_free(server);
    memtls_config_free(ccfg);
    memtls_config_free(scfg);
    free(w);
}

/* --- two sessions -------------------------------------------------------- */

static void close_with_transport_open(sp_mode mode)
{
    sessionpair *p = sp_ready(&(sp_opts){.mode = mode});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];

    sp_write_all(p, SP_CLIENT, "data", 4);
    assert_int_equal(memtls_session_close(c->s), 0);
    /* The transport took everything: CLOSING and CLOSED in that call. */
    assert_int_equal(c->nevents, 3);
    assert_int_equal(c->events[1].from, MEMTLS_STATE_READY);
    assert_int_equal(c->events[1].to, MEMTLS_STATE_CLOSING);
    assert_int_equal(c->events[1].why, MEMTLS_REASON_LOCAL_CLOSE);
    assert_int_equal(c->events[2].from, MEMTLS_STATE_CLOSING);
    assert_int_equal(c->events[2].to, MEMTLS_STATE_CLOSED);
    assert_int_equal(c->events[2].why, MEMTLS_REASON_LOCAL_CLOSE);
    assert_string_equal(c->events[2].detail, "closed cleanly");
    assert_string_equal(memtls_session_error(c->s), "");

    /* Closing again changes nothing. */
    assert_int_equal(memtls_session_close(c->s), 0);
    assert_int_equal(c->nevents, 3);

    /* The peer gets the data, then the end of the stream. */
    sp_run(p, 100);
    char buf[64];
    size_t n = 0;
    assert_got(memtls_session_read(s->s, buf, sizeof buf, &n), buf, n, "data");
    assert_status_no_bytes(MEMTLS_CLOSED, memtls_session_read(s->s, buf, sizeof buf, &n), n);
    assert_true(memtls_ctx_peer_closed(memtls_session_ctx(s->s)));
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_CLOSED);
    assert_int_equal(memtls_session_reason(s->s), MEMTLS_REASON_PEER_CLOSED);
    assert_int_equal(sp_leftover(p, SP_CLIENT), 0);
    assert_int_equal(sp_leftover(p, SP_SERVER), 0);
    sp_free(p);
}

/* Test: TLS 1.3. */
static void test_close_tls13(void **state)
{
    close_with_transport_open(SP_TLS13);
}

/* Test: TLS 1.2. */
static void test_close_tls12(void **state)
{
    close_with_transport_open(SP_TLS12);
}

/* Test: the plaintext twin (its peer learns from the transport's EOF). */
static void test_close_plaintext(void **state)
{
    close_with_transport_open(SP_PLAINTEXT);
}

/* Test: queued plaintext goes out before close_notify; the session stays
 * CLOSING until the transport took the last byte. */
static void test_close_flushes_queue_first(void **state)
{
    sp_opts o = {0};
    o.mode = SP_TLS13;
    o.limits[SP_CLIENT].ciphertext_out = 1000; /* most of the write stays queued */
    sessionpair *p = sp_new(&o);
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];
    assert_true(sp_handshake(p));
    sp_run(p, 100);

    static uint8_t data[200 * 1024];
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t)(i * 7 + 3);
    }
    c->refuse_all = 1;
    sp_write_all(p, SP_CLIENT, data, sizeof data);
    assert_true(memtls_session_queued_out(c->s) > 0);
    assert_int_equal(memtls_session_close(c->s), 0);
    assert_int_equal(memtls_session_state(c->s), MEMTLS_STATE_CLOSING);
    assert_int_equal(memtls_session_reason(c->s), MEMTLS_REASON_LOCAL_CLOSE);

    /* Writes are refused from now on. */
    size_t n = 99;
    assert_int_equal(memtls_session_write(c->s, "x", 1, &n), MEMTLS_CLOSED);
    assert_int_equal(n, 0);

    /* Let the transport take bytes again; close completes. */
    c->refuse_all = 0;
    for (int i = 0; i < 1000 && memtls_session_state(c->s) != MEMTLS_STATE_CLOSED; i++) {
        sp_step(p);
        sp_read_all(p, SP_SERVER);
    }
    assert_int_equal(memtls_session_state(c->s), MEMTLS_STATE_CLOSED);
    sp_run(p, 100);
    sp_read_all(p, SP_SERVER);
    assert_int_equal(s->got_len, sizeof data);
    assert_memory_equal(s->got, data, sizeof data);
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_CLOSED);
    assert_int_equal(memtls_session_reason(s->s), MEMTLS_REASON_PEER_CLOSED);
    sp_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peer_context_sees_zero_return),
        cmocka_unit_test(test_close_tls13),
        cmocka_unit_test(test_close_tls12),
        cmocka_unit_test(test_close_plaintext),
        cmocka_unit_test(test_close_flushes_queue_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
