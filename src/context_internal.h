/*
 * context_internal.h - the context object shared by the TLS implementation
 * (tls.c), the plaintext twin (plaintext.c) and the common plumbing
 * (context.c). See include/memtls/context.h for the contract.
 */
#ifndef MEMTLS_CONTEXT_INTERNAL_H
#define MEMTLS_CONTEXT_INTERNAL_H

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memtls/context.h>

#include "errbuf.h"

/*
 * The operations that differ between TLS and plaintext. Everything else
 * (feed, drain, pending counts, argument checks) is common, so both behave
 * identically at the edges.
 */
struct memtls__ctx_ops {
    int (*handshake)(memtls_ctx *c);
    int (*read)(memtls_ctx *c, void *buf, size_t len, size_t *n);
    int (*write)(memtls_ctx *c, const void *buf, size_t len, size_t *n);
    int (*close)(memtls_ctx *c);
    int (*key_update)(memtls_ctx *c, int update_requested);
    /* Give back buffers while nothing is pending (see
     * memtls_ctx_release_buffers). */
    void (*release)(memtls_ctx *c);
    void (*free)(memtls_ctx *c);
};

struct memtls_ctx {
    const struct memtls__ctx_ops *ops;
    memtls_role role;
    BIO *rbio;       /* inbound ciphertext; owned by ssl for TLS, by us for twin */
    BIO *wbio;       /* outbound ciphertext; likewise */
    int eof;         /* memtls_ctx_feed_eof() was called */
    int closed;      /* memtls_ctx_close() succeeded: no more writes */
    int peer_closed; /* close_notify (twin: EOF) was read */
    int hs_done;     /* handshake complete */
    int truncated;   /* a read hit EOF without close_notify */
    int fatal;       /* first fatal status, 0 if none: it sticks */
    /* What the BIOs may hold, so the common "nothing there" answer costs
     * no BIO call: in_maybe is set by a feed, out_maybe by every call that
     * lets OpenSSL (or the twin) write; each is cleared when its BIO is
     * seen empty. raw: the caller took the SSL * (memtls_ctx_ssl) and may
     * move bytes behind our back, so the BIOs are always asked. */
    int in_maybe;
    int out_maybe;
    int raw;
    char *error; /* the first fatal error as text (NULL: none) */

    /* TLS only */
    SSL *ssl;
    memtls_config *cfg;
    char *hostname;
    long verify_result;    /* X509_V_* captured when the handshake ended */
    int missing_peer_cert; /* required client certificate never came */
    int auth_failed;       /* the handshake failed on verification */
    char *subject;         /* cached at handshake completion */
    char *sans;
    char *alpn;           /* the negotiated protocol (NULL: none) */
    uint64_t key_updates; /* KeyUpdate messages received */
    int hold_ku_replies;  /* memtls_ctx_hold_key_update_replies() */
};

/*
 * Make sure the thread's OpenSSL error queue is empty (before an SSL call,
 * so SSL_get_error sees only that call's errors; after a failure has been
 * recorded). Looking costs a fraction of clearing, which walks every slot
 * of the queue, and the queue is almost always empty already.
 */
static inline void memtls__err_clear(void)
{
    if (ERR_peek_error() != 0) {
        ERR_clear_error();
    }
}

/* Bytes in the read / write BIO (see in_maybe, out_maybe). */
static inline size_t memtls__ctx_in(memtls_ctx *c)
{
    if (!c->in_maybe && !c->raw) {
        return 0;
    }
    size_t n = BIO_ctrl_pending(c->rbio);
    if (n == 0) {
        c->in_maybe = 0;
    }
    return n;
}

static inline size_t memtls__ctx_out(memtls_ctx *c)
{
    if (!c->out_maybe && !c->raw) {
        return 0;
    }
    size_t n = BIO_ctrl_pending(c->wbio);
    if (n == 0) {
        c->out_maybe = 0;
    }
    return n;
}

/* Add to the context's error text. */
void memtls__ctx_append_error(memtls_ctx *c, const char *more);

/* Two fresh, empty memory BIOs with the context's EOF state, for
 * replacing ones whose storage grew (their buffers are never shrunk).
 * 0 or MEMTLS_ERR_NOMEM (nothing created). */
int memtls__ctx_fresh_bios(const memtls_ctx *c, BIO **rbio, BIO **wbio);

/* Record the first fatal status of `c` with a message; later ones are kept
 * out. Drains and formats the thread's OpenSSL error queue, then clears it. */
void memtls__ctx_fail(memtls_ctx *c, int status, const char *op);

#endif
