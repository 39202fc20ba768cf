/* see netutil.h */
#include "netutil.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

uint64_t net_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int net_set_nonblock(int fd, int on)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) {
        return -1;
    }
    int want = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
    if (want != flags && fcntl(fd, F_SETFL, want) != 0) {
        return -1;
    }
    return flags;
}

/* Wait for a non-blocking connect. Returns 0 or an errno value. */
static int finish_connect(int fd, unsigned long timeout_ms)
{
    struct pollfd p = {fd, POLLOUT, 0};
    int n;
    do {
        n = poll(&p, 1, (int)timeout_ms);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return errno;
    }
    if (n == 0) {
        return ETIMEDOUT;
    }
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) {
        return errno;
    }
    return soerr;
}

int net_connect(const args_hostport *hp, unsigned long timeout_ms)
{
    struct addrinfo hints, *res = NULL;
    char port[8];
    char label[300];
    int last_err = 0;
    int fd = -1;

    snprintf(port, sizeof port, "%u", (unsigned)hp->port);
    snprintf(label, sizeof label, hp->is_v6 ? "[%s]:%s" : "%s:%s", hp->host, port);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    int gai = getaddrinfo(hp->host, port, &hints, &res);
    if (gai != 0) {
        tool_error("%s: cannot resolve: %s", label, gai_strerror(gai));
        return -1;
    }
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last_err = errno;
            continue;
        }
        if (net_set_nonblock(fd, 1) < 0) {
            last_err = errno;
        } else if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            break;
        } else if (errno == EINPROGRESS) {
            last_err = finish_connect(fd, timeout_ms);
            if (last_err == 0) {
                break;
            }
        } else {
            last_err = errno;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        tool_error("%s: connect: %s", label, strerror(last_err ? last_err : ECONNREFUSED));
        return -1;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}
