/*
 * expo.h -- Prometheus exposition encoder: text format 0.0.4 and OpenMetrics 1.0.0.
 *
 * Two modes, same bytes:
 *   - whole body (expo_init): the encoder appends to one growable heap buffer that it
 *     owns; the caller reads it with expo_body/expo_take after expo_finish;
 *   - stream (expo_init_stream): the encoder writes into a fixed caller buffer and,
 *     whenever the next piece does not fit, hands the bytes written so far to a sink
 *     callback and starts again at the front of the buffer; expo_finish hands over the
 *     rest. The hot path is the same in both modes: the one "room left?" comparison
 *     per sample line that the growable buffer already needed (a flush happens where a
 *     whole body would have grown). A piece longer than the whole buffer (a huge label
 *     set, a tiny test buffer) is written across several flushes, so the concatenation
 *     of what the sink receives equals, byte for byte, the whole body of the same
 *     calls, whatever the buffer size.
 * Both modes are bounded by max_bytes (the total, in stream mode: bytes flushed plus
 * bytes pending). A render is: expo_family() once per family (it writes HELP and
 * TYPE), then one expo_sample*() per series, then expo_finish(). Errors are sticky
 * (like a stream): once the body exceeds its bound, a name is invalid or the sink
 * refused bytes, further calls do nothing and expo_finish() returns the first error;
 * the caller checks once and must not present what was produced as a complete body
 * (whole body: answer 500; stream: the sink already sent a part, so the caller must
 * make the transfer visibly incomplete). Long loops can poll expo_failed() to stop
 * early instead of feeding a dead encoder.
 *
 * Fast path for large renders (the telemetry families, up to millions of series):
 *   - labels are passed PRE-ESCAPED, as the text between the braces
 *     (`asset_id="…",asset="…"`), built once per asset with struct expo_labels and
 *     cached by the caller; expo_sample2() joins a cached per-asset prefix and a cached
 *     per-key fragment with a comma, so nothing is escaped or copied twice;
 *   - numbers go through expo_fmt_double(): integers and short decimals are printed
 *     without printf, everything else with the shortest of %.15g/%.16g/%.17g that reads
 *     back to the same double; millisecond timestamps through expo_fmt_ms(), integer
 *     fixed point with the same output; either is printed straight into the body;
 *   - expo_reset() keeps the allocation (or the caller's stream buffer), so an owner
 *     that renders again writes into pages that are already mapped;
 *   - no timestamps are ever written (Prometheus would stop inserting staleness
 *     markers for our series).
 *
 * Names: metric names passed to expo_family() must already be valid
 * ([a-zA-Z_][a-zA-Z0-9_]*; we never emit ':'); counters must end in "_total" and info
 * families in "_info" (the encoder drops the suffix where OpenMetrics wants the bare
 * family name). Names from upstream data (ThingsBoard keys, assetDetails fields) go
 * through expo_sanitize_name() and an expo_nameset to detect collisions.
 *
 * Label values: escaping is \ -> \\, " -> \", LF -> \n (both formats). Bytes that are
 * not valid UTF-8 are replaced by U+FFFD and counted (expo_labels.replaced,
 * expo.utf8_replaced), because one invalid byte makes Prometheus reject the whole
 * scrape.
 *
 * Thread safety: a struct expo belongs to one thread at a time (the sink runs on it);
 * the free functions are pure and reentrant.
 */
#ifndef IOTPRO_EXPORTER_EXPO_H
#define IOTPRO_EXPORTER_EXPO_H

#include <stddef.h>
#include <stdint.h>

enum expo_format { EXPO_TEXT = 0, EXPO_OPENMETRICS = 1 };
enum expo_type { EXPO_GAUGE = 0, EXPO_COUNTER, EXPO_INFO, EXPO_UNTYPED };

#define EXPO_CT_TEXT        "text/plain; version=0.0.4; charset=utf-8"
#define EXPO_CT_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"

#define EXPO_OK        0
#define EXPO_ERR_FULL  (-1) /* body would exceed max_bytes, or out of memory */
#define EXPO_ERR_NAME  (-2) /* invalid metric name or missing _total/_info suffix */
#define EXPO_ERR_STATE (-3) /* sample before any family, or after expo_finish */
#define EXPO_ERR_ARG   (-4) /* label name invalid / destination too small */
#define EXPO_ERR_SINK  (-5) /* stream mode: the sink refused bytes (client gone, deadline) */

