/*
 * proxy_header.c - the PROXY protocol header, versions 1 and 2: parser and
 * builder, without I/O. See include/memtls/proxy.h.
 *
 * IMPLEMENTATION NOTES
 *
 * The parser is a pure function of the bytes received so far: it either
 * finds a whole header, or says that what it saw is a valid beginning
 * (MEMTLS_WANT_READ), or refuses. So a caller that receives the header in
 * pieces simply calls it again on the grown buffer; nothing is kept
 * between calls. Every prefix is checked as far as it goes (the version 2
 * signature byte by byte, the version 1 line character by character up to
 * the CRLF), so garbage is refused as early as possible and a header
 * that can only grow past its bound is refused before the bytes arrive.
 *
 * Version 1 addresses go through inet_pton, which refuses leading zeros
 * in IPv4 numbers as the specification asks; ports are checked here
 * (decimal, no leading zeros, at most 65535).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include <memtls/proxy.h>

static const uint8_t V2_SIG[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                   0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
static const char V1_SIG[] = "PROXY ";
#define V1_SIG_LEN 6u
#define V2_HDR 16u
#define V2_LEN_INET 12u
#define V2_LEN_INET6 36u
#define V2_LEN_UNIX 216u
#define UNIX_PATH 108u
#define UNIQUE_ID_MAX 128u

__attribute__((format(printf, 2, 3))) static int refuse(memtls_proxy_header *h, const char *fmt,
                                                        ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->error, sizeof h->error, fmt, ap);
    va_end(ap);
    return MEMTLS_ERR_PROXY;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* CRC32C (Castagnoli, reflected polynomial 0x82F63B78), RFC 4960
 * appendix B; `skip` is the offset of 4 bytes counted as zero (the
 * checksum field itself), or SIZE_MAX. */
static uint32_t crc32c(const uint8_t *p, size_t n, size_t skip)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = i >= skip && i < skip + 4 ? 0 : p[i];
        crc ^= b;
        for (int k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

/* --- version 1 ---------------------------------------------------------------- */

/* A port: 1..5 decimal digits, no leading zero, at most 65535. */
static int v1_port(const char *s, size_t n, uint16_t *out)
{
    unsigned long v = 0;
    if (n == 0 || n > 5 || (n > 1 && s[0] == '0')) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v > 65535) {
        return -1;
    }
    *out = (uint16_t)v;
    return 0;
}

/* The next space-separated word of line[*pos..end): exactly one space
 * before it unless it is the first. */
static int v1_word(const char *line, size_t end, size_t *pos, const char **w, size_t *wn)
{
    size_t i = *pos;
    size_t start = i;
    while (i < end && line[i] != ' ') {
        i++;
    }
    if (i == start) {
        return -1; /* empty word: two spaces, or a space at the end */
    }
    *w = line + start;
    *wn = i - start;
    *pos = i < end ? i + 1 : i;
    return 0;
}

static int v1_addr(int family, const char *w, size_t n, struct sockaddr_storage *ss, uint16_t port)
{
    char text[48];
    if (n >= sizeof text) {
        return -1;
    }
    memcpy(text, w, n);
    text[n] = '\0';
    memset(ss, 0, sizeof *ss);
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        return inet_pton(AF_INET, text, &a->sin_addr) == 1 ? 0 : -1;
    }
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    return inet_pton(AF_INET6, text, &a->sin6_addr) == 1 ? 0 : -1;
}

