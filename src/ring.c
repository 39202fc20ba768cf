/*
 * ring.c - single-producer single-consumer ring of framed messages.
 * See memtls/ring.h for the contract.
 *
 * IMPLEMENTATION NOTES
 *
 * Positions. `head` (next byte the producer writes) and `tail` (next byte
 * the consumer reads) are byte counts since creation: they only grow, and
 * `pos & mask` is the offset in the buffer. In use = head - tail, always
 * within 0 .. capacity. With 64-bit positions they never wrap in practice.
 *
 * Frames. A frame is a 16-byte header {u32 type, u32 len, u64 conn}
 * followed by the payload rounded up to 8 bytes, so every frame starts
 * 8-byte aligned and the reader can see each payload in place. When a frame
 * would cross the end of the buffer, the producer first writes a padding
 * frame (type 0) that fills the rest of the buffer and puts the frame at
 * offset 0. The padding may be only 8 bytes long, too short for a full
 * header, so the reader looks at nothing but the type of a padding frame
 * and skips to the end of the buffer. Padding is published in the same
 * step as the frame that follows it, so the ring never holds padding alone:
 * "not empty" always means "a message is there".
 *
 * Limits. The largest frame is capacity/4 (max_message + header); with the
 * worst padding (capacity/4 - 8) a frame needs less than half the buffer,
 * so it always fits in an empty ring, whatever the offset.
 *
 * Ordering. The producer fills the frame with plain stores and publishes it
 * with a release store of `head`; the consumer reads `head` with acquire
 * before it looks at the frame. Symmetrically the consumer releases space
 * with a release store of `tail` after it has finished reading, and the
 * producer reads `tail` with acquire before it overwrites that space. No
 * other ordering is needed; the statistics counters are relaxed.
 *
 * Caching. Each side keeps a private copy of the other side's position
 * (producer: cached_tail, consumer: cached_head) and reloads the shared one
 * only when its copy says the ring is full (producer) or empty (consumer),
 * so in steady state neither side reads the other's cache line per message.
 * The consumer's batch read also stores `tail` only once per batch. The one
 * exception is high_water: when the producer's stale view suggests a new
 * maximum, it refreshes `tail` to measure the real figure, so the maximum is
 * exact rather than an overestimate; once the maximum has grown to the
 * typical fill level this no longer happens.
 *
 * Layout. The read-only configuration, the producer's fields and the
 * consumer's fields live on three different cache lines, so writes by one
 * side never invalidate the line the other side writes. Each counter has a
 * single writer (messages_read: consumer; the rest: producer), so it is
 * updated with a relaxed load and store instead of a locked read-modify-write.
 *
 * Validation. The consumer trusts nothing it reads from the buffer: the
 * ring's memory may be overwritten by a bug, and once rings live in shared
 * memory, by another process. Before it hands a frame out, frame_at()
 * checks that the frame is one the producer can have written: its header
 * and payload lie below the published head and inside the buffer (frames
 * never straddle the end), its length is at most max_message, and padding
 * is followed by a message. A frame that fails sets `corrupt` and stops the
 * consumer where it is: every message before it was delivered, nothing
 * after it ever is, so a corrupt ring can neither make the reader touch
 * memory outside the buffer nor run past the data (and loop). The checks
 * are on the structure only; the payload carries no checksum.
 *
 * Sharing. The handle (buffer address, capacity, each side's own copy of
 * its position) is private to a side; only `ring_shared` (the two
 * positions and the counters) and the buffer are shared. In one process
 * both sides use one handle; memtls_ring_attach() gives each process its
 * own handle on memory the caller shares (a memfd mapped twice), so
 * nothing one process can write there is ever used as an address by the
 * other. A side never reads its own position back from the shared memory,
 * and it checks the other side's before using it: a head more than a
 * capacity ahead of our tail, a tail ahead of our head or moving
 * backwards, or a position not a multiple of 8 marks the ring corrupt like
 * a bad frame does. The other process can still make the messages
 * garbage, but never make this side read or write outside the buffer,
 * loop, or trust a length it did not check in its own copy.
 *
 * Reservations. memtls_ring_reserve() chooses the place of the frame
 * (including any padding it needs) and checks space for the reserved
 * length; nothing is written to the ring's shared state until commit, which
 * writes the padding and header and publishes. Space only grows between
 * reserve and commit (only the consumer runs), and the committed length is
 * at most the reserved one, so the commit cannot fail for lack of space. A
 * successful reserve or try_write replaces a reservation that was never
 * committed (the reserved bytes were not visible to anyone).
 */
