/*
 * context.c - what TLS contexts and the plaintext twin share: argument
 * checks, the ciphertext plumbing over the two memory BIOs, dispatch to
 * the operation table, and the sticky fatal error. See
 * include/memtls/context.h.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "context_internal.h"

void memtls__ctx_fail(memtls_ctx *c, int status, const char *op)
{
    char reasons[MEMTLS__ERROR_MAX] = "";
    memtls__drain_errors(reasons, sizeof reasons);
    if (c->fatal != 0) {
        return; /* the first fatal error sticks */
    }
    c->fatal = status;
    /* The text is kept only once there is an error, so a healthy context
     * carries no buffer for it. */
    char text[MEMTLS__ERROR_MAX];
    snprintf(text, sizeof text, "%s: %s", op, memtls_status_name(status));
    if (reasons[0] != '\0') {
        memtls__strlcatf(text, sizeof text, ": %s", reasons);
    } else if (status == MEMTLS_ERR_SYSCALL && c->eof) {
        memtls__strlcatf(text, sizeof text, ": stream ended without close_notify (truncated)");
    }
    c->error = strdup(text); /* NULL (out of memory) reads as no text */
}

void memtls__ctx_append_error(memtls_ctx *c, const char *more)
{
    char text[MEMTLS__ERROR_MAX];
    memtls__strlcpy(text, c->error != NULL ? c->error : "", sizeof text);
    memtls__strlcatf(text, sizeof text, "%s", more);
    char *copy = strdup(text);
    if (copy != NULL) {
        free(c->error);
        c->error = copy;
    }
}

void memtls_ctx_free(memtls_ctx *ctx)
{
    if (ctx == NULL) {
        return;
    }
    free(ctx->error);
    free(ctx->alpn);
    ctx->ops->free(ctx);
}

int memtls_ctx_is_tls(const memtls_ctx *ctx)
{
    return ctx != NULL && ctx->ssl != NULL;
}

memtls_role memtls_ctx_role(const memtls_ctx *ctx)
{
    return ctx == NULL ? MEMTLS_ROLE_CLIENT : ctx->role;
}

int memtls_ctx_feed(memtls_ctx *ctx, const void *data, size_t len)
{
    if (ctx == NULL || (data == NULL && len > 0) || len > INT_MAX || ctx->eof) {
        return MEMTLS_ERR_INVALID;
    }
    size_t done = 0;
    while (done < len) {
        int n = BIO_write(ctx->rbio, (const char *)data + done, (int)(len - done));
        if (n <= 0) {
            memtls__err_clear();
            return MEMTLS_ERR_NOMEM;
        }
        done += (size_t)n;
    }
    ctx->in_maybe = 1;
    return 0;
}

int memtls_ctx_feed_eof(memtls_ctx *ctx)
{
    if (ctx == NULL) {
        return MEMTLS_ERR_INVALID;
    }
    /* From now on an empty read BIO reads as EOF (0) instead of "retry". */
    BIO_set_mem_eof_return(ctx->rbio, 0);
    ctx->eof = 1;
    return 0;
}

/* The two counts update the context's cached "maybe" flags, which is no
 * change anyone can observe: they are caches of the BIOs' state. */
size_t memtls_ctx_pending_in(const memtls_ctx *ctx)
{
    return ctx == NULL ? 0 : memtls__ctx_in((memtls_ctx *)ctx);
}

size_t memtls_ctx_discard_input(memtls_ctx *ctx)
{
    if (ctx == NULL) {
        return 0;
    }
    size_t unread = memtls__ctx_in(ctx);
    if (unread > 0) {
        /* BIO_reset keeps the EOF return set by memtls_ctx_feed_eof(). */
        (void)BIO_reset(ctx->rbio);
        ERR_clear_error();
    }
    return unread;
}

size_t memtls_ctx_pending_out(const memtls_ctx *ctx)
{
    return ctx == NULL ? 0 : memtls__ctx_out((memtls_ctx *)ctx);
}

