/*
 * test_tool_args.c - the command's option parsing, called alone (as the
 * argument fuzzer calls it): single-value options given twice are
 * refused with one line naming them, repeatable ones collect every value,
 * switches may repeat, parsing twice in one process gives the same
 * answer, and every message is exactly one line whatever the arguments
 * hold (inputs found by fuzz/fuzz_args are embedded as regressions).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "connect_args.h"
#include "log.h"
#include "serve_args.h"

/* What one parse printed. */
static char g_text[4096];

static int lines_of(const char *s)
{
    int n = 0;
    for (; *s != '\0'; s++) {
        n += *s == '\n';
    }
    return n;
}

/* Parse `args` (NULL-terminated, without the subcommand) as `memtls serve`
 * or `memtls connect`; the printed text lands in g_text. */
static int parse(int connect, const char *const *args)
{
    char *argv[64];
    int argc = 0;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);

    argv[argc++] = connect ? "connect" : "serve";
    for (; *args != NULL; args++) {
        argv[argc++] = (char *)*args;
    }
    argv[argc] = NULL;
    tool_set_name(connect ? "memtls connect" : "memtls serve");
    tool_set_output(out);
    int rc;
    if (connect) {
        connect_opts o;
        connect_opts_init(&o);
        rc = connect_parse_args(argc, argv, &o);
        connect_opts_free(&o);
    } else {
        serve_opts o;
        serve_opts_init(&o);
        rc = serve_parse_args(argc, argv, &o);
        serve_opts_free(&o);
    }
    tool_set_output(NULL);
    assert_int_equal(fclose(out), 0);
    snprintf(g_text, sizeof g_text, "%s", buf != NULL ? buf : "");
    free(buf);
    return rc;
}

static void test_single_value_twice(void **state)
{
    (void)state;
    const char *ca[] = {"--ca",  "a.pem", "--cert", "a.crt", "--key",
                        "a.key", "--ca",  "b.pem",  NULL};
    assert_int_equal(parse(0, ca), TOOL_EXIT_USAGE);
    assert_string_equal(g_text,
                        "memtls serve: --ca given twice ('a.pem', then 'b.pem'); give it once\n");

    const char *keys[] = {"--ticket-keys=a.keys", "--ticket-keys", "b.keys", NULL};
    assert_int_equal(parse(0, keys), TOOL_EXIT_USAGE);
    assert_non_null(strstr(g_text, "--ticket-keys given twice ('a.keys', then 'b.keys')"));

    /* An abbreviation is the same option. */
    const char *abbrev[] = {"--servername", "a", "--server", "b", "h:1", NULL};
    assert_int_equal(parse(1, abbrev), TOOL_EXIT_USAGE);
    assert_non_null(strstr(g_text, "--servername given twice"));
}

static void test_repeatable_and_switches(void **state)
{
    (void)state;
    const char *serve[] = {"--listen", "127.0.0.1:1", "--listen", "[::1]:2",
                           "--echo",   "--echo",      NULL};
    assert_int_equal(parse(0, serve), 0);
    assert_string_equal(g_text, "");

    const char *connect[] = {"-k", "--insecure", "-v", "--verbose", "-kv", "localhost:443", NULL};
    assert_int_equal(parse(1, connect), 0);
    assert_string_equal(g_text, "");
}

static void test_help_prints_nothing(void **state)
{
    (void)state;
    const char *help[] = {"--cert", "x", "-h", NULL};
    assert_int_equal(parse(0, help), ARGS_HELP);
    assert_string_equal(g_text, "");
}

/* getopt_long keeps state between calls (its place inside "-kv"); a
 * parse that stopped inside a group must not leak into the next one. */
