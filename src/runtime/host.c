/*
 * host.c - an I/O thread (a "host"): its loop, its listening sockets and
 * accepting, its pass over the channels of its workers, and the stop
 * sequence. The sockets of one connection are in host_conn.c.
 *
 * IMPLEMENTATION NOTES
 *
 * Listeners. Each host has its own listening socket per listener address;
 * with more than one host they share the port through SO_REUSEPORT, so
 * the kernel spreads connections over the hosts and no host is the
 * ceiling. The host accepts itself (accept4, at most ACCEPT_BATCH per
 * readiness, so a connection burst cannot starve established traffic), so
 * the peer's address comes with the accept and running out of descriptors
 * is handled here: accepting pauses for EMFILE_PAUSE_MS (the kernel keeps
 * the waiting connections in the backlog) instead of spinning on an
 * accept that keeps failing, with one log line per second at most.
 *
 * Stop. memtls__host_request_stop() (any thread) sets a flag and rings the
 * host's bell. The host closes its listeners, asks its workers to end
 * their connections gracefully (channel stop = 1) and starts the grace
 * timer. Connections end the normal way (W_CLOSE, flush, shut, close).
 * When the grace period is over with connections left, the workers close
 * them at once with close_notify (stop = 2) and the host gives the last
 * bytes FINAL_FLUSH_MS to go out. Then (or as soon as no connection is
 * left) the workers are told to exit, and once every worker has freed its
 * connections the host closes its last handles, so its loop ends.
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host.h"
#include "procs.h"

/* Messages read per channel per pass. */
#define HOST_BATCH 1024u
/* Connections accepted per listener readiness. */
#define ACCEPT_BATCH 64
/* Out of descriptors: pause accepting this long. */
#define EMFILE_PAUSE_MS 100
/* After the grace period: time for the close_notify of the connections
 * closed then to reach their peers. */
#define FINAL_FLUSH_MS 1000

/* --- listeners -------------------------------------------------------------- */

static void on_accept_resume(uv_timer_t *t)
{
    rt_host *h = t->data;
    h->accept_paused = 0; /* the next pass accepts what waited */
}

static void out_of_descriptors(rt_host *h, int err)
{
    memtls_server *srv = h->srv;
    atomic_fetch_add_explicit(&srv->accept_errors, 1, memory_order_relaxed);
    memtls__log_limited(srv, &h->emfile_logged, MEMTLS_LOG_WARN,
                        "accept: %s (out of file descriptors or memory): accepting paused for "
                        "%d ms",
                        uv_strerror(-err), EMFILE_PAUSE_MS);
    if (!h->accept_paused) {
        h->accept_paused = 1;
        uv_timer_start(&h->accept_timer, on_accept_resume, EMFILE_PAUSE_MS, 0);
    }
}

/* Accept at most ACCEPT_BATCH connections; `ready` stays set when more
 * may wait (edge-triggered: the next pass takes them). */
static void accept_batch(rt_listener *l)
{
    rt_host *h = l->host;
    if (!l->open || !l->ready || h->stopping || h->accept_paused) {
        return;
    }
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            if (memtls__hconn_accept(h, l->index, fd, (struct sockaddr *)&ss, len) == NULL) {
                memtls__log(h->srv, MEMTLS_LOG_ERROR, "accept: out of memory");
            }
            continue;
        }
        switch (errno) {
        case EAGAIN:
#if EWOULDBLOCK != EAGAIN
        case EWOULDBLOCK:
#endif
            l->ready = 0;
            return;
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
        case EPERM:
        case ENETDOWN:
        case ENETUNREACH:
        case EHOSTDOWN:
        case EHOSTUNREACH:
        case EOPNOTSUPP:
        case ENOPROTOOPT:
        case ETIMEDOUT:
            continue; /* that connection failed; the next may not */
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
            out_of_descriptors(h, errno);
            return;
        default:
            memtls__log_limited(h->srv, &h->emfile_logged, MEMTLS_LOG_ERROR, "accept: %s",
                                uv_strerror(-errno));
            l->ready = 0;
            return;
        }
    }
}

