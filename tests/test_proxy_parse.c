/*
 * test_proxy_parse.c - the PROXY protocol parser (memtls/proxy.h) on
 * headers written by hand from proxy-protocol.txt: version 1 TCP4, TCP6
 * and UNKNOWN lines, version 2 INET, INET6, UNIX, LOCAL and UNSPEC
 * headers with their TLVs (ALPN, authority, SSL with sub-TLVs, unique id,
 * CRC32C, custom types); every strict prefix of a valid header asks for
 * more bytes and nothing past the header is consumed; garbage, truncated
 * lines, bad ports and addresses, oversized headers, overrunning or
 * duplicated TLVs and a wrong checksum are refused with a reason.
 */
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include <memtls/proxy.h>

static const uint8_t SIG[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

static int parse(const void *p, size_t n, size_t max, memtls_proxy_header *h, size_t *used)
{
    return memtls_proxy_parse(p, n, max, h, used);
}

/* Every strict prefix of `p` (n bytes, a whole header) wants more. */
static void assert_prefixes_want_more(const uint8_t *p, size_t n)
{
    memtls_proxy_header h;
    for (size_t k = 0; k < n; k++) {
        size_t used = 99;
        int rc = parse(p, k, 0, &h, &used);
        if (rc != MEMTLS_WANT_READ) {
            print_error("prefix of %zu/%zu bytes: status %d (%s)\n", k, n, rc, h.error);
        }
        assert_int_equal(rc, MEMTLS_WANT_READ);
        assert_int_equal(used, 0);
    }
}

static void assert_in4(const struct sockaddr_storage *ss, const char *ip, unsigned port)
{
    char text[INET_ADDRSTRLEN];
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    assert_int_equal(a->sin_family, AF_INET);
    assert_non_null(inet_ntop(AF_INET, &a->sin_addr, text, sizeof text));
    assert_string_equal(text, ip);
    assert_int_equal(ntohs(a->sin_port), port);
}

static void assert_in6(const struct sockaddr_storage *ss, const char *ip, unsigned port)
{
    char text[INET6_ADDRSTRLEN];
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    assert_int_equal(a->sin6_family, AF_INET6);
    assert_non_null(inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text));
    assert_string_equal(text, ip);
    assert_int_equal(ntohs(a->sin6_port), port);
}

static void assert_value(memtls_proxy_value v, const char *want)
{
    assert_non_null(v.data);
    assert_int_equal(v.len, strlen(want));
    assert_memory_equal(v.data, want, v.len);
}

/* Refused with a reason that contains `why`. */
static void assert_refused(const void *p, size_t n, size_t max, const char *why)
{
    memtls_proxy_header h;
    size_t used = 99;
    int rc = parse(p, n, max, &h, &used);
    if (rc != MEMTLS_ERR_PROXY || strstr(h.error, why) == NULL) {
        print_error("status %d, reason '%s', wanted MEMTLS_ERR_PROXY with '%s'\n", rc, h.error,
                    why);
    }
    assert_int_equal(rc, MEMTLS_ERR_PROXY);
    assert_non_null(strstr(h.error, why));
    assert_int_equal(used, 0);
}

static void assert_refused_text(const char *text, const char *why)
{
    assert_refused(text, strlen(text), 0, why);
}

/* Test: version 1 TCP4 and TCP6 lines give their addresses and ports;
 * the bytes after the CRLF are not consumed. */
