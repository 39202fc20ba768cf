/*
 * loop.h - private: the event loop of one runtime thread (a host I/O
 * thread, or a worker thread), with its doorbell.
 *
 * A loop runs one or more runners: a host, a worker, or a host and the
 * workers it runs inline (co-scheduled in its thread: see server.h).
 * Every pass of the libuv loop ends with a call to each runner's `pump`
 * (in uv_check, after the socket and timer callbacks of the pass): the
 * runner reads its rings and does what the messages ask, in batches.
 * Before the loop may block (uv_prepare) the runners pump once more, then
 * the loop marks itself asleep and asks them for work one last time
 * (`has_work`; see channel.h for why this order loses no wake-up). Work
 * left over after a bounded number of rounds keeps the loop from blocking
 * (a uv_idle handle) so that socket events still get their turn between
 * rounds.
 */
#ifndef MEMTLS_RUNTIME_LOOP_H
#define MEMTLS_RUNTIME_LOOP_H

#include <uv.h>

#include "channel.h"

/* A host and every worker it may run inline. */
#define RT_LOOP_MAX_RUNNERS 65u

typedef struct rt_loop {
    uv_loop_t uv;
    rt_bell bell;
    uv_poll_t bell_poll;
    uv_prepare_t prepare;
    uv_check_t check;
    uv_idle_t idle;
    int init;
    int closing;
    /* Called with 1 before the loop may block (after its bell's flag is
     * set) and 0 once it runs again: a runner whose producers are in other
     * processes raises the asleep flags they can see (channel.h). May be
     * NULL. */
    void (*sleep)(void *arg, int on);
    void *sleep_arg;
    unsigned nrunners;
    struct rt_runner {
        /* Do a bounded amount of work; return nonzero if any was done. */
        int (*pump)(void *arg);
        /* Is there work (a cheap check; other threads may produce it)? */
        int (*has_work)(void *arg);
        /* Once per loop pass, before pumping (may be NULL): the host's
         * sockets with work left from their last event. */
        void (*pass)(void *arg);
        void *arg;
    } runners[RT_LOOP_MAX_RUNNERS];
} rt_loop;

/* Set up the loop and its bell (with an eventfd when `signalled`, i.e.
 * when other threads must be able to wake it). 0 or MEMTLS_ERR_NOMEM. */
int memtls__loop_init(rt_loop *l, int signalled);
/* The same with an eventfd made by someone else (a worker process is
 * given its bell's descriptor); the loop owns it from now on. */
int memtls__loop_init_fd(rt_loop *l, int fd);
/* Set the sleep hook (see rt_loop.sleep). */
void memtls__loop_on_sleep(rt_loop *l, void (*sleep)(void *arg, int on), void *arg);
/* Add a runner (before the loop runs); runners pump in the order added.
 * 0 or MEMTLS_ERR_INVALID when there are too many. */
int memtls__loop_add(rt_loop *l, int (*pump)(void *), int (*has_work)(void *), void (*pass)(void *),
                     void *arg);
/*
 * The loop's steps, for an owner that drives the pass itself instead of
 * uv_run(UV_RUN_DEFAULT) (a host thread: see host.c, host_main); the
 * loop's own uv_check and uv_prepare callbacks call the same steps when
 * uv_run runs.
 *   memtls__loop_check    after the pass's events: the runners' `pass`,
 *                         then pumping; returns nonzero if work is left
 *                         (the caller must not block).
 *   memtls__loop_prepare  before blocking: pumping, then (with a bell)
 *                         the asleep flag and a last `has_work`; returns
 *                         nonzero if the caller must not block (the flag
 *                         is cleared again then).
 *   memtls__loop_woke     after a block: clears the asleep flag.
 * Loop thread only.
 */
int memtls__loop_check(rt_loop *l);
int memtls__loop_prepare(rt_loop *l);
void memtls__loop_woke(rt_loop *l);

/* Stop the loop's own handles so uv_run can return once the owner's
 * handles are closed too. Loop thread only. */
void memtls__loop_close_handles(rt_loop *l);
/* Close every remaining handle, run the loop until they are gone, free
 * the loop. After the thread ended (or was never started). */
void memtls__loop_free(rt_loop *l);

#endif