/* The line (without CRLF) after "PROXY ". */
static int v1_fields(const char *line, size_t end, memtls_proxy_header *h)
{
    size_t pos = V1_SIG_LEN;
    const char *w[5];
    size_t wn[5];
    int family;

    if (v1_word(line, end, &pos, &w[0], &wn[0]) != 0) {
        return refuse(h, "v1: no protocol after 'PROXY '");
    }
    if (wn[0] == 7 && memcmp(w[0], "UNKNOWN", 7) == 0) {
        /* The rest of the line is to be ignored. */
        h->local = 1;
        h->family = AF_UNSPEC;
        return 0;
    }
    if (wn[0] == 4 && memcmp(w[0], "TCP4", 4) == 0) {
        family = AF_INET;
    } else if (wn[0] == 4 && memcmp(w[0], "TCP6", 4) == 0) {
        family = AF_INET6;
    } else {
        return refuse(h, "v1: protocol must be TCP4, TCP6 or UNKNOWN");
    }
    for (int i = 1; i < 5; i++) {
        if (pos >= end || v1_word(line, end, &pos, &w[i], &wn[i]) != 0) {
            return refuse(h, "v1: expected 'SRC DST SPORT DPORT' separated by single spaces");
        }
    }
    if (pos != end || line[end - 1] == ' ') {
        return refuse(h, "v1: unexpected text after the destination port");
    }
    uint16_t sport = 0;
    uint16_t dport = 0;
    if (v1_port(w[3], wn[3], &sport) != 0 || v1_port(w[4], wn[4], &dport) != 0) {
        return refuse(h, "v1: ports must be decimal 0..65535 without leading zeros");
    }
    if (v1_addr(family, w[1], wn[1], &h->src, sport) != 0 ||
        v1_addr(family, w[2], wn[2], &h->dst, dport) != 0) {
        return refuse(h, "v1: invalid %s address", family == AF_INET ? "IPv4" : "IPv6");
    }
    h->family = family;
    h->transport = SOCK_STREAM;
    return 0;
}

static int parse_v1(const uint8_t *p, size_t len, size_t max, memtls_proxy_header *h, size_t *used)
{
    size_t limit = max < MEMTLS_PROXY_V1_MAX ? max : MEMTLS_PROXY_V1_MAX;
    size_t n = len < limit ? len : limit;
    for (size_t i = V1_SIG_LEN; i < n; i++) {
        if (p[i] == '\r') {
            if (i + 1 == n) {
                break; /* the LF may come next */
            }
            if (p[i + 1] != '\n') {
                return refuse(h, "v1: CR not followed by LF");
            }
            h->version = 1;
            int rc = v1_fields((const char *)p, i, h);
            if (rc != 0) {
                return rc;
            }
            *used = i + 2;
            return MEMTLS_OK;
        }
        if (p[i] == '\n') {
            return refuse(h, "v1: line ends with LF without CR");
        }
        if (p[i] < 0x20 || p[i] > 0x7E) {
            return refuse(h, "v1: byte 0x%02x in the line", p[i]);
        }
    }
    if (len >= limit) {
        return refuse(h, "v1: no CRLF in the first %zu bytes", limit);
    }
    return MEMTLS_WANT_READ;
}

/* --- version 2 ---------------------------------------------------------------- */

/* Store a known TLV, refusing a second one of the same type. */
static int take(memtls_proxy_header *h, memtls_proxy_value *slot, unsigned type, const uint8_t *v,
                size_t n)
{
    if (slot->data != NULL) {
        return refuse(h, "v2: TLV 0x%02x appears twice", type);
    }
    slot->data = v;
    slot->len = n;
    return 0;
}

static int parse_ssl(memtls_proxy_header *h, const uint8_t *v, size_t n)
{
    if (h->ssl) {
        return refuse(h, "v2: TLV 0x20 (SSL) appears twice");
    }
    if (n < 5) {
        return refuse(h, "v2: SSL TLV of %zu bytes, at least 5 expected", n);
    }
    h->ssl = 1;
    h->ssl_client = v[0];
    h->ssl_verify = get32(v + 1);
    for (size_t off = 5; off < n;) {
        if (n - off < 3) {
            return refuse(h, "v2: truncated sub-TLV in the SSL TLV");
        }
        unsigned type = v[off];
        size_t vlen = get16(v + off + 1);
        const uint8_t *val = v + off + 3;
        if (vlen > n - off - 3) {
            return refuse(h, "v2: sub-TLV 0x%02x overruns the SSL TLV", type);
        }
        int rc = 0;
        switch (type) {
        case MEMTLS_PP2_SUBTYPE_SSL_VERSION:
            rc = take(h, &h->ssl_version, type, val, vlen);
            break;
        case MEMTLS_PP2_SUBTYPE_SSL_CN:
            rc = take(h, &h->ssl_cn, type, val, vlen);
            break;
        case MEMTLS_PP2_SUBTYPE_SSL_CIPHER:
            rc = take(h, &h->ssl_cipher, type, val, vlen);
            break;
        case MEMTLS_PP2_SUBTYPE_SSL_SIG_ALG:
            rc = take(h, &h->ssl_sig_alg, type, val, vlen);
            break;
        case MEMTLS_PP2_SUBTYPE_SSL_KEY_ALG:
            rc = take(h, &h->ssl_key_alg, type, val, vlen);
            break;
        default:
            break; /* unknown sub-types are skipped */
        }
        if (rc != 0) {
            return rc;
        }
        off += 3 + vlen;
    }
    return 0;
}

