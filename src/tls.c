/*
 * tls.c - the TLS implementation of the context operations (OpenSSL over
 * two memory BIOs). See include/memtls/context.h.
 *
 * IMPLEMENTATION NOTES
 *
 * Every SSL_* call is bracketed the same way: clear the thread's error
 * queue, make the call, and on failure turn it into a status with
 * SSL_get_error() *before* anything else can touch the queue; then record
 * the reason text in the context (first fatal error sticks) and clear the
 * queue again. That is what keeps one context's failure from being
 * reported by another on the same thread.
 *
 * The only status reinterpreted is a handshake MEMTLS_ERR_SSL caused by
 * certificate verification: the verify result is not X509_V_OK, or the
 * reason is CERTIFICATE_VERIFY_FAILED or PEER_DID_NOT_RETURN_A_CERTIFICATE
 * (a required client certificate never came: nothing was verified, so the
 * verify result stays X509_V_OK). Those become MEMTLS_ERR_X509_VERIFY.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <memtls/openssl.h>

#include "config_internal.h"
#include "context_internal.h"
#include "status.h"

static int is_ip_literal(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static char *peer_subject(X509 *cert)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL;
    if (b == NULL) {
        return NULL;
    }
    if (X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
        size_t n = BIO_ctrl_pending(b);
        out = malloc(n + 1);
        if (out != NULL) {
            int got = n > 0 ? BIO_read(b, out, (int)n) : 0;
            out[got > 0 ? got : 0] = '\0';
        }
    }
    BIO_free(b);
    return out;
}

static char *peer_sans(X509 *cert)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    size_t cap = 1;
    char *out = NULL;
    if (names == NULL) {
        return calloc(1, 1);
    }
    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        cap += 64 + (g->type == GEN_DNS || g->type == GEN_EMAIL || g->type == GEN_URI
                         ? (size_t)ASN1_STRING_length(g->d.ia5)
                         : 0);
    }
    out = calloc(1, cap);
    for (int i = 0; out != NULL && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        const char *sep = out[0] != '\0' ? ", " : "";
        const unsigned char *d;
        int len;
        char ip[INET6_ADDRSTRLEN];
        switch (g->type) {
        case GEN_DNS:
        case GEN_EMAIL:
        case GEN_URI:
            d = ASN1_STRING_get0_data(g->d.ia5);
            len = ASN1_STRING_length(g->d.ia5);
            memtls__strlcatf(out, cap, "%s%s:%.*s", sep,
                             g->type == GEN_DNS     ? "DNS"
                             : g->type == GEN_EMAIL ? "email"
                                                    : "URI",
                             len, (const char *)d);
            break;
        case GEN_IPADD:
            d = ASN1_STRING_get0_data(g->d.ip);
            len = ASN1_STRING_length(g->d.ip);
            if ((len == 4 && inet_ntop(AF_INET, d, ip, sizeof ip) != NULL) ||
                (len == 16 && inet_ntop(AF_INET6, d, ip, sizeof ip) != NULL)) {
                memtls__strlcatf(out, cap, "%sIP:%s", sep, ip);
            }
            break;
        default:
            break;
        }
    }
    GENERAL_NAMES_free(names);
    return out;
}

/* Called once, when the handshake is first seen complete. */
static void on_handshake_done(memtls_ctx *c)
{
    const unsigned char *alpn = NULL;
    unsigned int alpn_len = 0;
    X509 *peer = SSL_get0_peer_certificate(c->ssl);

    c->hs_done = 1;
    c->verify_result = SSL_get_verify_result(c->ssl);
    SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
    if (alpn_len > 0 && c->alpn == NULL) {
        c->alpn = malloc(alpn_len + 1u);
        if (c->alpn != NULL) {
            memcpy(c->alpn, alpn, alpn_len);
            c->alpn[alpn_len] = '\0';
        }
    }
    if (peer != NULL) {
        c->subject = peer_subject(peer);
        c->sans = peer_sans(peer);
    }
}

/*
 * A handshake step failed with MEMTLS_ERR_SSL: was the cause the peer's
 * certificate (verify result not X509_V_OK, or reason
 * CERTIFICATE_VERIFY_FAILED / PEER_DID_NOT_RETURN_A_CERTIFICATE)? If so
 * record why in the context and return 1. Must run before anything
 * touches the error queue the failing call left.
 */
