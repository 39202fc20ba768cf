/*
 * host_sock.c - the system calls on one socket of the host: watching it,
 * reading, writing (directly, or queued when the kernel is full), shutting
 * and closing. No policy: host_conn.c decides what to do with a socket;
 * this file only knows how.
 *
 * IMPLEMENTATION NOTES
 *
 * Sockets are plain non-blocking descriptors watched with uv_poll (not
 * uv_tcp): the host reads once per readiness straight into the ring
 * (no intermediate buffer), writes first and queues only what the kernel
 * refused, and watches for writability only while something is queued.
 * So a request-response exchange costs one recv and one send per
 * direction and no epoll_ctl, where libuv's stream writes re-arm the
 * descriptor after every write.
 *
 * Every send uses MSG_NOSIGNAL: a peer that went away must show up as
 * EPIPE, never as SIGPIPE killing a program that did not ignore it.
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host.h"

int memtls__hsock_init(hsock *s, uv_loop_t *loop, int fd, uv_poll_cb cb, void *data)
{
    int rc = uv_poll_init(loop, &s->poll, fd);
    if (rc != 0) {
        return rc;
    }
    s->fd = fd;
    s->cb = cb;
    s->poll.data = data;
    s->events = 0;
    return 0;
}

void memtls__hsock_watch(hsock *s, int events)
{
    if (s->fd < 0 || events == s->events) {
        return;
    }
    s->events = events;
    if (events == 0) {
        uv_poll_stop(&s->poll);
    } else {
        uv_poll_start(&s->poll, events, s->cb);
    }
}

ssize_t memtls__hsock_recv(hsock *s, void *buf, size_t len)
{
    ssize_t n;
    do {
        n = recv(s->fd, buf, len, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
    return n;
}

/* Write as much of iov as the kernel takes; bytes or -errno (-EAGAIN: none). */
static ssize_t send_iov(int fd, struct iovec *iov, int n)
{
    struct msghdr mh = {0};
    mh.msg_iov = iov;
    mh.msg_iovlen = (size_t)n;
    ssize_t w;
    do {
        w = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (w < 0 && errno == EINTR);
    if (w < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
    return w;
}

int memtls__hsock_flush(hsock *s, rt_pool *pool, size_t *written)
{
    *written = 0;
    while (s->q.bytes > 0) {
        struct iovec iov[16];
        unsigned n = memtls__outq_iov(&s->q, iov, 16);
        ssize_t w = send_iov(s->fd, iov, (int)n);
        if (w == -EAGAIN) {
            return 0;
        }
        if (w < 0) {
            return (int)w;
        }
        memtls__outq_consume(&s->q, pool, (size_t)w);
        *written += (size_t)w;
    }
    return 0;
}

int memtls__hsock_send(hsock *s, rt_pool *pool, const uint8_t *data, size_t len, size_t *written)
{
    *written = 0;
    size_t done = 0;
    if (s->q.bytes == 0) {
        /* Nothing older waits: straight from the caller (the ring). */
        struct iovec iov = {(void *)data, len};
        ssize_t w = send_iov(s->fd, &iov, 1);
        if (w < 0 && w != -EAGAIN) {
            return (int)w;
        }
        done = w > 0 ? (size_t)w : 0;
        *written = done;
    }
    if (done < len && memtls__outq_append(&s->q, pool, data + done, len - done) != 0) {
        return -ENOMEM;
    }
    return 0;
}

int memtls__hsock_shut(hsock *s)
{
    s->shut_done = 1;
    return shutdown(s->fd, SHUT_WR) == 0 ? 0 : -errno;
}

void memtls__hsock_close(hsock *s, uv_close_cb cb)
{
    if (s->fd < 0) {
        return;
    }
    /* uv_close stops watching at once, so the descriptor can go now. */
    uv_close((uv_handle_t *)&s->poll, cb);
    close(s->fd);
    s->fd = -1;
    s->events = 0;
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
