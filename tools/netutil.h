/*
 * netutil.h - small socket helpers for `connect`.
 */
#ifndef MEMTLS_TOOL_NETUTIL_H
#define MEMTLS_TOOL_NETUTIL_H

#include <stdint.h>

#include "args.h"

/* Monotonic milliseconds. */
uint64_t net_now_ms(void);

/* Set or clear O_NONBLOCK; returns the previous flags, or -1. */
int net_set_nonblock(int fd, int on);

/*
 * Resolve host:port and connect a non-blocking TCP socket to the first
 * address that accepts within timeout_ms. Returns the socket, or -1 after
 * printing one error line ("127.0.0.1:9: connect: Connection refused").
 */
int net_connect(const args_hostport *hp, unsigned long timeout_ms) TOOL_WUR;

#endif