static int note_auth_failure(memtls_ctx *c)
{
    unsigned long e = ERR_peek_error();
    int reason = ERR_GET_LIB(e) == ERR_LIB_SSL ? ERR_GET_REASON(e) : 0;
    long vr = SSL_get_verify_result(c->ssl);
    /* With verification off OpenSSL still records a verify result:
     * it only explains a failure when we asked for verification. */
    if (memtls__config_verify(c->cfg) == MEMTLS_VERIFY_NONE) {
        vr = X509_V_OK;
    }
    if (vr == X509_V_OK && reason != SSL_R_CERTIFICATE_VERIFY_FAILED &&
        reason != SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
        return 0;
    }
    c->auth_failed = 1;
    c->verify_result = vr;
    c->missing_peer_cert = reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE;
    return 1;
}

/*
 * Turn a failed SSL call into a status (SSL_get_error must see the queue
 * as the call left it), then record fatal errors and clear the queue. The
 * value is SSL_get_error's, unchanged: the MEMTLS_ outcomes are the same
 * numbers (status.c checks it at build time).
 */
static int tls_status(memtls_ctx *c, int ret, const char *op)
{
    int err = SSL_get_error(c->ssl, ret);
    if (err == MEMTLS_ERR_SSL && !c->hs_done) {
        /* memtls_ctx_read/memtls_ctx_write run the handshake too: keep the verify
         * result and reason of a failure they met, so memtls_ctx_verify_error()
         * says why and memtls_ctx_handshake() later reports it as
         * MEMTLS_ERR_X509_VERIFY. They still return MEMTLS_ERR_SSL. */
        (void)note_auth_failure(c);
    }
    if (err == MEMTLS_CLOSED) {
        c->peer_closed = 1;
        if (!c->hs_done && c->fatal == 0) {
            /* close_notify before the handshake completed: it never will.
             * Keep it as the context's failure, with a reason, so every
             * later call answers the same and memtls_ctx_error() says why. */
            memtls__ctx_fail(c, err, op);
            memtls__ctx_append_error(c, ": the peer sent close_notify before the handshake "
                                        "completed");
        }
    } else if (err == MEMTLS_ERR_SSL || err == MEMTLS_ERR_SYSCALL) {
        unsigned long e = ERR_peek_error();
        if ((err == MEMTLS_ERR_SSL && ERR_GET_LIB(e) == ERR_LIB_SSL &&
             ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) ||
            (err == MEMTLS_ERR_SYSCALL && e == 0 && c->eof)) {
            c->truncated = 1;
        }
        memtls__ctx_fail(c, err, op);
    }
    memtls__err_clear();
    return err;
}

static void note_done(memtls_ctx *c)
{
    if (!c->hs_done && SSL_is_init_finished(c->ssl)) {
        on_handshake_done(c);
    }
}

static int tls_handshake(memtls_ctx *c)
{
    if (c->fatal != 0) {
        return c->auth_failed ? MEMTLS_ERR_X509_VERIFY : c->fatal;
    }
    memtls__err_clear();
    c->out_maybe = 1;
    int ret = SSL_do_handshake(c->ssl);
    if (ret == 1) {
        note_done(c);
        return 0;
    }
    int err = SSL_get_error(c->ssl, ret);
    if (err == MEMTLS_ERR_SSL && note_auth_failure(c)) {
        memtls__ctx_fail(c, MEMTLS_ERR_SSL, "handshake");
        memtls__err_clear();
        /* Later reads and writes see the generic sticky status; the
         * sentinel is the handshake's answer only. */
        return MEMTLS_ERR_X509_VERIFY;
    }
    return tls_status(c, ret, "handshake");
}

/*
 * OpenSSL 3 does not answer a peer's KeyUpdate(update_requested) inside
 * SSL_read: it only marks the answer pending and sends it at the next
 * SSL_write, so a side that only reads never updates its sending keys.
 * Send the answer from the read that received the request instead, so it
 * is in the write BIO when the read returns (the DRAIN RULE in context.h
 * promises exactly that). RFC 8446 4.6.3 only requires the answer before
 * our next application data; sending it earlier is allowed. Nothing is
 * sent after our close_notify. A failure here is left to OpenSSL: the
 * update stays pending for the next write, and a broken connection is
 * reported by the next call.
 */
