/*
 * service.h - running under systemd without libsystemd: the sd_notify
 * datagram protocol (Type=notify) and socket activation (LISTEN_FDS).
 * docs/architecture.md says why the protocol is implemented here.
 */
#ifndef MEMTLS_TOOL_SERVICE_H
#define MEMTLS_TOOL_SERVICE_H

#include <stddef.h>

/*
 * Read $NOTIFY_SOCKET (a path, or "@name" for an abstract socket) and
 * open the datagram socket the notifications go through. Returns 1 when
 * notifications are on, 0 when the variable is unset, -1 (after a warning
 * line) when it names something unusable. Call before threads start (again:
 * the variable is read again).
 */
int svc_notify_open(void);

/* 1 when svc_notify_open() found a socket. */
int svc_notify_enabled(void);

/*
 * Send one notification: newline-separated VAR=value assignments, for
 * example "READY=1\nSTATUS=3 connections". A no-op when notifications
 * are off; a failure to send is warned about once. Thread-safe.
 */
void svc_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* CLOCK_MONOTONIC in microseconds (MONOTONIC_USEC= of RELOADING=1). */
unsigned long long svc_monotonic_usec(void);

/* A socket passed by the service manager. */
typedef struct svc_socket {
    int fd;         /* 3, 4, ... (SD_LISTEN_FDS_START onwards) */
    char name[256]; /* its LISTEN_FDNAMES entry ("" when none was given) */
} svc_socket;

/*
 * Take the sockets of socket activation: when LISTEN_PID is this process
 * and LISTEN_FDS is N >= 1, descriptors 3 .. 3+N-1 with the names of
 * LISTEN_FDNAMES (colon-separated). They are marked close-on-exec and the
 * three variables are removed from the environment (they were meant for
 * this process only). Returns N (at most `max`), 0 when there are none
 * (variables unset, or for another process), or -1 after an error line
 * naming the variable (not a number, more than `max`, names that do not
 * match the count, a descriptor that is not open).
 */
int svc_listen_fds(svc_socket *out, size_t max);

#endif
