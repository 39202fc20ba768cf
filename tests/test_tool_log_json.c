/*
 * test_tool_log_json.c - --log-format json: every line is one JSON object
 * with RFC 3339 time and level; strings are escaped (quotes, backslashes,
 * control characters), bytes that are not UTF-8 become U+FFFD, valid
 * UTF-8 passes; a line too long is cut inside a string and stays valid;
 * structured fields keep their types; the options are parsed and their
 * errors named; a forced line (TOOL_LOG_FORCE) passes any level.
 */
#include "test.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "serve_args.h"

static char g_text[16384];

static FILE *capture_start(char **buf, size_t *len)
{
    FILE *out = open_memstream(buf, len);
    assert_non_null(out);
    tool_set_output(out);
    return out;
}

static void capture_end(FILE *out, char **buf)
{
    tool_set_output(NULL);
    assert_int_equal(fclose(out), 0); /* sets *buf */
    snprintf(g_text, sizeof g_text, "%s", *buf != NULL ? *buf : "");
    free(*buf);
    *buf = NULL;
}

static int lines_of(const char *s)
{
    int n = 0;
    for (; *s != '\0'; s++) {
        n += *s == '\n';
    }
    return n;
}

/* {"time":"YYYY-MM-DDTHH:MM:SS.mmmZ","level":"<level>", at the start. */
static void check_head(const char *line, const char *level)
{
    assert_true(strncmp(line, "{\"time\":\"", 9) == 0);
    const char *t = line + 9;
    for (int i = 0; i < 24; i++) {
        const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";
        if (shape[i] == 'd') {
            assert_true(t[i] >= '0' && t[i] <= '9');
        } else {
            assert_int_equal(t[i], shape[i]);
        }
    }
    char want[64];
    snprintf(want, sizeof want, "\",\"level\":\"%s\",", level);
    assert_true(strncmp(t + 24, want, strlen(want)) == 0);
}

static void test_escapes(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    tool_log_set_format(TOOL_LOG_JSON);
    FILE *out = capture_start(&buf, &len);
    tool_log(TOOL_LOG_WARN,
             "q\" b\\ n\n t\t c\x01 d\x7f e\xc3\xa9 euro\xe2\x82\xac smile\xf0\x9f\x98\x80"
             " bad\xff over\xc0\xaf sur\xed\xa0\x80 cut\xe2\x82");
    capture_end(out, &buf);
    tool_log_set_format(TOOL_LOG_TEXT);
    assert_int_equal(lines_of(g_text), 1);
    check_head(g_text, "warn");
    const char *want =
        "\"msg\":\"q\\\" b\\\\ n\\n t\\t c\\u0001 d\\u007f e\xc3\xa9 euro\xe2\x82\xac "
        "smile\xf0\x9f\x98\x80 bad\\ufffd over\\ufffd\\ufffd "
        "sur\\ufffd\\ufffd\\ufffd cut\\ufffd\\ufffd\"}\n";
    if (strstr(g_text, want) == NULL) {
        print_error("got %s", g_text);
        fail();
    }
}

static void test_fields(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    tool_log_set_format(TOOL_LOG_JSON);
    FILE *out = capture_start(&buf, &len);
    const tool_field f[] = {
        {"conn", TOOL_FIELD_UINT, NULL, 18446744073709551615ull},
        {"peer", TOOL_FIELD_STR, "[::1]:5", 0},
        {"plaintext", TOOL_FIELD_BOOL, NULL, 1},
        {"sni", TOOL_FIELD_STR, NULL, 0},
        {"close", TOOL_FIELD_STR, "auth failed: \"x\"", 0},
    };
    tool_log_fields(TOOL_LOG_INFO, "conn", f, sizeof f / sizeof f[0]);
    tool_log_fields(TOOL_LOG_DEBUG, "hidden", f, 1); /* above the level: nothing */
    capture_end(out, &buf);
    tool_log_set_format(TOOL_LOG_TEXT);
    assert_int_equal(lines_of(g_text), 1);
    check_head(g_text, "info");
    assert_non_null(strstr(g_text, ",\"event\":\"conn\",\"conn\":18446744073709551615,\"peer\":"
                                   "\"[::1]:5\",\"plaintext\":true,\"sni\":\"\",\"close\":"
                                   "\"auth failed: \\\"x\\\"\"}\n"));
}

/* A message that cannot fit: cut inside the string, one valid line. */
static void test_long_line(void **state)
{
    (void)state;
    static char big[8000];
    memset(big, 0x01, sizeof big - 1); /* 6 bytes each once escaped */
    char *buf = NULL;
    size_t len = 0;
    tool_log_set_format(TOOL_LOG_JSON);
    FILE *out = capture_start(&buf, &len);
    tool_log(TOOL_LOG_INFO, "%s", big);
    const tool_field f[] = {
        {"a", TOOL_FIELD_STR, big, 0},
        {"b", TOOL_FIELD_UINT, NULL, 7},
    };
    tool_log_fields(TOOL_LOG_INFO, "long", f, 2);
    capture_end(out, &buf);
    tool_log_set_format(TOOL_LOG_TEXT);
    assert_int_equal(lines_of(g_text), 2);
    char *second = strchr(g_text, '\n') + 1;
    for (char *line = g_text; line != NULL && *line != '\0';) {
        char *nl = strchr(line, '\n');
        size_t n = (size_t)(nl - line);
        assert_true(n < 4096);
        /* Ends with a whole \u0001 then the closing quote and brace. */
        assert_true(n > 10 && strncmp(nl - 8, "\\u0001\"}", 8) == 0);
        line = nl + 1;
    }
    /* The field that did not fit after the cut one is left out whole. */
    assert_null(strstr(second, "\"b\":"));
}

