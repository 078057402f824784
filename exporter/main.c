/*
 * main.c -- iotpro_exporter: configuration, logging, trust anchors, the civetweb
 * server with its /metrics render, signals, and the event loop on the main thread.
 *
 * Exit statuses: 0 normal stop (SIGTERM/SIGINT), 1 start-up failure (memory, port),
 * 2 invalid configuration (including no usable trust anchor), 3 the server rejected
 * the account (wrong password, 2FA, expired password). The systemd unit sets
 * RestartPreventExitStatus=2 3: restarting cannot fix those, and retrying a wrong
 * password could lock the account.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/store.h"
#include "core/tb.h"
#include "exporter/config.h"
#include "exporter/expo.h"
#include "exporter/health.h"
#include "exporter/log.h"
#include "exporter/loop.h"
#include "exporter/procstat.h"
#include "exporter/web.h"

extern char **environ;

#define RENDER_BATCH 2048u

/* Two configurations: the loop uses one, a SIGHUP reload fills the other. */
static struct cfg g_cfg[2];
static int g_cfg_cur;
static int g_argc;
static char **g_argv;

static tls_anchors g_anchors;
static struct health g_health;
static struct loop_shared g_sh;
static struct loop *g_loop;

static void on_signal(int sig)
{
    if (g_loop)
        loop_wake(g_loop, sig == SIGHUP ? 'H' : 'T');
}

static int reload_cfg(void *arg, const struct cfg **out)
{
    struct cfg *next = &g_cfg[1 - g_cfg_cur];
    char err[512];
    (void)arg;
    if (cfg_load(next, g_argc, g_argv, environ, err, sizeof err) != CFG_OK) {
        log_error("configuration reload failed; keeping the old one", LOG_S("error", err));
        return -1;
    }
    log_secret_add(next->password);
    log_init(next->log_level, next->log_format, 2);
    cfg_wipe(&g_cfg[g_cfg_cur]);
    g_cfg_cur = 1 - g_cfg_cur;
    *out = next;
    log_info("configuration reloaded");
    return 0;
}

/* ------------------------------------------------------------------- render ----- */

/* asset_id, asset and profile labels of one row (names from the table the row was
 * copied with; that table is pinned or current, so its strings are stable). */
static void asset_labels(struct expo_labels *lb, const uint8_t id[16], const assets_table *t,
                         int32_t idx)
{
    char uuid[37];
    tb_uuid_format(id, uuid);
    expo_labels_add(lb, "asset_id", uuid, 36);
    if (t && idx >= 0 && (uint32_t)idx < t->count) {
        const assets_entry *e = assets_get(t, idx);
        expo_labels_add(lb, "asset", assets_text(t, e->name_off), e->name_len);
        expo_labels_add(lb, "profile", assets_text(t, e->type_off), e->type_len);
    } else {
        expo_labels_add(lb, "asset", "", 0);
        expo_labels_add(lb, "profile", "", 0);
    }
}

/* One pass over the store for one family. what: 0 value, 1 timestamp, 2 info. */
static void render_pass(struct expo *e, int what, store_row *rows, char *strbuf, size_t strcap)
{
    store_cursor c;
    size_t n;
    pthread_mutex_lock(&g_sh.mu);
    store_iter_begin(&g_sh.st, &c);
    pthread_mutex_unlock(&g_sh.mu);
    for (;;) {
        pthread_mutex_lock(&g_sh.mu);
        n = store_iter(&g_sh.st, &c, rows, RENDER_BATCH, strbuf, strcap);
        pthread_mutex_unlock(&g_sh.mu);
        if (n == 0)
            break;
        for (size_t i = 0; i < n; i++) {
            const store_row *r = &rows[i];
            char lbuf[4096];
            struct expo_labels lb;
            if ((what == 0 && r->kind != STORE_KIND_NUM) || (what == 2 && r->kind != STORE_KIND_STR))
                continue;
            expo_labels_init(&lb, lbuf, sizeof lbuf);
            if (what == 2) {
                char uuid[37];
                tb_uuid_format(r->id, uuid);
                expo_labels_add(&lb, "asset_id", uuid, 36);
                expo_labels_add(&lb, "key", r->key, r->key_len);
                expo_labels_add(&lb, "value", strbuf + r->str_off, r->str_len);
            } else {
                asset_labels(&lb, r->id, r->assets, r->asset);
                expo_labels_add(&lb, "key", r->key, r->key_len);
            }
            if (lb.err) {
                health_limit_hit(&g_health, HEALTH_LIMIT_NAME);
                continue;
            }
            expo_sample(e, lb.buf, lb.len, what == 0 ? r->num : what == 1 ? r->ts / 1000.0 : 1.0);
        }
    }
}

