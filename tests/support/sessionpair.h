/*
 * sessionpair.h - a client and a server memtls_session joined by an
 * in-memory transport, for session tests (no sockets, fully deterministic).
 *
 *   client session --send()--> [queue 0: client->server] --deliver--> server feed
 *   server session --send()--> [queue 1: server->client] --deliver--> client feed
 *
 * The transport's send() callback copies what it accepts into the
 * per-direction byte queue. In random mode a seeded PRNG (xorshift64*)
 * decides how much of each offered chunk it takes: all of it, a random
 * prefix, or nothing (backpressure); a per-direction queue capacity bounds
 * it as well. Delivery moves chunks of random size (1 byte .. 64 KiB) from a
 * queue to the peer's memtls_session_feed, keeps the bytes when the peer
 * says MEMTLS_WANT_WRITE (and then waits for on_input_paused(0)),
 * and calls memtls_session_flush on the sender once its queue has room
 * again after a refusal ("the transport has room again"). End of stream is
 * delivered to the peer once a session's output is finished (terminal
 * state, or plaintext half close) and its queue is empty, as a socket
 * transport would after closing its descriptor.
 *
 * Everything is recorded for assertions: state changes with reasons and
 * details, handshake-error text, callback counts, NewSessionTickets seen
 * by the client, bytes handed to each queue.
 *
 * Helpers that cannot continue (a certificate cannot be made, a session
 * cannot be created) fail the running cmocka test.
 */
#ifndef MEMTLS_TEST_SESSIONPAIR_H
#define MEMTLS_TEST_SESSIONPAIR_H

#include <stddef.h>
#include <stdint.h>

#include <memtls/pki.h>
#include <memtls/session.h>

/* --- PRNG ------------------------------------------------------------------ */

/* xorshift64*: small, fast, and the same on every platform. */
typedef struct sp_rng {
    uint64_t s;
} sp_rng;

/* Seed the generator (any seed, 0 included, gives a usable stream). */
void sp_rng_seed(sp_rng *r, uint64_t seed);
uint64_t sp_rng_next(sp_rng *r);
/* Uniform in 0..n-1 (0 when n is 0). */
uint64_t sp_rng_below(sp_rng *r, uint64_t n);
/* Uniform in lo..hi inclusive. */
uint64_t sp_rng_range(sp_rng *r, uint64_t lo, uint64_t hi);
/* 1 with probability num/den. */
int sp_rng_chance(sp_rng *r, uint64_t num, uint64_t den);

/* --- configuration ------------------------------------------------------------ */

#define SP_CLIENT 0
#define SP_SERVER 1

typedef enum sp_mode { SP_TLS12 = 0, SP_TLS13 = 1, SP_PLAINTEXT = 2 } sp_mode;

const char *sp_mode_name(sp_mode m);

/*
 * Default configurations for `mode` (TLS only): a server certificate for
 * "localhost" issued by a test CA (made once per process), a client that
 * trusts that CA and requires verification, the protocol pinned to 1.2 or
 * 1.3, and a client SSL_CTX that counts NewSessionTickets (see
 * sessionpair.tickets). The caller may adjust them (memtls_config_* or the
 * SSL_CTX) before passing them in sp_opts.cfg; sp_new takes its own
 * reference. Free with memtls_config_free.
 */
void sp_default_configs(sp_mode mode, memtls_config **client, memtls_config **server);

/* The process-wide test CA and leaves ("localhost" server, "client" client
 * certificate), for tests that build their own configurations. */
const memtls_pem *sp_test_ca(void);
const memtls_pem *sp_test_server_cert(void);
const memtls_pem *sp_test_client_cert(void);

/* Count the sessions (NewSessionTickets) a client configuration's contexts
 * receive, in sp_end.tickets: installs a new-session callback on the
 * client SSL_CTX. sp_new points each SSL's app data at its sp_end. */
void sp_count_tickets(memtls_config *client_cfg);

typedef struct sp_opts {
    sp_mode mode;
    uint64_t seed; /* PRNG seed for the transport (and whatever the test draws) */
    int random;    /* 1: random refusals and chunk sizes; 0: take and deliver all */
    int push[2];   /* per end: 1 = push mode (on_data), 0 = pull mode */
    memtls_session_limits limits[2]; /* zeros: session defaults */
    memtls_config *cfg[2];           /* NULL: sp_default_configs (TLS only) */
    const char *hostname;            /* client name to verify; NULL: "localhost" */
    int no_start;                    /* 1: do not call memtls_session_start */
    int no_auto_eof;                 /* 1: never deliver EOF by itself */
    int keep_open[2];                /* per end: set on_peer_close (half-close aware) */
    int no_ssl;                      /* 1: never take the SSL objects (memtls_ctx_ssl), so the
                   contexts behave as they do for callers that never do;
                   sp_end.tickets then stays 0 */
} sp_opts;

/* --- the pair ---------------------------------------------------------------- */

#define SP_MAX_EVENTS 16

typedef struct sp_event {
    memtls_state from;
    memtls_state to;
    memtls_reason why;
    char detail[256];
    /* Ciphertext still in the context's write BIO when on_state fired. */
    size_t pending_write;
    /* on_handshake_error calls made before this event. */
    int hs_errors_before;
    /* Bytes the transport had taken from this session when it fired. */
    uint64_t accepted_before;
} sp_event;

