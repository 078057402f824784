/*
 * tls.c -- trust anchors from PEM, the BearSSL client engine set-up, and error names.
 *
 * Anchor loading streams the file through BearSSL's PEM decoder into a fixed DER
 * buffer, decodes each certificate, and copies its subject DN and public key into a
 * fixed pool: BearSSL's decoder contexts are reused per certificate, so nothing may
 * point into them afterwards. No heap, bounded by LIM_TLS_* (see core/limits.h).
 */
#include "transport/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

const char *const tls_default_ca_files[] = {
    "/etc/ssl/certs/ca-certificates.crt",                /* Debian, Ubuntu, Alpine, Arch */
    "/etc/pki/tls/certs/ca-bundle.crt",                  /* Fedora, RHEL, CentOS */
    "/etc/ssl/ca-bundle.pem",                            /* openSUSE */
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* RHEL 7+ */
    "/etc/ssl/cert.pem",                                 /* Alpine, macOS-like layouts */
    NULL,
};

/* ---- anchors ------------------------------------------------------------------------ */

typedef struct {
    tls_anchors *a;
    br_pem_decoder_context pc;
    br_x509_decoder_context dc;
    unsigned char der[LIM_TLS_CERT_DER];
    size_t der_len;
    int der_overflow;
    int in_cert;
    int objects, certs;
    size_t dn_start;
    int pool_overflow;
    int err;
} loader;

static void collect_der(void *ctx, const void *buf, size_t len)
{
    loader *l = ctx;
    if (len > sizeof l->der - l->der_len) {
        l->der_overflow = 1;
        return;
    }
    memcpy(l->der + l->der_len, buf, len);
    l->der_len += len;
}

/* Copies into the pool; returns the copy or NULL (and flags overflow). */
static unsigned char *pool_put(loader *l, const void *p, size_t n)
{
    tls_anchors *a = l->a;
    unsigned char *dst;
    if (n > sizeof a->pool - a->pool_len) {
        l->pool_overflow = 1;
        return NULL;
    }
    dst = a->pool + a->pool_len;
    memcpy(dst, p, n);
    a->pool_len += n;
    return dst;
}

static void collect_dn(void *ctx, const void *buf, size_t len)
{
    (void)pool_put(ctx, buf, len);
}

/* Decodes l->der into one more anchor. Undecodable certificates are skipped and
 * counted (a bundle may hold keys BearSSL does not support); limits are errors. */
static void add_anchor(loader *l)
{
    tls_anchors *a = l->a;
    br_x509_trust_anchor *ta;
    const br_x509_pkey *pk;
    size_t mark = a->pool_len;

    l->certs++;
    if (l->der_overflow) {
        a->skipped++;
        return;
    }
    if (a->n >= LIM_TLS_ANCHORS) {
        l->err = TLS_ERR_LIMIT;
        return;
    }
    ta = &a->ta[a->n];
    l->dn_start = a->pool_len;
    br_x509_decoder_init(&l->dc, collect_dn, l);
    br_x509_decoder_push(&l->dc, l->der, l->der_len);
    pk = br_x509_decoder_get_pkey(&l->dc);
    if (l->pool_overflow) {
        l->err = TLS_ERR_LIMIT;
        return;
    }
    if (!pk) {
        a->pool_len = mark;
        a->skipped++;
        return;
    }
    ta->dn.data = a->pool + l->dn_start;
    ta->dn.len = a->pool_len - l->dn_start;
    ta->flags = br_x509_decoder_isCA(&l->dc) ? BR_X509_TA_CA : 0;
    ta->pkey.key_type = pk->key_type;
    if (pk->key_type == BR_KEYTYPE_RSA) {
        ta->pkey.key.rsa.n = pool_put(l, pk->key.rsa.n, pk->key.rsa.nlen);
        ta->pkey.key.rsa.nlen = pk->key.rsa.nlen;
        ta->pkey.key.rsa.e = pool_put(l, pk->key.rsa.e, pk->key.rsa.elen);
        ta->pkey.key.rsa.elen = pk->key.rsa.elen;
    } else if (pk->key_type == BR_KEYTYPE_EC) {
        ta->pkey.key.ec.curve = pk->key.ec.curve;
        ta->pkey.key.ec.q = pool_put(l, pk->key.ec.q, pk->key.ec.qlen);
        ta->pkey.key.ec.qlen = pk->key.ec.qlen;
    } else {
        a->pool_len = mark;
        a->skipped++;
        return;
    }
    if (l->pool_overflow) {
        l->err = TLS_ERR_LIMIT;
        return;
    }
    a->n++;
}

