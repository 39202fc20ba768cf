/*
 * memtls/proxy.h - the PROXY protocol (versions 1 and 2, as HAProxy's
 * proxy-protocol.txt specifies them), without I/O: a parser for the header
 * an L4 load balancer puts in front of a connection, and a builder for the
 * header a proxy sends to its backend.
 *
 * PARSING. Hand memtls_proxy_parse() the first bytes of a connection, as
 * many as have arrived. It answers one of:
 *   MEMTLS_OK          a whole header: *used bytes (the bytes after them are
 *                      the connection's own), the addresses and TLVs in
 *                      `out`;
 *   MEMTLS_WANT_READ   the bytes so far are a valid beginning: call again
 *                      with more (nothing is consumed; keep the bytes);
 *   MEMTLS_ERR_PROXY   not a PROXY header, or a malformed or oversized
 *                      one: out->error says why. The specification asks
 *                      the receiver to drop the connection.
 * A wrong first byte is refused at once (a client that sends TLS where a
 * header is expected is told after one byte, not after a timeout). The
 * parser never reads past `len` and keeps no state between calls, so
 * calling it again on the grown buffer is all the incremental work there
 * is. Headers are bounded: a version 1 line is at most 107 bytes (CRLF
 * included), a version 2 header is 16 bytes plus its announced length,
 * refused as soon as the 16 bytes show that the whole would exceed
 * `max_len`.
 *
 * Pointers in the parsed header (TLV values) point into the caller's
 * buffer: they are valid while it is.
 *
 * BUILDING. memtls_proxy_build() writes a version 1 line or a version 2
 * header with the TLVs of memtls_proxy_info (ALPN, authority, unique id,
 * the TLS block with its version, cipher and client certificate CN, and
 * optionally a CRC32C checksum).
 *
 * This header needs <sys/socket.h> (struct sockaddr_storage) and nothing
 * of OpenSSL's.
 */
#ifndef MEMTLS_PROXY_H
#define MEMTLS_PROXY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <memtls/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A version 1 line is at most this long, CRLF included. */
#define MEMTLS_PROXY_V1_MAX 107u
/* A version 2 header is 16 bytes plus at most 65535. */
#define MEMTLS_PROXY_V2_MAX (16u + 65535u)

/* Version 2 TLV types (proxy-protocol.txt section 2.2). */
#define MEMTLS_PP2_TYPE_ALPN 0x01
#define MEMTLS_PP2_TYPE_AUTHORITY 0x02
#define MEMTLS_PP2_TYPE_CRC32C 0x03
#define MEMTLS_PP2_TYPE_NOOP 0x04
#define MEMTLS_PP2_TYPE_UNIQUE_ID 0x05
#define MEMTLS_PP2_TYPE_SSL 0x20
#define MEMTLS_PP2_SUBTYPE_SSL_VERSION 0x21
#define MEMTLS_PP2_SUBTYPE_SSL_CN 0x22
#define MEMTLS_PP2_SUBTYPE_SSL_CIPHER 0x23
#define MEMTLS_PP2_SUBTYPE_SSL_SIG_ALG 0x24
#define MEMTLS_PP2_SUBTYPE_SSL_KEY_ALG 0x25
#define MEMTLS_PP2_TYPE_NETNS 0x30

/* Bits of the PP2_TYPE_SSL `client` field. */
#define MEMTLS_PP2_CLIENT_SSL 0x01       /* the client connected over TLS */
#define MEMTLS_PP2_CLIENT_CERT_CONN 0x02 /* it sent a certificate on this connection */
#define MEMTLS_PP2_CLIENT_CERT_SESS 0x04 /* ...or earlier in this TLS session */

/* Bytes inside a parsed header (`data` is NULL and `len` 0 when absent). */
typedef struct memtls_proxy_value {
    const uint8_t *data;
    size_t len;
} memtls_proxy_value;

