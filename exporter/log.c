/*
 * log.c -- logfmt / JSON-lines logger with a secret guard (see log.h for the contract).
 *
 * Each line is built in a stack buffer and written with one write(2). Values are
 * escaped for the chosen format; bytes that are not valid UTF-8 print as \ufffd (JSON)
 * or \x.. (logfmt) so a hostile asset name cannot forge a second log line or break a
 * JSON parser downstream.
 */
#include "core/bytes.h"
#include "core/utf8.h"
#include "exporter/log.h"

#include "core/limits.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level_v = LOG_INFO;
static atomic_int log_format_v = LOG_FMT_LOGFMT;
static atomic_int log_fd_v = 2;

static pthread_mutex_t log_secret_mu = PTHREAD_MUTEX_INITIALIZER;
static char log_secrets[LIM_LOG_SECRETS][LIM_PASSWORD_BYTES];
static size_t log_secret_len[LIM_LOG_SECRETS];
static unsigned log_secret_next;

static const char *const log_level_names[] = { "debug", "info", "warn", "error" };

void log_init(enum log_level level, enum log_format fmt, int fd)
{
    atomic_store(&log_level_v, (int)level);
    atomic_store(&log_format_v, (int)fmt);
    atomic_store(&log_fd_v, fd);
}

enum log_level log_get_level(void)
{
    return (enum log_level)atomic_load(&log_level_v);
}

int log_enabled(enum log_level level)
{
    return (int)level >= atomic_load(&log_level_v);
}

const char *log_level_name(enum log_level level)
{
    return (unsigned)level < 4 ? log_level_names[level] : "unknown";
}

int log_level_parse(const char *s, enum log_level *out)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, log_level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    return -1;
}

int log_format_parse(const char *s, enum log_format *out)
{
    if (strcmp(s, "logfmt") == 0)
        *out = LOG_FMT_LOGFMT;
    else if (strcmp(s, "json") == 0)
        *out = LOG_FMT_JSON;
    else
        return -1;
    return 0;
}

/* --- secret guard ------------------------------------------------------------------ */

void log_secret_add(const char *secret)
{
    size_t n = secret ? strlen(secret) : 0;
    if (n < 6)
        return;
    if (n >= LIM_PASSWORD_BYTES)
        n = LIM_PASSWORD_BYTES - 1; /* a prefix still identifies it */
    pthread_mutex_lock(&log_secret_mu);
    for (unsigned i = 0; i < LIM_LOG_SECRETS; i++)
        if (log_secret_len[i] == n && memcmp(log_secrets[i], secret, n) == 0) {
            pthread_mutex_unlock(&log_secret_mu);
            return;
        }
    unsigned slot = log_secret_next++ % LIM_LOG_SECRETS;
    bytes_wipe(log_secrets[slot], sizeof log_secrets[slot]);
    memcpy(log_secrets[slot], secret, n);
    log_secret_len[slot] = n;
    pthread_mutex_unlock(&log_secret_mu);
}

void log_secret_forget(const char *secret)
{
    size_t n = secret ? strlen(secret) : 0;
    if (n >= LIM_PASSWORD_BYTES)
        n = LIM_PASSWORD_BYTES - 1;
    pthread_mutex_lock(&log_secret_mu);
    for (unsigned i = 0; i < LIM_LOG_SECRETS; i++)
        if (n && log_secret_len[i] == n && memcmp(log_secrets[i], secret, n) == 0) {
            bytes_wipe(log_secrets[i], sizeof log_secrets[i]);
            log_secret_len[i] = 0;
        }
    pthread_mutex_unlock(&log_secret_mu);
}

void log_secret_clear(void)
{
    pthread_mutex_lock(&log_secret_mu);
    bytes_wipe(log_secrets, sizeof log_secrets);
    memset(log_secret_len, 0, sizeof log_secret_len);
    log_secret_next = 0;
    pthread_mutex_unlock(&log_secret_mu);
}

