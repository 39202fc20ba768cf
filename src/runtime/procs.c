/*
 * procs.c - worker processes: the host process's side of the spawner (the
 * supervisor thread and the synchronous start), and what a host does with
 * its link slots as processes come and go. See procs.h.
 *
 * IMPLEMENTATION NOTES
 *
 * Threads. The supervisor thread is the only one that touches the
 * spawner's socket once the server runs; it keeps the table of live
 * worker pids (which host and link each serves). Hosts reach it through a
 * locked request queue and an eventfd; it reaches a host through the
 * host's locked event queue and the host's bell. A host's links are the
 * host's alone, except that it takes srv->chans_lock (write) to add or
 * remove a channel, so statistics on other threads can walk them.
 *
 * Backoff. A worker that dies or fails to start within RT_STABLE_MS of
 * starting counts a failure; it is started again after 100 ms the first
 * time, then 1 s, 2 s, 4 s ... up to 30 s. A worker that served longer
 * starts over at 100 ms.
 */
#define _GNU_SOURCE /* strsignal */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metrics.h"
#include "procs.h"
#include "spawner.h"

#define RT_STABLE_MS 10000u
#define RT_BACKOFF_MAX_MS 30000u
/* How long the first workers may take to say they serve. */
#define RT_START_WAIT_MS 30000
/* Exiting: how long a host waits for its worker processes to leave. */
#define RT_EXIT_WAIT_MS 2000u
/* Requests waiting for the supervisor (a bound: each link slot has at
 * most one start in flight, plus kills and a load). */
#define RT_MAX_REQUESTS (RT_MAX_THREADS * RT_LINK_SLOTS * 2u + 8u)

enum { PEV_SPAWNED = 1, PEV_SPAWN_FAILED, PEV_EXITED, PEV_RELOAD };

typedef struct rt_pev {
    int type;
    unsigned link;
    int pid;
    int status; /* SPAWN_FAILED: -errno; EXITED: wait status, -1: the spawner is gone */
} rt_pev;

typedef struct rt_procs_host {
    pthread_mutex_t lock;
    rt_pev *ev;
    unsigned nev;
    unsigned evcap;
    atomic_int pending;
    uv_timer_t timer; /* restarts due, the exit deadline */
    int timer_init;
    unsigned *failures; /* by link: the worker's consecutive failures (carried to its next link) */
    uint64_t exit_since;
} rt_procs_host;

typedef struct rt_preq {
    int type; /* RT_SP_SPAWN, RT_SP_KILL, RT_SP_LOAD */
    unsigned host;
    unsigned link;
    unsigned worker;
    unsigned gid;
    int pid;
    int fds[3];
} rt_preq;

typedef struct rt_kid {
    int pid;
    unsigned host;
    unsigned link;
} rt_kid;

typedef struct rt_procs {
    pid_t spawner;
    int sock;
    int dead; /* the spawner is gone */
    pthread_t thread;
    int running;
    int wake; /* eventfd: requests for the supervisor */
    atomic_int quit;
    pthread_mutex_t lock; /* the request queue */
    rt_preq q[RT_MAX_REQUESTS];
    unsigned nq;
    rt_kid kids[RT_MAX_THREADS * RT_LINK_SLOTS];
    unsigned nkids;
    /* Reloads, one at a time. */
    pthread_mutex_t reload_lock;
    pthread_cond_t reload_cond;
    int load_done;
    int load_status;
    char load_msg[256];
    atomic_int pids[RT_MAX_THREADS]; /* the serving pid of each worker */
} rt_procs;

/* --- the spawner's messages, synchronously -------------------------------------- */

/* Wait for a message of `type` on the socket (blocking), handling
 * EXITED ones on the way with `exited` (before the supervisor runs).
 * 0 or -errno. */
static int recv_type(rt_procs *p, uint32_t type, rt_sp_msg *m, void (*exited)(void *, int, int),
                     void *arg)
{
    for (;;) {
        int fds[3];
        int nfds = 0;
        int rc = memtls__sp_recv(p->sock, m, fds, 3, &nfds);
        for (int i = 0; i < nfds; i++) {
            close(fds[i]);
        }
        if (rc != 0) {
            return rc;
        }
        if (m->type == type) {
            return 0;
        }
        if (m->type == RT_SP_EXITED && exited != NULL) {
            exited(arg, m->pid, m->status);
        }
    }
}

/* Describe a wait status: "exited with status 2", "killed by signal 9
 * (Killed)". */
