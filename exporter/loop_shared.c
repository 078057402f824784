/*
 * loop_shared.c -- the loop's shared data (loop_shared.h).
 */
#include "exporter/loop_shared.h"

#include <stdlib.h>
#include <string.h>

#include "exporter/log.h"

int loop_shared_init(struct loop_shared *sh, const struct cfg *cfg)
{
    store_config sc = { 0 };
    size_t sn;
    memset(sh, 0, sizeof *sh);
    pthread_mutex_init(&sh->mu, NULL);
    sc.max_series = cfg->store_max_series ? (uint32_t)cfg->store_max_series : LIM_SERIES_DEFAULT;
    sh->attr_keys = cfg->attr_keys.n;
    sc.max_entities = LOOP_MAX_ASSETS;
    sc.max_strings = LOOP_MAX_STRINGS;
    sn = store_mem_needed(&sc);
    /* calloc, not malloc + memset: sized for the maxima, only what the store writes
     * becomes resident */
    sh->store_mem = calloc(1, sn);
    sh->cur = asset_tab_new();
    if (!sh->store_mem || !sh->cur || store_init(&sh->st, sh->store_mem, sn, &sc) != 0) {
        log_error("cannot allocate the store and asset table", LOG_U("store_bytes", sn));
        loop_shared_free(sh);
        return -1;
    }
    asset_tab_seal(sh->cur);
    store_bind_assets(&sh->st, &sh->cur->t);
    return 0;
}

void loop_shared_free(struct loop_shared *sh)
{
    free(sh->store_mem);
    asset_tab_free(sh->cur); /* every render has ended: ours is the last reference */
    sh->store_mem = NULL;
    sh->cur = NULL;
    pthread_mutex_destroy(&sh->mu);
}

/* Drops one reference (under mu); returns the table when it was the last. */
static struct asset_tab *unref(struct asset_tab *t)
{
    return --t->refs == 0 ? t : NULL;
}

void loop_shared_publish(struct loop_shared *sh, struct asset_tab *t)
{
    struct asset_tab *gone;
    pthread_mutex_lock(&sh->mu);
    gone = unref(sh->cur);
    sh->cur = t;
    store_bind_assets(&sh->st, &t->t);
    pthread_mutex_unlock(&sh->mu);
    asset_tab_free(gone); /* outside the lock: freeing 47 MB of mappings takes a while */
}

struct asset_tab *loop_shared_acquire(struct loop_shared *sh)
{
    struct asset_tab *t;
    pthread_mutex_lock(&sh->mu);
    t = sh->cur;
    t->refs++;
    pthread_mutex_unlock(&sh->mu);
    return t;
}

void loop_shared_release(struct loop_shared *sh, struct asset_tab *t)
{
    struct asset_tab *gone;
    pthread_mutex_lock(&sh->mu);
    gone = unref(t);
    pthread_mutex_unlock(&sh->mu);
    asset_tab_free(gone);
}

void loop_shared_discard(struct asset_tab *t)
{
    /* never published: no other thread has seen it */
    if (t && --t->refs == 0)
        asset_tab_free(t);
}