static void send_key_update_reply(memtls_ctx *c)
{
    int type = SSL_get_key_update_type(c->ssl);
    if (type == SSL_KEY_UPDATE_NONE || c->hold_ku_replies || SSL_in_init(c->ssl) ||
        (SSL_get_shutdown(c->ssl) & SSL_SENT_SHUTDOWN) != 0) {
        return;
    }
    memtls__err_clear();
    c->out_maybe = 1;
    if (SSL_key_update(c->ssl, type) == 1) {
        (void)SSL_do_handshake(c->ssl);
    }
    memtls__err_clear();
}

/*
 * Would SSL_read certainly say "want read" without doing anything? After
 * the handshake, with no inbound ciphertext waiting, nothing buffered in
 * the SSL (decrypted or not), and no EOF to report, it would only look at
 * the empty read BIO. Callers poll reads after every event (the session
 * must keep reading, see session.h), so skipping these calls saves most
 * SSL_read calls of a connection.
 */
static int nothing_to_read(memtls_ctx *c)
{
    return c->hs_done && !c->eof && memtls__ctx_in(c) == 0 && !SSL_has_pending(c->ssl) &&
           !SSL_in_init(c->ssl);
}

static int tls_read(memtls_ctx *c, void *buf, size_t len, size_t *n)
{
    if (c->fatal != 0) {
        return c->fatal;
    }
    if (c->peer_closed) {
        return MEMTLS_CLOSED;
    }
    if (nothing_to_read(c)) {
        send_key_update_reply(c);
        return MEMTLS_WANT_READ;
    }
    memtls__err_clear();
    size_t got = 0;
    c->out_maybe = 1;
    int ret = SSL_read_ex(c->ssl, buf, len, &got);
    note_done(c);
    if (ret == 1) {
        send_key_update_reply(c);
        *n = got;
        return 0;
    }
    int err = tls_status(c, ret, "read");
    if (err == MEMTLS_WANT_READ) {
        send_key_update_reply(c);
    }
    return err;
}

int memtls_ctx_hold_key_update_replies(memtls_ctx *ctx, int hold)
{
    if (ctx == NULL) {
        return MEMTLS_ERR_INVALID;
    }
    if (ctx->ssl == NULL || (ctx->hold_ku_replies != 0) == (hold != 0)) {
        return 0;
    }
    ctx->hold_ku_replies = hold != 0;
    if (!hold && ctx->fatal == 0) {
        send_key_update_reply(ctx); /* the one reply that waited, if any */
    }
    return 0;
}

uint64_t memtls_ctx_key_updates_received(const memtls_ctx *ctx)
{
    return ctx == NULL ? 0 : ctx->key_updates;
}

/* Counts the peer's KeyUpdate messages (OpenSSL 3.0 has no limit of its
 * own); every other message passes untouched. */
static void on_msg(int write_p, int version, int content_type, const void *buf, size_t len,
                   SSL *ssl, void *arg)
{
    memtls_ctx *c = arg;
    (void)version;
    (void)ssl;
    if (!write_p && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
        ((const unsigned char *)buf)[0] == SSL3_MT_KEY_UPDATE) {
        c->key_updates++;
    }
}

static int tls_write(memtls_ctx *c, const void *buf, size_t len, size_t *n)
{
    if (c->fatal != 0) {
        return c->fatal;
    }
    memtls__err_clear();
    size_t done = 0;
    c->out_maybe = 1;
    int ret = SSL_write_ex(c->ssl, buf, len, &done);
    note_done(c);
    if (ret == 1) {
        *n = done;
        return 0;
    }
    return tls_status(c, ret, "write");
}

static int tls_close(memtls_ctx *c)
{
    if (c->fatal != 0) {
        return c->fatal;
    }
    if (!c->hs_done) {
        /* OpenSSL refuses to shut down mid-handshake; say so without
         * poisoning the context. */
        return MEMTLS_ERR_SSL;
    }
    int ret;
    if (!SSL_is_init_finished(c->ssl)) {
        /* The handshake is done, but OpenSSL is "in init" again: a
         * KeyUpdate requested with memtls_ctx_key_update() is still unsent,
         * and SSL_shutdown would refuse (shutdown while in init). Let the
         * state machine write it to the write BIO first. */
        memtls__err_clear();
        c->out_maybe = 1;
        ret = SSL_do_handshake(c->ssl);
        if (ret != 1) {
            return tls_status(c, ret, "close");
        }
    }
    memtls__err_clear();
    c->out_maybe = 1;
    ret = SSL_shutdown(c->ssl);
    if (ret >= 0) {
        /* 0: close_notify sent, peer's not yet seen. That is progress, and
         * SSL_get_error must not be asked about it. 1: both done. */
        memtls__err_clear();
        return 0;
    }
    return tls_status(c, ret, "close");
}