/* Pushes bytes through the PEM decoder, handling its events. 0 or TLS_ERR_*. */
static int pem_feed(loader *l, const unsigned char *p, size_t n)
{
    while (n > 0 && !l->err) {
        size_t k = br_pem_decoder_push(&l->pc, p, n);
        p += k;
        n -= k;
        switch (br_pem_decoder_event(&l->pc)) {
        case BR_PEM_BEGIN_OBJ: {
            const char *name = br_pem_decoder_name(&l->pc);
            l->objects++;
            l->in_cert = strcmp(name, "CERTIFICATE") == 0 || strcmp(name, "X509 CERTIFICATE") == 0;
            l->der_len = 0;
            l->der_overflow = 0;
            br_pem_decoder_setdest(&l->pc, l->in_cert ? collect_der : NULL, l);
            break;
        }
        case BR_PEM_END_OBJ:
            if (l->in_cert)
                add_anchor(l);
            l->in_cert = 0;
            break;
        case BR_PEM_ERROR: l->err = TLS_ERR_NOT_PEM; break;
        default: break;
        }
    }
    return l->err;
}

static loader L; /* ~18 KiB of scratch; loading happens on one thread at start-up */

void tls_anchors_clear(tls_anchors *a)
{
    a->n = 0;
    a->skipped = 0;
    a->pool_len = 0;
    a->source[0] = 0;
}

static void loader_begin(tls_anchors *a)
{
    memset(&L, 0, sizeof L);
    L.a = a;
    br_pem_decoder_init(&L.pc);
}

/* Common end: the trailing newline lets a file without a final EOL end its object. */
static int loader_end(size_t before, char *err, size_t errcap, const char *what)
{
    tls_anchors *a = L.a;
    if (!L.err)
        pem_feed(&L, (const unsigned char *)"\n", 1);
    if (!L.err && L.in_cert)
        L.err = TLS_ERR_NOT_PEM; /* ends inside an object */
    switch (L.err) {
    case TLS_ERR_NOT_PEM: snprintf(err, errcap, "%s: not a valid PEM file", what); return L.err;
    case TLS_ERR_LIMIT:
        snprintf(err, errcap, "%s: more than %u certificates or %u bytes of anchor data", what,
                 LIM_TLS_ANCHORS, LIM_TLS_ANCHOR_POOL);
        return L.err;
    default: break;
    }
    if (L.objects == 0) {
        snprintf(err, errcap, "%s: no PEM data found", what);
        return TLS_ERR_NOT_PEM;
    }
    if (a->n == before) {
        snprintf(err, errcap, "%s: no usable CA certificate (%d PEM objects, %zu skipped)", what,
                 L.objects, a->skipped);
        return TLS_ERR_NO_CERTS;
    }
    if (errcap)
        err[0] = 0;
    return (int)(a->n - before);
}

int tls_anchors_add_pem(tls_anchors *a, const void *pem, size_t len, char *err, size_t errcap)
{
    size_t before = a->n;
    loader_begin(a);
    pem_feed(&L, pem, len);
    return loader_end(before, err, errcap, "CA data");
}

static int load_one(tls_anchors *a, const char *path, char *err, size_t errcap)
{
    unsigned char buf[4096];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t k;

    tls_anchors_clear(a);
    if (fd < 0) {
        snprintf(err, errcap, "CA file %s: %s", path, strerror(errno));
        return TLS_ERR_FILE;
    }
    loader_begin(a);
    while ((k = read(fd, buf, sizeof buf)) != 0) {
        if (k < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errcap, "CA file %s: %s", path, strerror(errno));
            close(fd);
            return TLS_ERR_FILE;
        }
        if (pem_feed(&L, buf, (size_t)k))
            break;
    }
    close(fd);
    {
        char what[300];
        snprintf(what, sizeof what, "CA file %s", path);
        int rc = loader_end(0, err, errcap, what);
        if (rc > 0)
            snprintf(a->source, sizeof a->source, "%s", path);
        return rc;
    }
}

