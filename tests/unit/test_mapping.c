/*
 * test_mapping.c -- exporter/mapping (metric.<key>.* lines: parser, checks, look-ups,
 * every error with its config-file line), its place in the configuration, the list of
 * our own family names it protects (checked against a real render), and the render of
 * mapped families, --metrics.timestamps=false and --metrics.asset-info-fields.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporter/config.h"
#include "exporter/mapping.h"
#include "exporter/procstat.h"
#include "exporter/render.h"
#include "exporter/render_opts.h"
#include "tests/harness.h"
#include "tests/unit/render_fixture.h"

static struct cfg C;
static char err[1024];

static int load(const char *text)
{
    err[0] = 0;
    return cfg_load_text(&C, text, strlen(text), "m.conf", err, sizeof err);
}

static void test_parse_good(void)
{
    double v;
    CHECK_INT(load("# mapping\n"
                   "metric.temperature.name  = temperature_celsius   # family\n"
                   "metric.temperature.help  = Air temperature at the asset\n"
                   "metric.temperature.scale = 0.1\n"
                   "metric.odometer.type     = counter\n"
                   "metric.odometer.name     = odometer_meters_total\n"
                   "metric.door.map          = OPEN:1, CLOSED:0 ,AJAR:0.5\n"
                   "metric.door.map-default  = -1\n"
                   "metric.a.b:c.map = x:y:2\n"
                   "metric.battery.scale = 1e-2\n"),
              CFG_OK);
    CHECK_STR(err, "");
    CHECK_INT(C.map.n, 5);
    int t = mapping_find(&C.map, "temperature", 11);
    CHECK_INT(t, 0);
    CHECK_STR(mapping_str(&C.map, C.map.k[t].name_off), "temperature_celsius");
    CHECK_STR(mapping_str(&C.map, C.map.k[t].help_off), "Air temperature at the asset");
    CHECK(C.map.k[t].scale == 0.1);
    CHECK_INT(C.map.k[t].type, MAPPING_GAUGE);
    /* a scale of exactly 1/d divides: the decimal one expects, not the product */
    CHECK(mapping_scale(&C.map, t, 3) == 0.3);
    CHECK(3 * 0.1 != 0.3);
    int bt = mapping_find(&C.map, "battery", 7);
    CHECK(C.map.k[bt].divisor == 100.0);
    CHECK(mapping_scale(&C.map, bt, 12345) == 123.45);
    int o = mapping_find(&C.map, "odometer", 8);
    CHECK_INT(C.map.k[o].type, MAPPING_COUNTER);
    CHECK(C.map.k[o].scale == 1.0);
    CHECK(C.map.k[o].divisor == 0.0);
    CHECK(mapping_scale(&C.map, o, 2.5) == 2.5);
    int d = mapping_find(&C.map, "door", 4);
    CHECK_INT(C.map.k[d].nvals, 3);
    /* the default name is the key; the default help names it */
    CHECK_STR(mapping_str(&C.map, C.map.k[d].name_off), "door");
    CHECK_STR(mapping_str(&C.map, C.map.k[d].help_off), "Telemetry key \"door\".");
    CHECK_INT(mapping_string_value(&C.map, d, "OPEN", 4, &v), 1);
    CHECK(v == 1.0);
    CHECK_INT(mapping_string_value(&C.map, d, "CLOSED", 6, &v), 1);
    CHECK(v == 0.0);
    CHECK_INT(mapping_string_value(&C.map, d, "AJAR", 4, &v), 1);
    CHECK(v == 0.5);
    CHECK_INT(mapping_string_value(&C.map, d, "open", 4, &v), 1); /* map-default */
    CHECK(v == -1.0);
    /* a key with dots: the attribute is after the last one; STR up to the last ':' */
    int ab = mapping_find(&C.map, "a.b:c", 5);
    CHECK(ab >= 0);
    CHECK_STR(mapping_str(&C.map, C.map.k[ab].name_off), "a_b_c");
    CHECK_INT(mapping_string_value(&C.map, ab, "x:y", 3, &v), 1);
    CHECK(v == 2.0);
    CHECK_INT(mapping_string_value(&C.map, ab, "x", 1, &v), 0); /* no default: stays info */
    CHECK_INT(mapping_find(&C.map, "temp", 4), -1);
    CHECK_INT(mapping_find(&C.map, "temperaturex", 12), -1);
    /* defaults of the other two options */
    CHECK_INT(C.metrics_timestamps, 1);
    CHECK_INT(C.info_fields_all, 1);
    CHECK_INT(C.ninfo_fields, 0);
    /* --config.check prints the table back in a form the parser takes */
    char *buf = NULL;
    size_t bn = 0;
    FILE *f = open_memstream(&buf, &bn);
    mapping_print(&C.map, f);
    fclose(f);
    CHECK(strstr(buf, "metric.door.map = OPEN:1,CLOSED:0,AJAR:0.5\n") != NULL);
    CHECK(strstr(buf, "metric.odometer.type = counter\n") != NULL);
    CHECK_INT(load(buf), CFG_OK);
    CHECK_STR(err, "");
    char *again = NULL;
    size_t an = 0;
    f = open_memstream(&again, &an);
    mapping_print(&C.map, f);
    fclose(f);
    CHECK_STR(again, buf);
    free(again);
    free(buf);
    /* no mapping at all */
    CHECK_INT(load("log.level = info\n"), CFG_OK);
    CHECK_INT(C.map.n, 0);
    CHECK_INT(mapping_find(&C.map, "door", 4), -1);
}

