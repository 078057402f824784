/*
 * bench_floor.c -- the benchmark's floor: a client on the same BearSSL build and the
 * same transport as the exporter that only decrypts the stream and finds the
 * WebSocket frame boundaries. No UTF-8 check, no JSON, no store. Whatever CPU it
 * spends per message is what any client must spend; the exporter's CPU per message
 * divided by this is how far from that limit it is.
 *
 * Flow: POST /api/auth/login (transport/httpc); open wss://HOST/api/ws (conn + the
 * core/ws handshake); send authCmd and one ENTITY_DATA command per page of assets, as
 * tests/bench/ref_client.js does; then read: conn_peek views of decrypted records go
 * through a frame-header walker only. After --warmup seconds it counts for --duration
 * seconds and prints one JSON line like ref_client.js:
 *   {"update_messages":N,"window_s":x,"msgs_per_s":x,"cpu_s":x,
 *    "cpu_s_per_million_updates":x,"peak_rss_bytes":N}
 *
 * Usage: IOTPRO_PASSWORD=... bench_floor --host localhost --port N --username U
 *          --ca ca.pem --pages N [--page-size 1000] [--keys a,b] [--warmup 2]
 *          [--duration 5] [--max-seconds 120]
 * Exit 0 with the figures; 1 on any failure (with a message on stderr).
 */
#include "core/ws.h"
#include "transport/conn.h"
#include "transport/httpc.h"
#include "transport/net.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static tls_anchors anchors; /* large: static */
static conn C;
static httpc H;
static ws_ctx WS;
static uint8_t ws_msg[LIM_WS_HANDSHAKE_BYTES * 4], ws_out[64 * 1024];

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_floor: %s: %s\n", what, why);
    exit(1);
}

static void rng(void *arg, uint8_t *dst, size_t n)
{
    (void)arg;
    if (net_random(dst, n) != 0)
        die("random", "no entropy");
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static long peak_rss(void)
{
    char line[256];
    long kb = 0;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb * 1024;
}

/* One poll turn on C (zero wait when the engine already holds bytes). */
static void turn(int64_t deadline)
{
    struct pollfd p = { conn_poll_fd(&C), conn_poll_events(&C), 0 };
    const uint8_t *o;
    if (ws_output(&WS, &o) > 0)
        p.events |= POLLOUT;
    int64_t now = net_now_ms();
    if (now > deadline)
        die("time", "out of time");
    int wait = conn_pending(&C) ? 0 : (int)(deadline - now > 100 ? 100 : deadline - now);
    if (p.fd >= 0)
        poll(&p, 1, wait);
    conn_on_io(&C, p.revents, net_now_ms());
    if (conn_state(&C) == CONN_FAILED || conn_state(&C) == CONN_CLOSED)
        die("connection", conn_error(&C)->text);
}

static void flush_ws(void)
{
    const uint8_t *o;
    size_t n;
    while ((n = ws_output(&WS, &o)) > 0) {
        long k = conn_write(&C, o, n);
        if (k < 0)
            die("send", conn_error(&C)->text);
        if (k == 0)
            return;
        ws_output_ack(&WS, (size_t)k);
    }
}

/* The frame-boundary walker: headers are read, payloads skipped. */
typedef struct {
    uint8_t hdr[WS_FRAME_HEADER_MAX];
    unsigned have, need;
    uint64_t skip;
    unsigned long long msgs;
} walker;

static void walk(walker *w, const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (w->skip) {
            size_t k = n - i < w->skip ? n - i : (size_t)w->skip;
            i += k;
            w->skip -= k;
            continue;
        }
        w->hdr[w->have++] = p[i++];
        if (w->have == 2) {
            unsigned l7 = w->hdr[1] & 0x7F;
            w->need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + (w->hdr[1] & 0x80 ? 4 : 0);
        }
        if (w->have < 2 || w->have < w->need)
            continue;
        uint64_t len = w->hdr[1] & 0x7F;
        if (len == 126)
            len = (uint64_t)w->hdr[2] << 8 | w->hdr[3];
        else if (len == 127) {
            len = 0;
            for (int k = 0; k < 8; k++)
                len = len << 8 | w->hdr[2 + k];
        }
        if ((w->hdr[0] & 0x80) && (w->hdr[0] & 0x0F) < 8)
            w->msgs++; /* the final frame of a data message */
        w->skip = len;
        w->have = w->need = 0;
    }
}