/* iotpro_asset_info: one sample per asset, details as extra labels (read under the
 * mutex: WebSocket details may update them). */
static void render_assets(struct expo *e, const assets_table *t)
{
    expo_family(e, "iotpro_asset_info", EXPO_INFO,
                "Asset metadata: name, profile and the scalar fields of assetDetails.");
    for (uint32_t i = 0; i < t->count; i++) {
        const assets_entry *a = assets_get(t, (int32_t)i);
        char lbuf[8192], names[LIM_DETAIL_LABELS][EXPO_NAME_MAX];
        struct expo_labels lb;
        uint32_t pos = 0, nn = 0;
        const char *k, *v;
        size_t kl, vl;
        expo_labels_init(&lb, lbuf, sizeof lbuf);
        asset_labels(&lb, a->id, t, (int32_t)i);
        pthread_mutex_lock(&g_sh.mu);
        while (nn < LIM_DETAIL_LABELS && assets_detail_next(t, a, &pos, &k, &kl, &v, &vl)) {
            char nm[EXPO_NAME_MAX];
            int dup = 0;
            expo_sanitize_name(nm, sizeof nm, k, kl);
            dup = !strcmp(nm, "asset_id") || !strcmp(nm, "asset") || !strcmp(nm, "profile") ||
                  !expo_label_name_valid(nm, strlen(nm));
            for (uint32_t j = 0; j < nn && !dup; j++)
                dup = !strcmp(names[j], nm);
            if (dup)
                continue;
            memcpy(names[nn++], nm, sizeof nm);
            expo_labels_add(&lb, nm, v, vl);
        }
        pthread_mutex_unlock(&g_sh.mu);
        if (!lb.err)
            expo_sample(e, lb.buf, lb.len, 1.0);
    }
}

static int render(void *user, struct expo *e)
{
    static const size_t strcap = RENDER_BATCH * (size_t)LIM_STRING_VALUE_BYTES;
    store_row *rows = malloc(RENDER_BATCH * sizeof *rows);
    char *strbuf = malloc(strcap);
    const assets_table *t;
    store_stats ss;
    (void)user;
    if (!rows || !strbuf) {
        free(rows);
        free(strbuf);
        return -1;
    }
    pthread_mutex_lock(&g_sh.mu);
    store_get_stats(&g_sh.st, &ss);
    pthread_mutex_unlock(&g_sh.mu);
    health_set(&g_health, HEALTH_G_SERIES, ss.series);
    health_render(&g_health, e);
    procstat_render(e);
    t = loop_shared_acquire(&g_sh);
    expo_family(e, "iotpro_telemetry_value", EXPO_GAUGE,
                "Latest numeric or boolean telemetry value per asset and key.");
    render_pass(e, 0, rows, strbuf, strcap);
    expo_family(e, "iotpro_telemetry_timestamp_seconds", EXPO_GAUGE,
                "ThingsBoard timestamp of the latest telemetry value per asset and key.");
    render_pass(e, 1, rows, strbuf, strcap);
    expo_family(e, "iotpro_telemetry_info", EXPO_INFO,
                "String-valued telemetry (value label, length capped).");
    render_pass(e, 2, rows, strbuf, strcap);
    render_assets(e, t);
    loop_shared_release(&g_sh, t);
    free(rows);
    free(strbuf);
    return 0;
}

