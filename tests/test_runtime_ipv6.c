/*
 * test_runtime_ipv6.c - listeners on the IPv6 loopback ::1 (TLS and
 * plaintext, next to an IPv4 one): echo works, and the records name the
 * peer as "[::1]:port". Skipped, with a message, on a machine without an
 * IPv6 loopback.
 */
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rt_fixture.h"

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
    rt_fixture *f = *state;
    if (!have_ipv6_loopback()) {
        print_message("skipped: this machine has no IPv6 loopback (::1)\n");
        skip();
    }
    f->listeners[0].host = "::1";
    rt_add_listener(f, "::1", 1);
    rt_add_listener(f, "127.0.0.1", 0);
    rt_start(f);

    static const struct {
        uint64_t seed;
        size_t bytes;
    } runs[] = {{61, 256 * 1024}, {62, 256 * 1024}, {63, 1024}};
    for (size_t i = 0; i < 3; i++) {
        rc_conn *c = rt_connect(f, (rc_how){.listener = i});
        assert_int_equal(rc_echo(c, runs[i].seed, runs[i].bytes, TEST_TIMEOUT_MS), 0);
        assert_int_equal(rc_close(c, TEST_TIMEOUT_MS), 0);
        rc_free(c);
    }
    rt_finish(f, 3);
    assert_int_equal(f->log.clean, 3);
    assert_true(rc_log_has_peer(&f->log, "[::1]:"));
    assert_true(rc_log_has_peer(&f->log, "127.0.0.1:"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_ipv6_listeners, rt_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
