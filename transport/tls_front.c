/*
 * tls_front.c -- TLS terminator threads (contract in tls_front.h).
 *
 * Each connection thread runs one loop over the four BearSSL pumps with non-blocking
 * sockets: records out to the client, plaintext out to civetweb, records in from the
 * client, plaintext in from civetweb; when none moves, it polls what it waits for,
 * in slices of at most WAIT_SLICE_MS so that a stop or a deadline is seen promptly.
 */
#include "transport/tls_front.h"

#include "transport/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define WAIT_SLICE_MS 200
#define CONN_STACK    (128u * 1024u)

struct tls_front {
    struct tls_front_config cfg;
    char backend[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int lfd, port;
    pthread_t acceptor;
    atomic_int stop;
    pthread_mutex_t mu; /* creds, active, the condition */
    pthread_cond_t idle;
    tls_creds *creds;
    unsigned active;
    _Atomic uint64_t accepted, refused, hs_fail, reloads, reload_fails;
};

struct tf_conn {
    struct tls_front *f;
    int fd, bfd;
    tls_creds *creds;
    char peer[64];
    tls_server_conn t;
};

static int64_t tf_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void tf_event(struct tls_front *f, enum tls_front_event ev, const char *peer, const char *d)
{
    if (f->cfg.on_event)
        f->cfg.on_event(f->cfg.user, ev, peer ? peer : "", d ? d : "");
}

static int tf_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* --- one connection ------------------------------------------------------------------- */

static int tf_backend(struct tf_conn *c)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    memcpy(sa.sun_path, c->f->backend, sizeof sa.sun_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || tf_nonblock(fd) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One non-blocking send (out) or recv: > 0 bytes moved, 0 would block, -1 closed or
 * failed. */
static ssize_t tf_io(int fd, int out, unsigned char *buf, size_t len)
{
    ssize_t k = out ? send(fd, buf, len, MSG_NOSIGNAL) : recv(fd, buf, len, 0);
    if (k > 0)
        return k;
    return k < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
}

/* The relay. Returns NULL on a clean end, else why it ended early. */
static const char *tf_run(struct tf_conn *c)
{
    br_ssl_engine_context *eng = &c->t.sc.eng;
    struct tls_front *f = c->f;
    int64_t start = tf_now_ms(), last = start;
    int handshaken = 0, b_eof = 0, closing = 0;
    for (;;) {
        unsigned st = br_ssl_engine_current_state(eng);
        int moved = 0, w_tls_in = 0, w_tls_out = 0, w_b_in = 0, w_b_out = 0;
        size_t len;
        unsigned char *buf;
        ssize_t k;
        if (st & BR_SSL_CLOSED)
            return NULL;
        if (b_eof && !(st & BR_SSL_SENDREC))
            return NULL; /* our close_notify is out; the client's reply is not awaited */
        if (!handshaken && (st & BR_SSL_SENDAPP)) {
            handshaken = 1;
            c->bfd = tf_backend(c);
            if (c->bfd < 0)
                return "cannot reach the HTTP server's socket";
        }
        if (st & BR_SSL_SENDREC) {
            buf = br_ssl_engine_sendrec_buf(eng, &len);
            if ((k = tf_io(c->fd, 1, buf, len)) > 0)
                br_ssl_engine_sendrec_ack(eng, (size_t)k);
            else if (k < 0)
                return "client gone";
            moved |= k > 0;
            w_tls_out = k == 0;
        }
        if ((st & BR_SSL_RECVAPP) && c->bfd >= 0 && !b_eof) {
            buf = br_ssl_engine_recvapp_buf(eng, &len);
            if ((k = tf_io(c->bfd, 1, buf, len)) > 0)
                br_ssl_engine_recvapp_ack(eng, (size_t)k);
            else if (k < 0)
                b_eof = 1; /* civetweb closed (after its answer) */
            moved |= k != 0;
            w_b_out = k == 0;
        }
        if (st & BR_SSL_RECVREC) {
            buf = br_ssl_engine_recvrec_buf(eng, &len);
            if ((k = tf_io(c->fd, 0, buf, len)) > 0)
                br_ssl_engine_recvrec_ack(eng, (size_t)k);
            else if (k < 0)
                return handshaken ? NULL : "client closed during the handshake";
            moved |= k > 0;
            w_tls_in = k == 0;
        }
        if ((st & BR_SSL_SENDAPP) && c->bfd >= 0 && !b_eof) {
            buf = br_ssl_engine_sendapp_buf(eng, &len);
            if ((k = tf_io(c->bfd, 0, buf, len)) > 0) {
                br_ssl_engine_sendapp_ack(eng, (size_t)k);
                br_ssl_engine_flush(eng, 0);
            } else if (k < 0) {
                b_eof = 1;
            }
            moved |= k != 0;
            w_b_in = k == 0;
        }
        if (b_eof && !closing) {
            br_ssl_engine_close(eng); /* close_notify to the client */
            closing = 1;
        }
        if (atomic_load_explicit(&f->stop, memory_order_relaxed))
            return "stopping"; /* even mid-response: shutdown does not wait for a download */
        int64_t now = tf_now_ms();
        if (moved) {
            last = now;
            continue;
        }
        int64_t left = handshaken ? last + f->cfg.idle_ms - now : start + f->cfg.handshake_ms - now;
        if (left <= 0)
            return handshaken ? "idle timeout" : "handshake timeout";
        struct pollfd p[2] = { { .fd = c->fd }, { .fd = c->bfd } };
        p[0].events = (short)((w_tls_in ? POLLIN : 0) | (w_tls_out ? POLLOUT : 0));
        p[1].events = (short)((w_b_in ? POLLIN : 0) | (w_b_out ? POLLOUT : 0));
        if (!p[0].events && !p[1].events)
            return "engine stalled"; /* nothing to wait for: a BearSSL state we do not expect */
        poll(p, c->bfd >= 0 ? 2 : 1, left < WAIT_SLICE_MS ? (int)left : WAIT_SLICE_MS);
    }
}

/* Closes a connection's sockets, lets go of its credentials and its slot. */
static void tf_conn_end(struct tf_conn *c)
{
    struct tls_front *f = c->f;
    if (c->bfd >= 0)
        close(c->bfd);
    close(c->fd);
    tls_creds_unref(c->creds);
    free(c);
    pthread_mutex_lock(&f->mu);
    if (--f->active == 0)
        pthread_cond_broadcast(&f->idle);
    pthread_mutex_unlock(&f->mu);
}

/* Why a handshake failed, seen from the server (tls_error_text speaks as a client). */
static const char *tf_reason(int err, char *b, size_t cap)
{
    if (err >= BR_ERR_RECV_FATAL_ALERT && err < BR_ERR_SEND_FATAL_ALERT) {
        snprintf(b, cap, "client sent fatal alert %d (e.g. it does not trust our certificate)",
                 err - BR_ERR_RECV_FATAL_ALERT);
        return b;
    }
    switch (err) {
    case BR_ERR_UNSUPPORTED_VERSION: return "client does not speak TLS 1.2 (or not TLS at all)";
    case BR_ERR_BAD_CIPHER_SUITE: return "no cipher suite in common";
    case BR_ERR_NO_CLIENT_AUTH: return "client sent no certificate";
    case BR_ERR_X509_NOT_TRUSTED: return "client certificate not signed by client_ca_file";
    case BR_ERR_X509_EXPIRED: return "client certificate expired or not yet valid";
    default: return tls_error_text(err, b, cap);
    }
}

static void *tf_conn_main(void *arg)
{
    struct tf_conn *c = arg;
    struct tls_front *f = c->f;
    const char *why = NULL;
    int rc = tls_server_start(&c->t, c->creds);
    if (rc) {
        char b[96];
        why = tf_reason(rc, b, sizeof b);
        tf_event(f, TLS_FRONT_HANDSHAKE_FAILED, c->peer, why);
    } else {
        int handshaken;
        why = tf_run(c);
        handshaken = c->bfd >= 0;
        int err = br_ssl_engine_last_error(&c->t.sc.eng);
        if (!handshaken && (why || err)) {
            char b[96], d[160];
            snprintf(d, sizeof d, "%s", err ? tf_reason(err, b, sizeof b) : why);
            atomic_fetch_add(&f->hs_fail, 1);
            tf_event(f, TLS_FRONT_HANDSHAKE_FAILED, c->peer, d);
        }
    }
    tf_conn_end(c);
    return NULL;
}

/* --- accept ------------------------------------------------------------------------------ */

static void tf_peer(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const void *)ss;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
        port = ntohs(s4->sin_port);
        snprintf(out, cap, "%s:%u", ip, port);
    } else {
        const struct sockaddr_in6 *s6 = (const void *)ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
        port = ntohs(s6->sin6_port);
        snprintf(out, cap, "[%s]:%u", ip, port);
    }
}

