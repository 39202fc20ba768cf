/* resume.c - see resume.h. */
#include "test.h"

#include <string.h>

#include <openssl/x509.h>

#include <memtls/context.h>
#include <memtls/openssl.h>

#include "pump.h"
#include "resume.h"
#include "tlspair.h"

void rs_connect(memtls_config *scfg, memtls_config *ccfg, const char *sni, SSL_SESSION *resume,
                rs_result *out)
{
    memset(out, 0, sizeof *out);
    out->cert_index = -2;
    memtls_ctx *s = memtls_ctx_new(scfg);
    memtls_ctx *c = memtls_ctx_new(ccfg);
    assert_non_null(s);
    assert_non_null(c);
    if (sni != NULL) {
        assert_int_equal(memtls_ctx_set_hostname(c, sni), 0);
    }
    SSL *cssl = memtls_ctx_ssl(c);
    if (resume != NULL) {
        assert_int_equal(SSL_set_session(cssl, resume), 1);
    }
    msglog log;
    msglog_attach(c, &log);
    int crc = -1;
    int src = -1;
    out->ok = pump_handshake(c, s, 0, &crc, &src);
    if (out->ok) {
        /* Tickets that follow the handshake (TLS 1.3). */
        uint8_t buf[64];
        size_t n = 0;
        pump_one_way(s, c, 0);
        int rrc = memtls_ctx_read(c, buf, sizeof buf, &n);
        assert_int_equal(rrc, MEMTLS_WANT_READ); /* tickets only, no data */
        out->resumed = memtls_ctx_resumed(s);
        out->client_reused = SSL_session_reused(cssl);
        out->cert_index = memtls_ctx_cert_index(s);
        snprintf(out->cert_subject, sizeof out->cert_subject, "%s", memtls_ctx_cert_subject(s));
        snprintf(out->sni, sizeof out->sni, "%s", memtls_ctx_sni(s));
        X509 *peer = SSL_get0_peer_certificate(cssl);
        if (peer != NULL) {
            out->peer_key_type = EVP_PKEY_get_base_id(X509_get0_pubkey(peer));
            X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, out->peer_cn,
                                      sizeof out->peer_cn);
        }
        out->tickets = log.received[SSL3_MT_NEWSESSION_TICKET];
        /* A clean close both ways: OpenSSL marks the session of a
         * connection that ended without close_notify not resumable. */
        assert_int_equal(memtls_ctx_close(c), 0);
        pump_one_way(c, s, 0);
        assert_int_equal(memtls_ctx_read(s, buf, sizeof buf, &n), MEMTLS_CLOSED);
        assert_int_equal(memtls_ctx_close(s), 0);
        pump_one_way(s, c, 0);
        assert_int_equal(memtls_ctx_read(c, buf, sizeof buf, &n), MEMTLS_CLOSED);
        out->session = SSL_get1_session(cssl);
        if (out->session != NULL && SSL_SESSION_has_ticket(out->session)) {
            const unsigned char *t = NULL;
            size_t tlen = 0;
            SSL_SESSION_get0_ticket(out->session, &t, &tlen);
            if (tlen >= 16) {
                memcpy(out->ticket_name, t, 16);
                out->has_ticket = 1;
            }
        }
    } else {
        print_error("rs_connect: handshake failed: client %s (%s), server %s (%s)\n",
                    memtls_status_name(crc), memtls_ctx_error(c), memtls_status_name(src),
                    memtls_ctx_error(s));
    }
    memtls_ctx_free(c);
    memtls_ctx_free(s);
}

void rs_free(rs_result *out)
{
    SSL_SESSION_free(out->session);
    out->session = NULL;
}
