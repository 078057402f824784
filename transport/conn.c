/*
 * conn.c -- a non-blocking client connection: DNS (helper thread), TCP connect across
 * every resolved address, TLS 1.2 via transport/tls pumped by the caller's poll loop,
 * and one sticky, classified error. Received bytes are handed out in place
 * (conn_peek): with TLS, a view of the engine's decrypted record; on plain TCP, of one
 * recv() into the otherwise idle engine buffer.
 */
#include "transport/conn.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Keepalive: first probe after 30 s idle, then every 10 s, dead after 3 misses;
 * unacknowledged writes fail after 45 s (reference doc 5.2). */
#define KEEPIDLE_S      30
#define KEEPINTVL_S     10
#define KEEPCNT         3
#define USER_TIMEOUT_MS 45000u

static const char *const stage_names[] = { "none", "dns",  "connect",  "tls",
                                           "io",   "http", "websocket" };

const char *conn_stage_name(conn_stage s)
{
    return (unsigned)s < sizeof stage_names / sizeof stage_names[0] ? stage_names[s] : "?";
}

void conn_init(conn *c)
{
    c->state = CONN_IDLE;
    c->open_stage = CONN_STAGE_IO;
    c->fd = -1;
    c->dns.slot = -1;
    c->addrs.n = 0;
    c->ai = 0;
    c->last_errno = 0;
    c->host[0] = 0;
    c->port = 0;
    c->use_tls = 0;
    c->anchors = NULL;
    c->pin_time = -1;
    c->deadline_ms = c->attempt_deadline_ms = 0;
    c->bytes_in = c->bytes_out = 0;
    c->tls_started = 0;
    c->view_len = 0;
    c->plain_off = c->plain_len = 0;
    memset(&c->err, 0, sizeof c->err);
}

void conn_pin_time(conn *c, int64_t unix_s)
{
    c->pin_time = unix_s;
}
conn_state conn_state_of(const conn *c)
{
    return c->state;
}
const conn_err *conn_error(const conn *c)
{
    return &c->err;
}
void conn_set_stage(conn *c, conn_stage s)
{
    c->open_stage = s;
}

