/*
 * net.h -- sockets for the poll loop: asynchronous DNS, non-blocking connect, socket
 * options, the monotonic clock, OS randomness, and the failure reasons every
 * transport module reports.
 *
 * Threading: everything here is called from the event-loop thread. The only other
 * thread is the DNS helper (see net_dns_start); it touches nothing but its own slot.
 */
#ifndef IOTPRO_TRANSPORT_NET_H
#define IOTPRO_TRANSPORT_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/limits.h"

/*
 * Why a connection attempt or an open connection failed: a small closed set, so it can
 * be a metric label (net_reason_name gives the label). The free-text cause, with
 * details such as the alert number or errno text, is in conn_error's text.
 */
typedef enum {
    NET_R_NONE = 0,
    NET_R_DNS,                  /* name does not resolve (EAI_NONAME, EAI_NODATA...) */
    NET_R_DNS_TEMPORARY,        /* EAI_AGAIN / resolver failure: retry with backoff */
    NET_R_REFUSED,              /* ECONNREFUSED on every address */
    NET_R_UNREACHABLE,          /* ENETUNREACH / EHOSTUNREACH */
    NET_R_TIMEOUT,              /* a deadline passed (dns, connect, handshake, request) */
    NET_R_RESET,                /* ECONNRESET / EPIPE */
    NET_R_IO,                   /* other socket error */
    NET_R_CLOSED,               /* peer closed cleanly (FIN, or TLS close_notify) */
    NET_R_TRUNCATED,            /* TLS: EOF without close_notify -- an abnormal end */
    NET_R_TLS_UNKNOWN_CA,       /* chain does not lead to a loaded anchor (BearSSL 62) */
    NET_R_TLS_BAD_NAME,         /* certificate not valid for the host name (56) */
    NET_R_TLS_EXPIRED,          /* expired or not yet valid (54) */
    NET_R_TLS_CERT_TIME,        /* 54/53 while our own clock looks wrong (before 2024) */
    NET_R_TLS_BAD_CERT,         /* other certificate problem (decoding, key, usage...) */
    NET_R_TLS_PROTOCOL_VERSION, /* no TLS 1.2: alert 70 received, or server chose 1.0/1.1/1.3 */
    NET_R_TLS_HANDSHAKE,        /* no common suite/curve: alert 40, bad cipher suite */
    NET_R_TLS_ALERT,            /* another fatal alert received (number in the text) */
    NET_R_TLS_NOT_TLS,          /* the peer does not speak TLS (e.g. plain HTTP) */
    NET_R_TLS_PROTOCOL,         /* other TLS protocol violation */
    NET_R_TLS_CONFIG,           /* local problem: no randomness, bad host name, IP host */
    NET_R_HTTP,                 /* bad HTTP response (see httpc) */
    NET_R_LIMIT,                /* a configured limit was exceeded */
    NET_R_RESOURCE,             /* out of fds / resolver slots */
    NET_R_COUNT
} net_reason;

/* Metric-label name of a reason, e.g. "tls_unknown_ca"; static string. */
const char *net_reason_name(net_reason r);

/* Monotonic milliseconds (CLOCK_MONOTONIC); only differences are meaningful. */
int64_t net_now_ms(void);
/* Unix time in milliseconds (CLOCK_REALTIME): for timestamps shown to people. */
int64_t net_wall_ms(void);

/* n bytes from the OS CSPRNG (getrandom). Returns 0, or -1 when the OS has none
 * (then errno is set). For WebSocket mask keys and Sec-WebSocket-Key. */
int net_random(void *buf, size_t n);

/* ---- asynchronous DNS ------------------------------------------------------------ */
/*
 * getaddrinfo blocks (up to resolv.conf's timeout x attempts, ~10 s by default), and
 * REST reconnects resolve while the WebSocket is streaming on the same thread, so the
 * look-up runs on a short-lived detached helper thread. The caller polls an eventfd
 * that becomes readable when the answer is in, and enforces its own deadline; a
 * look-up that overruns is abandoned (the thread frees its slot when getaddrinfo
 * finally returns). Slots are a fixed pool of LIM_NET_RESOLVERS: a resolver hung
 * on every slot makes new look-ups fail fast with NET_R_RESOURCE, never pile up.
 */
typedef struct {
    struct sockaddr_storage addr[LIM_NET_ADDRS];
    socklen_t len[LIM_NET_ADDRS];
    size_t n;
} net_addrs;

typedef struct {
    int slot; /* -1 when idle */
} net_dns;

#define NET_DNS_INIT \
    {                \
        -1           \
    }

/* Starts resolving host:port (TCP, IPv4 and IPv6). Returns 0, or -1 with err filled
 * (NET_R_RESOURCE: no slot/thread/eventfd; NET_R_DNS: host too long or empty). */
int net_dns_start(net_dns *d, const char *host, unsigned port, net_reason *why, char *err,
                  size_t errcap);
/* The fd to poll for POLLIN while the look-up runs; -1 when idle. */
int net_dns_fd(const net_dns *d);
/*
 * Collects the answer: returns 0 while still running, 1 with out filled (n >= 1),
 * or -1 with *why (NET_R_DNS, NET_R_DNS_TEMPORARY) and err filled. After 1 or -1
 * the net_dns is idle again.
 */
int net_dns_result(net_dns *d, net_addrs *out, net_reason *why, char *err, size_t errcap);
/* Abandons a running look-up (idempotent). */
void net_dns_cancel(net_dns *d);

/* ---- sockets --------------------------------------------------------------------- */

/* Non-blocking, close-on-exec TCP socket connecting to sa. Returns the fd with
 * *in_progress set (1: wait for POLLOUT then net_connect_result), or -1 with errno. */
int net_connect_start(const struct sockaddr *sa, socklen_t len, int *in_progress);
/* After POLLOUT: 0 connected, else the errno of the failed connect. */
int net_connect_result(int fd);

/* SO_KEEPALIVE with idle/interval/count probes, TCP_NODELAY, and TCP_USER_TIMEOUT
 * (sent data unacknowledged for user_timeout_ms kills the connection: catches a peer
 * that vanished while we write). Failures are ignored: these are optimisations. */
void net_tune(int fd, int keepidle_s, int keepintvl_s, int keepcnt, unsigned user_timeout_ms);

/* Classifies an errno from connect/send/recv. */
net_reason net_reason_of_errno(int e);

/* "1.2.3.4:443" or "[::1]:443" into buf (always NUL-terminated). */
const char *net_addr_str(const struct sockaddr *sa, char *buf, size_t cap);

#endif