static void tf_maybe_reload(struct tls_front *f, int64_t *next_check)
{
    int64_t now = tf_now_ms();
    if (!f->cfg.reload || now < *next_check)
        return;
    *next_check = now + 1000;
    pthread_mutex_lock(&f->mu);
    tls_creds *cur = f->creds;
    tls_creds_ref(cur);
    pthread_mutex_unlock(&f->mu);
    if (tls_creds_stale(cur)) {
        char err[512];
        tls_creds *n = f->cfg.reload(f->cfg.user, err, sizeof err);
        if (n) {
            tls_front_set_creds(f, n);
            tls_creds_unref(n);
            atomic_fetch_add(&f->reloads, 1);
            tf_event(f, TLS_FRONT_RELOADED, NULL, NULL);
        } else {
            /* files caught half-written settle soon; broken ones are retried (and
             * reported) every 5 s, not every second */
            atomic_fetch_add(&f->reload_fails, 1);
            tf_event(f, TLS_FRONT_RELOAD_FAILED, NULL, err);
            *next_check = now + 5000;
        }
    }
    tls_creds_unref(cur);
}

static void *tf_accept_main(void *arg)
{
    struct tls_front *f = arg;
    int64_t next_check = tf_now_ms() + 1000;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, CONN_STACK);
    while (!atomic_load(&f->stop)) {
        struct pollfd p = { .fd = f->lfd, .events = POLLIN };
        tf_maybe_reload(f, &next_check);
        if (poll(&p, 1, WAIT_SLICE_MS) <= 0)
            continue;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        memset(&ss, 0, sizeof ss); /* the analyzer does not know that accept4 fills it */
        int fd = accept4(f->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        atomic_fetch_add(&f->accepted, 1);
        struct tf_conn *c = NULL;
        pthread_mutex_lock(&f->mu);
        if (f->active < f->cfg.max_conns && (c = malloc(sizeof *c)) != NULL) {
            f->active++;
            c->creds = f->creds;
            tls_creds_ref(c->creds);
        }
        pthread_mutex_unlock(&f->mu);
        char peer[64];
        tf_peer(&ss, peer, sizeof peer);
        if (!c) {
            close(fd);
            atomic_fetch_add(&f->refused, 1);
            tf_event(f, TLS_FRONT_REFUSED, peer, "connection limit reached");
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->f = f;
        c->fd = fd;
        c->bfd = -1;
        memcpy(c->peer, peer, sizeof peer);
        pthread_t th;
        if (pthread_create(&th, &attr, tf_conn_main, c) != 0) {
            tf_conn_end(c);
            atomic_fetch_add(&f->refused, 1);
            tf_event(f, TLS_FRONT_REFUSED, peer, "cannot start a thread");
        }
    }
    pthread_attr_destroy(&attr);
    return NULL;
}

/* --- start / stop -------------------------------------------------------------------- */

static int tf_listen(const char *spec, int *port, char *err, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    char host[128] = "";
    const char *colon = strrchr(spec, ':');
    unsigned long p = strtoul(colon ? colon + 1 : spec, NULL, 10);
    memset(&ss, 0, sizeof ss);
    if (colon) {
        size_t hl = (size_t)(colon - spec);
        if (hl >= sizeof host)
            hl = sizeof host - 1;
        memcpy(host, spec, hl);
        host[hl] = 0;
    }
    if (host[0] == '[') {
        struct sockaddr_in6 *s6 = (void *)&ss;
        host[strlen(host) - 1] = 0;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)p);
        if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
            goto bad;
        sl = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (void *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)p);
        if (host[0] ? inet_pton(AF_INET, host, &s4->sin_addr) != 1 : 0)
            goto bad;
        if (!host[0])
            s4->sin_addr.s_addr = htonl(INADDR_ANY);
        sl = sizeof *s4;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;
    if (fd < 0) {
        snprintf(err, cap, "socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 128) != 0) {
        snprintf(err, cap, "cannot serve on %s: %s", spec, strerror(errno));
        close(fd);
        return -1;
    }
    sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                          : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return fd;
bad:
    snprintf(err, cap, "cannot serve on %s: not an address", spec);
    return -1;
}