/* The example file's commented mapping, uncommented, is a working configuration. */
static void test_example_mapping(void)
{
    FILE *f = fopen("deploy/iotpro_exporter.conf.example", "r");
    if (!f)
        SKIP("deploy/iotpro_exporter.conf.example not found (run from the top directory)");
    static char text[32768];
    char line[512];
    size_t n = 0;
    while (fgets(line, sizeof line, f) && n + sizeof line < sizeof text)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s",
                              strncmp(line, "# metric.", 9) ? line : line + 2);
    fclose(f);
    CHECK_INT(load(text), CFG_OK);
    CHECK_STR(err, "");
    CHECK_INT(C.map.n, 3);
    CHECK_INT(C.map.k[mapping_find(&C.map, "odometer", 8)].type, MAPPING_COUNTER);
}

static void test_errors_name_their_line(void)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        { "metric.t.scale = abc\n",
          "line 1: metric.t.scale: invalid value \"abc\": not a finite number" },
        { "\nmetric.t.scale = inf\n", "line 2: metric.t.scale: invalid value \"inf\"" },
        { "metric.t.scale = 1\nmetric.t.scale = 2\n",
          "line 2: metric.t.scale: set twice (line 1)" },
        { "\n\nmetric.t.type = histogram\n",
          "line 3: metric.t.type: invalid value \"histogram\": must be gauge or counter" },
        { "metric.t.colour = red\n", "line 1: metric.t.colour: unknown attribute \"colour\"" },
        { "metric.t = 1\n", "line 1: metric.t: expected metric.<key>.<attribute>" },
        { "metric..name = x\n", "line 1: metric..name: expected metric.<key>.<attribute>" },
        { "metric.d.map = OPEN:1,CLOSED\n",
          "line 1: metric.d.map: invalid value \"OPEN:1,CLOSED\": entry 2 is not STR:number" },
        { "metric.d.map = OPEN:yes\n", "entry 1: \"yes\" is not a finite number" },
        { "metric.d.map = :1\n", "entry 1 has an empty string before ':'" },
        { "metric.d.map = A:1,A:2\n", "entry 2: \"A\" is mapped twice" },
        { "metric.d.map-default = nan\n",
          "line 1: metric.d.map-default: invalid value \"nan\": not a finite number" },
        { "#\nmetric.t.name = Temperature\n",
          "line 2: metric.t.name: \"Temperature\": must start with a lower-case letter" },
        { "metric.t.name = temp-c\n",
          "line 1: metric.t.name: \"temp-c\": must be lower-case snake_case" },
        { "metric.t.name = iotpro_temp\n", "give the name without the iotpro_ prefix" },
        { "metric.t.name = temp_total\n", "a gauge's name must not end in _total" },
        { "metric.t.name = temp_info\n", "a gauge's name must not end in _total, _info" },
        { "metric.o.type = counter\nmetric.o.name = odometer\n",
          "line 2: metric.o.name: \"odometer\": a counter's name must end in _total" },
        /* no name: the default is the key, reported at the type line */
        { "metric.x.help = h\nmetric.odometer.type = counter\n",
          "line 2: metric.odometer.name: not given, and the default (the key sanitised) \"odometer\": a counter's name must end in _total" },
        { "metric.t.name = up\n",
          "line 1: metric.t.name: \"up\": clashes with a family the exporter emits" },
        { "metric.t.name = ws_connects\n", "clashes with a family" }, /* OM family of a counter */
        { "metric.t.type = counter\nmetric.t.name = series_total\n",
          "clashes" }, /* gauge iotpro_series */
        { "metric.t.name = telemetry_value\n", "clashes" },
        { "metric.t.name = asset_extra\n", "clashes" },
        { "metric.t.name = device_x\n", "clashes" },
        { "metric.t.name = attribute_x\n", "clashes" },
        { "\n\nmetric.up.scale = 2\n",
          "line 3: metric.up.name: not given, and the default (the key sanitised) \"up\": clashes" },
        { "metric.a.name = level\nmetric.b.help = x\nmetric.b.name = level\n",
          "line 3: metric.b.name: iotpro_level is already the family of key \"a\" (line 1)" },
        { "metric.a.name = level\nmetric.b.type = counter\nmetric.b.name = level_total\n",
          "line 3: metric.b.name: iotpro_level_total is already the family of key \"a\" (line 1)" },
        { "metric.level.help = x\nmetric.b.name = level\n",
          "line 2: metric.b.name: iotpro_level is already the family of key \"level\" (line 1)" },
        { "metric.t.help = \n", "line 1: metric.t.help: invalid value \"\": empty" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_CTX("case %zu: %s", i, cases[i].text);
        CHECK_INT(load(cases[i].text), CFG_ERR_INVALID);
        CHECK(strstr(err, "config file m.conf line ") == err);
        if (!strstr(err, cases[i].want))
            harness_fail(__FILE__, __LINE__, "error \"%s\" lacks \"%s\"", err, cases[i].want);
    }
}