int tls_anchors_load_file(tls_anchors *a, const char *path, char *err, size_t errcap)
{
    if (path)
        return load_one(a, path, err, errcap);
    for (size_t i = 0; tls_default_ca_files[i]; i++)
        if (access(tls_default_ca_files[i], R_OK) == 0)
            return load_one(a, tls_default_ca_files[i], err, errcap);
    tls_anchors_clear(a);
    snprintf(err, errcap,
             "no system CA bundle found (tried %s and %zu other paths); "
             "use --tls.ca-file",
             tls_default_ca_files[0],
             sizeof tls_default_ca_files / sizeof tls_default_ca_files[0] - 2);
    return TLS_ERR_NO_DEFAULT;
}

/* ---- engine ------------------------------------------------------------------------- */

int tls_host_is_ip(const char *host)
{
    unsigned char tmp[16];
    return inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1;
}

static const uint16_t suites[] = {
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
};

int tls_client_start(tls_client *t, const tls_anchors *a, const char *host, int64_t pin_time)
{
    if (!host || !*host || strlen(host) > 255 || tls_host_is_ip(host) || !a || a->n == 0)
        return BR_ERR_BAD_PARAM;
    br_ssl_client_init_full(&t->sc, &t->xc, a->ta, a->n);
    br_ssl_engine_set_versions(&t->sc.eng, BR_TLS12, BR_TLS12);
    br_ssl_engine_set_suites(&t->sc.eng, suites, sizeof suites / sizeof suites[0]);
    br_ssl_engine_add_flags(&t->sc.eng, BR_OPT_NO_RENEGOTIATION);
    br_ssl_engine_set_buffer(&t->sc.eng, t->iobuf, sizeof t->iobuf, 1);
    t->pinned_time = pin_time;
    t->peek_len = 0;
    t->ra_off = t->ra_len = 0; /* never feed one connection's bytes to the next */
    if (pin_time >= 0)
        br_x509_minimal_set_time(&t->xc, (uint32_t)(pin_time / 86400 + 719528),
                                 (uint32_t)(pin_time % 86400));
    if (!br_ssl_client_reset(&t->sc, host, 0)) {
        int e = br_ssl_engine_last_error(&t->sc.eng);
        return e ? e : BR_ERR_BAD_STATE;
    }
    return 0;
}

unsigned tls_state(const tls_client *t)
{
    unsigned st = br_ssl_engine_current_state(&t->sc.eng), r = 0;
    r |= st & BR_SSL_CLOSED ? TLS_ST_CLOSED : 0;
    r |= st & BR_SSL_SENDREC ? TLS_ST_SENDREC : 0;
    r |= st & BR_SSL_RECVREC ? TLS_ST_RECVREC : 0;
    r |= st & BR_SSL_RECVAPP ? TLS_ST_APP_IN : 0;
    r |= st & BR_SSL_SENDAPP ? TLS_ST_APP_OUT : 0;
    return r;
}

int tls_last_error(const tls_client *t)
{
    return br_ssl_engine_last_error(&t->sc.eng);
}

static int would_block(int e)
{
    return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
}

