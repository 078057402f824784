/*
 * loop.h -- the event loop: one thread, poll() over the REST client's connection
 * (exporter/loop_rest.h), the WebSocket client's (exporter/loop_ws.h) and a wake-up
 * pipe, driving core/session: the session decides, loop.c routes each of its actions
 * to the client that carries it out, publishes the listings the REST client completes
 * (exporter/loop_shared.h) and, once per turn, a snapshot of every owner's statistics
 * for /metrics (exporter/loop_stats.h). It logs progress; no secret is ever logged.
 *
 * Threads: loop_run() on one thread; loop_wake() from any thread or a signal handler;
 * loop_ready() and loop_state_name() from any thread.
 */
#ifndef IOTPRO_EXPORTER_LOOP_H
#define IOTPRO_EXPORTER_LOOP_H

#include <pthread.h>
#include <stdint.h>

#include "exporter/config.h"
#include "exporter/loop_shared.h"
#include "transport/tls.h"

/* Exit statuses of loop_run (also the process's, see main.c). */
#define LOOP_EXIT_OK    0
#define LOOP_EXIT_FATAL 3 /* credentials rejected, 2FA, password expired */
#define LOOP_EXIT_ERROR 1 /* could not set up (memory, pipe) */

/* Asked by the loop on SIGHUP: re-read the configuration. Return 0 and set *out to
 * the new configuration (owned by the caller, valid until the next call), or -1 to
 * keep the old one. */
typedef int (*loop_reload_fn)(void *arg, const struct cfg **out);

struct loop;

/* Creates the loop. Its clients' buffers reserve ~130 MiB of address space (REST body
 * 32 MiB, JSON tokens 2 x 20 MiB, WebSocket message 16 MiB, feed output, pending
 * updates, asset ids), of which only the high-water mark of what was received is
 * resident: ~1.5 MB with 1000-asset pages, plus 16 B per asset. cfg, anchors and sh
 * must outlive it. Returns NULL on allocation failure. */
struct loop *loop_create(const struct cfg *cfg, const tls_anchors *anchors, struct loop_shared *sh,
                         loop_reload_fn reload, void *reload_arg);
void loop_destroy(struct loop *l);

/* Runs until a stop request has been carried out (WebSocket closed with 1000, or
 * aborted 1.5 s later) or the session reports a fatal error. Returns LOOP_EXIT_*. */
int loop_run(struct loop *l);

/* Async-signal-safe: ask the loop to stop ('T') or reload ('H'). */
void loop_wake(struct loop *l, char what);

/* 1 while subscribed: WebSocket open, authenticated and every subscription command
 * sent (also when there are none: zero assets). For /-/ready; any thread. */
int loop_ready(const struct loop *l);

/* The session state name as of the loop's last turn, for the landing page; any thread. */
const char *loop_state_name(const struct loop *l);

#endif
