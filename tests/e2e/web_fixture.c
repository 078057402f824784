/*
 * web_fixture.c -- starts ONLY the web layer (exporter/web) with a fixed render
 * callback, so /metrics can be tested without the daemon, a backend or a network.
 *
 *   web_fixture [--listen ADDR] [--max-requests N] [--timeout-ms N] [--ready 0|1]
 *               [--series N] [--render-ms N] [--path P] [--max-body BYTES]
 *               [--watch-stdin 0|1]
 *
 * Prints "port <n>" on stdout once listening, then serves until SIGTERM/SIGINT (or,
 * with --watch-stdin 1, until stdin reaches EOF), and exits 0 after a clean
 * web_stop(). The body holds the
 * health and process families plus telemetry families whose labels carry hostile
 * asset names (quotes, backslashes, newlines, braces, '#', '=', emoji, invalid UTF-8),
 * which is what `promtool check metrics` is run against.
 */
#include "exporter/expo.h"
#include "exporter/health.h"
#include "exporter/log.h"
#include "exporter/procstat.h"
#include "exporter/web.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

struct fixture {
    struct health health;
    struct loop_stats ls; /* the loop side's counts, as a loop would publish them */
    store_stats ss;
    int ready;
    unsigned series, render_ms;
};

static const char *const hostile_names[] = {
    "Truck 1",
    "quote \" inside",
    "back\\slash",
    "new\nline",
    "brace } and {",
    "hash # x",
    "eq = sign",
    "emoji \xF0\x9F\x9A\x9A",
    "bad \xFF\xFE utf8",
    "",
    ("Mdina \xC4\xA6"
     "al"),
    "\\n not a newline",
};
#define N_HOSTILE (sizeof hostile_names / sizeof hostile_names[0])