tls_io tls_pump(tls_client *t, int fd, int *sys_errno, const char **op)
{
    br_ssl_engine_context *eng = &t->sc.eng;
    for (;;) {
        unsigned st = br_ssl_engine_current_state(eng);
        int progress = 0;
        size_t len;
        unsigned char *buf;
        ssize_t k;

        if (st & BR_SSL_CLOSED)
            return TLS_IO_CLOSED;
        if (st & BR_SSL_SENDREC) {
            buf = br_ssl_engine_sendrec_buf(eng, &len);
            k = send(fd, buf, len, MSG_NOSIGNAL);
            if (k > 0) {
                br_ssl_engine_sendrec_ack(eng, (size_t)k);
                progress = 1;
            } else if (k < 0 && !would_block(errno)) {
                *sys_errno = errno;
                *op = "send";
                return TLS_IO_ERRNO;
            }
        }
        if (st & BR_SSL_RECVREC) {
            buf = br_ssl_engine_recvrec_buf(eng, &len);
            if (t->ra_off < t->ra_len) {
                k = (ssize_t)(t->ra_len - t->ra_off);
                if ((size_t)k > len)
                    k = (ssize_t)len;
                memcpy(buf, t->ra + t->ra_off, (size_t)k);
                t->ra_off += (size_t)k;
            } else {
                /* A record's body goes straight into the engine, with the next
                 * record's header behind it into ra: one recv per record and no copy.
                 * Anything smaller (a header, a short tail) reads ahead into ra. */
                int direct = len >= TLS_DIRECT_MIN;
                struct iovec iov[2] = { { buf, len }, { t->ra, direct ? 5 : sizeof t->ra } };
                struct msghdr mh = { 0 };
                mh.msg_iov = direct ? iov : iov + 1;
                mh.msg_iovlen = direct ? 2 : 1;
                k = recvmsg(fd, &mh, 0);
                if (k == 0)
                    return TLS_IO_EOF;
                if (k < 0 && !would_block(errno)) {
                    *sys_errno = errno;
                    *op = "recv";
                    return TLS_IO_ERRNO;
                }
                t->ra_off = 0;
                t->ra_len = 0;
                if (k > 0 && direct && (size_t)k > len) {
                    t->ra_len = (size_t)k - len;
                    k = (ssize_t)len;
                } else if (k > 0 && !direct) {
                    t->ra_len = (size_t)k;
                    k = (ssize_t)(len < t->ra_len ? len : t->ra_len);
                    memcpy(buf, t->ra, (size_t)k);
                    t->ra_off = (size_t)k;
                }
            }
            if (k > 0) {
                if (t->peek_len < sizeof t->peek) {
                    size_t c = sizeof t->peek - t->peek_len;
                    c = c < (size_t)k ? c : (size_t)k;
                    memcpy(t->peek + t->peek_len, buf, c);
                    t->peek_len += c;
                }
                br_ssl_engine_recvrec_ack(eng, (size_t)k);
                progress = 1;
            }
        }
        if (!progress)
            return TLS_IO_OK;
    }
}

int tls_read_ahead(const tls_client *t)
{
    return t->ra_off < t->ra_len && (br_ssl_engine_current_state(&t->sc.eng) & BR_SSL_RECVREC);
}

size_t tls_app_view(tls_client *t, const uint8_t **p)
{
    size_t len = 0;
    unsigned char *b = br_ssl_engine_recvapp_buf(&t->sc.eng, &len);
    *p = b && len ? b : NULL;
    return *p ? len : 0;
}

void tls_app_ack(tls_client *t, size_t n)
{
    if (n)
        br_ssl_engine_recvapp_ack(&t->sc.eng, n);
}

size_t tls_app_write(tls_client *t, const void *data, size_t len)
{
    br_ssl_engine_context *eng = &t->sc.eng;
    size_t cap = 0;
    unsigned char *p;
    if (!(br_ssl_engine_current_state(eng) & BR_SSL_SENDAPP) || len == 0)
        return 0;
    p = br_ssl_engine_sendapp_buf(eng, &cap);
    if (cap > len)
        cap = len;
    memcpy(p, data, cap);
    br_ssl_engine_sendapp_ack(eng, cap);
    br_ssl_engine_flush(eng, 0);
    return cap;
}

void tls_close_notify(tls_client *t, int fd)
{
    br_ssl_engine_close(&t->sc.eng);
    if (br_ssl_engine_current_state(&t->sc.eng) & BR_SSL_SENDREC) {
        size_t len;
        unsigned char *b = br_ssl_engine_sendrec_buf(&t->sc.eng, &len);
        ssize_t k = send(fd, b, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k > 0)
            br_ssl_engine_sendrec_ack(&t->sc.eng, (size_t)k);
    }
}

