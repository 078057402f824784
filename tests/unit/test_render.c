/*
 * test_render.c -- exporter/render: exact sample lines with escaped labels from the
 * cached prefixes, string values as info, asset_info, and the cache following a table
 * swap (a renamed asset renders with its new name; the cache is rebuilt once), and a
 * streamed render equal byte for byte to the whole-body one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporter/render.h"
#include "tests/harness.h"
#include "tests/unit/render_fixture.h"


static char *render_text(struct render *r)
{
    struct expo e;
    size_t n;
    char *body;
    expo_init(&e, EXPO_TEXT, 0);
    CHECK_INT(render_telemetry(r, &e), 0);
    CHECK_INT(expo_finish(&e), EXPO_OK);
    body = expo_take(&e, &n);
    body = realloc(body, n + 1);
    body[n] = 0;
    expo_free(&e);
    return body;
}

static void add(assets_table *t, const uint8_t *id, const char *name, const char *type)
{
    static const uint8_t prof[16];
    CHECK(assets_add(t, id, prof, name, strlen(name), type, strlen(type), "", 0) >= 0);
}

static void test_lines_and_swap(void)
{
    struct render *r;
    char *b;
    g_cfg.store_max_series = 1000;
    struct asset_tab *t, *held;
    health_init(&g_h, "t", "t", 1000);
    CHECK_INT(loop_shared_init(&g_sh, &g_cfg), 0);
    t = asset_tab_new();
    CHECK(t != NULL);
    add(&t->t, ID1, "Tank \"A\" \\ 1\nnorth", "pump");
    add(&t->t, ID2, "Caf\xc3\xa9", "meter");
    CHECK_INT(asset_tab_seal(t), 0);
    loop_shared_publish(&g_sh, t);
    store_apply(&g_sh.st, ID1, "temperature", 11, 1700000000123, "21.5", 4, 1);
    store_apply(&g_sh.st, ID2, "temperature", 11, 1700000001000, "-3", 2, 1);
    store_apply(&g_sh.st, ID1, "device_id", 9, 1700000000000, "dev \"x\"", 7, 1);
    r = render_create(&g_sh, &g_h);
    CHECK(r != NULL);
    b = render_text(r);
    CHECK(strstr(b, "iotpro_telemetry_value{asset_id=\"" U1
                    "\",asset=\"Tank \\\"A\\\" \\\\ 1\\nnorth\","
                    "profile=\"pump\",key=\"temperature\"} 21.5\n") != NULL);
    CHECK(strstr(b, "iotpro_telemetry_value{asset_id=\"" U2
                    "\",asset=\"Caf\xc3\xa9\",profile=\"meter\","
                    "key=\"temperature\"} -3\n") != NULL);
    CHECK(strstr(b, "iotpro_telemetry_timestamp_seconds{asset_id=\"" U1 "\",asset=\"Tank \\\"A\\\" "
                    "\\\\ 1\\nnorth\",profile=\"pump\",key=\"temperature\"} 1700000000.123\n") !=
          NULL);
    CHECK(strstr(b, "iotpro_telemetry_info{asset_id=\"" U1
                    "\",key=\"device_id\",value=\"dev \\\"x\\\"\"} 1\n") != NULL);
    CHECK(strstr(b, "iotpro_asset_info{asset_id=\"" U2
                    "\",asset=\"Caf\xc3\xa9\",profile=\"meter\"} 1\n") != NULL);
    CHECK(strstr(b, "iotpro_telemetry_value{asset_id=\"" U1
                    "\",asset=\"Tank \\\"A\\\" \\\\ 1\\nnorth\","
                    "profile=\"pump\",key=\"device_id\"}") == NULL); /* strings only as info */
    free(b);

    /* rediscovery: a new table with the renamed asset is published while a (slow)
     * render still holds the old one: the old one stays whole until it lets go */
    held = loop_shared_acquire(&g_sh);
    CHECK(held == t && held->refs == 2);
    t = asset_tab_new();
    add(&t->t, ID1, "Tank B", "pump");
    add(&t->t, ID2, "Caf\xc3\xa9", "meter");
    asset_tab_seal(t);
    loop_shared_publish(&g_sh, t);
    CHECK_INT((int)held->refs, 1);
    CHECK_INT((int)held->t.count, 2); /* still readable (ASan would object otherwise) */
    b = render_text(r);
    CHECK(strstr(b, "iotpro_telemetry_value{asset_id=\"" U1 "\",asset=\"Tank B\",profile=\"pump\","
                    "key=\"temperature\"} 21.5\n") != NULL);
    CHECK(strstr(b, "north") == NULL);
    free(b);
    loop_shared_release(&g_sh, held); /* the last reference: freed */

    /* a listing with one asset removed, and one that was never sealed (no memory
     * for prefixes): labels are built one by one, the same text */
    t = asset_tab_new();
    add(&t->t, ID2, "Caf\xc3\xa9", "meter");
    loop_shared_publish(&g_sh, t);
    b = render_text(r);
    CHECK(strstr(b, U1) == NULL);
    CHECK(strstr(b, "iotpro_telemetry_value{asset_id=\"" U2
                    "\",asset=\"Caf\xc3\xa9\",profile=\"meter\","
                    "key=\"temperature\"} -3\n") != NULL);
    free(b);
    render_destroy(r);
    loop_shared_free(&g_sh);
}