static int tls_key_update(memtls_ctx *c, int update_requested)
{
    if (c->fatal != 0) {
        return c->fatal;
    }
    if (!c->hs_done) {
        return MEMTLS_ERR_SSL;
    }
    memtls__err_clear();
    if (SSL_key_update(c->ssl, update_requested ? SSL_KEY_UPDATE_REQUESTED
                                                : SSL_KEY_UPDATE_NOT_REQUESTED) != 1) {
        memtls__err_clear(); /* not TLS 1.3, or an update already pending */
        return MEMTLS_ERR_SSL;
    }
    return 0;
}

/* Idle: OpenSSL's record buffers (allocated again at the next record) and
 * the BIOs' storage go. Not mid-handshake, not with a record half read. */
static void tls_release(memtls_ctx *c)
{
    if (!c->hs_done || SSL_in_init(c->ssl) || SSL_has_pending(c->ssl)) {
        return;
    }
    memtls__err_clear();
    (void)SSL_free_buffers(c->ssl); /* refuses (0) when data is buffered */
    BIO *r = NULL;
    BIO *w = NULL;
    if (memtls__ctx_fresh_bios(c, &r, &w) == 0) {
        SSL_set_bio(c->ssl, r, w); /* frees the old pair */
        c->rbio = r;
        c->wbio = w;
    }
    memtls__err_clear();
}

static void tls_free(memtls_ctx *c)
{
    SSL_free(c->ssl); /* frees both BIOs */
    memtls_config_free(c->cfg);
    free(c->hostname);
    free(c->subject);
    free(c->sans);
    free(c);
}

static const struct memtls__ctx_ops tls_ops = {
    .handshake = tls_handshake,
    .read = tls_read,
    .write = tls_write,
    .close = tls_close,
    .key_update = tls_key_update,
    .release = tls_release,
    .free = tls_free,
};

memtls_ctx *memtls_ctx_new(memtls_config *cfg)
{
    memtls_ctx *c = NULL;
    if (cfg == NULL) {
        return NULL;
    }
    if (memtls_config_role(cfg) == MEMTLS_ROLE_SERVER && !memtls_config_has_cert(cfg)) {
        return NULL;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        return NULL;
    }
    memtls__err_clear();
    c->ops = &tls_ops;
    c->role = memtls_config_role(cfg);
    c->ssl = SSL_new(memtls__config_freeze(cfg));
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL) {
        SSL_free(c->ssl);
        BIO_free(c->rbio);
        BIO_free(c->wbio);
        free(c);
        memtls__err_clear();
        return NULL;
    }
    /* An empty read BIO must read as "retry", not EOF: that is BIO_s_mem's
     * default (eof return -1), stated here because everything depends on
     * it. memtls_ctx_feed_eof() switches it to 0. */
    BIO_set_mem_eof_return(c->rbio, -1);
    BIO_set_mem_eof_return(c->wbio, -1);
    SSL_set_bio(c->ssl, c->rbio, c->wbio);
    SSL_set_msg_callback(c->ssl, on_msg);
    SSL_set_msg_callback_arg(c->ssl, c);
    if (c->role == MEMTLS_ROLE_SERVER) {
        SSL_set_accept_state(c->ssl);
    } else {
        SSL_set_connect_state(c->ssl);
    }
    c->verify_result = X509_V_OK;
    c->cfg = memtls_config_ref(cfg);
    return c;
}

