/*
 * test_config_ticket_keys.c - the session ticket key file: lines of
 * base64 of 80 bytes (16 name, 32 HMAC, 32 AES) decode to those parts in
 * that order, with comments, blank lines, surrounding spaces, CRLF and
 * missing padding allowed; every malformed file is refused with the
 * number of the line and the problem (a character that is not base64,
 * padding in the middle, a cut line, a 48-byte key, a repeated key name,
 * too many keys, no key at all); through the configuration the message
 * also names the file, and a refused file keeps the keys in place.
 */
#include "test.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <memtls/config.h>

#include "config_internal.h"
#include "ticket_keys.h"
#include "tickets.h"

/* The base64 line of 80 bytes b[i] = seed + i (no newline). */
static void line_of(unsigned seed, char out[128])
{
    unsigned char raw[80];
    for (size_t i = 0; i < sizeof raw; i++) {
        raw[i] = (unsigned char)(seed + i);
    }
    assert_int_equal(EVP_EncodeBlock((unsigned char *)out, raw, sizeof raw), 108);
}

static int parse(const char *text, memtls__ticket_key *keys, size_t max, size_t *n, char *err)
{
    return memtls__ticket_keys_parse(text, strlen(text), keys, max, n, err, 256);
}

static void assert_refused(const char *text, const char *why)
{
    memtls__ticket_key keys[4];
    size_t n = 99;
    char err[256] = "";
    int rc = parse(text, keys, 4, &n, err);
    if (rc == 0 || strstr(err, why) == NULL) {
        print_error("'%s': rc %d, message '%s', wanted '%s'\n", text, rc, err, why);
    }
    assert_int_equal(rc, -1);
    assert_int_equal(n, 0);
    assert_non_null(strstr(err, why));
}

/* Test: the three parts of a key, in order; comments, blank lines,
 * spaces, CRLF and a line without padding are fine; keys in file order. */
static void test_valid(void **state)
{
    (void)state;
    char a[128], b[128], text[512];
    line_of(0, a);
    line_of(100, b);
    b[107] = '\0'; /* without its "=" padding: still 80 bytes */
    snprintf(text, sizeof text, "# tickets\r\n\r\n  %s  \r\n\t%s\n# end", a, b);
    memtls__ticket_key keys[4];
    size_t n = 0;
    char err[256] = "";
    assert_int_equal(parse(text, keys, 4, &n, err), 0);
    assert_int_equal(n, 2);
    for (unsigned i = 0; i < 16; i++) {
        assert_int_equal(keys[0].name[i], i);
        assert_int_equal(keys[1].name[i], 100 + i);
    }
    for (unsigned i = 0; i < 32; i++) {
        assert_int_equal(keys[0].hmac[i], 16 + i);
        assert_int_equal(keys[0].aes[i], 48 + i);
        assert_int_equal(keys[1].aes[i], (unsigned char)(148 + i));
    }
}

/* Test: malformed files, each refused with its line and problem. */
static void test_refused(void **state)
{
    (void)state;
    char a[128], b[128], text[1024];
    line_of(0, a);
    line_of(7, b);

    snprintf(text, sizeof text, "%s\n%.50s!%s\n", a, b, b + 51);
    assert_refused(text, "line 2: '!' at column 51 is not base64");
    snprintf(text, sizeof text, "\n%.20s\x01%s\n", a, a + 21);
    assert_refused(text, "line 2: byte 0x01 at column 21 is not base64");
    snprintf(text, sizeof text, "%.40s=%s\n", a, a + 41);
    assert_refused(text, "line 1: '=' padding before column 42");
    snprintf(text, sizeof text, "%.105s\n", a); /* one digit of a group */
    assert_refused(text, "line 1: not a whole base64 encoding");
    /* 48 bytes: the AES-128 keys some servers take. */
    unsigned char raw48[48] = {1};
    char b48[80];
    EVP_EncodeBlock((unsigned char *)b48, raw48, sizeof raw48);
    snprintf(text, sizeof text, "# one\n%s\n", b48);
    assert_refused(text, "line 2: decodes to 48 bytes; a key is 80 bytes");
    snprintf(text, sizeof text, "%s%s\n", a, a); /* two keys on one line */
    assert_refused(text, "line 1: '=' padding before column");
    snprintf(text, sizeof text, "%s\n%s\n%s\n", a, b, a);
    assert_refused(text, "line 3: key name equals line 1's");
    snprintf(text, sizeof text, "%s\n%s\n%s\n%s\n%s\n", a, b, a, b, a);
    assert_refused(text, "line 3: key name equals line 1's");
    assert_refused("", "no key in the file");
    assert_refused("# nothing\n\n   \n", "no key in the file");

    /* More keys than the caller takes. */
    char c[128], d[128], e[128];
    line_of(20, c);
    line_of(30, d);
    line_of(40, e);
    snprintf(text, sizeof text, "%s\n%s\n%s\n%s\n%s\n", a, b, c, d, e);
    assert_refused(text, "line 5: more than 4 keys");

    /* A NUL byte in the middle of the text is an error too, not the end. */
    char with_nul[300];
    size_t len = (size_t)snprintf(with_nul, sizeof with_nul, "%s\nX", a);
    with_nul[len - 1] = '\0';
    memtls__ticket_key keys[4];
    size_t n = 0;
    char err[256];
    assert_int_equal(memtls__ticket_keys_parse(with_nul, len, keys, 4, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "line 2: byte 0x00 at column 1"));
}

/* Test: through the configuration: the message names the file (or "ticket
 * keys" for text) and the line; a refused file keeps the keys that were
 * in place (the configuration still has the earlier key file's). */
static void test_config_messages(void **state)
{
    (void)state;
    char a[128], text[512];
    line_of(3, a);
    memtls_config *s = memtls_config_new(MEMTLS_ROLE_SERVER);
    assert_non_null(s);
    snprintf(text, sizeof text, "%s\n", a);
    assert_int_equal(memtls_config_set_ticket_keys(s, text, strlen(text)), 0);
    struct memtls__ticket_ring *keys = memtls__config_ticket_ring(s);
    assert_true(memtls__ticket_ring_fixed_keys(keys));
    assert_int_equal(memtls__ticket_ring_count(keys), 1);
    assert_int_equal(memtls_config_set_ticket_keys(s, "abc\n", 4), MEMTLS_ERR_CONFIG);
    assert_string_equal(memtls_config_error(s),
                        "line 1: decodes to 2 bytes; a key is 80 bytes (16 name, 32 "
                        "HMAC, 32 AES; make one with: openssl rand 80 | base64 -w0)");
    assert_int_equal(memtls_config_set_ticket_keys(s, NULL, 3), MEMTLS_ERR_INVALID);

    char path[] = "/tmp/memtls-test-keys-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *bad = "# rotated by cron\nnot/base64!\n";
    assert_int_equal(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
    close(fd);
    assert_int_equal(memtls_config_load_ticket_keys_file(s, path), MEMTLS_ERR_CONFIG);
    char want[256];
    snprintf(want, sizeof want, "%s: line 2: '!' at column 11 is not base64", path);
    assert_string_equal(memtls_config_error(s), want);
    unlink(path);
    assert_int_equal(memtls_config_load_ticket_keys_file(s, path), MEMTLS_ERR_CONFIG);
    assert_non_null(strstr(memtls_config_error(s), "cannot open"));
    assert_non_null(strstr(memtls_config_error(s), path));
    /* Three refusals later, the first file's key is still the one. */
    assert_ptr_equal(memtls__config_ticket_ring(s), keys);
    assert_int_equal(memtls__ticket_ring_count(keys), 1);
    memtls_config_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_config_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
