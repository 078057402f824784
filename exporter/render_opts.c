/*
 * render_opts.c -- the configuration snapshot renders read (render_opts.h).
 */
#include "exporter/render_opts.h"

#include <stdlib.h>
#include <string.h>

struct render_opts *render_opts_new(const struct cfg *c)
{
    struct render_opts *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->refs = 1;
    if (!c) {
        o->timestamps = 1;
        o->info_all = 1;
        mapping_init(&o->map);
        return o;
    }
    o->timestamps = c->metrics_timestamps;
    o->info_all = c->info_fields_all;
    o->ninfo = c->ninfo_fields;
    memcpy(o->info, c->info_fields, sizeof o->info);
    mapping_copy(&o->map, &c->map);
    return o;
}

int render_opts_field_wanted(const struct render_opts *o, const char *nm)
{
    if (o->info_all)
        return 1;
    for (unsigned i = 0; i < o->ninfo; i++)
        if (o->info[i][0] == nm[0] && !strcmp(o->info[i], nm))
            return 1;
    return 0;
}

void render_opts_slot_init(struct render_opts_slot *s, struct render_opts *first)
{
    pthread_mutex_init(&s->mu, NULL);
    s->cur = first;
}

void render_opts_slot_free(struct render_opts_slot *s)
{
    free(s->cur); /* every render has ended: the slot holds the last reference */
    s->cur = NULL;
    pthread_mutex_destroy(&s->mu);
}

/* Drops one reference under mu; the snapshot when it was the last. */
static struct render_opts *unref(struct render_opts *o)
{
    return --o->refs == 0 ? o : NULL;
}

void render_opts_publish(struct render_opts_slot *s, struct render_opts *o)
{
    struct render_opts *gone;
    pthread_mutex_lock(&s->mu);
    gone = unref(s->cur);
    s->cur = o;
    pthread_mutex_unlock(&s->mu);
    free(gone);
}

struct render_opts *render_opts_acquire(struct render_opts_slot *s)
{
    struct render_opts *o;
    pthread_mutex_lock(&s->mu);
    o = s->cur;
    o->refs++;
    pthread_mutex_unlock(&s->mu);
    return o;
}

void render_opts_release(struct render_opts_slot *s, struct render_opts *o)
{
    struct render_opts *gone;
    pthread_mutex_lock(&s->mu);
    gone = unref(o);
    pthread_mutex_unlock(&s->mu);
    free(gone);
}

void render_opts_discard(struct render_opts *o)
{
    if (o && --o->refs == 0) /* never published: no other thread has seen it */
        free(o);
}
