/*
 * Test: a TLS 1.3 server finishes its handshake with NewSessionTicket
 * messages already written: memtls_ctx_handshake() returns 0 and the tickets
 * wait in memtls_ctx_pending_out(). A caller that stops draining when the
 * handshake succeeds strands them; delivered, the client's read consumes
 * them and the client's session holds a ticket. A second connection that
 * offers the ticket is resumed, and memtls_ctx_resumed() says so on both
 * ends (and not for the first, full handshake).
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

/* The client's newest session with a ticket, from OpenSSL's callback (a
 * TLS 1.3 client gets its resumable sessions only this way). */
static SSL_SESSION *g_session;

static int keep_session(SSL *ssl, SSL_SESSION *sess)
{
    (void)ssl;
    SSL_SESSION_free(g_session);
    g_session = sess;
    return 1; /* we keep the reference */
}

static void test_resumed_with_ticket(void **state)
{
    (void)state;
    tlspair p;
    tlspair_opts o = {0};
    o.version = MEMTLS_TLS1_3;
    tlspair_init(&p, &o);
    SSL_CTX *cctx = memtls_config_ssl_ctx(p.ccfg);
    SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(cctx, keep_session);
    tlspair_contexts(&p, "localhost");
    tlspair_handshake(&p);
    assert_int_equal(memtls_ctx_resumed(p.s), 0);
    assert_int_equal(memtls_ctx_resumed(p.c), 0);
    /* The client reads the tickets. */
    (void)pump_one_way(p.s, p.c, 0);
    uint8_t buf[16];
    size_t n = 0;
    assert_int_equal(memtls_ctx_read(p.c, buf, sizeof buf, &n), MEMTLS_WANT_READ);
    assert_non_null(g_session);

    /* A second connection with the same configurations offers a ticket
     * (the first one is closed properly: OpenSSL marks the session of a
     * connection freed without close_notify as not resumable). */
    assert_int_equal(memtls_ctx_close(p.c), 0);
    memtls_ctx_free(p.s);
    memtls_ctx_free(p.c);
    p.s = p.c = NULL;
    tlspair_contexts(&p, "localhost");
    assert_int_equal(SSL_set_session(memtls_ctx_ssl(p.c), g_session), 1);
    SSL_SESSION_free(g_session);
    g_session = NULL;
    assert_int_equal(memtls_ctx_resumed(p.s), 0); /* not before the handshake */
    tlspair_handshake(&p);
    assert_int_equal(memtls_ctx_resumed(p.s), 1);
    assert_int_equal(memtls_ctx_resumed(p.c), 1);
    assert_int_equal(memtls_ctx_resumed(NULL), 0);
    tlspair_free(&p);
    SSL_SESSION_free(g_session);
    g_session = NULL;

    memtls_ctx *plain = memtls_ctx_new_plaintext(MEMTLS_ROLE_SERVER);
    assert_non_null(plain);
    assert_int_equal(memtls_ctx_resumed(plain), 0);
    memtls_ctx_free(plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tickets_pending_after_handshake),
        cmocka_unit_test(test_resumed_with_ticket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
