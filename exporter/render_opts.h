/*
 * render_opts.h -- what a render takes from the configuration: the mapping table
 * (exporter/mapping.h), --metrics.timestamps and --metrics.asset-info-fields, as one
 * immutable, reference-counted snapshot.
 *
 * Why a snapshot: SIGHUP loads a new configuration on the loop thread while renders
 * run on civetweb threads. A render takes the current snapshot once when it starts
 * (render_opts_acquire) and reads it without a lock until it gives it back, so it
 * sees one mapping throughout (never half of an old one and half of a new one); the
 * next render sees the new one. Publishing swaps a pointer under the holder's mutex;
 * the last holder frees the old snapshot.
 *
 * Threads: render_opts_new on any thread (it only reads the cfg); publish on the
 * thread that owns the configuration (main's reload, on the loop thread);
 * acquire/release from any thread.
 */
#ifndef IOTPRO_EXPORTER_RENDER_OPTS_H
#define IOTPRO_EXPORTER_RENDER_OPTS_H

#include <pthread.h>

#include "exporter/config.h"
#include "exporter/mapping.h"

struct render_opts {
    unsigned refs; /* under the holder's mutex */
    int timestamps;
    int info_all; /* every scalar assetDetails field */
    unsigned ninfo;
    char info[LIM_INFO_FIELDS][CFG_INFO_FIELD_BYTES];
    struct mapping map; /* finished */
};

/* A snapshot of c (NULL: the defaults, no mapping) with one reference, the caller's;
 * NULL when out of memory. */
struct render_opts *render_opts_new(const struct cfg *c);

/* 1 when the sanitised assetDetails label name nm goes on iotpro_asset_info. */
int render_opts_field_wanted(const struct render_opts *o, const char *nm);

struct render_opts_slot {
    pthread_mutex_t mu;
    struct render_opts *cur; /* one reference is the slot's */
};
/* first: taken over (must not be NULL). */
void render_opts_slot_init(struct render_opts_slot *s, struct render_opts *first);
void render_opts_slot_free(struct render_opts_slot *s);
/* Makes o current (taking over the caller's reference) and drops the old one's. */
void render_opts_publish(struct render_opts_slot *s, struct render_opts *o);
struct render_opts *render_opts_acquire(struct render_opts_slot *s);
void render_opts_release(struct render_opts_slot *s, struct render_opts *o);
/* Drops a reference of a snapshot never published (e.g. a reload that failed later). */
void render_opts_discard(struct render_opts *o);

#endif
