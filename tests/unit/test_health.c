/* test_health.c -- health counters: pre-initialised labels, render, threads, promtool. */
#include "exporter/health.h"
#include "exporter/procstat.h"
#include "tests/harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static struct health H;
static struct loop_stats LS;
static store_stats SS;

static char *render(enum expo_format fmt, size_t *n)
{
    struct expo e;
    expo_init(&e, fmt, 0);
    health_render(&H, &LS, &SS, &e);
    procstat_render(&e);
    CHECK_INT(expo_finish(&e), 0);
    char *b = expo_take(&e, n);
    expo_free(&e);
    b = realloc(b, *n + 1);
    b[*n] = 0;
    return b;
}

static void test_initial_render(void)
{
    health_init(&H, "1.2.3", "abc\"def", 2000000);
    memset(&LS, 0, sizeof LS);
    memset(&SS, 0, sizeof SS);
    LS.last_reload_ok = 1;
    size_t n;
    char *b = render(EXPO_TEXT, &n);
    static const char *const must[] = {
        "\niotpro_up 0\n",
        "\niotpro_ws_connected 0\n",
        "\niotpro_ws_connects_total 0\n",
        "iotpro_ws_disconnects_total{reason=\"close_1000\"} 0\n",
        "iotpro_ws_disconnects_total{reason=\"idle_timeout\"} 0\n",
        "iotpro_ws_disconnects_total{reason=\"limit_1008\"} 0\n",
        "\niotpro_ws_messages_received_total 0\n",
        "\niotpro_ws_bytes_received_total 0\n",
        "\niotpro_telemetry_updates_total 0\n",
        "\niotpro_parse_errors_total 0\n",
        "iotpro_logins_total{result=\"ok\"} 0\n",
        "iotpro_logins_total{result=\"rejected\"} 0\n",
        "iotpro_logins_total{result=\"error\"} 0\n",
        "iotpro_token_refreshes_total{result=\"rejected\"} 0\n",
        "\niotpro_token_expiry_timestamp_seconds 0\n",
        "\niotpro_last_message_timestamp_seconds 0\n",
        "\niotpro_assets 0\n",
        "\niotpro_subscriptions 0\n",
        "\niotpro_series_dropped_total 0\n",
        "iotpro_exporter_build_info{version=\"1.2.3\",revision=\"abc\\\"def\"} 1\n",
        "iotpro_ws_connect_failures_total{stage=\"tls\"} 0\n",
        "iotpro_limit_hits_total{limit=\"series\"} 0\n",
        "\niotpro_scrape_duration_seconds 0\n",
        "# TYPE iotpro_ws_connects_total counter\n",
        "# TYPE iotpro_up gauge\n",
        "\nprocess_cpu_seconds_total ",
        "\nprocess_resident_memory_bytes ",
        "\nprocess_virtual_memory_bytes ",
        "\nprocess_open_fds ",
        "\nprocess_max_fds ",
        "\nprocess_start_time_seconds ",
    };
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++) {
        CHECK_CTX("%s", must[i]);
        CHECK(strstr(b, must[i]) != NULL);
    }
    free(b);
}