/* --- the event set ------------------------------------------------------------ */

#define EVENT_BATCH 256

/* Serve a batch of events from the event set; returns 1 if libuv's own
 * descriptor was among them. Sockets and listeners stay valid for the
 * whole batch: a connection closed by an earlier event of the batch has
 * fd -1 and is freed only later, when its timer's close callback runs. */
static int take_events(rt_host *h, const struct epoll_event *ev, int n)
{
    int uv_ready = 0;
    for (int i = 0; i < n; i++) {
        int kind = *(int *)ev[i].data.ptr;
        if (kind == RT_EV_UV) {
            uv_ready = 1;
        } else if (kind == RT_EV_LISTENER) {
            rt_listener *l = ev[i].data.ptr;
            l->ready = 1;
            accept_batch(l);
        } else {
            hsock *s = ev[i].data.ptr;
            if (s->fd >= 0) {
                memtls__hsock_event(s, ev[i].events);
                memtls__hconn_serve(s);
            }
        }
    }
    return uv_ready;
}

/* Once per loop pass, before the rings are pumped: sockets with work left
 * from their last event (one read each per pass), and listeners with
 * connections left over from their last batch. */
static void host_pass(void *arg)
{
    rt_host *h = arg;
    rt_fifo list = rt_fifo_take(&h->posted);
    rt_fifo_link *l;
    while ((l = rt_fifo_pop(&list)) != NULL) {
        memtls__hconn_serve(RT_FIFO_ENTRY(l, hsock, posted));
    }
    for (size_t i = 0; i < h->nlisteners; i++) {
        accept_batch(&h->listeners[i]);
    }
}

static int parse_addr(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        *len = sizeof *a4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        *len = sizeof *a6;
        return 0;
    }
    return -1;
}

static void format_listener(const char *host, uint16_t port, char *out, size_t len)
{
    snprintf(out, len, strchr(host, ':') != NULL ? "[%s]:%u" : "%s:%u", host, (unsigned)port);
}

/*
 * With several hosts the listening sockets share the port (SO_REUSEPORT),
 * which would also let this server join a port another process already
 * listens on, silently sharing its connections. So the first host binds
 * the address once without SO_REUSEPORT: "address already in use" comes
 * out as it should, and an ephemeral port (0) is chosen here. Returns 0
 * (with *port set, ss updated) or -1 with errno.
 */
