/*
 * test_proxy_build.c - the PROXY protocol builder (memtls/proxy.h): the
 * exact version 1 lines for IPv4, IPv6 and an unknown peer; version 2
 * headers that the parser reads back with the same addresses and TLVs
 * (what a proxy sends in front of a TLS connection: version, cipher,
 * client CN, SNI as authority, ALPN); IPv4 beside IPv6 written as
 * IPv4-mapped IPv6; the size is reported when the buffer is too small;
 * bad arguments are refused.
 */
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include <memtls/proxy.h>

static struct sockaddr_in in4(const char *ip, unsigned port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    assert_int_equal(inet_pton(AF_INET, ip, &a.sin_addr), 1);
    return a;
}

static struct sockaddr_in6 in6(const char *ip, unsigned port)
{
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons((uint16_t)port);
    assert_int_equal(inet_pton(AF_INET6, ip, &a.sin6_addr), 1);
    return a;
}

static void assert_line(const memtls_proxy_info *info, const char *want)
{
    uint8_t buf[128];
    size_t len = 0;
    assert_int_equal(memtls_proxy_build(1, info, buf, sizeof buf, &len), MEMTLS_OK);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(buf, want, len);
    /* The parser takes it back whole. */
    memtls_proxy_header h;
    size_t used = 0;
    assert_int_equal(memtls_proxy_parse(buf, len, 0, &h, &used), MEMTLS_OK);
    assert_int_equal(used, len);
}

/* Test: version 1 lines, byte for byte. */
static void test_v1_lines(void **state)
{
    (void)state;
    struct sockaddr_in s = in4("192.0.2.10", 51000);
    struct sockaddr_in d = in4("198.51.100.1", 443);
    memtls_proxy_info info = {0};
    info.src = (struct sockaddr *)&s;
    info.dst = (struct sockaddr *)&d;
    assert_line(&info, "PROXY TCP4 192.0.2.10 198.51.100.1 51000 443\r\n");

    struct sockaddr_in6 s6 = in6("2001:db8::1", 1);
    struct sockaddr_in6 d6 = in6("2001:db8::2", 65535);
    info.src = (struct sockaddr *)&s6;
    info.dst = (struct sockaddr *)&d6;
    assert_line(&info, "PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n");

    /* Mixed families: IPv4 written as IPv4-mapped IPv6. */
    info.src = (struct sockaddr *)&s;
    assert_line(&info, "PROXY TCP6 ::ffff:192.0.2.10 2001:db8::2 51000 65535\r\n");

    info.src = NULL;
    assert_line(&info, "PROXY UNKNOWN\r\n");
}

/* Test: a version 2 header with the TLS TLVs, read back by the parser:
 * addresses, ALPN, authority, the SSL block with its client bits, verify
 * result, version, CN and cipher, and a checksum that verifies. */
static void test_v2_round_trip(void **state)
{
    (void)state;
    struct sockaddr_in6 s = in6("2001:db8::77", 40000);
    struct sockaddr_in6 d = in6("2001:db8::1", 8443);
    memtls_proxy_info info = {0};
    info.src = (struct sockaddr *)&s;
    info.dst = (struct sockaddr *)&d;
    info.alpn = "http/1.1";
    info.authority = "www.example.test";
    info.ssl = 1;
    info.ssl_client =
        MEMTLS_PP2_CLIENT_SSL | MEMTLS_PP2_CLIENT_CERT_CONN | MEMTLS_PP2_CLIENT_CERT_SESS;
    info.ssl_verify = 0;
    info.ssl_version = "TLSv1.3";
    info.ssl_cipher = "TLS_CHACHA20_POLY1305_SHA256";
    info.ssl_cn = "client.test";
    info.crc32c = 1;

    uint8_t buf[512];
    size_t len = 0;
    assert_int_equal(memtls_proxy_build(2, &info, buf, sizeof buf, &len), MEMTLS_OK);
    /* 16 + 36 addresses + ALPN 3+8 + authority 3+16 + SSL 3+5+(3+7)+(3+11)+(3+28)
     * + CRC 3+4. */
    assert_int_equal(len, 16 + 36 + 11 + 19 + 3 + 5 + 10 + 14 + 31 + 7);
    assert_int_equal(buf[12], 0x21);
    assert_int_equal(buf[13], 0x21);

    memtls_proxy_header h;
    size_t used = 0;
    assert_int_equal(memtls_proxy_parse(buf, len, 0, &h, &used), MEMTLS_OK);
    assert_int_equal(used, len);
    assert_int_equal(h.family, AF_INET6);
    assert_memory_equal(&((struct sockaddr_in6 *)&h.src)->sin6_addr, &s.sin6_addr, 16);
    assert_int_equal(((struct sockaddr_in6 *)&h.src)->sin6_port, s.sin6_port);
    assert_memory_equal(&((struct sockaddr_in6 *)&h.dst)->sin6_addr, &d.sin6_addr, 16);
    assert_int_equal(((struct sockaddr_in6 *)&h.dst)->sin6_port, d.sin6_port);
    assert_int_equal(h.alpn.len, 8);
    assert_memory_equal(h.alpn.data, "http/1.1", 8);
    assert_int_equal(h.authority.len, 16);
    assert_memory_equal(h.authority.data, "www.example.test", 16);
    assert_int_equal(h.ssl, 1);
    assert_int_equal(h.ssl_client, info.ssl_client);
    assert_int_equal(h.ssl_verify, 0);
    assert_memory_equal(h.ssl_version.data, "TLSv1.3", 7);
    assert_memory_equal(h.ssl_cn.data, "client.test", 11);
    assert_memory_equal(h.ssl_cipher.data, "TLS_CHACHA20_POLY1305_SHA256", 28);
    assert_int_equal(h.crc32c, 1);

    /* A verify failure is carried as it was given. */
    info.ssl_verify = 20;
    info.ssl_cn = NULL;
    info.crc32c = 0;
    assert_int_equal(memtls_proxy_build(2, &info, buf, sizeof buf, &len), MEMTLS_OK);
    assert_int_equal(memtls_proxy_parse(buf, len, 0, &h, &used), MEMTLS_OK);
    assert_int_equal(h.ssl_verify, 20);
    assert_null(h.ssl_cn.data);
    assert_int_equal(h.crc32c, 0);
}