typedef struct sp_queue {
    uint8_t *data;
    size_t start;
    size_t len;
    size_t cap;
} sp_queue;

struct sessionpair;

typedef struct sp_end {
    struct sessionpair *pair;
    int idx; /* SP_CLIENT or SP_SERVER */
    memtls_session *s;

    /* Transport toward the peer. */
    sp_queue out;
    size_t capacity;     /* queue bound (SIZE_MAX: none) */
    int refuse_all;      /* test switch: send() takes nothing */
    int refused;         /* send() took less than offered since the last flush */
    uint64_t refusals;   /* times send() took less than offered */
    uint64_t accepted;   /* bytes send() took, in total */
    uint64_t send_calls; /* times send() was called */
    uint64_t delivered;  /* bytes moved to the peer's feed */
    uint64_t discarded;  /* bytes the peer refused with MEMTLS_CLOSED */
    int blocked;         /* peer said MEMTLS_WANT_WRITE: wait for its on_input_paused(0) */
    int eof_sent;        /* EOF delivered to the peer */
    int half_closed;     /* app called shutdown_write/close: EOF once drained (plaintext) */

    /* Inbound plaintext in push mode (when no data hook is set). */
    uint8_t *got;
    size_t got_len;
    size_t got_cap;

    /* Callback records. */
    sp_event events[SP_MAX_EVENTS];
    int nevents;
    char hs_error[512];
    int hs_error_calls;
    int readable_calls;
    int writable_calls;
    int paused_calls[2];  /* on_input_paused(0), (1) */
    int tickets;          /* NewSessionTickets seen (client, TLS) */
    int peer_close_calls; /* on_peer_close (opts.keep_open) */

    /* Optional hooks (the property test's application). */
    void (*data_hook)(struct sp_end *e, const uint8_t *data, size_t len);
    void (*writable_hook)(struct sp_end *e);
    void (*peer_close_hook)(struct sp_end *e);
    void *user;
} sp_end;

typedef struct sessionpair {
    sp_opts opts;
    sp_rng rng;
    sp_end end[2];
} sessionpair;

/* A started pair (unless opts.no_start). Fails the test on error. Options
 * read best as a compound literal:
 * sp_new(&(sp_opts){.mode = SP_TLS13, .no_auto_eof = 1}). */
sessionpair *sp_new(const sp_opts *opts);

/* sp_new, a handshake that must complete, and the transport run until
 * quiet (tickets delivered): a pair in READY with nothing in flight. */
sessionpair *sp_ready(const sp_opts *opts);
/* Free both sessions, queues and buffers. NULL is a no-op. */
void sp_free(sessionpair *p);

/* The peer's index. */
static inline int sp_peer(int idx)
{
    return 1 - idx;
}

/*
 * Deliver from end `from`'s queue to the peer: at most `max` bytes
 * (0: no bound), in chunks (random size in random mode, else one chunk).
 * Stops on MEMTLS_WANT_WRITE (bytes kept). Bytes the peer refuses with
 * MEMTLS_CLOSED are dropped and counted. Afterwards flushes the sender
 * if the transport refused it something and has room again, and delivers
 * EOF when due. Returns the number of bytes taken off the queue.
 */
size_t sp_deliver(sessionpair *p, int from, size_t max);

/* One transport round in both directions (random order in random mode),
 * including flushes and EOF. Returns bytes moved. */
size_t sp_step(sessionpair *p);

/* Steps until nothing moves for a while (or `max_steps`). Returns bytes moved. */
size_t sp_run(sessionpair *p, int max_steps);

/* Run until both sessions left HANDSHAKE (or nothing moves). Returns 1 if
 * both are READY. */
int sp_handshake(sessionpair *p);

/* Hand raw bytes to end `to`'s memtls_session_feed as if they came from
 * the transport. Returns the feed status. */
int sp_inject(sessionpair *p, int to, const void *data, size_t len);

/* Throw away what end `from`'s transport holds (lost in transit).
 * Returns the number of bytes dropped. */
size_t sp_drop(sessionpair *p, int from);

/*
 * memtls_session_shutdown_write on end `idx`, and tell the transport: a
 * plaintext session has no close_notify, so its half close travels as
 * the transport's end of stream once its output is flushed (as a socket
 * transport would shutdown(SHUT_WR)). Returns the session's status.
 */
int sp_shutdown_write(sessionpair *p, int idx);

/* Deliver end of stream to end `to` now. */
void sp_eof(sessionpair *p, int to);

/* Pull all buffered plaintext of end `idx` (pull mode) into e->got. */
size_t sp_read_all(sessionpair *p, int idx);

/* Write all of data through memtls_session_write (fails the test unless
 * fully accepted). */
void sp_write_all(sessionpair *p, int idx, const void *data, size_t len);

/* The last event of end `idx` (NULL if none). */
const sp_event *sp_last_event(const sessionpair *p, int idx);

/* 1 if end `idx` saw the transition to `to` (with reason `why`, unless
 * why is -1). */
int sp_saw(const sessionpair *p, int idx, memtls_state to, int why);

/* Ciphertext anywhere in flight for end idx: its context's write and read
 * BIOs, its pending_out and its outbound queue. */
size_t sp_leftover(const sessionpair *p, int idx);

/* One line describing both ends (states, queues, counters) for failure
 * messages. */
const char *sp_describe(sessionpair *p);

#endif