static void describe_status(int status, char *out, size_t len)
{
    if (status == -1) {
        snprintf(out, len, "gone with the spawner process");
    } else if (WIFEXITED(status)) {
        snprintf(out, len, "exited with status %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        snprintf(out, len, "killed by signal %d (%s%s)", sig, strsignal(sig),
                 sig == SIGSYS ? ": the sandbox refused a system call" : "");
    } else {
        snprintf(out, len, "ended (status 0x%x)", (unsigned)status);
    }
}

/* A string from the other process: printable ASCII only. */
static void clean_text(char *s, size_t len)
{
    s[len - 1] = '\0';
    for (char *c = s; *c != '\0'; c++) {
        if (*c < 0x20 || *c > 0x7e) {
            *c = '?';
        }
    }
}

/* The certificate the spawner loaded, for the metrics' gauges. */
static void loaded_cert(memtls_server *srv, const rt_sp_msg *m)
{
    if (srv->metrics != NULL) {
        char subject[sizeof m->cert_subject];
        memcpy(subject, m->cert_subject, sizeof subject);
        subject[sizeof subject - 1] = '\0';
        clean_text(subject, sizeof subject);
        memtls__metrics_put_cert(srv->metrics, subject, m->cert_not_after, m->have_cert != 0);
    }
}

int memtls__procs_new(memtls_server *srv, char *err, size_t errlen)
{
    rt_procs *p = calloc(1, sizeof *p);
    if (p == NULL) {
        snprintf(err, errlen, "out of memory");
        return MEMTLS_ERR_NOMEM;
    }
    srv->procs = p;
    p->sock = -1;
    p->wake = -1;
    atomic_init(&p->quit, 0);
    for (unsigned i = 0; i < RT_MAX_THREADS; i++) {
        atomic_init(&p->pids[i], 0);
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->reload_lock, NULL);
    pthread_cond_init(&p->reload_cond, NULL);
    p->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->wake < 0) {
        snprintf(err, errlen, "cannot make an eventfd: %s", strerror(errno));
        return MEMTLS_ERR_NOMEM;
    }
    p->spawner = memtls__spawner_fork(srv, &p->sock, err, errlen);
    if (p->spawner < 0) {
        return MEMTLS_ERR_NOMEM;
    }
    if (srv->load_tls == NULL) {
        return 0; /* plaintext listeners only: nothing to load */
    }
    rt_sp_msg m;
    memset(&m, 0, sizeof m);
    m.type = RT_SP_LOAD;
    int rc = memtls__sp_send(p->sock, &m, NULL, 0);
    if (rc == 0) {
        rc = recv_type(p, RT_SP_LOADED, &m, NULL, NULL);
    }
    if (rc != 0) {
        snprintf(err, errlen, "the spawner process did not answer: %s", strerror(-rc));
        return MEMTLS_ERR_NOMEM;
    }
    if (m.status != 0) {
        clean_text(m.msg, sizeof m.msg);
        snprintf(err, errlen, "%s", m.msg);
        return MEMTLS_ERR_CONFIG;
    }
    loaded_cert(srv, &m);
    return 0;
}

/* --- links ---------------------------------------------------------------------- */

static rt_procs_host *ph(rt_host *h)
{
    return h->procs;
}

static void host_sleep(void *arg, int on)
{
    rt_host *h = arg;
    for (unsigned i = 0; i < h->nlinks; i++) {
        if (h->links[i].ch != NULL) {
            memtls__chan_sleep(h->links[i].ch, RT_TO_HOST, on);
        }
    }
}

static void kid_add(rt_procs *p, int pid, unsigned host, unsigned link)
{
    if (p->nkids < sizeof p->kids / sizeof p->kids[0]) {
        p->kids[p->nkids++] = (rt_kid){pid, host, link};
    }
}

/* Post an event to host `hi` and ring its bell. */
static void post(memtls_server *srv, unsigned hi, rt_pev ev)
{
    rt_host *h = srv->hosts[hi];
    rt_procs_host *s = ph(h);
    pthread_mutex_lock(&s->lock);
    if (s->nev < s->evcap) {
        s->ev[s->nev++] = ev;
    }
    pthread_mutex_unlock(&s->lock);
    atomic_store_explicit(&s->pending, 1, memory_order_release);
    memtls__bell_force(&h->loop.bell);
}

/* Send a request to the spawner now (the caller owns the socket: the
 * controlling thread before the supervisor runs, or the supervisor).
 * Closes the request's descriptors. 0 or -errno. */
static int send_request(rt_procs *p, const rt_preq *r)
{
    rt_sp_msg m;
    memset(&m, 0, sizeof m);
    m.type = (uint32_t)r->type;
    m.host = r->host;
    m.link = r->link;
    m.worker = r->worker;
    m.gid = r->gid;
    m.pid = r->pid;
    int rc = p->dead ? -EPIPE
                     : memtls__sp_send(p->sock, &m, r->type == RT_SP_SPAWN ? r->fds : NULL,
                                       r->type == RT_SP_SPAWN ? 3 : 0);
    if (r->type == RT_SP_SPAWN) {
        for (int i = 0; i < 3; i++) {
            close(r->fds[i]);
        }
    }
    return rc;
}

