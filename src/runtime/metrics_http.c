/*
 * metrics_http.c - GET /metrics over plain HTTP/1.1, on the loop of the
 * first I/O thread, with a listening socket of its own (libuv TCP: none
 * of the data path's socket code is involved).
 *
 * IMPLEMENTATION NOTES
 *
 * One request per connection: read the request head (at most
 * RT_METRICS_REQ_MAX bytes), answer with Connection: close, shut our
 * write side, wait for the scraper to close its side, close. The body is rendered when the request is complete,
 * on this thread (a few microseconds per worker; the rendering reads only
 * atomics and the certificate's copied details).
 *
 * Bounded. At most RT_METRICS_CLIENTS connections at once (more are
 * closed as soon as they are accepted); each holds its request buffer and
 * one rendered response; each is cut RT_METRICS_TIMEOUT_MS after it was
 * accepted, whatever it is doing (a scraper that never sends its request,
 * or never reads the answer, is reset then). libuv never blocks: a
 * scraper that does not read only leaves its write pending until the cut.
 *
 * Lifetime. The handles are unreferenced, so they never keep the I/O
 * thread's loop alive: the server stops as if the endpoint were not there.
 * memtls_server_free() closes them (memtls__metrics_http_close) after the
 * threads ended; the close callbacks run when the host's loop is freed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include <arpa/inet.h>

#include "metrics.h"

#define RT_METRICS_REQ_MAX 4096u
#define RT_METRICS_CLIENTS 16u
#define RT_METRICS_TIMEOUT_MS 5000u

struct rt_mclient;

typedef struct rt_mhttp {
    memtls_server *srv;
    uv_tcp_t listener;
    int listener_init;
    uint16_t port;
    unsigned nclients; /* clients not closing */
    struct rt_mclient *clients;
} rt_mhttp;

typedef struct rt_mclient {
    rt_mhttp *http;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t wr;
    uv_shutdown_t sh;
    unsigned handles; /* open: tcp, timer */
    int closing;
    int answered;
    size_t req_len;
    char req[RT_METRICS_REQ_MAX];
    rt_text resp;
    struct rt_mclient *prev;
    struct rt_mclient *next;
} rt_mclient;

static void on_client_closed(uv_handle_t *h)
{
    rt_mclient *c = h->data;
    if (--c->handles > 0) {
        return;
    }
    rt_mhttp *http = c->http;
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        http->clients = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    memtls__text_free(&c->resp);
    free(c);
}

static void client_close(rt_mclient *c)
{
    if (c->closing) {
        return;
    }
    c->closing = 1;
    c->http->nclients--; /* its place is free now: a scraper may follow at once */
    uv_close((uv_handle_t *)&c->tcp, on_client_closed);
    uv_close((uv_handle_t *)&c->timer, on_client_closed);
}

/* Cut: a reset, so that a scraper that does not read learns it at once
 * (a FIN would wait behind the answer it never reads) and the kernel
 * keeps nothing of it. */
