/*
 * ticket_keys.h - the session ticket key file, parsed without I/O.
 *
 * One key per line, each the base64 (standard alphabet, padding optional)
 * of 80 bytes: a 16-byte key name, a 32-byte HMAC-SHA256 key and a
 * 32-byte AES-256 key, in that order (the per-key layout of nginx's
 * ssl_session_ticket_key files; the base64 lines are how HAProxy's
 * tls-ticket-keys files look). The first key encrypts new tickets, every
 * key decrypts. Blank lines, lines starting with '#', surrounding spaces
 * and CRLF line ends are allowed. config.c turns the keys into a
 * configuration's ticket keys; the fuzzer calls the parser alone.
 */
#ifndef MEMTLS_TICKET_KEYS_H
#define MEMTLS_TICKET_KEYS_H

#include <stddef.h>

#define MEMTLS__TICKET_KEY_BYTES 80u
/* Keys a configuration holds at most (a file, or generated keys kept to
 * decrypt for the ticket lifetime). */
#define MEMTLS__TICKET_KEYS_MAX 256u

typedef struct memtls__ticket_key {
    unsigned char name[16];
    unsigned char hmac[32];
    unsigned char aes[32];
} memtls__ticket_key;

/*
 * Parse `len` bytes of key file text into keys[0..*count) (at most `max`,
 * in file order). Returns 0, or -1 with one line in err that names the
 * line and the problem ("line 3: decodes to 48 bytes; a key is 80 bytes
 * ...", "line 2: character '!' at column 7 is not base64", "line 4: key
 * name equals line 1's", "no key in the file"). Nothing of a rejected
 * file is kept: keys[] is wiped on failure, and every intermediate
 * buffer with OPENSSL_cleanse.
 */
int memtls__ticket_keys_parse(const char *text, size_t len, memtls__ticket_key *keys, size_t max,
                              size_t *count, char *err, size_t errlen);

#endif
