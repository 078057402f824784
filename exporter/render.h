/*
 * render.h -- the /metrics body: health and process families, then the telemetry
 * families (iotpro_telemetry_value, _timestamp_seconds, _info), iotpro_asset_info and
 * the families of mapped keys (exporter/render_mapped.h), read from the loop's shared store and asset table (exporter/loop_shared.h) and
 * written with the exposition encoder (exporter/expo.h); the self metrics come from
 * their owners' counts (exporter/health.h), copied under one lock per scrape.
 *
 * Speed: a series' labels are `asset_id="…",asset="…",profile="…"` + `key="…"`. The
 * first part comes escaped with the asset table, made once per listing on the loop
 * thread (exporter/asset_tab.h); the key part is escaped once per key per render. A
 * sample is then two memcpy and one number. 1M series render in well under 0.5 s on
 * one core (tests/bench/bench_render.c prints the figures).
 *
 * Threads: render_metrics() runs on civetweb threads, up to --web.max-requests at once
 * (each request renders itself, web.h). It holds a reference to the asset table it
 * started with, which keeps that table alive, blocks nobody and takes no lock; store
 * rows are copied in batches under sh->mu (never held while formatting). With a
 * streaming encoder the render also waits for the network: web.c bounds that with a
 * deadline and the render stops at the next batch (or asset) once the encoder failed.
 *
 * Memory per render (freed when it returns): rows batch RENDER_BATCH x store_row
 * (1024 x 72 B = 72 KiB), string buffer RENDER_BATCH x LIM_STRING_VALUE_BYTES (256 KiB,
 * touched only as far as string values fill it), key cache (16384 slots x 16 B =
 * 256 KiB of zeroed pages, touched sparsely, plus an arena of LIM_KEYS x 392 B =
 * 1.5 MiB touched as far as distinct keys fill it): 2.1 MiB of address space,
 * typically under 1 MiB of it resident; with a metric mapping, 160 KiB more for its
 * key-pointer cache (exporter/render_mapped.h).
 *
 * Options: a render takes the options snapshot (exporter/render_opts.h: mapping,
 * timestamps, info fields) when it starts and keeps it to the end.
 */
#ifndef IOTPRO_EXPORTER_RENDER_H
#define IOTPRO_EXPORTER_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "exporter/expo.h"
#include "exporter/health.h"
#include "exporter/loop_shared.h"

struct render;

struct render_opts;

/* sh and h must outlive the render object. NULL on allocation failure. Renders use
 * the default options (no mapping, timestamps on, every asset info field) until
 * render_set_opts. */
struct render *render_create(struct loop_shared *sh, struct health *h);
void render_destroy(struct render *r);

/* Renders that start from now on use o (exporter/render_opts.h; the caller's
 * reference is taken over); running ones finish with the snapshot they started with. */
void render_set_opts(struct render *r, struct render_opts *o);

/* Writes the whole body (families and samples; not expo_finish). 0, or -1 when out
 * of memory (the caller answers 500, or aborts a stream already started). Encoder
 * errors are not reported here: the caller reads them with expo_finish. Fits
 * web_callbacks.render with r as user. */
int render_metrics(void *r, struct expo *e);

/* Only the telemetry and asset families (what the benchmark times). */
int render_telemetry(struct render *r, struct expo *e);

#endif
