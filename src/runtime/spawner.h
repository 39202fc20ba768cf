/*
 * spawner.h - private: the spawner process and the worker processes it
 * forks (procs.h draws them), and the messages on the socket pair between
 * the host process and the spawner.
 *
 * Every message is one SOCK_SEQPACKET datagram of a fixed size; the
 * spawner takes a request of any other size, type or descriptor count as
 * the end of the conversation (it kills its workers and exits), so a host
 * process that went wrong can make it do nothing but start workers, kill
 * its own workers, and load the configuration again.
 */
#ifndef MEMTLS_RUNTIME_SPAWNER_H
#define MEMTLS_RUNTIME_SPAWNER_H

#include <stdint.h>
#include <sys/types.h>

#include "runtime.h"

enum {
    /* host -> spawner */
    RT_SP_LOAD = 1, /* call load_tls (with the configuration in use) */
    RT_SP_SPAWN,    /* fork a worker; descriptors: memfd, worker's eventfd,
                       host's eventfd */
    RT_SP_KILL,     /* SIGKILL worker `pid` (only a child of the spawner) */
    /* spawner -> host */
    RT_SP_LOADED = 16, /* status 0, or -1 and msg */
    RT_SP_SPAWNED,     /* pid, or status -errno */
    RT_SP_EXITED       /* pid and its wait status */
};

typedef struct rt_sp_msg {
    uint32_t type;
    uint32_t host; /* SPAWN*: the host and link it is for (echoed back) */
    uint32_t link;
    uint32_t worker; /* SPAWN: the worker's index */
    uint32_t gid;    /* SPAWN: the link's index in the server */
    int32_t pid;     /* KILL, SPAWNED, EXITED */
    int32_t status;  /* LOADED, SPAWNED: 0 or an error; EXITED: wait status */
    uint32_t pad;
    char msg[256]; /* LOADED: the loader's message */
    /* LOADED (status 0): the first certificate's subject and not-after,
     * for the host's metrics (no key material crosses). */
    char cert_subject[256];
    int64_t cert_not_after;
    int32_t have_cert;
    uint32_t pad2;
} rt_sp_msg;

/* Fork the spawner (the caller must not have started threads of the
 * server yet). Returns its pid with *sock set to the host's end, or -1
 * with a message. */
pid_t memtls__spawner_fork(memtls_server *srv, int *sock, char *err, size_t errlen);

/* Send a message (with up to 3 descriptors). 0 or -errno. */
int memtls__sp_send(int sock, const rt_sp_msg *m, const int *fds, int nfds);
/* Receive one message (and its descriptors, at most maxfds, into fds with
 * *nfds). 0, -EAGAIN on a non-blocking socket with nothing there, or
 * another -errno (-EPIPE: the other end closed). A datagram of the wrong
 * size is -EPROTO. */
int memtls__sp_recv(int sock, rt_sp_msg *m, int *fds, int maxfds, int *nfds);

/* A worker process: run worker `m->worker` on the channel in memfd until
 * the host says exit, then _exit. Never returns. (spawner.c, called in
 * the child after fork.) */
void memtls__worker_process(memtls_server *srv, const rt_sp_msg *m, int memfd, int efd_worker,
                            int efd_host) __attribute__((noreturn));

#endif
