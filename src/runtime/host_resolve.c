/*
 * host_resolve.c - the backend's addresses, for one host: a numeric
 * address as given, or a name resolved with uv_getaddrinfo (on libuv's
 * thread pool: the host's loop never blocks on DNS).
 *
 * A resolution serves every connection that waits for it and is kept for
 * RT_RESOLVE_TTL_MS, so a busy proxy does not ask the resolver per
 * connection but still follows a changed name within seconds; a failure is
 * not kept at all: the next connection asks again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    rt_resolver *r = req->data;
    rt_host *h = r->host;
    r->busy = 0;
    r->n = 0;
    r->err = status;
    for (struct addrinfo *ai = res; ai != NULL && r->n < RT_MAX_ADDRS; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > sizeof r->addr[0]) {
            continue;
        }
        memcpy(&r->addr[r->n], ai->ai_addr, ai->ai_addrlen);
        r->len[r->n] = (socklen_t)ai->ai_addrlen;
        r->n++;
    }
    uv_freeaddrinfo(res);
    if (status == 0 && r->n == 0) {
        r->err = UV_EAI_ADDRFAMILY;
    }
    r->expires = r->err == 0 ? uv_now(&h->loop.uv) + RT_RESOLVE_TTL_MS : 0;
    if (r->err != 0) {
        memtls__log_limited(h->srv, &r->logged, MEMTLS_LOG_WARN, "backend %s: cannot resolve: %s",
                            h->srv->backend_name, uv_strerror(r->err));
    }
    rt_fifo list = rt_fifo_take(&r->waiting);
    rt_fifo_link *l;
    while ((l = rt_fifo_pop(&list)) != NULL) {
        r->ready(l);
    }
}

int memtls__resolve(rt_resolver *r, rt_fifo_link *waiter)
{
    rt_host *h = r->host;
    memtls_server *srv = h->srv;
    if (srv->backend_name == NULL) {
        return 1; /* numeric: filled in once at start */
    }
    if (r->n > 0 && uv_now(&h->loop.uv) < r->expires) {
        return 1;
    }
    rt_fifo_push(&r->waiting, waiter);
    if (r->busy) {
        return 0;
    }
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)srv->backend_port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    r->req.data = r;
    int rc = uv_getaddrinfo(&h->loop.uv, &r->req, on_resolved, srv->backend_name, port, &hints);
    if (rc != 0) {
        /* Not started: answer the waiters now, as a failed resolution. */
        on_resolved(&r->req, rc, NULL);
        return 0;
    }
    r->busy = 1;
    return 0;
}

void memtls__resolve_init(rt_resolver *r, rt_host *h, void (*ready)(rt_fifo_link *))
{
    memset(r, 0, sizeof *r);
    r->host = h;
    r->ready = ready;
    const memtls_server *srv = h->srv;
    if (srv->backend_name == NULL && srv->backend_len > 0) {
        r->addr[0] = srv->backend;
        r->len[0] = srv->backend_len;
        r->n = 1;
    }
}

void memtls__resolve_cancel(rt_resolver *r, rt_fifo_link *waiter)
{
    rt_fifo_remove(&r->waiting, waiter);
}

void memtls__resolve_stop(rt_resolver *r)
{
    if (r->busy) {
        /* The callback still runs (UV_ECANCELED), with nobody waiting. */
        (void)uv_cancel((uv_req_t *)&r->req);
    }
}