static int fixture_render(void *user, struct expo *e)
{
    struct fixture *fx = user;
    if (fx->render_ms) {
        struct timespec ts = { (time_t)(fx->render_ms / 1000),
                               (long)(fx->render_ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
    }
    char prefix[N_HOSTILE][1024];
    size_t plen[N_HOSTILE];
    for (size_t a = 0; a < N_HOSTILE; a++) {
        char id[40];
        snprintf(id, sizeof id, "00000000-0000-0000-0000-%012zu", a);
        struct expo_labels lb;
        expo_labels_init(&lb, prefix[a], sizeof prefix[a]);
        expo_labels_add(&lb, "asset_id", id, strlen(id));
        expo_labels_add(&lb, "asset", hostile_names[a], strlen(hostile_names[a]));
        expo_labels_add(&lb, "profile", "tracker \"x\"", 11);
        plen[a] = lb.len;
    }
    static const char *const keys[] = { "telemetry_param_latitude", "temperature", "battery" };
    char kf[3][64];
    size_t kl[3];
    for (int k = 0; k < 3; k++) {
        struct expo_labels lb;
        expo_labels_init(&lb, kf[k], sizeof kf[k]);
        expo_labels_add(&lb, "key", keys[k], strlen(keys[k]));
        kl[k] = lb.len;
    }
    expo_family(e, "iotpro_telemetry_value", EXPO_GAUGE,
                "Latest numeric or boolean telemetry value per asset and key.");
    for (size_t a = 0; a < N_HOSTILE; a++)
        for (int k = 0; k < 3; k++)
            expo_sample2(e, prefix[a], plen[a], kf[k], kl[k], 35.8989 + (double)a * 0.25 + k);
    for (unsigned i = 0; i < fx->series; i++) {
        char lb[128];
        int n = snprintf(lb, sizeof lb,
                         "asset_id=\"bulk-%u\",asset=\"bulk %u\",profile=\"bulk\",key=\"k\"", i, i);
        expo_sample(e, lb, (size_t)n, (double)i / 8.0);
    }
    expo_family(e, "iotpro_telemetry_timestamp_seconds", EXPO_GAUGE,
                "ThingsBoard timestamp of the latest value per asset and key.");
    for (size_t a = 0; a < N_HOSTILE; a++)
        expo_sample2(e, prefix[a], plen[a], kf[0], kl[0], 1700000000.123 + (double)a);
    expo_family(e, "iotpro_telemetry_info", EXPO_INFO,
                "String telemetry value per asset and key (value in the label).");
    for (size_t a = 0; a < N_HOSTILE; a++) {
        char lb[1024];
        struct expo_labels l;
        char id[40];
        snprintf(id, sizeof id, "00000000-0000-0000-0000-%012zu", a);
        expo_labels_init(&l, lb, sizeof lb);
        expo_labels_add(&l, "asset_id", id, strlen(id));
        expo_labels_add(&l, "key", "device_id", 9);
        expo_labels_add(&l, "value", hostile_names[a], strlen(hostile_names[a]));
        expo_sample(e, l.buf, l.len, 1);
    }
    health_render(&fx->health, &fx->ls, &fx->ss, e);
    procstat_render(e);
    return 0;
}

static void fixture_status(void *user, struct web_status *s)
{
    struct fixture *fx = user;
    s->state = fx->ready ? "streaming" : "connecting <b>&</b>";
    s->ready = fx->ready;
    s->assets = N_HOSTILE;
    s->series = N_HOSTILE * 3 + fx->series;
}

int main(int argc, char **argv)
{
    static struct fixture fx;
    const char *listen = "127.0.0.1:0", *path = "/metrics";
    unsigned max_req = 40, tmo = 2000;
    int watch_stdin = 0;
    size_t max_body = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--listen"))
            listen = v;
        else if (!strcmp(k, "--max-requests"))
            max_req = (unsigned)atoi(v);
        else if (!strcmp(k, "--timeout-ms"))
            tmo = (unsigned)atoi(v);
        else if (!strcmp(k, "--ready"))
            fx.ready = atoi(v);
        else if (!strcmp(k, "--series"))
            fx.series = (unsigned)atoi(v);
        else if (!strcmp(k, "--render-ms"))
            fx.render_ms = (unsigned)atoi(v);
        else if (!strcmp(k, "--path"))
            path = v;
        else if (!strcmp(k, "--max-body"))
            max_body = (size_t)atoll(v);
        else if (!strcmp(k, "--watch-stdin"))
            watch_stdin = atoi(v);
        else {
            fprintf(stderr, "web_fixture: unknown option %s\n", k);
            return 2;
        }
    }
    log_init(LOG_WARN, LOG_FMT_LOGFMT, 2);
    health_init(&fx.health, "0.0.0-fixture", "fixture \"rev\"", 0);
    fx.ls.up = fx.ready;
    fx.ls.assets = N_HOSTILE;
    fx.ls.ws.last_message_ms = 1700000000123;
    fx.ls.sess.disconnects[SESSION_REASON_1006] = 1;
    fx.ls.rest.logins[LOOP_RES_OK] = 1;

    struct web_config wc = { .listen = listen,
                             .telemetry_path = path,
                             .max_requests = max_req,
                             .request_timeout_ms = tmo,
                             .max_body = max_body,
                             .health = &fx.health,
                             .version = "0.0.0-fixture" };
    struct web_callbacks cb = { fixture_render, fixture_status, &fx };
    char err[512];
    struct web *w = web_start(&wc, &cb, err, sizeof err);
    if (!w) {
        fprintf(stderr, "web_fixture: %s\n", err);
        return 1;
    }
    /* after mg_start: it has set SIGPIPE to ignored, which we keep */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    printf("port %d\n", web_port(w));
    fflush(stdout);
    while (!stop_flag) {
        struct pollfd p = { 0, POLLIN, 0 };
        int r = poll(&p, watch_stdin ? 1 : 0, 200);
        if (r > 0) {
            char b[64];
            if (read(0, b, sizeof b) <= 0)
                break;
        }
    }
    web_stop(w);
    return 0;
}
