/*
 * sim_conn.c -- one accepted connection: socket <-> (BearSSL engine) <-> plaintext
 * buffers, and the dispatch of plaintext to HTTP, WebSocket or control handlers.
 *
 * Non-blocking throughout; sim_main.c's poll loop calls sim_conn_pump() with what poll
 * reported. Faults that live at this layer: stall (touch nothing), drop after a partial
 * frame (close once `out` is flushed), drop in the middle of a TLS record (write half
 * of the next record, then close), delayed REST replies, and no-read (keep sending,
 * read nothing: the client's send buffer fills).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/sim/sim.h"

#define IN_MAX      (SIM_HTTP_MAX_HEAD + SIM_HTTP_MAX_BODY + 4096)
#define PLAIN_CHUNK 65536

sim_conn *sim_conn_new(int fd, sim_conn_kind kind, int tls)
{
    sim_conn *c = calloc(1, sizeof *c);
    c->fd = fd;
    c->id = ++sim.next_conn_id;
    c->kind = kind;
    c->state = SIM_CS_HTTP;
    c->tls = tls;
    if (tls) {
        c->sc = malloc(sizeof *c->sc);
        c->iobuf = malloc(BR_SSL_BUFSIZE_BIDI);
        sim_tls_server_init(c->sc, c->iobuf, BR_SSL_BUFSIZE_BIDI);
    }
    return c;
}

void sim_conn_free(sim_conn *c)
{
    if (c->ws)
        sim_ws_free(c->ws);
    if (c->fd >= 0)
        close(c->fd);
    free(c->sc);
    free(c->iobuf);
    free(c->stream);
    sim_buf_free(&c->in);
    sim_buf_free(&c->out);
    sim_buf_free(&c->delayed);
    sim_outq_free(c);
    free(c);
}

void sim_conn_close_now(sim_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->state = SIM_CS_DEAD;
}

/* The transport ended: tell the WebSocket codec (for stats), then forget the conn. */
static void eof(sim_conn *c)
{
    if (c->ws)
        ws_eof(&c->ws->ws);
    sim_conn_close_now(c);
}

/* Handles complete requests in c->in. */
static void dispatch(sim_conn *c)
{
    while (c->state == SIM_CS_HTTP && c->in.len && !c->delay_until) {
        sim_req req;
        int r = sim_http_parse(c->in.p, c->in.len, &req);
        if (r == 0)
            break;
        if (r < 0) {
            sim_http_tb_error(&c->out, r == -2 ? 413 : 400,
                              r == -2 ? "Request too large" : "Bad request", 31, 1);
            c->state = SIM_CS_DRAIN;
            break;
        }
        if (c->kind == SIM_CK_API && req.upgrade) {
            /* The codec parses the request itself (and answers 400 if it is bad). */
            c->ws = sim_ws_open(c, &req);
            break;
        }
        sim_buf reply = { 0 };
        if (c->kind == SIM_CK_CONTROL)
            sim_ctl_handle(c, &req, &reply);
        else
            sim_rest_handle(c, &req, &reply);
        sim_buf_consume(&c->in, req.head_len + req.body_len);
        if (c->delay_until)
            sim_buf_put(&c->delayed, reply.p, reply.len);
        else
            sim_buf_put(&c->out, reply.p, reply.len);
        sim_buf_free(&reply);
        if (req.close && !c->stream)
            c->state = SIM_CS_DRAIN;
    }
    if (c->state == SIM_CS_WS && c->ws)
        sim_ws_input(c->ws);
}

/* Output producers that run while there is room: /truth streaming. */
static void produce(sim_conn *c)
{
    if (c->stream && c->out.len < 65536 && !sim_ctl_stream_more(c) && c->state == SIM_CS_HTTP)
        c->state = SIM_CS_DRAIN;
}

static int flooding(const sim_conn *c)
{
    return c->ws && c->ws->flood && c->state == SIM_CS_WS && c->ws->st == SIM_WS_READY;
}

static void pump_plain(sim_conn *c, int readable, int writable)
{
    if (readable) {
        char tmp[PLAIN_CHUNK];
        ssize_t n = read(c->fd, tmp, sizeof tmp);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            eof(c);
            return;
        }
        if (n > 0) {
            sim_buf_put(&c->in, tmp, (size_t)n);
            dispatch(c);
            writable = 1; /* reply at once, as pump_tls does; EAGAIN stops the loop */
        }
    }
    produce(c);
    if (flooding(c) && c->out.len < PLAIN_CHUNK) {
        sim_buf_reserve(&c->out, 4 * PLAIN_CHUNK);
        c->out.len +=
            sim_flood_fill(c->ws, (unsigned char *)c->out.p + c->out.len, 4 * PLAIN_CHUNK);
    }
    while (writable && c->out.len && c->fd >= 0) {
        ssize_t n = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                eof(c);
            break;
        }
        sim_buf_consume(&c->out, (size_t)n);
        sim_outq_done(c, (size_t)n);
        c->out_stuck_since = 0;
        produce(c);
    }
}