struct tls_front *tls_front_start(const struct tls_front_config *cfg, tls_creds *creds, char *err,
                                  size_t errcap)
{
    struct tls_front *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    f->cfg = *cfg;
    if (!f->cfg.max_conns)
        f->cfg.max_conns = 128;
    if (!f->cfg.handshake_ms)
        f->cfg.handshake_ms = 5000;
    if (!f->cfg.idle_ms)
        f->cfg.idle_ms = 10000;
    if (strlen(cfg->backend) >= sizeof f->backend) {
        /* the path's start is enough to recognise it (an unbounded %s does not build
         * on 32-bit targets: the length could pass INT_MAX) */
        snprintf(err, errcap, "socket path too long: %.200s...", cfg->backend);
        free(f);
        return NULL;
    }
    snprintf(f->backend, sizeof f->backend, "%s", cfg->backend);
    f->lfd = tf_listen(cfg->listen, &f->port, err, errcap);
    if (f->lfd < 0) {
        free(f);
        return NULL;
    }
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->idle, NULL);
    f->creds = creds;
    tls_creds_ref(creds);
    if (pthread_create(&f->acceptor, NULL, tf_accept_main, f) != 0) {
        snprintf(err, errcap, "cannot start the TLS accept thread");
        close(f->lfd);
        tls_creds_unref(creds);
        free(f);
        return NULL;
    }
    return f;
}

