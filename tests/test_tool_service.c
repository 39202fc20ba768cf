/*
 * test_tool_service.c - the service manager's protocols as memtls serve
 * speaks them: notifications reach $NOTIFY_SOCKET (a path or an abstract
 * name) as one datagram each; socket activation takes descriptors 3.. with
 * their names only when LISTEN_PID is this process, marks them
 * close-on-exec, removes the variables, and names what is wrong with
 * them.
 */
#include "test.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "service.h"

static char g_text[4096];

/* Run `fn` with tool output captured in g_text. */
static int captured(int (*fn)(void *), void *arg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    tool_set_output(out);
    int rc = fn(arg);
    tool_set_output(NULL);
    assert_int_equal(fclose(out), 0);
    snprintf(g_text, sizeof g_text, "%s", buf != NULL ? buf : "");
    free(buf);
    return rc;
}

static int open_notify(void *arg)
{
    (void)arg;
    return svc_notify_open();
}

/* A datagram socket bound at `name` (a path, or "@abstract"). */
static int receiver(const char *name)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    size_t len = strlen(name);
    memcpy(a.sun_path, name, len);
    if (name[0] == '@') {
        a.sun_path[0] = '\0';
    }
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, alen), 0);
    struct timeval tv = {5, 0};
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    return fd;
}

static void expect_datagram(int fd, const char *want)
{
    char buf[512];
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_string_equal(buf, want);
}

static void test_notify(void **state)
{
    (void)state;
    char dir[] = "/tmp/memtls-notify.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/notify", dir);

    unsetenv("NOTIFY_SOCKET");
    assert_int_equal(captured(open_notify, NULL), 0);
    assert_false(svc_notify_enabled());
    svc_notify("READY=1"); /* nothing to send it to: a no-op */

    int r = receiver(path);
    setenv("NOTIFY_SOCKET", path, 1);
    assert_int_equal(captured(open_notify, NULL), 1);
    assert_true(svc_notify_enabled());
    svc_notify("READY=1\nSTATUS=%d connection(s)", 3);
    expect_datagram(r, "READY=1\nSTATUS=3 connection(s)");
    svc_notify("RELOADING=1\nMONOTONIC_USEC=%llu", svc_monotonic_usec());
    char buf[128];
    ssize_t n = recv(r, buf, sizeof buf - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_true(strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0);
    assert_true(strtoull(buf + 27, NULL, 10) > 0);
    close(r);
    unlink(path);
    rmdir(dir);

    char abstract[64];
    snprintf(abstract, sizeof abstract, "@memtls-test-%d", (int)getpid());
    r = receiver(abstract);
    setenv("NOTIFY_SOCKET", abstract, 1);
    assert_int_equal(captured(open_notify, NULL), 1);
    svc_notify("STOPPING=1");
    expect_datagram(r, "STOPPING=1");
    close(r);

    setenv("NOTIFY_SOCKET", "relative/path", 1);
    assert_int_equal(captured(open_notify, NULL), -1);
    assert_non_null(strstr(g_text, "NOTIFY_SOCKET 'relative/path': not a socket path"));
    unsetenv("NOTIFY_SOCKET");
}

typedef struct fds_call {
    svc_socket s[4];
    size_t max;
} fds_call;

static int listen_fds(void *arg)
{
    fds_call *c = arg;
    return svc_listen_fds(c->s, c->max);
}

static void set_env(const char *pid, const char *fds, const char *names)
{
    char self[32];
    snprintf(self, sizeof self, "%d", (int)getpid());
    setenv("LISTEN_PID", pid != NULL ? pid : self, 1);
    setenv("LISTEN_FDS", fds, 1);
    if (names != NULL) {
        setenv("LISTEN_FDNAMES", names, 1);
    } else {
        unsetenv("LISTEN_FDNAMES");
    }
}

static void test_listen_fds(void **state)
{
    (void)state;
    fds_call c = {.max = 4};
    /* Descriptors 3 and 4 are sockets, as systemd would pass them. */
    for (int fd = 3; fd <= 4; fd++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(s >= 0);
        if (s != fd) {
            assert_int_equal(dup2(s, fd), fd);
            close(s);
        }
        assert_int_equal(fcntl(fd, F_SETFD, 0), 0);
    }

    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    assert_int_equal(captured(listen_fds, &c), 0);

    set_env("1", "2", NULL); /* for another process */
    assert_int_equal(captured(listen_fds, &c), 0);
    assert_non_null(getenv("LISTEN_FDS")); /* not ours to remove */

    set_env(NULL, "2", "tls:plaintext");
    assert_int_equal(captured(listen_fds, &c), 2);
    assert_int_equal(c.s[0].fd, 3);
    assert_string_equal(c.s[0].name, "tls");
    assert_int_equal(c.s[1].fd, 4);
    assert_string_equal(c.s[1].name, "plaintext");
    assert_true(fcntl(3, F_GETFD) & FD_CLOEXEC);
    assert_true(fcntl(4, F_GETFD) & FD_CLOEXEC);
    assert_null(getenv("LISTEN_PID"));
    assert_null(getenv("LISTEN_FDS"));
    assert_null(getenv("LISTEN_FDNAMES"));

    set_env(NULL, "1", NULL); /* names are optional */
    assert_int_equal(captured(listen_fds, &c), 1);
    assert_string_equal(c.s[0].name, "");

    static const struct {
        const char *pid, *fds, *names, *error;
    } bad[] = {
        {"x", "1", NULL, "LISTEN_PID='x': not a number"},
        {NULL, "-1", NULL, "LISTEN_FDS='-1': not a number"},
        {NULL, "5", NULL, "LISTEN_FDS=5: at most 4 sockets"},
        {NULL, "2", "a", "LISTEN_FDNAMES='a': 1 name(s) for LISTEN_FDS=2"},
        {NULL, "1", "a:b", "LISTEN_FDNAMES='a:b': more names than LISTEN_FDS=1"},
        {NULL, "3", NULL, "LISTEN_FDS=3: descriptor 5 is not open"},
    };
    close(5);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        set_env(bad[i].pid, bad[i].fds, bad[i].names);
        assert_int_equal(captured(listen_fds, &c), -1);
        if (strstr(g_text, bad[i].error) == NULL) {
            print_error("case %zu: got '%s'\n", i, g_text);
            fail();
        }
    }
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    close(3);
    close(4);
}

int main(void)
{
    tool_set_name("memtls serve");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notify),
        cmocka_unit_test(test_listen_fds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