#include <memtls/ring.h>

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_LINE 64
#define PAD_TYPE 0u

/* The on-ring frame header; MEMTLS_RING_HEADER bytes. */
typedef struct frame_header {
    uint32_t type;
    uint32_t len;
    uint64_t conn;
} frame_header;

_Static_assert(sizeof(frame_header) == MEMTLS_RING_HEADER, "frame header must be 16 bytes");
_Static_assert(((uint64_t)MEMTLS_RING_MAX_CAPACITY / 4u - MEMTLS_RING_HEADER) <= UINT32_MAX,
               "the largest payload must fit the u32 length field");

/* What both sides of a ring see: the positions and the counters. In the
 * ring's own allocation, or at the start of a caller's (shared) memory
 * (memtls_ring_attach). */
typedef struct ring_shared {
    /* Producer's line: stored by the producer only. */
    alignas(CACHE_LINE) _Atomic uint64_t head;
    _Atomic uint64_t messages_written;
    _Atomic uint64_t bytes_written;
    _Atomic uint64_t refusals;
    _Atomic uint64_t high_water;

    /* Consumer's line: stored by the consumer only. */
    alignas(CACHE_LINE) _Atomic uint64_t tail;
    _Atomic uint64_t messages_read;
} ring_shared;

/* Bytes of shared memory in front of the buffer (whole pages, so the
 * buffer starts page aligned). */
#define SHARED_HEADER 4096u
_Static_assert(sizeof(ring_shared) <= SHARED_HEADER, "the shared header must fit its page");

/* A side's handle. */
struct memtls_ring {
    /* Set at creation, read-only afterwards. */
    alignas(CACHE_LINE) uint8_t *buf;
    uint64_t capacity;
    uint64_t mask;
    uint64_t max_message;
    ring_shared *sh; /* &own, or the caller's memory */
    int attached;    /* sh and buf belong to the caller */

    /* Producer's private line. */
    alignas(CACHE_LINE) uint64_t head; /* the producer's own copy of sh->head */
    uint64_t cached_tail;              /* producer's copy of tail, never ahead of it */
    bool reserved;                     /* a reservation is outstanding */
    uint64_t res_head;                 /* head when reserved: where padding would go */
    uint64_t res_frame;                /* where the reserved frame's header goes */
    size_t res_len;                    /* reserved payload length */

    /* Consumer's private line. */
    alignas(CACHE_LINE) uint64_t tail; /* the consumer's own copy of sh->tail */
    uint64_t cached_head;              /* consumer's copy of head, never ahead of it */
    atomic_int corrupt;                /* a side met an impossible frame or position (set once) */

    ring_shared own;
};

static uint64_t align8(uint64_t n)
{
    return (n + 7u) & ~(uint64_t)7u;
}

static uint64_t frame_size(size_t len)
{
    return MEMTLS_RING_HEADER + align8(len);
}