static void test_v1_tcp(void **state)
{
    (void)state;
    memtls_proxy_header h;
    size_t used = 0;
    const char *l4 = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n\x16\x03\x01";
    assert_int_equal(parse(l4, strlen(l4), 0, &h, &used), MEMTLS_OK);
    assert_int_equal(used, strlen(l4) - 3);
    assert_int_equal(h.version, 1);
    assert_int_equal(h.local, 0);
    assert_int_equal(h.family, AF_INET);
    assert_int_equal(h.transport, SOCK_STREAM);
    assert_in4(&h.src, "192.168.0.1", 56324);
    assert_in4(&h.dst, "192.168.0.11", 443);
    assert_string_equal(h.error, "");
    assert_prefixes_want_more((const uint8_t *)l4, used);

    const char *l6 = "PROXY TCP6 2001:db8::1 ::1 65535 0\r\n";
    assert_int_equal(parse(l6, strlen(l6), 0, &h, &used), MEMTLS_OK);
    assert_int_equal(used, strlen(l6));
    assert_int_equal(h.family, AF_INET6);
    assert_in6(&h.src, "2001:db8::1", 65535);
    assert_in6(&h.dst, "::1", 0);
    assert_prefixes_want_more((const uint8_t *)l6, used);
}

/* Test: "PROXY UNKNOWN" (short, and the 107-byte worst case) is a valid
 * header without addresses; the rest of its line is ignored. */
static void test_v1_unknown(void **state)
{
    (void)state;
    memtls_proxy_header h;
    size_t used = 0;
    assert_int_equal(parse("PROXY UNKNOWN\r\nGET", 18, 0, &h, &used), MEMTLS_OK);
    assert_int_equal(used, 15);
    assert_int_equal(h.local, 1);
    assert_int_equal(h.family, AF_UNSPEC);
    const char *worst = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    assert_int_equal(strlen(worst), MEMTLS_PROXY_V1_MAX);
    assert_int_equal(parse(worst, strlen(worst), 0, &h, &used), MEMTLS_OK);
    assert_int_equal(used, MEMTLS_PROXY_V1_MAX);
    assert_int_equal(h.local, 1);
}

