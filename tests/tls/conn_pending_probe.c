/*
 * conn_pending_probe.c -- reproduces the "bytes stranded in the TLS engine" case for
 * tests/tls/t_conn_pending.sh and reports what conn_pending() says about it.
 *
 *   conn_pending_probe --ca FILE HOST PORT
 *
 * The peer sends two TLS records right after the handshake and waits for one byte.
 * The probe lets both records reach its socket and pumps once: one recv() takes both
 * into the read-ahead buffer (transport/tls.h), the engine decrypts the first and
 * stops reading. The probe reads that record -- from then on the socket is not
 * readable although the second record is here, and only conn_pending() can tell --
 * then writes one byte, which pumps the engine again (before the read-ahead buffer,
 * this write was what pulled the second record out of the socket). Prints one line of
 * key=value facts the test checks.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "transport/conn.h"

static tls_anchors anchors;
static conn C;

static int wait_open(int64_t deadline)
{
    while (conn_state(&C) != CONN_OPEN) {
        struct pollfd p;
        int64_t now = net_now_ms();
        if (conn_state(&C) == CONN_FAILED || conn_state(&C) == CONN_CLOSED || now >= deadline)
            return -1;
        p = (struct pollfd){ conn_poll_fd(&C), conn_poll_events(&C), 0 };
        if (poll(&p, 1, conn_pending(&C) ? 0 : 100) < 0)
            return -1;
        conn_on_io(&C, p.revents, net_now_ms());
    }
    return 0;
}

static int socket_readable(void)
{
    struct pollfd p = { conn_poll_fd(&C), POLLIN, 0 };
    return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

int main(int argc, char **argv)
{
    char err[256], a[64] = { 0 }, b[64] = { 0 };
    struct pollfd p;
    long na, nb;
    int pend_before, pend_after, pend_drained, readable_before, readable;
    struct timespec ts = { 0, 300 * 1000000L };
    if (argc != 5 || strcmp(argv[1], "--ca") != 0) {
        fprintf(stderr, "usage: conn_pending_probe --ca FILE HOST PORT\n");
        return 2;
    }
    if (tls_anchors_load_file(&anchors, argv[2], err, sizeof err) <= 0) {
        printf("result=ca_error text=\"%s\"\n", err);
        return 2;
    }
    conn_init(&C);
    if (conn_start(&C, argv[3], (unsigned)strtoul(argv[4], NULL, 10), 1, &anchors, net_now_ms(),
                   net_now_ms() + 5000) != 0 ||
        wait_open(net_now_ms() + 5000) != 0) {
        printf("result=fail text=\"%s\"\n", conn_error(&C)->text);
        return 1;
    }
    /* both records in our socket buffer */
    p = (struct pollfd){ conn_poll_fd(&C), POLLIN, 0 };
    poll(&p, 1, 3000);
    nanosleep(&ts, NULL);
    conn_on_io(&C, POLLIN, net_now_ms());
    na = conn_read(&C, a, sizeof a - 1);
    readable_before = socket_readable();
    pend_before = conn_pending(&C);
    conn_write(&C, "x", 1); /* pumps the engine: the second record comes in */
    readable = socket_readable();
    pend_after = conn_pending(&C);
    nb = conn_read(&C, b, sizeof b - 1);
    pend_drained = conn_pending(&C);
    printf("result=ok first=%s first_len=%ld socket_readable_before_write=%d "
           "pending_before_write=%d socket_readable=%d pending_after_write=%d second=%s "
           "second_len=%ld pending_after_drain=%d\n",
           na > 0 ? a : "-", na, readable_before, pend_before, readable, pend_after,
           nb > 0 ? b : "-", nb, pend_drained);
    conn_close(&C);
    return 0;
}