/* A parsed header. */
typedef struct memtls_proxy_header {
    unsigned version; /* 1 or 2 */
    /*
     * 1 when the header carries no client address: a version 2 LOCAL
     * command (a health check of the balancer itself), an AF_UNSPEC
     * family, or a version 1 "UNKNOWN" line. The receiver uses the
     * connection's own addresses then. src and dst are zeroed.
     */
    int local;
    /* AF_INET, AF_INET6 or AF_UNIX; AF_UNSPEC when `local`. */
    int family;
    /* SOCK_STREAM or SOCK_DGRAM; 0 when unspecified (version 2 only). */
    int transport;
    /* Source (the client) and destination (the address it connected
     * to): struct sockaddr_in / _in6 / _un, with ports. */
    struct sockaddr_storage src;
    struct sockaddr_storage dst;

    /* Version 2: the whole TLV region (see memtls_proxy_tlv_next) and
     * the TLVs memtls understands. A known type given twice is refused. */
    memtls_proxy_value tlvs;
    memtls_proxy_value alpn;      /* PP2_TYPE_ALPN */
    memtls_proxy_value authority; /* PP2_TYPE_AUTHORITY: the client's SNI */
    memtls_proxy_value unique_id; /* PP2_TYPE_UNIQUE_ID (at most 128 bytes) */
    memtls_proxy_value netns;     /* PP2_TYPE_NETNS */
    int crc32c;                   /* 1: a PP2_TYPE_CRC32C was present and matched */
    int ssl;                      /* 1: a PP2_TYPE_SSL was present */
    uint8_t ssl_client;           /* its MEMTLS_PP2_CLIENT_* bits */
    uint32_t ssl_verify;          /* 0: the client's certificate verified */
    memtls_proxy_value ssl_version, ssl_cn, ssl_cipher, ssl_sig_alg, ssl_key_alg;

    /* Why the header was refused (MEMTLS_ERR_PROXY), else "". */
    char error[96];
} memtls_proxy_header;

/*
 * Parse the PROXY header at the start of `data` (`len` bytes received so
 * far). `max_len` bounds a version 2 header (0: MEMTLS_PROXY_V2_MAX); a
 * version 1 line is bounded by MEMTLS_PROXY_V1_MAX (or `max_len` when
 * smaller). Returns MEMTLS_OK with *used = the header's length and `out`
 * filled, MEMTLS_WANT_READ (a valid beginning: *used = 0), MEMTLS_ERR_PROXY
 * with out->error ("not a PROXY protocol header", "v1: ports must be
 * decimal without leading zeros", "v2: header of 70000 bytes exceeds the
 * limit of 4096", "v2: CRC32C mismatch", ...), or MEMTLS_ERR_INVALID (NULL
 * out or used, NULL data with len > 0). The CRC32C TLV, when present, is
 * checked; a mismatch is an error.
 */
MEMTLS_API int memtls_proxy_parse(const void *data, size_t len, size_t max_len,
                                  memtls_proxy_header *out, size_t *used) MEMTLS_WUR;

/*
 * Walk the TLVs of a parsed version 2 header, the known types and any
 * other (custom types 0xE0..0xEF, a cloud balancer's own). Start with
 * *offset = 0; each call that returns 1 gives the next TLV's type and
 * value and advances *offset; 0 when there is none left (or for a NULL
 * argument). Sub-TLVs of PP2_TYPE_SSL are not listed (they are decoded
 * into the header).
 */
MEMTLS_API int memtls_proxy_tlv_next(const memtls_proxy_header *h, size_t *offset, uint8_t *type,
                                     memtls_proxy_value *value);

/* What memtls_proxy_build() writes. Strings are NUL-terminated, NULL or
 * "" to leave a TLV out. */
typedef struct memtls_proxy_info {
    /* The client (src) and the address it connected to (dst): sockaddr_in
     * or sockaddr_in6 (an IPv4 address beside an IPv6 one is written as
     * IPv4-mapped IPv6). NULL src or dst: version 1 writes
     * "PROXY UNKNOWN", version 2 a LOCAL header. */
    const struct sockaddr *src;
    const struct sockaddr *dst;
    /* Version 2 TLVs. */
    const char *alpn;      /* PP2_TYPE_ALPN */
    const char *authority; /* PP2_TYPE_AUTHORITY (the SNI) */
    /* 1: add PP2_TYPE_SSL with ssl_client, ssl_verify and the sub-TLVs
     * below. */
    int ssl;
    uint8_t ssl_client;
    uint32_t ssl_verify;
    const char *ssl_version; /* "TLSv1.3" */
    const char *ssl_cipher;  /* "TLS_AES_256_GCM_SHA384" */
    const char *ssl_cn;      /* the client certificate's CN */
    /* 1: end with a PP2_TYPE_CRC32C checksum of the header. */
    int crc32c;
} memtls_proxy_info;

/*
 * Write a version `version` (1 or 2) header for `info` into `buf`.
 * *outlen is its length (also on MEMTLS_ERR_TOO_SMALL: the size needed;
 * nothing is written then). Returns MEMTLS_OK, MEMTLS_ERR_TOO_SMALL, or
 * MEMTLS_ERR_INVALID (version not 1 or 2, an address that is neither IPv4
 * nor IPv6, a TLV longer than 65535 bytes, a header longer than
 * MEMTLS_PROXY_V2_MAX, NULL arguments).
 */
MEMTLS_API int memtls_proxy_build(unsigned version, const memtls_proxy_info *info, uint8_t *buf,
                                  size_t len, size_t *outlen) MEMTLS_WUR;

#ifdef __cplusplus
}
#endif
#endif