static void test_errors_and_warnings(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    tool_set_name("memtls serve");
    tool_log_set_format(TOOL_LOG_JSON);
    FILE *out = capture_start(&buf, &len);
    tool_error("--cert %s: cannot open", "x\"y");
    tool_warn("careful");
    capture_end(out, &buf);
    tool_log_set_format(TOOL_LOG_TEXT);
    assert_int_equal(lines_of(g_text), 2);
    check_head(g_text, "error");
    assert_non_null(strstr(g_text, "\"msg\":\"memtls serve: --cert x\\\"y: cannot open\"}\n"));
    check_head(strchr(g_text, '\n') + 1, "warn");
    assert_non_null(strstr(g_text, "\"msg\":\"memtls serve: careful\"}\n"));

    /* Text stays as it was. */
    buf = NULL;
    out = capture_start(&buf, &len);
    tool_warn("careful");
    capture_end(out, &buf);
    assert_string_equal(g_text, "memtls serve: warning: careful\n");
}

/* TOOL_LOG_FORCE writes a line below the configured level, still showing
 * its own level, in both formats; without it the line is dropped. */
static void test_forced_level(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    tool_log_set_level(TOOL_LOG_WARN);
    FILE *out = capture_start(&buf, &len);
    tool_log(TOOL_LOG_INFO, "dropped %d", 1);
    tool_log((tool_level)(TOOL_LOG_INFO | TOOL_LOG_FORCE), "status: open=%d", 3);
    capture_end(out, &buf);
    assert_int_equal(lines_of(g_text), 1);
    assert_non_null(strstr(g_text, "Z info status: open=3\n"));
    assert_null(strstr(g_text, "dropped"));

    tool_log_set_format(TOOL_LOG_JSON);
    out = capture_start(&buf, &len);
    const tool_field f[] = {{"open", TOOL_FIELD_UINT, NULL, 3}};
    tool_log_fields(TOOL_LOG_INFO, "dropped", f, 1);
    tool_log_fields((tool_level)(TOOL_LOG_INFO | TOOL_LOG_FORCE), "status", f, 1);
    capture_end(out, &buf);
    tool_log_set_format(TOOL_LOG_TEXT);
    tool_log_set_level(TOOL_LOG_INFO);
    assert_int_equal(lines_of(g_text), 1);
    check_head(g_text, "info");
    assert_non_null(strstr(g_text, "\"event\":\"status\",\"open\":3}\n"));
}

static int parse_serve(const char *const *args, serve_opts *o)
{
    char *argv[16];
    int argc = 0;
    argv[argc++] = "serve";
    for (; *args != NULL; args++) {
        argv[argc++] = (char *)*args;
    }
    argv[argc] = NULL;
    char *buf = NULL;
    size_t len = 0;
    serve_opts_init(o);
    FILE *out = capture_start(&buf, &len);
    int rc = serve_parse_args(argc, argv, o);
    capture_end(out, &buf);
    return rc;
}

static void test_options(void **state)
{
    (void)state;
    tool_log_format fmt;
    assert_int_equal(tool_log_parse_format("json", &fmt), 0);
    assert_int_equal(fmt, TOOL_LOG_JSON);
    assert_int_equal(tool_log_parse_format("text", &fmt), 0);
    assert_int_equal(fmt, TOOL_LOG_TEXT);
    assert_int_equal(tool_log_parse_format("JSON", &fmt), -1);

    serve_opts o;
    const char *ok[] = {"--metrics", "localhost:9100", "--log-format", "json", NULL};
    assert_int_equal(parse_serve(ok, &o), 0);
    assert_true(o.have_metrics);
    assert_string_equal(o.metrics.host, "127.0.0.1");
    assert_int_equal(o.metrics.port, 9100);
    assert_int_equal(o.log_format, TOOL_LOG_JSON);
    assert_true(o.listen_default);
    serve_opts_free(&o);

    const char *listen[] = {"--listen", "127.0.0.1:0", NULL};
    assert_int_equal(parse_serve(listen, &o), 0);
    assert_false(o.listen_default);
    assert_false(o.have_metrics);
    serve_opts_free(&o);

    const char *badfmt[] = {"--log-format", "xml", NULL};
    assert_int_equal(parse_serve(badfmt, &o), TOOL_EXIT_USAGE);
    assert_string_equal(g_text, "memtls serve: --log-format 'xml': expected text or json\n");
    serve_opts_free(&o);

    const char *badaddr[] = {"--metrics", "9100", NULL};
    assert_int_equal(parse_serve(badaddr, &o), TOOL_EXIT_USAGE);
    assert_non_null(strstr(g_text, "--metrics"));
    serve_opts_free(&o);

    const char *twice[] = {"--metrics", "127.0.0.1:1", "--metrics", "127.0.0.1:2", NULL};
    assert_int_equal(parse_serve(twice, &o), TOOL_EXIT_USAGE);
    assert_non_null(strstr(g_text, "--metrics given twice"));
    serve_opts_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes),   cmocka_unit_test(test_fields),
        cmocka_unit_test(test_long_line), cmocka_unit_test(test_errors_and_warnings),
        cmocka_unit_test(test_options),   cmocka_unit_test(test_forced_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
