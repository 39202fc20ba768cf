/*
 * spawner.c - the spawner process, and the life of a worker process from
 * fork to _exit. See procs.h for the picture and spawner.h for the
 * messages.
 *
 * IMPLEMENTATION NOTES
 *
 * The spawner is single-threaded, so fork() is safe in it at any time,
 * and it keeps the configuration (load_tls's result) that every worker
 * inherits. It leaves the host's process group, so a terminal's ^C reaches
 * only the host (which stops the workers in order), and ignores the
 * signals the host handles. It reaps its children through a signalfd and
 * reports each exit. When its socket closes it SIGKILLs the workers left,
 * reaps them and exits: nothing outlives the host process.
 *
 * A worker closes what it inherited from the spawner but its channel and
 * the standard descriptors, maps its channel, builds the worker (its
 * loop's bell is the eventfd the host signals), enters the sandbox, says
 * it serves (`ready`) and runs its loop. PR_SET_PDEATHSIG kills it with
 * the spawner.
 */
#define _GNU_SOURCE /* MSG_CMSG_CLOEXEC, SOCK_CLOEXEC */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metrics.h"
#include "sandbox.h"
#include "spawner.h"
#include "worker.h"

/* Children the spawner keeps track of (a bound: every link slot). */
#define SPAWNER_MAX_CHILDREN (RT_MAX_THREADS * RT_LINK_SLOTS + 16u)

/* Room for the descriptors of one message (SPAWN: at most 3). */
typedef union sp_control {
    char buf[CMSG_SPACE(3 * sizeof(int))];
    struct cmsghdr align;
} sp_control;

/* A msghdr for one rt_sp_msg, with `controllen` bytes of u for
 * descriptors (0: none). */
static void sp_msghdr(struct msghdr *mh, struct iovec *iov, rt_sp_msg *m, sp_control *u,
                      size_t controllen)
{
    iov->iov_base = m;
    iov->iov_len = sizeof *m;
    memset(mh, 0, sizeof *mh);
    mh->msg_iov = iov;
    mh->msg_iovlen = 1;
    if (controllen > 0) {
        memset(u, 0, sizeof *u);
        mh->msg_control = u->buf;
        mh->msg_controllen = controllen;
    }
}

int memtls__sp_send(int sock, const rt_sp_msg *m, const int *fds, int nfds)
{
    struct iovec iov;
    sp_control u;
    struct msghdr mh;
    sp_msghdr(&mh, &iov, (rt_sp_msg *)m, &u, nfds > 0 ? CMSG_SPACE((size_t)nfds * sizeof(int)) : 0);
    if (nfds > 0) {
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
    }
    ssize_t n;
    do {
        n = sendmsg(sock, &mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return -errno;
    }
    return n == (ssize_t)sizeof *m ? 0 : -EPROTO;
}

int memtls__sp_recv(int sock, rt_sp_msg *m, int *fds, int maxfds, int *nfds)
{
    struct iovec iov;
    sp_control u;
    struct msghdr mh;
    sp_msghdr(&mh, &iov, m, &u, sizeof u.buf);
    *nfds = 0;
    ssize_t n;
    do {
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return -errno;
    }
    /* Take every descriptor that came, whatever else is wrong, so none
     * leaks. */
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            if (*nfds < maxfds) {
                fds[(*nfds)++] = fd;
            } else {
                close(fd);
            }
        }
    }
    if (n == 0) {
        return -EPIPE;
    }
    if (n != (ssize_t)sizeof *m || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
        return -EPROTO;
    }
    m->msg[sizeof m->msg - 1] = '\0';
    return 0;
}

/* --- the worker process --------------------------------------------------------- */

static void worker_sleep(void *arg, int on)
{
    rt_worker *w = arg;
    memtls__chan_sleep(w->ch, RT_TO_WORKER, on);
}