/* Single-writer counter update: the owner is the only thread that stores. */
static void counter_add(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

/* The in-use figure for callers on any thread: load tail first, so that
 * head (which is only ever ahead of any earlier tail) cannot be behind it,
 * and clamp because tail may have moved on between the two loads (or the
 * other side of a shared ring stored nonsense). */
static uint64_t used_now(const memtls_ring *r)
{
    uint64_t t = atomic_load_explicit(&r->sh->tail, memory_order_acquire);
    uint64_t h = atomic_load_explicit(&r->sh->head, memory_order_acquire);
    uint64_t u = h - t;
    return u > r->capacity ? r->capacity : u;
}

static int valid_capacity(size_t capacity)
{
    return capacity >= MEMTLS_RING_MIN_CAPACITY && capacity <= MEMTLS_RING_MAX_CAPACITY &&
           (capacity & (capacity - 1u)) == 0;
}

/* A handle for `sh` and `buf`; the shared state is initialised only when
 * `init` (the memory of an attached ring may already be in use). */
static memtls_ring *handle_new(size_t capacity)
{
    /* sizeof is a multiple of the alignment because of the alignas members. */
    memtls_ring *r = aligned_alloc(CACHE_LINE, sizeof(*r));
    if (r == NULL) {
        return NULL;
    }
    memset(r, 0, sizeof(*r));
    r->capacity = capacity;
    r->mask = capacity - 1u;
    r->max_message = capacity / 4u - MEMTLS_RING_HEADER;
    atomic_init(&r->corrupt, 0);
    return r;
}

static void shared_init(ring_shared *sh)
{
    memset(sh, 0, sizeof(*sh));
    atomic_init(&sh->head, 0);
    atomic_init(&sh->tail, 0);
    atomic_init(&sh->messages_written, 0);
    atomic_init(&sh->bytes_written, 0);
    atomic_init(&sh->refusals, 0);
    atomic_init(&sh->high_water, 0);
    atomic_init(&sh->messages_read, 0);
}

memtls_ring *memtls_ring_new(size_t capacity)
{
    if (!valid_capacity(capacity)) {
        return NULL;
    }
    memtls_ring *r = handle_new(capacity);
    if (r == NULL) {
        return NULL;
    }
    /* The capacity is a power of two >= 4096, as aligned_alloc wants. */
    r->buf = aligned_alloc(CACHE_LINE, capacity);
    if (r->buf == NULL) {
        free(r);
        return NULL;
    }
    r->sh = &r->own;
    shared_init(r->sh);
    return r;
}

size_t memtls_ring_shared_size(size_t capacity)
{
    return valid_capacity(capacity) ? SHARED_HEADER + capacity : 0;
}

memtls_ring *memtls_ring_attach(void *mem, size_t len, size_t capacity, int init)
{
    if (mem == NULL || !valid_capacity(capacity) || len < SHARED_HEADER + capacity ||
        ((uintptr_t)mem % CACHE_LINE) != 0) {
        return NULL;
    }
    memtls_ring *r = handle_new(capacity);
    if (r == NULL) {
        return NULL;
    }
    r->sh = mem;
    r->buf = (uint8_t *)mem + SHARED_HEADER;
    r->attached = 1;
    if (init) {
        shared_init(r->sh);
    }
    /* Each side starts from the positions as they are (a side attaching
     * late continues where the ring stands). */
    r->head = atomic_load_explicit(&r->sh->head, memory_order_acquire);
    r->tail = atomic_load_explicit(&r->sh->tail, memory_order_acquire);
    r->cached_tail = r->tail;
    r->cached_head = r->head;
    if (r->head - r->tail > capacity || (r->head & 7u) != 0 || (r->tail & 7u) != 0) {
        atomic_store_explicit(&r->corrupt, 1, memory_order_relaxed);
    }
    return r;
}

void memtls_ring_free(memtls_ring *r)
{
    if (r == NULL) {
        return;
    }
    if (!r->attached) {
        free(r->buf);
    }
    free(r);
}

size_t memtls_ring_capacity(const memtls_ring *r)
{
    return r == NULL ? 0 : (size_t)r->capacity;
}

size_t memtls_ring_max_message(const memtls_ring *r)
{
    return r == NULL ? 0 : (size_t)r->max_message;
}

static void mark_corrupt(memtls_ring *r)
{
    atomic_store_explicit(&r->corrupt, 1, memory_order_relaxed);
}

/*
 * Producer: find room for a frame carrying `len` payload bytes at the
 * current head. On success sets *frame to the position of the frame header
 * (head, or the start of the buffer after padding) and returns true; the
 * ring is not modified. On failure counts a refusal and returns false.
 */
static bool place_frame(memtls_ring *r, size_t len, uint64_t *frame)
{
    uint64_t h = r->head;
    uint64_t size = frame_size(len);
    uint64_t to_end = r->capacity - (h & r->mask);
    uint64_t pad = size > to_end ? to_end : 0;
    uint64_t need = pad + size;

    if (atomic_load_explicit(&r->corrupt, memory_order_relaxed)) {
        return false;
    }
    if (need > r->capacity - (h - r->cached_tail)) {
        /* Acquire: the consumer's reads of the space it released must
         * happen before we overwrite it. */
        uint64_t t = atomic_load_explicit(&r->sh->tail, memory_order_acquire);
        if (h - t > r->capacity || t - r->cached_tail > r->capacity || (t & 7u) != 0) {
            /* A tail ahead of head or moving backwards: not the consumer
             * we know (shared memory overwritten). Write no more. */
            mark_corrupt(r);
            return false;
        }
        r->cached_tail = t;
        if (need > r->capacity - (h - r->cached_tail)) {
            counter_add(&r->sh->refusals, 1);
            return false;
        }
    }
    *frame = h + pad;
    return true;
}

/* Producer: write the padding (if the frame was moved to the start) and the
 * header, then publish everything up to the end of the frame. */
static void publish_frame(memtls_ring *r, uint64_t frame, uint32_t type, uint64_t conn, size_t len)
{
    uint64_t h = r->head;
    frame_header hdr = {type, (uint32_t)len, conn};
    uint64_t new_head = frame + frame_size(len);
    uint64_t used;

    if (frame != h) {
        /* The padding may be only 8 bytes long: the reader looks at its
         * type alone, so write the length only where it fits. */
        uint64_t pad = frame - h;
        frame_header p = {PAD_TYPE, 0, 0};
        if (pad >= MEMTLS_RING_HEADER) {
            p.len = (uint32_t)(pad - MEMTLS_RING_HEADER);
            memcpy(r->buf + (h & r->mask), &p, sizeof(p));
        } else {
            memcpy(r->buf + (h & r->mask), &p.type, sizeof(p.type));
        }
    }
    memcpy(r->buf + (frame & r->mask), &hdr, sizeof(hdr));
    r->head = new_head;
    atomic_store_explicit(&r->sh->head, new_head, memory_order_release);

    counter_add(&r->sh->messages_written, 1);
    counter_add(&r->sh->bytes_written, len);
    used = new_head - r->cached_tail;
    if (used > atomic_load_explicit(&r->sh->high_water, memory_order_relaxed)) {
        /* Our view of tail may be stale and overstate the use: measure. */
        uint64_t t = atomic_load_explicit(&r->sh->tail, memory_order_acquire);
        if (new_head - t <= r->capacity && t - r->cached_tail <= r->capacity) {
            r->cached_tail = t;
        }
        used = new_head - r->cached_tail;
        if (used > atomic_load_explicit(&r->sh->high_water, memory_order_relaxed)) {
            atomic_store_explicit(&r->sh->high_water, used, memory_order_relaxed);
        }
    }
}

int memtls_ring_try_write(memtls_ring *r, uint32_t type, uint64_t conn, const void *a, size_t alen,
                          const void *b, size_t blen)
{
    uint64_t frame = 0;
    uint8_t *payload;

    if (r == NULL || type == PAD_TYPE || (a == NULL && alen != 0) || (b == NULL && blen != 0)) {
        return MEMTLS_ERR_INVALID;
    }
    if (alen > r->max_message || blen > r->max_message - alen) {
        return MEMTLS_ERR_TOO_BIG;
    }
    if (!place_frame(r, alen + blen, &frame)) {
        return MEMTLS_WANT_WRITE;
    }
    payload = r->buf + (frame & r->mask) + MEMTLS_RING_HEADER;
    if (alen != 0) {
        memcpy(payload, a, alen);
    }
    if (blen != 0) {
        memcpy(payload + alen, b, blen);
    }
    /* The bytes under an uncommitted reservation may have been overwritten. */
    r->reserved = false;
    publish_frame(r, frame, type, conn, alen + blen);
    return MEMTLS_OK;
}

void *memtls_ring_reserve(memtls_ring *r, size_t len)
{
    uint64_t frame = 0;

    if (r == NULL || len > r->max_message) {
        return NULL;
    }
    if (!place_frame(r, len, &frame)) {
        return NULL;
    }
    r->reserved = true;
    r->res_head = r->head;
    r->res_frame = frame;
    r->res_len = len;
    return r->buf + (frame & r->mask) + MEMTLS_RING_HEADER;
}

int memtls_ring_commit(memtls_ring *r, uint32_t type, uint64_t conn, size_t len)
{
    if (r == NULL || !r->reserved || type == PAD_TYPE || len > r->res_len) {
        return MEMTLS_ERR_INVALID;
    }
    r->reserved = false;
    publish_frame(r, r->res_frame, type, conn, len);
    return MEMTLS_OK;
}

/*
 * Consumer: the next message at or after `pos`, which must be below the
 * published head `end`. Skips a padding frame. Fills *msg, sets *next to
 * the position just after the message and returns true; returns false
 * (and marks the ring corrupt) for a frame the producer cannot have
 * written (see Validation above).
 */
static bool frame_at(memtls_ring *r, uint64_t pos, uint64_t end, memtls_ring_msg *msg,
                     uint64_t *next)
{
    frame_header hdr;
    uint64_t off = pos & r->mask;
    uint32_t type;

    /* Positions advance by multiples of 8 from 0, so `off` is at most
     * capacity - 8 and the type (4 bytes) is inside the buffer. */
    memcpy(&type, r->buf + off, sizeof(type));
    if (type == PAD_TYPE) {
        /* Padding runs to the end of the buffer; a message always follows
         * it at offset 0, published together with it. */
        pos += r->capacity - off;
        off = 0;
    }
    if (pos > end || end - pos < MEMTLS_RING_HEADER || off + MEMTLS_RING_HEADER > r->capacity) {
        goto corrupt;
    }
    /* One copy of the header: the length checked is the length used, even
     * if the memory changes under us (a ring shared with another process). */
    memcpy(&hdr, r->buf + off, sizeof(hdr));
    if (hdr.type == PAD_TYPE || hdr.len > r->max_message ||
        off + frame_size(hdr.len) > r->capacity || end - pos < frame_size(hdr.len)) {
        goto corrupt;
    }
    msg->type = hdr.type;
    msg->conn = hdr.conn;
    msg->len = hdr.len;
    msg->data = r->buf + off + MEMTLS_RING_HEADER;
    *next = pos + frame_size(hdr.len);
    return true;
corrupt:
    mark_corrupt(r);
    return false;
}

/* Consumer: the published head, checked: it must be a multiple of 8 at
 * most a capacity ahead of our tail and never behind what we saw before.
 * Returns false (and marks the ring corrupt) otherwise. */
static bool load_head(memtls_ring *r, uint64_t *head)
{
    uint64_t h = atomic_load_explicit(&r->sh->head, memory_order_acquire);
    if (h - r->tail > r->capacity || h - r->cached_head > r->capacity || (h & 7u) != 0) {
        mark_corrupt(r);
        return false;
    }
    r->cached_head = h;
    *head = h;
    return true;
}

/* Consumer: whether a message is present at our tail, reloading head only
 * when the cached copy says the ring is empty. */
static bool message_present(memtls_ring *r)
{
    uint64_t h;
    if (r->cached_head == r->tail && !load_head(r, &h)) {
        return false;
    }
    return r->cached_head != r->tail;
}

static void release_to(memtls_ring *r, uint64_t t, size_t n)
{
    r->tail = t;
    /* Release: our reads of these frames happen before the producer
     * reuses their space. */
    atomic_store_explicit(&r->sh->tail, t, memory_order_release);
    counter_add(&r->sh->messages_read, n);
}

size_t memtls_ring_read(memtls_ring *r, memtls_ring_handler fn, void *arg, size_t max)
{
    return memtls_ring_read_batch(r, fn, NULL, arg, max);
}

size_t memtls_ring_read_batch(memtls_ring *r, memtls_ring_handler fn, memtls_ring_batch_end done,
                              void *arg, size_t max)
{
    uint64_t t;
    uint64_t end;
    size_t n = 0;

    if (r == NULL || fn == NULL || atomic_load_explicit(&r->corrupt, memory_order_relaxed)) {
        return 0;
    }
    t = r->tail;
    /* One acquire load per batch: "all present" means present now, so a
     * producer that keeps writing cannot keep this call going forever. */
    if (!load_head(r, &end)) {
        return 0;
    }
    while (t != end && (max == 0 || n < max)) {
        memtls_ring_msg msg;
        uint64_t next = 0;
        if (!frame_at(r, t, end, &msg, &next)) {
            break;
        }
        fn(arg, &msg);
        t = next;
        n++;
    }
    if (n != 0) {
        if (done != NULL) {
            done(arg); /* before the release: the batch's bytes are still ours */
        }
        release_to(r, t, n);
    }
    return n;
}

int memtls_ring_peek(memtls_ring *r, memtls_ring_msg *msg)
{
    uint64_t next = 0;

    if (r == NULL || msg == NULL || atomic_load_explicit(&r->corrupt, memory_order_relaxed)) {
        return 0;
    }
    if (!message_present(r)) {
        return 0;
    }
    return frame_at(r, r->tail, r->cached_head, msg, &next) ? 1 : 0;
}

void memtls_ring_pop(memtls_ring *r)
{
    memtls_ring_msg msg;
    uint64_t next = 0;

    if (r == NULL || atomic_load_explicit(&r->corrupt, memory_order_relaxed)) {
        return;
    }
    if (!message_present(r) || !frame_at(r, r->tail, r->cached_head, &msg, &next)) {
        return;
    }
    release_to(r, next, 1);
}

int memtls_ring_corrupt(const memtls_ring *r)
{
    memtls_ring *m = (memtls_ring *)r; /* atomic loads do not modify */
    return r != NULL && atomic_load_explicit(&m->corrupt, memory_order_relaxed) != 0;
}

size_t memtls_ring_used(const memtls_ring *r)
{
    return r == NULL ? 0 : (size_t)used_now(r);
}

size_t memtls_ring_free_space(const memtls_ring *r)
{
    return r == NULL ? 0 : (size_t)(r->capacity - used_now(r));
}

int memtls_ring_empty(const memtls_ring *r)
{
    return r == NULL || used_now(r) == 0;
}

void memtls_ring_get_stats(const memtls_ring *r, memtls_ring_stats *out)
{
    if (out == NULL) {
        return;
    }
    memset(out, 0, sizeof(*out));
    if (r == NULL) {
        return;
    }
    out->messages_written = atomic_load_explicit(&r->sh->messages_written, memory_order_relaxed);
    out->bytes_written = atomic_load_explicit(&r->sh->bytes_written, memory_order_relaxed);
    out->messages_read = atomic_load_explicit(&r->sh->messages_read, memory_order_relaxed);
    out->refusals = atomic_load_explicit(&r->sh->refusals, memory_order_relaxed);
    out->high_water = (size_t)atomic_load_explicit(&r->sh->high_water, memory_order_relaxed);
    if (out->high_water > r->capacity) {
        out->high_water = (size_t)r->capacity;
    }
}
