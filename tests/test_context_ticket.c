/*
 * Test: a TLS 1.3 server finishes its handshake with NewSessionTicket
 * messages already written: memtls_ctx_handshake() returns 0 and the tickets
 * wait in memtls_ctx_pending_out(). A caller that stops draining when the
 * handshake succeeds strands them; delivered, the client's read consumes
 * them and the client's session holds a ticket.
 */
#include "test.h"
#include <string.h>

#include <openssl/ssl.h>

#include <memtls/context.h>
#include <memtls/openssl.h>

#include "pump.h"
#include "tlspair.h"

static void test_tickets_pending_after_handshake(void **state)
{
    tlspair p;
    tlspair_opts o = {0};
    o.version = MEMTLS_TLS1_3;
    tlspair_init(&p, &o);
    tlspair_contexts(&p, "localhost");
    msglog cl;
    msglog sl;
    msglog_attach(p.c, &cl);
    msglog_attach(p.s, &sl);

    /* Drive the 1-RTT handshake by hand. */
    assert_int_equal(memtls_ctx_handshake(p.c), MEMTLS_WANT_READ); /* ClientHello */
    pump_one_way(p.c, p.s, 0);
    assert_int_equal(memtls_ctx_handshake(p.s), MEMTLS_WANT_READ); /* ServerHello..Finished */
    pump_one_way(p.s, p.c, 0);
    assert_int_equal(memtls_ctx_handshake(p.c), 0); /* client Finished */
    assert_int_equal(sl.sent[SSL3_MT_NEWSESSION_TICKET], 0);
    pump_one_way(p.c, p.s, 0);

    assert_int_equal(memtls_ctx_pending_out(p.s), 0);
    assert_int_equal(memtls_ctx_handshake(p.s), 0);
    assert_true(memtls_ctx_handshake_done(p.s));
    /* The handshake succeeded AND left ciphertext to send: the tickets. */
    assert_true(sl.sent[SSL3_MT_NEWSESSION_TICKET] >= 1);
    size_t tickets = memtls_ctx_pending_out(p.s);
    assert_true(tickets > 0);
    /* Asking again does not add more. */
    assert_int_equal(memtls_ctx_handshake(p.s), 0);
    assert_int_equal(memtls_ctx_pending_out(p.s), tickets);

    /* Before the tickets arrive the client has no resumable session. */
    SSL_SESSION *sess = SSL_get_session(memtls_ctx_ssl(p.c));
    assert_true(sess == NULL || !SSL_SESSION_has_ticket(sess));

    assert_int_equal(pump_one_way(p.s, p.c, 0), tickets);
    uint8_t buf[16];
    size_t n = 99;
    assert_int_equal(memtls_ctx_read(p.c, buf, sizeof buf, &n), MEMTLS_WANT_READ);
    assert_int_equal(n, 0);
    assert_int_equal(cl.received[SSL3_MT_NEWSESSION_TICKET], sl.sent[SSL3_MT_NEWSESSION_TICKET]);
    sess = SSL_get_session(memtls_ctx_ssl(p.c));
    assert_non_null(sess);
    assert_true(SSL_SESSION_has_ticket(sess));
    /* Reading the tickets produces nothing to send back. */
    assert_int_equal(memtls_ctx_pending_out(p.c), 0);
    assert_int_equal(memtls_ctx_pending_in(p.c), 0);
    tlspair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tickets_pending_after_handshake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
