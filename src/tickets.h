/*
 * tickets.h - the session ticket keys of a server configuration: a set
 * of keys (the first encrypts new tickets, every one decrypts), shared by
 * reference between the configurations of a reload, and the work of
 * OpenSSL's ticket key callback.
 *
 * Two kinds. A fixed set comes from a key file (ticket_keys.h) and never
 * changes: the operator rotates by rewriting the file. A generated set
 * rotates by itself on a schedule: epoch e begins `rotate` * e seconds
 * after the set was made, and its key encrypts during it; the old keys
 * keep decrypting for `lifetime` seconds after their epoch ended (the
 * longest a ticket they made may be used), then are wiped with
 * OPENSSL_cleanse. The keys come from a one-way chain started from a
 * random secret (each epoch's key from HMAC-SHA256 of its chain secret,
 * the next secret likewise), so processes that inherit the set by fork
 * (worker processes) rotate to the same keys at the same moments, and the
 * current secret does not give back a wiped key. Rotation and wiping
 * are lazy: the callback compares the time with the next due moment, so
 * no timer or thread is needed; an idle server rotates at its next
 * handshake.
 *
 * Threads: the callback runs on any worker thread; the keys are behind a
 * read-write lock (writers: rotation and wiping, rare), the due moment is
 * an atomic so the common case takes only the read lock.
 */
#ifndef MEMTLS_TICKETS_H
#define MEMTLS_TICKETS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "ticket_keys.h"

typedef struct memtls__ticket_ring memtls__ticket_ring;

/* Seconds on some monotonic clock (tests replace it). */
typedef uint64_t (*memtls__ticket_clock)(void *arg);

/* A generated set, or NULL (no memory, no randomness). */
memtls__ticket_ring *memtls__ticket_ring_generated(unsigned rotate_s, unsigned lifetime_s);

/* A fixed set of `n` keys (1..MEMTLS__TICKET_KEYS_MAX), copied; NULL
 * when out of memory. */
memtls__ticket_ring *memtls__ticket_ring_fixed(const memtls__ticket_key *keys, size_t n);

memtls__ticket_ring *memtls__ticket_ring_ref(memtls__ticket_ring *r);
/* Drop a reference; the last one wipes every key. NULL is a no-op. */
void memtls__ticket_ring_unref(memtls__ticket_ring *r);

/* 1 for a set from a key file. */
int memtls__ticket_ring_fixed_keys(const memtls__ticket_ring *r);

/* Keys held now (after the rotation and wiping due at this moment). */
size_t memtls__ticket_ring_count(memtls__ticket_ring *r);

/* Replace the clock (tests; before the set is used). */
void memtls__ticket_ring_set_clock(memtls__ticket_ring *r, memtls__ticket_clock clock, void *arg);

/*
 * The ticket key callback's work (SSL_CTX_set_tlsext_ticket_key_evp_cb):
 * enc = 1: name the encrypting key, make an IV, set up AES-256-CBC and
 * HMAC-SHA256; returns 1, or -1 on failure. enc = 0: find the key named
 * `name`; returns 0 when there is none (an unknown or retired key: the
 * client gets a full handshake), 1 when it is the encrypting key, 2 when
 * it is an older one (the ticket is used and a new one issued), -1 on
 * failure.
 */
int memtls__ticket_ring_cb(memtls__ticket_ring *r, unsigned char name[16], unsigned char *iv,
                           EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc);

#endif
