/*
 * harness.h -- the project's unit-test harness (header only).
 *
 * A test program is a list of test functions. Each check that fails prints the file,
 * line, expression and the values compared, and marks the current test failed; the
 * test goes on, so one run shows every failure. The output follows a TAP-like line
 * protocol that tests/run.sh counts:
 *
 *     ok - <test name>
 *     not ok - <test name>
 *     skip - <test name>: <why>
 *
 * Usage:
 *
 *     #include "tests/harness.h"
 *     static void test_sum(void) { CHECK_INT(1 + 1, 2); }
 *     int main(void) { RUN(test_sum); return harness_done(); }
 *
 * Table-driven tests loop over a static array of cases and call the CHECK_* macros
 * with the row's label in scope via CHECK_CTX("row %d", i) so failures name the row.
 */
#ifndef IOTPRO_TESTS_HARNESS_H
#define IOTPRO_TESTS_HARNESS_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int harness_passed, harness_failed, harness_skipped;
static int harness_cur_failed, harness_cur_skipped;
static char harness_ctx[256];

/* 1 under an emulator (tests/release/t_arch.sh runs the ARM builds under qemu with
 * IOTPRO_EMULATED=1): timings mean nothing there, and qemu's /proc/self/stat is a stub. */
static int harness_emulated(void) __attribute__((unused));
static int harness_emulated(void)
{
    const char *e = getenv("IOTPRO_EMULATED");
    return e && strcmp(e, "1") == 0;
}

/* Sets a label printed with every failure until the next CHECK_CTX or test. */
static void CHECK_CTX(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static void CHECK_CTX(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(harness_ctx, sizeof harness_ctx, fmt, ap);
    va_end(ap);
}

static void harness_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), unused));
static void harness_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    harness_cur_failed++;
    if (harness_cur_failed > 20)
        return; /* one broken loop must not bury the rest of the output */
    fprintf(stdout, "#   %s:%d: ", file, line);
    if (harness_ctx[0])
        fprintf(stdout, "[%s] ", harness_ctx);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
}

/* Prints a byte string with non-printables escaped, bounded. */
static void harness_dump(const void *p, size_t n, char *out, size_t cap) __attribute__((unused));
static void harness_dump(const void *p, size_t n, char *out, size_t cap)
{
    const unsigned char *s = p;
    size_t o = 0;
    for (size_t i = 0; i < n && o + 8 < cap; i++) {
        if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\')
            out[o++] = (char)s[i];
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", s[i]);
    }
    if (o + 4 < cap && cap > 0 && n > 0 && o + 8 >= cap)
        o += (size_t)snprintf(out + o, cap - o, "...");
    out[o < cap ? o : cap - 1] = 0;
}

#define CHECK(cond)                                                      \
    do {                                                                 \
        if (!(cond))                                                     \
            harness_fail(__FILE__, __LINE__, "CHECK(%s) failed", #cond); \
    } while (0)

#define CHECK_INT(got, want)                                                                     \
    do {                                                                                         \
        long long g_ = (long long)(got), w_ = (long long)(want);                                 \
        if (g_ != w_)                                                                            \
            harness_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #got, g_, #want, \
                         w_);                                                                    \
    } while (0)

#define CHECK_DBL(got, want, eps)                                                          \
    do {                                                                                   \
        double g_ = (double)(got), w_ = (double)(want);                                    \
        if (!(g_ - w_ <= (eps) && w_ - g_ <= (eps)))                                       \
            harness_fail(__FILE__, __LINE__, "%s == %.17g, expected %.17g", #got, g_, w_); \
    } while (0)

#define CHECK_STR(got, want)                                                        \
    do {                                                                            \
        const char *g_ = (got), *w_ = (want);                                       \
        if (g_ == NULL || w_ == NULL ? g_ != w_ : strcmp(g_, w_) != 0)              \
            harness_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #got, \
                         g_ ? g_ : "(null)", w_ ? w_ : "(null)");                   \
    } while (0)

/* Compares got[0..got_len) with want[0..want_len). */
#define CHECK_MEM(got, got_len, want, want_len)                   \
    do {                                                          \
        const void *g_ = (got), *w_ = (want);                     \
        size_t gl_ = (size_t)(got_len), wl_ = (size_t)(want_len); \
        if (gl_ != wl_ || (gl_ && memcmp(g_, w_, gl_) != 0)) {    \
            char gb_[256], wb_[256];                              \
            harness_dump(g_, gl_, gb_, sizeof gb_);               \
            harness_dump(w_, wl_, wb_, sizeof wb_);               \
            harness_fail(__FILE__, __LINE__,                      \
                         "%s (%zu bytes) \"%s\", expected "       \
                         "(%zu bytes) \"%s\"",                    \
                         #got, gl_, gb_, wl_, wb_);               \
        }                                                         \
    } while (0)

/* Marks the current test skipped (not failed), with a reason, and returns from it.
 * A test whose checks already failed stays failed: the skip must not hide them, so the
 * reason is printed as a comment and RUN reports "not ok". */
#define SKIP(...)                                                       \
    do {                                                                \
        if (harness_cur_failed)                                         \
            printf("#   %s: skip after failed checks: ", harness_name); \
        else                                                            \
            printf("skip - %s: ", harness_name);                        \
        printf(__VA_ARGS__);                                            \
        printf("\n");                                                   \
        harness_cur_skipped = 1;                                        \
        return;                                                         \
    } while (0)

static const char *harness_name = "";

#define RUN(fn)                                                                  \
    do {                                                                         \
        harness_name = #fn;                                                      \
        harness_cur_failed = harness_cur_skipped = 0;                            \
        harness_ctx[0] = 0;                                                      \
        fn();                                                                    \
        /* failed checks win over a SKIP that came after them */                 \
        if (harness_cur_failed) {                                                \
            harness_failed++;                                                    \
            printf("not ok - %s (%d failed checks)\n", #fn, harness_cur_failed); \
        } else if (harness_cur_skipped)                                          \
            harness_skipped++;                                                   \
        else {                                                                   \
            harness_passed++;                                                    \
            printf("ok - %s\n", #fn);                                            \
        }                                                                        \
        fflush(stdout);                                                          \
    } while (0)

static int harness_done(void) __attribute__((unused));
static int harness_done(void)
{
    printf("# %d passed, %d failed, %d skipped\n", harness_passed, harness_failed, harness_skipped);
    return harness_failed ? 1 : 0;
}

#endif