/* Queue a request for the supervisor. */
static void queue_request(rt_procs *p, const rt_preq *r)
{
    pthread_mutex_lock(&p->lock);
    int ok = p->nq < RT_MAX_REQUESTS;
    if (ok) {
        p->q[p->nq++] = *r;
    }
    pthread_mutex_unlock(&p->lock);
    if (!ok && r->type == RT_SP_SPAWN) {
        for (int i = 0; i < 3; i++) {
            close(r->fds[i]);
        }
    }
    uint64_t one = 1;
    (void)!write(p->wake, &one, sizeof one);
}

static void set_channel(rt_host *h, unsigned li, rt_channel *ch)
{
    memtls_server *srv = h->srv;
    rt_link *l = &h->links[li];
    pthread_rwlock_wrlock(&srv->chans_lock);
    if (ch == NULL && l->ch != NULL) {
        /* What it counted stays counted. */
        atomic_fetch_add_explicit(
            &srv->conns_failed,
            atomic_load_explicit(&l->ch->sh->conns_failed, memory_order_relaxed),
            memory_order_relaxed);
        if (srv->chans[l->worker] == l->ch) {
            srv->chans[l->worker] = NULL;
        }
    }
    rt_channel *old = l->ch;
    l->ch = ch;
    pthread_rwlock_unlock(&srv->chans_lock);
    if (ch == NULL) {
        memtls__chan_free(old);
    }
}

/* Make link li's channel and ask for a worker process for it. */
static int spawn_link(rt_host *h, unsigned li, unsigned worker, int replaces)
{
    memtls_server *srv = h->srv;
    rt_procs *p = srv->procs;
    rt_link *l = &h->links[li];
    char name[32];
    snprintf(name, sizeof name, "memtls-w%u", worker);
    int memfd = memtls__chan_memfd(srv->ring_capacity, name);
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    rt_channel *ch = NULL;
    if (memfd >= 0 && efd >= 0) {
        ch = memtls__chan_map(memfd, srv->ring_capacity, 1, efd, 1, h->loop.bell.fd, 0);
    }
    rt_preq r = {RT_SP_SPAWN, h->index, li, worker, l->gid, 0, {-1, -1, -1}};
    if (ch != NULL) {
        r.fds[0] = memfd;
        r.fds[1] = dup(efd);
        r.fds[2] = dup(h->loop.bell.fd);
    }
    if (ch == NULL || r.fds[1] < 0 || r.fds[2] < 0) {
        memtls__log(srv, MEMTLS_LOG_ERROR, "worker %u: cannot make its channel: %s", worker,
                    strerror(errno));
        for (int i = 1; i < 3; i++) {
            if (r.fds[i] >= 0) {
                close(r.fds[i]);
            }
        }
        if (memfd >= 0) {
            close(memfd);
        }
        if (ch == NULL && efd >= 0) {
            close(efd);
        }
        memtls__chan_free(ch);
        return -1;
    }
    l->worker = worker;
    l->state = RT_LINK_STARTING;
    l->pid = 0;
    l->replaces = replaces;
    l->respawn_at = 0;
    l->conns = 0;
    l->blocked = (rt_fifo){NULL, NULL};
    set_channel(h, li, ch);
    if (srv->metrics != NULL && l->gid < srv->metrics->nblocks) {
        atomic_store_explicit(&srv->metrics->block_worker[l->gid], worker, memory_order_relaxed);
    }
    if (p->running) {
        queue_request(p, &r);
        return 0;
    }
    /* Before the supervisor runs: the controlling thread asks itself. */
    int rc = send_request(p, &r);
    rt_sp_msg m;
    if (rc == 0) {
        rc = recv_type(p, RT_SP_SPAWNED, &m, NULL, NULL);
    }
    if (rc == 0 && m.status != 0) {
        rc = m.status;
    }
    if (rc != 0) {
        memtls__log(srv, MEMTLS_LOG_ERROR, "worker %u: cannot start a process: %s", worker,
                    strerror(-rc));
        return -1;
    }
    l->pid = m.pid;
    kid_add(p, m.pid, h->index, li);
    return 0;
}

/* A free slot for a new worker process, or -1. */
static int free_link(rt_host *h)
{
    for (unsigned i = 0; i < h->nlinks; i++) {
        if (h->links[i].state == RT_LINK_FREE && h->links[i].respawn_at == 0) {
            return (int)i;
        }
    }
    return -1;
}

