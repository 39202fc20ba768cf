/*
 * fuzz_ring_framing.c - the ring's framing, with its memory overwritten
 * between the producer and the consumer.
 *
 * Input: [capacity] then operations [op] [operands] ... until it ends:
 *   write (try_write, one or two parts), reserve + commit, batch read,
 *   peek / pop, and "corrupt": fuzz bytes written into the ring's buffer,
 *   at an offset inside the live frames or anywhere.
 *
 * The harness keeps a model of the ring: every message written (type,
 * connection, payload) and where each frame lies (the placement rules of
 * ring.c: 16-byte header, payload rounded up to 8, padding when a frame
 * would cross the end). memtls_ring_used() is checked against the model,
 * so the model cannot drift.
 *
 * Checked:
 *   - while no corruption has touched a live frame, every message comes
 *     out exactly as written, in order, and the ring is not reported
 *     corrupt;
 *   - whatever the buffer holds, the consumer never reads outside it
 *     (every payload handed out lies inside the buffer, and ASan checks
 *     the reads: the buffer is its own allocation), never hands out more
 *     than max_message bytes, never runs past the published data (each
 *     read is bounded by what was written), and once it reports
 *     corruption, nothing more comes out.
 *
 * The buffer is found through the documented layout (ring.h): the first
 * message of a new ring starts at the start of the buffer.
 */
#include <string.h>

#include <memtls/ring.h>

#include "fuzz_support.h"

#define MAX_MODEL 4096 /* more than the largest ring (16 KiB) can hold */

typedef struct model_msg {
    uint32_t type;
    uint64_t conn;
    size_t len;
    uint64_t seed; /* payload byte i = payload_byte(seed, i) */
    uint64_t end;  /* position just after its frame */
} model_msg;

typedef struct model {
    memtls_ring *r;
    uint8_t *buf;
    uint64_t cap;
    uint64_t head; /* producer position (model) */
    uint64_t tail; /* consumer position (model) */
    model_msg q[MAX_MODEL];
    size_t qhead, qlen;
    int tainted;         /* a live frame was overwritten */
    uint64_t taint_tail; /* the consumer's position then */
    uint64_t delivered;  /* messages handed out since */
    uint64_t next_seed;
} model;

static model g;

static uint8_t payload_byte(uint64_t seed, size_t i)
{
    uint64_t x = (seed + i) * 0x9e3779b97f4a7c15ULL;
    return (uint8_t)(x >> 56);
}

static uint64_t frame_size(size_t len)
{
    return MEMTLS_RING_HEADER + ((len + 7u) & ~(uint64_t)7u);
}

/* The model's placement of a frame at the head: whether it is moved to
 * the start of the buffer depends on the length it was placed for (the
 * reserved one for reserve/commit), its size on the final length. */
static uint64_t place(size_t placed_len, size_t len)
{
    uint64_t off = g.head % g.cap;
    if (frame_size(placed_len) > g.cap - off) {
        g.head += g.cap - off; /* padding */
    }
    g.head += frame_size(len);
    return g.head;
}

static void fill(uint8_t *p, size_t len, uint64_t seed)
{
    for (size_t i = 0; i < len; i++) {
        p[i] = payload_byte(seed, i);
    }
}

static void expect_pushed(uint32_t type, uint64_t conn, size_t placed_len, size_t len,
                          uint64_t seed)
{
    FZ_CHECK(g.qlen < MAX_MODEL, "model full");
    model_msg *m = &g.q[(g.qhead + g.qlen++) % MAX_MODEL];
    m->type = type;
    m->conn = conn;
    m->len = len;
    m->seed = seed;
    m->end = place(placed_len, len);
    if (!g.tainted) {
        FZ_CHECK(memtls_ring_used(g.r) == g.head - g.tail, "used %zu, model %llu",
                 memtls_ring_used(g.r), (unsigned long long)(g.head - g.tail));
    }
}

/* Every message handed out: inside the buffer, and, while the ring is
 * intact, exactly the next one the model expects. */
static void consume(const memtls_ring_msg *msg)
{
    const uint8_t *lo = g.buf;
    const uint8_t *hi = g.buf + g.cap;
    FZ_CHECK(msg->len <= memtls_ring_max_message(g.r), "message of %zu bytes", msg->len);
    FZ_CHECK(msg->data >= lo && msg->data <= hi && msg->len <= (size_t)(hi - msg->data),
             "payload outside the buffer");
    /* Read it all: ASan would see a read outside the allocation. */
    volatile uint8_t sum = 0;
    for (size_t i = 0; i < msg->len; i++) {
        sum = (uint8_t)(sum ^ msg->data[i]);
    }
    (void)sum;
    if (g.tainted) {
        /* Each message takes at least a header's worth of the data
         * published since: the consumer cannot run past it. */
        g.delivered++;
        FZ_CHECK(g.delivered * MEMTLS_RING_HEADER <= g.head - g.taint_tail,
                 "%llu messages out of %llu bytes", (unsigned long long)g.delivered,
                 (unsigned long long)(g.head - g.taint_tail));
        return;
    }
    FZ_CHECK(g.qlen > 0, "a message that was never written");
    model_msg *m = &g.q[g.qhead];
    FZ_CHECK(msg->type == m->type && msg->conn == m->conn && msg->len == m->len,
             "message header changed: type %u/%u conn %llu/%llu len %zu/%zu", msg->type, m->type,
             (unsigned long long)msg->conn, (unsigned long long)m->conn, msg->len, m->len);
    for (size_t i = 0; i < m->len; i++) {
        FZ_CHECK(msg->data[i] == payload_byte(m->seed, i), "payload byte %zu changed", i);
    }
    g.tail = m->end;
    g.qhead = (g.qhead + 1) % MAX_MODEL;
    g.qlen--;
}