int memtls_ctx_set_hostname(memtls_ctx *ctx, const char *hostname)
{
    if (ctx == NULL || ctx->ssl == NULL || hostname == NULL || hostname[0] == '\0' ||
        ctx->role != MEMTLS_ROLE_CLIENT || SSL_in_before(ctx->ssl) == 0 || ctx->hostname) {
        return MEMTLS_ERR_INVALID;
    }
    if (strlen(hostname) > 253 + 2) { /* allow "[v6]" brackets; DNS max 253 */
        return MEMTLS_ERR_INVALID;
    }
    /* "[::1]", as URLs and host:port strings write it, is the IP ::1. */
    size_t hlen = strlen(hostname);
    char *copy = hlen >= 2 && hostname[0] == '[' && hostname[hlen - 1] == ']'
                     ? strndup(hostname + 1, hlen - 2)
                     : strdup(hostname);
    if (copy == NULL) {
        return MEMTLS_ERR_NOMEM;
    }
    memtls__err_clear();
    X509_VERIFY_PARAM *param = SSL_get0_param(ctx->ssl);
    int ok;
    if (is_ip_literal(copy)) {
        /* RFC 6066: no IP literals in SNI. Match IP SANs instead. */
        ok = X509_VERIFY_PARAM_set1_ip_asc(param, copy) == 1;
    } else {
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        ok = SSL_set_tlsext_host_name(ctx->ssl, copy) == 1 && SSL_set1_host(ctx->ssl, copy) == 1;
    }
    memtls__err_clear();
    if (!ok) {
        free(copy);
        return MEMTLS_ERR_INVALID;
    }
    ctx->hostname = copy;
    return 0;
}

int memtls_ctx_peer_verified(const memtls_ctx *ctx)
{
    return ctx != NULL && ctx->ssl != NULL && ctx->hs_done &&
           SSL_get0_peer_certificate(ctx->ssl) != NULL &&
           SSL_get_verify_result(ctx->ssl) == X509_V_OK &&
           memtls__config_verify(ctx->cfg) != MEMTLS_VERIFY_NONE;
}

long memtls_ctx_verify_result(const memtls_ctx *ctx)
{
    if (ctx == NULL || ctx->ssl == NULL) {
        return X509_V_OK;
    }
    return ctx->hs_done ? SSL_get_verify_result(ctx->ssl) : ctx->verify_result;
}

const char *memtls_ctx_verify_error(const memtls_ctx *ctx)
{
    if (ctx == NULL || ctx->ssl == NULL) {
        return "no peer certificate";
    }
    if (ctx->missing_peer_cert) {
        return "peer did not return a certificate";
    }
    long vr = memtls_ctx_verify_result(ctx);
    if (vr != X509_V_OK) {
        return X509_verify_cert_error_string(vr);
    }
    if (SSL_get0_peer_certificate(ctx->ssl) == NULL) {
        return "no peer certificate";
    }
    return "ok";
}

/* Here, beside memtls_ctx_verify_error, because the text for a failed
 * handshake is the verify reason. */
const char *memtls_ctx_status_text(const memtls_ctx *ctx, int status, char *buf, size_t len)
{
    if (buf == NULL || len == 0) {
        return "";
    }
    snprintf(buf, len, "%s: %s", memtls_status_name(status), memtls__status_meaning(status));
    if (ctx != NULL && status == MEMTLS_ERR_X509_VERIFY) {
        memtls__strlcatf(buf, len, ": %s", memtls_ctx_verify_error(ctx));
    } else if (ctx != NULL && status != 0 && ctx->error != NULL &&
               (status == MEMTLS_ERR_SSL || status == MEMTLS_ERR_SYSCALL)) {
        memtls__strlcatf(buf, len, " [%s]", ctx->error);
    }
    return buf;
}

const char *memtls_ctx_protocol(const memtls_ctx *ctx)
{
    if (ctx == NULL || ctx->ssl == NULL || !ctx->hs_done) {
        return "";
    }
    return SSL_get_version(ctx->ssl);
}

const char *memtls_ctx_cipher(const memtls_ctx *ctx)
{
    if (ctx == NULL || ctx->ssl == NULL || !ctx->hs_done) {
        return "";
    }
    const SSL_CIPHER *ci = SSL_get_current_cipher(ctx->ssl);
    return ci == NULL ? "" : SSL_CIPHER_get_name(ci);
}

int memtls_ctx_resumed(const memtls_ctx *ctx)
{
    if (ctx == NULL || ctx->ssl == NULL || !ctx->hs_done) {
        return 0;
    }
    return SSL_session_reused(ctx->ssl) == 1;
}

const char *memtls_ctx_alpn(const memtls_ctx *ctx)
{
    return ctx == NULL || ctx->alpn == NULL ? "" : ctx->alpn;
}

