/* test_web.c -- content negotiation, and a real server on loopback: start, port, stop,
 * the body buffer reused (and dropped when much too big) across scrapes. */
#include "exporter/web.h"
#include "tests/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Renders *(unsigned *)user samples; each line names its index, so a body that mixed
 * bytes of an earlier (longer) render into the reused buffer would show. */
static int render_n(void *user, struct expo *e)
{
    unsigned n = *(const unsigned *)user;
    expo_family(e, "x_n", EXPO_GAUGE, "x");
    for (unsigned i = 0; i < n; i++) {
        char lb[32];
        int l = snprintf(lb, sizeof lb, "i=\"%u\"", i);
        expo_sample(e, lb, (size_t)l, (double)n);
    }
    return 0;
}

/* GET /metrics; returns the malloc'd response (headers + body) and its length. */
static char *get_metrics(int port, const char *accept, size_t *len)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    char rq[256];
    size_t cap = 1u << 20, n = 0;
    char *b = malloc(cap);
    ssize_t r;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || !b || connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        if (s >= 0)
            close(s);
        free(b);
        return NULL;
    }
    snprintf(rq, sizeof rq, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: %s\r\n\r\n", accept);
    if (write(s, rq, strlen(rq)) != (ssize_t)strlen(rq)) {
        close(s);
        free(b);
        return NULL;
    }
    for (;;) {
        if (n + 1 == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb)
                break;
            b = nb;
        }
        if ((r = read(s, b + n, cap - 1 - n)) <= 0)
            break;
        n += (size_t)r;
    }
    close(s);
    b[n] = 0;
    *len = n;
    return b;
}

/* The body buffer is kept between scrapes and reused: big, small (the big buffer is
 * dropped: more than 4x the body), big again, in both formats; every body is whole and
 * exactly the one asked for. */
static void test_buffer_reuse(void)
{
    static const unsigned sizes[] = { 3, 700000, 700000, 10, 10, 700000, 3 };
    unsigned n = 0;
    struct web_config wc = { .listen = "127.0.0.1:0", .telemetry_path = "/metrics", .version = "t" };
    struct web_callbacks cb = { render_n, NULL, &n };
    char err[256];
    struct web *w = web_start(&wc, &cb, err, sizeof err);
    CHECK(w != NULL);
    if (!w)
        return;
    int port = web_port(w);
    for (size_t i = 0; i < 2 * sizeof sizes / sizeof sizes[0]; i++) {
        int om = i % 2;
        size_t len = 0, want_lines = 0;
        char *b, *body, *p, last[64];
        n = sizes[i / 2];
        CHECK_CTX("scrape %zu (%u samples, %s)", i, n, om ? "openmetrics" : "text");
        b = get_metrics(port, om ? "application/openmetrics-text" : "text/plain", &len);
        CHECK(b != NULL);
        if (!b)
            break;
        CHECK(strncmp(b, "HTTP/1.1 200", 12) == 0);
        body = strstr(b, "\r\n\r\n");
        CHECK(body != NULL);
        if (!body) {
            free(b);
            break;
        }
        body += 4;
        {
            char cl[48];
            snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", len - (size_t)(body - b));
            CHECK(strstr(b, cl) != NULL);
        }
        for (p = body; (p = strchr(p, '\n')) != NULL; p++)
            want_lines++;
        CHECK_INT(want_lines, (size_t)n + 2 + (size_t)om); /* HELP, TYPE, samples, # EOF */
        snprintf(last, sizeof last, "x_n{i=\"%u\"} %u\n%s", n - 1, n, om ? "# EOF\n" : "");
        CHECK(len >= strlen(last) && strcmp(b + len - strlen(last), last) == 0);
        free(b);
    }
    web_stop(w);
}

int main(void)
{
    RUN(test_negotiate);
    RUN(test_start_stop);
    RUN(test_buffer_reuse);
    return harness_done();
}