static int probe_port(struct sockaddr_storage *ss, socklen_t len, uint16_t *port)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    /* Like the listeners: a port whose old connections linger in
     * TIME_WAIT is free, one another socket listens on is not. */
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss->ss_family == AF_INET6) {
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    if (bind(fd, (struct sockaddr *)ss, len) != 0 ||
        getsockname(fd, (struct sockaddr *)&bound, &blen) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    close(fd);
    if (ss->ss_family == AF_INET6) {
        ((struct sockaddr_in6 *)ss)->sin6_port = ((struct sockaddr_in6 *)&bound)->sin6_port;
        *port = ntohs(((struct sockaddr_in6 *)ss)->sin6_port);
    } else {
        ((struct sockaddr_in *)ss)->sin_port = ((struct sockaddr_in *)&bound)->sin_port;
        *port = ntohs(((struct sockaddr_in *)ss)->sin_port);
    }
    return 0;
}

/* A new listening socket bound to ss: the descriptor, or -1 with errno. */
static int bind_listener(const memtls_server *srv, const struct sockaddr_storage *ss,
                         socklen_t sslen)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (srv->nio > 1) {
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    }
    if (ss->ss_family == AF_INET6) {
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    if (bind(fd, (const struct sockaddr *)ss, sslen) != 0 || listen(fd, SOMAXCONN) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static int open_listener(rt_host *h, size_t i, uint16_t port, char *err, size_t errlen)
{
    memtls_server *srv = h->srv;
    const memtls_listener_opts *lo = &srv->listeners[i];
    rt_listener *l = &h->listeners[i];
    char name[80];
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    format_listener(lo->host, port, name, sizeof name);
    if (parse_addr(lo->host, port, &ss, &sslen) != 0) {
        snprintf(err, errlen, "%s: invalid address (numeric IPv4 or IPv6 expected)", name);
        return MEMTLS_ERR_INVALID;
    }
    if (lo->fd <= 0 && srv->nio > 1 && h->index == 0 && probe_port(&ss, sslen, &port) != 0) {
        snprintf(err, errlen, "%s: %s", name, uv_strerror(-errno));
        return MEMTLS_ERR_INVALID;
    }
    /* A given listening socket (socket activation) is taken as it is:
     * each host accepts on a duplicate of its own. */
    int fd = lo->fd > 0 ? memtls__listen_fd_dup(lo->fd) : bind_listener(srv, &ss, sslen);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", name, uv_strerror(-errno));
        return MEMTLS_ERR_INVALID;
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    memset(&bound, 0, sizeof bound);
    if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0) {
        h->ports[i] = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                        : ((struct sockaddr_in *)&bound)->sin_port);
    }
    l->kind = RT_EV_LISTENER;
    l->host = h;
    l->index = i;
    l->fd = fd;
    struct epoll_event ev = {0};
    ev.events = EPOLLIN | EPOLLET;
    ev.data.ptr = l;
    if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        snprintf(err, errlen, "%s: cannot watch the socket: %s", name, uv_strerror(-errno));
        close(fd);
        return MEMTLS_ERR_NOMEM;
    }
    l->open = 1;
    h->nlisteners = i + 1;
    return 0;
}

static void close_listeners(rt_host *h)
{
    for (size_t i = 0; i < h->nlisteners; i++) {
        rt_listener *l = &h->listeners[i];
        if (l->open) {
            l->open = 0;
            close(l->fd); /* which takes it out of the event set */
            l->fd = -1;
        }
    }
}

uint16_t memtls__host_port(const rt_host *h, size_t index)
{
    if (h == NULL || index >= h->nlisteners) {
        return 0;
    }
    return h->ports[index];
}

/* --- stop ------------------------------------------------------------------------ */

static void tell_workers(rt_host *h, atomic_int *(*flag)(rt_channel *), int value)
{
    for (unsigned i = 0; i < h->nlinks; i++) {
        rt_channel *ch = h->links[i].ch;
        if (ch != NULL) {
            atomic_store_explicit(flag(ch), value, memory_order_release);
            memtls__chan_force(ch, RT_TO_WORKER);
        }
    }
}

static atomic_int *stop_flag(rt_channel *ch)
{
    return &ch->sh->stop;
}

static atomic_int *exit_flag(rt_channel *ch)
{
    return &ch->sh->exit;
}

static void finish(rt_host *h)
{
    if (h->exiting) {
        return;
    }
    h->exiting = 1;
    tell_workers(h, exit_flag, 1);
    /* Whatever still closes (refused connections, last flushes) is cut;
     * the connections are freed by their handles' close callbacks. */
    for (hconn *c = h->all, *next; c != NULL; c = next) {
        next = c->next_all;
        if (h->procs != NULL && !c->refused && !c->worker_done) {
            /* A worker process's record would come too late: ours. */
            memtls__hconn_log(c, "server stopped (grace period over)");
        }
        memtls__hconn_force_close(c);
    }
    uv_timer_stop(&h->grace);
    uv_timer_stop(&h->accept_timer);
    memtls__resolve_stop(&h->resolver);
}

static void on_final(uv_timer_t *t)
{
    finish(t->data);
}

static void on_grace(uv_timer_t *t)
{
    rt_host *h = t->data;
    memtls__log(h->srv, MEMTLS_LOG_INFO, "grace period over: closing %u connection(s)", h->live);
    tell_workers(h, stop_flag, 2);
    uv_timer_start(&h->grace, on_final, FINAL_FLUSH_MS, 0);
}

