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

/* Level for tool_log (default TOOL_LOG_INFO). Set before threads start. */
void tool_log_set_level(tool_level level);
tool_level tool_log_level(void);

/* Parse "error|warn|info|debug". Returns 0, or -1 for anything else. */
int tool_log_parse_level(const char *text, tool_level *out) __attribute__((warn_unused_result));

/* "2026-11-28T01:02:03.456Z info <message>" on stderr when `level` is at
 * or below the configured level. Thread-safe. */
void tool_log(tool_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
