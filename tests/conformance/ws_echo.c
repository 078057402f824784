/*
 * ws_echo.c -- the Autobahn "testee": an echo client built on core/ws and
 * transport/conn (plain TCP or TLS), for tests/conformance/t_autobahn.sh.
 *
 *   ws_echo [--tls --ca FILE] [--host localhost] --port N [--agent NAME]
 *           [--msgcap BYTES] [--case N | --all]
 *
 * --all follows the fuzzingserver protocol: /getCaseCount, then /runCase?case=i for
 * every i, then /updateReports. Each connection echoes every text/binary message back
 * unchanged (same opcode), lets the codec answer pings and closes, and after the close
 * handshake waits (at most 2 s) for the server to close TCP (RFC 6455 7.1.1). One line
 * per connection goes to stderr: "case N: <how it ended>". Masks and the handshake key
 * come from getrandom().
 */
#include "core/ws.h"
#include "transport/conn.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static void os_rng(void *arg, uint8_t *dst, size_t n)
{
    (void)arg;
    while (n > 0) {
        ssize_t k = getrandom(dst, n, 0);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            perror("getrandom");
            exit(2);
        }
        dst += k;
        n -= (size_t)k;
    }
}

typedef struct {
    const char *host;
    unsigned port;
    int tls;
    const tls_anchors *anchors;
    size_t msgcap;
    uint8_t *msg, *out;
    size_t outcap;
    char first_text[64]; /* first text message (getCaseCount's answer) */
} opts;

static int debug;
#define DBG(...)                                                            \
    do {                                                                    \
        if (debug) {                                                        \
            fprintf(stderr, "%6lld ", (long long)(net_now_ms() % 1000000)); \
            fprintf(stderr, __VA_ARGS__);                                   \
        }                                                                   \
    } while (0)

/* Moves pending ws output into conn. Returns the bytes moved, -1 if the connection is
 * gone. */
static long flush(conn *c, ws_ctx *ws)
{
    const uint8_t *p;
    size_t n;
    long moved = 0;
    while ((n = ws_output(ws, &p)) > 0) {
        long k = conn_write(c, p, n);
        DBG("write %zu -> %ld pending=%d\n", n, k, conn_write_pending(c));
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        ws_output_ack(ws, (size_t)k);
        moved += k;
    }
    return moved;
}

/* One poll round: waits for I/O (at most ms), then lets conn advance. */
static void pump(conn *c, ws_ctx *ws, int ms)
{
    const uint8_t *p;
    struct pollfd pf = { conn_poll_fd(c), conn_poll_events(c), 0 };
    if (ws && (ws_output(ws, &p) > 0 || conn_write_pending(c)))
        pf.events |= POLLOUT;
    int64_t now = net_now_ms(), dl = conn_deadline(c);
    if (dl != INT64_MAX && dl - now < ms)
        ms = dl - now < 0 ? 0 : (int)(dl - now);
    int r = pf.fd >= 0 ? poll(&pf, 1, ms) : 0;
    DBG("poll(events=%x, %d ms) -> %d revents=%x state=%d\n", pf.events, ms, r,
        r > 0 ? pf.revents : 0, (int)conn_state(c));
    conn_on_io(c, r > 0 ? pf.revents : 0, net_now_ms());
}

typedef struct {
    int opened, ended;
    char how[160];
} outcome;

/* Handles every pending ws event: echo messages, note the end. */
static void on_events(opts *o, conn *c, ws_ctx *ws, outcome *r)
{
    ws_event ev;
    while (ws_next_event(ws, &ev) != WS_EV_NONE) {
        switch (ev.type) {
        case WS_EV_OPEN: r->opened = 1; break;
        case WS_EV_MESSAGE:
            if (ev.opcode == WS_OP_TEXT && !o->first_text[0])
                snprintf(o->first_text, sizeof o->first_text, "%.*s",
                         (int)(ev.len < 63 ? ev.len : 63), (const char *)ev.data);
            for (;;) {
                int rc = ws_send(ws, ev.opcode, ev.data, ev.len);
                if (rc != WS_ERR_WOULD_BLOCK)
                    break;
                /* output full: move it to the socket, then retry (the view in ev stays
                 * valid: no ws_push/ws_next_event happens in between) */
                if (flush(c, ws) < 0)
                    break;
                pump(c, ws, 100);
                if (conn_state(c) != CONN_OPEN)
                    break;
            }
            break;
        case WS_EV_CLOSED:
            snprintf(r->how, sizeof r->how, "closed code=%u clean=%d by_%s", ev.close_code,
                     ev.clean, ev.by_peer ? "peer" : "us");
            r->ended = 1;
            break;
        case WS_EV_ERROR:
            snprintf(r->how, sizeof r->how, "failed: %s (sent %u, http %d)", ws_strerror(ev.err),
                     ev.close_code, ev.http_status);
            r->ended = 1;
            break;
        default: break;
        }
    }
}

/* Reads and flushes until a pass moves nothing: conn_write pumps the TLS engine too and
 * may take records in, which poll would not report. Returns the last conn_read value
 * (-1: the stream ended). */