/* The TLVs of a whole header `p` (total bytes), starting at `off`. */
static int parse_tlvs(memtls_proxy_header *h, const uint8_t *p, size_t total, size_t off)
{
    size_t crc_at = SIZE_MAX;
    h->tlvs.data = p + off;
    h->tlvs.len = total - off;
    while (off < total) {
        if (total - off < 3) {
            return refuse(h, "v2: %zu stray bytes after the last TLV", total - off);
        }
        unsigned type = p[off];
        size_t vlen = get16(p + off + 1);
        const uint8_t *val = p + off + 3;
        if (vlen > total - off - 3) {
            return refuse(h, "v2: TLV 0x%02x of %zu bytes overruns the header", type, vlen);
        }
        int rc = 0;
        switch (type) {
        case MEMTLS_PP2_TYPE_ALPN:
            rc = take(h, &h->alpn, type, val, vlen);
            break;
        case MEMTLS_PP2_TYPE_AUTHORITY:
            rc = take(h, &h->authority, type, val, vlen);
            break;
        case MEMTLS_PP2_TYPE_UNIQUE_ID:
            if (vlen > UNIQUE_ID_MAX) {
                return refuse(h, "v2: unique id of %zu bytes, at most %u", vlen, UNIQUE_ID_MAX);
            }
            rc = take(h, &h->unique_id, type, val, vlen);
            break;
        case MEMTLS_PP2_TYPE_NETNS:
            rc = take(h, &h->netns, type, val, vlen);
            break;
        case MEMTLS_PP2_TYPE_CRC32C:
            if (vlen != 4) {
                return refuse(h, "v2: CRC32C TLV of %zu bytes, 4 expected", vlen);
            }
            if (crc_at != SIZE_MAX) {
                return refuse(h, "v2: TLV 0x03 appears twice");
            }
            crc_at = off + 3;
            break;
        case MEMTLS_PP2_TYPE_SSL:
            rc = parse_ssl(h, val, vlen);
            break;
        default:
            break; /* NOOP, custom and unknown types are skipped */
        }
        if (rc != 0) {
            return rc;
        }
        off += 3 + vlen;
    }
    if (crc_at != SIZE_MAX) {
        if (crc32c(p, total, crc_at) != get32(p + crc_at)) {
            return refuse(h, "v2: CRC32C mismatch");
        }
        h->crc32c = 1;
    }
    return 0;
}

static void put_inet(struct sockaddr_storage *ss, const uint8_t *addr, const uint8_t *port)
{
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    memset(ss, 0, sizeof *ss);
    a->sin_family = AF_INET;
    memcpy(&a->sin_addr, addr, 4);
    memcpy(&a->sin_port, port, 2);
}

static void put_inet6(struct sockaddr_storage *ss, const uint8_t *addr, const uint8_t *port)
{
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof *ss);
    a->sin6_family = AF_INET6;
    memcpy(&a->sin6_addr, addr, 16);
    memcpy(&a->sin6_port, port, 2);
}

static void put_unix(struct sockaddr_storage *ss, const uint8_t *path)
{
    struct sockaddr_un *a = (struct sockaddr_un *)ss;
    memset(ss, 0, sizeof *ss);
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path, path, sizeof a->sun_path < UNIX_PATH ? sizeof a->sun_path : UNIX_PATH);
}