size_t tls_first_bytes(const tls_client *t, const unsigned char **p)
{
    *p = t->peek;
    return t->peek_len;
}

/* TLS alert descriptions we are likely to meet (RFC 8446 6.2 numbering). */
static const char *alert_name(int n)
{
    switch (n) {
    case 0: return "close_notify";
    case 10: return "unexpected_message";
    case 20: return "bad_record_mac";
    case 22: return "record_overflow";
    case 40: return "handshake_failure";
    case 42: return "bad_certificate";
    case 43: return "unsupported_certificate";
    case 44: return "certificate_revoked";
    case 45: return "certificate_expired";
    case 46: return "certificate_unknown";
    case 47: return "illegal_parameter";
    case 48: return "unknown_ca";
    case 50: return "decode_error";
    case 51: return "decrypt_error";
    case 70: return "protocol_version";
    case 71: return "insufficient_security";
    case 80: return "internal_error";
    case 86: return "inappropriate_fallback";
    case 90: return "user_canceled";
    case 109: return "missing_extension";
    case 112: return "unrecognized_name";
    case 120: return "no_application_protocol";
    default: return "alert";
    }
}

const char *tls_error_text(int e, char *buf, size_t cap)
{
    switch (e) {
    case BR_ERR_OK: return "closed cleanly (close_notify)";
    case BR_ERR_BAD_PARAM: return "bad parameter (host name empty, too long or an IP address)";
    case BR_ERR_UNSUPPORTED_VERSION: return "server chose a protocol version other than TLS 1.2";
    case BR_ERR_BAD_VERSION: return "record with an unexpected protocol version";
    case BR_ERR_BAD_LENGTH: return "record with an invalid length (peer may not speak TLS)";
    case BR_ERR_TOO_LARGE: return "record too large";
    case BR_ERR_BAD_MAC: return "record failed authentication (bad MAC)";
    case BR_ERR_NO_RANDOM: return "no randomness available from the OS";
    case BR_ERR_UNKNOWN_TYPE: return "unknown record type (peer may not speak TLS)";
    case BR_ERR_UNEXPECTED: return "unexpected message";
    case BR_ERR_BAD_HANDSHAKE: return "malformed handshake message";
    case BR_ERR_BAD_CIPHER_SUITE: return "server chose a cipher suite we did not offer";
    case BR_ERR_BAD_SECRENEG: return "secure renegotiation violation";
    case BR_ERR_BAD_SNI: return "bad SNI";
    case BR_ERR_LIMIT_EXCEEDED: return "handshake message over an internal limit";
    case BR_ERR_BAD_FINISHED: return "bad Finished message";
    case BR_ERR_INVALID_ALGORITHM: return "server used an algorithm we did not offer";
    case BR_ERR_BAD_SIGNATURE: return "bad ServerKeyExchange signature";
    case BR_ERR_WRONG_KEY_USAGE: return "server key not usable for the chosen suite";
    case BR_ERR_IO: return "connection ended without close_notify (truncated)";
    case BR_ERR_X509_EMPTY_CHAIN: return "server sent no certificate";
    case BR_ERR_X509_TIME_UNKNOWN: return "certificate check: current time unknown";
    case BR_ERR_X509_EXPIRED: return "certificate expired or not yet valid";
    case BR_ERR_X509_BAD_SERVER_NAME: return "certificate does not match the host name";
    case BR_ERR_X509_NOT_TRUSTED:
        return "certificate chain does not lead to a trusted CA (unknown CA)";
    case BR_ERR_X509_NOT_CA: return "an intermediate certificate is not a CA";
    case BR_ERR_X509_WEAK_PUBLIC_KEY: return "certificate key too weak";
    case BR_ERR_X509_BAD_SIGNATURE: return "certificate signature invalid";
    case BR_ERR_X509_UNSUPPORTED: return "certificate uses an unsupported algorithm";
    case BR_ERR_X509_CRITICAL_EXTENSION: return "certificate has an unsupported critical extension";
    case BR_ERR_X509_FORBIDDEN_KEY_USAGE: return "certificate key usage forbids TLS server use";
    default: break;
    }
    if (e == BR_ERR_RECV_FATAL_ALERT + 40)
        return "server sent fatal alert 40 (handshake_failure): no common protocol version "
               "or cipher suite (we offer only TLS 1.2 with ECDHE and AES-GCM/ChaCha20; "
               "a TLS 1.0/1.1-only or CBC-only server ends here)";
    if (e == BR_ERR_RECV_FATAL_ALERT + 70)
        return "server sent fatal alert 70 (protocol_version): it does not offer TLS 1.2 "
               "(a TLS 1.3-only server?); BearSSL has no TLS 1.3";
    if (e >= BR_ERR_RECV_FATAL_ALERT && e < BR_ERR_RECV_FATAL_ALERT + 256)
        snprintf(buf, cap, "server sent fatal alert %d (%s)", e - BR_ERR_RECV_FATAL_ALERT,
                 alert_name(e - BR_ERR_RECV_FATAL_ALERT));
    else if (e >= BR_ERR_SEND_FATAL_ALERT && e < BR_ERR_SEND_FATAL_ALERT + 256)
        snprintf(buf, cap, "we sent fatal alert %d (%s)", e - BR_ERR_SEND_FATAL_ALERT,
                 alert_name(e - BR_ERR_SEND_FATAL_ALERT));
    else if (e >= BR_ERR_X509_OK && e < BR_ERR_RECV_FATAL_ALERT)
        snprintf(buf, cap, "certificate error %d", e);
    else
        snprintf(buf, cap, "TLS error %d", e);
    return buf;
}

