/*
 * expo.c -- Prometheus text 0.0.4 / OpenMetrics 1.0.0 encoder (contract in expo.h).
 *
 * Everything here is about getting bytes right and fast: one bounds check per sample
 * line, memcpy of cached label text, and a number printer that avoids printf for the
 * values telemetry mostly has (integers, millisecond timestamps, fixed-point
 * coordinates). Escaping validates UTF-8 on the way, because a single invalid byte in
 * a label value makes Prometheus drop the whole scrape.
 *
 * Stream mode reuses the whole-body machinery: `cap` is kept at what may still be
 * written without a flush and without passing max (min(buffer, max - flushed)), so
 * the existing room checks stay the only per-line cost, and expo_reserve -- the slow
 * path where the whole body would grow -- flushes instead.
 */
#include "core/utf8.h"
#include "exporter/expo.h"

#include "core/limits.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPO_FIRST_ALLOC (64u * 1024u)

void expo_init(struct expo *e, enum expo_format fmt, size_t max_bytes)
{
    memset(e, 0, sizeof *e);
    e->fmt = fmt;
    e->max = max_bytes ? max_bytes : LIM_EXPO_BODY_DEFAULT;
}

/* Stream mode: what fits before the next flush without passing the bound. */
static size_t expo_stream_room(const struct expo *e)
{
    size_t left = e->max - e->flushed;
    return e->bufcap < left ? e->bufcap : left;
}

void expo_init_stream(struct expo *e, enum expo_format fmt, size_t max_bytes, char *buf,
                      size_t bufcap, expo_sink_fn sink, void *user)
{
    expo_init(e, fmt, max_bytes);
    e->buf = buf;
    e->bufcap = bufcap;
    e->sink = sink;
    e->sink_user = user;
    e->cap = expo_stream_room(e);
    if (!buf || !bufcap)
        e->err = EXPO_ERR_ARG;
}

void expo_reset(struct expo *e, enum expo_format fmt)
{
    e->len = 0;
    e->flushed = 0;
    if (e->sink)
        e->cap = expo_stream_room(e);
    e->fmt = fmt;
    e->err = e->sink && (!e->buf || !e->bufcap) ? EXPO_ERR_ARG : EXPO_OK;
    e->finished = 0;
    e->name_len = 0;
    e->name[0] = 0;
    e->samples = 0;
    e->utf8_replaced = 0;
}

void expo_free(struct expo *e)
{
    if (e->sink)
        return; /* the caller's buffer */
    free(e->buf);
    e->buf = NULL;
    e->len = e->cap = 0;
}

const char *expo_strerror(int err)
{
    switch (err) {
    case EXPO_OK: return "ok";
    case EXPO_ERR_FULL: return "body exceeds its size limit or memory is exhausted";
    case EXPO_ERR_NAME: return "invalid metric name";
    case EXPO_ERR_STATE: return "sample outside a family";
    case EXPO_ERR_ARG: return "invalid label name or buffer too small";
    case EXPO_ERR_SINK: return "the receiver of the streamed body failed";
    default: return "unknown error";
    }
}

const char *expo_content_type(enum expo_format fmt)
{
    return fmt == EXPO_OPENMETRICS ? EXPO_CT_OPENMETRICS : EXPO_CT_TEXT;
}

/* memcpy for the short fragments of a sample line (10-100 bytes). musl's memcpy (the
 * static release build) starts every call with `rep movs`, which made it 40% of a
 * 1M-series render; fixed-size memcpy calls below compile to plain vector moves. Never
 * reads or writes outside [s, s+n) and [d, d+n); the ranges must not overlap. */
