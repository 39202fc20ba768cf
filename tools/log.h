/*
 * log.h - the command's messages on stderr.
 *
 * Errors are one line, prefixed with the running command ("memtls serve:
 * --cert /x.pem: cannot open: No such file or directory"). The server's
 * log lines carry a UTC timestamp and a level. Every function writes its
 * line with one stdio call, so lines from several threads never mix.
 */
#ifndef MEMTLS_TOOL_LOG_H
#define MEMTLS_TOOL_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

typedef enum tool_level {
    TOOL_LOG_ERROR = 0,
    TOOL_LOG_WARN = 1,
    TOOL_LOG_INFO = 2,
    TOOL_LOG_DEBUG = 3
} tool_level;

/* The prefix of error lines ("memtls serve"); a static string. */
void tool_set_name(const char *name);
const char *tool_name(void);

/* Where every line goes: stderr by default (the argument fuzzer sends
 * them to /dev/null). Set before threads start. */
void tool_set_output(FILE *out);

/* "<name>: <message>" on stderr. */
void tool_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "<name>: warning: <message>" on stderr. */
void tool_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Or'ed into the level of tool_log or tool_log_fields: the line is
 * written whatever the configured level (the answer to an operator's
 * request, such as the SIGUSR1 status line); it still shows its level. */
#define TOOL_LOG_FORCE 0x100

/* Level for tool_log (default TOOL_LOG_INFO). Set before threads start. */
void tool_log_set_level(tool_level level);
tool_level tool_log_level(void);

/* Parse "error|warn|info|debug". Returns 0, or -1 for anything else. */
int tool_log_parse_level(const char *text, tool_level *out) __attribute__((warn_unused_result));

/* "2026-11-28T01:02:03.456Z info <message>" on stderr when `level` is at
 * or below the configured level. Thread-safe. In the JSON format:
 * {"time":"2026-11-28T01:02:03.456Z","level":"info","msg":"<message>"}. */
void tool_log(tool_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The format of tool_log, tool_error and tool_warn lines: text (the
 * default) or JSON, one object per line, for log shippers. Set before
 * threads start. In JSON every string is escaped (quotes, backslashes,
 * control characters as \uXXXX) and bytes that are not UTF-8 become
 * U+FFFD, so each line is valid JSON whatever a peer sent; a line longer
 * than 4 KiB is cut inside a string, still valid. Errors and warnings
 * are {"time":...,"level":"error","msg":"memtls serve: ..."}.
 */
typedef enum tool_log_format { TOOL_LOG_TEXT = 0, TOOL_LOG_JSON = 1 } tool_log_format;
void tool_log_set_format(tool_log_format format);
tool_log_format tool_log_get_format(void);
/* Parse "text|json". Returns 0, or -1 for anything else. */
int tool_log_parse_format(const char *text, tool_log_format *out)
    __attribute__((warn_unused_result));

/* One field of a structured line: a string, an unsigned number or a
 * boolean (`u` is 0 or 1). */
typedef struct tool_field {
    const char *key;
    enum { TOOL_FIELD_STR, TOOL_FIELD_UINT, TOOL_FIELD_BOOL } kind;
    const char *s;
    unsigned long long u;
} tool_field;

/* A JSON line {"time":...,"level":...,"event":"<event>",<fields>...}
 * (whatever the format: callers use it when the format is JSON). */
void tool_log_fields(tool_level level, const char *event, const tool_field *fields, size_t n);

#endif
