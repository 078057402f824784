/*
 * net.c -- DNS on helper threads, non-blocking connect, socket tuning, clock and
 * randomness for the transport layer. See net.h for why DNS is threaded.
 */
#include "transport/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static const char *const reason_names[NET_R_COUNT] = {
    [NET_R_NONE] = "none",
    [NET_R_DNS] = "dns",
    [NET_R_DNS_TEMPORARY] = "dns_temporary",
    [NET_R_REFUSED] = "refused",
    [NET_R_UNREACHABLE] = "unreachable",
    [NET_R_TIMEOUT] = "timeout",
    [NET_R_RESET] = "reset",
    [NET_R_IO] = "io",
    [NET_R_CLOSED] = "closed",
    [NET_R_TRUNCATED] = "truncated",
    [NET_R_TLS_UNKNOWN_CA] = "tls_unknown_ca",
    [NET_R_TLS_BAD_NAME] = "tls_bad_name",
    [NET_R_TLS_EXPIRED] = "tls_expired",
    [NET_R_TLS_CERT_TIME] = "tls_cert_time",
    [NET_R_TLS_BAD_CERT] = "tls_bad_cert",
    [NET_R_TLS_PROTOCOL_VERSION] = "tls_protocol_version",
    [NET_R_TLS_HANDSHAKE] = "tls_handshake_failure",
    [NET_R_TLS_ALERT] = "tls_alert",
    [NET_R_TLS_NOT_TLS] = "tls_not_tls",
    [NET_R_TLS_PROTOCOL] = "tls_protocol",
    [NET_R_TLS_CONFIG] = "tls_config",
    [NET_R_HTTP] = "http",
    [NET_R_LIMIT] = "limit",
    [NET_R_RESOURCE] = "resource",
};

const char *net_reason_name(net_reason r)
{
    return (unsigned)r < NET_R_COUNT && reason_names[r] ? reason_names[r] : "unknown";
}

int64_t net_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t net_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int net_random(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t k = getrandom(p, n, 0);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* ---- DNS ----------------------------------------------------------------------- */

enum { SLOT_FREE = 0, SLOT_RUNNING, SLOT_DONE, SLOT_ABANDONED };

typedef struct {
    int state;
    int efd;
    char host[LIM_HOST_BYTES + 1];
    char port[8];
    int gai_err, sys_errno;
    net_addrs res;
} dns_slot;

static pthread_mutex_t dns_lock = PTHREAD_MUTEX_INITIALIZER;
static dns_slot slots[LIM_NET_RESOLVERS];

static void *dns_thread(void *arg)
{
    dns_slot *s = arg;
    struct addrinfo hints, *ai = NULL, *p;
    net_addrs res;
    int rc, e;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = AI_NUMERICSERV;
    /* host/port are only written by the owner before the thread starts */
    rc = getaddrinfo(s->host, s->port, &hints, &ai);
    e = errno;
    res.n = 0;
    for (p = rc == 0 ? ai : NULL; p && res.n < LIM_NET_ADDRS; p = p->ai_next) {
        if (p->ai_addrlen > sizeof res.addr[0])
            continue;
        memcpy(&res.addr[res.n], p->ai_addr, p->ai_addrlen);
        res.len[res.n++] = p->ai_addrlen;
    }
    if (ai)
        freeaddrinfo(ai);

    pthread_mutex_lock(&dns_lock);
    if (s->state == SLOT_ABANDONED) {
        close(s->efd);
        s->state = SLOT_FREE;
    } else {
        uint64_t one = 1;
        s->gai_err = rc;
        s->sys_errno = e;
        s->res = res;
        s->state = SLOT_DONE;
        if (write(s->efd, &one, sizeof one) < 0) {
            /* cannot fail for an eventfd below its maximum; the owner also checks
             * the state on its deadline, so a lost wake-up only delays it */
        }
    }
    pthread_mutex_unlock(&dns_lock);
    return NULL;
}

int net_dns_start(net_dns *d, const char *host, unsigned port, net_reason *why, char *err,
                  size_t errcap)
{
    pthread_attr_t attr;
    pthread_t th;
    dns_slot *s = NULL;
    size_t i, hl = host ? strlen(host) : 0;

    net_dns_cancel(d);
    if (hl == 0 || hl > LIM_HOST_BYTES) {
        *why = NET_R_DNS;
        snprintf(err, errcap, "dns: host name empty or longer than %u bytes", LIM_HOST_BYTES);
        return -1;
    }
    pthread_mutex_lock(&dns_lock);
    for (i = 0; i < LIM_NET_RESOLVERS; i++)
        if (slots[i].state == SLOT_FREE) {
            s = &slots[i];
            break;
        }
    if (s) {
        s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (s->efd < 0)
            s = NULL;
        else
            s->state = SLOT_RUNNING;
    }
    pthread_mutex_unlock(&dns_lock);
    if (!s) {
        *why = NET_R_RESOURCE;
        snprintf(err, errcap, "dns: no free resolver (all %u busy or no eventfd)",
                 LIM_NET_RESOLVERS);
        return -1;
    }
    memcpy(s->host, host, hl + 1);
    snprintf(s->port, sizeof s->port, "%u", port & 0xffff);

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &attr, dns_thread, s) != 0) {
        pthread_attr_destroy(&attr);
        pthread_mutex_lock(&dns_lock);
        close(s->efd);
        s->state = SLOT_FREE;
        pthread_mutex_unlock(&dns_lock);
        *why = NET_R_RESOURCE;
        snprintf(err, errcap, "dns: cannot start resolver thread");
        return -1;
    }
    pthread_attr_destroy(&attr);
    d->slot = (int)(s - slots);
    return 0;
}