static void release_link(rt_host *h, unsigned li)
{
    rt_link *l = &h->links[li];
    memtls_server *srv = h->srv;
    if (srv->metrics != NULL && l->gid < srv->metrics->nblocks) {
        rt_gauge(&srv->metrics->w[l->gid].open, 0);
    }
    if (atomic_load_explicit(&srv->procs->pids[l->worker], memory_order_relaxed) == l->pid &&
        l->pid != 0) {
        atomic_store_explicit(&srv->procs->pids[l->worker], 0, memory_order_relaxed);
    }
    set_channel(h, li, NULL);
    l->state = RT_LINK_FREE;
    l->pid = 0;
    l->replaces = -1;
    l->conns = 0;
}

static void arm_timer(rt_host *h, uint64_t due);

/* Start worker `worker` again in link li after the backoff. */
static void schedule_restart(rt_host *h, unsigned li, int failed)
{
    rt_procs_host *s = ph(h);
    rt_link *l = &h->links[li];
    if (h->stopping) {
        return;
    }
    if (failed) {
        s->failures[li]++;
    } else {
        s->failures[li] = 0;
    }
    unsigned f = s->failures[li];
    uint64_t delay = f <= 1 ? 100 : 1000u << (f - 2 < 5 ? f - 2 : 5);
    if (delay > RT_BACKOFF_MAX_MS) {
        delay = RT_BACKOFF_MAX_MS;
    }
    l->respawn_at = uv_now(&h->loop.uv) + delay;
    if (f > 1) {
        memtls__log(h->srv, MEMTLS_LOG_WARN, "worker %u: starting again in %llu ms", l->worker,
                    (unsigned long long)delay);
    }
    arm_timer(h, l->respawn_at);
}

static void on_timer(uv_timer_t *t)
{
    (void)t; /* the pass that follows does what is due */
}

static void arm_timer(rt_host *h, uint64_t due)
{
    rt_procs_host *s = ph(h);
    uint64_t now = uv_now(&h->loop.uv);
    uint64_t in = due > now ? due - now : 0;
    if (!uv_is_active((uv_handle_t *)&s->timer) || uv_timer_get_due_in(&s->timer) > in) {
        uv_timer_start(&s->timer, on_timer, in, 0);
    }
}

/* A worker process of link li ended. */
static void link_exited(rt_host *h, unsigned li, int pid, int status)
{
    rt_link *l = &h->links[li];
    memtls_server *srv = h->srv;
    if (l->state == RT_LINK_FREE || l->pid != pid) {
        return; /* an old process's news */
    }
    char how[160];
    describe_status(status, how, sizeof how);
    int state = l->state;
    unsigned worker = l->worker;
    int replaces = l->replaces;
    int lived_ms = l->since_ms != 0 ? (int)(uv_now(&h->loop.uv) - l->since_ms) : 0;
    if (h->exiting) {
        release_link(h, li);
        return;
    }
    if (state == RT_LINK_STARTING) {
        char why[sizeof l->ch->sh->error];
        memcpy(why, l->ch->sh->error, sizeof why);
        clean_text(why, sizeof why);
        memtls__log(srv, MEMTLS_LOG_ERROR, "worker %u (pid %d) could not start: %s%s%s", worker,
                    pid, why, why[0] ? "; " : "", how);
        release_link(h, li);
        if (replaces >= 0) {
            memtls__log(srv, MEMTLS_LOG_ERROR, "reload: worker %u keeps its configuration", worker);
        } else {
            schedule_restart(h, li, 1);
        }
        return;
    }
    if (state == RT_LINK_RETIRING && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        memtls__log(srv, MEMTLS_LOG_INFO, "worker %u (pid %d) retired", worker, pid);
        memtls__host_cut_link(h, li, "");
        release_link(h, li);
        return;
    }
    char why[200];
    snprintf(why, sizeof why, " (pid %d) %s", pid, how);
    memtls__host_cut_link(h, li, why);
    release_link(h, li);
    if (state != RT_LINK_RETIRING) {
        schedule_restart(h, li, lived_ms < (int)RT_STABLE_MS);
    }
}