/* Every family reads its owner's count: set each owner's field, find it rendered. */
static void test_updates_render(void)
{
    health_init(&H, "1", "r", 5);
    memset(&LS, 0, sizeof LS);
    memset(&SS, 0, sizeof SS);
    LS.sess.ws_connects = 2;
    LS.sess.ws_connect_attempts = 3;
    LS.feed.bytes = 1000;
    LS.feed.messages = 7;
    LS.feed.parse_errors = 1;
    LS.rest.parse_errors = 1;
    LS.feed.bad_values = 1;
    LS.ws.values_rejected = 2;
    LS.up = 1;
    LS.rest.token_expiry_ms = 1700000000500;
    LS.sess.disconnects[SESSION_REASON_1008_LIMIT] = 1;
    LS.sess.disconnects[SESSION_REASON_1008] = 1;
    LS.sess.disconnects[SESSION_REASON_1006] = 1;
    LS.sess.disconnects[SESSION_REASON_OTHER_CODE] = 1;
    LS.sess.disconnects[SESSION_REASON_1007_AUTH] = 1;
    LS.sess.disconnects[SESSION_REASON_1007] = 1;
    LS.sess.disconnects[SESSION_REASON_TLS] = 4; /* a connect failure, not a disconnect */
    LS.rest.logins[LOOP_RES_REJECTED] = 1;
    LS.rest.refreshes[LOOP_RES_ERROR] = 1;
    LS.ws.connect_failures[LOOP_STAGE_DNS] = 1;
    LS.ws.detail_labels_dropped = 1;
    LS.rest.detail_labels_dropped = 2;
    LS.feed.buffer_dropped = 3;
    LS.ws.details_early_dropped = 1;
    LS.subs.resends[SUBS_RESEND_KEYS_CHANGED] = 6;
    LS.ws.replies[LOOP_REPLY_SUB_RATE_LIMIT] = 2;
    SS.dropped_series = 4;
    SS.applied = 12;
    SS.dropped_strings = 1;
    SS.strings_cut = 2;
    SS.series = 9;
    health_set(&H, HEALTH_G_SCRAPE_DURATION_US, 1500);
    health_limit_hit(&H, HEALTH_LIMIT_NAME);
    health_http(&H, 503);
    health_http(&H, 418); /* not counted */
    size_t n;
    char *b = render(EXPO_TEXT, &n);
    static const char *const must[] = {
        "\niotpro_ws_connects_total 2\n",
        "\niotpro_ws_connect_attempts_total 3\n",
        "\niotpro_ws_bytes_received_total 1000\n",
        "\niotpro_ws_messages_received_total 7\n",
        "\niotpro_parse_errors_total 2\n",
        "\niotpro_telemetry_values_rejected_total 3\n",
        "\niotpro_telemetry_updates_total 12\n",
        "\niotpro_series 9\n",
        "\niotpro_series_limit 5\n",
        "\niotpro_series_dropped_total 4\n",
        "\niotpro_up 1\n",
        "\niotpro_token_expiry_timestamp_seconds 1700000000.5\n",
        "\niotpro_scrape_duration_seconds 0.0015\n",
        "{reason=\"limit_1008\"} 1\n",
        "{reason=\"policy_1008\"} 1\n",
        "{reason=\"abnormal_1006\"} 1\n",
        "{reason=\"close_other\"} 1\n",
        "{reason=\"auth_1007\"} 2\n",
        "iotpro_logins_total{result=\"rejected\"} 1\n",
        "iotpro_token_refreshes_total{result=\"error\"} 1\n",
        "iotpro_ws_connect_failures_total{stage=\"dns\"} 1\n",
        "iotpro_ws_connect_failures_total{stage=\"tls\"} 0\n",
        "iotpro_limit_hits_total{limit=\"series\"} 4\n",
        "iotpro_limit_hits_total{limit=\"string_value\"} 3\n",
        "iotpro_limit_hits_total{limit=\"detail_labels\"} 3\n",
        "iotpro_limit_hits_total{limit=\"pending_updates\"} 4\n",
        "iotpro_limit_hits_total{limit=\"name\"} 1\n",
        "iotpro_web_responses_total{code=\"503\"} 1\n",
        "iotpro_subscription_resends_total{reason=\"keys_changed\"} 6\n",
        "iotpro_ws_error_replies_total{kind=\"subscription_rate_limit\"} 2\n",
    };
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++) {
        CHECK_CTX("%s", must[i]);
        CHECK(strstr(b, must[i]) != NULL);
    }
    free(b);
}

static void test_openmetrics_render(void)
{
    size_t n;
    char *b = render(EXPO_OPENMETRICS, &n);
    CHECK(strstr(b, "# TYPE iotpro_ws_connects counter\n") != NULL);
    CHECK(strstr(b, "# TYPE iotpro_exporter_build info\n") != NULL);
    CHECK(strstr(b, "# TYPE process_cpu_seconds counter\n") != NULL);
    CHECK(n > 6 && !strcmp(b + n - 6, "# EOF\n"));
    free(b);
}

static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100000; i++) {
        health_http(&H, 200);
        health_gauge_add(&H, HEALTH_G_WEB_IN_FLIGHT, 1);
    }
    return NULL;
}

static void test_threads(void)
{
    health_init(&H, "1", "r", 5);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer, NULL);
    size_t n;
    char *b = render(EXPO_TEXT, &n); /* concurrent reads are fine */
    free(b);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK_INT(atomic_load(&H.http[HEALTH_HTTP_200]), 400000);
    CHECK_INT(atomic_load(&H.g[HEALTH_G_WEB_IN_FLIGHT]), 400000);
}

/* promtool lints every health and process family (skip when not installed). */
static void test_promtool(void)
{
    if (system("command -v promtool >/dev/null 2>&1") != 0)
        SKIP("promtool not installed");
    health_init(&H, "1.0.0", "deadbeef", 5);
    size_t n;
    char *b = render(EXPO_TEXT, &n);
    char path[] = "/tmp/test_health.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK_INT(write(fd, b, n), (long long)n);
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s >/dev/null 2>&1", path);
    CHECK_INT(system(cmd), 0);
    unlink(path);
    free(b);
}

static void test_procstat_parse(void)
{
    const char *s = "1234 (a) b (c) S 1 2 3 4 5 6 7 8 9 10 100 50 0 0 20 0 1 0 777 4096000 300 "
                    "18446744073709551615\n";
    uint64_t cpu, start, vs, rss;
    CHECK_INT(procstat_parse_stat(s, &cpu, &start, &vs, &rss), 0);
    CHECK_INT(cpu, 150);
    CHECK_INT(start, 777);
    CHECK_INT(vs, 4096000);
    CHECK_INT(rss, 300);
    CHECK_INT(procstat_parse_stat("garbage", &cpu, &start, &vs, &rss), -1);
    CHECK_INT(procstat_parse_stat("1 (x) S 1 2", &cpu, &start, &vs, &rss), -1);
    struct procstat ps;
    CHECK(procstat_read(&ps) & PROCSTAT_HAVE_STAT);
    CHECK(ps.rss_bytes > 0 || harness_emulated());
    CHECK(ps.open_fds >= 3);
    CHECK(ps.start_time_seconds > 1e9);
}

int main(void)
{
    RUN(test_initial_render);
    RUN(test_updates_render);
    RUN(test_openmetrics_render);
    RUN(test_threads);
    RUN(test_promtool);
    RUN(test_procstat_parse);
    return harness_done();
}