/* Test: malformed version 1 lines are refused, each with its reason. */
static void test_v1_refused(void **state)
{
    (void)state;
    assert_refused_text("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", "TCP4, TCP6 or UNKNOWN");
    assert_refused_text("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", "TCP4, TCP6 or UNKNOWN");
    assert_refused_text("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", "leading zeros");
    assert_refused_text("PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n", "0..65535");
    assert_refused_text("PROXY TCP4 1.2.3.4 5.6.7.8 1 -2\r\n", "ports");
    assert_refused_text("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", "invalid IPv4 address");
    assert_refused_text("PROXY TCP4 ::1 5.6.7.8 1 2\r\n", "invalid IPv4 address");
    assert_refused_text("PROXY TCP6 1.2.3.4 ::1 1 2\r\n", "invalid IPv6 address");
    assert_refused_text("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", "single spaces");
    assert_refused_text("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "single spaces");
    assert_refused_text("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", "after the destination port");
    assert_refused_text("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", "after the destination port");
    assert_refused_text("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "LF without CR");
    assert_refused_text("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", "CR not followed by LF");
    assert_refused_text("PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n", "byte 0x09");
    assert_refused_text("PROXY \r\n", "no protocol");
    /* 107 bytes without a CRLF: refused, not waited for. */
    char big[200];
    memcpy(big, "PROXY UNKNOWN ", 14);
    memset(big + 14, 'a', sizeof big - 14);
    assert_refused(big, MEMTLS_PROXY_V1_MAX, 0, "no CRLF in the first 107 bytes");
    assert_refused(big, sizeof big, 0, "no CRLF in the first 107 bytes");
    /* ... and a caller's smaller bound applies to version 1 too. */
    assert_refused(big, 40, 40, "no CRLF in the first 40 bytes");
}

/* Test: bytes that begin no header are refused at the first byte that
 * shows it: a TLS ClientHello, an HTTP request, an empty line. */
static void test_not_a_header(void **state)
{
    (void)state;
    const uint8_t hello[] = {0x16, 0x03, 0x01, 0x02, 0x00};
    assert_refused(hello, 1, 0, "not a PROXY protocol header");
    assert_refused(hello, sizeof hello, 0, "not a PROXY protocol header (first bytes 16 03)");
    assert_refused_text("GET / HTTP/1.1\r\n", "not a PROXY protocol header");
    assert_refused_text("PROXZ", "not a PROXY protocol header");
    assert_refused_text("\r\n\r\n\x01", "not a PROXY protocol header");
    /* Nothing yet: a valid beginning. */
    memtls_proxy_header h;
    size_t used = 99;
    assert_int_equal(parse(NULL, 0, 0, &h, &used), MEMTLS_WANT_READ);
    assert_int_equal(used, 0);
    assert_int_equal(parse(NULL, 1, 0, &h, &used), MEMTLS_ERR_INVALID);
    assert_int_equal(parse("P", 1, 0, NULL, &used), MEMTLS_ERR_INVALID);
    assert_int_equal(parse("P", 1, 0, &h, NULL), MEMTLS_ERR_INVALID);
}

/* A version 2 header in buf: signature, ver_cmd, fam, then `body` of
 * `n` bytes. Returns its length. */
static size_t v2(uint8_t *buf, uint8_t ver_cmd, uint8_t fam, const uint8_t *body, size_t n)
{
    memcpy(buf, SIG, 12);
    buf[12] = ver_cmd;
    buf[13] = fam;
    buf[14] = (uint8_t)(n >> 8);
    buf[15] = (uint8_t)n;
    memcpy(buf + 16, body, n);
    return 16 + n;
}

/* Append a TLV to body at *n. */
static void tlv(uint8_t *body, size_t *n, uint8_t type, const void *v, size_t len)
{
    body[(*n)++] = type;
    body[(*n)++] = (uint8_t)(len >> 8);
    body[(*n)++] = (uint8_t)len;
    memcpy(body + *n, v, len);
    *n += len;
}

static size_t inet_block(uint8_t *b)
{
    const uint8_t a[12] = {10, 0, 0, 1, 192, 0, 2, 7, 0xC3, 0x50, 0x01, 0xBB}; /* 50000, 443 */
    memcpy(b, a, sizeof a);
    return sizeof a;
}

/* Test: a version 2 PROXY/INET/STREAM header with ALPN, authority, an SSL
 * TLV with version, CN, cipher, signature and key algorithms, a unique
 * id, NOOP padding and a custom type: every field decoded, the iterator
 * lists the top-level TLVs, and what follows is left alone. */
static void test_v2_inet_tlvs(void **state)
{
    (void)state;
    uint8_t body[512];
    uint8_t buf[600];
    size_t n = inet_block(body);
    tlv(body, &n, MEMTLS_PP2_TYPE_ALPN, "h2", 2);
    tlv(body, &n, MEMTLS_PP2_TYPE_AUTHORITY, "a.example.test", 14);
    uint8_t ssl[128];
    size_t sn = 0;
    ssl[sn++] = MEMTLS_PP2_CLIENT_SSL | MEMTLS_PP2_CLIENT_CERT_CONN;
    ssl[sn++] = 0;
    ssl[sn++] = 0;
    ssl[sn++] = 0;
    ssl[sn++] = 0; /* verify: 0, ok */
    tlv(ssl, &sn, MEMTLS_PP2_SUBTYPE_SSL_VERSION, "TLSv1.3", 7);
    tlv(ssl, &sn, MEMTLS_PP2_SUBTYPE_SSL_CN, "client", 6);
    tlv(ssl, &sn, MEMTLS_PP2_SUBTYPE_SSL_CIPHER, "TLS_AES_128_GCM_SHA256", 22);
    tlv(ssl, &sn, MEMTLS_PP2_SUBTYPE_SSL_SIG_ALG, "SHA256", 6);
    tlv(ssl, &sn, MEMTLS_PP2_SUBTYPE_SSL_KEY_ALG, "EC256", 5);
    tlv(ssl, &sn, 0x2F, "?", 1); /* an unknown sub-type is skipped */
    tlv(body, &n, MEMTLS_PP2_TYPE_SSL, ssl, sn);
    tlv(body, &n, MEMTLS_PP2_TYPE_UNIQUE_ID, "id-1", 4);
    tlv(body, &n, MEMTLS_PP2_TYPE_NOOP, "\0\0\0", 3);
    tlv(body, &n, 0xEA, "vpce-1234", 9);
    size_t len = v2(buf, 0x21, 0x11, body, n);
    memcpy(buf + len, "tail", 4);

    memtls_proxy_header h;
    size_t used = 0;
    assert_int_equal(parse(buf, len + 4, 0, &h, &used), MEMTLS_OK);
    assert_int_equal(used, len);
    assert_int_equal(h.version, 2);
    assert_int_equal(h.local, 0);
    assert_int_equal(h.family, AF_INET);
    assert_int_equal(h.transport, SOCK_STREAM);
    assert_in4(&h.src, "10.0.0.1", 50000);
    assert_in4(&h.dst, "192.0.2.7", 443);
    assert_value(h.alpn, "h2");
    assert_value(h.authority, "a.example.test");
    assert_int_equal(h.ssl, 1);
    assert_int_equal(h.ssl_client, MEMTLS_PP2_CLIENT_SSL | MEMTLS_PP2_CLIENT_CERT_CONN);
    assert_int_equal(h.ssl_verify, 0);
    assert_value(h.ssl_version, "TLSv1.3");
    assert_value(h.ssl_cn, "client");
    assert_value(h.ssl_cipher, "TLS_AES_128_GCM_SHA256");
    assert_value(h.ssl_sig_alg, "SHA256");
    assert_value(h.ssl_key_alg, "EC256");
    assert_value(h.unique_id, "id-1");
    assert_null(h.netns.data);
    assert_int_equal(h.crc32c, 0);
    assert_prefixes_want_more(buf, len);

    /* The iterator: the seven top-level TLVs in order, the custom one
     * included. */
    const uint8_t want[] = {0x01, 0x02, 0x20, 0x05, 0x04, 0xEA};
    size_t off = 0;
    uint8_t type = 0;
    memtls_proxy_value v;
    for (size_t i = 0; i < sizeof want; i++) {
        assert_int_equal(memtls_proxy_tlv_next(&h, &off, &type, &v), 1);
        assert_int_equal(type, want[i]);
    }
    assert_memory_equal(v.data, "vpce-1234", 9);
    assert_int_equal(memtls_proxy_tlv_next(&h, &off, &type, &v), 0);
    assert_int_equal(memtls_proxy_tlv_next(NULL, &off, &type, &v), 0);
}

/* Test: INET6 and UNIX addresses; LOCAL (whatever its block holds) and
 * UNSPEC headers carry no address; a DGRAM transport is reported. */
static void test_v2_families(void **state)
{
    (void)state;
    uint8_t body[300];
    uint8_t buf[400];
    memtls_proxy_header h;
    size_t used = 0;

    memset(body, 0, 36);
    assert_int_equal(inet_pton(AF_INET6, "2001:db8::5", body), 1);
    assert_int_equal(inet_pton(AF_INET6, "2001:db8::6", body + 16), 1);
    body[32] = 0x12;
    body[33] = 0x34;
    body[34] = 0x00;
    body[35] = 0x50;
    size_t len = v2(buf, 0x21, 0x22, body, 36);
    assert_int_equal(parse(buf, len, 0, &h, &used), MEMTLS_OK);
    assert_int_equal(h.family, AF_INET6);
    assert_int_equal(h.transport, SOCK_DGRAM);
    assert_in6(&h.src, "2001:db8::5", 0x1234);
    assert_in6(&h.dst, "2001:db8::6", 80);

    memset(body, 0, 216);
    memcpy(body, "/run/client.sock", 16);
    memcpy(body + 108, "/run/server.sock", 16);
    len = v2(buf, 0x21, 0x31, body, 216);
    assert_int_equal(parse(buf, len, 0, &h, &used), MEMTLS_OK);
    assert_int_equal(h.family, AF_UNIX);
    assert_string_equal(((struct sockaddr_un *)&h.src)->sun_path, "/run/client.sock");
    assert_string_equal(((struct sockaddr_un *)&h.dst)->sun_path, "/run/server.sock");

    /* LOCAL with an address block (to be skipped, not read). */
    len = v2(buf, 0x20, 0x11, body, 12);
    assert_int_equal(parse(buf, len, 0, &h, &used), MEMTLS_OK);
    assert_int_equal(used, len);
    assert_int_equal(h.local, 1);
    assert_int_equal(h.family, AF_UNSPEC);
    assert_int_equal(((struct sockaddr_in *)&h.src)->sin_family, 0);

    /* PROXY with UNSPEC family: no address either. */
    len = v2(buf, 0x21, 0x00, body, 0);
    assert_int_equal(parse(buf, len, 0, &h, &used), MEMTLS_OK);
    assert_int_equal(used, 16);
    assert_int_equal(h.local, 1);
}

/* Test: a CRC32C TLV is checked (the checksum computed with its own field
 * zeroed): the right value passes, one flipped bit anywhere in the header
 * is refused; a checksum the builder wrote verifies. */
static void test_v2_crc32c(void **state)
{
    (void)state;
    struct sockaddr_in s = {0}, d = {0};
    s.sin_family = d.sin_family = AF_INET;
    s.sin_port = htons(1234);
    d.sin_port = htons(443);
    inet_pton(AF_INET, "198.51.100.9", &s.sin_addr);
    inet_pton(AF_INET, "203.0.113.1", &d.sin_addr);
    memtls_proxy_info info = {0};
    info.src = (struct sockaddr *)&s;
    info.dst = (struct sockaddr *)&d;
    info.authority = "crc.test";
    info.crc32c = 1;
    uint8_t buf[256];
    size_t len = 0;
    assert_int_equal(memtls_proxy_build(2, &info, buf, sizeof buf, &len), MEMTLS_OK);

    memtls_proxy_header h;
    size_t used = 0;
    assert_int_equal(parse(buf, len, 0, &h, &used), MEMTLS_OK);
    assert_int_equal(h.crc32c, 1);
    assert_value(h.authority, "crc.test");
    for (size_t i = 16; i < len; i++) {
        buf[i] ^= 0x01;
        assert_refused(buf, len, 0, "");
        buf[i] ^= 0x01;
    }
    buf[20] ^= 0x80; /* the source address */
    assert_refused(buf, len, 0, "CRC32C mismatch");

    /* A header built by hand, with the checksum computed by a separate
     * implementation (CRC32C, reflected 0x82F63B78, whose check value for
     * "123456789" is 0xE3069283) over its 35 bytes, field zeroed. */
    uint8_t body[64];
    size_t n = inet_block(body);
    tlv(body, &n, MEMTLS_PP2_TYPE_CRC32C, "\0\0\0\0", 4);
    size_t hl = v2(buf, 0x21, 0x11, body, n);
    assert_int_equal(hl, 35);
    const uint8_t ref[4] = {0xfc, 0xa7, 0x90, 0xf8};
    memcpy(buf + hl - 4, ref, 4);
    int rc = parse(buf, hl, 0, &h, &used);
    assert_int_equal(rc, MEMTLS_OK);
    assert_int_equal(h.crc32c, 1);
}

/* Test: malformed version 2 headers are refused with their reason. */
static void test_v2_refused(void **state)
{
    (void)state;
    uint8_t body[300];
    uint8_t buf[400];
    size_t n = inet_block(body);
    size_t len;

    len = v2(buf, 0x11, 0x11, body, n);
    assert_refused(buf, len, 0, "version 1 in the version 2 signature");
    len = v2(buf, 0x22, 0x11, body, n);
    assert_refused(buf, len, 0, "command 2");
    len = v2(buf, 0x21, 0x41, body, n);
    assert_refused(buf, len, 0, "unknown address family");
    len = v2(buf, 0x21, 0x13, body, n);
    assert_refused(buf, len, 0, "unknown address family");
    len = v2(buf, 0x21, 0x21, body, n); /* INET6 needs 36 */
    assert_refused(buf, len, 0, "12 address bytes, the family needs 36");

    /* A TLV whose length runs past the header. */
    n = inet_block(body);
    body[n++] = MEMTLS_PP2_TYPE_AUTHORITY;
    body[n++] = 0;
    body[n++] = 9;
    memcpy(body + n, "short", 5);
    n += 5;
    len = v2(buf, 0x21, 0x11, body, n);
    assert_refused(buf, len, 0, "TLV 0x02 of 9 bytes overruns the header");
    /* Stray bytes after the last TLV. */
    n = inet_block(body);
    body[n++] = 0x04;
    body[n++] = 0;
    len = v2(buf, 0x21, 0x11, body, n);
    assert_refused(buf, len, 0, "2 stray bytes after the last TLV");
    /* The same known TLV twice. */
    n = inet_block(body);
    tlv(body, &n, MEMTLS_PP2_TYPE_AUTHORITY, "a", 1);
    tlv(body, &n, MEMTLS_PP2_TYPE_AUTHORITY, "b", 1);
    len = v2(buf, 0x21, 0x11, body, n);
    assert_refused(buf, len, 0, "TLV 0x02 appears twice");
    /* An SSL TLV too short for its fixed part, or with an overrunning
     * sub-TLV. */
    n = inet_block(body);
    tlv(body, &n, MEMTLS_PP2_TYPE_SSL, "\x01\0\0", 3);
    len = v2(buf, 0x21, 0x11, body, n);
    assert_refused(buf, len, 0, "SSL TLV of 3 bytes");
    n = inet_block(body);
    tlv(body, &n, MEMTLS_PP2_TYPE_SSL, "\x01\0\0\0\0\x21\0\x09TLS", 11);
    len = v2(buf, 0x21, 0x11, body, n);
    assert_refused(buf, len, 0, "sub-TLV 0x21 overruns the SSL TLV");
    /* A unique id over 128 bytes; a CRC32C of the wrong size. */
    uint8_t id[129];
    memset(id, 'x', sizeof id);
    n = inet_block(body);
    tlv(body, &n, MEMTLS_PP2_TYPE_UNIQUE_ID, id, sizeof id);
    len = v2(buf, 0x21, 0x11, body, n);
    assert_refused(buf, len, 0, "unique id of 129 bytes");
    n = inet_block(body);
    tlv(body, &n, MEMTLS_PP2_TYPE_CRC32C, "\0\0", 2);
    len = v2(buf, 0x21, 0x11, body, n);
    assert_refused(buf, len, 0, "CRC32C TLV of 2 bytes");
}

/* Test: the bound. A header announcing more than max_len is refused as
 * soon as its 16 fixed bytes are in, long before the rest would arrive;
 * the largest header the protocol allows waits for its bytes when no
 * bound is given. */
static void test_v2_oversized(void **state)
{
    (void)state;
    uint8_t head[16];
    memcpy(head, SIG, 12);
    head[12] = 0x21;
    head[13] = 0x11;
    head[14] = 0xFF;
    head[15] = 0xFF;
    assert_refused(head, 16, 4096, "header of 65551 bytes exceeds the limit of 4096");
    memtls_proxy_header h;
    size_t used = 0;
    assert_int_equal(parse(head, 16, 0, &h, &used), MEMTLS_WANT_READ);
    /* Exactly at the bound is fine. */
    uint8_t body[300];
    uint8_t buf[400];
    size_t n = inet_block(body);
    size_t len = v2(buf, 0x21, 0x11, body, n);
    assert_int_equal(parse(buf, len, len, &h, &used), MEMTLS_OK);
    assert_refused(buf, len, len - 1, "exceeds the limit");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1_tcp),       cmocka_unit_test(test_v1_unknown),
        cmocka_unit_test(test_v1_refused),   cmocka_unit_test(test_not_a_header),
        cmocka_unit_test(test_v2_inet_tlvs), cmocka_unit_test(test_v2_families),
        cmocka_unit_test(test_v2_crc32c),    cmocka_unit_test(test_v2_refused),
        cmocka_unit_test(test_v2_oversized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