static inline void expo_copy(char *d, const char *s, size_t n)
{
    if (n >= 16) {
        for (size_t i = 0; i + 16 < n; i += 16)
            memcpy(d + i, s + i, 16);
        memcpy(d + n - 16, s + n - 16, 16); /* the tail, overlapping what is done */
    } else if (n >= 8) {
        memcpy(d, s, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        memcpy(d, s, 4);
        memcpy(d + n - 4, s + n - 4, 4);
    } else {
        for (size_t i = 0; i < n; i++)
            d[i] = s[i];
    }
}

/* Stream mode: hands the pending bytes to the sink. 0, or -1 with the error set. */
static int expo_flush(struct expo *e)
{
    if (e->err)
        return -1;
    if (e->len) {
        if (e->sink(e->sink_user, e->buf, e->len) != 0) {
            e->err = EXPO_ERR_SINK;
            return -1;
        }
        e->flushed += e->len;
        e->len = 0;
    }
    e->cap = expo_stream_room(e);
    return 0;
}

/* Makes room for `need` more contiguous bytes at buf + len. 0 on success; -1 with the
 * sticky error set; 1 in stream mode when need is larger than the whole buffer (the
 * bound was checked: the caller writes the piece in parts with expo_put). */
static int expo_reserve(struct expo *e, size_t need)
{
    if (e->err)
        return -1;
    if (need <= e->cap - e->len)
        return 0;
    if (need > e->max || e->flushed + e->len > e->max - need) {
        e->err = EXPO_ERR_FULL;
        return -1;
    }
    if (e->sink) {
        if (expo_flush(e))
            return -1;
        return need <= e->cap ? 0 : 1;
    }
    size_t want = e->len + need, ncap = e->cap ? e->cap : EXPO_FIRST_ALLOC;
    while (ncap < want)
        ncap = ncap > SIZE_MAX / 2 ? want : ncap * 2;
    if (ncap > e->max)
        ncap = e->max;
    char *nb = realloc(e->buf, ncap);
    if (!nb) {
        e->err = EXPO_ERR_FULL;
        return -1;
    }
    e->buf = nb;
    e->cap = ncap;
    return 0;
}

static void expo_put(struct expo *e, const char *s, size_t n)
{
    int r = expo_reserve(e, n);
    if (r == 0) {
        memcpy(e->buf + e->len, s, n);
        e->len += n;
        return;
    }
    /* stream mode, longer than the buffer: fill, flush, repeat (the bound held) */
    while (r == 1 && n) {
        size_t k = e->cap - e->len < n ? e->cap - e->len : n;
        memcpy(e->buf + e->len, s, k);
        e->len += k;
        s += k;
        n -= k;
        if (n && (expo_flush(e) || e->cap == 0))
            break;
    }
}

static void expo_puts(struct expo *e, const char *s)
{
    expo_put(e, s, strlen(s));
}

/* --- numbers ---------------------------------------------------------------------- */

/* Two digits per division: the division by a constant 100 compiles to a multiply, and
 * halving the divisions is most of what printing 10-digit timestamps costs. */
static const char expo_d2[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static size_t expo_utoa(char *out, uint64_t v)
{
    char t[24];
    char *p = t + sizeof t;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        p -= 2;
        memcpy(p, expo_d2 + 2 * r, 2);
    }
    if (v >= 10) {
        p -= 2;
        memcpy(p, expo_d2 + 2 * v, 2);
    } else {
        *--p = (char)('0' + v);
    }
    size_t n = (size_t)(t + sizeof t - p);
    expo_copy(out, p, n);
    out[n] = 0;
    return n;
}

size_t expo_fmt_u64(char *out, uint64_t v)
{
    return expo_utoa(out, v);
}

static const double expo_p10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9 };

size_t expo_fmt_double(char *out, double v)
{
    if (isnan(v)) {
        memcpy(out, "NaN", 4);
        return 3;
    }
    if (isinf(v)) {
        memcpy(out, v > 0 ? "+Inf" : "-Inf", 5);
        return 4;
    }
    const double two53 = 9007199254740992.0;
    size_t n = 0;
    double a = v < 0 ? -v : v;
    if (a < two53 && v == (double)(int64_t)v) {
        if (v < 0)
            out[n++] = '-';
        return n + expo_utoa(out + n, (uint64_t)a);
    }
    /* Short decimals: the fewest fraction digits k such that m / 10^k (one correctly
     * rounded division of two exact doubles, exactly what strtod computes) gives v
     * back. The first k that works is the shortest round-trip text. */
    for (unsigned k = 1; k <= 9 && a < two53 / expo_p10[k]; k++) {
        double m = (double)(uint64_t)(a * expo_p10[k] + 0.5); /* libm-free rounding */
        if (m / expo_p10[k] != a)
            continue;
        char digits[24];
        size_t dl = expo_utoa(digits, (uint64_t)m);
        if (v < 0)
            out[n++] = '-';
        if (dl <= k) {
            out[n++] = '0';
            out[n++] = '.';
            for (size_t z = dl; z < k; z++)
                out[n++] = '0';
            expo_copy(out + n, digits, dl);
            n += dl;
        } else {
            expo_copy(out + n, digits, dl - k);
            n += dl - k;
            out[n++] = '.';
            expo_copy(out + n, digits + dl - k, k);
            n += k;
        }
        out[n] = 0;
        return n;
    }
    for (int prec = 15; prec <= 17; prec++) {
        int w = snprintf(out, EXPO_NUM_MAX, "%.*g", prec, v);
        if (prec == 17 || strtod(out, NULL) == v)
            return (size_t)w;
    }
    return 0; /* not reached */
}

