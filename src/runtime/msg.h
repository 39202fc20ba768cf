/*
 * msg.h - private: the messages between the host thread and a worker.
 *
 * Every message carries the internal connection id (the `conn` field of
 * the ring frame: sequence number << 24 | host slot). Payload layouts are
 * the structs below, or raw bytes for the *_DATA messages. Data bigger
 * than memtls_ring_max_message() is split into several messages.
 *
 * Flow control (see docs/runtime.md):
 *   worker -> host data is credit based: the worker may have at most
 *   write_window bytes per socket that the host has not written yet; the
 *   host returns credit with H_ACK.
 *   host -> worker data is credit based the same way: the host reads a
 *   socket only while it has fewer than write_window bytes in flight to
 *   the worker that the worker has not taken in yet; the worker returns
 *   credit with W_ACK as the session (or the application) takes the bytes.
 *   W_PAUSE / W_RESUME stop a socket outright (server stop), and a full
 *   ring stops the host reading until the worker reports room.
 */
#ifndef MEMTLS_RUNTIME_MSG_H
#define MEMTLS_RUNTIME_MSG_H

#include <stdint.h>

enum {
    /* host -> worker */
    MSG_H_START = 1, /* rt_msg_start: a client connection was accepted */
    MSG_H_DATA,      /* bytes from the client socket (ciphertext for TLS) */
    MSG_H_EOF,       /* the client finished sending (FIN) */
    MSG_H_RESET,     /* the client socket failed or was closed: abort */
    MSG_H_ACK,       /* rt_msg_ack: bytes written to the sockets (credit) */
    MSG_H_BK_RESULT, /* rt_msg_status: outcome of W_BK_CONNECT */
    MSG_H_BK_DATA,   /* bytes from the backend socket */
    MSG_H_BK_EOF,    /* the backend finished sending */
    MSG_H_BK_RESET,  /* the backend socket failed */
    MSG_H_PROBE,     /* rt_msg_probe (metrics.h), connection id 0: when the
                        host wrote it, for the ring delay */

    /* worker -> host */
    MSG_W_DATA = 32,   /* bytes for the client socket */
    MSG_W_SHUTDOWN,    /* after queued bytes, shut the client's write side */
    MSG_W_CLOSE,       /* rt_msg_close: the worker released the id; close
                          the sockets (gracefully: after queued bytes) */
    MSG_W_PAUSE,       /* rt_msg_side: stop reading a socket */
    MSG_W_RESUME,      /* rt_msg_side: read it again */
    MSG_W_BK_CONNECT,  /* open the backend connection */
    MSG_W_BK_DATA,     /* bytes for the backend socket */
    MSG_W_PROBE,       /* rt_msg_probe, connection id 0: when the worker wrote it */
    MSG_W_BK_SHUTDOWN, /* after queued bytes, shut the backend's write side */
    MSG_W_ACK,         /* rt_msg_ack: bytes the worker took in (input credit) */
    MSG_W_RECORD       /* rt_msg_record and its strings: the connection's log
                          record, logged by the host (worker processes) */
};

/* Which socket of a connection. */
enum { RT_SIDE_CLIENT = 0, RT_SIDE_BACKEND = 1 };

/* The client's address, as accept() gave it (the worker formats it for
 * its log record; the host never needs it as text). */
typedef struct rt_msg_start {
    uint32_t listener;
    uint32_t plaintext;
    uint8_t peer[28]; /* a struct sockaddr_in or sockaddr_in6 */
    uint32_t peer_len;
    /* The address the client connected to (getsockname), when the
     * backend gets a PROXY header; local_len 0 otherwise. */
    uint8_t local[28];
    uint32_t local_len;
} rt_msg_start;

typedef struct rt_msg_ack {
    uint64_t client;
    uint64_t backend;
} rt_msg_ack;

typedef struct rt_msg_status {
    int32_t status; /* 0 or a negative libuv error */
} rt_msg_status;

typedef struct rt_msg_close {
    uint32_t abort; /* 1: close at once (no flush) */
} rt_msg_close;

typedef struct rt_msg_side {
    uint32_t side; /* RT_SIDE_* */
} rt_msg_side;

/* The strings of a MSG_W_RECORD, in this order after the fixed part, each
 * len[i] bytes without a NUL, each at most RT_REC_STR_MAX bytes (longer
 * ones are cut). The host checks every length against the message. */
enum {
    RT_REC_PEER,
    RT_REC_SNI,
    RT_REC_VERSION,
    RT_REC_CIPHER,
    RT_REC_ALPN,
    RT_REC_SUBJECT,
    RT_REC_CERT_SUBJECT,
    RT_REC_REASON,
    RT_REC_NSTR
};
#define RT_REC_STR_MAX 1024u

typedef struct rt_msg_record {
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t app_in;
    uint64_t app_out;
    uint64_t duration_ms;
    int32_t cert_index;
    uint8_t plaintext;
    uint8_t clean;
    uint8_t resumed;
    uint8_t pad;
    uint16_t len[RT_REC_NSTR];
} rt_msg_record;

#endif