static void test_parse_twice(void **state)
{
    (void)state;
    const char *stop[] = {"-kx", "h:1", NULL};
    const char *ok[] = {"-v", "h:1", NULL};
    const char *help[] = {"-hk", NULL};
    const char *echo[] = {"--echo", NULL};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(parse(1, stop), TOOL_EXIT_USAGE);
        assert_non_null(strstr(g_text, "unknown option '-x'"));
        assert_int_equal(parse(1, ok), 0);
        assert_string_equal(g_text, "");
        /* --help stops inside "-hk": the "k" must not reach serve. */
        assert_int_equal(parse(1, help), ARGS_HELP);
        assert_int_equal(parse(0, echo), 0);
        assert_string_equal(g_text, "");
    }
}

/* fuzz_args, first finding: a newline in an argument made the error two
 * lines ("unexpected argument '\n\xd9'"). Control characters are now
 * escaped, in every message. */
static void test_error_is_one_line(void **state)
{
    (void)state;
    const char *found[] = {"\n\xd9", NULL};
    assert_int_equal(parse(0, found), TOOL_EXIT_USAGE);
    assert_int_equal(lines_of(g_text), 1);
    assert_string_equal(g_text, "memtls serve: unexpected argument '\\x0a\xd9' (see 'memtls serve "
                                "--help')\n");

    const char *cert[] = {"--ca", "a\r\nmemtls serve: forged", "--ca", "\x1b[2J", NULL};
    assert_int_equal(parse(0, cert), TOOL_EXIT_USAGE);
    assert_int_equal(lines_of(g_text), 1);
    assert_non_null(strstr(g_text, "'a\\x0d\\x0amemtls serve: forged', then '\\x1b[2J'"));
}

/* The same for log lines (the server logs a peer's SNI and subject). */
static void test_log_line_is_one_line(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    tool_set_output(out);
    tool_log(TOOL_LOG_ERROR, "conn=1 sni=%s close=\"x\"", "evil\n2026-01-01T00:00:00.000Z info x");
    tool_set_output(NULL);
    assert_int_equal(fclose(out), 0);
    assert_int_equal(lines_of(buf), 1);
    assert_non_null(strstr(buf, "sni=evil\\x0a2026"));
    free(buf);
}

/* Parse `args` as serve and keep the options (the caller frees them). */
static int parse_serve(const char *const *args, serve_opts *o)
{
    char *argv[64];
    int argc = 0;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    argv[argc++] = "serve";
    for (; *args != NULL; args++) {
        argv[argc++] = (char *)*args;
    }
    argv[argc] = NULL;
    tool_set_name("memtls serve");
    tool_set_output(out);
    serve_opts_init(o);
    int rc = serve_parse_args(argc, argv, o);
    tool_set_output(NULL);
    assert_int_equal(fclose(out), 0);
    snprintf(g_text, sizeof g_text, "%s", buf != NULL ? buf : "");
    free(buf);
    return rc;
}

/* --cert and --key come in pairs, in order: the Nth --key is the Nth
 * --cert's; counts that differ are refused with both numbers. */
static void test_cert_pairs(void **state)
{
    (void)state;
    serve_opts o;
    const char *three[] = {"--cert", "a.pem", "--key", "a.key", "--cert", "b.pem", "--cert",
                           "c.pem",  "--key", "b.key", "--key", "c.key",  NULL};
    assert_int_equal(parse_serve(three, &o), 0);
    assert_int_equal(o.certs.n, 3);
    assert_int_equal(o.keys.n, 3);
    assert_string_equal(o.certs.v[1], "b.pem");
    assert_string_equal(o.keys.v[1], "b.key");
    serve_opts_free(&o);

    const char *odd[] = {"--cert", "a.pem", "--key", "a.key", "--cert", "b.pem", NULL};
    assert_int_equal(parse_serve(odd, &o), TOOL_EXIT_USAGE);
    assert_string_equal(g_text, "memtls serve: 2 --cert but 1 --key: give them in pairs (the Nth "
                                "--key is the Nth --cert's)\n");
    serve_opts_free(&o);
    const char *lone[] = {"--key", "a.key", NULL};
    assert_int_equal(parse_serve(lone, &o), TOOL_EXIT_USAGE);
    assert_string_equal(g_text, "memtls serve: --key given without --cert\n");
    serve_opts_free(&o);
}