#define EXPO_NAME_MAX 256 /* metric and label names, with the NUL */
#define EXPO_NUM_MAX  32  /* expo_fmt_double output, with the NUL */

/* Stream mode: receives data[0..len), len > 0, which is always the front of the
 * caller's buffer (buf passed to expo_init_stream), so the caller may frame it in
 * place in memory it reserved around that buffer. Returns 0, or non-zero to fail the
 * encoder (EXPO_ERR_SINK). Called on the encoder's thread, from inside expo_* calls. */
typedef int (*expo_sink_fn)(void *user, const char *data, size_t len);

struct expo {
    char *buf;            /* whole body: owned, NULL until the first write;
                           * stream: the caller's buffer, never freed here */
    size_t len, cap, max; /* stream: len = pending bytes, cap = min(bufcap, max - flushed) */
    enum expo_format fmt;
    int err; /* sticky: first EXPO_ERR_*, or EXPO_OK */
    int finished;
    char name[EXPO_NAME_MAX]; /* sample name of the current family */
    size_t name_len;
    uint64_t samples;       /* sample lines written */
    uint64_t utf8_replaced; /* invalid UTF-8 sequences replaced in HELP texts */
    expo_sink_fn sink;      /* NULL: whole-body mode */
    void *sink_user;
    size_t bufcap;  /* stream: size of the caller's buffer */
    size_t flushed; /* stream: bytes handed to the sink so far */
};

/* Prepares an empty encoder; max_bytes bounds the body (0 = LIM_EXPO_BODY_DEFAULT). */
void expo_init(struct expo *e, enum expo_format fmt, size_t max_bytes);
/* Stream mode: buf[0..bufcap) is caller-owned and must outlive the encoder (bufcap
 * >= 1; small buffers only cost more sink calls); sink(user, …) receives the bytes as
 * they are produced. max_bytes bounds the total as in expo_init. */
void expo_init_stream(struct expo *e, enum expo_format fmt, size_t max_bytes, char *buf,
                      size_t bufcap, expo_sink_fn sink, void *user);
/* Empties the body for another render, keeping the allocation (stream: the buffer and
 * sink; the flushed count restarts at 0). */
void expo_reset(struct expo *e, enum expo_format fmt);
/* Frees a whole-body buffer; does nothing to a stream buffer (the caller's). */
void expo_free(struct expo *e);
/* 1 once the encoder has a sticky error: producing more is wasted work. */
static inline int expo_failed(const struct expo *e)
{
    return e->err != 0;
}
/* Bytes produced so far (stream: flushed + pending). */
static inline size_t expo_total(const struct expo *e)
{
    return e->flushed + e->len;
}

/* Starts a family: writes HELP and TYPE (text: HELP, TYPE; OpenMetrics: TYPE, HELP with
 * the _total/_info suffix removed). help is plain text, escaped here. */
int expo_family(struct expo *e, const char *name, enum expo_type type, const char *help);

/* One sample of the current family. labels[0..n) is the pre-escaped text inside the
 * braces (n == 0: no braces). expo_sample2 joins two fragments with ','; either may be
 * empty. */
void expo_sample(struct expo *e, const char *labels, size_t n, double v);
void expo_sample2(struct expo *e, const char *l1, size_t n1, const char *l2, size_t n2, double v);
void expo_sample_u64(struct expo *e, const char *labels, size_t n, uint64_t v);
/* Same as expo_sample2(e, l1, n1, l2, n2, (double)ms / 1000.0), byte for byte, for a
 * ThingsBoard millisecond timestamp; printed in fixed point (expo_fmt_ms). */
void expo_sample2_ms(struct expo *e, const char *l1, size_t n1, const char *l2, size_t n2,
                     int64_t ms);

/* Ends the body (OpenMetrics: "# EOF\n", written only when no error occurred before)
 * and, in stream mode, hands the pending bytes to the sink. Returns the sticky error
 * or EXPO_OK. Call it only for a render that completed: "# EOF" tells an OpenMetrics
 * parser that the exposition is whole. */
int expo_finish(struct expo *e);

/* The body so far (stream mode: only the bytes not yet flushed); valid until the
 * next call on e. */