static void test_limits_and_options(void)
{
    /* 256 keys fit; the 257th is refused with its line */
    size_t cap = 300 * 40, n = 0;
    char *t = malloc(cap);
    for (int i = 0; i < 257; i++)
        n += (size_t)snprintf(t + n, cap - n, "metric.k%d.scale = 2\n", i);
    CHECK_INT(load(t), CFG_ERR_INVALID);
    CHECK(strstr(err, "line 257: metric.k256.scale: too many mapped keys") != NULL);
    t[n - strlen("metric.k256.scale = 2\n")] = 0;
    CHECK_INT(load(t), CFG_OK);
    CHECK_INT(C.map.n, 256);
    for (int i = 0; i < 256; i++) {
        char k[16];
        int kl = snprintf(k, sizeof k, "k%d", i);
        CHECK_INT(mapping_find(&C.map, k, (size_t)kl), i);
    }
    free(t);
    /* the other two options */
    CHECK_INT(load("metrics.timestamps = false\nmetrics.asset-info-fields = serialNumber, site\n"),
              CFG_OK);
    CHECK_INT(C.metrics_timestamps, 0);
    CHECK_INT(C.info_fields_all, 0);
    CHECK_INT(C.ninfo_fields, 2);
    CHECK_STR(C.info_fields[0], "serial_number");
    CHECK_STR(C.info_fields[1], "site");
    CHECK_INT(load("metrics.asset-info-fields = -\n"), CFG_OK);
    CHECK_INT(C.info_fields_all, 0);
    CHECK_INT(C.ninfo_fields, 0);
    CHECK_INT(load("metrics.asset-info-fields = a,,b\n"), CFG_ERR_INVALID);
    CHECK(strstr(err, "line 1: metrics.asset-info-fields: invalid value") != NULL);
    CHECK_INT(load("metrics.asset-info-fields = asset\n"), CFG_ERR_INVALID);
    CHECK_INT(load("metrics.timestamps = maybe\n"), CFG_ERR_INVALID);
    CHECK(strstr(err, "must be true or false") != NULL);
    /* flags and the environment do not take metric.* */
    char *const argv[] = { "x", "--metric.t.scale=2", NULL };
    char *const envp[] = { "IOTPRO_USERNAME=u", "IOTPRO_PASSWORD=p", NULL };
    CHECK_INT(cfg_load(&C, 2, argv, envp, err, sizeof err), CFG_ERR_INVALID);
    CHECK(strstr(err, "unknown flag --metric.t.scale") != NULL);
}

