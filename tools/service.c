/* see service.h */
#define _GNU_SOURCE /* strchrnul */
#include "service.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* SD_LISTEN_FDS_START: the first passed descriptor. */
#define LISTEN_FDS_START 3

static int g_fd = -1;
static struct sockaddr_un g_addr;
static socklen_t g_addr_len;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_warned;

int svc_notify_open(void)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (g_fd >= 0) {
        close(g_fd);
        g_fd = -1;
    }
    if (path == NULL || path[0] == '\0') {
        return 0;
    }
    size_t len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len < 2 || len >= sizeof g_addr.sun_path) {
        tool_warn("NOTIFY_SOCKET '%s': not a socket path or @abstract name; no notifications",
                  path);
        return -1;
    }
    memset(&g_addr, 0, sizeof g_addr);
    g_addr.sun_family = AF_UNIX;
    memcpy(g_addr.sun_path, path, len);
    if (path[0] == '@') {
        g_addr.sun_path[0] = '\0'; /* the abstract namespace: no NUL at the end */
    }
    g_addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
    g_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (g_fd < 0) {
        tool_warn("NOTIFY_SOCKET: socket: %s; no notifications", strerror(errno));
        return -1;
    }
    return 1;
}

int svc_notify_enabled(void)
{
    return g_fd >= 0;
}

unsigned long long svc_monotonic_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000u;
}

void svc_notify(const char *fmt, ...)
{
    if (g_fd < 0) {
        return;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    size_t len = (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;
    pthread_mutex_lock(&g_lock);
    ssize_t sent;
    do {
        sent = sendto(g_fd, msg, len, MSG_NOSIGNAL, (struct sockaddr *)&g_addr, g_addr_len);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0 && !g_warned) {
        g_warned = 1;
        tool_warn("NOTIFY_SOCKET %s%s: %s (further failures are not reported)",
                  g_addr.sun_path[0] == '\0' ? "@" : "",
                  g_addr.sun_path + (g_addr.sun_path[0] == '\0'), strerror(errno));
    }
    pthread_mutex_unlock(&g_lock);
}

static int parse_count(const char *name, const char *text, unsigned long *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || end == NULL || *end != '\0' || errno != 0) {
        tool_error("%s='%s': not a number", name, text);
        return -1;
    }
    *out = v;
    return 0;
}

int svc_listen_fds(svc_socket *out, size_t max)
{
    const char *pid_text = getenv("LISTEN_PID");
    const char *fds_text = getenv("LISTEN_FDS");
    const char *names = getenv("LISTEN_FDNAMES");
    unsigned long pid = 0;
    unsigned long n = 0;
    if (pid_text == NULL || fds_text == NULL) {
        return 0;
    }
    if (parse_count("LISTEN_PID", pid_text, &pid) != 0) {
        return -1;
    }
    if (pid != (unsigned long)getpid()) {
        return 0; /* meant for another process */
    }
    if (parse_count("LISTEN_FDS", fds_text, &n) != 0) {
        return -1;
    }
    if (n > max) {
        tool_error("LISTEN_FDS=%lu: at most %zu sockets", n, max);
        return -1;
    }
    const char *p = names;
    for (unsigned long i = 0; i < n; i++) {
        out[i].fd = LISTEN_FDS_START + (int)i;
        out[i].name[0] = '\0';
        if (p != NULL) {
            const char *end = strchrnul(p, ':');
            size_t len = (size_t)(end - p);
            if (len >= sizeof out[i].name) {
                tool_error("LISTEN_FDNAMES: name %lu is too long", i + 1);
                return -1;
            }
            memcpy(out[i].name, p, len);
            out[i].name[len] = '\0';
            if (*end == '\0' && i + 1 < n) {
                tool_error("LISTEN_FDNAMES='%s': %lu name(s) for LISTEN_FDS=%lu", names, i + 1, n);
                return -1;
            }
            p = *end == ':' ? end + 1 : end;
        }
        int fl = fcntl(out[i].fd, F_GETFD);
        if (fl < 0) {
            tool_error("LISTEN_FDS=%lu: descriptor %d is not open", n, out[i].fd);
            return -1;
        }
        (void)fcntl(out[i].fd, F_SETFD, fl | FD_CLOEXEC);
    }
    if (p != NULL && *p != '\0') {
        tool_error("LISTEN_FDNAMES='%s': more names than LISTEN_FDS=%lu", names, n);
        return -1;
    }
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    return (int)n;
}