static void begin_stop(rt_host *h)
{
    memtls_server *srv = h->srv;
    h->stopping = 1;
    close_listeners(h);
    tell_workers(h, stop_flag, 1);
    unsigned grace = atomic_load_explicit(&srv->grace_ms, memory_order_relaxed);
    if (h->index == 0) {
        memtls__log(srv, MEMTLS_LOG_INFO, "stopping: %llu connection(s) open, grace %u ms",
                    (unsigned long long)atomic_load(&srv->conns_open), grace);
    }
    uv_timer_start(&h->grace, on_grace, grace > 0 ? grace : 1, 0);
}

void memtls__host_request_stop(rt_host *h)
{
    atomic_store_explicit(&h->stop_requested, 1, memory_order_release);
    memtls__bell_force(&h->loop.bell);
}

/* --- the pass over the channels -------------------------------------------------- */

static int all_workers_exited(rt_host *h)
{
    for (unsigned i = 0; i < h->nlinks; i++) {
        rt_link *l = &h->links[i];
        if (l->ch == NULL) {
            continue;
        }
        if (h->procs != NULL ? !memtls__procs_link_gone(h, i)
                             : !atomic_load_explicit(&l->ch->sh->exited, memory_order_acquire)) {
            return 0;
        }
    }
    return 1;
}

void memtls__host_cut_link(rt_host *h, unsigned li, const char *why)
{
    unsigned n = 0;
    for (hconn *c = h->all, *next; c != NULL; c = next) {
        next = c->next_all;
        if (!c->refused && c->wi == li && !c->worker_done) {
            char reason[160];
            snprintf(reason, sizeof reason, "worker %u%s", h->links[li].worker, why);
            memtls__hconn_log(c, reason);
            memtls__hconn_force_close(c);
            n++;
        }
    }
    if (n > 0 || why[0] != '\0') {
        memtls__log(h->srv, MEMTLS_LOG_ERROR, "worker %u%s: %u connection(s) closed",
                    h->links[li].worker, why, n);
    }
}

int memtls__host_pick_link(rt_host *h)
{
    for (unsigned k = 0; k < h->nlinks; k++) {
        unsigned i = h->next_link++ % h->nlinks;
        if (h->links[i].state == RT_LINK_ACTIVE) {
            return (int)i;
        }
    }
    return -1;
}

static int host_pump(void *arg)
{
    rt_host *h = arg;
    int work = 0;
    if (!h->stopping && atomic_load_explicit(&h->stop_requested, memory_order_acquire)) {
        begin_stop(h);
        work = 1;
    }
    if (h->procs != NULL) {
        work |= memtls__procs_host_pass(h);
    }
    for (unsigned i = 0; i < h->nlinks && !h->exiting; i++) {
        rt_link *l = &h->links[i];
        rt_channel *ch = l->ch;
        if (ch == NULL || l->state == RT_LINK_BROKEN) {
            continue;
        }
        if (memtls__chan_check(ch, RT_TO_HOST)) {
            /* A frame nobody wrote: its connections are closed at once
             * and it gets no new ones (a worker process is replaced). */
            if (h->procs != NULL) {
                memtls__procs_link_broken(h, i);
            } else {
                l->state = RT_LINK_BROKEN;
                memtls__host_cut_link(h, i,
                                      " (its channel is corrupt; it gets no new connections)");
            }
            work = 1;
            continue;
        }
        if (memtls__chan_take_room(ch, RT_TO_WORKER)) {
            memtls__hconn_retry_blocked(h, i);
            work = 1;
        }
        h->reading = i;
        work |= memtls__chan_read(ch, RT_TO_HOST, memtls__hconn_on_message, memtls__hconn_batch_end,
                                  h, HOST_BATCH) > 0;
    }
    if (h->stopping && !h->exiting && h->live == 0) {
        finish(h);
    }
    if (h->exiting && !h->loop.closing && all_workers_exited(h)) {
        uv_close((uv_handle_t *)&h->grace, NULL);
        uv_close((uv_handle_t *)&h->accept_timer, NULL);
        if (h->procs != NULL) {
            memtls__procs_host_close(h);
        }
        memtls__loop_close_handles(&h->loop);
    }
    return work;
}