static void status(void *user, struct web_status *s)
{
    store_stats ss;
    (void)user;
    s->state = g_loop ? loop_state_name(g_loop) : "starting";
    s->ready = health_get(&g_health, HEALTH_G_SUBSCRIPTIONS) > 0 &&
               health_get(&g_health, HEALTH_G_WS_CONNECTED) > 0;
    s->assets = (uint64_t)health_get(&g_health, HEALTH_G_ASSETS);
    pthread_mutex_lock(&g_sh.mu);
    store_get_stats(&g_sh.st, &ss);
    pthread_mutex_unlock(&g_sh.mu);
    s->series = ss.series;
}

/* --------------------------------------------------------------------- main ----- */

int main(int argc, char **argv)
{
    struct cfg *c = &g_cfg[0];
    char err[512];
    struct web *w;
    struct web_config wc = {0};
    struct web_callbacks cb = {0};
    struct sigaction sa;
    int n, rc;

    g_argc = argc;
    g_argv = argv;
    log_init(LOG_INFO, LOG_FMT_LOGFMT, 2);
    if (cfg_load(c, argc, argv, environ, err, sizeof err) != CFG_OK) {
        fprintf(stderr, "iotpro_exporter: %s\n", err);
        return CFG_EXIT_USAGE;
    }
    if (c->show_help) {
        cfg_print_help(stdout);
        return 0;
    }
    if (c->show_version) {
        printf("iotpro_exporter %s (%s)\n", IOTPRO_VERSION, IOTPRO_REVISION);
        return 0;
    }
    log_secret_add(c->password);
    log_init(c->log_level, c->log_format, 2);
    if (c->password_file_insecure)
        log_warn("the password file is readable by group or others",
                 LOG_S("file", c->password_file));

    n = tls_anchors_load_file(&g_anchors, c->ca_file[0] ? c->ca_file : NULL, err, sizeof err);
    if (n <= 0) {
        log_error("no trust anchors: refusing to connect without certificate validation",
                  LOG_S("error", err));
        return CFG_EXIT_USAGE;
    }
    if (c->config_check) {
        printf("configuration OK (%d trust anchors)\n", n);
        return 0;
    }
    log_info("starting", LOG_S("version", IOTPRO_VERSION), LOG_S("url", c->url),
             LOG_S("user", c->username), LOG_I("trust_anchors", n),
             LOG_S("anchors_file", g_anchors.source));

    health_init(&g_health, IOTPRO_VERSION, IOTPRO_REVISION);
    health_set(&g_health, HEALTH_G_SERIES_LIMIT,
               (int64_t)(c->store_max_series ? c->store_max_series : LIM_SERIES_DEFAULT));
    if (loop_shared_init(&g_sh, c) != 0)
        return LOOP_EXIT_ERROR;

    /* Signals first (the loop pointer is set below; until then they are no-ops). */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    g_loop = loop_create(c, &g_anchors, &g_health, &g_sh, reload_cfg, NULL);
    if (!g_loop) {
        log_error("cannot allocate the event loop");
        loop_shared_free(&g_sh);
        return LOOP_EXIT_ERROR;
    }

    wc.listen = c->listen_civet;
    wc.telemetry_path = c->telemetry_path;
    wc.max_requests = c->max_requests;
    wc.request_timeout_ms = 2000; /* bounds slow clients, and SIGTERM's web_stop */
    wc.health = &g_health;
    wc.version = IOTPRO_VERSION;
    cb.render = render;
    cb.status = status;
    w = web_start(&wc, &cb, err, sizeof err);
    if (!w) {
        log_error("cannot start the web server", LOG_S("listen", c->listen_address),
                  LOG_S("error", err));
        loop_destroy(g_loop);
        g_loop = NULL;
        loop_shared_free(&g_sh);
        return LOOP_EXIT_ERROR;
    }
    log_info("listening", LOG_S("address", c->listen_address), LOG_I("port", web_port(w)),
             LOG_S("path", c->telemetry_path));

    rc = loop_run(g_loop);

    web_stop(w);
    {
        struct loop *l = g_loop;
        g_loop = NULL;
        loop_destroy(l);
    }
    loop_shared_free(&g_sh);
    cfg_wipe(&g_cfg[0]);
    cfg_wipe(&g_cfg[1]);
    log_info("stopped", LOG_I("exit_code", rc));
    return rc;
}
