/*
 * app_proxy.c - the proxy application: the client's plaintext goes to a
 * plaintext TCP backend that the host connects to, the backend's bytes go
 * back through the session.
 *
 * IMPLEMENTATION NOTES
 *
 * Flow. Client plaintext becomes W_BK_DATA under the backend's credit
 * (write_window bytes not yet written by the host, returned by H_ACK);
 * H_BK_DATA is written into the session, and what it cannot queue waits
 * in the hold buffer while W_PAUSE stops the host reading the backend. So
 * a slow reader on either side stops reading on the other side.
 *
 * Half-close: the two directions end independently, as TCP proxies do.
 * The session runs with on_peer_close, so the client's close_notify
 * (plaintext: FIN) only ends the client -> backend direction: once the
 * client's last plaintext is on its way, W_BK_SHUTDOWN half-closes the
 * backend, and backend bytes keep flowing to the client until the
 * backend's EOF; then the session closes (queued data, close_notify). The
 * other way round, a backend EOF (after its last bytes are queued in the
 * session) becomes memtls_session_shutdown_write() -- close_notify while
 * still reading -- and, once that is with the host, W_SHUTDOWN (FIN) on
 * the client socket; client bytes keep flowing to the backend until the
 * client closes too. Either wait is bounded by the idle timeout.
 *
 * PROXY protocol (backend_proxy_protocol): once the backend is connected,
 * the header is the first W_BK_DATA, before any client plaintext; until
 * it is in the ring (hdr_pending) no client byte and no W_BK_SHUTDOWN go
 * out. It is built here, on the worker, from what the session knows.
 *
 * Backend failures are all logged with the word "backend": it refused or
 * could not be reached ("backend connect failed: ..."), it reset the
 * connection before its EOF ("backend reset the connection": a failure,
 * its bytes not yet queued are lost), or it closed its socket after its
 * EOF and reset what the client sent since ("backend closed": it had
 * finished, not failed).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include <memtls/proxy.h>

#include "metrics.h"
#include "worker.h"

static rt_proxy *px(rt_wconn *c)
{
    return &c->px;
}

static int proxy_open(rt_wconn *c)
{
    /* Ask for the backend in the next round: a client that waits for the
     * backend to speak first (a banner) sends nothing that would run
     * progress again. */
    px(c)->state = BK_WANT;
    memtls__wconn_touch(c);
    return 0;
}

/* Push plaintext to the backend under its credit; returns bytes taken. */
static size_t proxy_input(rt_wconn *c, const uint8_t *data, size_t len)
{
    rt_proxy *p = px(c);
    size_t window = c->w->srv->write_window;
    size_t max = c->w->ch->max_msg;
    if (p->state == BK_FAILED) {
        return len; /* nowhere to go; the connection is closing */
    }
    if (p->state != BK_OPEN || p->hdr_pending) {
        return 0;
    }
    size_t done = 0;
    while (done < len && p->inflight < window) {
        size_t n = len - done;
        if (n > max) {
            n = max;
        }
        if (n > window - p->inflight) {
            n = window - p->inflight;
        }
        if (memtls__wconn_put(c, MSG_W_BK_DATA, data + done, n) != 0) {
            break;
        }
        done += n;
        p->inflight += n;
    }
    return done;
}

static int proxy_client_done(rt_wconn *c)
{
    rt_proxy *p = px(c);
    if (p->state == BK_WANT || p->state == BK_CONNECTING || p->hdr_pending) {
        return 1; /* the client's bytes wait in app_hold for the backend */
    }
    if (p->state == BK_OPEN) {
        if (memtls__wconn_put(c, MSG_W_BK_SHUTDOWN, NULL, 0) != 0) {
            return 1;
        }
        p->shut_sent = 1;
    }
    return 0;
}

static void hold_backend(rt_wconn *c, const uint8_t *data, size_t len)
{
    if (memtls__bytebuf_append(&px(c)->hold, data, len) != 0) {
        memtls__wconn_abort(c, "out of memory");
    }
}