/* The ticket and PROXY protocol options: values checked, combinations
 * that contradict each other refused; ',proxy' and ',plaintext' on a
 * listener in either order. */
static void test_fleet_options(void **state)
{
    (void)state;
    serve_opts o;
    const char *all[] = {"--ticket-keys",
                         "t.keys",
                         "--ticket-lifetime",
                         "604800",
                         "--listen",
                         "127.0.0.1:0,proxy",
                         "--listen",
                         "127.0.0.1:0,proxy,plaintext",
                         "--listen",
                         "[::1]:0,plaintext,proxy",
                         "--backend",
                         "127.0.0.1:80",
                         "--proxy-protocol",
                         "v2",
                         NULL};
    assert_int_equal(parse_serve(all, &o), 0);
    assert_string_equal(g_text, "");
    assert_string_equal(o.ticket_keys, "t.keys");
    assert_int_equal(o.ticket_lifetime, 604800);
    assert_int_equal(o.proxy_protocol, MEMTLS_PROXY_V2);
    assert_int_equal(o.listener_count, 3);
    assert_int_equal(o.listeners[0].proxy_protocol, 1);
    assert_int_equal(o.listeners[0].plaintext, 0);
    assert_int_equal(o.listeners[1].proxy_protocol, 1);
    assert_int_equal(o.listeners[1].plaintext, 1);
    assert_int_equal(o.listeners[2].proxy_protocol, 1);
    serve_opts_free(&o);

    static const struct {
        const char *args[6];
        const char *message;
    } bad[] = {
        {{"--ticket-lifetime", "604801"}, "--ticket-lifetime"},
        {{"--ticket-lifetime", "0"}, "--ticket-lifetime"},
        {{"--ticket-rotate", "0"}, "--ticket-rotate"},
        {{"--no-tickets", "--ticket-keys", "k"}, "--no-tickets excludes --ticket-keys"},
        {{"--no-tickets", "--ticket-rotate", "60"}, "--no-tickets excludes --ticket-rotate"},
        {{"--ticket-lifetime", "60", "--no-tickets"}, "--no-tickets excludes --ticket-lifetime"},
        {{"--ticket-keys", "k", "--ticket-rotate", "60"},
         "--ticket-rotate does not apply to --ticket-keys"},
        {{"--proxy-protocol", "v2"}, "--proxy-protocol needs --backend"},
        {{"--proxy-protocol", "v3", "--backend", "127.0.0.1:1"},
         "--proxy-protocol 'v3': expected v1 or v2"},
        {{"--listen", "127.0.0.1:0,proxy,bogus"}, "unknown flag 'bogus'"},
        {{"--listen", "127.0.0.1:0,"}, "unknown flag ''"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse_serve(bad[i].args, &o), TOOL_EXIT_USAGE);
        if (strstr(g_text, bad[i].message) == NULL) {
            print_error("case %zu: '%s' lacks '%s'\n", i, g_text, bad[i].message);
        }
        assert_non_null(strstr(g_text, bad[i].message));
        assert_int_equal(lines_of(g_text), 1);
        serve_opts_free(&o);
    }
}

/* A message longer than a line is cut, still one line. */
static void test_long_message(void **state)
{
    (void)state;
    static char big[5000];
    memset(big, '\n', sizeof big - 1);
    const char *args[] = {big, NULL};
    assert_int_equal(parse(0, args), TOOL_EXIT_USAGE);
    assert_int_equal(lines_of(g_text), 1);
    assert_true(strlen(g_text) < 2048);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_value_twice),  cmocka_unit_test(test_repeatable_and_switches),
        cmocka_unit_test(test_help_prints_nothing), cmocka_unit_test(test_parse_twice),
        cmocka_unit_test(test_error_is_one_line),   cmocka_unit_test(test_log_line_is_one_line),
        cmocka_unit_test(test_long_message),        cmocka_unit_test(test_cert_pairs),
        cmocka_unit_test(test_fleet_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
