/*
 * log.h -- structured logging to stderr: logfmt or JSON lines, four levels.
 *
 * A log call is a constant message plus typed key/value fields:
 *
 *     log_info("assets listed", LOG_U("count", n), LOG_S("profile", name));
 *     log_warn("websocket closed", LOG_I("code", code), LOG_S("reason", why));
 *
 * Secret discipline (why the API looks like this):
 *   - The message must be a string literal (the macro pastes "" in front of it, so
 *     anything else does not compile). Nothing can be printf-formatted into it, so no
 *     token can hide in a message.
 *   - String values go through the guard before they are written: a value that looks
 *     like a JWT (three base64url segments, the first starting "eyJ") or that contains
 *     a secret registered with log_secret_add() is replaced whole by "[redacted]".
 *     The session registers the password, the JWT and the refresh token as it learns
 *     them, so even an upstream error text that quotes a token is not printed.
 *   - There is no field kind for raw bytes or for a pre-formatted line.
 *
 * Process-wide state (documented exception to "no hidden globals"): the level, the
 * format, the output fd and the registered secrets live in this module, set by
 * log_init() in main and read by every thread. Level and format are atomics; the
 * secret list is guarded by a mutex. Each line is written with a single write(2) of at
 * most LIM_LOG_LINE_BYTES, so lines from different threads never interleave; longer
 * values are cut and end in "...".
 *
 * Output, logfmt:  ts=2024-05-01T12:00:00.123Z level=info msg="assets listed" count=12
 * Output, JSON:    {"ts":"2024-05-01T12:00:00.123Z","level":"info","msg":"...","count":12}
 */
#ifndef IOTPRO_EXPORTER_LOG_H
#define IOTPRO_EXPORTER_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };
enum log_format { LOG_FMT_LOGFMT = 0, LOG_FMT_JSON = 1 };

enum log_kind { LOG_K_STR, LOG_K_INT, LOG_K_UINT, LOG_K_DBL, LOG_K_BOOL };

/* One key/value. Build with the LOG_* macros; key must be a plain identifier. */
struct log_field {
    const char *key;
    enum log_kind kind;
    union {
        const char *s; /* NUL-terminated; NULL prints as empty */
        long long i;
        unsigned long long u;
        double d;
        int b;
    } v;
    size_t len; /* LOG_K_STR: bytes of s to print; (size_t)-1 = up to NUL */
};

#define LOG_S(k, val) \
    ((struct log_field){ .key = (k), .kind = LOG_K_STR, .v.s = (val), .len = (size_t)-1 })
#define LOG_SN(k, p, n) \
    ((struct log_field){ .key = (k), .kind = LOG_K_STR, .v.s = (p), .len = (n) })
#define LOG_I(k, val) ((struct log_field){ .key = (k), .kind = LOG_K_INT, .v.i = (long long)(val) })
#define LOG_U(k, val) \
    ((struct log_field){ .key = (k), .kind = LOG_K_UINT, .v.u = (unsigned long long)(val) })
#define LOG_D(k, val) ((struct log_field){ .key = (k), .kind = LOG_K_DBL, .v.d = (double)(val) })
#define LOG_B(k, val) ((struct log_field){ .key = (k), .kind = LOG_K_BOOL, .v.b = !!(val) })

/* Sets level, format and output fd (2 for stderr). Call once in main before threads;
 * calling again (SIGHUP reload) is safe: the values are atomics. */
void log_init(enum log_level level, enum log_format fmt, int fd);
enum log_level log_get_level(void);
int log_enabled(enum log_level level);

/* Parses "debug|info|warn|error" and "logfmt|json"; 0 on success, -1 otherwise. */
int log_level_parse(const char *s, enum log_level *out);
int log_format_parse(const char *s, enum log_format *out);
const char *log_level_name(enum log_level level);

/* Registers a secret (copied, at most LIM_PASSWORD_BYTES; up to LIM_LOG_SECRETS; the
 * oldest is forgotten when full). Strings shorter than 6 bytes are not registered:
 * redacting every "admin" would make logs useless, and such a secret is no secret.
 * log_secret_forget() wipes the copy of one secret (e.g. a replaced JWT). */
void log_secret_add(const char *secret);
void log_secret_forget(const char *secret);
void log_secret_clear(void);

/* 1 if s[0..n) must not be printed: it looks like a JWT or contains a registered
 * secret. Exposed for the tests and for modules that build error strings. */
int log_is_secret(const char *s, size_t n);

/* Formats one line (with '\n') into buf[0..cap) without writing it; returns its length
 * (always < cap; cap must be >= 64). ts_ms is Unix time in milliseconds. Used by
 * log_write and the tests. */
size_t log_format_line(char *buf, size_t cap, enum log_format fmt, int64_t ts_ms,
                       enum log_level level, const char *msg, const struct log_field *f, size_t nf);

/* Writes one line if level is enabled. Use the macros below. */
void log_write(enum log_level level, const char *msg, const struct log_field *f, size_t nf);

/* The macros: first argument a string literal message, then LOG_* fields. */
#define LOG_MSG_(m, ...)  "" m
#define LOG_REST_(m, ...) __VA_ARGS__
#define LOG_AT_(lvl, ...)                                                           \
    log_write((lvl), LOG_MSG_(__VA_ARGS__, 0),                                      \
              (const struct log_field[]){ { 0 }, LOG_REST_(__VA_ARGS__) } + 1,      \
              sizeof((const struct log_field[]){ { 0 }, LOG_REST_(__VA_ARGS__) }) / \
                      sizeof(struct log_field) -                                    \
                  1)
#define log_debug(...) LOG_AT_(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  LOG_AT_(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  LOG_AT_(LOG_WARN, __VA_ARGS__)
#define log_error(...) LOG_AT_(LOG_ERROR, __VA_ARGS__)

#endif
