/*
 * fuzz_ticket_keys.c - the session ticket key file parser on arbitrary
 * text, alone (memtls__ticket_keys_parse) and through the configuration
 * (memtls_config_set_ticket_keys).
 *
 * Input: the text of a key file.
 *
 * Checked: the parser accepts 1..256 keys with distinct names or refuses
 * with one line naming a line number that exists ("line N: ...") or
 * saying the file has no key; the configuration agrees with it, with the
 * same message, and a refused text leaves the keys in place (the
 * configuration's earlier keys are still the ones it has); the keys it
 * accepted, written back as base64 lines, parse to the same keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <memtls/config.h>

#include "config_internal.h"
#include "fuzz_support.h"
#include "ticket_keys.h"
#include "tickets.h"

static size_t lines_in(const uint8_t *p, size_t n)
{
    size_t lines = 1;
    for (size_t i = 0; i < n; i++) {
        lines += p[i] == '\n';
    }
    return lines;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static memtls__ticket_key keys[MEMTLS__TICKET_KEYS_MAX];
    static memtls__ticket_key again[MEMTLS__TICKET_KEYS_MAX];
    static char text[MEMTLS__TICKET_KEYS_MAX * 110 + 1];
    char err[512] = "";
    size_t count = 999;
    int rc = memtls__ticket_keys_parse((const char *)data, size, keys, MEMTLS__TICKET_KEYS_MAX,
                                       &count, err, sizeof err);
    FZ_CHECK(rc == 0 || rc == -1, "status %d", rc);

    /* One configuration for every input (making one costs more than the
     * parse): it is never used for a handshake, so it stays mutable. */
    static memtls_config *cfg;
    if (cfg == NULL) {
        cfg = memtls_config_new(MEMTLS_ROLE_SERVER);
        FZ_CHECK(cfg != NULL, "config");
    }
    /* Keys in place first: a refused text must leave them. */
    static const char first[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKiss"
                                "LS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk8=\n";
    FZ_CHECK(memtls_config_set_ticket_keys(cfg, first, strlen(first)) == 0, "the first keys: %s",
             memtls_config_error(cfg));
    struct memtls__ticket_ring *before = memtls__config_ticket_ring(cfg);
    int crc = memtls_config_set_ticket_keys(cfg, (const char *)data, size);

    if (rc != 0) {
        FZ_CHECK(count == 0, "a refusal reported %zu keys", count);
        FZ_CHECK(strchr(err, '\n') == NULL, "a message of several lines: %s", err);
        size_t line = 0;
        if (sscanf(err, "line %zu: ", &line) == 1) {
            FZ_CHECK(line >= 1 && line <= lines_in(data, size), "line %zu of %zu: %s", line,
                     lines_in(data, size), err);
        } else {
            FZ_CHECK(strncmp(err, "no key in the file", 18) == 0, "message names no line: %s", err);
        }
        FZ_CHECK(crc == MEMTLS_ERR_CONFIG, "the configuration took what the parser refused: %d",
                 crc);
        FZ_CHECK(strcmp(memtls_config_error(cfg), err) == 0, "messages differ: '%s' vs '%s'",
                 memtls_config_error(cfg), err);
        FZ_CHECK(memtls__config_ticket_ring(cfg) == before, "a refused text replaced the keys");
        return 0;
    }
    FZ_CHECK(count >= 1 && count <= MEMTLS__TICKET_KEYS_MAX, "%zu keys", count);
    FZ_CHECK(crc == 0, "the configuration refused what the parser took: %s",
             memtls_config_error(cfg));
    struct memtls__ticket_ring *after = memtls__config_ticket_ring(cfg);
    FZ_CHECK(after != before && memtls__ticket_ring_fixed_keys(after) &&
                 memtls__ticket_ring_count(after) == count,
             "the configuration holds %zu keys, not %zu", memtls__ticket_ring_count(after), count);
    for (size_t i = 0; i < count; i++) {
        for (size_t j = 0; j < i; j++) {
            FZ_CHECK(memcmp(keys[i].name, keys[j].name, 16) != 0, "keys %zu and %zu share a name",
                     j, i);
        }
    }
    /* Written back, the same keys. */
    size_t len = 0;
    for (size_t i = 0; i < count; i++) {
        unsigned char raw[80];
        memcpy(raw, keys[i].name, 16);
        memcpy(raw + 16, keys[i].hmac, 32);
        memcpy(raw + 48, keys[i].aes, 32);
        len += (size_t)EVP_EncodeBlock((unsigned char *)text + len, raw, sizeof raw);
        text[len++] = '\n';
    }
    size_t n2 = 0;
    FZ_CHECK(memtls__ticket_keys_parse(text, len, again, MEMTLS__TICKET_KEYS_MAX, &n2, err,
                                       sizeof err) == 0 &&
                 n2 == count,
             "the keys written back do not parse: %s", err);
    FZ_CHECK(memcmp(keys, again, count * sizeof keys[0]) == 0, "the keys written back differ");
    return 0;
}
