/*
 * fuzz_proxy_header.c - the PROXY protocol parser (memtls_proxy_parse)
 * on arbitrary bytes, and the builder on what it parsed.
 *
 * Input: [bound] then the bytes a client sent first.
 *   bound selects max_len: 0 (the protocol's own), 16, 107, 4096 or 300,
 *   by bound % 5.
 *
 * Checked: the answer is MEMTLS_OK, MEMTLS_WANT_READ or MEMTLS_ERR_PROXY;
 * a refusal has a reason and consumes nothing, a whole header none; a
 * header is 15..107 bytes (v1) or 16 + its length within the bound (v2),
 * every TLV value lies inside it and the TLV walk ends inside it; every
 * shorter prefix of a whole header asks for more bytes (a header cannot be
 * taken early, and the answer does not depend on how the bytes were cut);
 * a valid beginning that asks for more is below the bound; and a header
 * with IPv4 or IPv6 addresses, rebuilt by memtls_proxy_build (v1 and v2
 * with its TLVs), parses back to the same addresses and TLVs.
 */
#include <netinet/in.h>
#include <string.h>

#include <memtls/proxy.h>

#include "fuzz_support.h"

static void check_value(const memtls_proxy_value *v, const uint8_t *p, size_t used,
                        const char *what)
{
    if (v->data == NULL) {
        FZ_CHECK(v->len == 0, "%s: no data but length %zu", what, v->len);
        return;
    }
    FZ_CHECK(v->data >= p && v->data + v->len <= p + used, "%s outside the header", what);
}

static int same_value(const memtls_proxy_value *a, const memtls_proxy_value *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* A value as a string for the builder, or NULL when it cannot be one
 * (empty, or a NUL inside). */
static const char *as_string(const memtls_proxy_value *v, char *buf, size_t len)
{
    if (v->data == NULL || v->len == 0 || v->len >= len || memchr(v->data, '\0', v->len) != NULL) {
        return NULL;
    }
    memcpy(buf, v->data, v->len);
    buf[v->len] = '\0';
    return buf;
}

static void same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b,
                      const char *what)
{
    FZ_CHECK(a->ss_family == b->ss_family, "%s: family %d became %d", what, a->ss_family,
             b->ss_family);
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a;
        const struct sockaddr_in *y = (const struct sockaddr_in *)b;
        FZ_CHECK(x->sin_port == y->sin_port &&
                     memcmp(&x->sin_addr, &y->sin_addr, sizeof x->sin_addr) == 0,
                 "%s: IPv4 address changed", what);
    } else {
        const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
        const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
        FZ_CHECK(x->sin6_port == y->sin6_port &&
                     memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0,
                 "%s: IPv6 address changed", what);
    }
}

