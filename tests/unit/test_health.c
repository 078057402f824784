/* test_health.c -- health counters: pre-initialised labels, render, threads, promtool. */
#include "exporter/health.h"
#include "exporter/procstat.h"
#include "tests/harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static struct health H;

static char *render(enum expo_format fmt, size_t *n)
{
    struct expo e;
    expo_init(&e, fmt, 0);
    health_render(&H, &e);
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
    health_init(&H, "1.2.3", "abc\"def");
    size_t n;
    char *b = render(EXPO_TEXT, &n);
    static const char *const must[] = {
        "\niotpro_up 0\n", "\niotpro_ws_connected 0\n", "\niotpro_ws_connects_total 0\n",
        "iotpro_ws_disconnects_total{reason=\"close_1000\"} 0\n",
        "iotpro_ws_disconnects_total{reason=\"idle_timeout\"} 0\n",
        "iotpro_ws_disconnects_total{reason=\"limit_1008\"} 0\n",
        "\niotpro_ws_messages_received_total 0\n", "\niotpro_ws_bytes_received_total 0\n",
        "\niotpro_telemetry_updates_total 0\n", "\niotpro_parse_errors_total 0\n",
        "iotpro_logins_total{result=\"ok\"} 0\n", "iotpro_logins_total{result=\"rejected\"} 0\n",
        "iotpro_logins_total{result=\"error\"} 0\n",
        "iotpro_token_refreshes_total{result=\"rejected\"} 0\n",
        "\niotpro_token_expiry_timestamp_seconds 0\n",
        "\niotpro_last_message_timestamp_seconds 0\n", "\niotpro_assets 0\n",
        "\niotpro_subscriptions 0\n", "\niotpro_series_dropped_total 0\n",
        "iotpro_exporter_build_info{version=\"1.2.3\",revision=\"abc\\\"def\"} 1\n",
        "iotpro_ws_connect_failures_total{stage=\"tls\"} 0\n",
        "iotpro_limit_hits_total{limit=\"series\"} 0\n", "\niotpro_scrape_duration_seconds 0\n",
        "# TYPE iotpro_ws_connects_total counter\n", "# TYPE iotpro_up gauge\n",
        "\nprocess_cpu_seconds_total ", "\nprocess_resident_memory_bytes ",
        "\nprocess_virtual_memory_bytes ", "\nprocess_open_fds ", "\nprocess_max_fds ",
        "\nprocess_start_time_seconds ",
    };
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++) {
        CHECK_CTX("%s", must[i]);
        CHECK(strstr(b, must[i]) != NULL);
    }
    free(b);
}

static void test_updates_render(void)
{
    health_init(&H, "1", "r");
    health_add(&H, HEALTH_C_WS_CONNECTS, 2);
    health_add(&H, HEALTH_C_WS_BYTES, 1000);
    health_set(&H, HEALTH_G_UP, 1);
    health_set(&H, HEALTH_G_TOKEN_EXPIRY_MS, 1700000000500);
    health_set(&H, HEALTH_G_SCRAPE_DURATION_US, 1500);
    health_disconnect(&H, health_disc_from_close(1008, 1));
    health_disconnect(&H, health_disc_from_close(1008, 0));
    health_disconnect(&H, health_disc_from_close(0, 0));
    health_disconnect(&H, health_disc_from_close(3000, 0));
    health_disconnect(&H, (enum health_disc)999); /* ignored, no crash */
    health_login(&H, HEALTH_REJECTED);
    health_token_refresh(&H, HEALTH_ERROR);
    health_connect_failure(&H, HEALTH_STAGE_DNS);
    health_limit_hit(&H, HEALTH_LIMIT_SERIES);
    health_http(&H, 503);
    health_http(&H, 418); /* not counted */
    size_t n;
    char *b = render(EXPO_TEXT, &n);
    static const char *const must[] = {
        "\niotpro_ws_connects_total 2\n", "\niotpro_ws_bytes_received_total 1000\n",
        "\niotpro_up 1\n", "\niotpro_token_expiry_timestamp_seconds 1700000000.5\n",
        "\niotpro_scrape_duration_seconds 0.0015\n",
        "{reason=\"limit_1008\"} 1\n", "{reason=\"policy_1008\"} 1\n",
        "{reason=\"abnormal_1006\"} 1\n", "{reason=\"close_other\"} 1\n",
        "iotpro_logins_total{result=\"rejected\"} 1\n",
        "iotpro_token_refreshes_total{result=\"error\"} 1\n",
        "iotpro_ws_connect_failures_total{stage=\"dns\"} 1\n",
        "iotpro_limit_hits_total{limit=\"series\"} 1\n",
        "iotpro_web_responses_total{code=\"503\"} 1\n",
    };
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++) {
        CHECK_CTX("%s", must[i]);
        CHECK(strstr(b, must[i]) != NULL);
    }
    free(b);
    CHECK_STR(health_disc_name(HEALTH_DISC_SERVER_4500), "server_4500");
    CHECK_INT(health_disc_from_close(1012, 0), HEALTH_DISC_RESTART_1012);
    CHECK_INT(health_disc_from_close(1007, 0), HEALTH_DISC_AUTH_1007);
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
        health_add(&H, HEALTH_C_WS_MESSAGES, 1);
        health_disconnect(&H, HEALTH_DISC_ABNORMAL_1006);
    }
    return NULL;
}

static void test_threads(void)
{
    health_init(&H, "1", "r");
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer, NULL);
    size_t n;
    char *b = render(EXPO_TEXT, &n); /* concurrent reads are fine */
    free(b);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK_INT(atomic_load(&H.c[HEALTH_C_WS_MESSAGES]), 400000);
    CHECK_INT(atomic_load(&H.disc[HEALTH_DISC_ABNORMAL_1006]), 400000);
}

/* promtool lints every health and process family (skip when not installed). */
static void test_promtool(void)
{
    if (system("command -v promtool >/dev/null 2>&1") != 0)
        SKIP("promtool not installed");
    health_init(&H, "1.0.0", "deadbeef");
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
