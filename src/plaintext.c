/*
 * plaintext.c - the plaintext twin: the context operations with no
 * encryption, over the same pair of memory BIOs, for unencrypted
 * listeners. See memtls_ctx_new_plaintext() in include/memtls/context.h.
 */
#include <limits.h>
#include <stdlib.h>

#include <openssl/err.h>

#include "context_internal.h"

static int pt_handshake(memtls_ctx *c)
{
    return c->fatal;
}

static int pt_read(memtls_ctx *c, void *buf, size_t len, size_t *n)
{
    size_t avail = memtls__ctx_in(c);
    if (avail == 0) {
        if (c->eof) {
            /* No close_notify in plaintext: EOF is the clean end. */
            c->peer_closed = 1;
            return MEMTLS_CLOSED;
        }
        return MEMTLS_WANT_READ;
    }
    size_t want = len < avail ? len : avail;
    int got = BIO_read(c->rbio, buf, (int)want);
    memtls__err_clear();
    if (got <= 0) {
        return MEMTLS_WANT_READ;
    }
    *n = (size_t)got;
    return 0;
}

static int pt_write(memtls_ctx *c, const void *buf, size_t len, size_t *n)
{
    size_t done = 0;
    while (done < len) {
        size_t chunk = len - done < INT_MAX ? len - done : INT_MAX;
        int put = BIO_write(c->wbio, (const char *)buf + done, (int)chunk);
        if (put <= 0) {
            memtls__err_clear();
            *n = 0;
            return MEMTLS_ERR_NOMEM;
        }
        done += (size_t)put;
    }
    c->out_maybe = 1;
    *n = done;
    return 0;
}

static int pt_close(memtls_ctx *c)
{
    return 0; /* nothing to send: the transport's EOF is the close */
}

static int pt_key_update(memtls_ctx *c, int update_requested)
{
    (void)update_requested;
    return MEMTLS_ERR_SSL; /* no keys: as TLS 1.2 would answer */
}

static void pt_release(memtls_ctx *c)
{
    BIO *r = NULL;
    BIO *w = NULL;
    if (memtls__ctx_fresh_bios(c, &r, &w) == 0) {
        BIO_free(c->rbio);
        BIO_free(c->wbio);
        c->rbio = r;
        c->wbio = w;
    }
}

static void pt_free(memtls_ctx *c)
{
    BIO_free(c->rbio);
    BIO_free(c->wbio);
    free(c);
}

static const struct memtls__ctx_ops plaintext_ops = {
    .handshake = pt_handshake,
    .read = pt_read,
    .write = pt_write,
    .close = pt_close,
    .key_update = pt_key_update,
    .release = pt_release,
    .free = pt_free,
};

memtls_ctx *memtls_ctx_new_plaintext(memtls_role role)
{
    if (role != MEMTLS_ROLE_CLIENT && role != MEMTLS_ROLE_SERVER) {
        return NULL;
    }
    memtls_ctx *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return NULL;
    }
    c->ops = &plaintext_ops;
    c->role = role;
    c->hs_done = 1;
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    if (c->rbio == NULL || c->wbio == NULL) {
        memtls__err_clear();
        pt_free(c);
        return NULL;
    }
    return c;
}