const char *memtls_ctx_sni(const memtls_ctx *ctx)
{
    if (ctx == NULL || ctx->ssl == NULL || ctx->role != MEMTLS_ROLE_SERVER) {
        return "";
    }
    const char *s = SSL_get_servername(ctx->ssl, TLSEXT_NAMETYPE_host_name);
    return s == NULL ? "" : s;
}

int memtls_ctx_cert_index(const memtls_ctx *ctx)
{
    if (ctx == NULL || ctx->ssl == NULL || ctx->role != MEMTLS_ROLE_SERVER || !ctx->hs_done ||
        SSL_session_reused(ctx->ssl)) {
        return -1;
    }
    /* The certificate the handshake signed with (OpenSSL points the
     * SSL's current certificate at it when it picks the signature
     * algorithm); the pairs share their X509 objects with the SSL. */
    return memtls__config_cert_index(ctx->cfg, SSL_get_certificate(ctx->ssl));
}

const char *memtls_ctx_cert_subject(const memtls_ctx *ctx)
{
    int i = memtls_ctx_cert_index(ctx);
    return i < 0 ? "" : memtls__config_cert_subject(ctx->cfg, i);
}

int memtls_ctx_peer_cn(const memtls_ctx *ctx, char *buf, size_t len)
{
    if (ctx == NULL || buf == NULL || len == 0) {
        return MEMTLS_ERR_INVALID;
    }
    buf[0] = '\0';
    X509 *peer = ctx->ssl == NULL ? NULL : SSL_get0_peer_certificate(ctx->ssl);
    X509_NAME *name = peer == NULL ? NULL : X509_get_subject_name(peer);
    int i = name == NULL ? -1 : X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (i < 0) {
        return MEMTLS_ERR_NO_PEER_CERT;
    }
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    memtls__err_clear();
    if (n < 0) {
        return MEMTLS_ERR_NOMEM;
    }
    int rc = 0;
    if ((size_t)n >= len) {
        rc = MEMTLS_ERR_TOO_SMALL;
    } else {
        memcpy(buf, utf8, (size_t)n);
        buf[n] = '\0';
    }
    OPENSSL_free(utf8);
    return rc;
}

int memtls_ctx_peer_cert_der(const memtls_ctx *ctx, uint8_t *buf, size_t len, size_t *outlen)
{
    if (outlen != NULL) {
        *outlen = 0;
    }
    if (ctx == NULL || outlen == NULL || (buf == NULL && len > 0)) {
        return MEMTLS_ERR_INVALID;
    }
    X509 *peer = ctx->ssl == NULL ? NULL : SSL_get0_peer_certificate(ctx->ssl);
    if (peer == NULL) {
        return MEMTLS_ERR_NO_PEER_CERT;
    }
    int n = i2d_X509(peer, NULL);
    if (n <= 0) {
        memtls__err_clear();
        return MEMTLS_ERR_NOMEM;
    }
    *outlen = (size_t)n;
    if (len < (size_t)n) {
        return MEMTLS_ERR_TOO_SMALL;
    }
    unsigned char *p = buf;
    i2d_X509(peer, &p);
    return 0;
}

const char *memtls_ctx_peer_subject(const memtls_ctx *ctx)
{
    return ctx == NULL || ctx->subject == NULL ? "" : ctx->subject;
}

const char *memtls_ctx_peer_sans(const memtls_ctx *ctx)
{
    return ctx == NULL || ctx->sans == NULL ? "" : ctx->sans;
}

int memtls_ctx_peer_has_name(const memtls_ctx *ctx, const char *name)
{
    if (ctx == NULL || ctx->ssl == NULL || name == NULL || name[0] == '\0') {
        return 0;
    }
    X509 *peer = SSL_get0_peer_certificate(ctx->ssl);
    if (peer == NULL) {
        return 0;
    }
    int ok;
    if (is_ip_literal(name)) {
        ok = X509_check_ip_asc(peer, name, 0) == 1;
    } else {
        ok = X509_check_host(peer, name, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
    }
    memtls__err_clear();
    return ok;
}

SSL *memtls_ctx_ssl(memtls_ctx *ctx)
{
    if (ctx == NULL) {
        return NULL;
    }
    ctx->raw = 1; /* the caller may now move bytes behind our back */
    return ctx->ssl;
}
