/*
 * sandbox.c - a worker process gives up what it does not need; see
 * sandbox.h.
 */
#define _GNU_SOURCE /* setgroups, getpwnam_r */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <seccomp.h>

#include "sandbox.h"

int memtls__sandbox_user(const char *name, unsigned *uid, unsigned *gid, char *err, size_t errlen)
{
    struct passwd pw;
    struct passwd *res = NULL;
    char buf[4096];
    int rc = getpwnam_r(name, &pw, buf, sizeof buf, &res);
    if (rc != 0 || res == NULL) {
        snprintf(err, errlen, "user %s: %s", name, rc != 0 ? strerror(rc) : "no such user");
        return -1;
    }
    *uid = (unsigned)pw.pw_uid;
    *gid = (unsigned)pw.pw_gid;
    return 0;
}

static int drop_user(const rt_sandbox *sb, char *err, size_t errlen)
{
    if (!sb->drop_user || geteuid() != 0) {
        return 0;
    }
    if (setgroups(0, NULL) != 0 || setresgid(sb->gid, sb->gid, sb->gid) != 0 ||
        setresuid(sb->uid, sb->uid, sb->uid) != 0) {
        snprintf(err, errlen, "cannot switch to uid %u gid %u: %s", sb->uid, sb->gid,
                 strerror(errno));
        return -1;
    }
    /* Make sure there is no way back. */
    if (setuid(0) == 0 && sb->uid != 0) {
        snprintf(err, errlen, "switched to uid %u but could become root again", sb->uid);
        return -1;
    }
    return 0;
}

/* MEMTLS_SANDBOX_DEBUG: say which call it was, then die like the filter
 * would have killed us. Only async-signal-safe calls. */
static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
    char msg[64] = "memtls worker: forbidden system call ";
    size_t n = strlen(msg);
    char digits[12];
    int nr = si->si_syscall;
    size_t d = 0;
    (void)sig;
    (void)ctx;
    do {
        digits[d++] = (char)('0' + nr % 10);
        nr /= 10;
    } while (nr > 0 && d < sizeof digits);
    while (d > 0 && n < sizeof msg - 2) {
        msg[n++] = digits[--d];
    }
    msg[n++] = '\n';
    (void)!write(2, msg, n);
    signal(SIGSYS, SIG_DFL);
    raise(SIGSYS);
    _exit(128 + SIGSYS);
}

/* The system calls of a worker's loop (sandbox.h says why each). */
static const int allowed[] = {
    SCMP_SYS(read),          SCMP_SYS(write),          SCMP_SYS(readv),
    SCMP_SYS(writev),        SCMP_SYS(close),          SCMP_SYS(epoll_wait),
    SCMP_SYS(epoll_pwait),   SCMP_SYS(epoll_ctl),      SCMP_SYS(futex),
    SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),   SCMP_SYS(clock_nanosleep),
    SCMP_SYS(nanosleep),     SCMP_SYS(gettimeofday),   SCMP_SYS(getrandom),
    SCMP_SYS(brk),           SCMP_SYS(munmap),         SCMP_SYS(mremap),
    SCMP_SYS(madvise),       SCMP_SYS(fstat),          SCMP_SYS(newfstatat),
    SCMP_SYS(lseek),         SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
    SCMP_SYS(getpid),        SCMP_SYS(gettid),         SCMP_SYS(sched_yield),
    SCMP_SYS(exit),          SCMP_SYS(exit_group),     SCMP_SYS(restart_syscall),
};

static int install_filter(char *err, size_t errlen)
{
    int debug = getenv("MEMTLS_SANDBOX_DEBUG") != NULL;
    if (debug) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_sigsys;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGSYS, &sa, NULL);
    }
    scmp_filter_ctx ctx = seccomp_init(debug ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS);
    if (ctx == NULL) {
        snprintf(err, errlen, "seccomp: cannot make a filter");
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof allowed / sizeof allowed[0]; i++) {
        /* A call this architecture does not have resolves to a negative
         * pseudo number: skip it. */
        if (allowed[i] >= 0) {
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
        }
    }
    /* Memory, but never executable memory. */
    if (rc == 0) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
                              SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    }
    if (rc == 0) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                              SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    }
    if (rc == 0) {
        rc = seccomp_load(ctx);
    }
    seccomp_release(ctx);
    if (rc != 0) {
        snprintf(err, errlen, "seccomp: cannot install the filter: %s", strerror(-rc));
        return -1;
    }
    return 0;
}

int memtls__sandbox_enter(const rt_sandbox *sb, char *err, size_t errlen)
{
    if (drop_user(sb, err, errlen) != 0) {
        return -1;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        snprintf(err, errlen, "prctl: %s", strerror(errno));
        return -1;
    }
    return install_filter(err, errlen);
}
