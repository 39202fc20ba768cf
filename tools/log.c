/* see log.h */
#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *g_name = "memtls";
static atomic_int g_level = TOOL_LOG_INFO;
static atomic_int g_format = TOOL_LOG_TEXT;

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

/* --- JSON ---------------------------------------------------------------- */

/* A JSON line being built in a fixed buffer. A field is added whole or
 * not at all, and a string value that does not fit is cut (and still
 * closed), so the line is always valid JSON. */
#define JSON_LINE 4096
#define JSON_TAIL 4 /* room kept for the closing quote, brace and newline */

typedef struct jbuf {
    char p[JSON_LINE];
    size_t n;
    size_t cap; /* use at most this much of p */
    int bad;    /* something that cannot be cut did not fit */
} jbuf;

static void jraw(jbuf *b, const char *s)
{
    size_t len = strlen(s);
    if (b->n + len + JSON_TAIL > b->cap) {
        b->bad = 1;
        return;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
}

/* The length of the UTF-8 sequence starting at s (1..4), or 0 when it
 * is not a valid one (overlong forms, surrogates and values above
 * U+10FFFF included). */
static size_t utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    unsigned v;
    if (c < 0x80) {
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        n = 2, min = 0x80, v = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, min = 0x800, v = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, min = 0x10000, v = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0; /* also stops at the NUL */
        }
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
        return 0;
    }
    return n;
}

/* A JSON string with its quotes, cut where it would not fit. */
static void jstr(jbuf *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    if (b->n + 2 + JSON_TAIL > b->cap) {
        b->bad = 1;
        return;
    }
    b->p[b->n++] = '"';
    while (*s != '\0') {
        char esc[8];
        const char *out = esc;
        size_t adv = 1;
        if (*s == '"' || *s == '\\') {
            esc[0] = '\\', esc[1] = (char)*s, esc[2] = '\0';
        } else if (*s == '\n') {
            memcpy(esc, "\\n", 3);
        } else if (*s == '\r') {
            memcpy(esc, "\\r", 3);
        } else if (*s == '\t') {
            memcpy(esc, "\\t", 3);
        } else if (*s < 0x20 || *s == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", *s);
        } else if ((adv = utf8_len(s)) == 0) {
            memcpy(esc, "\\ufffd", 7); /* not UTF-8: the replacement character */
            adv = 1;
        } else {
            out = (const char *)s;
        }
        size_t len = out == esc ? strlen(esc) : adv;
        if (b->n + len + 1 + JSON_TAIL > b->cap) {
            break; /* cut here: the closing quote still fits */
        }
        memcpy(b->p + b->n, out, len);
        b->n += len;
        s += adv;
    }
    b->p[b->n++] = '"';
}

/* ,"key":<value>, with the value a string (str) or raw JSON (raw), added
 * only whole; a string is cut to the room left. */
static void jfield(jbuf *b, const char *key, const char *str, const char *raw)
{
    jbuf f;
    f.n = 0;
    f.bad = 0;
    f.cap = sizeof b->p - b->n;
    jraw(&f, ",");
    jstr(&f, key);
    jraw(&f, ":");
    if (str != NULL) {
        jstr(&f, str);
    } else {
        jraw(&f, raw);
    }
    if (!f.bad) {
        memcpy(b->p + b->n, f.p, f.n);
        b->n += f.n;
    }
}

/* {"time":"...","level":"..." */
static void jstart(jbuf *b, tool_level level)
{
    struct timespec ts;
    struct tm tm;
    char t[64];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(t, sizeof t, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ts.tv_nsec / 1000000L));
    b->n = 0;
    b->cap = sizeof b->p;
    b->bad = 0;
    jraw(b, "{\"time\":");
    jstr(b, t);
    jfield(b, "level", level_names[(int)level & 3], NULL);
}

static void jend(jbuf *b)
{
    b->p[b->n++] = '}';
    b->p[b->n++] = '\n';
    b->p[b->n] = '\0';
    fputs(b->p, g_out != NULL ? g_out : stderr);
}

static void emit_json(tool_level level, const char *prefix, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void emit_json(tool_level level, const char *prefix, const char *fmt, va_list ap)
{
    char msg[2048];
    size_t n = strlen(prefix) < sizeof msg ? strlen(prefix) : 0;
    memcpy(msg, prefix, n);
    vsnprintf(msg + n, sizeof msg - n, fmt, ap);
    jbuf b;
    jstart(&b, level);
    jfield(&b, "msg", msg, NULL);
    jend(&b);
}

void tool_log_set_format(tool_log_format format)
{
    atomic_store(&g_format, (int)format);
}

tool_log_format tool_log_get_format(void)
{
    return (tool_log_format)atomic_load(&g_format);
}

int tool_log_parse_format(const char *text, tool_log_format *out)
{
    if (strcmp(text, "text") == 0) {
        *out = TOOL_LOG_TEXT;
    } else if (strcmp(text, "json") == 0) {
        *out = TOOL_LOG_JSON;
    } else {
        return -1;
    }
    return 0;
}

/* Strip TOOL_LOG_FORCE from *level; 1 when the line is to be written. */
static int shown(tool_level *level)
{
    int force = ((int)*level & TOOL_LOG_FORCE) != 0;
    *level = (tool_level)((int)*level & 3);
    return force || (int)*level <= atomic_load(&g_level);
}

void tool_log_fields(tool_level level, const char *event, const tool_field *fields, size_t n)
{
    if (!shown(&level)) {
        return;
    }
    jbuf b;
    jstart(&b, level);
    jfield(&b, "event", event, NULL);
    for (size_t i = 0; i < n; i++) {
        char num[32];
        switch (fields[i].kind) {
        case TOOL_FIELD_STR:
            jfield(&b, fields[i].key, fields[i].s != NULL ? fields[i].s : "", NULL);
            break;
        case TOOL_FIELD_BOOL:
            jfield(&b, fields[i].key, NULL, fields[i].u ? "true" : "false");
            break;
        case TOOL_FIELD_UINT:
        default:
            snprintf(num, sizeof num, "%llu", fields[i].u);
            jfield(&b, fields[i].key, NULL, num);
            break;
        }
    }
    jend(&b);
}

/* --- errors and log lines ----------------------------------------------------- */

void tool_error(const char *fmt, ...)
{
    char prefix[128];
    va_list ap;
    snprintf(prefix, sizeof prefix, "%s: ", g_name);
    va_start(ap, fmt);
    if (atomic_load(&g_format) == TOOL_LOG_JSON) {
        emit_json(TOOL_LOG_ERROR, prefix, fmt, ap);
    } else {
        emit(prefix, fmt, ap);
    }
    va_end(ap);
}

void tool_warn(const char *fmt, ...)
{
    char prefix[128];
    va_list ap;
    va_start(ap, fmt);
    if (atomic_load(&g_format) == TOOL_LOG_JSON) {
        snprintf(prefix, sizeof prefix, "%s: ", g_name);
        emit_json(TOOL_LOG_WARN, prefix, fmt, ap);
    } else {
        snprintf(prefix, sizeof prefix, "%s: warning: ", g_name);
        emit(prefix, fmt, ap);
    }
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
    if (!shown(&level)) {
        return;
    }
    if (atomic_load(&g_format) == TOOL_LOG_JSON) {
        va_list ap;
        va_start(ap, fmt);
        emit_json(level, "", fmt, ap);
        va_end(ap);
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
