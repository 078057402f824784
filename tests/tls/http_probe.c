/*
 * http_probe.c -- runs requests through transport/httpc (the exporter's REST client)
 * and prints one line per request, for tests/tls/t_http.sh:
 *
 *   http_probe [--ca FILE] [--plain] [--timeout MS] [--max-body N] [--method M]
 *              [--data BODY] [--header "Name: value"]... [--pause MS]
 *              HOST PORT PATH [PATH...]
 *
 * --pause sleeps between requests (the connection stays idle, open on our side).
 *
 *   req=1 result=ok status=200 body_len=5 reused=0 keep_alive=1 ms=12 body="hello"
 *   req=2 result=fail stage=http reason=limit code=-512 ms=3 text="..."
 *   connects=1
 *
 * All paths go through one httpc, in order, so keep-alive reuse is visible.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "transport/httpc.h"

static tls_anchors anchors;
static httpc H;
static uint8_t body[8 << 20];

static void print_body(const uint8_t *p, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n && i < 120; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
            putchar(p[i]);
        else
            printf("\\x%02x", p[i]);
    }
    if (n > 120)
        printf("...");
    putchar('"');
}

int main(int argc, char **argv)
{
    const char *ca = NULL, *method = "GET", *data = NULL;
    int plain = 0, timeout_ms = 5000, pause_ms = 0, i, rc = 0;
    size_t max_body = sizeof body;
    http1_header hdrs[16];
    size_t nh = 0;
    char err[512];

    for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (!strcmp(argv[i], "--ca") && i + 1 < argc)
            ca = argv[++i];
        else if (!strcmp(argv[i], "--plain"))
            plain = 1;
        else if (!strcmp(argv[i], "--pause") && i + 1 < argc)
            pause_ms = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
            timeout_ms = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--max-body") && i + 1 < argc) {
            max_body = (size_t)atol(argv[++i]);
            if (max_body > sizeof body)
                max_body = sizeof body;
        } else if (!strcmp(argv[i], "--method") && i + 1 < argc)
            method = argv[++i];
        else if (!strcmp(argv[i], "--data") && i + 1 < argc)
            data = argv[++i];
        else if (!strcmp(argv[i], "--header") && i + 1 < argc && nh < 16) {
            char *h = argv[++i], *colon = strchr(h, ':');
            if (!colon)
                return 64;
            *colon = 0;
            hdrs[nh].name = h;
            hdrs[nh].value = colon + 1 + strspn(colon + 1, " ");
            nh++;
        } else
            break;
    }
    if (argc - i < 3) {
        fprintf(stderr, "usage: http_probe [options] HOST PORT PATH [PATH...]\n");
        return 64;
    }
    if (!plain && tls_anchors_load_file(&anchors, ca, err, sizeof err) <= 0) {
        printf("result=ca_error text=\"%s\"\n", err);
        return 2;
    }
    httpc_init(&H, argv[i], (unsigned)atoi(argv[i + 1]), !plain, &anchors);
    for (int k = i + 2, n = 1; k < argc; k++, n++) {
        if (pause_ms > 0 && n > 1) {
            struct timespec ts = { pause_ms / 1000, (long)(pause_ms % 1000) * 1000000L };
            nanosleep(&ts, NULL);
        }
        int64_t t0 = net_now_ms();
        int r = httpc_do(&H, method, argv[k], hdrs, nh, data, data ? strlen(data) : 0, body,
                         max_body, timeout_ms);
        long ms = (long)(net_now_ms() - t0);
        if (r == 0) {
            const http1_resp *resp = httpc_response(&H);
            printf("req=%d result=ok status=%d body_len=%zu reused=%d retried=%d keep_alive=%d "
                   "ms=%ld body=",
                   n, http1_resp_status(resp), http1_resp_body_len(resp), H.reused, H.retried,
                   http1_resp_keep_alive(resp), ms);
            print_body(body, http1_resp_body_len(resp));
            putchar('\n');
        } else {
            const conn_err *e = httpc_error(&H);
            printf("req=%d result=fail stage=%s reason=%s code=%d ms=%ld text=\"%s\"\n", n,
                   conn_stage_name(e->stage), net_reason_name(e->reason), e->code, ms, e->text);
            rc = 1;
        }
        fflush(stdout);
    }
    printf("connects=%lu\n", H.connects);
    httpc_close(&H);
    return rc;
}