/* A STARTING link whose process says it serves. */
static void link_serves(rt_host *h, unsigned li)
{
    rt_link *l = &h->links[li];
    memtls_server *srv = h->srv;
    l->state = RT_LINK_ACTIVE;
    l->since_ms = uv_now(&h->loop.uv);
    pthread_rwlock_wrlock(&srv->chans_lock);
    srv->chans[l->worker] = l->ch;
    pthread_rwlock_unlock(&srv->chans_lock);
    atomic_store_explicit(&srv->procs->pids[l->worker], l->pid, memory_order_relaxed);
    if (l->replaces >= 0) {
        rt_link *old = &h->links[l->replaces];
        if (old->state == RT_LINK_ACTIVE) {
            old->state = RT_LINK_RETIRING;
            atomic_store_explicit(&old->ch->sh->retire, 1, memory_order_release);
            memtls__chan_force(old->ch, RT_TO_WORKER);
        }
        memtls__log(srv, MEMTLS_LOG_INFO,
                    "worker %u: pid %d serves the new configuration (pid %d finishes its %u "
                    "connection(s))",
                    l->worker, l->pid, old->pid, old->conns);
        /* The slot it came from is free for the next reload once that
         * process left; the failure count moves with the worker. */
        ph(h)->failures[li] = 0;
    } else {
        memtls__log(srv, MEMTLS_LOG_INFO, "worker %u: pid %d serves", l->worker, l->pid);
    }
    l->replaces = -1;
}

static void start_replacements(rt_host *h)
{
    for (unsigned i = 0; i < h->nlinks; i++) {
        rt_link *l = &h->links[i];
        if (l->state != RT_LINK_ACTIVE) {
            continue;
        }
        int spare = free_link(h);
        if (spare < 0) {
            memtls__log(h->srv, MEMTLS_LOG_WARN,
                        "reload: worker %u still has connections from earlier reloads: it keeps "
                        "its configuration",
                        l->worker);
            continue;
        }
        h->links[spare].respawn_at = 0;
        (void)spawn_link(h, (unsigned)spare, l->worker, (int)i);
    }
}

int memtls__procs_host_pass(rt_host *h)
{
    rt_procs_host *s = ph(h);
    int work = 0;
    if (atomic_exchange_explicit(&s->pending, 0, memory_order_acq_rel)) {
        rt_pev ev[64];
        for (;;) {
            pthread_mutex_lock(&s->lock);
            unsigned n = s->nev < 64 ? s->nev : 64;
            memcpy(ev, s->ev, n * sizeof ev[0]);
            memmove(s->ev, s->ev + n, (s->nev - n) * sizeof ev[0]);
            s->nev -= n;
            pthread_mutex_unlock(&s->lock);
            if (n == 0) {
                break;
            }
            for (unsigned i = 0; i < n; i++) {
                rt_pev *e = &ev[i];
                rt_link *l =
                    e->type != PEV_RELOAD && e->link < h->nlinks ? &h->links[e->link] : NULL;
                if (e->type == PEV_RELOAD) {
                    if (!h->stopping) {
                        start_replacements(h);
                    }
                } else if (l == NULL) {
                    continue;
                } else if (e->type == PEV_SPAWNED) {
                    if (l->state == RT_LINK_STARTING && l->pid == 0) {
                        l->pid = e->pid;
                    }
                } else if (e->type == PEV_SPAWN_FAILED) {
                    if (l->state == RT_LINK_STARTING && l->pid == 0) {
                        memtls__log(h->srv, MEMTLS_LOG_ERROR,
                                    "worker %u: cannot start a process: %s", l->worker,
                                    strerror(-e->status));
                        int replaces = l->replaces;
                        release_link(h, e->link);
                        if (replaces < 0) {
                            schedule_restart(h, e->link, 1);
                        }
                    }
                } else if (e->type == PEV_EXITED) {
                    link_exited(h, e->link, e->pid, e->status);
                }
            }
            work = 1;
        }
    }
    uint64_t now = uv_now(&h->loop.uv);
    for (unsigned i = 0; i < h->nlinks; i++) {
        rt_link *l = &h->links[i];
        if (l->state == RT_LINK_STARTING && l->pid != 0 &&
            atomic_load_explicit(&l->ch->sh->ready, memory_order_acquire)) {
            link_serves(h, i);
            work = 1;
        } else if (l->state == RT_LINK_FREE && l->respawn_at != 0 && !h->stopping) {
            if (now >= l->respawn_at) {
                l->respawn_at = 0;
                (void)spawn_link(h, i, l->worker, -1);
                work = 1;
            } else {
                arm_timer(h, l->respawn_at);
            }
        }
    }
    return work;
}

int memtls__procs_host_has_work(rt_host *h)
{
    return atomic_load_explicit(&ph(h)->pending, memory_order_relaxed);
}

int memtls__procs_link_gone(rt_host *h, unsigned li)
{
    rt_procs_host *s = ph(h);
    rt_link *l = &h->links[li];
    uint64_t now = uv_now(&h->loop.uv);
    if (s->exit_since == 0) {
        s->exit_since = now;
        arm_timer(h, now + RT_EXIT_WAIT_MS);
    }
    return l->state == RT_LINK_FREE ||
           atomic_load_explicit(&l->ch->sh->exited, memory_order_acquire) ||
           now >= s->exit_since + RT_EXIT_WAIT_MS;
}

