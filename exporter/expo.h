/*
 * expo.h -- Prometheus exposition encoder: text format 0.0.4 and OpenMetrics 1.0.0.
 *
 * The encoder appends to one growable heap buffer, bounded by a maximum size given at
 * init. A render is: expo_family() once per family (it writes HELP and TYPE), then one
 * expo_sample*() per series, then expo_finish(). Errors are sticky (like a stream):
 * once the body exceeds its bound or a name is invalid, further calls do nothing and
 * expo_finish() returns the first error, so the caller checks once and answers 500
 * instead of serving a truncated body.
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
 *   - expo_reset() keeps the allocation, so an owner that renders again (web.c keeps
 *     one encoder per format) writes into pages that are already mapped;
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
 * Thread safety: a struct expo belongs to one thread at a time; the free functions are
 * pure and reentrant.
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

#define EXPO_NAME_MAX 256 /* metric and label names, with the NUL */
#define EXPO_NUM_MAX  32  /* expo_fmt_double output, with the NUL */

struct expo {
    char *buf;            /* owned; NULL until the first write */
    size_t len, cap, max;
    enum expo_format fmt;
    int err;              /* sticky: first EXPO_ERR_*, or EXPO_OK */
    int finished;
    char name[EXPO_NAME_MAX]; /* sample name of the current family */
    size_t name_len;
    uint64_t samples;        /* sample lines written */
    uint64_t utf8_replaced;  /* invalid UTF-8 sequences replaced in HELP texts */
};

/* Prepares an empty encoder; max_bytes bounds the body (0 = LIM_EXPO_BODY_DEFAULT). */
void expo_init(struct expo *e, enum expo_format fmt, size_t max_bytes);
/* Empties the body for another render, keeping the allocation. */
void expo_reset(struct expo *e, enum expo_format fmt);
void expo_free(struct expo *e);

/* Starts a family: writes HELP and TYPE (text: HELP, TYPE; OpenMetrics: TYPE, HELP with
 * the _total/_info suffix removed). help is plain text, escaped here. */
int expo_family(struct expo *e, const char *name, enum expo_type type, const char *help);

/* One sample of the current family. labels[0..n) is the pre-escaped text inside the
 * braces (n == 0: no braces). expo_sample2 joins two fragments with ','; either may be
 * empty. */
void expo_sample(struct expo *e, const char *labels, size_t n, double v);
void expo_sample2(struct expo *e, const char *l1, size_t n1, const char *l2, size_t n2,
                  double v);
void expo_sample_u64(struct expo *e, const char *labels, size_t n, uint64_t v);
/* Same as expo_sample2(e, l1, n1, l2, n2, (double)ms / 1000.0), byte for byte, for a
 * ThingsBoard millisecond timestamp; printed in fixed point (expo_fmt_ms). */
void expo_sample2_ms(struct expo *e, const char *l1, size_t n1, const char *l2, size_t n2,
                     int64_t ms);

/* Ends the body (OpenMetrics: "# EOF\n"). Returns the sticky error or EXPO_OK. */
int expo_finish(struct expo *e);

/* The body so far; valid until the next call on e. */
const char *expo_body(const struct expo *e, size_t *len);
/* Hands the heap buffer to the caller (free() it); e becomes empty. May return NULL
 * with *len 0 for an empty body. */
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
#define EXPO_ESCAPE_BOUND(n) ((n) * 3u)

/* Escapes s[0..n) as a label value (no quotes added) into dst[0..cap). Returns the
 * length written, or (size_t)-1 if cap < EXPO_ESCAPE_BOUND(n) and it did not fit.
 * *replaced (may be NULL) is increased by the invalid UTF-8 sequences replaced. */
size_t expo_escape_label(char *dst, size_t cap, const char *s, size_t n, uint64_t *replaced);

/* Builder of a pre-escaped label list `a="x",b="y"` in a caller buffer. */
struct expo_labels {
    char *buf;       /* caller-owned, cap bytes */
    size_t len, cap;
    int err;         /* sticky EXPO_ERR_ARG (bad name) or EXPO_ERR_FULL (no room) */
    uint64_t replaced;
};
void expo_labels_init(struct expo_labels *lb, char *buf, size_t cap);
/* Appends name="escaped value". name must be a valid label name not starting "__". */
int expo_labels_add(struct expo_labels *lb, const char *name, const char *value,
                    size_t vlen);

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
int expo_nameset_add(struct expo_nameset *s, const char *orig, size_t n, char *dst,
                     size_t cap, int rename);

#endif