static int parse_v2(const uint8_t *p, size_t len, size_t max, memtls_proxy_header *h, size_t *used)
{
    if (len < V2_HDR) {
        return MEMTLS_WANT_READ;
    }
    unsigned version = p[12] >> 4;
    unsigned command = p[12] & 0x0F;
    unsigned fam = p[13] >> 4;
    unsigned proto = p[13] & 0x0F;
    size_t total = V2_HDR + get16(p + 14);
    if (version != 2) {
        return refuse(h, "v2: version %u in the version 2 signature", version);
    }
    if (command > 1) {
        return refuse(h, "v2: command %u is neither LOCAL (0) nor PROXY (1)", command);
    }
    if (fam > 3 || proto > 2) {
        return refuse(h, "v2: unknown address family or transport byte 0x%02x", p[13]);
    }
    if (total > max) {
        return refuse(h, "v2: header of %zu bytes exceeds the limit of %zu", total, max);
    }
    if (len < total) {
        return MEMTLS_WANT_READ;
    }
    h->version = 2;
    *used = total;
    if (command == 0) {
        /* LOCAL: the block is to be skipped whatever it holds. */
        h->local = 1;
        h->family = AF_UNSPEC;
        return MEMTLS_OK;
    }
    static const size_t need[4] = {0, V2_LEN_INET, V2_LEN_INET6, V2_LEN_UNIX};
    if (total - V2_HDR < need[fam]) {
        return refuse(h, "v2: %zu address bytes, the family needs %zu", total - V2_HDR, need[fam]);
    }
    const uint8_t *a = p + V2_HDR;
    switch (fam) {
    case 1:
        put_inet(&h->src, a, a + 8);
        put_inet(&h->dst, a + 4, a + 10);
        h->family = AF_INET;
        break;
    case 2:
        put_inet6(&h->src, a, a + 32);
        put_inet6(&h->dst, a + 16, a + 34);
        h->family = AF_INET6;
        break;
    case 3:
        put_unix(&h->src, a);
        put_unix(&h->dst, a + UNIX_PATH);
        h->family = AF_UNIX;
        break;
    default:
        h->local = 1; /* UNSPEC: use the connection's own addresses */
        h->family = AF_UNSPEC;
        break;
    }
    h->transport = proto == 1 ? SOCK_STREAM : proto == 2 ? SOCK_DGRAM : 0;
    int rc = parse_tlvs(h, p, total, V2_HDR + need[fam]);
    if (rc != 0) {
        *used = 0;
        return rc;
    }
    return MEMTLS_OK;
}

int memtls_proxy_parse(const void *data, size_t len, size_t max_len, memtls_proxy_header *out,
                       size_t *used)
{
    if (used != NULL) {
        *used = 0;
    }
    if (out == NULL || used == NULL || (data == NULL && len > 0)) {
        return MEMTLS_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    if (len == 0) {
        return MEMTLS_WANT_READ;
    }
    const uint8_t *p = data;
    size_t max = max_len == 0 || max_len > MEMTLS_PROXY_V2_MAX ? MEMTLS_PROXY_V2_MAX : max_len;
    /* Which signature do the bytes so far begin? */
    size_t n1 = len < V1_SIG_LEN ? len : V1_SIG_LEN;
    size_t n2 = len < sizeof V2_SIG ? len : sizeof V2_SIG;
    int v1 = memcmp(p, V1_SIG, n1) == 0;
    int v2 = memcmp(p, V2_SIG, n2) == 0;
    if (!v1 && !v2) {
        return refuse(out, "not a PROXY protocol header (first bytes %02x %02x)", p[0],
                      len > 1 ? p[1] : 0);
    }
    int rc;
    if (v1) {
        rc = len < V1_SIG_LEN ? MEMTLS_WANT_READ : parse_v1(p, len, max, out, used);
    } else {
        rc = len < sizeof V2_SIG ? MEMTLS_WANT_READ : parse_v2(p, len, max, out, used);
    }
    if (rc != MEMTLS_OK) {
        /* Nothing of a refused or unfinished header is reported. */
        char why[sizeof out->error];
        memcpy(why, out->error, sizeof why);
        memset(out, 0, sizeof *out);
        memcpy(out->error, why, sizeof why);
        *used = 0;
    }
    return rc;
}

int memtls_proxy_tlv_next(const memtls_proxy_header *h, size_t *offset, uint8_t *type,
                          memtls_proxy_value *value)
{
    if (h == NULL || offset == NULL || type == NULL || value == NULL || h->tlvs.data == NULL) {
        return 0;
    }
    size_t off = *offset;
    /* The region was validated by the parser; check anyway, so a header
     * the caller filled in cannot make this read out of bounds. */
    if (off >= h->tlvs.len || h->tlvs.len - off < 3) {
        return 0;
    }
    size_t vlen = get16(h->tlvs.data + off + 1);
    if (vlen > h->tlvs.len - off - 3) {
        return 0;
    }
    *type = h->tlvs.data[off];
    value->data = h->tlvs.data + off + 3;
    value->len = vlen;
    *offset = off + 3 + vlen;
    return 1;
}

/* --- building ----------------------------------------------------------------- */

/* An address as 16 bytes of IPv6 (IPv4 mapped) or 4 of IPv4, and its port
 * in network order. Returns the family, or 0. */
static int addr_bytes(const struct sockaddr *sa, int want6, uint8_t out[16], uint8_t port[2])
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        memcpy(port, &a->sin_port, 2);
        if (!want6) {
            memcpy(out, &a->sin_addr, 4);
            return AF_INET;
        }
        memset(out, 0, 10);
        out[10] = out[11] = 0xFF;
        memcpy(out + 12, &a->sin_addr, 4);
        return AF_INET6;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        memcpy(port, &a->sin6_port, 2);
        memcpy(out, &a->sin6_addr, 16);
        return AF_INET6;
    }
    return 0;
}