int memtls_ctx_drain(memtls_ctx *ctx, void *buf, size_t len, size_t *sent)
{
    if (sent != NULL) {
        *sent = 0;
    }
    if (ctx == NULL || sent == NULL || (buf == NULL && len > 0)) {
        return MEMTLS_ERR_INVALID;
    }
    if ((!ctx->out_maybe && !ctx->raw) || len == 0) {
        return 0;
    }
    int want = len > INT_MAX ? INT_MAX : (int)len;
    /* A memory BIO gives what it has, up to `want`: less means empty. */
    int n = BIO_read(ctx->wbio, buf, want);
    if (n > 0) {
        *sent = (size_t)n;
    }
    if (n < want) {
        ctx->out_maybe = 0;
    }
    memtls__err_clear();
    return 0;
}

int memtls__ctx_fresh_bios(const memtls_ctx *c, BIO **rbio, BIO **wbio)
{
    *rbio = BIO_new(BIO_s_mem());
    *wbio = BIO_new(BIO_s_mem());
    if (*rbio == NULL || *wbio == NULL) {
        BIO_free(*rbio);
        BIO_free(*wbio);
        *rbio = *wbio = NULL;
        memtls__err_clear();
        return MEMTLS_ERR_NOMEM;
    }
    /* Empty reads as "retry" until the transport's EOF: see memtls_ctx_new. */
    BIO_set_mem_eof_return(*rbio, c->eof ? 0 : -1);
    BIO_set_mem_eof_return(*wbio, -1);
    return 0;
}

int memtls_ctx_release_buffers(memtls_ctx *ctx)
{
    if (ctx == NULL) {
        return MEMTLS_ERR_INVALID;
    }
    if (ctx->raw || memtls__ctx_in(ctx) > 0 || memtls__ctx_out(ctx) > 0) {
        return 0; /* bytes wait: nothing to give back now */
    }
    ctx->ops->release(ctx);
    return 0;
}

int memtls_ctx_handshake(memtls_ctx *ctx)
{
    if (ctx == NULL) {
        return MEMTLS_ERR_INVALID;
    }
    return ctx->ops->handshake(ctx);
}

int memtls_ctx_read(memtls_ctx *ctx, void *buf, size_t len, size_t *readbytes)
{
    if (readbytes != NULL) {
        *readbytes = 0;
    }
    if (ctx == NULL || buf == NULL || readbytes == NULL || len == 0 || len > INT_MAX) {
        return MEMTLS_ERR_INVALID;
    }
    return ctx->ops->read(ctx, buf, len, readbytes);
}

int memtls_ctx_write(memtls_ctx *ctx, const void *buf, size_t len, size_t *written)
{
    if (written != NULL) {
        *written = 0;
    }
    /* len > INT_MAX is refused like memtls_ctx_feed() and memtls_ctx_read() do
     * (context.h: "other statuses as memtls_ctx_read()"): a size that large is
     * a caller bug, not a message, and nothing is queued. */
    if (ctx == NULL || written == NULL || (buf == NULL && len > 0) || len > INT_MAX) {
        return MEMTLS_ERR_INVALID;
    }
    if (ctx->closed) {
        return MEMTLS_CLOSED;
    }
    if (len == 0) {
        return 0;
    }
    return ctx->ops->write(ctx, buf, len, written);
}

int memtls_ctx_close(memtls_ctx *ctx)
{
    if (ctx == NULL) {
        return MEMTLS_ERR_INVALID;
    }
    if (ctx->closed) {
        return 0;
    }
    int rc = ctx->ops->close(ctx);
    if (rc == 0) {
        ctx->closed = 1;
    }
    return rc;
}

int memtls_ctx_key_update(memtls_ctx *ctx, int update_requested)
{
    if (ctx == NULL) {
        return MEMTLS_ERR_INVALID;
    }
    return ctx->ops->key_update(ctx, update_requested);
}

int memtls_ctx_handshake_done(const memtls_ctx *ctx)
{
    return ctx != NULL && ctx->hs_done;
}

int memtls_ctx_peer_closed(const memtls_ctx *ctx)
{
    return ctx != NULL && ctx->peer_closed;
}

int memtls_ctx_truncated(const memtls_ctx *ctx)
{
    return ctx != NULL && ctx->truncated;
}

const char *memtls_ctx_error(const memtls_ctx *ctx)
{
    return ctx == NULL || ctx->error == NULL ? "" : ctx->error;
}