static void proxy_message(rt_wconn *c, const memtls_ring_msg *m)
{
    rt_proxy *p = px(c);
    switch (m->type) {
    case MSG_H_ACK: {
        rt_msg_ack ack;
        memset(&ack, 0, sizeof ack);
        memcpy(&ack, m->data, m->len < sizeof ack ? m->len : sizeof ack);
        if (ack.backend > 0) {
            memtls__wconn_activity(c); /* the backend is reading */
        }
        p->inflight -= ack.backend < p->inflight ? (size_t)ack.backend : p->inflight;
        break;
    }
    case MSG_H_BK_RESULT: {
        rt_msg_status st = {0};
        memcpy(&st, m->data, m->len < sizeof st ? m->len : sizeof st);
        if (c->w->m != NULL) {
            memtls__metrics_backend_connect(c->w->m, rt_now_ns() - p->connect_ns);
        }
        if (st.status == 0) {
            p->state = BK_OPEN;
            p->hdr_pending = c->w->srv->backend_proxy != MEMTLS_PROXY_NONE;
        } else {
            p->state = BK_FAILED;
            memtls__wconn_reason(c, 1, "backend connect failed: ", uv_strerror(st.status));
            memtls__wconn_close(c);
        }
        break;
    }
    case MSG_H_BK_DATA:
        if (c->s == NULL || c->finishing || c->close_ms != 0) {
            break; /* the connection is ending: dropped, not activity */
        }
        memtls__wconn_activity(c);
        if (p->hold.len == 0) {
            size_t n = 0;
            int rc = memtls_session_write(c->s, m->data, m->len, &n);
            if (rc != 0 && rc != MEMTLS_WANT_WRITE) {
                break; /* closing: dropped */
            }
            memtls__wconn_taken(c, RT_SIDE_BACKEND, n);
            if (n < m->len) {
                hold_backend(c, m->data + n, m->len - n);
            }
        } else {
            hold_backend(c, m->data, m->len);
        }
        break;
    case MSG_H_BK_EOF:
        p->eof_pending = 1;
        break;
    case MSG_H_BK_RESET:
        p->state = BK_FAILED;
        if (!p->eof_pending) {
            memtls__wconn_reason(c, 1, "backend reset the connection", NULL);
            memtls__wconn_close(c);
        } else if (p->eof_fed) {
            /* After its EOF the backend closed its socket and reset what
             * the client sent since: it has finished, not failed. */
            memtls__wconn_reason(c, 0, "backend closed", NULL);
            memtls__wconn_close(c);
        }
        /* else the round closes once the backend's last bytes are queued
         * in the session. */
        break;
    default:
        break;
    }
}

/* Backend bytes into the session; at the backend's EOF, end that
 * direction. */
static void feed_backend(rt_wconn *c)
{
    rt_proxy *p = px(c);
    while (p->hold.len > 0) {
        size_t n = 0;
        int rc = memtls_session_write(c->s, memtls__bytebuf_head(&p->hold), p->hold.len, &n);
        if (rc == MEMTLS_WANT_WRITE) {
            break;
        }
        if (rc != 0) {
            n = p->hold.len; /* the session is closing: drop */
        }
        memtls__bytebuf_consume(&p->hold, n);
        memtls__wconn_taken(c, RT_SIDE_BACKEND, n);
        c->dirty = 1;
    }
    if (p->hold.len == 0) {
        memtls__bytebuf_free(&p->hold);
    }
    if (p->hold.len > 0 || !p->eof_pending || p->eof_fed) {
        return;
    }
    /* The backend's last byte is queued in the session. */
    p->eof_fed = 1;
    if (c->peer_closed) {
        /* Both directions are finished: the client closed first and the
         * backend has answered. */
        memtls__wconn_reason(c, 0, "peer closed", NULL);
        memtls__wconn_close(c);
    } else if (p->state != BK_OPEN) {
        /* The backend socket is gone too (it reset what the client sent
         * after its FIN): nothing the client sends can go anywhere. */
        memtls__wconn_reason(c, 0, "backend closed", NULL);
        memtls__wconn_close(c);
    } else {
        /* Half-close towards the client: close_notify now, FIN once it is
         * with the host, and keep relaying the client's bytes. The backend
         * is the side that ended the connection. */
        memtls__wconn_reason(c, 0, "backend closed", NULL);
        p->client_half = 1;
        memtls_session_shutdown_write(c->s);
        c->dirty = 1;
    }
}

/* The backend finished first: once our close_notify (and everything
 * before it) is with the host, shut the client socket's write side.
 * After the round's flush: the flush that hands over the last ciphertext
 * may be the last thing to happen on the connection (the host returns
 * credit only in batches), so nothing else would come to look again. */
static void client_half_close(rt_wconn *c)
{
    rt_proxy *p = px(c);
    if (p->client_half != 1 || memtls_session_state(c->s) != MEMTLS_STATE_READY ||
        memtls_session_queued_out(c->s) > 0 || memtls_session_pending_out(c->s) > 0) {
        return;
    }
    if (memtls__wconn_put(c, MSG_W_SHUTDOWN, NULL, 0) != 0) {
        return;
    }
    p->client_half = 2;
}

/* The address the client connected to: the destination of the
 * listener's PROXY header, or the listener's own address and port. */