void memtls__procs_link_broken(rt_host *h, unsigned li)
{
    rt_link *l = &h->links[li];
    l->state = RT_LINK_BROKEN;
    memtls__host_cut_link(h, li, " (its channel is corrupt: its process is killed)");
    if (l->pid > 0) {
        rt_preq r = {RT_SP_KILL, h->index, li, l->worker, l->gid, l->pid, {-1, -1, -1}};
        queue_request(h->srv->procs, &r);
    }
}

void memtls__procs_host_close(rt_host *h)
{
    rt_procs_host *s = ph(h);
    if (s->timer_init && !uv_is_closing((uv_handle_t *)&s->timer)) {
        uv_close((uv_handle_t *)&s->timer, NULL);
    }
}

void memtls__procs_host_free(rt_host *h)
{
    rt_procs_host *s = ph(h);
    for (unsigned i = 0; i < h->nlinks; i++) {
        if (h->links[i].ch != NULL) {
            set_channel(h, i, NULL);
        }
    }
    pthread_mutex_destroy(&s->lock);
    free(s->ev);
    free(s->failures);
    free(s);
    h->procs = NULL;
}

/* --- the first workers -------------------------------------------------------------- */

static int host_setup(rt_host *h, unsigned gid0)
{
    rt_procs_host *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return -1;
    }
    h->procs = s;
    pthread_mutex_init(&s->lock, NULL);
    atomic_init(&s->pending, 0);
    s->evcap = h->nlinks * 4 + 8;
    s->ev = calloc(s->evcap, sizeof *s->ev);
    s->failures = calloc(h->nlinks, sizeof *s->failures);
    if (s->ev == NULL || s->failures == NULL) {
        return -1;
    }
    uv_timer_init(&h->loop.uv, &s->timer);
    s->timer.data = h;
    s->timer_init = 1;
    uv_unref((uv_handle_t *)&s->timer);
    for (unsigned i = 0; i < h->nlinks; i++) {
        h->links[i].gid = gid0 + i;
        h->links[i].replaces = -1;
        h->links[i].worker = h->index + (i % h->nw) * h->srv->nio;
    }
    memtls__loop_on_sleep(&h->loop, host_sleep, h);
    return 0;
}

static void early_exit(void *arg, int pid, int status)
{
    memtls_server *srv = arg;
    for (unsigned hi = 0; hi < srv->nio; hi++) {
        rt_host *h = srv->hosts[hi];
        for (unsigned i = 0; i < h->nlinks; i++) {
            if (h->links[i].pid == pid && h->links[i].state == RT_LINK_STARTING) {
                h->links[i].state = RT_LINK_BROKEN; /* with the status, for the message */
                h->links[i].since_ms = (uint64_t)(unsigned)status;
            }
        }
    }
}

int memtls__procs_start(memtls_server *srv, char *err, size_t errlen)
{
    rt_procs *p = srv->procs;
    unsigned gid = 0;
    for (unsigned hi = 0; hi < srv->nio; hi++) {
        rt_host *h = srv->hosts[hi];
        if (host_setup(h, gid) != 0) {
            snprintf(err, errlen, "out of memory");
            return MEMTLS_ERR_NOMEM;
        }
        gid += h->nlinks;
        for (unsigned j = 0; j < h->nw; j++) {
            if (spawn_link(h, j, hi + j * srv->nio, -1) != 0) {
                snprintf(err, errlen, "worker %u: cannot start a process", hi + j * srv->nio);
                return MEMTLS_ERR_NOMEM;
            }
        }
    }
    /* Wait until each says it serves, or one ends. */
    uint64_t deadline = memtls__now_ms() + RT_START_WAIT_MS;
    for (;;) {
        int waiting = 0;
        for (unsigned hi = 0; hi < srv->nio; hi++) {
            rt_host *h = srv->hosts[hi];
            for (unsigned j = 0; j < h->nw; j++) {
                rt_link *l = &h->links[j];
                if (l->state == RT_LINK_BROKEN) {
                    char why[sizeof l->ch->sh->error];
                    char how[160];
                    memcpy(why, l->ch->sh->error, sizeof why);
                    clean_text(why, sizeof why);
                    describe_status((int)l->since_ms, how, sizeof how);
                    snprintf(err, errlen, "worker %u could not start: %s%s%s", l->worker, why,
                             why[0] ? "; it " : "it ", how);
                    return MEMTLS_ERR_CONFIG;
                }
                waiting |= !atomic_load_explicit(&l->ch->sh->ready, memory_order_acquire);
            }
        }
        if (!waiting) {
            break;
        }
        uint64_t now = memtls__now_ms();
        if (now >= deadline) {
            snprintf(err, errlen, "the worker processes did not start within %d s",
                     RT_START_WAIT_MS / 1000);
            return MEMTLS_ERR_NOMEM;
        }
        struct pollfd pfd = {p->sock, POLLIN, 0};
        if (poll(&pfd, 1, 20) > 0) {
            rt_sp_msg m;
            int fds[3];
            int nfds = 0;
            if (memtls__sp_recv(p->sock, &m, fds, 3, &nfds) != 0) {
                snprintf(err, errlen, "the spawner process is gone");
                return MEMTLS_ERR_NOMEM;
            }
            for (int i = 0; i < nfds; i++) {
                close(fds[i]);
            }
            if (m.type == RT_SP_EXITED) {
                early_exit(srv, m.pid, m.status);
            }
        }
    }
    for (unsigned hi = 0; hi < srv->nio; hi++) {
        rt_host *h = srv->hosts[hi];
        for (unsigned j = 0; j < h->nw; j++) {
            rt_link *l = &h->links[j];
            l->state = RT_LINK_ACTIVE;
            srv->chans[l->worker] = l->ch;
            atomic_store_explicit(&p->pids[l->worker], l->pid, memory_order_relaxed);
        }
    }
    return 0;
}