static long service(opts *o, conn *c, ws_ctx *ws, outcome *r)
{
    static uint8_t buf[1 << 16];
    long n;
    int again = 1;
    while (again) {
        again = 0;
        while ((n = conn_read(c, buf, sizeof buf)) > 0) {
            again = 1;
            DBG("read %ld\n", n);
            const uint8_t *p = buf;
            size_t left = (size_t)n;
            while (left > 0) {
                size_t k = ws_push(ws, p, left);
                p += k;
                left -= k;
                on_events(o, c, ws, r);
            }
        }
        if (n < 0)
            return n;
        if (conn_state(c) == CONN_OPEN && flush(c, ws) > 0)
            again = 1;
    }
    return n;
}

/* Runs one connection to path; returns 0 when the WebSocket opened (whatever happened
 * next: the peer grades that), 1 on trouble before. */
static int run(opts *o, const char *path, const char *label)
{
    static conn c;
    ws_ctx ws;
    outcome r = { 0, 0, "transport ended" };
    conn_init(&c);
    int64_t t0 = net_now_ms();
    if (conn_start(&c, o->host, o->port, o->tls, o->anchors, t0, t0 + 10000) != 0) {
        fprintf(stderr, "%s: connect: %s\n", label, conn_error(&c)->text);
        return 1;
    }
    ws_init(&ws, WS_CLIENT, o->msg, o->msgcap, o->out, o->outcap, os_rng, NULL);
    int hs_sent = 0;
    int64_t end_deadline = 0;
    for (;;) {
        pump(&c, &ws, r.ended ? 50 : 1000);
        conn_state st = conn_state(&c);
        if (st == CONN_OPEN && !hs_sent) {
            ws_client_handshake(&ws, "localhost", path, "User-Agent: iotpro-ws-echo\r\n");
            hs_sent = 1;
        }
        if (st != CONN_OPEN && st != CONN_CLOSED && st != CONN_FAILED)
            continue; /* still resolving / connecting / in the TLS handshake */
        long n = service(o, &c, &ws, &r);
        st = conn_state(&c);
        if (n < 0 || st == CONN_FAILED || st == CONN_CLOSED) {
            ws_eof(&ws);
            ws_event ev;
            while (ws_next_event(&ws, &ev) != WS_EV_NONE)
                if (ev.type == WS_EV_CLOSED && !r.ended)
                    snprintf(r.how, sizeof r.how, "transport lost (1006)");
            break;
        }
        if (r.ended) {
            const uint8_t *p;
            if (!end_deadline)
                end_deadline = net_now_ms() + 2000;
            /* output flushed: wait for the server's TCP close, then give up */
            if (net_now_ms() > end_deadline && ws_output(&ws, &p) == 0) {
                snprintf(r.how + strlen(r.how), sizeof r.how - strlen(r.how), " (we closed TCP)");
                break;
            }
        }
    }
    conn_close(&c);
    conn_abort(&c);
    fprintf(stderr, "%s: %s\n", label, r.how);
    return r.opened || r.ended ? 0 : 1;
}

int main(int argc, char **argv)
{
    opts o = { .host = "localhost", .msgcap = LIM_WS_MESSAGE_DEFAULT };
    debug = getenv("WS_ECHO_DEBUG") != NULL;
    const char *ca = NULL, *agent = "iotpro-ws";
    int one = 0, all = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tls"))
            o.tls = 1;
        else if (!strcmp(argv[i], "--ca") && i + 1 < argc)
            ca = argv[++i];
        else if (!strcmp(argv[i], "--host") && i + 1 < argc)
            o.host = argv[++i];
        else if (!strcmp(argv[i], "--port") && i + 1 < argc)
            o.port = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--agent") && i + 1 < argc)
            agent = argv[++i];
        else if (!strcmp(argv[i], "--msgcap") && i + 1 < argc)
            o.msgcap = strtoul(argv[++i], 0, 10);
        else if (!strcmp(argv[i], "--case") && i + 1 < argc)
            one = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--all"))
            all = 1;
        else {
            fprintf(stderr, "usage: ws_echo [--tls --ca FILE] [--host H] --port N [--agent A] "
                            "[--msgcap B] (--case N | --all)\n");
            return 2;
        }
    }
    if (!o.port || (!one && !all))
        return 2;
    static tls_anchors anchors;
    if (o.tls) {
        char err[256];
        if (tls_anchors_load_file(&anchors, ca, err, sizeof err) < 0) {
            fprintf(stderr, "anchors: %s\n", err);
            return 2;
        }
        o.anchors = &anchors;
    }
    o.msg = malloc(o.msgcap);
    o.outcap = o.msgcap + 4096; /* an echo of the largest message fits */
    o.out = malloc(o.outcap);
    if (!o.msg || !o.out)
        return 2;
    char path[256], label[64];
    int count = one ? one : 0;
    if (all) {
        if (run(&o, "/getCaseCount", "getCaseCount") != 0)
            return 1;
        count = atoi(o.first_text);
        if (count <= 0) {
            fprintf(stderr, "bad case count '%s'\n", o.first_text);
            return 1;
        }
    }
    int bad = 0;
    for (int i = one ? one : 1; i <= count; i++) {
        snprintf(path, sizeof path, "/runCase?case=%d&agent=%s", i, agent);
        snprintf(label, sizeof label, "case %d", i);
        bad += run(&o, path, label);
    }
    if (all) {
        snprintf(path, sizeof path, "/updateReports?agent=%s", agent);
        run(&o, path, "updateReports");
    }
    free(o.msg);
    free(o.out);
    return bad ? 1 : 0;
}