/* Below 10^15 ms, "s.mmm" has at most 15 significant digits, and two different decimals
 * of at most 15 digits never round to the same double (DBL_DIG). So the double
 * nearest to ms/1000 has exactly one decimal of <= 3 fraction digits that reads back
 * to it, namely s.mmm without its trailing zeros -- which is what expo_fmt_double's
 * "fewest fraction digits" search finds (its k = 3 step recomputes the same correctly
 * rounded division). Beyond the bound we simply ask expo_fmt_double. */
#define EXPO_MS_EXACT 1000000000000000ll

size_t expo_fmt_ms(char *out, int64_t ms)
{
    if (ms <= -EXPO_MS_EXACT || ms >= EXPO_MS_EXACT)
        return expo_fmt_double(out, (double)ms / 1000.0);
    size_t n = 0;
    uint64_t a = ms < 0 ? (uint64_t)(-ms) : (uint64_t)ms;
    unsigned f = (unsigned)(a % 1000);
    if (ms < 0)
        out[n++] = '-';
    n += expo_utoa(out + n, a / 1000);
    if (f) {
        out[n++] = '.';
        out[n++] = (char)('0' + f / 100);
        if (f % 100) {
            out[n++] = (char)('0' + f / 10 % 10);
            if (f % 10)
                out[n++] = (char)('0' + f % 10);
        }
        out[n] = 0;
    }
    return n;
}

/* --- escaping --------------------------------------------------------------------- */


/* Escapes \ and LF, and '"' when `quote`, validating UTF-8; dst must have
 * EXPO_ESCAPE_BOUND(n) bytes. */
static size_t expo_escape(char *dst, const char *src, size_t n, int quote, uint64_t *bad)
{
    const unsigned char *s = (const unsigned char *)src;
    const unsigned char q = quote ? '"' : '\\';
    size_t o = 0, i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n) {
            unsigned char c = s[run];
            if (c >= 0x80 || c == '\\' || c == '\n' || c == q)
                break;
            run++;
        }
        memcpy(dst + o, s + i, run - i);
        o += run - i;
        i = run;
        if (i >= n)
            break;
        unsigned char c = s[i];
        if (c >= 0x80) {
            size_t l = utf8_seq_len(s + i, n - i);
            if (l) {
                memcpy(dst + o, s + i, l);
                o += l;
                i += l;
            } else {
                /* one replacement per invalid byte, as WHATWG decoders do */
                memcpy(dst + o, "\xEF\xBF\xBD", 3);
                o += 3;
                i++;
                if (bad)
                    (*bad)++;
            }
            continue;
        }
        dst[o++] = '\\';
        dst[o++] = c == '\n' ? 'n' : (char)c;
        i++;
    }
    return o;
}

size_t expo_escape_label(char *dst, size_t cap, const char *s, size_t n, uint64_t *replaced)
{
    if (cap >= EXPO_ESCAPE_BOUND(n))
        return expo_escape(dst, s, n, 1, replaced);
    /* Small destination: escape in bounded pieces, never splitting a UTF-8 sequence
     * (a split valid sequence would wrongly turn into replacement characters). */
    char tmp[EXPO_ESCAPE_BOUND(256)];
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t chunk = n - i > 256 ? 256 : n - i;
        for (int b = 0; b < 3 && chunk < n - i && ((unsigned char)s[i + chunk] & 0xC0) == 0x80; b++)
            chunk--;
        size_t w = expo_escape(tmp, s + i, chunk, 1, replaced);
        if (w > cap - o)
            return (size_t)-1;
        memcpy(dst + o, tmp, w);
        o += w;
        i += chunk;
    }
    return o;
}

void expo_labels_init(struct expo_labels *lb, char *buf, size_t cap)
{
    lb->buf = buf;
    lb->cap = cap;
    lb->len = 0;
    lb->err = 0;
    lb->replaced = 0;
}

