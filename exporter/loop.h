/*
 * loop.h -- the event loop: one thread, poll() over the REST connection (httpc), the
 * WebSocket connection (conn + core/ws) and a wake-up pipe, driving core/session.
 *
 * What it does with the session's actions: REST requests through httpc (login,
 * refresh, asset pages with the CE fallback, optional details), the WebSocket through
 * conn + ws (connect, handshake, authCmd + ENTITY_DATA commands split below 32 KiB by
 * tb_build_next, pongs by the codec), messages through tb_feed into the store. It
 * writes struct health and logs progress; no secret is ever logged (tokens are
 * registered with log_secret_add as they arrive).
 *
 * Sharing with the civetweb render threads (struct loop_shared): the store and the two
 * asset tables. Rules (core/store.h, core/assets.h):
 *   - sh->mu guards the store, sh->cur, sh->readers[] and the assetDetails of the
 *     current table (details arrive by WebSocket while the table is current);
 *   - a render calls loop_shared_acquire() to get the current table (pinning it) and
 *     loop_shared_release() when done; the loop refills the spare table only when no
 *     render pins it;
 *   - asset names, types and labels of a pinned table never change; its details may,
 *     so a render reads details with sh->mu held.
 *
 * Threads: loop_run() on one thread; loop_wake() from any thread or a signal handler.
 */
#ifndef IOTPRO_EXPORTER_LOOP_H
#define IOTPRO_EXPORTER_LOOP_H

#include <pthread.h>
#include <stdint.h>

#include "core/assets.h"
#include "core/store.h"
#include "exporter/config.h"
#include "exporter/health.h"
#include "transport/tls.h"

/* Asset table size per table (two tables exist), and their string arenas. */
#define LOOP_MAX_ASSETS   200000u
#define LOOP_ASSET_ARENA  (32u * 1024u * 1024u)
/* String-valued series kept (device_id and the like: one per asset is typical). */
#define LOOP_MAX_STRINGS  200000u

/* Exit statuses of loop_run (also the process's, see main.c). */
#define LOOP_EXIT_OK     0
#define LOOP_EXIT_FATAL  3   /* credentials rejected, 2FA, password expired */
#define LOOP_EXIT_ERROR  1   /* could not set up (memory, pipe) */

struct loop_shared {
    pthread_mutex_t mu;
    store st;
    assets_table tab[2];
    int cur;                 /* index into tab[] of the table renders use */
    unsigned readers[2];
    void *store_mem, *tab_mem[2];
};

/* Allocates the store (cfg->store_max_series) and both tables. 0, or -1 with a log
 * line. The blocks are reserved at the maxima (~265 MB of address space with the
 * defaults) with calloc and never cleared here: untouched pages are not resident, and
 * the store and tables touch only what they hold (see core/store.h, core/assets.h),
 * so their RSS follows the fleet: ~50 KB before the first asset, ~4 MB for 10k
 * assets x 3 keys (the whole process: ~1.5 MB idle). */
int loop_shared_init(struct loop_shared *sh, const struct cfg *cfg);
void loop_shared_free(struct loop_shared *sh);
/* Render side: pins and returns the current table (never NULL); release it after. */
const assets_table *loop_shared_acquire(struct loop_shared *sh);
void loop_shared_release(struct loop_shared *sh, const assets_table *t);

/* Asked by the loop on SIGHUP: re-read the configuration. Return 0 and set *out to
 * the new configuration (owned by the caller, valid until the next call), or -1 to
 * keep the old one. */
typedef int (*loop_reload_fn)(void *arg, const struct cfg **out);

struct loop;

/* Creates the loop. Its buffers reserve ~93 MiB of address space (REST body 32 MiB,
 * JSON tokens 2 x 20 MiB, WebSocket message 16 MiB, pending updates, asset ids), of
 * which only the high-water mark of what was received is resident: ~1.5 MB with
 * 1000-asset pages, plus 16 B per asset. cfg, anchors, h and sh must outlive it.
 * Returns NULL on allocation failure. */
struct loop *loop_create(const struct cfg *cfg, const tls_anchors *anchors, struct health *h,
                         struct loop_shared *sh, loop_reload_fn reload, void *reload_arg);
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