static int host_has_work(void *arg)
{
    rt_host *h = arg;
    if (!h->stopping && atomic_load_explicit(&h->stop_requested, memory_order_relaxed)) {
        return 1;
    }
    if (h->exiting) {
        return !h->loop.closing && all_workers_exited(h);
    }
    if (!rt_fifo_empty(&h->posted)) {
        return 1;
    }
    for (size_t i = 0; i < h->nlisteners && !h->accept_paused && !h->stopping; i++) {
        if (h->listeners[i].open && h->listeners[i].ready) {
            return 1;
        }
    }
    if (h->procs != NULL && memtls__procs_host_has_work(h)) {
        return 1;
    }
    for (unsigned i = 0; i < h->nlinks; i++) {
        rt_link *l = &h->links[i];
        if (l->ch != NULL && l->state != RT_LINK_BROKEN &&
            memtls__chan_has_work(l->ch, RT_TO_HOST)) {
            return 1;
        }
    }
    return 0;
}

/* --- thread ------------------------------------------------------------------------ */

/*
 * The host thread's loop. The host's sockets are in its own event set
 * (edge-triggered, no re-arming: host_sock.c), and so is libuv's backend
 * descriptor, which is readable when one of libuv's watchers is (the
 * bell, the resolver's completions). One epoll_wait per pass: the host
 * blocks in its own set, and runs a libuv pass (UV_RUN_NOWAIT: timers,
 * libuv's descriptors, close callbacks, and the loop's check and prepare
 * steps) only when libuv's descriptor was ready or libuv has something
 * due (uv_backend_timeout 0). The other passes do the loop's steps
 * directly (loop.h). Nesting the set in libuv's instead (a uv_poll on
 * it) costs a second epoll_wait on every pass that finds sockets ready.
 * Ends when libuv has nothing alive any more (the stop sequence closed
 * every handle), as uv_run(UV_RUN_DEFAULT) would.
 */
void *memtls__host_main(void *arg)
{
    rt_host *h = arg;
    rt_loop *l = &h->loop;
    uv_loop_t *uv = &l->uv;
    struct epoll_event ev[EVENT_BATCH];
    int run_uv = 1;
    for (;;) {
        int more = 0;
        if (run_uv) {
            if (!uv_run(uv, UV_RUN_NOWAIT)) {
                break;
            }
        } else {
            more = memtls__loop_check(l);
        }
        more |= memtls__loop_prepare(l);
        uv_update_time(uv);
        int n = epoll_wait(h->epfd, ev, EVENT_BATCH, more ? 0 : uv_backend_timeout(uv));
        memtls__loop_woke(l);
        uv_update_time(uv);
        run_uv = n > 0 && take_events(h, ev, n);
        if (uv_backend_timeout(uv) == 0) {
            run_uv = 1; /* a timer is due, a handle closing, an idle handle */
        }
    }
    return NULL;
}