int tls_front_port(const struct tls_front *f)
{
    return f ? f->port : -1;
}

void tls_front_set_creds(struct tls_front *f, tls_creds *creds)
{
    tls_creds_ref(creds);
    pthread_mutex_lock(&f->mu);
    tls_creds *old = f->creds;
    f->creds = creds;
    pthread_mutex_unlock(&f->mu);
    tls_creds_unref(old);
}

void tls_front_stats(const struct tls_front *f, struct tls_front_stats *out)
{
    struct tls_front *m = (struct tls_front *)f;
    out->accepted = atomic_load(&m->accepted);
    out->refused = atomic_load(&m->refused);
    out->handshake_failures = atomic_load(&m->hs_fail);
    out->reloads = atomic_load(&m->reloads);
    out->reload_failures = atomic_load(&m->reload_fails);
    pthread_mutex_lock(&m->mu);
    out->active = m->active;
    pthread_mutex_unlock(&m->mu);
}

void tls_front_stop(struct tls_front *f)
{
    if (!f)
        return;
    atomic_store(&f->stop, 1);
    pthread_join(f->acceptor, NULL);
    close(f->lfd);
    pthread_mutex_lock(&f->mu);
    while (f->active)
        pthread_cond_wait(&f->idle, &f->mu);
    pthread_mutex_unlock(&f->mu);
    tls_creds_unref(f->creds);
    pthread_cond_destroy(&f->idle);
    pthread_mutex_destroy(&f->mu);
    free(f);
}