/* --- render ------------------------------------------------------------------------ */

#define L1 "asset_id=\"" U1 "\",asset=\"Tank 1\",profile=\"pump\""
#define L2 "asset_id=\"" U2 "\",asset=\"Tank 2\",profile=\"pump\""

static char *body(struct render *r, int full, enum expo_format fmt)
{
    struct expo e;
    size_t n;
    expo_init(&e, fmt, 0);
    CHECK_INT(full ? render_metrics(r, &e) : render_telemetry(r, &e), 0);
    CHECK_INT(expo_finish(&e), EXPO_OK);
    char *b = expo_take(&e, &n);
    b = realloc(b, n + 1);
    b[n] = 0;
    expo_free(&e);
    return b;
}

static void use(struct render *r, const char *conf)
{
    CHECK_INT(load(conf), CFG_OK);
    CHECK_STR(err, "");
    struct render_opts *o = render_opts_new(&C);
    CHECK(o != NULL);
    render_set_opts(r, o);
}

static int count(const char *b, const char *s)
{
    int n = 0;
    for (const char *p = b; (p = strstr(p, s)) != NULL; p++)
        n++;
    return n;
}

static struct render *setup(void)
{
    g_cfg.store_max_series = 1000;
    health_init(&g_h, "t", "t", 1000);
    CHECK_INT(loop_shared_init(&g_sh, &g_cfg), 0);
    struct asset_tab *t = asset_tab_new();
    CHECK(assets_add(&t->t, ID1, "Tank 1", 6, "pump", 4, "", 0) >= 0);
    CHECK(assets_add(&t->t, ID2, "Tank 2", 6, "pump", 4, "", 0) >= 0);
    tb_detail d[3] = { { "serialNumber", "SN-1" }, { "site", "north" }, { "floor", "2" } };
    CHECK_INT(assets_set_details(&t->t, 0, 1, d, 3), 0);
    CHECK_INT(asset_tab_seal(t), 0);
    loop_shared_publish(&g_sh, t);
    store_apply(&g_sh.st, ID1, "temperature", 11, 1700000000123, "215", 3, 1);
    store_apply(&g_sh.st, ID2, "temperature", 11, 1700000001000, "-30", 3, 1);
    store_apply(&g_sh.st, ID1, "odometer", 8, 1700000000000, "12345.5", 7, 1);
    store_apply(&g_sh.st, ID1, "door", 4, 1700000000000, "AJAR", 4, 1);
    store_apply(&g_sh.st, ID2, "door", 4, 1700000000000, "BROKEN", 6, 1);
    store_apply(&g_sh.st, ID1, "door_open", 9, 1700000000000, "true", 4, 1);
    store_apply(&g_sh.st, ID1, "device_id", 9, 1700000000000, "DEV-1", 5, 1);
    store_apply(&g_sh.st, ID1, "battery", 7, 1700000000000, "80", 2, 1);
    struct render *r = render_create(&g_sh, &g_h);
    CHECK(r != NULL);
    return r;
}

static const char conf_map[] = "metric.temperature.name  = temperature_celsius\n"
                               "metric.temperature.help  = Air temperature at the asset\n"
                               "metric.temperature.scale = 0.1\n"
                               "metric.odometer.type     = counter\n"
                               "metric.odometer.name     = odometer_meters_total\n"
                               "metric.door.map          = OPEN:1,CLOSED:0,AJAR:0.5\n"
                               "metric.door_open.scale   = 5\n"
                               "metric.never_sent.name   = never_sent\n";

