/*
 * listen_fd.c - listening sockets the server is given instead of an
 * address to bind (memtls_listener_opts.fd: socket activation). Checked
 * once when the server is created, so a wrong descriptor is an error that
 * names it, and duplicated for every I/O thread that accepts on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "runtime.h"

int memtls__listen_fd_check(int fd, char *host, size_t hostlen, uint16_t *port, char *err,
                            size_t errlen)
{
    struct stat st;
    int type = 0;
    int listening = 0;
    socklen_t len = sizeof type;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "listener fd %d: %s", fd, strerror(errno));
        return MEMTLS_ERR_INVALID;
    }
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "listener fd %d: not a socket", fd);
        return MEMTLS_ERR_INVALID;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) {
        snprintf(err, errlen, "listener fd %d: not a stream (TCP) socket", fd);
        return MEMTLS_ERR_INVALID;
    }
    len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) {
        snprintf(err, errlen, "listener fd %d: not listening", fd);
        return MEMTLS_ERR_INVALID;
    }
    struct sockaddr_storage ss;
    len = sizeof ss;
    memset(&ss, 0, sizeof ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        snprintf(err, errlen, "listener fd %d: %s", fd, strerror(errno));
        return MEMTLS_ERR_INVALID;
    }
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, host, (socklen_t)hostlen);
        *port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, (socklen_t)hostlen);
        *port = ntohs(a->sin6_port);
    } else {
        snprintf(err, errlen, "listener fd %d: not an IPv4 or IPv6 socket (family %d)", fd,
                 (int)ss.ss_family);
        return MEMTLS_ERR_INVALID;
    }
    return 0;
}

int memtls__listen_fd_dup(int fd)
{
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (copy < 0) {
        return -1;
    }
    /* The host's accept must never block: another I/O thread may take the
     * connection it was woken for. The flag belongs to the open file,
     * shared by every duplicate. */
    int fl = fcntl(copy, F_GETFL);
    if (fl < 0 || fcntl(copy, F_SETFL, fl | O_NONBLOCK) != 0) {
        int e = errno;
        close(copy);
        errno = e;
        return -1;
    }
    return copy;
}
