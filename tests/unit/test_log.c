/* test_log.c -- log line format (logfmt, JSON), escaping, levels and the secret guard. */
#include "exporter/log.h"
#include "tests/harness.h"

#include <stdlib.h>
#include <unistd.h>

static const char JWT[] =
    "eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJ0ZW5hbnRAdGhpbmdzYm9hcmQub3JnIiwiZXhwIjoxNzAwMDAwMDAwfQ."
    "c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU";

static void test_logfmt_line(void)
{
    char b[512];
    struct log_field f[] = { LOG_S("asset", "Truck \"7\"\nx"),
                             LOG_I("n", -3),
                             LOG_U("u", 5),
                             LOG_B("ok", 1),
                             LOG_D("lat", 35.8989),
                             LOG_S("plain", "abc"),
                             LOG_S("empty", ""),
                             LOG_S("eq", "a=b"),
                             LOG_SN("cut", "abcdef", 3) };
    size_t n = log_format_line(b, sizeof b, LOG_FMT_LOGFMT, 1700000000123, LOG_WARN, "hello", f,
                               sizeof f / sizeof f[0]);
    const char *want = "ts=2023-11-14T22:13:20.123Z level=warn msg=\"hello\" "
                       "asset=\"Truck \\\"7\\\"\\nx\" n=-3 u=5 ok=true lat=35.8989 plain=abc "
                       "empty=\"\" eq=\"a=b\" cut=abc\n";
    CHECK_MEM(b, n, want, strlen(want));
}

static void test_json_line(void)
{
    char b[512];
    struct log_field f[] = { LOG_S("v", "q\"\\\x01\xFF"), LOG_D("nan", 0.0 / 0.0), LOG_I("i", 7) };
    size_t n = log_format_line(b, sizeof b, LOG_FMT_JSON, 0, LOG_ERROR, "m", f, 3);
    const char *want = "{\"ts\":\"1970-01-01T00:00:00.000Z\",\"level\":\"error\",\"msg\":\"m\","
                       "\"v\":\"q\\\"\\\\\\u0001\\ufffd\",\"nan\":\"NaN\",\"i\":7}\n";
    CHECK_MEM(b, n, want, strlen(want));
}

static void test_line_bounded(void)
{
    static char big[10000];
    memset(big, 'x', sizeof big - 1);
    char b[256];
    size_t n = log_format_line(b, sizeof b, LOG_FMT_JSON, 0, LOG_INFO, "m",
                               (struct log_field[]){ LOG_S("big", big) }, 1);
    CHECK(n < sizeof b);
    CHECK(b[n - 1] == '\n');
    CHECK(memmem(b, n, "...\"}", 5) != NULL);
}

static void test_jwt_redacted(void)
{
    char b[1024];
    CHECK(log_is_secret(JWT, strlen(JWT)));
    char wrapped[512];
    snprintf(wrapped, sizeof wrapped, "server said: token %s expired", JWT);
    CHECK(log_is_secret(wrapped, strlen(wrapped)));
    for (int fmt = 0; fmt < 2; fmt++) {
        size_t n =
            log_format_line(b, sizeof b, (enum log_format)fmt, 0, LOG_INFO, "login",
                            (struct log_field[]){ LOG_S("token", JWT), LOG_S("why", wrapped) }, 2);
        CHECK(memmem(b, n, "eyJ", 3) == NULL);
        CHECK(memmem(b, n, "[redacted]", 10) != NULL);
    }
    CHECK(!log_is_secret("eyJ-not-a-token", 15));
    CHECK(!log_is_secret("telemetry_param_latitude", 24));
}

static void test_registered_secret(void)
{
    char b[512];
    log_secret_add("hunter2-password");
    log_secret_add("abc"); /* too short to register */
    size_t n =
        log_format_line(b, sizeof b, LOG_FMT_LOGFMT, 0, LOG_INFO, "m",
                        (struct log_field[]){ LOG_S("e", "bad credentials hunter2-password!"),
                                              LOG_S("f", "abc") },
                        2);
    CHECK(memmem(b, n, "hunter2", 7) == NULL);
    CHECK(memmem(b, n, "f=abc", 5) != NULL);
    log_secret_forget("hunter2-password");
    CHECK(!log_is_secret("hunter2-password", 16));
    log_secret_add("refresh-token-value");
    log_secret_clear();
    CHECK(!log_is_secret("refresh-token-value", 19));
}

/* The whole path through log_write into a pipe: levels filter, one line each. */
static void test_write_levels(void)
{
    int p[2];
    CHECK_INT(pipe(p), 0);
    log_init(LOG_WARN, LOG_FMT_LOGFMT, p[1]);
    log_info("dropped");
    log_warn("kept", LOG_S("token", JWT));
    log_error("also kept");
    log_init(LOG_INFO, LOG_FMT_LOGFMT, 2);
    close(p[1]);
    char b[2048];
    ssize_t n = read(p[0], b, sizeof b - 1);
    close(p[0]);
    CHECK(n > 0);
    b[n > 0 ? n : 0] = 0;
    CHECK(strstr(b, "dropped") == NULL);
    CHECK(strstr(b, "msg=\"kept\" token=[redacted]\n") != NULL);
    CHECK(strstr(b, "level=error msg=\"also kept\"\n") != NULL);
    CHECK(strstr(b, "eyJ") == NULL);
    enum log_level l;
    enum log_format f;
    CHECK_INT(log_level_parse("debug", &l), 0);
    CHECK_INT(l, LOG_DEBUG);
    CHECK_INT(log_level_parse("trace", &l), -1);
    CHECK_INT(log_format_parse("json", &f), 0);
    CHECK_INT(log_format_parse("text", &f), -1);
}

int main(void)
{
    RUN(test_logfmt_line);
    RUN(test_json_line);
    RUN(test_line_bounded);
    RUN(test_jwt_redacted);
    RUN(test_registered_secret);
    RUN(test_write_levels);
    return harness_done();
}