static void test_render_mapped(void)
{
    struct render *r = setup();
    char *b = body(r, 0, EXPO_TEXT);
    /* without a mapping: everything generic */
    CHECK(strstr(b, "iotpro_telemetry_value{" L1 ",key=\"temperature\"} 215\n") != NULL);
    CHECK(strstr(b, "iotpro_telemetry_info{asset_id=\"" U1 "\",key=\"door\",value=\"AJAR\"} 1\n"));
    free(b);

    use(r, conf_map);
    b = body(r, 0, EXPO_TEXT);
    CHECK(strstr(b, "# HELP iotpro_temperature_celsius Air temperature at the asset\n"
                    "# TYPE iotpro_temperature_celsius gauge\n"
                    "iotpro_temperature_celsius{" L1 "} 21.5\n"
                    "iotpro_temperature_celsius{" L2 "} -3\n") != NULL);
    CHECK(strstr(b, "# TYPE iotpro_odometer_meters_total counter\n"
                    "iotpro_odometer_meters_total{" L1 "} 12345.5\n") != NULL);
    /* a string in the map is mapped; one outside it (no map-default) stays info */
    CHECK(strstr(b, "# HELP iotpro_door Telemetry key \"door\".\n# TYPE iotpro_door gauge\n"
                    "iotpro_door{" L1 "} 0.5\n#") != NULL);
    CHECK(
        strstr(b, "iotpro_telemetry_info{asset_id=\"" U2 "\",key=\"door\",value=\"BROKEN\"} 1\n"));
    CHECK_INT(count(b, "key=\"door\""), 1);
    /* booleans: 1/0, then scale (5: multiplied) */
    CHECK(strstr(b, "iotpro_door_open{" L1 "} 5\n") != NULL);
    /* a mapped key nobody sends: the family, no sample */
    CHECK(strstr(b, "# TYPE iotpro_never_sent gauge\n") != NULL);
    CHECK_INT(count(b, "iotpro_never_sent{"), 0);
    /* mapped keys leave value, timestamp and info; the others stay */
    CHECK_INT(count(b, "key=\"temperature\""), 0);
    CHECK_INT(count(b, "key=\"odometer\""), 0);
    CHECK_INT(count(b, "key=\"door_open\""), 0);
    CHECK(strstr(b, "iotpro_telemetry_value{" L1 ",key=\"battery\"} 80\n") != NULL);
    CHECK(strstr(b, "iotpro_telemetry_timestamp_seconds{" L1 ",key=\"battery\"} 1700000000\n"));
    CHECK(strstr(b, "key=\"device_id\",value=\"DEV-1\"} 1\n") != NULL);
    free(b);

    /* OpenMetrics: the counter family without _total, its sample with it */
    b = body(r, 0, EXPO_OPENMETRICS);
    CHECK(strstr(b, "# TYPE iotpro_odometer_meters counter\n") != NULL);
    CHECK(strstr(b, "iotpro_odometer_meters_total{" L1 "} 12345.5\n") != NULL);
    free(b);

    /* a map-default takes the other strings too; a new snapshot applies at once */
    use(r, "metric.door.map = OPEN:1\nmetric.door.map-default = -1\n");
    b = body(r, 0, EXPO_TEXT);
    CHECK(strstr(b, "iotpro_door{" L1 "} -1\niotpro_door{" L2 "} -1\n") != NULL);
    CHECK_INT(count(b, "key=\"door\""), 0);
    CHECK(strstr(b, "iotpro_telemetry_value{" L1 ",key=\"temperature\"} 215\n") != NULL);
    CHECK_INT(count(b, "iotpro_temperature_celsius"), 0);
    free(b);

    /* every family name we emit is one a mapping may not take */
    use(r, conf_map);
    b = body(r, 1, EXPO_TEXT);
    int fams = 0;
    for (const char *p = b; (p = strstr(p, "# TYPE iotpro_")) != NULL; p++) {
        const char *nm = p + 14;
        size_t n = strcspn(nm, " ");
        CHECK_CTX("family iotpro_%.*s", (int)n, nm);
        int mapped = 0;
        for (int i = 0; i < C.map.n; i++)
            mapped |= n == C.map.k[i].name_len &&
                      !memcmp(nm, mapping_str(&C.map, C.map.k[i].name_off), n);
        CHECK_INT(mapping_name_reserved(nm, n), !mapped);
        fams++;
    }
    CHECK(fams > 40);
    free(b);
    render_destroy(r);
    loop_shared_free(&g_sh);
}

