/*
 * tls_probe.c -- connects with transport/conn (the exporter's own code path) and
 * prints one classified result line, for tests/tls/t_tls.sh:
 *
 *   tls_probe [--ca FILE] [--plain] [--send TEXT] [--timeout MS] [--pin-time UNIX] HOST PORT
 *
 *   result=ok stage=none reason=none ...            handshake done (and TEXT sent, reply read)
 *   result=fail stage=tls reason=tls_unknown_ca code=62 text="..."
 *   result=ca_error code=-602 text="..."            the CA file was refused (exit 2)
 *
 * With --send, TEXT (\n and \r escapes understood) is written once the connection is
 * open, then everything is read until the peer closes; "received=N" and how it ended
 * ("end=closed" or "end=truncated") are printed.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/conn.h"

static tls_anchors anchors;
static conn C;

static void unescape(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (s[0] == '\\' && s[1] == 'n') {
            *o++ = '\n';
            s++;
        } else if (s[0] == '\\' && s[1] == 'r') {
            *o++ = '\r';
            s++;
        } else
            *o++ = *s;
    }
    *o = 0;
}

static void print_fail(const char *what)
{
    const conn_err *e = conn_error(&C);
    printf("result=%s stage=%s reason=%s code=%d text=\"%s\"\n", what, conn_stage_name(e->stage),
           net_reason_name(e->reason), e->code, e->text);
}

/* Runs the poll loop until pred holds, the conn ends, or the deadline passes. */
static int pump_until_open(int64_t deadline)
{
    while (conn_state(&C) != CONN_OPEN) {
        if (conn_state(&C) == CONN_FAILED || conn_state(&C) == CONN_CLOSED)
            return -1;
        int64_t now = net_now_ms(), wake = conn_deadline(&C);
        if (wake > deadline)
            wake = deadline;
        struct pollfd p = { conn_poll_fd(&C), conn_poll_events(&C), 0 };
        int ms = wake > now ? (int)(wake - now) : 0;
        if (poll(&p, 1, ms) < 0)
            return -1;
        conn_on_io(&C, p.revents, net_now_ms());
        if (net_now_ms() >= deadline && conn_state(&C) != CONN_OPEN) {
            conn_fail(&C, CONN_STAGE_IO, NET_R_TIMEOUT, 0, "probe deadline");
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *ca = NULL, *send_text = NULL;
    int plain = 0, timeout_ms = 5000, i;
    int64_t pin = -1;
    char err[512];

    for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (!strcmp(argv[i], "--ca") && i + 1 < argc)
            ca = argv[++i];
        else if (!strcmp(argv[i], "--plain"))
            plain = 1;
        else if (!strcmp(argv[i], "--send") && i + 1 < argc)
            send_text = argv[++i];
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
            timeout_ms = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--pin-time") && i + 1 < argc)
            pin = atoll(argv[++i]);
        else
            break;
    }
    if (argc - i != 2) {
        fprintf(stderr, "usage: tls_probe [--ca FILE] [--plain] [--send TEXT] [--timeout MS] "
                        "[--pin-time UNIX] HOST PORT\n");
        return 64;
    }
    if (!plain) {
        int n = tls_anchors_load_file(&anchors, ca, err, sizeof err);
        if (n <= 0) {
            printf("result=ca_error code=%d text=\"%s\"\n", n, err);
            return 2;
        }
        printf("anchors=%d skipped=%zu source=%s\n", n, anchors.skipped, anchors.source);
    }
    conn_init(&C);
    conn_pin_time(&C, pin);
    int64_t start = net_now_ms(), deadline = start + timeout_ms;
    if (conn_start(&C, argv[i], (unsigned)atoi(argv[i + 1]), !plain, &anchors, start, deadline) <
            0 ||
        pump_until_open(deadline) < 0) {
        print_fail("fail");
        return 1;
    }
    if (send_text) {
        static char buf[65536];
        size_t len, off = 0;
        unsigned long long got = 0;
        char *msg = strdup(send_text);
        unescape(msg);
        len = strlen(msg);
        conn_set_stage(&C, CONN_STAGE_HTTP);
        while (net_now_ms() < deadline) {
            if (off < len) {
                long k = conn_write(&C, msg + off, len - off);
                if (k > 0)
                    off += (size_t)k;
            }
            struct pollfd p = { conn_poll_fd(&C), conn_poll_events(&C), 0 };
            if (off < len)
                p.events |= POLLOUT;
            int64_t now = net_now_ms();
            poll(&p, 1, (int)(deadline - now > 0 ? deadline - now : 0));
            conn_on_io(&C, p.revents, net_now_ms());
            long n;
            while ((n = conn_read(&C, buf, sizeof buf)) > 0)
                got += (unsigned long long)n;
            if (n < 0)
                break;
        }
        free(msg);
        printf("received=%llu end=%s\n", got, net_reason_name(conn_error(&C)->reason));
    }
    printf("result=ok stage=none reason=none\n");
    conn_close(&C);
    return 0;
}