static int build_v1(const memtls_proxy_info *info, uint8_t *buf, size_t len, size_t *outlen)
{
    char line[MEMTLS_PROXY_V1_MAX + 1];
    int n;
    if (info->src == NULL || info->dst == NULL) {
        n = snprintf(line, sizeof line, "PROXY UNKNOWN\r\n");
    } else {
        int six = info->src->sa_family == AF_INET6 || info->dst->sa_family == AF_INET6;
        uint8_t s[16], d[16], sp[2], dp[2];
        char st[INET6_ADDRSTRLEN], dt[INET6_ADDRSTRLEN];
        int fs = addr_bytes(info->src, six, s, sp);
        int fd = addr_bytes(info->dst, six, d, dp);
        if (fs == 0 || fd == 0 || inet_ntop(fs, s, st, sizeof st) == NULL ||
            inet_ntop(fd, d, dt, sizeof dt) == NULL) {
            return MEMTLS_ERR_INVALID;
        }
        n = snprintf(line, sizeof line, "PROXY %s %s %s %u %u\r\n", six ? "TCP6" : "TCP4", st, dt,
                     (unsigned)get16(sp), (unsigned)get16(dp));
    }
    if (n < 0 || (size_t)n >= sizeof line) {
        return MEMTLS_ERR_INVALID;
    }
    *outlen = (size_t)n;
    if (len < (size_t)n) {
        return MEMTLS_ERR_TOO_SMALL;
    }
    memcpy(buf, line, (size_t)n);
    return MEMTLS_OK;
}

/* A writer that only counts when it has no room: the header is sized
 * first, then written when it fits. */
typedef struct wr {
    uint8_t *buf;
    size_t cap;
    size_t len;
} wr;

static void put(wr *w, const void *p, size_t n)
{
    if (w->len <= w->cap && n <= w->cap - w->len) {
        memcpy(w->buf + w->len, p, n);
    }
    w->len += n;
}

static void put8(wr *w, unsigned v)
{
    uint8_t b = (uint8_t)v;
    put(w, &b, 1);
}

static void put16(wr *w, size_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    put(w, b, 2);
}

static int put_tlv(wr *w, unsigned type, const char *s)
{
    size_t n = s == NULL ? 0 : strlen(s);
    if (n == 0) {
        return 0;
    }
    if (n > 65535) {
        return -1;
    }
    put8(w, type);
    put16(w, n);
    put(w, s, n);
    return 0;
}

/* Write the header into w (or only count it, when w has no room); the
 * offset of the checksum's value in *crc_at. Returns 0 or
 * MEMTLS_ERR_INVALID. */