/* Rebuild h as version `version` and parse it back. */
static void round_trip(const memtls_proxy_header *h, unsigned version)
{
    char alpn[300], authority[300], sv[300], cipher[300], cn[300];
    memtls_proxy_info info;
    memset(&info, 0, sizeof info);
    info.src = (const struct sockaddr *)&h->src;
    info.dst = (const struct sockaddr *)&h->dst;
    if (version == 2) {
        info.alpn = as_string(&h->alpn, alpn, sizeof alpn);
        info.authority = as_string(&h->authority, authority, sizeof authority);
        info.ssl = h->ssl;
        info.ssl_client = h->ssl_client;
        info.ssl_verify = h->ssl_verify;
        info.ssl_version = as_string(&h->ssl_version, sv, sizeof sv);
        info.ssl_cipher = as_string(&h->ssl_cipher, cipher, sizeof cipher);
        info.ssl_cn = as_string(&h->ssl_cn, cn, sizeof cn);
        info.crc32c = 1;
    }
    static uint8_t buf[MEMTLS_PROXY_V2_MAX];
    size_t len = 0;
    int rc = memtls_proxy_build(version, &info, buf, sizeof buf, &len);
    FZ_CHECK(rc == MEMTLS_OK, "rebuilding a parsed header (v%u): status %d", version, rc);
    memtls_proxy_header back;
    size_t used = 0;
    rc = memtls_proxy_parse(buf, len, 0, &back, &used);
    FZ_CHECK(rc == MEMTLS_OK && used == len, "the rebuilt v%u header does not parse: %d (%s)",
             version, rc, back.error);
    FZ_CHECK(back.version == version && !back.local, "rebuilt v%u: version %u local %d", version,
             back.version, back.local);
    /* IPv4 stays IPv4 (both addresses come from one header's family). */
    same_addr(&h->src, &back.src, "source");
    same_addr(&h->dst, &back.dst, "destination");
    if (version == 2) {
        FZ_CHECK(back.crc32c == 1, "the rebuilt checksum does not verify");
        FZ_CHECK(info.alpn == NULL || same_value(&h->alpn, &back.alpn), "ALPN changed");
        FZ_CHECK(info.authority == NULL || same_value(&h->authority, &back.authority),
                 "authority changed");
        FZ_CHECK(back.ssl == h->ssl, "SSL TLV lost or added");
        if (h->ssl) {
            FZ_CHECK(back.ssl_client == h->ssl_client && back.ssl_verify == h->ssl_verify,
                     "SSL client bits or verify changed");
            FZ_CHECK(info.ssl_version == NULL || same_value(&h->ssl_version, &back.ssl_version),
                     "SSL version changed");
            FZ_CHECK(info.ssl_cn == NULL || same_value(&h->ssl_cn, &back.ssl_cn), "CN changed");
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t bounds[5] = {0, 16, 107, 4096, 300};
    if (size == 0) {
        return 0;
    }
    size_t max = bounds[data[0] % 5];
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    memtls_proxy_header h;
    size_t used = 12345;
    int rc = memtls_proxy_parse(n > 0 ? p : NULL, n, max, &h, &used);
    FZ_CHECK(rc == MEMTLS_OK || rc == MEMTLS_WANT_READ || rc == MEMTLS_ERR_PROXY, "status %d", rc);
    size_t limit = max == 0 ? MEMTLS_PROXY_V2_MAX : max;
    if (rc == MEMTLS_ERR_PROXY) {
        FZ_CHECK(h.error[0] != '\0', "refused without a reason");
        FZ_CHECK(used == 0, "a refusal consumed %zu bytes", used);
        return 0;
    }
    if (rc == MEMTLS_WANT_READ) {
        FZ_CHECK(used == 0, "an incomplete header consumed %zu bytes", used);
        FZ_CHECK(n < limit || n < MEMTLS_PROXY_V1_MAX, "%zu bytes still incomplete (bound %zu)", n,
                 limit);
        return 0;
    }
    FZ_CHECK(h.error[0] == '\0', "accepted with a reason: %s", h.error);
    FZ_CHECK(used >= 15 && used <= n, "header of %zu bytes in %zu", used, n);
    FZ_CHECK(h.version == 1 || h.version == 2, "version %u", h.version);
    if (h.version == 1) {
        FZ_CHECK(used <= MEMTLS_PROXY_V1_MAX && used <= (max ? max : MEMTLS_PROXY_V1_MAX),
                 "v1 line of %zu bytes", used);
        FZ_CHECK(p[used - 2] == '\r' && p[used - 1] == '\n', "v1 line without CRLF");
    } else {
        FZ_CHECK(used == 16u + ((size_t)p[14] << 8 | p[15]) && used <= limit,
                 "v2 header of %zu bytes", used);
    }
    FZ_CHECK(h.local ? h.family == AF_UNSPEC
                     : h.family == AF_INET || h.family == AF_INET6 || h.family == AF_UNIX,
             "family %d (local %d)", h.family, h.local);
    check_value(&h.tlvs, p, used, "TLV region");
    check_value(&h.alpn, p, used, "ALPN");
    check_value(&h.authority, p, used, "authority");
    check_value(&h.unique_id, p, used, "unique id");
    check_value(&h.netns, p, used, "netns");
    check_value(&h.ssl_version, p, used, "SSL version");
    check_value(&h.ssl_cn, p, used, "SSL CN");
    check_value(&h.ssl_cipher, p, used, "SSL cipher");
    check_value(&h.ssl_sig_alg, p, used, "SSL signature algorithm");
    check_value(&h.ssl_key_alg, p, used, "SSL key algorithm");
    FZ_CHECK(h.unique_id.len <= 128, "unique id of %zu bytes", h.unique_id.len);
    size_t off = 0;
    size_t count = 0;
    uint8_t type;
    memtls_proxy_value v;
    while (memtls_proxy_tlv_next(&h, &off, &type, &v)) {
        check_value(&v, p, used, "TLV");
        FZ_CHECK(++count <= used, "the TLV walk does not end");
    }
    FZ_CHECK(off == h.tlvs.len, "the TLV walk stopped at %zu of %zu", off, h.tlvs.len);

    /* No shorter cut of the bytes is taken as a header. */
    const size_t cuts[4] = {0, used / 2, used - 1, data[0] % used};
    for (int i = 0; i < 4; i++) {
        memtls_proxy_header part;
        size_t u = 0;
        int r = memtls_proxy_parse(cuts[i] > 0 ? p : NULL, cuts[i], max, &part, &u);
        FZ_CHECK(r == MEMTLS_WANT_READ, "a prefix of %zu of a %zu-byte header: status %d (%s)",
                 cuts[i], used, r, part.error);
    }
    if (!h.local && (h.family == AF_INET || h.family == AF_INET6)) {
        round_trip(&h, 1);
        round_trip(&h, 2);
    }
    return 0;
}