static void close_fd(conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static void failf(conn *c, conn_stage s, net_reason r, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void failf(conn *c, conn_stage s, net_reason r, int code, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (c->state == CONN_FAILED)
        return; /* sticky: the first cause wins */
    c->err.stage = s;
    c->err.reason = r;
    c->err.code = code;
    n = snprintf(c->err.text, sizeof c->err.text, "%s: %s:%u: ", conn_stage_name(s), c->host,
                 c->port);
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof c->err.text)
        vsnprintf(c->err.text + n, sizeof c->err.text - (size_t)n, fmt, ap);
    va_end(ap);
    c->state = CONN_FAILED;
    net_dns_cancel(&c->dns);
    close_fd(c);
}

void conn_fail(conn *c, conn_stage s, net_reason r, int code, const char *text)
{
    failf(c, s, r, code, "%s", text);
}

static conn_stage cur_stage(const conn *c)
{
    switch (c->state) {
    case CONN_RESOLVING: return CONN_STAGE_DNS;
    case CONN_CONNECTING: return CONN_STAGE_CONNECT;
    case CONN_HANDSHAKE: return CONN_STAGE_TLS;
    default: return c->open_stage;
    }
}

/* ---- TLS record pump -------------------------------------------------------------- */

static void engine_closed(conn *c)
{
    int e = tls_last_error(&c->tls);
    const unsigned char *peek;
    size_t peek_len = tls_first_bytes(&c->tls, &peek);
    char buf[96];
    if (e == BR_ERR_OK) {
        if (c->state == CONN_HANDSHAKE) {
            failf(c, CONN_STAGE_TLS, NET_R_TLS_PROTOCOL, 0, "closed during the handshake");
            return;
        }
        if (c->state != CONN_FAILED) {
            c->state = CONN_CLOSED;
            c->err.stage = cur_stage(c);
            c->err.reason = NET_R_CLOSED;
            snprintf(c->err.text, sizeof c->err.text, "%s: %s:%u: closed (close_notify)",
                     conn_stage_name(c->open_stage), c->host, c->port);
            close_fd(c);
        }
        return;
    }
    /* A TLS record starts with a content type 20..24. Anything else in the first
     * byte means the peer speaks another protocol (plain HTTP answering our
     * ClientHello, SSH...): say so, rather than BearSSL's "bad version/length". */
    if (c->state == CONN_HANDSHAKE && peek_len > 0 && (peek[0] < 20 || peek[0] > 24)) {
        char shown[sizeof c->tls.peek + 1];
        size_t i;
        for (i = 0; i < peek_len; i++)
            shown[i] = (peek[i] >= 0x20 && peek[i] < 0x7f && peek[i] != '"') ? (char)peek[i] : '.';
        shown[i] = 0;
        failf(c, CONN_STAGE_TLS, NET_R_TLS_NOT_TLS, e,
              "the server does not speak TLS on this port (it sent \"%s\"; plain HTTP?)", shown);
        return;
    }
    failf(c, cur_stage(c), tls_reason(e, c->pin_time), e, "%s", tls_error_text(e, buf, sizeof buf));
}

/* Moves records both ways until the socket would block (tls_pump) and turns what
 * stopped it into the connection's state. Never blocks. */
static void pump(conn *c)
{
    int e = 0;
    const char *op = "";
    if (c->fd < 0) {
        if (tls_state(&c->tls) & TLS_ST_CLOSED)
            engine_closed(c);
        return;
    }
    switch (tls_pump(&c->tls, c->fd, &e, &op)) {
    case TLS_IO_OK: break;
    case TLS_IO_CLOSED: engine_closed(c); break;
    case TLS_IO_EOF: /* EOF before the engine saw close_notify: truncation */
        if (c->state == CONN_HANDSHAKE)
            failf(c, CONN_STAGE_TLS, NET_R_TRUNCATED, BR_ERR_IO,
                  "server closed the connection during the TLS handshake");
        else
            failf(c, cur_stage(c), NET_R_TRUNCATED, BR_ERR_IO,
                  "connection ended without TLS close_notify (truncated)");
        break;
    case TLS_IO_ERRNO:
        failf(c, cur_stage(c), net_reason_of_errno(e), e, "%s: %s", op, strerror(e));
        break;
    }
}

/* ---- connecting ------------------------------------------------------------------- */

static void connected(conn *c, int64_t now_ms)
{
    int rc;
    (void)now_ms;
    net_tune(c->fd, KEEPIDLE_S, KEEPINTVL_S, KEEPCNT, USER_TIMEOUT_MS);
    if (!c->use_tls) {
        c->state = CONN_OPEN;
        return;
    }
    rc = tls_client_start(&c->tls, c->anchors, c->host, c->pin_time);
    if (rc != 0) {
        char buf[96];
        failf(c, CONN_STAGE_TLS, tls_reason(rc, c->pin_time), rc, "%s",
              tls_error_text(rc, buf, sizeof buf));
        return;
    }
    c->tls_started = 1;
    c->state = CONN_HANDSHAKE;
    pump(c);
}

static void try_next_addr(conn *c, int64_t now_ms)
{
    while (c->ai < c->addrs.n) {
        size_t left = c->addrs.n - c->ai;
        int in_progress;
        const struct sockaddr *sa = (const struct sockaddr *)&c->addrs.addr[c->ai];
        socklen_t sl = c->addrs.len[c->ai];
        c->ai++;
        if (now_ms >= c->deadline_ms)
            break;
        c->attempt_deadline_ms = now_ms + (c->deadline_ms - now_ms) / (int64_t)left;
        c->fd = net_connect_start(sa, sl, &in_progress);
        if (c->fd < 0) {
            c->last_errno = errno;
            continue;
        }
        if (!in_progress) {
            connected(c, now_ms);
            return;
        }
        c->state = CONN_CONNECTING;
        return;
    }
    if (now_ms >= c->deadline_ms)
        failf(c, CONN_STAGE_CONNECT, NET_R_TIMEOUT, ETIMEDOUT, "connect timed out");
    else
        failf(c, CONN_STAGE_CONNECT, net_reason_of_errno(c->last_errno), c->last_errno,
              "connect: %s (%zu address%s tried)", strerror(c->last_errno), c->addrs.n,
              c->addrs.n == 1 ? "" : "es");
}

int conn_start(conn *c, const char *host, unsigned port, int use_tls, const tls_anchors *anchors,
               int64_t now_ms, int64_t deadline_ms)
{
    size_t hl = host ? strlen(host) : 0;
    int64_t pin = c->pin_time;
    net_reason why;
    char err[160];

    conn_abort(c);
    conn_init(c);
    c->pin_time = pin;
    c->port = port;
    c->use_tls = use_tls;
    c->anchors = anchors;
    c->deadline_ms = deadline_ms;
    snprintf(c->host, sizeof c->host, "%s", hl <= LIM_HOST_BYTES && host ? host : "?");
    if (hl == 0 || hl > LIM_HOST_BYTES || port == 0 || port > 65535) {
        failf(c, CONN_STAGE_DNS, NET_R_DNS, 0, "invalid host name or port");
        return -1;
    }
    if (use_tls && (!anchors || anchors->n == 0)) {
        failf(c, CONN_STAGE_TLS, NET_R_TLS_CONFIG, 0, "no trust anchors loaded");
        return -1;
    }
    if (use_tls && tls_host_is_ip(host)) {
        failf(c, CONN_STAGE_TLS, NET_R_TLS_CONFIG, BR_ERR_BAD_PARAM,
              "TLS to an IP address is not supported (certificates are checked against "
              "DNS names only); use the host name");
        return -1;
    }
    if (net_dns_start(&c->dns, host, port, &why, err, sizeof err) < 0) {
        failf(c, CONN_STAGE_DNS, why, 0, "%s", err);
        return -1;
    }
    c->state = CONN_RESOLVING;
    (void)now_ms;
    return 0;
}

int conn_poll_fd(const conn *c)
{
    return c->state == CONN_RESOLVING ? net_dns_fd(&c->dns) : c->fd;
}

short conn_poll_events(const conn *c)
{
    unsigned st;
    short ev = 0;
    switch (c->state) {
    case CONN_RESOLVING: return POLLIN;
    case CONN_CONNECTING: return POLLOUT;
    case CONN_HANDSHAKE:
    case CONN_OPEN:
        if (!c->use_tls)
            return POLLIN;
        st = tls_state(&c->tls);
        if (st & TLS_ST_SENDREC)
            ev |= POLLOUT;
        if (st & TLS_ST_RECVREC)
            ev |= POLLIN;
        return ev;
    default: return 0;
    }
}

int conn_pending(const conn *c)
{
    unsigned st;
    if (!c->use_tls)
        return c->plain_off < c->plain_len; /* received, not yet consumed */
    if (!c->tls_started)
        return 0;
    if (c->state != CONN_HANDSHAKE && c->state != CONN_OPEN)
        return 0;
    st = tls_state(&c->tls);
    if (st & (TLS_ST_CLOSED | TLS_ST_APP_IN))
        return 1; /* bytes to read, or an end to report */
    if (tls_read_ahead(&c->tls))
        return 1; /* records already read from the socket */
    /* The handshake completed in a pump run by someone else: conn_on_io says OPEN. */
    return c->state == CONN_HANDSHAKE && (st & TLS_ST_APP_OUT) != 0;
}

int64_t conn_deadline(const conn *c)
{
    switch (c->state) {
    case CONN_RESOLVING:
    case CONN_HANDSHAKE: return c->deadline_ms;
    case CONN_CONNECTING: return c->attempt_deadline_ms;
    default: return INT64_MAX;
    }
}

conn_state conn_on_io(conn *c, short revents, int64_t now_ms)
{
    switch (c->state) {
    case CONN_RESOLVING: {
        net_reason why;
        char err[160];
        int r = net_dns_result(&c->dns, &c->addrs, &why, err, sizeof err);
        if (r == 0) {
            if (now_ms >= c->deadline_ms)
                failf(c, CONN_STAGE_DNS, NET_R_TIMEOUT, 0, "no DNS answer before the deadline");
            break;
        }
        if (r < 0) {
            failf(c, CONN_STAGE_DNS, why, 0, "%s", err + (strncmp(err, "dns: ", 5) ? 0 : 5));
            break;
        }
        c->ai = 0;
        c->last_errno = ECONNREFUSED;
        try_next_addr(c, now_ms);
        break;
    }
    case CONN_CONNECTING:
        if (revents & (POLLOUT | POLLERR | POLLHUP)) {
            int e = net_connect_result(c->fd);
            if (e == 0) {
                connected(c, now_ms);
                break;
            }
            if (e == EINPROGRESS)
                break;
            c->last_errno = e;
        } else if (now_ms < c->attempt_deadline_ms) {
            break;
        } else {
            c->last_errno = ETIMEDOUT;
        }
        close_fd(c);
        try_next_addr(c, now_ms);
        break;
    case CONN_HANDSHAKE:
        pump(c);
        if (c->state == CONN_HANDSHAKE) {
            if (tls_state(&c->tls) & (TLS_ST_APP_OUT | TLS_ST_APP_IN))
                c->state = CONN_OPEN;
            else if (now_ms >= c->deadline_ms)
                failf(c, CONN_STAGE_TLS, NET_R_TIMEOUT, ETIMEDOUT,
                      "TLS handshake not finished before the deadline");
        }
        break;
    case CONN_OPEN:
        if (c->use_tls)
            pump(c);
        else if (revents & (POLLERR | POLLNVAL))
            failf(c, c->open_stage, net_reason_of_errno(net_connect_result(c->fd)), 0,
                  "socket error: %s", strerror(net_connect_result(c->fd)));
        break;
    default: break;
    }
    return c->state;
}

/* Plain TCP: one recv() into the idle engine buffer when it is empty. */
static long plain_peek(conn *c, const uint8_t **p)
{
    if (c->plain_off == c->plain_len) {
        c->plain_off = c->plain_len = 0;
        if (c->state != CONN_OPEN)
            return -1;
        for (;;) {
            ssize_t k = recv(c->fd, c->tls.iobuf, sizeof c->tls.iobuf, 0);
            if (k > 0) {
                c->plain_len = (size_t)k;
                break;
            }
            if (k == 0) {
                c->state = CONN_CLOSED;
                c->err.stage = c->open_stage;
                c->err.reason = NET_R_CLOSED;
                snprintf(c->err.text, sizeof c->err.text, "%s: %s:%u: peer closed the connection",
                         conn_stage_name(c->open_stage), c->host, c->port);
                close_fd(c);
                return -1;
            }
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            failf(c, c->open_stage, net_reason_of_errno(errno), errno, "recv: %s", strerror(errno));
            return -1;
        }
    }
    *p = c->tls.iobuf + c->plain_off;
    return (long)(c->plain_len - c->plain_off);
}

long conn_peek(conn *c, const uint8_t **p)
{
    long n;
    *p = NULL;
    c->view_len = 0;
    if (!c->use_tls) {
        n = plain_peek(c, p);
    } else {
        /* Decrypted bytes stay readable after a later failure: they were authentic.
         * When none are buffered, pump once: acknowledging application data may have
         * let the engine process a close_notify (or need to read the next record),
         * and the socket alone would not wake poll for that. */
        n = c->state == CONN_OPEN ? 0 : -1;
        for (int pass = 0; pass < 2 && c->tls_started && c->state != CONN_IDLE; pass++) {
            size_t len = tls_app_view(&c->tls, p);
            if (len > 0) {
                n = (long)len;
                break;
            }
            if (pass == 0 && c->state == CONN_OPEN)
                pump(c);
            n = c->state == CONN_OPEN ? 0 : -1;
        }
    }
    if (n > 0)
        c->view_len = (size_t)n;
    return n;
}

void conn_consume(conn *c, size_t n)
{
    if (n > c->view_len)
        n = c->view_len; /* nothing (left) to release, e.g. after conn_abort */
    if (n == 0)
        return;
    c->view_len -= n;
    c->bytes_in += n;
    if (c->use_tls)
        tls_app_ack(&c->tls, n);
    else
        c->plain_off += n;
}

long conn_read(conn *c, void *buf, size_t cap)
{
    const uint8_t *p;
    long n = conn_peek(c, &p);
    if (n <= 0)
        return n;
    if ((size_t)n > cap)
        n = (long)cap;
    memcpy(buf, p, (size_t)n);
    conn_consume(c, (size_t)n);
    return n;
}

long conn_write(conn *c, const void *data, size_t len)
{
    if (c->state != CONN_OPEN)
        return -1;
    if (c->use_tls) {
        size_t cap;
        if (!(tls_state(&c->tls) & TLS_ST_APP_OUT)) {
            pump(c);
            if (c->state != CONN_OPEN)
                return -1;
            if (!(tls_state(&c->tls) & TLS_ST_APP_OUT))
                return 0;
        }
        cap = tls_app_write(&c->tls, data, len);
        c->bytes_out += cap;
        pump(c);
        return c->state == CONN_OPEN || c->state == CONN_CLOSED ? (long)cap : -1;
    }
    for (;;) {
        ssize_t k = send(c->fd, data, len, MSG_NOSIGNAL);
        if (k >= 0) {
            c->bytes_out += (size_t)k;
            return (long)k;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        failf(c, c->open_stage, net_reason_of_errno(errno), errno, "send: %s", strerror(errno));
        return -1;
    }
}

int conn_write_pending(const conn *c)
{
    if (!c->use_tls || c->state != CONN_OPEN)
        return 0;
    return (tls_state(&c->tls) & TLS_ST_SENDREC) != 0;
}

void conn_close(conn *c)
{
    if (c->use_tls && c->fd >= 0 && (c->state == CONN_OPEN || c->state == CONN_HANDSHAKE))
        tls_close_notify(&c->tls, c->fd); /* one attempt to push the close_notify out */
    net_dns_cancel(&c->dns);
    close_fd(c);
    if (c->state != CONN_FAILED && c->state != CONN_IDLE) {
        if (c->state != CONN_CLOSED) {
            c->err.stage = cur_stage(c);
            c->err.reason = NET_R_CLOSED;
            snprintf(c->err.text, sizeof c->err.text, "%s:%u: closed by us", c->host, c->port);
        }
        c->state = CONN_CLOSED;
    }
}

void conn_abort(conn *c)
{
    net_dns_cancel(&c->dns);
    close_fd(c);
    c->state = CONN_IDLE;
    c->view_len = 0;
}
