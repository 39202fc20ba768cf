/*
 * Test: memtls_session_blocked() names what the session waits for at
 * each stage: the peer's bytes during the handshake and while reading,
 * the transport while ciphertext is held back, the application while the
 * pull-mode input buffer is full, nothing once the session is over.
 */
#include "test.h"

#include <string.h>

#include <memtls/session.h>

#include "sessionpair.h"

#define PEER MEMTLS_BLOCKED_ON_PEER
#define TRANSPORT MEMTLS_BLOCKED_ON_TRANSPORT
#define APPLICATION MEMTLS_BLOCKED_ON_APPLICATION

static void blocked_through_a_session(sp_mode mode)
{
    sessionpair *p =
        sp_new(&(sp_opts){.mode = mode, .no_start = 1, .limits[SP_SERVER].plaintext_in = 1024});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];

    /* Before start a client waits for nothing; a server for its peer. */
    assert_int_equal(memtls_session_blocked(c->s), 0);
    assert_int_equal(memtls_session_blocked(s->s), PEER);

    /* The client's first flight meets a full transport. */
    c->refuse_all = 1;
    assert_int_equal(memtls_session_start(c->s), MEMTLS_OK);
    if (mode == SP_PLAINTEXT) {
        assert_int_equal(memtls_session_blocked(c->s), PEER);
    } else {
        assert_int_equal(memtls_session_blocked(c->s), PEER | TRANSPORT);
    }
    c->refuse_all = 0;
    assert_int_equal(memtls_session_flush(c->s), MEMTLS_OK);
    assert_int_equal(memtls_session_blocked(c->s), PEER);
    assert_int_equal(memtls_session_start(s->s), MEMTLS_OK);
    assert_int_equal(memtls_session_blocked(s->s), PEER);

    assert_true(sp_handshake(p));
    sp_run(p, 100);
    assert_int_equal(memtls_session_blocked(c->s), PEER);
    assert_int_equal(memtls_session_blocked(s->s), PEER);

    /* The server's application does not read: its input buffer fills. */
    uint8_t data[8192];
    memset(data, 'b', sizeof data);
    sp_write_all(p, SP_CLIENT, data, sizeof data);
    sp_run(p, 100);
    assert_int_equal(memtls_session_readable(s->s), 1024);
    assert_int_equal(memtls_session_blocked(s->s), PEER | APPLICATION);
    sp_read_all(p, SP_SERVER);
    sp_run(p, 100);
    sp_read_all(p, SP_SERVER);
    assert_int_equal(s->got_len, sizeof data);
    assert_int_equal(memtls_session_blocked(s->s), PEER);

    /* Closed on both sides, every byte delivered: nothing to wait for. */
    assert_int_equal(memtls_session_close(c->s), MEMTLS_OK);
    sp_run(p, 100);
    assert_int_equal(memtls_session_state(c->s), MEMTLS_STATE_CLOSED);
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_CLOSED);
    assert_int_equal(memtls_session_blocked(c->s), 0);
    assert_int_equal(memtls_session_blocked(s->s), 0);
    assert_int_equal(memtls_session_blocked(NULL), 0);
    sp_free(p);
}

static void test_blocked_tls13(void **state)
{
    blocked_through_a_session(SP_TLS13);
}

static void test_blocked_plaintext(void **state)
{
    blocked_through_a_session(SP_PLAINTEXT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocked_tls13),
        cmocka_unit_test(test_blocked_plaintext),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
