/* tickets.c - session ticket keys and their rotation; see tickets.h. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "tickets.h"

typedef struct ring_key {
    memtls__ticket_key k;
    uint64_t since;   /* began encrypting */
    uint64_t retired; /* stopped encrypting (0: still does, or fixed) */
} ring_key;

struct memtls__ticket_ring {
    atomic_int refs;
    pthread_rwlock_t lock;
    int fixed;
    unsigned rotate_s;
    unsigned lifetime_s;
    memtls__ticket_clock clock;
    void *clock_arg;
    /* A generated set: the keys follow a one-way chain. chain is the
     * secret of epoch `epoch` (the encrypting key's); epoch e begins at
     * t0 + e * rotate_s. Processes that inherit the set (worker processes
     * forked after the load) rotate to the same keys at the same moments,
     * and nobody can go back from the chain to a wiped key. */
    uint8_t chain[32];
    uint64_t epoch;
    uint64_t t0;
    /* The next moment something is due (rotation or wiping); UINT64_MAX
     * for a fixed set. Read without the lock. */
    atomic_uint_fast64_t due;
    size_t n;
    ring_key keys[MEMTLS__TICKET_KEYS_MAX]; /* [0] encrypts */
};

static uint64_t monotonic_s(void *arg)
{
    struct timespec ts;
    (void)arg;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec;
}

static memtls__ticket_ring *ring_new(void)
{
    memtls__ticket_ring *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return NULL;
    }
    if (pthread_rwlock_init(&r->lock, NULL) != 0) {
        free(r);
        return NULL;
    }
    atomic_init(&r->refs, 1);
    atomic_init(&r->due, UINT64_MAX);
    r->clock = monotonic_s;
    return r;
}

/* HMAC-SHA256(secret, label) into out (32 bytes); 1 on success. */
static int hmac_label(const uint8_t secret[32], const char *label, uint8_t out[32])
{
    unsigned int n = 32;
    return HMAC(EVP_sha256(), secret, 32, (const unsigned char *)label, strlen(label), out, &n) !=
               NULL &&
           n == 32;
}

/* The key of the chain secret's epoch. */
static int chain_key(const uint8_t chain[32], memtls__ticket_key *k)
{
    uint8_t name[32];
    int ok = hmac_label(chain, "memtls ticket key name", name) &&
             hmac_label(chain, "memtls ticket key hmac", k->hmac) &&
             hmac_label(chain, "memtls ticket key aes", k->aes);
    memcpy(k->name, name, sizeof k->name);
    OPENSSL_cleanse(name, sizeof name);
    return ok;
}

/* One step of the chain (the old secret is overwritten). */
static int chain_next(uint8_t chain[32])
{
    uint8_t next[32];
    int ok = hmac_label(chain, "memtls ticket chain next", next);
    if (ok) {
        memcpy(chain, next, 32);
    }
    OPENSSL_cleanse(next, sizeof next);
    return ok;
}

/* The next due moment of a generated set (lock held). */
static uint64_t next_due(const memtls__ticket_ring *r)
{
    uint64_t due = r->keys[0].since + r->rotate_s;
    if (r->n > 1) {
        /* keys[n-1] retired first: it is wiped first. */
        uint64_t wipe = r->keys[r->n - 1].retired + r->lifetime_s;
        due = wipe < due ? wipe : due;
    }
    return due;
}

memtls__ticket_ring *memtls__ticket_ring_generated(unsigned rotate_s, unsigned lifetime_s)
{
    memtls__ticket_ring *r = ring_new();
    if (r == NULL) {
        return NULL;
    }
    r->rotate_s = rotate_s > 0 ? rotate_s : 1;
    r->lifetime_s = lifetime_s;
    if (RAND_priv_bytes(r->chain, sizeof r->chain) != 1 || !chain_key(r->chain, &r->keys[0].k)) {
        memtls__ticket_ring_unref(r);
        return NULL;
    }
    r->n = 1;
    r->t0 = r->clock(r->clock_arg);
    r->keys[0].since = r->t0;
    atomic_store(&r->due, next_due(r));
    return r;
}

memtls__ticket_ring *memtls__ticket_ring_fixed(const memtls__ticket_key *keys, size_t n)
{
    if (n == 0 || n > MEMTLS__TICKET_KEYS_MAX) {
        return NULL;
    }
    memtls__ticket_ring *r = ring_new();
    if (r == NULL) {
        return NULL;
    }
    r->fixed = 1;
    for (size_t i = 0; i < n; i++) {
        r->keys[i].k = keys[i];
    }
    r->n = n;
    return r;
}

memtls__ticket_ring *memtls__ticket_ring_ref(memtls__ticket_ring *r)
{
    if (r != NULL) {
        atomic_fetch_add(&r->refs, 1);
    }
    return r;
}

void memtls__ticket_ring_unref(memtls__ticket_ring *r)
{
    if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1) {
        return;
    }
    OPENSSL_cleanse(r->keys, sizeof r->keys);
    OPENSSL_cleanse(r->chain, sizeof r->chain);
    pthread_rwlock_destroy(&r->lock);
    free(r);
}

