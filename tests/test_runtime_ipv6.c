/*
 * test_runtime_ipv6.c - listeners on the IPv6 loopback ::1 (TLS and
 * plaintext, next to an IPv4 one): echo works, and the records name the
 * peer as "[::1]:port". Skipped, with a message, on a machine without an
 * IPv6 loopback.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime_client.h"

/* 1 if a socket can be bound to [::1]:0. */
static int have_ipv6_loopback(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0) {
        return 0;
    }
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* Test: TLS on [::1], plaintext on [::1], TLS on 127.0.0.1, one server. */
static void test_ipv6_listeners(void **state)
{
    (void)state;
    if (!have_ipv6_loopback()) {
        print_message("skipped: this machine has no IPv6 loopback (::1)\n");
        skip();
    }
    rc_pki pki;
    rc_pki_make(&pki);
    memtls_config *cfg = rc_server_config(&pki, MEMTLS_VERIFY_NONE);
    rc_log log;
    rc_log_init(&log);
    memtls_server_opts o;
    memtls_listener_opts ls[3];
    rc_opts_default(&o, &ls[0], 0, cfg, &log);
    ls[0].host = "::1";
    ls[1] = ls[0];
    ls[1].plaintext = 1;
    ls[2] = ls[0];
    ls[2].host = "127.0.0.1";
    o.listeners = ls;
    o.listener_count = 3;
    char err[256];
    memtls_server *srv = memtls_server_new(&o, err, sizeof err);
    if (srv == NULL) {
        print_error("memtls_server_new: %s\n", err);
    }
    assert_non_null(srv);
    assert_int_equal(memtls_server_start(srv), 0);

    rc_conn c;
    assert_int_equal(
        rc_connect_tls(&c, "::1", memtls_server_bound_port(srv, 0), &pki.ca, NULL, 10000), 0);
    assert_int_equal(rc_echo(&c, 61, 256 * 1024, 10000), 0);
    assert_int_equal(rc_close(&c, 10000), 0);
    rc_free(&c);

    memset(&c, 0, sizeof c);
    c.fd = rc_tcp_connect_host("::1", memtls_server_bound_port(srv, 1));
    assert_true(c.fd >= 0);
    assert_int_equal(rc_echo(&c, 62, 256 * 1024, 10000), 0);
    assert_int_equal(rc_close(&c, 10000), 0);
    rc_free(&c);

    assert_int_equal(
        rc_connect_tls(&c, "127.0.0.1", memtls_server_bound_port(srv, 2), &pki.ca, NULL, 10000), 0);
    assert_int_equal(rc_echo(&c, 63, 1024, 10000), 0);
    assert_int_equal(rc_close(&c, 10000), 0);
    rc_free(&c);

    assert_int_equal(rc_log_wait(&log, 3, 10000), 0);
    assert_int_equal(rc_wait_open(srv, 0, 10000), 0);
    memtls_server_stop(srv, 1000);
    rc_log_dump(&log);
    assert_int_equal(rc_log_count(&log), 3);
    assert_int_equal(log.clean, 3);
    assert_true(rc_log_has_peer(&log, "[::1]:"));
    assert_true(rc_log_has_peer(&log, "127.0.0.1:"));
    memtls_server_free(srv);
    memtls_config_free(cfg);
    rc_log_destroy(&log);
    rc_pki_free(&pki);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv6_listeners),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