/* --- the supervisor thread --------------------------------------------------------- */

static rt_kid *kid_find(rt_procs *p, int pid)
{
    for (unsigned i = 0; i < p->nkids; i++) {
        if (p->kids[i].pid == pid) {
            return &p->kids[i];
        }
    }
    return NULL;
}

static void load_finished(rt_procs *p, int status, const char *msg)
{
    pthread_mutex_lock(&p->reload_lock);
    p->load_done = 1;
    p->load_status = status;
    snprintf(p->load_msg, sizeof p->load_msg, "%s", msg);
    pthread_cond_broadcast(&p->reload_cond);
    pthread_mutex_unlock(&p->reload_lock);
}

static void spawner_gone(memtls_server *srv)
{
    rt_procs *p = srv->procs;
    if (p->dead) {
        return;
    }
    p->dead = 1;
    memtls__log(srv, MEMTLS_LOG_ERROR,
                "the spawner process is gone: its workers ended with it and none can be "
                "started; the server refuses connections");
    for (unsigned i = 0; i < p->nkids; i++) {
        post(srv, p->kids[i].host, (rt_pev){PEV_EXITED, p->kids[i].link, p->kids[i].pid, -1});
    }
    p->nkids = 0;
    load_finished(p, -1, "the spawner process is gone");
}

static void handle_reply(memtls_server *srv, const rt_sp_msg *m)
{
    rt_procs *p = srv->procs;
    if (m->type == RT_SP_SPAWNED) {
        if (m->host >= srv->nio) {
            return;
        }
        if (m->status != 0 || m->pid <= 0) {
            post(srv, m->host,
                 (rt_pev){PEV_SPAWN_FAILED, m->link, 0, m->status ? m->status : -EIO});
            return;
        }
        kid_add(p, m->pid, m->host, m->link);
        post(srv, m->host, (rt_pev){PEV_SPAWNED, m->link, m->pid, 0});
    } else if (m->type == RT_SP_EXITED) {
        rt_kid *k = kid_find(p, m->pid);
        if (k == NULL) {
            return;
        }
        rt_kid kid = *k;
        *k = p->kids[--p->nkids];
        post(srv, kid.host, (rt_pev){PEV_EXITED, kid.link, kid.pid, m->status});
    } else if (m->type == RT_SP_LOADED) {
        char msg[sizeof m->msg];
        memcpy(msg, m->msg, sizeof msg);
        clean_text(msg, sizeof msg);
        if (m->status == 0) {
            loaded_cert(srv, m);
            for (unsigned hi = 0; hi < srv->nio; hi++) {
                post(srv, hi, (rt_pev){PEV_RELOAD, 0, 0, 0});
            }
        }
        load_finished(p, m->status, msg);
    }
}

static void take_requests(memtls_server *srv)
{
    rt_procs *p = srv->procs;
    uint64_t v;
    (void)!read(p->wake, &v, sizeof v);
    rt_preq q[RT_MAX_REQUESTS];
    pthread_mutex_lock(&p->lock);
    unsigned n = p->nq;
    memcpy(q, p->q, n * sizeof q[0]);
    p->nq = 0;
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < n; i++) {
        int rc = send_request(p, &q[i]);
        if (rc == 0) {
            continue;
        }
        if (q[i].type == RT_SP_SPAWN) {
            post(srv, q[i].host, (rt_pev){PEV_SPAWN_FAILED, q[i].link, 0, rc});
        } else if (q[i].type == RT_SP_LOAD) {
            load_finished(p, -1, "the spawner process is gone");
        }
    }
}

