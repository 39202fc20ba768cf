/* ticket_keys.c - the session ticket key file parser; see ticket_keys.h. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ticket_keys.h"

/* The value of a base64 digit, or -1. */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static void describe(unsigned char c, char *out, size_t len)
{
    if (c > 0x20 && c < 0x7F && c != '\'') {
        snprintf(out, len, "'%c'", c);
    } else {
        snprintf(out, len, "byte 0x%02x", c);
    }
}

/*
 * Decode one line of base64 (s, n characters, trimmed) into out (cap
 * bytes). *got is the decoded length, counted in full even past cap (the
 * bytes past it are not stored). Returns 0, or -1 with the reason in err
 * (prefixed by "line N: " by the caller).
 */
static int b64_decode(const char *s, size_t n, unsigned char *out, size_t cap, size_t *got,
                      char *err, size_t errlen)
{
    unsigned acc = 0;
    int bits = 0;
    size_t len = 0;
    size_t pad = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '=') {
            pad++;
            continue;
        }
        int v = b64_value(c);
        if (v < 0) {
            char what[16];
            describe(c, what, sizeof what);
            snprintf(err, errlen, "%s at column %zu is not base64", what, i + 1);
            acc = 0;
            return -1;
        }
        if (pad > 0) {
            snprintf(err, errlen, "'=' padding before column %zu, not at the end", i + 1);
            acc = 0;
            return -1;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (len < cap) {
                out[len] = (unsigned char)(acc >> bits);
            }
            len++;
            acc &= (1u << bits) - 1u;
        }
    }
    size_t digits = n - pad;
    /* Padding, when given, completes the last group of 4. A single digit
     * in the last group encodes no whole byte: the line was cut. */
    if (pad > 2 || (pad > 0 && n % 4 != 0) || digits % 4 == 1 || acc != 0) {
        snprintf(err, errlen, "not a whole base64 encoding (cut short, or bad padding)");
        acc = 0;
        return -1;
    }
    *got = len;
    return 0;
}

int memtls__ticket_keys_parse(const char *text, size_t len, memtls__ticket_key *keys, size_t max,
                              size_t *count, char *err, size_t errlen)
{
    unsigned char raw[MEMTLS__TICKET_KEY_BYTES];
    char why[160];
    size_t n = 0;
    size_t lines[MEMTLS__TICKET_KEYS_MAX];
    size_t line = 0;
    size_t pos = 0;

    *count = 0;
    if (max > MEMTLS__TICKET_KEYS_MAX) {
        max = MEMTLS__TICKET_KEYS_MAX;
    }
    while (pos < len) {
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t ll = nl != NULL ? (size_t)(nl - start) : len - pos;
        pos += ll + (nl != NULL);
        line++;
        while (ll > 0 && is_space(start[ll - 1])) {
            ll--;
        }
        while (ll > 0 && is_space(*start)) {
            start++;
            ll--;
        }
        if (ll == 0 || *start == '#') {
            continue;
        }
        if (n == max) {
            snprintf(err, errlen, "line %zu: more than %zu keys", line, max);
            goto fail;
        }
        size_t got = 0;
        if (b64_decode(start, ll, raw, sizeof raw, &got, why, sizeof why) != 0) {
            snprintf(err, errlen, "line %zu: %s", line, why);
            goto fail;
        }
        if (got != MEMTLS__TICKET_KEY_BYTES) {
            snprintf(err, errlen,
                     "line %zu: decodes to %zu bytes; a key is %u bytes (16 name, 32 HMAC, 32 AES; "
                     "make one with: openssl rand 80 | base64 -w0)",
                     line, got, MEMTLS__TICKET_KEY_BYTES);
            goto fail;
        }
        memcpy(keys[n].name, raw, 16);
        memcpy(keys[n].hmac, raw + 16, 32);
        memcpy(keys[n].aes, raw + 48, 32);
        for (size_t i = 0; i < n; i++) {
            if (memcmp(keys[i].name, keys[n].name, 16) == 0) {
                snprintf(err, errlen,
                         "line %zu: key name equals line %zu's (each key needs its own first 16 "
                         "bytes)",
                         line, lines[i]);
                n++;
                goto fail;
            }
        }
        lines[n] = line;
        n++;
    }
    OPENSSL_cleanse(raw, sizeof raw);
    if (n == 0) {
        snprintf(err, errlen, "no key in the file (one base64 key of 80 bytes per line)");
        return -1;
    }
    *count = n;
    return 0;
fail:
    OPENSSL_cleanse(raw, sizeof raw);
    OPENSSL_cleanse(keys, n * sizeof *keys);
    return -1;
}
