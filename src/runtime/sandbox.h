/*
 * sandbox.h - private: what a worker process gives up before it serves
 * (see memtls_server_opts.isolate). In this order: the user (when it runs
 * as root and one was configured: supplementary groups dropped, then the
 * group, then the user), PR_SET_NO_NEW_PRIVS, PR_SET_DUMPABLE 0 (no
 * ptrace, no core file, /proc/PID/mem owned by root), and a seccomp-bpf
 * filter that allows the system calls of a worker's loop and nothing
 * else: a forbidden call kills the process (SIGSYS), and its I/O thread
 * logs that and starts it again.
 *
 * What the filter allows, and why: read/write/readv/writev/close (the
 * eventfds, the log descriptor), epoll_wait/epoll_pwait/epoll_ctl (the
 * loop), futex, clock_gettime/clock_nanosleep/nanosleep/gettimeofday
 * (timers), getrandom (OpenSSL's DRBG), brk/mmap/munmap/mremap/madvise
 * and mprotect, but never with PROT_EXEC (the allocator, including
 * malloc_trim), fstat/newfstatat/lseek (stdio's first write),
 * rt_sigprocmask/rt_sigreturn, getpid/gettid/sched_yield, exit/exit_group,
 * restart_syscall. Not allowed: anything that makes or uses a socket,
 * opens or creates a file, executes, traces, changes credentials or
 * signals another process.
 *
 * With MEMTLS_SANDBOX_DEBUG=1 in the environment a forbidden call is
 * not silent: the worker writes "forbidden system call N" to stderr
 * before it dies (the number is the machine's: ausyscall N names it).
 */
#ifndef MEMTLS_RUNTIME_SANDBOX_H
#define MEMTLS_RUNTIME_SANDBOX_H

#include <stddef.h>

typedef struct rt_sandbox {
    int drop_user; /* switch to uid/gid (only when running as root) */
    unsigned uid;
    unsigned gid;
} rt_sandbox;

/* Enter the sandbox: 0, or -1 with a message in err (the process must
 * not serve then). */
int memtls__sandbox_enter(const rt_sandbox *sb, char *err, size_t errlen);

/* Resolve a user name (memtls_server_opts.user) to uid and gid: 0, or -1
 * with a message naming it. */
int memtls__sandbox_user(const char *name, unsigned *uid, unsigned *gid, char *err, size_t errlen);

#endif