static void destination(rt_wconn *c, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (c->pp_has_dst) {
        memcpy(ss, c->pp_dst, sizeof c->pp_dst);
        return;
    }
    if (c->start.local_len > 0 && c->start.local_len <= sizeof c->start.local &&
        c->start.local_len <= sizeof *ss) {
        memcpy(ss, c->start.local, c->start.local_len); /* what the host's accept saw */
        return;
    }
    memtls_server *srv = c->w->srv;
    const char *host = c->listener < srv->nlisteners ? srv->listeners[c->listener].host : "";
    uint16_t port = htons(memtls_server_bound_port(srv, c->listener));
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = port;
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = port;
    }
}

/* Put the PROXY header for the backend in the ring; 0 when it is there
 * (or could not be built: then the connection is aborted). */
static int send_proxy_header(rt_wconn *c)
{
    memtls_ctx *ctx = memtls_session_ctx(c->s);
    struct sockaddr_storage src;
    struct sockaddr_storage dst;
    memset(&src, 0, sizeof src);
    memcpy(&src, c->start.peer, c->start.peer_len <= sizeof c->start.peer ? c->start.peer_len : 0);
    destination(c, &dst);

    memtls_proxy_info info;
    memset(&info, 0, sizeof info);
    int known = (src.ss_family == AF_INET || src.ss_family == AF_INET6) &&
                (dst.ss_family == AF_INET || dst.ss_family == AF_INET6);
    info.src = known ? (const struct sockaddr *)&src : NULL;
    info.dst = known ? (const struct sockaddr *)&dst : NULL;
    char cn[256] = "";
    if (!c->plaintext) {
        size_t der = 0;
        int has_cert = memtls_ctx_peer_cert_der(ctx, NULL, 0, &der) == MEMTLS_ERR_TOO_SMALL;
        int verified = has_cert && memtls_ctx_peer_verified(ctx);
        info.alpn = memtls_ctx_alpn(ctx);
        info.authority = memtls_ctx_sni(ctx);
        info.ssl = 1;
        info.ssl_client = MEMTLS_PP2_CLIENT_SSL;
        if (has_cert) {
            /* Seen on this connection, or only in the resumed session. */
            info.ssl_client |= MEMTLS_PP2_CLIENT_CERT_SESS;
            if (!memtls_ctx_resumed(ctx)) {
                info.ssl_client |= MEMTLS_PP2_CLIENT_CERT_CONN;
            }
        }
        info.ssl_verify = verified ? 0 : 1;
        info.ssl_version = memtls_ctx_protocol(ctx);
        info.ssl_cipher = memtls_ctx_cipher(ctx);
        if (verified && memtls_ctx_peer_cn(ctx, cn, sizeof cn) == 0) {
            info.ssl_cn = cn;
        }
    }
    uint8_t hdr[1024];
    size_t len = 0;
    if (memtls_proxy_build((unsigned)c->w->srv->backend_proxy, &info, hdr, sizeof hdr, &len) != 0) {
        memtls__wconn_abort(c, "backend PROXY header could not be built");
        return 0;
    }
    if (memtls__wconn_put(c, MSG_W_BK_DATA, hdr, len) != 0) {
        return -1; /* the ring is full: again on room */
    }
    px(c)->inflight += len;
    return 0;
}

static void proxy_round(rt_wconn *c)
{
    rt_proxy *p = px(c);
    if (p->state == BK_WANT && memtls__wconn_put(c, MSG_W_BK_CONNECT, NULL, 0) == 0) {
        p->state = BK_CONNECTING;
        p->connect_ns = c->w->m != NULL ? rt_now_ns() : 0;
    }
    if (p->state == BK_OPEN && p->hdr_pending && send_proxy_header(c) == 0) {
        p->hdr_pending = 0;
        c->dirty = 1; /* client bytes held for the backend may go now */
    }
    feed_backend(c);
}

static int proxy_can_release(rt_wconn *c)
{
    /* The client's last plaintext still goes to the backend. */
    return !(px(c)->state == BK_OPEN && (c->app_hold.len > 0 || memtls_session_readable(c->s) > 0));
}

static void proxy_stop(rt_wconn *c)
{
    /* A proxy cannot tell where a request ends: cutting the client's input
     * would hand the backend half a request. So the connection runs on
     * until either side closes, or the grace period ends -- also one that
     * is still in its handshake, whose client may already have sent its
     * request behind its Finished. */
    (void)c;
}

const rt_app_ops memtls__app_proxy = {
    .open = proxy_open,
    .input = proxy_input,
    .client_done = proxy_client_done,
    .message = proxy_message,
    .round = proxy_round,
    .flushed = client_half_close,
    .can_release = proxy_can_release,
    .stop = proxy_stop,
    .half_close = 1,
};
