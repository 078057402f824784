/*
 * main.c -- iotpro_exporter: configuration, logging, trust anchors, the civetweb
 * server (its /metrics body is exporter/render.c), signals, and the event loop on the
 * main thread.
 *
 * Exit statuses: 0 normal stop (SIGTERM/SIGINT), 1 start-up failure (memory, port),
 * 2 invalid configuration (including no usable trust anchor), 3 the server rejected
 * the account (wrong password, 2FA, expired password). The systemd unit sets
 * RestartPreventExitStatus=2 3: restarting cannot fix those, and retrying a wrong
 * password could lock the account.
 */
#include <signal.h>
#include <stdatomic.h>
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
#include "exporter/render.h"
#include "exporter/render_opts.h"
#include "exporter/web.h"

extern char **environ;

/* Two configurations: the loop uses one, a SIGHUP reload fills the other. */
static struct cfg g_cfg[2];
static int g_cfg_cur;
static int g_argc;
static char **g_argv;

static tls_anchors g_anchors;
static struct health g_health;
static struct loop_shared g_sh;
/* Read by the signal handler: an atomic pointer (lock-free on every target we build). */
static struct loop *_Atomic g_loop;
_Static_assert(ATOMIC_POINTER_LOCK_FREE == 2, "the signal handler needs a lock-free pointer");
static struct render *g_render;
static struct web *g_web;

static void on_signal(int sig)
{
    struct loop *l = atomic_load(&g_loop);
    if (l)
        loop_wake(l, sig == SIGHUP ? 'H' : 'T');
}

static int reload_cfg(void *arg, const struct cfg **out)
{
    struct cfg *next = &g_cfg[1 - g_cfg_cur];
    char err[512];
    (void)arg;
    /* The slot being refilled held the configuration before the current one: its
     * password goes now. The current one stays whole until the loop has compared it
     * with the new one (wiping it here made every reload look like a credential
     * change). */
    cfg_wipe(next);
    if (cfg_load(next, g_argc, g_argv, environ, err, sizeof err) != CFG_OK) {
        log_error("configuration reload failed; keeping the old one", LOG_S("error", err));
        return -1;
    }
    /* made before anything is applied, so a failure keeps the old configuration whole */
    struct render_opts *ro = render_opts_new(next);
    if (!ro) {
        log_error("configuration reload failed; keeping the old one",
                  LOG_S("error", "out of memory"));
        return -1;
    }
    /* the web config file is read again on every SIGHUP, changed or not */
    struct websec *sec = websec_load(next->web_config_file, err, sizeof err);
    if (!sec || (g_web && web_reload(g_web, sec, err, sizeof err) != 0)) {
        log_error("configuration reload failed; keeping the old one", LOG_S("error", err));
        websec_unref(sec);
        render_opts_discard(ro);
        return -1;
    }
    websec_unref(sec);
    /* mapping, timestamps and info fields: the next render uses them */
    render_set_opts(g_render, ro);
    log_secret_add(next->password);
    log_init(next->log_level, next->log_format, 2);
    g_cfg_cur = 1 - g_cfg_cur;
    *out = next;
    log_info("configuration reloaded", LOG_U("mapped_keys", next->map.n));
    return 0;
}

static void status(void *user, struct web_status *s)
{
    store_stats ss;
    (void)user;
    struct loop *l = atomic_load(&g_loop);
    s->state = l ? loop_state_name(l) : "starting";
    s->ready = l && loop_ready(l); /* every subscription has its data, even with none */
    pthread_mutex_lock(&g_sh.mu);
    store_get_stats(&g_sh.st, &ss);
    s->assets = g_sh.snap.assets;
    pthread_mutex_unlock(&g_sh.mu);
    s->series = ss.series;
}

/* --------------------------------------------------------------------- main ----- */

int main(int argc, char **argv)
{
    struct cfg *c = &g_cfg[0];
    char err[512];
    struct web *w;
    struct web_config wc = { 0 };
    struct web_callbacks cb = { 0 };
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
    struct websec *sec = websec_load(c->web_config_file, err, sizeof err);
    if (!sec) {
        log_error("invalid web configuration", LOG_S("error", err));
        return CFG_EXIT_USAGE;
    }
    if (c->config_check) {
        cfg_print(c, stdout); /* the effective configuration, mapping included, no secret */
        printf("configuration OK (%d trust anchors)\n", n);
        websec_unref(sec);
        return 0;
    }
    log_info("starting", LOG_S("version", IOTPRO_VERSION), LOG_S("url", c->url),
             LOG_S("user", c->username), LOG_I("trust_anchors", n),
             LOG_S("anchors_file", g_anchors.source), LOG_U("mapped_keys", c->map.n));

    health_init(&g_health, IOTPRO_VERSION, IOTPRO_REVISION,
                (int64_t)(c->store_max_series ? c->store_max_series : LIM_SERIES_DEFAULT));
    if (loop_shared_init(&g_sh, c) != 0) {
        websec_unref(sec);
        return LOOP_EXIT_ERROR;
    }

    /* Signals first (the loop pointer is set below; until then they are no-ops). */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    g_loop = loop_create(c, &g_anchors, &g_sh, reload_cfg, NULL);
    if (!g_loop) {
        log_error("cannot allocate the event loop");
        websec_unref(sec);
        loop_shared_free(&g_sh);
        return LOOP_EXIT_ERROR;
    }

    g_render = render_create(&g_sh, &g_health);
    struct render_opts *ro = g_render ? render_opts_new(c) : NULL;
    if (ro)
        render_set_opts(g_render, ro);
    if (!g_render || !ro) {
        log_error("cannot allocate the renderer");
        render_destroy(g_render);
        websec_unref(sec);
        loop_destroy(atomic_exchange(&g_loop, NULL));
        loop_shared_free(&g_sh);
        return LOOP_EXIT_ERROR;
    }

    wc.listen = c->listen_civet;
    wc.telemetry_path = c->telemetry_path;
    wc.max_requests = c->max_requests;
    wc.request_timeout_ms = 2000; /* bounds slow clients, and SIGTERM's web_stop */
    wc.health = &g_health;
    wc.version = IOTPRO_VERSION;
    wc.sec = sec;
    cb.render = render_metrics;
    cb.user = g_render;
    cb.status = status;
    int https = websec_creds(sec) != NULL;
    w = web_start(&wc, &cb, err, sizeof err);
    websec_unref(sec); /* the web server holds its own reference */
    if (!w) {
        log_error("cannot start the web server", LOG_S("listen", c->listen_address),
                  LOG_S("error", err));
        render_destroy(g_render);
        loop_destroy(atomic_exchange(&g_loop, NULL));
        loop_shared_free(&g_sh);
        return LOOP_EXIT_ERROR;
    }
    g_web = w;
    log_info("listening", LOG_S("address", c->listen_address), LOG_I("port", web_port(w)),
             LOG_S("path", c->telemetry_path), LOG_S("scheme", https ? "https" : "http"));

    rc = loop_run(g_loop);

    g_web = NULL;
    web_stop(w);
    loop_destroy(atomic_exchange(&g_loop, NULL)); /* no signal handler can reach it now */
    render_destroy(g_render);
    loop_shared_free(&g_sh);
    cfg_wipe(&g_cfg[0]);
    cfg_wipe(&g_cfg[1]);
    log_info("stopped", LOG_I("exit_code", rc));
    return rc;
}
