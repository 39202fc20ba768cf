/*
 * procs.h - private: TLS workers as processes (memtls_server_opts.isolate).
 *
 *   host process                          spawner process       workers
 *   ------------                          ---------------       -------
 *   I/O threads (hosts): sockets,  SPAWN  loads the             one per
 *   link slots, channels --------> supervisor ---> configuration, fork()s,
 *                                  thread   <---  reaps (EXITED) --> serve
 *                              <-- events                         their channel
 *
 * The spawner is forked by memtls_server_new before anything else
 * exists (no listener, no thread, no key): it is the only process that
 * ever calls load_tls, and every worker is forked from it, so workers
 * inherit the loaded configuration and never open a file. It speaks
 * with the host process over one SOCK_SEQPACKET socket pair (the
 * messages of spawner.h), and exits, killing its workers, when that
 * socket closes (the host process died or freed the server).
 *
 * In the host process one supervisor thread owns that socket. Hosts
 * never block on it: a host that wants a worker started makes the
 * channel (a sealed memfd and the worker's eventfd), queues a request,
 * and learns what became of it from events the supervisor queues back
 * (started with its pid, failed, exited with a status), each followed by
 * a ring of the host's bell. Before memtls_server_start the controlling
 * thread does the same exchanges itself, synchronously (the first
 * workers, and waiting for them to serve).
 *
 * Link states are the host's (host.h): STARTING (a worker process is
 * being made; it says it serves through its channel's `ready` flag),
 * ACTIVE, RETIRING (replaced by a reload: no new connections; it leaves
 * by itself after its last one), FREE. A process that exits frees its
 * link (its remaining connections are cut) and, unless it was retiring
 * or the server stops, its worker is started again after a backoff.
 */
#ifndef MEMTLS_RUNTIME_PROCS_H
#define MEMTLS_RUNTIME_PROCS_H

#include "host.h"

/* Before the hosts exist (memtls_server_new): fork the spawner and have
 * it load the configuration. 0, or an error with a message. */
int memtls__procs_new(memtls_server *srv, char *err, size_t errlen);
/* After the hosts exist: start every worker and wait until each serves
 * (or one fails: its message). */
int memtls__procs_start(memtls_server *srv, char *err, size_t errlen);
/* memtls_server_start: the supervisor thread. 0 or MEMTLS_ERR_NOMEM. */
int memtls__procs_run(memtls_server *srv);
/* memtls_server_reload(srv, NULL): load again in the spawner, then have
 * every host replace its workers. 0 or MEMTLS_ERR_CONFIG (logged). */
int memtls__procs_reload(memtls_server *srv);
/* After the host threads ended (or never ran): stop the supervisor,
 * close the spawner's socket (it kills what is left and exits), reap it,
 * free everything. */
/* Stop the supervisor thread (before the hosts, whose event queues it
 * posts to, are freed). */
void memtls__procs_halt(memtls_server *srv);
void memtls__procs_free(memtls_server *srv);
/* The serving process of worker k, or 0. Any thread. */
int memtls__procs_worker_pid(const memtls_server *srv, unsigned worker);

/* Host thread: events, starting links, restarts due. Returns nonzero if
 * it did something. */
int memtls__procs_host_pass(rt_host *h);
int memtls__procs_host_has_work(rt_host *h);
/* Host thread, exiting: is link li's process gone (or has it said it
 * leaves, or has the host waited long enough)? */
int memtls__procs_link_gone(rt_host *h, unsigned li);
/* Host thread: link li's channel is corrupt: kill its process. */
void memtls__procs_link_broken(rt_host *h, unsigned li);
/* Host thread, leaving: close the handles of its procs state. */
void memtls__procs_host_close(rt_host *h);
/* After the host thread ended: free the host's channels and state. */
void memtls__procs_host_free(rt_host *h);

#endif