static void pump_tls(sim_conn *c, int readable, int writable)
{
    br_ssl_engine_context *eng = &c->sc->eng;
    for (int progress = 1; progress && c->fd >= 0;) {
        progress = 0;
        unsigned st = br_ssl_engine_current_state(eng);
        if (st & BR_SSL_CLOSED) {
            sim_conn_close_now(c);
            return;
        }
        size_t len;
        unsigned char *buf;
        if ((st & BR_SSL_SENDREC) && writable) {
            buf = br_ssl_engine_sendrec_buf(eng, &len);
            size_t want = c->drop_mid_record && len > 1 ? len / 2 : len;
            ssize_t n = send(c->fd, buf, want, MSG_NOSIGNAL);
            if (n > 0) {
                if (c->drop_mid_record) {
                    sim_conn_close_now(c);
                    return;
                }
                br_ssl_engine_sendrec_ack(eng, (size_t)n);
                c->out_stuck_since = 0;
                progress = 1;
            } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                eof(c);
                return;
            } else {
                writable = 0; /* socket full: still read below */
                progress = 1;
            }
            continue;
        }
        if (st & BR_SSL_RECVAPP) {
            buf = br_ssl_engine_recvapp_buf(eng, &len);
            sim_buf_put(&c->in, buf, len);
            br_ssl_engine_recvapp_ack(eng, len);
            dispatch(c);
            /* Send what this input produced before reading more, whatever poll said
             * (send() says EAGAIN if the socket is full): otherwise a burst of commands
             * is all answered before the first reply leaves, which ThingsBoard, whose
             * replies go out while later commands are still being handled, never does. */
            if (c->out.len)
                writable = 1;
            progress = 1;
            continue;
        }
        if (st & BR_SSL_SENDAPP) {
            produce(c);
            buf = br_ssl_engine_sendapp_buf(eng, &len);
            size_t n = 0;
            if (c->out.len) {
                n = c->out.len < len ? c->out.len : len;
                memcpy(buf, c->out.p, n);
                sim_buf_consume(&c->out, n);
                sim_outq_done(c, n);
            } else if (flooding(c)) {
                /* whole frames; the record is flushed below after every fill, so an
                 * empty record always has room for one */
                n = sim_flood_fill(c->ws, buf, len);
            }
            if (n) {
                br_ssl_engine_sendapp_ack(eng, n);
                if (c->out.len == 0)
                    br_ssl_engine_flush(eng, 0);
                progress = 1;
                continue;
            }
        }
        if ((st & BR_SSL_RECVREC) && readable) {
            buf = br_ssl_engine_recvrec_buf(eng, &len);
            ssize_t n = read(c->fd, buf, len);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                eof(c);
                return;
            }
            if (n > 0) {
                br_ssl_engine_recvrec_ack(eng, (size_t)n);
                progress = 1;
            } else {
                readable = 0;
            }
        }
    }
}

static int reading_paused(const sim_conn *c)
{
    return c->no_read_until && sim_mono_ms() < c->no_read_until;
}

void sim_conn_pump(sim_conn *c, int readable, int writable)
{
    if (c->state == SIM_CS_DEAD || c->stalled)
        return;
    if (c->in.len > IN_MAX || reading_paused(c))
        readable = 0; /* the handler is behind (or no-read): let TCP push back */
    if (c->tls)
        pump_tls(c, readable, writable);
    else
        pump_plain(c, readable, writable);
    if (c->state == SIM_CS_DEAD || c->fd < 0)
        return;
    int flushed = c->out.len == 0 && !c->delay_until && !c->stream &&
                  (!c->tls || !(br_ssl_engine_current_state(&c->sc->eng) & BR_SSL_SENDREC));
    if (flushed && c->drop_after_out) {
        sim_conn_close_now(c);
        return;
    }
    if (flushed && c->state == SIM_CS_DRAIN) {
        if (c->tls) {
            /* Send close_notify, but do not wait for the peer's: a server closes TCP once
             * its own alert is out (BearSSL would otherwise wait in RECVREC forever). */
            br_ssl_engine_close(&c->sc->eng);
            if (br_ssl_engine_current_state(&c->sc->eng) & BR_SSL_SENDREC)
                pump_tls(c, 0, 1);
            if (c->fd < 0 || (br_ssl_engine_current_state(&c->sc->eng) & BR_SSL_SENDREC))
                return; /* gone, or the socket is full: finish on POLLOUT */
        }
        shutdown(c->fd, SHUT_WR);
        sim_conn_close_now(c);
    }
}

short sim_conn_events(const sim_conn *c)
{
    if (c->stalled || c->fd < 0)
        return 0;
    short ev = 0;
    if (c->in.len <= IN_MAX && !reading_paused(c))
        ev |= POLLIN;
    if (c->tls) {
        unsigned st = br_ssl_engine_current_state(&c->sc->eng);
        if (st & BR_SSL_SENDREC)
            ev |= POLLOUT;
        if ((st & BR_SSL_SENDAPP) && (c->out.len || flooding(c) || c->stream))
            ev |= POLLOUT; /* pump again: the engine takes more */
    } else if (c->out.len || flooding(c) || c->stream) {
        ev |= POLLOUT;
    }
    return ev;
}
