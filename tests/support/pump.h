/* pump.h - move ciphertext between two contexts in memory (no sockets). */
#ifndef MEMTLS_TEST_PUMP_H
#define MEMTLS_TEST_PUMP_H

#include <stddef.h>

#include <memtls/context.h>

/* Move everything waiting in from's write BIO into to's read BIO, in
 * chunks of at most `chunk` bytes (0: all at once). Returns bytes moved. */
size_t pump_one_way(memtls_ctx *from, memtls_ctx *to, size_t chunk);

/* Both directions once. Returns bytes moved. */
size_t pump_both(memtls_ctx *a, memtls_ctx *b);

/*
 * Drive both handshakes, pumping between calls, until neither makes
 * progress. *client_rc / *server_rc receive the last statuses. Returns 1
 * if both completed. `chunk` as in pump_one_way (1 delivers every flight
 * byte by byte, calling the handshake after each byte).
 */
int pump_handshake(memtls_ctx *client, memtls_ctx *server, size_t chunk, int *client_rc,
                   int *server_rc);

#endif