int expo_labels_add(struct expo_labels *lb, const char *name, const char *value, size_t vlen)
{
    if (lb->err)
        return lb->err;
    size_t nl = strlen(name);
    if (!expo_label_name_valid(name, nl))
        return lb->err = EXPO_ERR_ARG;
    size_t need = (lb->len ? 1 : 0) + nl + 2 + 1;
    if (need > lb->cap - lb->len)
        return lb->err = EXPO_ERR_FULL;
    size_t o = lb->len;
    if (o)
        lb->buf[o++] = ',';
    memcpy(lb->buf + o, name, nl);
    o += nl;
    lb->buf[o++] = '=';
    lb->buf[o++] = '"';
    size_t w = expo_escape_label(lb->buf + o, lb->cap - o - 1, value, vlen, &lb->replaced);
    if (w == (size_t)-1)
        return lb->err = EXPO_ERR_FULL;
    o += w;
    lb->buf[o++] = '"';
    lb->len = o;
    return 0;
}

/* --- families and samples ----------------------------------------------------------- */

int expo_name_valid(const char *s, size_t n)
{
    if (n == 0 || n >= EXPO_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

int expo_label_name_valid(const char *s, size_t n)
{
    return expo_name_valid(s, n) && !(n >= 2 && s[0] == '_' && s[1] == '_');
}

static int expo_ends(const char *s, size_t n, const char *suf)
{
    size_t k = strlen(suf);
    return n > k && memcmp(s + n - k, suf, k) == 0;
}

static void expo_help(struct expo *e, const char *help)
{
    size_t n = strlen(help);
    int quote = e->fmt == EXPO_OPENMETRICS;
    int r = expo_reserve(e, EXPO_ESCAPE_BOUND(n));
    if (r == 0) {
        e->len += expo_escape(e->buf + e->len, help, n, quote, &e->utf8_replaced);
        return;
    }
    /* stream mode, longer than the buffer: escape in pieces that never split a UTF-8
     * sequence (a split one would turn into replacement characters) */
    while (r == 1 && n && !e->err) {
        char tmp[EXPO_ESCAPE_BOUND(256)];
        size_t chunk = n > 256 ? 256 : n;
        for (int b = 0; b < 3 && chunk < n && ((unsigned char)help[chunk] & 0xC0) == 0x80; b++)
            chunk--;
        expo_put(e, tmp, expo_escape(tmp, help, chunk, quote, &e->utf8_replaced));
        help += chunk;
        n -= chunk;
    }
}

int expo_family(struct expo *e, const char *name, enum expo_type type, const char *help)
{
    if (e->err)
        return e->err;
    if (e->finished)
        return e->err = EXPO_ERR_STATE;
    size_t n = strlen(name);
    if (!expo_name_valid(name, n) || (type == EXPO_COUNTER && !expo_ends(name, n, "_total")) ||
        (type == EXPO_INFO && !expo_ends(name, n, "_info")))
        return e->err = EXPO_ERR_NAME;
    memcpy(e->name, name, n + 1);
    e->name_len = n;
    if (e->fmt == EXPO_OPENMETRICS) {
        static const char *const om[] = { "gauge", "counter", "info", "unknown" };
        size_t base = n - (type == EXPO_COUNTER ? 6 : type == EXPO_INFO ? 5 : 0);
        expo_puts(e, "# TYPE ");
        expo_put(e, name, base);
        expo_put(e, " ", 1);
        expo_puts(e, om[type]);
        expo_puts(e, "\n# HELP ");
        expo_put(e, name, base);
        expo_put(e, " ", 1);
        expo_help(e, help);
        expo_put(e, "\n", 1);
    } else {
        static const char *const txt[] = { "gauge", "counter", "gauge", "untyped" };
        expo_puts(e, "# HELP ");
        expo_put(e, name, n);
        expo_put(e, " ", 1);
        expo_help(e, help);
        expo_puts(e, "\n# TYPE ");
        expo_put(e, name, n);
        expo_put(e, " ", 1);
        expo_puts(e, txt[type]);
        expo_put(e, "\n", 1);
    }
    return e->err;
}

/* How a sample's number is given to expo_line. */
enum expo_num { EXPO_NUM_DOUBLE, EXPO_NUM_U64, EXPO_NUM_MS };

static size_t expo_num(char *out, enum expo_num kind, double d, uint64_t u, int64_t ms)
{
    switch (kind) {
    case EXPO_NUM_U64: return expo_utoa(out, u);
    case EXPO_NUM_MS: return expo_fmt_ms(out, ms);
    default: return expo_fmt_double(out, d);
    }
}

/* Stream mode, a line longer than the whole buffer: written piece by piece. */
static void expo_line_parts(struct expo *e, const char *l1, size_t n1, const char *l2, size_t n2,
                            const char *num, size_t nl)
{
    expo_put(e, e->name, e->name_len);
    if (n1 || n2) {
        expo_put(e, "{", 1);
        if (n1)
            expo_put(e, l1, n1);
        if (n1 && n2)
            expo_put(e, ",", 1);
        if (n2)
            expo_put(e, l2, n2);
        expo_put(e, "}", 1);
    }
    expo_put(e, " ", 1);
    expo_put(e, num, nl);
    expo_put(e, "\n", 1);
    if (!e->err)
        e->samples++;
}

/* One sample line. Usually one bounds check covers the whole line with room for the
 * longest number, which is then printed straight into the body; only when that room is
 * missing (growth, or the body nears its bound) is the number printed aside first, so
 * the bound stays exact. */
static void expo_line(struct expo *e, const char *l1, size_t n1, const char *l2, size_t n2,
                      enum expo_num kind, double d, uint64_t u, int64_t ms)
{
    char num[EXPO_NUM_MAX];
    size_t nl = 0, fixed;
    if (e->err)
        return;
    if (!e->name_len || e->finished) {
        e->err = EXPO_ERR_STATE;
        return;
    }
    /* name{l1,l2} number LF */
    fixed = e->name_len + n1 + n2 + (n1 || n2 ? 2 : 0) + (n1 && n2) + 2;
    if (fixed + EXPO_NUM_MAX > e->cap - e->len) {
        int r;
        nl = expo_num(num, kind, d, u, ms);
        r = expo_reserve(e, fixed + nl);
        if (r == 1) {
            expo_line_parts(e, l1, n1, l2, n2, num, nl);
            return;
        }
        if (r)
            return;
    }
    char *p = e->buf + e->len;
    expo_copy(p, e->name, e->name_len);
    p += e->name_len;
    if (n1 || n2) {
        *p++ = '{';
        if (n1) {
            expo_copy(p, l1, n1);
            p += n1;
        }
        if (n1 && n2)
            *p++ = ',';
        if (n2) {
            expo_copy(p, l2, n2);
            p += n2;
        }
        *p++ = '}';
    }
    *p++ = ' ';
    if (nl) {
        expo_copy(p, num, nl);
        p += nl;
    } else {
        p += expo_num(p, kind, d, u, ms); /* its NUL is overwritten by the LF */
    }
    *p++ = '\n';
    e->len = (size_t)(p - e->buf);
    e->samples++;
}

void expo_sample2(struct expo *e, const char *l1, size_t n1, const char *l2, size_t n2, double v)
{
    expo_line(e, l1, n1, l2, n2, EXPO_NUM_DOUBLE, v, 0, 0);
}

void expo_sample2_ms(struct expo *e, const char *l1, size_t n1, const char *l2, size_t n2,
                     int64_t ms)
{
    expo_line(e, l1, n1, l2, n2, EXPO_NUM_MS, 0, 0, ms);
}

void expo_sample(struct expo *e, const char *labels, size_t n, double v)
{
    expo_line(e, labels, n, NULL, 0, EXPO_NUM_DOUBLE, v, 0, 0);
}

void expo_sample_u64(struct expo *e, const char *labels, size_t n, uint64_t v)
{
    expo_line(e, labels, n, NULL, 0, EXPO_NUM_U64, 0, v, 0);
}

int expo_finish(struct expo *e)
{
    if (!e->err && !e->finished) {
        if (e->fmt == EXPO_OPENMETRICS)
            expo_puts(e, "# EOF\n");
        if (e->sink)
            expo_flush(e);
        e->finished = 1;
    }
    return e->err;
}

const char *expo_body(const struct expo *e, size_t *len)
{
    *len = e->len;
    return e->buf ? e->buf : "";
}

char *expo_take(struct expo *e, size_t *len)
{
    if (e->sink) {
        *len = 0;
        return NULL;
    }
    char *b = e->buf;
    *len = e->len;
    e->buf = NULL;
    e->len = e->cap = 0;
    return b;
}