static int emit_v2(const memtls_proxy_info *info, wr *w, size_t *crc_at)
{
    int local = info->src == NULL || info->dst == NULL;
    int six = !local && (info->src->sa_family == AF_INET6 || info->dst->sa_family == AF_INET6);
    uint8_t s[16], d[16], sp[2], dp[2];
    int fam = 0;

    if (!local) {
        if (addr_bytes(info->src, six, s, sp) == 0 || addr_bytes(info->dst, six, d, dp) == 0) {
            return MEMTLS_ERR_INVALID;
        }
        fam = six ? 0x21 : 0x11; /* INET6 / INET, STREAM */
    }
    put(w, V2_SIG, sizeof V2_SIG);
    put8(w, local ? 0x20 : 0x21);
    put8(w, (unsigned)fam);
    put16(w, 0); /* the length, filled in at the end */
    if (!local) {
        size_t n = six ? 16 : 4;
        put(w, s, n);
        put(w, d, n);
        put(w, sp, 2);
        put(w, dp, 2);
    }
    if (put_tlv(w, MEMTLS_PP2_TYPE_ALPN, info->alpn) != 0 ||
        put_tlv(w, MEMTLS_PP2_TYPE_AUTHORITY, info->authority) != 0) {
        return MEMTLS_ERR_INVALID;
    }
    if (info->ssl) {
        wr sub = {NULL, 0, 0}; /* sizes the sub-TLVs */
        for (int pass = 0; pass < 2; pass++) {
            wr *t = pass == 0 ? &sub : w;
            if (pass == 1) {
                if (5 + sub.len > 65535) {
                    return MEMTLS_ERR_INVALID;
                }
                put8(w, MEMTLS_PP2_TYPE_SSL);
                put16(w, 5 + sub.len);
                put8(w, info->ssl_client);
                uint8_t v[4] = {(uint8_t)(info->ssl_verify >> 24),
                                (uint8_t)(info->ssl_verify >> 16), (uint8_t)(info->ssl_verify >> 8),
                                (uint8_t)info->ssl_verify};
                put(w, v, 4);
            }
            if (put_tlv(t, MEMTLS_PP2_SUBTYPE_SSL_VERSION, info->ssl_version) != 0 ||
                put_tlv(t, MEMTLS_PP2_SUBTYPE_SSL_CN, info->ssl_cn) != 0 ||
                put_tlv(t, MEMTLS_PP2_SUBTYPE_SSL_CIPHER, info->ssl_cipher) != 0) {
                return MEMTLS_ERR_INVALID;
            }
        }
    }
    if (info->crc32c) {
        put8(w, MEMTLS_PP2_TYPE_CRC32C);
        put16(w, 4);
        *crc_at = w->len;
        put(w, "\0\0\0\0", 4);
    }
    return w->len > MEMTLS_PROXY_V2_MAX ? MEMTLS_ERR_INVALID : 0;
}

static int build_v2(const memtls_proxy_info *info, uint8_t *buf, size_t len, size_t *outlen)
{
    wr size = {NULL, 0, 0};
    size_t crc_at = 0;
    int rc = emit_v2(info, &size, &crc_at);
    if (rc != 0) {
        return rc;
    }
    *outlen = size.len;
    if (size.len > len) {
        return MEMTLS_ERR_TOO_SMALL; /* nothing written */
    }
    wr w = {buf, len, 0};
    (void)emit_v2(info, &w, &crc_at);
    buf[14] = (uint8_t)((w.len - V2_HDR) >> 8);
    buf[15] = (uint8_t)(w.len - V2_HDR);
    if (info->crc32c) {
        uint32_t c = crc32c(buf, w.len, SIZE_MAX);
        buf[crc_at] = (uint8_t)(c >> 24);
        buf[crc_at + 1] = (uint8_t)(c >> 16);
        buf[crc_at + 2] = (uint8_t)(c >> 8);
        buf[crc_at + 3] = (uint8_t)c;
    }
    return MEMTLS_OK;
}

int memtls_proxy_build(unsigned version, const memtls_proxy_info *info, uint8_t *buf, size_t len,
                       size_t *outlen)
{
    if (outlen != NULL) {
        *outlen = 0;
    }
    if (info == NULL || outlen == NULL || (buf == NULL && len > 0) ||
        (version != 1 && version != 2)) {
        return MEMTLS_ERR_INVALID;
    }
    return version == 1 ? build_v1(info, buf, len, outlen) : build_v2(info, buf, len, outlen);
}