static void on_timeout(uv_timer_t *t)
{
    rt_mclient *c = t->data;
    uv_os_fd_t fd;
    if (!c->closing && uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0) {
        struct linger lg = {1, 0};
        (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    client_close(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

/* Our FIN is out: read (and drop) until the scraper's, then close. A
 * close now could leave the answer and the FIN queued in the kernel
 * behind a scraper that never reads; the cut resets it instead. */
static void on_shutdown(uv_shutdown_t *req, int status)
{
    rt_mclient *c = req->data;
    if (status != 0 || c->closing ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        client_close(c);
    }
}

static void on_written(uv_write_t *req, int status)
{
    rt_mclient *c = req->data;
    if (status != 0 || c->closing) {
        client_close(c);
        return;
    }
    c->sh.data = c;
    if (uv_shutdown(&c->sh, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        client_close(c);
    }
}

/* Queue the whole answer: the status line, the headers (`extra`: more
 * header lines) and `body` (not sent for HEAD), then shut down and
 * close. */
static void answer(rt_mclient *c, const char *status, const char *type, const char *extra,
                   const char *body, size_t body_len, int head_only)
{
    rt_text *t = &c->resp;
    c->answered = 1;
    uv_read_stop((uv_stream_t *)&c->tcp);
    memtls__text_free(t);
    memtls__text_add(t,
                     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n%s\r\n",
                     status, type, body_len, extra);
    if (!head_only && body_len > 0) {
        memtls__text_add(t, "%.*s", (int)body_len, body);
    }
    if (t->oom) {
        client_close(c);
        return;
    }
    uv_buf_t buf = uv_buf_init(t->p, (unsigned)t->len);
    c->wr.data = c;
    if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &buf, 1, on_written) != 0) {
        client_close(c);
    }
}

static void answer_text(rt_mclient *c, const char *status, const char *text)
{
    answer(c, status, "text/plain; charset=utf-8",
           strncmp(status, "405", 3) == 0 ? "Allow: GET, HEAD\r\n" : "", text, strlen(text), 0);
}

/* The request head is complete: "METHOD TARGET HTTP/1.x". */
static void handle(rt_mclient *c)
{
    char method[8];
    char target[256];
    char version[16];
    char line[300];
    size_t n = strcspn(c->req, "\r\n");
    if (n >= sizeof line) {
        answer_text(c, "414 URI Too Long", "request line too long\n");
        return;
    }
    memcpy(line, c->req, n);
    line[n] = '\0';
    char extra;
    if (sscanf(line, "%7s %255s %15s %c", method, target, version, &extra) != 3 ||
        strncmp(version, "HTTP/1.", 7) != 0) {
        answer_text(c, "400 Bad Request", "bad request line\n");
        return;
    }
    int head_only = strcmp(method, "HEAD") == 0;
    if (strcmp(method, "GET") != 0 && !head_only) {
        answer_text(c, "405 Method Not Allowed", "only GET and HEAD\n");
        return;
    }
    size_t plen = strcspn(target, "?");
    if (plen != strlen("/metrics") || strncmp(target, "/metrics", plen) != 0) {
        answer_text(c, "404 Not Found", "not found: the metrics are at /metrics\n");
        return;
    }
    rt_text body = {0};
    if (memtls__metrics_render(c->http->srv, &body) != 0) {
        memtls__text_free(&body);
        answer_text(c, "500 Internal Server Error", "out of memory\n");
        return;
    }
    answer(c, "200 OK", "text/plain; version=0.0.4; charset=utf-8", "", body.p, body.len,
           head_only);
    memtls__text_free(&body);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    rt_mclient *c = h->data;
    (void)suggested;
    if (c->answered) {
        *buf = uv_buf_init(c->req, (unsigned)sizeof c->req); /* dropped */
        return;
    }
    /* Keep one byte for the NUL; no room left reads as UV_ENOBUFS. */
    size_t room = sizeof c->req - 1 - c->req_len;
    *buf = uv_buf_init(c->req + c->req_len, (unsigned)room);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    rt_mclient *c = s->data;
    (void)buf;
    if (c->closing) {
        return;
    }
    if (c->answered) {
        if (n < 0) {
            client_close(c); /* the scraper's FIN (or an error): done */
        }
        return;
    }
    if (n == UV_ENOBUFS) {
        answer_text(c, "431 Request Header Fields Too Large", "request too large\n");
        return;
    }
    if (n < 0) {
        client_close(c); /* EOF or error before a whole request */
        return;
    }
    c->req_len += (size_t)n;
    c->req[c->req_len] = '\0';
    if (strstr(c->req, "\r\n\r\n") != NULL || strstr(c->req, "\n\n") != NULL) {
        handle(c);
    } else if (c->req_len >= sizeof c->req - 1) {
        answer_text(c, "431 Request Header Fields Too Large", "request too large\n");
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    rt_mhttp *http = server->data;
    if (status != 0) {
        return;
    }
    rt_mclient *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return; /* the connection waits in the backlog */
    }
    c->http = http;
    uv_tcp_init(server->loop, &c->tcp);
    uv_timer_init(server->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->handles = 2;
    uv_unref((uv_handle_t *)&c->tcp);
    uv_unref((uv_handle_t *)&c->timer);
    c->next = http->clients;
    if (http->clients != NULL) {
        http->clients->prev = c;
    }
    http->clients = c;
    http->nclients++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || http->nclients > RT_METRICS_CLIENTS) {
        client_close(c);
        return;
    }
    uv_timer_start(&c->timer, on_timeout, RT_METRICS_TIMEOUT_MS, 0);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        client_close(c);
    }
}

int memtls__metrics_http_open(memtls_server *srv, uv_loop_t *loop, const char *host, uint16_t port,
                              char *err, size_t errlen)
{
    char name[300];
    snprintf(name, sizeof name, strchr(host, ':') != NULL ? "[%s]:%u" : "%s:%u", host,
             (unsigned)port);
    struct sockaddr_storage ss;
    unsigned flags = 0;
    memset(&ss, 0, sizeof ss);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0) {
        if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0) {
            snprintf(err, errlen, "metrics %s: invalid address (numeric IPv4 or IPv6 expected)",
                     name);
            return MEMTLS_ERR_INVALID;
        }
        flags = UV_TCP_IPV6ONLY;
    }
    rt_mhttp *http = calloc(1, sizeof *http);
    if (http == NULL) {
        snprintf(err, errlen, "out of memory");
        return MEMTLS_ERR_NOMEM;
    }
    http->srv = srv;
    srv->metrics->http = http;
    uv_tcp_init(loop, &http->listener);
    http->listener_init = 1;
    http->listener.data = http;
    uv_unref((uv_handle_t *)&http->listener);
    int rc = uv_tcp_bind(&http->listener, (const struct sockaddr *)&ss, flags);
    if (rc == 0) {
        rc = uv_listen((uv_stream_t *)&http->listener, 64, on_connection);
    }
    if (rc != 0) {
        snprintf(err, errlen, "metrics %s: %s", name, uv_strerror(rc));
        return MEMTLS_ERR_INVALID;
    }
    struct sockaddr_storage bound;
    int blen = (int)sizeof bound;
    if (uv_tcp_getsockname(&http->listener, (struct sockaddr *)&bound, &blen) == 0) {
        http->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                       : ((struct sockaddr_in *)&bound)->sin_port);
    }
    memtls__log(srv, MEMTLS_LOG_INFO, "metrics on http://%s%s%s:%u/metrics", flags ? "[" : "", host,
                flags ? "]" : "", (unsigned)http->port);
    return 0;
}

uint16_t memtls__metrics_http_port(const rt_mhttp *http)
{
    return http != NULL ? http->port : 0;
}

void memtls__metrics_http_close(rt_mhttp *http)
{
    if (http == NULL) {
        return;
    }
    if (http->listener_init && !uv_is_closing((uv_handle_t *)&http->listener)) {
        uv_close((uv_handle_t *)&http->listener, NULL);
    }
    for (rt_mclient *c = http->clients; c != NULL; c = c->next) {
        client_close(c);
    }
}

void memtls__metrics_http_free(rt_mhttp *http)
{
    free(http);
}