static void test_timestamps_and_info_fields(void)
{
    struct render *r = setup();
    char *b = body(r, 0, EXPO_TEXT);
    CHECK(strstr(b, "iotpro_asset_info{" L1
                    ",serial_number=\"SN-1\",site=\"north\",floor=\"2\"} 1\n"));
    CHECK(strstr(b, "# TYPE iotpro_telemetry_timestamp_seconds gauge\n") != NULL);
    int ts = count(b, "iotpro_telemetry_timestamp_seconds{");
    CHECK_INT(ts, 8);
    free(b);
    use(r, "metrics.timestamps = false\nmetrics.asset-info-fields = site,serialNumber,absent\n");
    b = body(r, 0, EXPO_TEXT);
    CHECK_INT(count(b, "iotpro_telemetry_timestamp_seconds"), 0);
    CHECK_INT(count(b, "iotpro_telemetry_value{"), 5);
    CHECK(strstr(b, "iotpro_asset_info{" L1 ",serial_number=\"SN-1\",site=\"north\"} 1\n"));
    CHECK(strstr(b, "iotpro_asset_info{" L2 "} 1\n"));
    free(b);
    use(r, "metrics.asset-info-fields = -\n");
    b = body(r, 0, EXPO_TEXT);
    CHECK(strstr(b, "iotpro_asset_info{" L1 "} 1\n"));
    CHECK_INT(count(b, "iotpro_telemetry_timestamp_seconds{"), 8);
    free(b);
    render_destroy(r);
    loop_shared_free(&g_sh);
}

/* SIGHUP swaps the snapshot while renders run (under TSan too: this test starts
 * threads): every render sees one whole mapping, old or new, never a mix. */
static struct render *g_r;
static _Atomic int g_torn, g_renders;

static void *render_loop(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++) {
        char *b = body(g_r, 0, i & 1 ? EXPO_OPENMETRICS : EXPO_TEXT);
        int a = strstr(b, "iotpro_temperature_celsius{" L1 "} 21.5\n") != NULL;
        int z = strstr(b, "iotpro_temp_deci{" L1 "} 2150\n") != NULL;
        int ts = strstr(b, "iotpro_telemetry_timestamp_seconds") != NULL;
        /* A: celsius, timestamps on; B: deci, timestamps off */
        if (a + z != 1 || ts != a)
            g_torn++;
        g_renders++;
        free(b);
    }
    return NULL;
}

static void test_reload_while_rendering(void)
{
    static const char *const confs[2] = {
        "metric.temperature.name = temperature_celsius\nmetric.temperature.scale = 0.1\n",
        "metrics.timestamps = false\nmetric.temperature.name = temp_deci\n"
        "metric.temperature.scale = 10\n",
    };
    struct render_opts *o[2];
    g_r = setup();
    for (int i = 0; i < 2; i++) {
        CHECK_INT(load(confs[i]), CFG_OK);
        o[i] = render_opts_new(&C);
    }
    render_set_opts(g_r, render_opts_new(&C));
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        CHECK_INT(pthread_create(&th[i], NULL, render_loop, NULL), 0);
    for (int i = 0; g_renders < 200 && i < 200000; i++) {
        /* a fresh copy each time: the published one is freed by its last holder */
        struct render_opts *n = malloc(sizeof *n);
        memcpy(n, o[i & 1], sizeof *n);
        n->refs = 1;
        render_set_opts(g_r, n);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    CHECK_INT(g_renders, 200);
    CHECK_INT(g_torn, 0);
    render_opts_discard(o[0]);
    render_opts_discard(o[1]);
    render_destroy(g_r);
    loop_shared_free(&g_sh);
}

int main(void)
{
    RUN(test_parse_good);
    RUN(test_example_mapping);
    RUN(test_errors_name_their_line);
    RUN(test_limits_and_options);
    RUN(test_render_mapped);
    RUN(test_timestamps_and_info_fields);
    RUN(test_reload_while_rendering);
    return harness_done();
}
