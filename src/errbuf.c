/* errbuf.c - bounded message buffers; see errbuf.h. */
#include "errbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

void memtls__strlcpy(char *dst, const char *src, size_t len)
{
    if (len == 0) {
        return;
    }
    size_t n = strlen(src);
    if (n >= len) {
        n = len - 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

void memtls__strlcatf(char *dst, size_t len, const char *fmt, ...)
{
    size_t used = strnlen(dst, len);
    if (used + 1 >= len) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst + used, len - used, fmt, ap);
    va_end(ap);
}

unsigned long memtls__drain_errors(char *buf, size_t len)
{
    unsigned long first = 0;
    unsigned long e;
    const char *data = NULL;
    int flags = 0;
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        char one[256];
        if (first == 0) {
            first = e;
        }
        ERR_error_string_n(e, one, sizeof one);
        if (buf != NULL && len > 0) {
            memtls__strlcatf(buf, len, "%s%s", buf[0] != '\0' ? "; " : "", one);
            if ((flags & ERR_TXT_STRING) && data != NULL && data[0] != '\0') {
                memtls__strlcatf(buf, len, " (%s)", data);
            }
        }
    }
    return first;
}

static void vformat(char *buf, size_t len, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void vformat(char *buf, size_t len, const char *fmt, va_list ap)
{
    if (buf != NULL && len > 0 && vsnprintf(buf, len, fmt, ap) < 0) {
        buf[0] = '\0';
    }
}

int memtls__fail(int status, char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vformat(buf, len, fmt, ap);
    va_end(ap);
    return status;
}

int memtls__fail_ssl(int status, char *buf, size_t len, const char *fmt, ...)
{
    /* The reasons first: formatting must not run with the queue unread. */
    char reasons[MEMTLS__ERROR_MAX] = "";
    memtls__drain_errors(reasons, sizeof reasons);
    va_list ap;
    va_start(ap, fmt);
    vformat(buf, len, fmt, ap);
    va_end(ap);
    if (buf != NULL && len > 0 && reasons[0] != '\0') {
        memtls__strlcatf(buf, len, " (%s)", reasons);
    }
    return status;
}
