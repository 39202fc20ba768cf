/*
 * errbuf.h - bounded message buffers: string helpers and the formatting of
 * failures with the reasons OpenSSL queued for them. One implementation for
 * the configuration, the contexts and the test PKI (errbuf.c).
 */
#ifndef MEMTLS_ERRBUF_H
#define MEMTLS_ERRBUF_H

#include <stddef.h>

/* Size of every error text kept in an object (context, session, config). */
#define MEMTLS__ERROR_MAX 512

/* Copy src into dst (len bytes), truncating; always NUL-terminates when
 * len > 0. */
void memtls__strlcpy(char *dst, const char *src, size_t len);

/* Append printf-style text to the NUL-terminated string in dst (len bytes
 * in all), truncating. */
void memtls__strlcatf(char *dst, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Append the whole OpenSSL error queue of this thread to `buf` as text
 * ("; "-separated, with OpenSSL's detail strings in parentheses), clear
 * the queue, and return the first error code (0 if the queue was empty).
 * buf may be NULL to only clear the queue.
 */
unsigned long memtls__drain_errors(char *buf, size_t len);

/*
 * Write a printf-style message into buf (nothing when buf is NULL or len
 * is 0) and return `status`, so a failure is reported in one statement:
 * `return memtls__fail(MEMTLS_ERR_INVALID, err, errlen, "...", ...);`.
 */
int memtls__fail(int status, char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The same for a failed OpenSSL call: the message is followed by the
 * reasons on the thread's error queue, " (...)", and the queue is
 * cleared (also when buf is NULL). */
int memtls__fail_ssl(int status, char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
