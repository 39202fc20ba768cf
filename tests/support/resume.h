/*
 * resume.h - one TLS connection in memory between a client and a server
 * configuration, for the tests of session tickets and of the choice of
 * certificate by SNI: the client may offer a saved session, and after
 * the handshake reads what the server sent (TLS 1.3 tickets come after
 * the handshake), so the session it keeps holds the newest ticket.
 */
#ifndef MEMTLS_TEST_RESUME_H
#define MEMTLS_TEST_RESUME_H

#include <openssl/ssl.h>

#include <memtls/config.h>

typedef struct rs_result {
    int ok;            /* the handshake completed on both sides */
    int resumed;       /* memtls_ctx_resumed() on the server */
    int client_reused; /* SSL_session_reused() on the client */
    int cert_index;    /* memtls_ctx_cert_index() on the server */
    char cert_subject[256];
    char sni[256];        /* memtls_ctx_sni() on the server */
    int peer_key_type;    /* the client's view: EVP_PKEY base id of the server's key, 0 if none */
    char peer_cn[128];    /* the client's view: CN of the server certificate */
    unsigned tickets;     /* NewSessionTicket messages the client received */
    SSL_SESSION *session; /* the client's session afterwards (free with SSL_SESSION_free) */
    unsigned char ticket_name[16]; /* the first 16 bytes of its ticket (the key name) */
    int has_ticket;
} rs_result;

/*
 * Connect a client of `ccfg` to a server of `scfg`, with `sni` as the
 * server name (NULL: none; it is also checked against the certificate
 * when ccfg verifies) and `resume` offered as the session (NULL: none).
 * Fills *out; never fails the test by itself (out->ok says).
 */
void rs_connect(memtls_config *scfg, memtls_config *ccfg, const char *sni, SSL_SESSION *resume,
                rs_result *out);

/* Free out->session. */
void rs_free(rs_result *out);

#endif
