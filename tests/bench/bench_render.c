/*
 * bench_render.c -- times the /metrics telemetry render (exporter/render.c) from
 * memory: fills the loop's shared store and asset table, then renders repeatedly.
 *
 *   bench_render [--assets N] [--keys K] [--runs R] [--fresh] [--stream BYTES]
 *                [--mapped M] [--check]
 *
 * By default the whole body goes into one growable buffer, reused from one render to
 * the next (the formatting alone); --fresh allocates a new one per render instead (the
 * page-fault cost of a body-sized buffer). --stream BYTES renders as exporter/web.c
 * does: into a fixed buffer of that size (web.h: WEB_STREAM_BUF) handed to a sink on
 * each flush; the sink here discards the bytes, so the figure excludes the network.
 * Default: 200,000 assets x 5 numeric keys = 1,000,000 series (+ one string key per
 * asset when --strings). Prints one line per figure:
 *   series=1000000 body_bytes=... first_ms=... (includes the label cache build)
 *   render_ms median=... min=... max=... MB_per_s=...
 * --mapped M maps the first M keys (metric.<key>.name, and scale: --scale S, default
 * 0.1): their series move to families of their own, one store walk each. A scale
 * that makes long decimals (0.1) costs the number formatting's slow path.
 * --check exits 1 when the median is over 500 ms (issue 8's target).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/tb.h"
#include "exporter/expo.h"
#include "exporter/health.h"
#include "exporter/loop.h"
#include "exporter/render.h"
#include "exporter/render_opts.h"

static struct cfg g_cfg, g_map_cfg;
static struct loop_shared g_sh;
static struct health g_h;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Counts what a streamed render hands over, like web.c's sink minus the socket. */
static size_t g_streamed;
static int discard_sink(void *user, const char *data, size_t len)
{
    (void)user;
    (void)data;
    g_streamed += len;
    return 0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    unsigned assets = 200000, keys = 5, runs = 5, strings = 0, check = 0, fresh = 0, mapped = 0;
    const char *scale = "0.1";
    size_t stream = 0;
    char *sbuf = NULL;
    static const char *const knames[] = { "telemetry_param_latitude",
                                          "telemetry_param_longitude",
                                          "temperature",
                                          "battery",
                                          "odometer",
                                          "door_open",
                                          "humidity",
                                          "pressure" };
    double t[32], first;
    struct render *r;
    struct expo e;
    size_t body = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--assets") && i + 1 < argc)
            assets = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--keys") && i + 1 < argc)
            keys = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--strings"))
            strings = 1;
        else if (!strcmp(argv[i], "--fresh"))
            fresh = 1;
        else if (!strcmp(argv[i], "--stream") && i + 1 < argc)
            stream = (size_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--mapped") && i + 1 < argc)
            mapped = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--scale") && i + 1 < argc)
            scale = argv[++i];
        else if (!strcmp(argv[i], "--check"))
            check = 1;
        else {
            fprintf(stderr, "usage: bench_render [--assets N] [--keys K<=8] [--runs R<=32] "
                            "[--strings] [--fresh] [--stream BYTES] [--mapped M] [--scale S] "
                            "[--check]\n");
            return 2;
        }
    }
    if (keys > 8 || keys == 0 || runs == 0 || runs > 32 || assets > LOOP_MAX_ASSETS ||
        mapped > keys) {
        fprintf(stderr, "bench_render: keys 1..8, runs 1..32, assets <= %u, mapped <= keys\n",
                LOOP_MAX_ASSETS);
        return 2;
    }
    g_cfg.store_max_series = 2000000;
    health_init(&g_h, "bench", "bench", 0);
    if (loop_shared_init(&g_sh, &g_cfg) != 0)
        return 1;
    struct asset_tab *tab = asset_tab_new();
    if (!tab)
        return 1;
    for (unsigned i = 0; i < assets; i++) {
        uint8_t id[16] = { 0 };
        char name[64], type[32];
        int nl, tl;
        for (int b = 0; b < 4; b++)
            id[b] = (uint8_t)(i >> (24 - 8 * b));
        id[6] = 0x11;
        id[8] = 0x9a;
        /* every tenth name has characters to escape, like the simulator's */
        nl = snprintf(name, sizeof name, i % 10 ? "Pump station %u" : "Tank \"%u\" \\ north\n", i);
        tl = snprintf(type, sizeof type, "profile_%u", i % 5);
        if (assets_add(&tab->t, id, name, (size_t)nl, type, (size_t)tl, "", 0) < 0) {
            fprintf(stderr, "bench_render: asset table full at %u\n", i);
            return 1;
        }
    }
    {
        double t0 = now_ms();
        asset_tab_seal(tab); /* what the loop does once per listing */
        printf("seal_ms=%.1f\n", now_ms() - t0);
    }
    loop_shared_publish(&g_sh, tab);
    for (unsigned i = 0; i < assets; i++) {
        const assets_entry *a = assets_get(&tab->t, (int32_t)i);
        for (unsigned k = 0; k < keys; k++) {
            char v[32];
            int vl = snprintf(v, sizeof v, k % 2 ? "%u.%u" : "%u", i * 7 + k, k * 13 + 1);
            store_apply(&g_sh.st, a->id, knames[k], strlen(knames[k]),
                        1700000000000ll + i + k * 1000, v, (size_t)vl, 1);
        }
        if (strings)
            store_apply(&g_sh.st, a->id, "device_id", 9, 1700000000000ll, "dev-abc-123", 11, 1);
    }
    r = render_create(&g_sh, &g_h);
    if (!r)
        return 1;
    if (mapped) {
        char conf[2048], err[512];
        size_t n = 0;
        for (unsigned k = 0; k < mapped; k++)
            n += (size_t)snprintf(conf + n, sizeof conf - n,
                                  "metric.%s.name = bench_%s\nmetric.%s.scale = %s\n", knames[k],
                                  knames[k], knames[k], scale);
        struct render_opts *o = NULL;
        if (cfg_load_text(&g_map_cfg, conf, n, "bench", err, sizeof err) != CFG_OK ||
            !(o = render_opts_new(&g_map_cfg))) {
            fprintf(stderr, "bench_render: mapping: %s\n", err);
            return 1;
        }
        render_set_opts(r, o);
    }
    if (stream && !(sbuf = malloc(stream)))
        return 1;
    if (stream)
        expo_init_stream(&e, EXPO_TEXT, 0, sbuf, stream, discard_sink, NULL);
    else
        expo_init(&e, EXPO_TEXT, 0);
    for (unsigned run = 0; run <= runs; run++) {
        double t0;
        if (fresh)
            expo_free(&e);
        expo_reset(&e, EXPO_TEXT);
        g_streamed = 0;
        t0 = now_ms();
        if (render_telemetry(r, &e) != 0 || expo_finish(&e) != EXPO_OK) {
            fprintf(stderr, "bench_render: render failed: %s\n", expo_strerror(e.err));
            return 1;
        }
        if (run == 0)
            first = now_ms() - t0;
        else
            t[run - 1] = now_ms() - t0;
        expo_body(&e, &body);
        body += g_streamed;
    }
    expo_free(&e);
    free(sbuf);
    qsort(t, runs, sizeof t[0], cmp_d);
    {
        store_stats ss;
        store_get_stats(&g_sh.st, &ss);
        printf("series=%u assets=%u keys=%u mapped=%u body_bytes=%zu first_ms=%.1f\n", ss.series,
               assets, keys, mapped, body, first);
        printf("render_ms median=%.1f min=%.1f max=%.1f runs=%u MB_per_s=%.0f buffer=%s\n",
               t[runs / 2], t[0], t[runs - 1], runs, body / 1e6 / (t[runs / 2] / 1e3),
               stream  ? "stream"
               : fresh ? "fresh"
                       : "reused");
    }
    render_destroy(r);
    if (check && t[runs / 2] > 500.0) {
        printf("over the 500 ms target\n");
        return 1;
    }
    return 0;
}