int memtls__ticket_ring_fixed_keys(const memtls__ticket_ring *r)
{
    return r != NULL && r->fixed;
}

void memtls__ticket_ring_set_clock(memtls__ticket_ring *r, memtls__ticket_clock clock, void *arg)
{
    pthread_rwlock_wrlock(&r->lock);
    r->clock = clock;
    r->clock_arg = arg;
    if (!r->fixed) {
        r->t0 = clock(arg) - r->epoch * r->rotate_s;
        r->keys[0].since = r->t0 + r->epoch * r->rotate_s;
        atomic_store(&r->due, next_due(r));
    }
    pthread_rwlock_unlock(&r->lock);
}

/* Rotate and wipe what is due at `now` (write lock held): step the chain
 * to the epoch `now` is in, keeping each epoch's key it passes (another
 * process may have issued tickets with it) until its lifetime is over. */
static void maintain_locked(memtls__ticket_ring *r, uint64_t now)
{
    uint64_t target = now >= r->t0 ? (now - r->t0) / r->rotate_s : r->epoch;
    while (r->epoch < target) {
        memtls__ticket_key fresh;
        if (!chain_next(r->chain) || !chain_key(r->chain, &fresh)) {
            /* No HMAC (out of memory): the old key goes on encrypting; the
             * next handshake tries again. */
            OPENSSL_cleanse(&fresh, sizeof fresh);
            break;
        }
        r->epoch++;
        uint64_t since = r->t0 + r->epoch * r->rotate_s;
        if (r->n == MEMTLS__TICKET_KEYS_MAX) {
            /* Full (only after a long sleep or a clock jump: the
             * configuration keeps lifetime / rotate below the size): the
             * oldest goes early. */
            r->n--;
            OPENSSL_cleanse(&r->keys[r->n], sizeof r->keys[r->n]);
        }
        memmove(&r->keys[1], &r->keys[0], r->n * sizeof r->keys[0]);
        r->keys[0].k = fresh;
        r->keys[0].since = since;
        r->keys[0].retired = 0;
        r->keys[1].retired = since;
        r->n++;
        OPENSSL_cleanse(&fresh, sizeof fresh);
    }
    if (r->epoch < target) {
        r->keys[0].since = now + 1 - r->rotate_s; /* retry in a second */
    }
    while (r->n > 1 && now >= r->keys[r->n - 1].retired + r->lifetime_s) {
        r->n--;
        OPENSSL_cleanse(&r->keys[r->n], sizeof r->keys[r->n]);
    }
    atomic_store(&r->due, next_due(r));
}

/* The current time, after doing what is due. */
static uint64_t maintain(memtls__ticket_ring *r)
{
    uint64_t now = r->clock(r->clock_arg);
    if (now >= atomic_load_explicit(&r->due, memory_order_acquire)) {
        pthread_rwlock_wrlock(&r->lock);
        if (now >= atomic_load_explicit(&r->due, memory_order_relaxed)) {
            maintain_locked(r, now);
        }
        pthread_rwlock_unlock(&r->lock);
    }
    return now;
}

size_t memtls__ticket_ring_count(memtls__ticket_ring *r)
{
    if (r == NULL) {
        return 0;
    }
    if (!r->fixed) {
        maintain(r);
    }
    pthread_rwlock_rdlock(&r->lock);
    size_t n = r->n;
    pthread_rwlock_unlock(&r->lock);
    return n;
}

static int set_up(const ring_key *rk, const unsigned char *iv, EVP_CIPHER_CTX *cctx,
                  EVP_MAC_CTX *hctx, int enc)
{
    OSSL_PARAM params[3];
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)rk->k.hmac,
                                                  sizeof rk->k.hmac);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[2] = OSSL_PARAM_construct_end();
    int ok = enc ? EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, rk->k.aes, iv)
                 : EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, rk->k.aes, iv);
    return ok == 1 && EVP_MAC_CTX_set_params(hctx, params) == 1;
}

int memtls__ticket_ring_cb(memtls__ticket_ring *r, unsigned char name[16], unsigned char *iv,
                           EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    uint64_t now = r->fixed ? 0 : maintain(r);
    int rc = -1;
    if (enc) {
        if (RAND_bytes(iv, 16) != 1) {
            return -1;
        }
        pthread_rwlock_rdlock(&r->lock);
        memcpy(name, r->keys[0].k.name, 16);
        rc = set_up(&r->keys[0], iv, cctx, hctx, 1) ? 1 : -1;
        pthread_rwlock_unlock(&r->lock);
        return rc;
    }
    pthread_rwlock_rdlock(&r->lock);
    rc = 0;
    for (size_t i = 0; i < r->n; i++) {
        const ring_key *rk = &r->keys[i];
        if (memcmp(rk->k.name, name, 16) != 0) {
            continue;
        }
        if (!r->fixed && i > 0 && now >= rk->retired + r->lifetime_s) {
            break; /* past its window: as if already wiped */
        }
        rc = !set_up(rk, iv, cctx, hctx, 0) ? -1 : i == 0 ? 1 : 2;
        break;
    }
    pthread_rwlock_unlock(&r->lock);
    return rc;
}