void memtls__worker_process(memtls_server *srv, const rt_sp_msg *m, int memfd, int efd_worker,
                            int efd_host)
{
    char err[256] = "";
    rt_channel *ch = memtls__chan_map(memfd, srv->ring_capacity, 0, efd_worker, 0, efd_host, 1);
    close(memfd);
    if (ch == NULL) {
        _exit(3);
    }
    rt_worker *w = NULL;
    const rt_app_ops *app = memtls__server_app_ops(srv);
    if (memtls__worker_new(srv, m->worker, app, NULL, efd_worker, &w) != 0) {
        snprintf(err, sizeof err, "worker %u: out of memory", m->worker);
        goto fail;
    }
    w->ch = ch;
    w->process = 1;
    w->m = srv->metrics != NULL && m->gid < srv->metrics->nblocks ? &srv->metrics->w[m->gid] : NULL;
    memtls__loop_on_sleep(&w->own, worker_sleep, w);
    rt_sandbox sb = {srv->drop_user, srv->uid, srv->gid};
    if (memtls__sandbox_enter(&sb, err, sizeof err) != 0) {
        goto fail;
    }
    atomic_store_explicit(&ch->sh->ready, 1, memory_order_release);
    memtls__chan_force(ch, RT_TO_HOST);
    uv_run(w->uv, UV_RUN_DEFAULT);
    _exit(0);
fail:
    snprintf(ch->sh->error, sizeof ch->sh->error, "%s", err);
    memtls__chan_force(ch, RT_TO_HOST);
    _exit(2);
}

/* --- the spawner ---------------------------------------------------------------- */

typedef struct spawner {
    memtls_server *srv;
    int sock;
    int sigfd;
    pid_t children[SPAWNER_MAX_CHILDREN];
    unsigned nchildren;
} spawner;

static void reply(spawner *sp, const rt_sp_msg *m)
{
    if (memtls__sp_send(sp->sock, m, NULL, 0) != 0) {
        /* The host is gone; the next poll sees the socket closed. */
    }
}

static void load(spawner *sp)
{
    memtls_server *srv = sp->srv;
    rt_sp_msg r;
    memset(&r, 0, sizeof r);
    r.type = RT_SP_LOADED;
    char err[sizeof r.msg] = "";
    memtls_config *cfg = srv->load_tls(srv->load_tls_arg, srv->cfg, err, sizeof err);
    if (cfg == NULL) {
        r.status = -1;
        snprintf(r.msg, sizeof r.msg, "%s", err[0] ? err : "the configuration could not be loaded");
    } else if (memtls_config_role(cfg) != MEMTLS_ROLE_SERVER || !memtls_config_has_cert(cfg)) {
        memtls_config_free(cfg);
        r.status = -1;
        snprintf(r.msg, sizeof r.msg, "load_tls: not a server configuration with a certificate");
    } else {
        memtls_config_free(srv->cfg);
        srv->cfg = cfg;
        /* First use (a context) here, before the workers are forked: the
         * generated ticket keys are made now, so every worker of this load
         * has the same ones and a ticket one of them issued resumes on any
         * other. */
        memtls_ctx_free(memtls_ctx_new(cfg));
        r.have_cert =
            memtls__cert_info(cfg, r.cert_subject, sizeof r.cert_subject, &r.cert_not_after);
    }
    reply(sp, &r);
}

static void spawn(spawner *sp, const rt_sp_msg *m, int *fds)
{
    rt_sp_msg r;
    memset(&r, 0, sizeof r);
    r.type = RT_SP_SPAWNED;
    r.host = m->host;
    r.link = m->link;
    pid_t parent = getpid();
    pid_t pid = -1;
    if (sp->srv->cfg == NULL && sp->srv->load_tls != NULL) {
        r.status = -EINVAL; /* nothing loaded */
    } else if (sp->nchildren >= SPAWNER_MAX_CHILDREN) {
        r.status = -EAGAIN;
    } else {
        pid = fork();
        if (pid < 0) {
            r.status = -errno;
        }
    }
    if (pid == 0) {
        /* The worker: nothing of the spawner's but the channel. */
        close(sp->sock);
        close(sp->sigfd);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (getppid() != parent) {
            _exit(0);
        }
        char name[16];
        snprintf(name, sizeof name, "memtls-w%u", m->worker);
        prctl(PR_SET_NAME, name, 0, 0, 0);
        memtls__worker_process(sp->srv, m, fds[0], fds[1], fds[2]);
    }
    if (pid > 0) {
        sp->children[sp->nchildren++] = pid;
        r.pid = (int32_t)pid;
    }
    for (int i = 0; i < 3; i++) {
        close(fds[i]);
    }
    reply(sp, &r);
}