static void *supervise(void *arg)
{
    memtls_server *srv = arg;
    rt_procs *p = srv->procs;
    while (!atomic_load_explicit(&p->quit, memory_order_acquire)) {
        struct pollfd pfd[2] = {{p->wake, POLLIN, 0}, {p->dead ? -1 : p->sock, POLLIN, 0}};
        if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
            break;
        }
        if (pfd[1].revents != 0) {
            rt_sp_msg m;
            int fds[3];
            int nfds = 0;
            int rc = memtls__sp_recv(p->sock, &m, fds, 3, &nfds);
            for (int i = 0; i < nfds; i++) {
                close(fds[i]);
            }
            if (rc == 0) {
                handle_reply(srv, &m);
            } else if (rc != -EAGAIN) {
                spawner_gone(srv);
            }
        }
        if (pfd[0].revents != 0) {
            take_requests(srv);
        }
    }
    return NULL;
}

int memtls__procs_run(memtls_server *srv)
{
    rt_procs *p = srv->procs;
    p->running = 1;
    if (pthread_create(&p->thread, NULL, supervise, srv) != 0) {
        p->running = 0;
        return MEMTLS_ERR_NOMEM;
    }
    return 0;
}

int memtls__procs_reload(memtls_server *srv)
{
    rt_procs *p = srv->procs;
    pthread_mutex_lock(&p->reload_lock);
    int status;
    char msg[256];
    if (!p->running) {
        /* Not started yet: the controlling thread asks itself. */
        rt_preq r = {RT_SP_LOAD, 0, 0, 0, 0, 0, {-1, -1, -1}};
        rt_sp_msg m;
        int rc = send_request(p, &r);
        if (rc == 0) {
            rc = recv_type(p, RT_SP_LOADED, &m, early_exit, srv);
        }
        status = rc != 0 ? -1 : m.status;
        if (status == 0) {
            loaded_cert(srv, &m);
        }
        snprintf(msg, sizeof msg, "%s", rc != 0 ? "the spawner process is gone" : m.msg);
        clean_text(msg, sizeof msg);
    } else {
        p->load_done = 0;
        rt_preq r = {RT_SP_LOAD, 0, 0, 0, 0, 0, {-1, -1, -1}};
        queue_request(p, &r);
        while (!p->load_done) {
            pthread_cond_wait(&p->reload_cond, &p->reload_lock);
        }
        status = p->load_status;
        snprintf(msg, sizeof msg, "%s", p->load_msg);
    }
    pthread_mutex_unlock(&p->reload_lock);
    if (status != 0) {
        memtls__log(srv, MEMTLS_LOG_ERROR,
                    "reload failed, the workers keep their configuration: %s", msg);
        return MEMTLS_ERR_CONFIG;
    }
    memtls__log(srv, MEMTLS_LOG_INFO,
                "configuration reloaded: new worker processes take over from the running ones");
    return 0;
}

void memtls__procs_halt(memtls_server *srv)
{
    rt_procs *p = srv->procs;
    if (p != NULL && p->running) {
        atomic_store_explicit(&p->quit, 1, memory_order_release);
        uint64_t one = 1;
        (void)!write(p->wake, &one, sizeof one);
        pthread_join(p->thread, NULL);
        p->running = 0;
    }
}

void memtls__procs_free(memtls_server *srv)
{
    rt_procs *p = srv->procs;
    if (p == NULL) {
        return;
    }
    memtls__procs_halt(srv);
    for (unsigned i = 0; i < p->nq; i++) {
        if (p->q[i].type == RT_SP_SPAWN) {
            for (int k = 0; k < 3; k++) {
                close(p->q[i].fds[k]);
            }
        }
    }
    if (p->sock >= 0) {
        close(p->sock); /* the spawner kills what is left and leaves */
    }
    if (p->spawner > 0) {
        while (waitpid(p->spawner, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    if (p->wake >= 0) {
        close(p->wake);
    }
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->reload_lock);
    pthread_cond_destroy(&p->reload_cond);
    free(p);
    srv->procs = NULL;
}

int memtls__procs_worker_pid(const memtls_server *srv, unsigned worker)
{
    const rt_procs *p = srv->procs;
    if (p == NULL || worker >= RT_MAX_THREADS) {
        return 0;
    }
    return atomic_load_explicit((atomic_int *)&p->pids[worker], memory_order_relaxed);
}