int net_dns_fd(const net_dns *d)
{
    return d->slot < 0 ? -1 : slots[d->slot].efd;
}

int net_dns_result(net_dns *d, net_addrs *out, net_reason *why, char *err, size_t errcap)
{
    dns_slot *s;
    int rc, gai, se;
    const char *host;

    if (d->slot < 0) {
        *why = NET_R_DNS;
        snprintf(err, errcap, "dns: no look-up in progress");
        return -1;
    }
    s = &slots[d->slot];
    pthread_mutex_lock(&dns_lock);
    if (s->state != SLOT_DONE) {
        pthread_mutex_unlock(&dns_lock);
        return 0;
    }
    gai = s->gai_err;
    se = s->sys_errno;
    *out = s->res;
    host = s->host;
    rc = gai == 0 && out->n > 0 ? 1 : -1;
    if (rc < 0) {
        if (gai == EAI_AGAIN || gai == EAI_FAIL || (gai == EAI_SYSTEM && se != 0))
            *why = NET_R_DNS_TEMPORARY;
        else
            *why = NET_R_DNS;
        snprintf(err, errcap, "dns: %s: %s", host,
                 gai == 0            ? "no addresses"
                 : gai == EAI_SYSTEM ? strerror(se)
                                     : gai_strerror(gai));
    }
    close(s->efd);
    s->state = SLOT_FREE;
    pthread_mutex_unlock(&dns_lock);
    d->slot = -1;
    return rc;
}

void net_dns_cancel(net_dns *d)
{
    dns_slot *s;
    if (d->slot < 0)
        return;
    s = &slots[d->slot];
    pthread_mutex_lock(&dns_lock);
    if (s->state == SLOT_DONE) {
        close(s->efd);
        s->state = SLOT_FREE;
    } else if (s->state == SLOT_RUNNING) {
        s->state = SLOT_ABANDONED; /* the thread frees it */
    }
    pthread_mutex_unlock(&dns_lock);
    d->slot = -1;
}

/* ---- sockets --------------------------------------------------------------------- */

int net_connect_start(const struct sockaddr *sa, socklen_t len, int *in_progress)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    *in_progress = 0;
    if (fd < 0)
        return -1;
    if (connect(fd, sa, len) == 0)
        return fd;
    if (errno == EINPROGRESS || errno == EINTR) {
        *in_progress = 1;
        return fd;
    }
    {
        int e = errno;
        close(fd);
        errno = e;
    }
    return -1;
}

int net_connect_result(int fd)
{
    int e = 0;
    socklen_t l = sizeof e;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0)
        return errno;
    return e;
}

void net_tune(int fd, int keepidle_s, int keepintvl_s, int keepcnt, unsigned user_timeout_ms)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &keepidle_s, sizeof keepidle_s);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &keepintvl_s, sizeof keepintvl_s);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &keepcnt, sizeof keepcnt);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof user_timeout_ms);
}

net_reason net_reason_of_errno(int e)
{
    switch (e) {
    case ECONNREFUSED: return NET_R_REFUSED;
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ENETDOWN:
    case EADDRNOTAVAIL: return NET_R_UNREACHABLE;
    case ETIMEDOUT: return NET_R_TIMEOUT;
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED: return NET_R_RESET;
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM: return NET_R_RESOURCE;
    default: return NET_R_IO;
    }
}

const char *net_addr_str(const struct sockaddr *sa, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
        snprintf(buf, cap, "%s:%u", ip, ntohs(s4->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
        snprintf(buf, cap, "[%s]:%u", ip, ntohs(s6->sin6_port));
    } else
        snprintf(buf, cap, "(family %d)", sa->sa_family);
    return buf;
}
