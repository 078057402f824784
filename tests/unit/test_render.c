/*
 * test_render.c -- exporter/render: exact sample lines with escaped labels from the
 * per-entity prefixes, string values as info, asset_info, and a table swap (a renamed
 * asset renders with its new name), a streamed render equal byte for byte to the
 * whole-body one, and the prefix copier (exporter/asset_tab.c) equal to the escaper.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tb_apply.h"
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
    CHECK(assets_add(t, id, name, strlen(name), type, strlen(type), "", 0) >= 0);
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

/* One attribute value as the WebSocket client applies it (tb_feed_attr_value into the
 * store under the attribute namespace). */
static void attr(const uint8_t *id, const char *key, int64_t ts, const char *val)
{
    tb_feed_attr a;
    tb_feed_value v;
    tb_apply_result res;
    char kb[LIM_KEY_BYTES], vb[LIM_STRING_VALUE_BYTES + 8];
    memset(&a, 0, sizeof a);
    memcpy(a.entity, id, 16);
    a.v.entity = a.entity;
    a.v.type = TB_KEY_SERVER_ATTRIBUTE;
    a.v.key = key;
    a.v.key_len = strlen(key);
    a.v.ts = ts;
    a.v.value = val;
    a.v.value_len = strlen(val);
    CHECK_INT(tb_feed_attr_value(&a, kb, vb, sizeof vb, &v), TB_OK);
    CHECK(tb_key_is_attr(v.key, v.key_len) && v.key_len == strlen(key) + 1);
    tb_apply(&g_sh.st, &v, 1, 1, &res);
    CHECK_INT((int)res.set, 1);
}

/* A device next to an asset: device families with device labels, connectivity from the
 * attributes, an attribute and a telemetry key of the same name kept apart, generic
 * attribute families for both kinds, and no device in the asset families. */