struct collect {
    char *out;
    size_t len, cap;
    unsigned calls, fail_at;
};

static int collect_sink(void *user, const char *data, size_t len)
{
    struct collect *c = user;
    c->calls++;
    if (c->fail_at && c->calls >= c->fail_at)
        return -1;
    if (c->len + len > c->cap) {
        c->cap = (c->len + len) * 2;
        c->out = realloc(c->out, c->cap);
        if (!c->out)
            return -1;
    }
    memcpy(c->out + c->len, data, len);
    c->len += len;
    return 0;
}

/* Several batches' worth of rows (RENDER_BATCH is 4096), strings, escapes, rows of
 * an unknown asset (slow path): the stream reassembled equals the whole body for
 * buffer sizes from tiny to larger than the body; a sink that fails stops it. */
static void test_stream_equals_whole(void)
{
    enum { ASSETS = 1500, KEYS = 7 };
    static const char *const keys[KEYS] = { "temperature", "battery", "lat", "lon",
                                            "device_id",   "k\"q",    "fw" };
    static const size_t sizes[] = { 1, 333, 4096, 65536, 1u << 24 };
    struct render *r;
    struct expo w;
    size_t wl;
    g_cfg.store_max_series = ASSETS * KEYS + 100;
    health_init(&g_h, "t", "t", 1000);
    CHECK_INT(loop_shared_init(&g_sh, &g_cfg), 0);
    struct asset_tab *t = asset_tab_new();
    CHECK(t != NULL);
    for (unsigned i = 0; i < ASSETS; i++) {
        uint8_t id[16] = { 0xab };
        char name[48];
        id[12] = (uint8_t)(i >> 8);
        id[15] = (uint8_t)i;
        snprintf(name, sizeof name, i % 10 ? "Pump %u" : "Tank \"%u\" \\ n\n", i);
        if (i + 1 < ASSETS) /* the last one stays unknown to the table */
            add(&t->t, id, name, i % 3 ? "pump" : "tank");
    }
    asset_tab_seal(t);
    loop_shared_publish(&g_sh, t);
    for (unsigned i = 0; i < ASSETS; i++) {
        uint8_t id[16] = { 0xab };
        id[12] = (uint8_t)(i >> 8);
        id[15] = (uint8_t)i;
        for (unsigned k = 0; k < KEYS; k++) {
            char v[32];
            int vl = k == 4 ? snprintf(v, sizeof v, "dev-%u", i)
                            : snprintf(v, sizeof v, "%u.%u", i * 3 + k, k);
            store_apply(&g_sh.st, id, keys[k], strlen(keys[k]), 1700000000000ll + i * 10 + k, v,
                        (size_t)vl, 1);
        }
    }
    r = render_create(&g_sh, &g_h);
    CHECK(r != NULL);
    for (int fmt = 0; fmt < 2; fmt++) {
        expo_init(&w, (enum expo_format)fmt, 0);
        CHECK_INT(render_telemetry(r, &w), 0);
        CHECK_INT(expo_finish(&w), EXPO_OK);
        const char *wb = expo_body(&w, &wl);
        CHECK(wl > 500000);
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            struct collect c = { 0 };
            struct expo e;
            char *buf = malloc(sizes[i]);
            CHECK_CTX("%s, buffer %zu", fmt ? "openmetrics" : "text", sizes[i]);
            expo_init_stream(&e, (enum expo_format)fmt, 0, buf, sizes[i], collect_sink, &c);
            CHECK_INT(render_telemetry(r, &e), 0);
            CHECK_INT(expo_finish(&e), EXPO_OK);
            CHECK_MEM(c.out, c.len, wb, wl);
            free(c.out);
            /* the client goes away at the second chunk: the render ends, nothing more
             * is handed over */
            if (sizes[i] < wl / 4) {
                memset(&c, 0, sizeof c);
                c.fail_at = 2;
                expo_init_stream(&e, (enum expo_format)fmt, 0, buf, sizes[i], collect_sink, &c);
                CHECK_INT(render_telemetry(r, &e), 0);
                CHECK_INT(expo_finish(&e), EXPO_ERR_SINK);
                CHECK_INT(c.calls, 2);
                free(c.out);
            }
            free(buf);
        }
        expo_free(&w);
    }
    render_destroy(r);
    loop_shared_free(&g_sh);
}

int main(void)
{
    RUN(test_lines_and_swap);
    RUN(test_stream_equals_whole);
    return harness_done();
}