static int is_child(const spawner *sp, pid_t pid)
{
    for (unsigned i = 0; i < sp->nchildren; i++) {
        if (sp->children[i] == pid) {
            return 1;
        }
    }
    return 0;
}

static void reap(spawner *sp)
{
    struct signalfd_siginfo si;
    while (read(sp->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
    }
    for (;;) {
        int st = 0;
        pid_t pid = waitpid(-1, &st, WNOHANG);
        if (pid <= 0) {
            return;
        }
        for (unsigned i = 0; i < sp->nchildren; i++) {
            if (sp->children[i] == pid) {
                sp->children[i] = sp->children[--sp->nchildren];
                break;
            }
        }
        rt_sp_msg r;
        memset(&r, 0, sizeof r);
        r.type = RT_SP_EXITED;
        r.pid = (int32_t)pid;
        r.status = st;
        reply(sp, &r);
    }
}

static void spawner_exit(spawner *sp) __attribute__((noreturn));
static void spawner_exit(spawner *sp)
{
    for (unsigned i = 0; i < sp->nchildren; i++) {
        kill(sp->children[i], SIGKILL);
    }
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
    }
    _exit(0);
}

static void spawner_main(memtls_server *srv, int sock) __attribute__((noreturn));
static void spawner_main(memtls_server *srv, int sock)
{
    spawner sp;
    memset(&sp, 0, sizeof sp);
    sp.srv = srv;
    sp.sock = sock;
    prctl(PR_SET_NAME, "memtls-spawner", 0, 0, 0);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    /* What the host handles is not for us (nor for the workers, which
     * inherit the dispositions): a signal to the whole process group (a
     * terminal's ^C, a supervisor) stops the server through the host,
     * gracefully. The group stays the host's, so whoever accounts for or
     * kills the group gets the workers too. */
    static const int ignored[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE};
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
        signal(ignored[i], SIG_IGN);
    }
    /* Listening sockets handed to the server stay with the host. */
    for (size_t i = 0; i < srv->nlisteners; i++) {
        if (srv->listeners[i].fd > 0) {
            close(srv->listeners[i].fd);
        }
    }
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    sp.sigfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sp.sigfd < 0) {
        _exit(4);
    }
    for (;;) {
        struct pollfd p[2] = {{sock, POLLIN, 0}, {sp.sigfd, POLLIN, 0}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            spawner_exit(&sp);
        }
        if (p[1].revents != 0) {
            reap(&sp);
        }
        if (p[0].revents == 0) {
            continue;
        }
        rt_sp_msg m;
        int fds[3];
        int nfds = 0;
        int rc = memtls__sp_recv(sock, &m, fds, 3, &nfds);
        if (rc == -EAGAIN) {
            continue;
        }
        int ok = rc == 0 && ((m.type == RT_SP_SPAWN && nfds == 3) ||
                             ((m.type == RT_SP_LOAD || m.type == RT_SP_KILL) && nfds == 0));
        if (!ok) {
            for (int i = 0; i < nfds; i++) {
                close(fds[i]);
            }
            spawner_exit(&sp); /* closed, or not a message of ours */
        }
        if (m.type == RT_SP_LOAD) {
            load(&sp);
        } else if (m.type == RT_SP_SPAWN) {
            spawn(&sp, &m, fds);
        } else if (m.pid > 0 && is_child(&sp, m.pid)) {
            kill(m.pid, SIGKILL);
        }
    }
}

pid_t memtls__spawner_fork(memtls_server *srv, int *sock, char *err, size_t errlen)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        snprintf(err, errlen, "cannot make the spawner's socket: %s", strerror(errno));
        return -1;
    }
    fflush(NULL); /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "cannot start the spawner: %s", strerror(errno));
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0) {
        close(sv[0]);
        spawner_main(srv, sv[1]);
    }
    close(sv[1]);
    *sock = sv[0];
    return pid;
}
