/* pump.c - see pump.h. */
#include "pump.h"

#include <stdlib.h>

#include <memtls/context.h>

size_t pump_one_way(memtls_ctx *from, memtls_ctx *to, size_t chunk)
{
    unsigned char buf[16384];
    size_t moved = 0;
    for (;;) {
        size_t want = sizeof buf;
        if (chunk != 0 && chunk < want) {
            want = chunk;
        }
        size_t n = 0;
        if (memtls_ctx_drain(from, buf, want, &n) != 0 || n == 0) {
            break;
        }
        if (memtls_ctx_feed(to, buf, n) != 0) {
            abort();
        }
        moved += n;
    }
    return moved;
}

size_t pump_both(memtls_ctx *a, memtls_ctx *b)
{
    return pump_one_way(a, b, 0) + pump_one_way(b, a, 0);
}

static int finished(int rc)
{
    return rc != MEMTLS_WANT_READ && rc != MEMTLS_WANT_WRITE;
}

int pump_handshake(memtls_ctx *client, memtls_ctx *server, size_t chunk, int *client_rc,
                   int *server_rc)
{
    int crc = memtls_ctx_handshake(client);
    int src = MEMTLS_WANT_READ;
    for (int rounds = 0; rounds < 1000000; rounds++) {
        size_t moved = 0;
        unsigned char b;
        size_t n;
        if (chunk == 1) {
            /* Byte by byte, with a handshake call after every byte. */
            if (memtls_ctx_drain(client, &b, 1, &n) == 0 && n == 1) {
                if (memtls_ctx_feed(server, &b, 1) != 0) {
                    abort();
                }
                moved++;
                src = memtls_ctx_handshake(server);
            }
            if (memtls_ctx_drain(server, &b, 1, &n) == 0 && n == 1) {
                if (memtls_ctx_feed(client, &b, 1) != 0) {
                    abort();
                }
                moved++;
                crc = memtls_ctx_handshake(client);
            }
        } else {
            moved += pump_one_way(client, server, chunk);
            if (!finished(src) || src == 0) {
                src = memtls_ctx_handshake(server);
            }
            moved += pump_one_way(server, client, chunk);
            if (!finished(crc) || crc == 0) {
                crc = memtls_ctx_handshake(client);
            }
        }
        if (moved == 0 && memtls_ctx_pending_out(client) == 0 &&
            memtls_ctx_pending_out(server) == 0) {
            break;
        }
    }
    if (client_rc != NULL) {
        *client_rc = crc;
    }
    if (server_rc != NULL) {
        *server_rc = src;
    }
    return crc == 0 && src == 0;
}
