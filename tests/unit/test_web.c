/* test_web.c -- content negotiation, and a real server on loopback: start, port, stop. */
#include "exporter/web.h"
#include "tests/harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static void test_negotiate(void)
{
    static const struct { const char *accept; enum expo_format want; } t[] = {
        { NULL, EXPO_TEXT },
        { "*/*", EXPO_TEXT },
        { "text/plain", EXPO_TEXT },
        { "application/openmetrics-text", EXPO_OPENMETRICS },
        /* Prometheus 2.x */
        { "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
          "text/plain;version=0.0.4;q=0.5,*/*;q=0.1", EXPO_OPENMETRICS },
        /* Prometheus 3.x */
        { "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
          "application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;"
          "escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1", EXPO_OPENMETRICS },
        { "application/openmetrics-text;q=0.2, text/plain;q=0.9", EXPO_TEXT },
        { "application/openmetrics-text;q=0", EXPO_TEXT },
        { "application/openmetrics-text;version=9.9.9", EXPO_TEXT },
        { "APPLICATION/OPENMETRICS-TEXT ; Q=0.9", EXPO_OPENMETRICS },
        { "application/json", EXPO_TEXT },
        { ";;;,,,q=", EXPO_TEXT },
        { "application/openmetrics-text;q=abc", EXPO_TEXT },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        CHECK_CTX("row %zu", i);
        CHECK_INT(web_negotiate(t[i].accept), t[i].want);
    }
}

static int render_cb(void *user, struct expo *e)
{
    (void)user;
    expo_family(e, "x_up", EXPO_GAUGE, "x");
    expo_sample(e, NULL, 0, 1);
    return 0;
}

static void test_start_stop(void)
{
    struct web_config wc = { .listen = "127.0.0.1:0", .telemetry_path = "/metrics", .version = "t" };
    struct web_callbacks cb = { render_cb, NULL, NULL };
    char err[256];
    struct web *w = web_start(&wc, &cb, err, sizeof err);
    CHECK(w != NULL);
    if (!w)
        return;
    int port = web_port(w);
    CHECK(port > 0);
    /* one request over a raw socket */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_INT(connect(s, (struct sockaddr *)&a, sizeof a), 0);
    const char *rq = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK_INT(write(s, rq, strlen(rq)), (long long)strlen(rq));
    char b[4096];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof b - 1 && (r = read(s, b + n, sizeof b - 1 - n)) > 0)
        n += (size_t)r;
    b[n] = 0;
    close(s);
    CHECK(strncmp(b, "HTTP/1.1 200", 12) == 0);
    CHECK(strstr(b, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != NULL);
    CHECK(strstr(b, "\r\n\r\n# HELP x_up x\n# TYPE x_up gauge\nx_up 1\n") != NULL);
    /* a second server on the same port fails with a message naming the option */
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    struct web_config wc2 = wc;
    wc2.listen = addr;
    struct web *w2 = web_start(&wc2, &cb, err, sizeof err);
    CHECK(w2 == NULL);
    CHECK(strstr(err, "--web.listen-address") != NULL);
    web_stop(w2);
    web_stop(w);
}

int main(void)
{
    RUN(test_negotiate);
    RUN(test_start_stop);
    return harness_done();
}