int main(int argc, char **argv)
{
    const char *host = "localhost", *user = "", *ca = NULL, *keys = "device_id";
    unsigned port = 0, pages = 1, page_size = 1000;
    double warmup = 2, duration = 5, max_s = 120;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--host"))
            host = v;
        else if (!strcmp(a, "--port"))
            port = (unsigned)atoi(v);
        else if (!strcmp(a, "--username"))
            user = v;
        else if (!strcmp(a, "--ca"))
            ca = v;
        else if (!strcmp(a, "--pages"))
            pages = (unsigned)atoi(v);
        else if (!strcmp(a, "--page-size"))
            page_size = (unsigned)atoi(v);
        else if (!strcmp(a, "--keys"))
            keys = v;
        else if (!strcmp(a, "--warmup"))
            warmup = atof(v);
        else if (!strcmp(a, "--duration"))
            duration = atof(v);
        else if (!strcmp(a, "--max-seconds"))
            max_s = atof(v);
        else
            die("usage", a);
    }
    const char *pass = getenv("IOTPRO_PASSWORD");
    char err[256];
    if (!port || !pass || pages == 0 || pages > 100)
        die("usage", "--port, --pages (1..100) and IOTPRO_PASSWORD are required");
    if (tls_anchors_load_file(&anchors, ca, err, sizeof err) <= 0)
        die("CA", err);
    int64_t deadline = net_now_ms() + (int64_t)(max_s * 1000);

    /* login */
    static char body[1024], resp[65536], token[4096];
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", user, pass);
    http1_header hj = { "Content-Type", "application/json" };
    httpc_init(&H, host, port, 1, &anchors);
    if (httpc_do(&H, "POST", "/api/auth/login", &hj, 1, body, strlen(body), (uint8_t *)resp,
                 sizeof resp - 1, 15000) != 0 ||
        httpc_response(&H)->status != 200)
        die("login", "failed");
    const http1_resp *r = httpc_response(&H);
    resp[r->body_len] = 0;
    const char *t = strstr(resp, "\"token\":\"");
    const char *te = t ? strchr(t + 9, '"') : NULL;
    if (!te || (size_t)(te - t - 9) >= sizeof token)
        die("login", "no token in the reply");
    memcpy(token, t + 9, (size_t)(te - t - 9));
    token[te - t - 9] = 0;
    httpc_close(&H);

    /* WebSocket */
    conn_init(&C);
    if (conn_start(&C, host, port, 1, &anchors, net_now_ms(), net_now_ms() + 15000) != 0)
        die("connect", conn_error(&C)->text);
    while (conn_state(&C) != CONN_OPEN)
        turn(deadline);
    char hosthdr[300];
    snprintf(hosthdr, sizeof hosthdr, "%s:%u", host, port);
    ws_init(&WS, WS_CLIENT, ws_msg, sizeof ws_msg, ws_out, sizeof ws_out, rng, NULL);
    ws_client_handshake(&WS, hosthdr, "/api/ws", NULL);
    const uint8_t *in = NULL;
    long n = 0;
    size_t used = 0;
    ws_event ev;
    for (int open = 0; !open;) {
        flush_ws();
        turn(deadline);
        while (!open && (n = conn_peek(&C, &in)) > 0) {
            used = ws_push(&WS, in, (size_t)n);
            while (ws_next_event(&WS, &ev) != WS_EV_NONE) {
                if (ev.type == WS_EV_OPEN)
                    open = 1;
                else if (ev.type == WS_EV_ERROR || ev.type == WS_EV_CLOSED)
                    die("websocket upgrade", ws_strerror(ev.err));
            }
            if (!open)
                conn_consume(&C, (size_t)n);
        }
    }

    /* authCmd and the subscriptions, at most 10 commands a message (< 32 KiB) */
    static char cmd[32768];
    for (unsigned p0 = 0; p0 < pages; p0 += 10) {
        size_t o = 0;
        o += (size_t)snprintf(cmd + o, sizeof cmd - o, "{");
        if (p0 == 0)
            o += (size_t)snprintf(cmd + o, sizeof cmd - o,
                                  "\"authCmd\":{\"cmdId\":0,\"token\":\"%s\"},", token);
        o += (size_t)snprintf(cmd + o, sizeof cmd - o, "\"cmds\":[");
        for (unsigned p = p0; p < pages && p < p0 + 10; p++) {
            o += (size_t)snprintf(
                cmd + o, sizeof cmd - o,
                "%s{\"cmdId\":%u,\"type\":\"ENTITY_DATA\",\"query\":{\"entityFilter\":"
                "{\"type\":\"entityType\",\"entityType\":\"ASSET\"},\"pageLink\":{\"pageSize\":%u,"
                "\"page\":%u,\"sortOrder\":{\"key\":{\"type\":\"ENTITY_FIELD\",\"key\":"
                "\"createdTime\"},\"direction\":\"ASC\"}},\"entityFields\":[],\"latestValues\":[]},"
                "\"latestCmd\":{\"keys\":[",
                p == p0 ? "" : ",", p + 1, page_size, p);
            const char *k = keys;
            while (*k) {
                size_t kl = strcspn(k, ",");
                o += (size_t)snprintf(cmd + o, sizeof cmd - o,
                                      "%s{\"type\":\"TIME_SERIES\",\"key\":\"%.*s\"}",
                                      k == keys ? "" : ",", (int)kl, k);
                k += kl + (k[kl] == ',');
            }
            o += (size_t)snprintf(cmd + o, sizeof cmd - o, "]}}");
        }
        o += (size_t)snprintf(cmd + o, sizeof cmd - o, "]}");
        if (o >= sizeof cmd || ws_send(&WS, WS_OP_TEXT, (const uint8_t *)cmd, o) != WS_OK)
            die("subscribe", "command message does not fit");
        flush_ws();
    }

    /* the floor: decrypt, find frame boundaries, nothing else */
    walker w = { 0 };
    if (n > 0) { /* frames after the 101 in the same record */
        walk(&w, in + used, (size_t)n - used);
        conn_consume(&C, (size_t)n);
    }
    int64_t t_start = net_now_ms() + (int64_t)(warmup * 1000), t_end = 0;
    unsigned long long m0 = 0;
    double c0 = 0;
    for (;;) {
        flush_ws();
        turn(deadline);
        while ((n = conn_peek(&C, &in)) > 0) {
            walk(&w, in, (size_t)n);
            conn_consume(&C, (size_t)n);
        }
        int64_t now = net_now_ms();
        if (!t_end && now >= t_start) {
            m0 = w.msgs;
            c0 = cpu_s();
            t_start = now;
            t_end = now + (int64_t)(duration * 1000);
        } else if (t_end && now >= t_end) {
            break;
        }
    }
    double dt = (double)(net_now_ms() - t_start) / 1000, dc = cpu_s() - c0;
    unsigned long long dm = w.msgs - m0;
    printf("{\"update_messages\":%llu,\"window_s\":%.3f,\"msgs_per_s\":%.1f,\"cpu_s\":%.4f,"
           "\"cpu_s_per_million_updates\":%.5f,\"peak_rss_bytes\":%ld}\n",
           dm, dt, dt > 0 ? (double)dm / dt : 0, dc, dm ? dc / (double)dm * 1e6 : 0, peak_rss());
    conn_close(&C);
    return dm ? 0 : 1;
}