static void handler(void *arg, const memtls_ring_msg *msg)
{
    (void)arg;
    consume(msg);
}

/* Overwrite `n` bytes at `off` (mod capacity) with input bytes. */
static void corrupt(fz_in *in, uint64_t off, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t pos = (off + i) % g.cap;
        /* Live: between the consumer's and the producer's positions. */
        uint64_t rel = (pos - g.tail % g.cap + g.cap) % g.cap;
        uint8_t b = fz_u8(in);
        if (!g.tainted && rel < g.head - g.tail && g.buf[pos] != b) {
            g.tainted = 1;
            g.taint_tail = g.tail;
        }
        g.buf[pos] = b;
    }
}

static void run_op(fz_in *in)
{
    uint8_t op = fz_u8(in);
    size_t max = memtls_ring_max_message(g.r);
    switch (op % 7) {
    case 0:
    case 1: { /* try_write, in one or two parts */
        static uint8_t tmp[(MEMTLS_RING_MIN_CAPACITY << 2) / 4];
        size_t len = (size_t)fz_u16(in) % (max + 1);
        size_t split = op % 7 == 1 ? len / 2 : len;
        uint32_t type = (uint32_t)fz_u8(in) + 1;
        uint64_t conn = fz_u8(in);
        uint64_t seed = g.next_seed++;
        fill(tmp, len, seed);
        int rc = memtls_ring_try_write(g.r, type, conn, tmp, split,
                                       len > split ? tmp + split : NULL, len - split);
        if (rc == MEMTLS_OK) {
            expect_pushed(type, conn, len, len, seed);
        } else {
            FZ_CHECK(rc == MEMTLS_WANT_WRITE, "try_write: %d", rc);
        }
        break;
    }
    case 2: { /* reserve, then commit up to the reserved length */
        size_t len = (size_t)fz_u16(in) % (max + 1);
        size_t final_len = len == 0 ? 0 : (size_t)fz_u16(in) % (len + 1);
        uint32_t type = (uint32_t)fz_u8(in) + 1;
        uint64_t seed = g.next_seed++;
        uint8_t *p = memtls_ring_reserve(g.r, len);
        if (p != NULL) {
            fill(p, final_len, seed);
            FZ_CHECK(memtls_ring_commit(g.r, type, 7, final_len) == MEMTLS_OK, "commit");
            expect_pushed(type, 7, len, final_len, seed);
        }
        break;
    }
    case 3: { /* batch read */
        size_t n = fz_u8(in) % 8;
        size_t got = memtls_ring_read(g.r, handler, NULL, n);
        FZ_CHECK(n == 0 || got <= n, "read %zu of at most %zu", got, n);
        FZ_CHECK(g.tainted || memtls_ring_corrupt(g.r) == 0, "an intact ring reported corrupt");
        break;
    }
    case 4: { /* peek, pop */
        memtls_ring_msg msg;
        if (memtls_ring_peek(g.r, &msg)) {
            consume(&msg);
            memtls_ring_pop(g.r);
        }
        FZ_CHECK(g.tainted || memtls_ring_corrupt(g.r) == 0, "an intact ring reported corrupt");
        break;
    }
    case 5: /* corrupt the live frames, from the consumer's position */
        corrupt(in, g.tail % g.cap + fz_u16(in) % (g.head - g.tail + 1), fz_u8(in) % 24 + 1);
        break;
    default: /* corrupt anywhere */
        corrupt(in, fz_u16(in), fz_u8(in) % 24 + 1);
        break;
    }
    if (memtls_ring_corrupt(g.r)) {
        /* Reported: nothing more comes out. */
        memtls_ring_msg msg;
        FZ_CHECK(memtls_ring_peek(g.r, &msg) == 0, "peek after corruption");
        FZ_CHECK(memtls_ring_read(g.r, handler, NULL, 0) == 0, "read after corruption");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    memset(&g, 0, sizeof g);
    g.cap = (uint64_t)MEMTLS_RING_MIN_CAPACITY << (fz_u8(&in) % 3);
    g.r = memtls_ring_new((size_t)g.cap);
    FZ_CHECK(g.r != NULL, "ring");

    /* Find the buffer: write a message, peek, step back over the header. */
    memtls_ring_msg first;
    FZ_CHECK(memtls_ring_try_write(g.r, 1, 0, NULL, 0, NULL, 0) == MEMTLS_OK, "first write");
    FZ_CHECK(memtls_ring_peek(g.r, &first) == 1, "first peek");
    g.buf = (uint8_t *)(uintptr_t)(first.data - MEMTLS_RING_HEADER);
    memtls_ring_pop(g.r);
    g.head = g.tail = MEMTLS_RING_HEADER;

    while (in.n > 0) {
        run_op(&in);
    }
    /* Drain: intact, everything written comes out. */
    while (memtls_ring_read(g.r, handler, NULL, 0) > 0) {
    }
    if (!g.tainted) {
        FZ_CHECK(g.qlen == 0 && memtls_ring_empty(g.r) && !memtls_ring_corrupt(g.r),
                 "%zu messages never came out", g.qlen);
    }
    memtls_ring_free(g.r);
    return 0;
}