int memtls__host_new(memtls_server *srv, unsigned index, char *err, size_t errlen)
{
    rt_host *h = calloc(1, sizeof *h);
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return MEMTLS_ERR_NOMEM;
    }
    srv->hosts[index] = h;
    h->srv = srv;
    h->index = index;
    h->epfd = -1;
    atomic_init(&h->stop_requested, 0);
    h->listeners = calloc(srv->nlisteners, sizeof *h->listeners);
    h->ports = calloc(srv->nlisteners, sizeof *h->ports);
    h->conns = calloc(srv->max_conns, sizeof *h->conns);
    h->free_slots = calloc(srv->max_conns, sizeof *h->free_slots);
    h->scratch = malloc(RT_READ_CHUNK);
    unsigned nw = 0;
    for (unsigned i = index; i < srv->nworkers; i += srv->nio) {
        nw++;
    }
    h->nw = nw;
    h->nlinks = srv->isolate ? nw * RT_LINK_SLOTS : nw;
    h->links = calloc(h->nlinks, sizeof *h->links);
    if (h->listeners == NULL || h->ports == NULL || h->conns == NULL || h->free_slots == NULL ||
        h->scratch == NULL || h->links == NULL) {
        snprintf(err, errlen, "out of memory");
        return MEMTLS_ERR_NOMEM;
    }
    /* Hand out low slots first. */
    for (uint32_t i = 0; i < srv->max_conns; i++) {
        h->free_slots[i] = srv->max_conns - 1 - i;
    }
    h->nfree = srv->max_conns;
    if (memtls__loop_init(&h->loop, 1) != 0) {
        snprintf(err, errlen, "cannot create the event loop");
        return MEMTLS_ERR_NOMEM;
    }
    h->epfd = epoll_create1(EPOLL_CLOEXEC);
    h->uv_kind = RT_EV_UV;
    struct epoll_event uv_ev = {.events = EPOLLIN, .data.ptr = &h->uv_kind};
    if (h->epfd < 0 || epoll_ctl(h->epfd, EPOLL_CTL_ADD, uv_backend_fd(&h->loop.uv), &uv_ev) != 0) {
        snprintf(err, errlen, "cannot create the event set: %s", strerror(errno));
        return MEMTLS_ERR_NOMEM;
    }
    memtls__resolve_init(&h->resolver, h, memtls__hconn_resolved);
    uv_timer_init(&h->loop.uv, &h->grace);
    uv_timer_init(&h->loop.uv, &h->accept_timer);
    h->grace.data = h;
    h->accept_timer.data = h;
    for (size_t i = 0; i < srv->nlisteners; i++) {
        /* The first host picks ephemeral ports; the others share them. */
        uint16_t port = index == 0 ? srv->listeners[i].port : memtls__host_port(srv->hosts[0], i);
        int rc = open_listener(h, i, port, err, errlen);
        if (rc != 0) {
            return rc;
        }
        if (index == 0) {
            char name[80];
            format_listener(srv->listeners[i].host, h->ports[i], name, sizeof name);
            memtls__log(srv, MEMTLS_LOG_INFO, "listening on %s (%s)", name,
                        srv->listeners[i].plaintext ? "plaintext" : "TLS");
        }
    }
    return 0;
}

void memtls__host_attach(rt_host *h, rt_channel *ch)
{
    /* Threads: links fill up in the order of the workers. */
    for (unsigned i = 0; i < h->nlinks; i++) {
        rt_link *l = &h->links[i];
        if (l->ch == NULL) {
            l->ch = ch;
            l->worker = h->index + i * h->srv->nio;
            l->gid = l->worker;
            l->state = RT_LINK_ACTIVE;
            return;
        }
    }
}

/* Start accepting and add the host to its loop, after its inline workers
 * (so each pass serves the workers' messages first). */
int memtls__host_ready(rt_host *h)
{
    return memtls__loop_add(&h->loop, host_pump, host_has_work, host_pass, h);
}

void memtls__host_free(rt_host *h)
{
    if (h == NULL) {
        return;
    }
    close_listeners(h);
    for (hconn *c = h->all, *next; c != NULL; c = next) {
        next = c->next_all;
        memtls__hconn_force_close(c);
    }
    memtls__loop_free(&h->loop); /* runs the close callbacks */
    if (h->epfd >= 0) {
        close(h->epfd);
    }
    memtls__pool_free(&h->pool);
    free(h->listeners);
    free(h->ports);
    free(h->conns);
    free(h->free_slots);
    free(h->scratch);
    if (h->procs != NULL) {
        memtls__procs_host_free(h);
    }
    free(h->links);
    free(h);
}
