/*
 * host_sock.c - the system calls on one socket of the host: registering
 * it with the host's event set, reading, writing (directly, or queued when
 * the kernel is full), shutting and closing. No policy: host_conn.c
 * decides what to do with a socket; this file only knows how.
 *
 * IMPLEMENTATION NOTES
 *
 * Every socket is registered once, edge-triggered, for input, output,
 * the peer's FIN and errors (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET),
 * and never changed: readiness is remembered in the socket (ready_in,
 * ready_out) and used when the connection wants it. So pausing, resuming,
 * a full queue or a full ring cost no system call at all, where changing
 * what a level-triggered watcher waits for costs an epoll_ctl each time
 * (two with uv_poll_start). Closing the descriptor removes it from the
 * set.
 *
 * With edge-triggered events, "not ready" must only be concluded from the
 * kernel: ready_in is cleared when a read returns EAGAIN, or returns less
 * than asked with no FIN announced (the kernel gave all it had; more data
 * brings a new edge); ready_out when a write is refused.
 *
 * Every send uses MSG_NOSIGNAL: a peer that went away must show up as
 * EPIPE, never as SIGPIPE killing a program that did not ignore it.
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host.h"

int memtls__hsock_register(hsock *s, int epfd, int fd)
{
    struct epoll_event ev = {0};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = s;
    s->kind = RT_EV_SOCK;
    s->fd = fd;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        s->fd = -1;
        return -errno;
    }
    return 0;
}

void memtls__hsock_event(hsock *s, uint32_t events)
{
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        s->ready_in = 1;
    }
    if (events & (EPOLLRDHUP | EPOLLHUP)) {
        s->rdhup = 1;
    }
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
        s->ready_out = 1;
    }
    if (events & EPOLLERR) {
        s->error = 1;
    }
}

ssize_t memtls__hsock_recv(hsock *s, void *buf, size_t len)
{
    ssize_t n;
    do {
        n = recv(s->fd, buf, len, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            s->ready_in = 0;
            return -EAGAIN;
        }
        return -errno;
    }
    if (n > 0 && (size_t)n < len && !s->rdhup) {
        s->ready_in = 0; /* drained; new data brings a new edge */
    }
    return n;
}

/* Write as much of iov as the kernel takes; bytes or -errno (-EAGAIN: none). */
static ssize_t send_iov(hsock *s, struct iovec *iov, int n)
{
    struct msghdr mh = {0};
    mh.msg_iov = iov;
    mh.msg_iovlen = (size_t)n;
    ssize_t w;
    do {
        w = sendmsg(s->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (w < 0 && errno == EINTR);
    if (w < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            s->ready_out = 0;
            return -EAGAIN;
        }
        return -errno;
    }
    return w;
}

int memtls__hsock_flush(hsock *s, rt_pool *pool, size_t *written)
{
    *written = 0;
    while (s->q.bytes > 0 && s->ready_out) {
        struct iovec iov[16];
        unsigned n = memtls__outq_iov(&s->q, iov, 16);
        ssize_t w = send_iov(s, iov, (int)n);
        if (w == -EAGAIN) {
            return 0;
        }
        if (w < 0) {
            return (int)w;
        }
        size_t offered = 0;
        for (unsigned i = 0; i < n; i++) {
            offered += iov[i].iov_len;
        }
        memtls__outq_consume(&s->q, pool, (size_t)w);
        *written += (size_t)w;
        if ((size_t)w < offered) {
            s->ready_out = 0; /* the kernel is full: an edge says when not */
        }
    }
    return 0;
}

int memtls__hsock_sendv(hsock *s, rt_pool *pool, const struct iovec *iov, unsigned n,
                        size_t *written)
{
    *written = 0;
    size_t done = 0;
    size_t len = 0;
    for (unsigned i = 0; i < n; i++) {
        len += iov[i].iov_len;
    }
    if (s->q.bytes == 0) {
        /* Nothing older waits: straight from the caller (the ring). */
        ssize_t w = send_iov(s, (struct iovec *)iov, (int)n);
        if (w < 0 && w != -EAGAIN) {
            return (int)w;
        }
        done = w > 0 ? (size_t)w : 0;
        *written = done;
        if (done < len) {
            s->ready_out = 0; /* the kernel is full: an edge says when not */
        }
    }
    /* What the kernel did not take, in order, to the queue. */
    size_t skip = done;
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *p = iov[i].iov_base;
        size_t l = iov[i].iov_len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        if (memtls__outq_append(&s->q, pool, p + skip, l - skip) != 0) {
            return -ENOMEM;
        }
        skip = 0;
    }
    return 0;
}

int memtls__hsock_send(hsock *s, rt_pool *pool, const uint8_t *data, size_t len, size_t *written)
{
    struct iovec iov = {(void *)data, len};
    return memtls__hsock_sendv(s, pool, &iov, 1, written);
}

int memtls__hsock_shut(hsock *s)
{
    s->shut_done = 1;
    return shutdown(s->fd, SHUT_WR) == 0 ? 0 : -errno;
}

size_t memtls__hsock_unsent(const hsock *s)
{
    int n = 0;
    if (ioctl(s->fd, SIOCOUTQ, &n) != 0 || n < 0) {
        return 0;
    }
    return (size_t)n;
}

void memtls__hsock_close(hsock *s)
{
    if (s->fd < 0) {
        return;
    }
    /* Closing the only descriptor removes it from the event set. */
    close(s->fd);
    s->fd = -1;
    s->ready_in = s->ready_out = 0;
}

int memtls__hsock_connect(const struct sockaddr *sa, socklen_t len, int *fd_out)
{
    *fd_out = -1;
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, sa, len) != 0 && errno != EINPROGRESS) {
        int err = -errno;
        close(fd);
        return err;
    }
    *fd_out = fd;
    return 0;
}

int memtls__hsock_connect_result(hsock *s)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
        return -errno;
    }
    return -err;
}