const char *expo_body(const struct expo *e, size_t *len);
/* Whole-body mode only: hands the heap buffer to the caller (free() it); e becomes
 * empty. May return NULL with *len 0 for an empty body. Stream mode: NULL, *len 0. */
char *expo_take(struct expo *e, size_t *len);

const char *expo_strerror(int err);
/* Content-Type for a format. */
const char *expo_content_type(enum expo_format fmt);

/* --- numbers --------------------------------------------------------------------- */

/* Writes v as Go's ParseFloat reads it: NaN, +Inf, -Inf, integers without exponent
 * below 2^53, otherwise the shortest round-trip text. out needs EXPO_NUM_MAX bytes.
 * Returns the length (no NUL counted; a NUL is written). */
size_t expo_fmt_double(char *out, double v);
size_t expo_fmt_u64(char *out, uint64_t v);
/* Milliseconds as seconds: the same bytes as expo_fmt_double(out, (double)ms / 1000.0)
 * for every ms (proven by a unit test over millions of values), without floating
 * point below |ms| < 10^15: "1700000000.12" for 1700000000120, "-0.005" for -5. */
size_t expo_fmt_ms(char *out, int64_t ms);

/* --- label values ---------------------------------------------------------------- */

/* Worst-case escaped size of n input bytes (an invalid byte becomes 3). */
#define EXPO_ESCAPE_BOUND(n) ((n)*3u)

/* Escapes s[0..n) as a label value (no quotes added) into dst[0..cap). Returns the
 * length written, or (size_t)-1 if cap < EXPO_ESCAPE_BOUND(n) and it did not fit.
 * *replaced (may be NULL) is increased by the invalid UTF-8 sequences replaced. */
size_t expo_escape_label(char *dst, size_t cap, const char *s, size_t n, uint64_t *replaced);

/* Builder of a pre-escaped label list `a="x",b="y"` in a caller buffer. */
struct expo_labels {
    char *buf; /* caller-owned, cap bytes */
    size_t len, cap;
    int err; /* sticky EXPO_ERR_ARG (bad name) or EXPO_ERR_FULL (no room) */
    uint64_t replaced;
};
void expo_labels_init(struct expo_labels *lb, char *buf, size_t cap);
/* Appends name="escaped value". name must be a valid label name not starting "__". */
int expo_labels_add(struct expo_labels *lb, const char *name, const char *value, size_t vlen);

/* --- names ----------------------------------------------------------------------- */

/* 1 if s[0..n) matches [a-zA-Z_][a-zA-Z0-9_]* (and, for labels, does not start "__"). */
int expo_name_valid(const char *s, size_t n);
int expo_label_name_valid(const char *s, size_t n);

/* Turns any byte string into a snake_case name: camelCase -> camel_case, runs of other
 * characters (dots, dashes, spaces, non-ASCII) -> one '_', lower case, no leading or
 * trailing '_', a leading digit gets a '_' in front, empty -> "_". Writes at most cap-1
 * bytes and a NUL (cap >= 2); returns the length. */
size_t expo_sanitize_name(char *dst, size_t cap, const char *src, size_t n);

/* A set of sanitised names that remembers the original each came from, to detect two
 * different originals sanitising to the same name ("batteryLevel" and "battery_level").
 * Heap-allocated; one owner thread. */
struct expo_nameset {
    struct expo_name_slot *slots;
    size_t cap, count;
};
#define EXPO_NAME_NEW       0 /* first time: dst holds the sanitised name */
#define EXPO_NAME_SAME      1 /* this original was seen before: same name again */
#define EXPO_NAME_RENAMED   2 /* collision: dst holds a unique name with _2, _3… added */
#define EXPO_NAME_COLLISION 3 /* collision and no free suffix (or renaming not asked) */
void expo_nameset_init(struct expo_nameset *s);
void expo_nameset_free(struct expo_nameset *s);
/* Reserves a name nobody may take (e.g. the fixed labels asset_id, asset, profile). */
int expo_nameset_reserve(struct expo_nameset *s, const char *name);
/* Sanitises orig[0..n) into dst[0..cap) and records it. rename != 0 asks for a _N
 * suffix on collision. Returns EXPO_NAME_* or EXPO_ERR_FULL (out of memory). */
int expo_nameset_add(struct expo_nameset *s, const char *orig, size_t n, char *dst, size_t cap,
                     int rename);

#endif