static int log_b64url(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* A JWT: "eyJ" then base64url, '.', base64url (>= 2), '.', base64url (may be empty
 * for alg none). The header of every JWT is a JSON object, hence always "eyJ". */
static int log_has_jwt(const char *s, size_t n)
{
    for (size_t i = 0; i + 3 <= n; i++) {
        if (memcmp(s + i, "eyJ", 3) != 0)
            continue;
        size_t j = i + 3, dots = 0, seg = 3;
        for (; j < n; j++) {
            unsigned char c = (unsigned char)s[j];
            if (log_b64url(c)) {
                seg++;
            } else if (c == '.' && seg >= 2 && dots < 2) {
                dots++;
                seg = 0;
            } else {
                break;
            }
        }
        if (dots == 2)
            return 1;
    }
    return 0;
}

int log_is_secret(const char *s, size_t n)
{
    if (!s || !n)
        return 0;
    if (log_has_jwt(s, n))
        return 1;
    int hit = 0;
    pthread_mutex_lock(&log_secret_mu);
    for (unsigned i = 0; i < LIM_LOG_SECRETS && !hit; i++) {
        size_t k = log_secret_len[i];
        if (k && k <= n && memmem(s, n, log_secrets[i], k))
            hit = 1;
    }
    pthread_mutex_unlock(&log_secret_mu);
    return hit;
}

/* --- line building ------------------------------------------------------------------ */

/* A bounded appender; `cut` is set once something did not fit. Room for the line end
 * and a "..." marker is reserved by the caller through `lim`. */
struct log_out {
    char *p;
    size_t n, lim;
    int cut;
};

static void lo_put(struct log_out *o, const char *s, size_t n)
{
    if (o->n + n > o->lim) {
        n = o->lim - o->n;
        o->cut = 1;
    }
    memcpy(o->p + o->n, s, n);
    o->n += n;
}

static void lo_str(struct log_out *o, const char *s)
{
    lo_put(o, s, strlen(s));
}


/* Quoted, escaped string. JSON: RFC 8259 escapes, invalid UTF-8 -> \ufffd.
 * logfmt: Go-style quoting (\" \\ \n \t \r, other controls and bad bytes as \x..). */
static void lo_quoted(struct log_out *o, const char *s, size_t n, int json)
{
    static const char hex[] = "0123456789abcdef";
    lo_put(o, "\"", 1);
    size_t i = 0;
    while (i < n && !o->cut) {
        size_t run = i;
        while (run < n) {
            unsigned char c = (unsigned char)s[run];
            if (c < 0x20 || c == '"' || c == '\\' || c >= 0x7f)
                break;
            run++;
        }
        lo_put(o, s + i, run - i);
        i = run;
        if (i >= n)
            break;
        unsigned char c = (unsigned char)s[i];
        char e[8];
        size_t el = 0;
        if (c == '"' || c == '\\') {
            e[0] = '\\';
            e[1] = (char)c;
            el = 2;
        } else if (c == '\n' || c == '\t' || c == '\r') {
            e[0] = '\\';
            e[1] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
            el = 2;
        } else if (c >= 0x80) {
            size_t ul = utf8_seq_len((const unsigned char *)s + i, n - i);
            if (ul) {
                lo_put(o, s + i, ul);
                i += ul;
                continue;
            }
            if (json) {
                memcpy(e, "\\ufffd", 6);
                el = 6;
            } else {
                e[0] = '\\';
                e[1] = 'x';
                e[2] = hex[c >> 4];
                e[3] = hex[c & 15];
                el = 4;
            }
        } else if (json) {
            memcpy(e, "\\u00", 4);
            e[4] = hex[c >> 4];
            e[5] = hex[c & 15];
            el = 6;
        } else {
            e[0] = '\\';
            e[1] = 'x';
            e[2] = hex[c >> 4];
            e[3] = hex[c & 15];
            el = 4;
        }
        lo_put(o, e, el);
        i++;
    }
    if (!o->cut)
        lo_put(o, "\"", 1);
}

/* logfmt values are bare when they contain only safe printable ASCII. */
static int log_bare_ok(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == '=' || c == '"' || c == '\\' || c >= 0x7f)
            return 0;
    }
    return 1;
}

static void lo_key(struct log_out *o, const char *key, int json)
{
    if (json) {
        lo_put(o, ",", 1);
        lo_quoted(o, key, strlen(key), 1);
        lo_put(o, ":", 1);
    } else {
        lo_put(o, " ", 1);
        /* Keys come from our code; still never let one carry a space or '='. */
        const char *k = key;
        size_t kl = strlen(k);
        if (!log_bare_ok(k, kl)) {
            k = "invalid_key";
            kl = strlen(k);
        }
        lo_put(o, k, kl);
        lo_put(o, "=", 1);
    }
}