/* Test: IPv4 addresses give a 12-byte INET block; an IPv4 source beside
 * an IPv6 destination is IPv4-mapped; no address gives a LOCAL header. */
static void test_v2_families(void **state)
{
    (void)state;
    struct sockaddr_in s = in4("203.0.113.5", 1234);
    struct sockaddr_in d = in4("203.0.113.6", 443);
    struct sockaddr_in6 d6 = in6("2001:db8::9", 443);
    memtls_proxy_info info = {0};
    uint8_t buf[128];
    size_t len = 0;
    memtls_proxy_header h;
    size_t used = 0;

    info.src = (struct sockaddr *)&s;
    info.dst = (struct sockaddr *)&d;
    assert_int_equal(memtls_proxy_build(2, &info, buf, sizeof buf, &len), MEMTLS_OK);
    assert_int_equal(len, 16 + 12);
    assert_int_equal(buf[13], 0x11);
    assert_int_equal(memtls_proxy_parse(buf, len, 0, &h, &used), MEMTLS_OK);
    assert_int_equal(h.family, AF_INET);
    assert_int_equal(((struct sockaddr_in *)&h.src)->sin_addr.s_addr, s.sin_addr.s_addr);
    assert_int_equal(((struct sockaddr_in *)&h.dst)->sin_port, htons(443));

    info.dst = (struct sockaddr *)&d6;
    assert_int_equal(memtls_proxy_build(2, &info, buf, sizeof buf, &len), MEMTLS_OK);
    assert_int_equal(memtls_proxy_parse(buf, len, 0, &h, &used), MEMTLS_OK);
    assert_int_equal(h.family, AF_INET6);
    char text[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&h.src)->sin6_addr, text, sizeof text);
    assert_string_equal(text, "::ffff:203.0.113.5");

    info.src = NULL;
    info.authority = "health";
    assert_int_equal(memtls_proxy_build(2, &info, buf, sizeof buf, &len), MEMTLS_OK);
    assert_int_equal(buf[12], 0x20);
    assert_int_equal(memtls_proxy_parse(buf, len, 0, &h, &used), MEMTLS_OK);
    assert_int_equal(h.local, 1);
}

/* Test: a buffer too small gets nothing written and learns the size;
 * NULL buffers size the header; bad arguments are refused. */
static void test_sizes_and_arguments(void **state)
{
    (void)state;
    struct sockaddr_in s = in4("192.0.2.1", 1);
    struct sockaddr_in d = in4("192.0.2.2", 2);
    memtls_proxy_info info = {0};
    info.src = (struct sockaddr *)&s;
    info.dst = (struct sockaddr *)&d;
    info.authority = "size.test";
    uint8_t buf[64];
    size_t len = 0;

    assert_int_equal(memtls_proxy_build(2, &info, NULL, 0, &len), MEMTLS_ERR_TOO_SMALL);
    assert_int_equal(len, 16 + 12 + 3 + 9);
    memset(buf, 0xAA, sizeof buf);
    assert_int_equal(memtls_proxy_build(2, &info, buf, len - 1, &len), MEMTLS_ERR_TOO_SMALL);
    assert_int_equal(buf[0], 0xAA);
    assert_int_equal(memtls_proxy_build(2, &info, buf, len, &len), MEMTLS_OK);
    assert_int_equal(memtls_proxy_build(1, &info, buf, 10, &len), MEMTLS_ERR_TOO_SMALL);
    assert_int_equal(len, strlen("PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n"));

    assert_int_equal(memtls_proxy_build(3, &info, buf, sizeof buf, &len), MEMTLS_ERR_INVALID);
    assert_int_equal(len, 0);
    assert_int_equal(memtls_proxy_build(2, NULL, buf, sizeof buf, &len), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_proxy_build(2, &info, buf, sizeof buf, NULL), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_proxy_build(2, &info, NULL, 5, &len), MEMTLS_ERR_INVALID);
    struct sockaddr bad;
    memset(&bad, 0, sizeof bad);
    bad.sa_family = AF_UNIX;
    info.src = &bad;
    assert_int_equal(memtls_proxy_build(1, &info, buf, sizeof buf, &len), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_proxy_build(2, &info, buf, sizeof buf, &len), MEMTLS_ERR_INVALID);
    /* A TLV longer than 65535 bytes cannot be written. */
    char *huge = malloc(70000);
    assert_non_null(huge);
    memset(huge, 'a', 69999);
    huge[69999] = '\0';
    info.src = (struct sockaddr *)&s;
    info.authority = huge;
    assert_int_equal(memtls_proxy_build(2, &info, NULL, 0, &len), MEMTLS_ERR_INVALID);
    free(huge);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1_lines),
        cmocka_unit_test(test_v2_round_trip),
        cmocka_unit_test(test_v2_families),
        cmocka_unit_test(test_sizes_and_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
