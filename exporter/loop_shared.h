/*
 * loop_shared.h -- what the event loop shares with the /metrics render threads: the
 * store, the current asset table and a snapshot of the loop side's statistics.
 *
 * Rules:
 *   - mu guards the store, `cur`, every table's reference count, the assetDetails of
 *     the current table (they arrive on the WebSocket while it is current) and `snap`;
 *   - the loop thread is the only writer of all of them; it holds mu for one
 *     message's store updates (hash probes and copies: parsing happens before), a
 *     table swap, an expiry pass, or a snapshot copy;
 *   - a render takes the current table with loop_shared_acquire() (a reference) and
 *     gives it back with loop_shared_release(); whoever drops the last reference frees
 *     the table. Names, profiles and label prefixes of a table never change
 *     (exporter/asset_tab.h), so a render reads them without the lock; details it
 *     reads under mu;
 *   - store rows carry the table that was current when they were copied: a render
 *     compares that pointer with the table it holds and never follows another one
 *     (the other may be gone);
 *   - `renders` counts the /metrics renders in progress (render.c); while it is not
 *     zero the loop gives up the CPU now and then (loop_ws.c), so on a host with one
 *     core a scrape does not take twice as long while the feed keeps the loop busy.
 *
 * Threads: init/free and publish on the loop thread (init before any render starts);
 * acquire/release and reads under mu from any thread.
 */
#ifndef IOTPRO_EXPORTER_LOOP_SHARED_H
#define IOTPRO_EXPORTER_LOOP_SHARED_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/store.h"
#include "exporter/asset_tab.h"
#include "exporter/config.h"
#include "exporter/loop_stats.h"

/* String-valued series kept (device_id and the like: one per asset is typical). */
#define LOOP_MAX_STRINGS 200000u

struct loop_shared {
    pthread_mutex_t mu;
    store st;
    struct asset_tab *cur;  /* never NULL after init; one reference is ours */
    struct loop_stats snap; /* the loop side's statistics as of its last turn */
    unsigned attr_keys;     /* --iotpro.attribute-keys configured (renders skip those
                               families without them) */
    atomic_uint renders;    /* renders in progress (no lock) */
    void *store_mem;
};

/* Allocates the store (cfg->store_max_series) and an empty first table. 0, or -1
 * with a log line. The store block is reserved at its maxima (~170 MB of address
 * space with the defaults) with calloc and never cleared here: untouched pages are
 * not resident, and the store touches only what it holds (core/store.h), so its RSS
 * follows the fleet. */
int loop_shared_init(struct loop_shared *sh, const struct cfg *cfg);
void loop_shared_free(struct loop_shared *sh);

/* Loop thread: makes t current (taking over the caller's reference), binds the store
 * to it and drops the previous table's reference. */
void loop_shared_publish(struct loop_shared *sh, struct asset_tab *t);

/* Any thread: a reference to the current table (never NULL); give it back after. */
struct asset_tab *loop_shared_acquire(struct loop_shared *sh);
void loop_shared_release(struct loop_shared *sh, struct asset_tab *t);
/* Loop thread: drops a reference of a table that was never published. */
void loop_shared_discard(struct asset_tab *t);

#endif