static void lo_value_str(struct log_out *o, const char *s, size_t n, int json)
{
    if (!s) {
        s = "";
        n = 0;
    }
    if (log_is_secret(s, n)) {
        s = "[redacted]";
        n = strlen(s);
    }
    if (!json && log_bare_ok(s, n))
        lo_put(o, s, n);
    else
        lo_quoted(o, s, n, json);
}

static void lo_ts(struct log_out *o, int64_t ts_ms)
{
    time_t secs = (time_t)(ts_ms / 1000);
    struct tm tm;
    char b[40];
    gmtime_r(&secs, &tm);
    size_t n = strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(b + n, sizeof b - n, ".%03dZ", (int)(ts_ms % 1000));
    lo_put(o, b, n);
}

size_t log_format_line(char *buf, size_t cap, enum log_format fmt, int64_t ts_ms,
                       enum log_level level, const char *msg, const struct log_field *f, size_t nf)
{
    int json = fmt == LOG_FMT_JSON;
    /* Reserve "...\"}\n" so a cut line still ends well-formed enough to read. */
    struct log_out o = { buf, 0, cap - 8, 0 };
    if (json) {
        lo_str(&o, "{\"ts\":\"");
        lo_ts(&o, ts_ms);
        lo_str(&o, "\",\"level\":\"");
        lo_str(&o, log_level_name(level));
        lo_str(&o, "\",\"msg\":");
        lo_value_str(&o, msg, strlen(msg), 1);
    } else {
        lo_str(&o, "ts=");
        lo_ts(&o, ts_ms);
        lo_str(&o, " level=");
        lo_str(&o, log_level_name(level));
        lo_str(&o, " msg=");
        lo_quoted(&o, msg, strlen(msg), 0);
    }
    for (size_t i = 0; i < nf && !o.cut; i++) {
        char num[48];
        int k = 0;
        lo_key(&o, f[i].key ? f[i].key : "invalid_key", json);
        switch (f[i].kind) {
        case LOG_K_STR: {
            const char *s = f[i].v.s;
            size_t n = !s ? 0 : f[i].len == (size_t)-1 ? strlen(s) : f[i].len;
            lo_value_str(&o, s, n, json);
            break;
        }
        case LOG_K_INT:
            k = snprintf(num, sizeof num, "%lld", f[i].v.i);
            lo_put(&o, num, (size_t)k);
            break;
        case LOG_K_UINT:
            k = snprintf(num, sizeof num, "%llu", f[i].v.u);
            lo_put(&o, num, (size_t)k);
            break;
        case LOG_K_DBL: {
            double d = f[i].v.d;
            if (d != d || d - d != 0) /* NaN or Inf: JSON has no literal for them */
                k = snprintf(num, sizeof num, json ? "\"%s\"" : "%s",
                             d != d  ? "NaN"
                             : d > 0 ? "+Inf"
                                     : "-Inf");
            else {
                /* shortest of 15/17 digits that reads back as the same double */
                k = snprintf(num, sizeof num, "%.15g", d);
                if (strtod(num, NULL) != d)
                    k = snprintf(num, sizeof num, "%.17g", d);
            }
            lo_put(&o, num, (size_t)k);
            break;
        }
        case LOG_K_BOOL: lo_str(&o, f[i].v.b ? "true" : "false"); break;
        }
    }
    size_t n = o.n;
    if (o.cut) {
        memcpy(buf + n, "...", 3);
        n += 3;
        if (json) {
            memcpy(buf + n, "\"}", 2);
            n += 2;
        }
    } else if (json) {
        buf[n++] = '}';
    }
    buf[n++] = '\n';
    buf[n] = 0;
    return n;
}

void log_write(enum log_level level, const char *msg, const struct log_field *f, size_t nf)
{
    if (!log_enabled(level))
        return;
    char line[LIM_LOG_LINE_BYTES];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    size_t n = log_format_line(line, sizeof line, (enum log_format)atomic_load(&log_format_v), ms,
                               level, msg, f, nf);
    int fd = atomic_load(&log_fd_v);
    const char *p = line;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* nowhere to report a failing log; never block the caller */
        p += w;
        n -= (size_t)w;
    }
}
