/* see log.h */
#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *g_name = "memtls";
static atomic_int g_level = TOOL_LOG_INFO;

static FILE *g_out; /* NULL: stderr (not a constant initialiser) */

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void tool_set_output(FILE *out)
{
    g_out = out;
}

void tool_set_name(const char *name)
{
    g_name = name;
}

const char *tool_name(void)
{
    return g_name;
}

static void emit(const char *prefix, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/*
 * Format "<prefix><message>\n" into one buffer and write it at once.
 * Control characters in the message (a newline in a command-line
 * argument, in a peer's SNI or certificate subject) are written as \xNN:
 * one call is always exactly one line, and nothing that comes from
 * outside can start a log line of its own.
 */
static void emit(const char *prefix, const char *fmt, va_list ap)
{
    char msg[2048];
    char line[2048];
    size_t n = strlen(prefix);

    vsnprintf(msg, sizeof msg, fmt, ap);
    if (n > sizeof line - 2) {
        n = 0;
    }
    memcpy(line, prefix, n);
    /* Leave room for the newline and the NUL. */
    for (const unsigned char *p = (const unsigned char *)msg; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            if (n + 4 > sizeof line - 2) {
                break;
            }
            n += (size_t)snprintf(line + n, 5, "\\x%02x", *p);
        } else {
            if (n + 1 > sizeof line - 2) {
                break;
            }
            line[n++] = (char)*p;
        }
    }
    line[n++] = '\n';
    line[n] = '\0';
    fputs(line, g_out != NULL ? g_out : stderr);
}

void tool_error(const char *fmt, ...)
{
    char prefix[128];
    va_list ap;
    snprintf(prefix, sizeof prefix, "%s: ", g_name);
    va_start(ap, fmt);
    emit(prefix, fmt, ap);
    va_end(ap);
}

void tool_warn(const char *fmt, ...)
{
    char prefix[128];
    va_list ap;
    snprintf(prefix, sizeof prefix, "%s: warning: ", g_name);
    va_start(ap, fmt);
    emit(prefix, fmt, ap);
    va_end(ap);
}

void tool_log_set_level(tool_level level)
{
    atomic_store(&g_level, (int)level);
}

tool_level tool_log_level(void)
{
    return (tool_level)atomic_load(&g_level);
}

int tool_log_parse_level(const char *text, tool_level *out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcmp(text, level_names[i]) == 0) {
            *out = (tool_level)i;
            return 0;
        }
    }
    return -1;
}

void tool_log(tool_level level, const char *fmt, ...)
{
    if ((int)level > atomic_load(&g_level)) {
        return;
    }
    struct timespec ts;
    struct tm tm;
    char prefix[64];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(prefix, sizeof prefix, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L,
             level_names[(int)level & 3]);
    va_list ap;
    va_start(ap, fmt);
    emit(prefix, fmt, ap);
    va_end(ap);
}