static void test_devices_and_attributes(void)
{
    struct render *r;
    struct asset_tab *t;
    tb_asset d;
    char *b;
    g_cfg.store_max_series = 1000;
    g_cfg.attr_keys.n = 1;
    health_init(&g_h, "t", "t", 1000);
    CHECK_INT(loop_shared_init(&g_sh, &g_cfg), 0);
    t = asset_tab_new();
    CHECK(t != NULL);
    add(&t->t, ID1, "Tank", "pump");
    memset(&d, 0, sizeof d);
    memcpy(d.id, ID2, 16);
    strcpy(d.name, "Tracker \"7\"");
    d.name_len = (uint16_t)strlen(d.name);
    strcpy(d.type, "Tracker");
    d.type_len = 7;
    strcpy(d.label, "Truck");
    d.label_len = 5;
    d.kind = TB_ENTITY_DEVICE;
    CHECK(assets_add_tb(&t->t, &d) >= 0);
    CHECK_INT(asset_tab_seal(t), 0);
    CHECK_INT((int)t->devices, 1);
    loop_shared_publish(&g_sh, t);
    store_apply(&g_sh.st, ID1, "temperature", 11, 1700000000123, "21.5", 4, 1);
    store_apply(&g_sh.st, ID2, "temperature", 11, 1700000000500, "-3", 2, 1);
    store_apply(&g_sh.st, ID2, "active", 6, 1700000000600, "7", 1, 1); /* telemetry "active" */
    store_apply(&g_sh.st, ID2, "device_id", 9, 1700000000000, "D-7", 3, 1);
    attr(ID2, "active", 1700000000700, "false");
    attr(ID2, "lastActivityTime", 1700000000800, "1700000000500");
    attr(ID2, "firmware", 1700000000900, "1.4.2");
    attr(ID1, "capacity", 1700000001000, "12.5");
    r = render_create(&g_sh, &g_h);
    b = render_text(r);
#define DEV "device_id=\"" U2 "\",device=\"Tracker \\\"7\\\"\",profile=\"Tracker\""
    CHECK(strstr(b, "iotpro_device_telemetry_value{" DEV ",key=\"temperature\"} -3\n") != NULL);
    CHECK(strstr(b, "iotpro_device_telemetry_value{" DEV ",key=\"active\"} 7\n") != NULL);
    CHECK(strstr(b, "iotpro_device_telemetry_timestamp_seconds{" DEV
                    ",key=\"temperature\"} 1700000000.5\n") != NULL);
    CHECK(strstr(b, "iotpro_device_telemetry_info{device_id=\"" U2
                    "\",key=\"device_id\",value=\"D-7\"} 1\n") != NULL);
    CHECK(strstr(b, "iotpro_device_info{" DEV ",label=\"Truck\"} 1\n") != NULL);
    CHECK(strstr(b, "iotpro_device_active{" DEV "} 0\n") != NULL);
    CHECK(strstr(b, "iotpro_device_last_activity_timestamp_seconds{" DEV "} 1700000000.5\n") !=
          NULL);
    CHECK(strstr(b, "iotpro_attribute_info{device_id=\"" U2
                    "\",key=\"firmware\",value=\"1.4.2\"} 1\n") != NULL);
    CHECK(strstr(b, "iotpro_attribute_value{asset_id=\"" U1
                    "\",asset=\"Tank\",profile=\"pump\",key=\"capacity\"} 12.5\n") != NULL);
    /* kept apart: no attribute in the telemetry families, no device in the asset ones,
     * connectivity not repeated as a generic attribute */
    CHECK(strstr(b, "key=\"lastActivityTime\"") == NULL);
    CHECK(strstr(b, "iotpro_telemetry_value{device_id") == NULL);
    CHECK(strstr(b, "iotpro_asset_info{device_id") == NULL);
    CHECK(strstr(b, "iotpro_telemetry_value{asset_id=\"" U1 "\",asset=\"Tank\",profile=\"pump\","
                    "key=\"capacity\"}") == NULL);
    CHECK(strstr(b, "\xff") == NULL);
    free(b);
    /* a newer value: active again */
    attr(ID2, "active", 1700000002000, "true");
    b = render_text(r);
    CHECK(strstr(b, "iotpro_device_active{" DEV "} 1\n") != NULL);
    free(b);
    render_destroy(r);
    loop_shared_free(&g_sh);
    g_cfg.attr_keys.n = 0;
#undef DEV
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

/* Several batches' worth of rows (RENDER_BATCH is 1024), strings, escapes, rows of
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

/* asset_prefix_get's text is asset_tab_labels' for names that are copied (plain) and
 * those that are escaped, for assets and devices, sealed or not; the seal counts the
 * replacements of the escaped ones. */
static void test_prefix_equals_labels(void)
{
    static const char *const names[] = {
        "Tank B",
        "Tank \"A\" \\ 1\nnorth",
        "Caf\xc3\xa9",
        "tab\there",
        "del\x7f",
        "bad\xff",
        "~ !#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}",
        "",
    };
    enum { N = sizeof names / sizeof names[0] };
    char longname[LIM_NAME_BYTES];
    struct asset_tab *t = asset_tab_new();
    struct asset_prefix pre;
    uint64_t replaced = 0;
    CHECK(t != NULL);
    memset(longname, '"', sizeof longname - 1); /* the longest escaped prefix */
    longname[sizeof longname - 1] = 0;
    for (int i = 0; i <= 2 * N; i++) {
        tb_asset a;
        memset(&a, 0, sizeof a);
        a.id[0] = (uint8_t)i;
        a.id[15] = 0xab;
        strcpy(a.name, i == 2 * N ? longname : names[i % N]);
        a.name_len = (uint16_t)strlen(a.name);
        strcpy(a.type, i == 2 * N ? longname : names[(i + 1) % N]);
        a.type_len = (uint16_t)strlen(a.type);
        a.kind = i % 2 ? TB_ENTITY_DEVICE : TB_ENTITY_ASSET;
        CHECK(assets_add_tb(&t->t, &a) >= 0);
    }
    for (int sealed = 0; sealed < 2; sealed++) {
        asset_prefix_init(&pre, t);
        for (int32_t i = 0; i < (int32_t)t->t.count; i++) {
            char want[ASSET_PREFIX_MAX + 1];
            struct expo_labels lb;
            const char *got;
            size_t n = 0;
            expo_labels_init(&lb, want, sizeof want);
            asset_tab_labels(&lb, assets_get(&t->t, i)->id, &t->t, i);
            CHECK_INT(lb.err, 0);
            replaced += sealed ? 0 : lb.replaced;
            got = asset_prefix_get(&pre, i, &n);
            CHECK(got != NULL && n == lb.len && memcmp(got, want, n) == 0);
            CHECK(asset_prefix_get(&pre, i, &n) == got); /* held: not built again */
        }
        CHECK(asset_prefix_get(&pre, (int32_t)t->t.count, &(size_t){ 0 }) == NULL);
        CHECK(asset_prefix_get(&pre, -1, &(size_t){ 0 }) == NULL);
        if (!sealed) {
            CHECK_INT(asset_tab_seal(t), 0);
            CHECK_INT((int)t->devices, N);
            CHECK(replaced > 0 && t->pre_replaced == replaced);
            CHECK_INT(asset_tab_kind(t, 1), TB_ENTITY_DEVICE);
            CHECK_INT(asset_tab_kind(t, 2), TB_ENTITY_ASSET);
        }
    }
    asset_tab_free(t);
}

int main(void)
{
    RUN(test_prefix_equals_labels);
    RUN(test_lines_and_swap);
    RUN(test_stream_equals_whole);
    RUN(test_devices_and_attributes);
    return harness_done();
}