/* Before 2024-01-01 our clock is certainly wrong: every real certificate chain we
 * could meet was issued later than the build of this program. */
#define TLS_SANE_TIME 1704067200

net_reason tls_reason(int e, int64_t pinned_time)
{
    int64_t now = pinned_time >= 0 ? pinned_time : (int64_t)time(NULL);
    switch (e) {
    case BR_ERR_OK: return NET_R_CLOSED;
    case BR_ERR_IO: return NET_R_TRUNCATED;
    case BR_ERR_X509_NOT_TRUSTED: return NET_R_TLS_UNKNOWN_CA;
    case BR_ERR_X509_BAD_SERVER_NAME: return NET_R_TLS_BAD_NAME;
    case BR_ERR_X509_EXPIRED:
    case BR_ERR_X509_TIME_UNKNOWN:
        return now < TLS_SANE_TIME ? NET_R_TLS_CERT_TIME : NET_R_TLS_EXPIRED;
    case BR_ERR_UNSUPPORTED_VERSION: return NET_R_TLS_PROTOCOL_VERSION;
    case BR_ERR_BAD_CIPHER_SUITE:
    case BR_ERR_INVALID_ALGORITHM:
    case BR_ERR_WRONG_KEY_USAGE: return NET_R_TLS_HANDSHAKE;
    case BR_ERR_BAD_LENGTH:
    case BR_ERR_UNKNOWN_TYPE:
    case BR_ERR_BAD_VERSION: return NET_R_TLS_NOT_TLS;
    case BR_ERR_BAD_PARAM:
    case BR_ERR_NO_RANDOM: return NET_R_TLS_CONFIG;
    default: break;
    }
    if (e == BR_ERR_RECV_FATAL_ALERT + 70 || e == BR_ERR_SEND_FATAL_ALERT + 70)
        return NET_R_TLS_PROTOCOL_VERSION;
    if (e == BR_ERR_RECV_FATAL_ALERT + 40 || e == BR_ERR_RECV_FATAL_ALERT + 71)
        return NET_R_TLS_HANDSHAKE;
    if (e > BR_ERR_RECV_FATAL_ALERT && e < BR_ERR_SEND_FATAL_ALERT)
        return NET_R_TLS_ALERT;
    if (e >= BR_ERR_X509_OK && e < BR_ERR_RECV_FATAL_ALERT)
        return NET_R_TLS_BAD_CERT;
    return NET_R_TLS_PROTOCOL;
}
