/* test_harness.c -- the harness checks itself: a check that must fail, fails, and a
 * test that failed stays failed. */
#include "tests/harness.h"

#include <stdlib.h>
#include <unistd.h>

static void test_checks_pass(void)
{
    CHECK(1);
    CHECK_INT(2 + 2, 4);
    CHECK_STR("abc", "abc");
    CHECK_MEM("a\0b", 3, "a\0b", 3);
    CHECK_DBL(0.1 + 0.2, 0.3, 1e-12);
}

/* A deliberately failing check must be detected and counted. */
static void test_failure_is_detected(void)
{
    int before = harness_cur_failed;
    printf("# (the next line is an expected failure report)\n");
    CHECK_INT(1, 2);
    int detected = harness_cur_failed == before + 1;
    harness_cur_failed = before; /* undo, then assert on what we saw */
    CHECK(detected);
}

/* Inner tests, run by test_run_reports() under a nested RUN, never from main. */
static void inner_fails_then_skips(void)
{
    CHECK_INT(1, 2);
    SKIP("a skip after a failed check must not hide it");
}

static void inner_skips(void)
{
    SKIP("plain skip");
}

/* Runs RUN(fn) with stdout captured into out[cap], then puts the harness back as it
 * was, so the nested result (an expected "not ok" line) neither reaches tests/run.sh
 * nor counts in this program's totals. Returns the inner test's failed/skipped counts
 * through *failed / *skipped. */
#define RUN_CAPTURED(fn, out, cap, failed, skipped)                         \
    do {                                                                    \
        int p_ = harness_passed, f_ = harness_failed, s_ = harness_skipped; \
        int cf_ = harness_cur_failed, cs_ = harness_cur_skipped;            \
        const char *name_ = harness_name;                                   \
        FILE *tmp_ = tmpfile();                                             \
        CHECK(tmp_ != NULL);                                                \
        if (!tmp_)                                                          \
            return;                                                         \
        fflush(stdout);                                                     \
        int saved_ = dup(STDOUT_FILENO);                                    \
        dup2(fileno(tmp_), STDOUT_FILENO);                                  \
        RUN(fn);                                                            \
        fflush(stdout);                                                     \
        dup2(saved_, STDOUT_FILENO);                                        \
        close(saved_);                                                      \
        *(failed) = harness_failed - f_;                                    \
        *(skipped) = harness_skipped - s_;                                  \
        harness_passed = p_, harness_failed = f_, harness_skipped = s_;     \
        harness_cur_failed = cf_, harness_cur_skipped = cs_;                \
        harness_name = name_;                                               \
        rewind(tmp_);                                                       \
        size_t n_ = fread((out), 1, (cap)-1, tmp_);                         \
        (out)[n_] = 0;                                                      \
        fclose(tmp_);                                                       \
    } while (0)

/* A SKIP after a failed check is "not ok", counted as failed and not as skipped; a
 * plain SKIP is still a skip. */
static void test_run_reports(void)
{
    char out[4096];
    int failed, skipped;

    RUN_CAPTURED(inner_fails_then_skips, out, sizeof out, &failed, &skipped);
    CHECK(strstr(out, "not ok - inner_fails_then_skips") != NULL);
    CHECK(strstr(out, "skip - ") == NULL);
    CHECK_INT(failed, 1);
    CHECK_INT(skipped, 0);
    if (harness_cur_failed) /* as comments, so run.sh counts none of its lines */
        for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n"))
            printf("#   captured: %s\n", l);

    RUN_CAPTURED(inner_skips, out, sizeof out, &failed, &skipped);
    CHECK(strstr(out, "skip - inner_skips: plain skip") != NULL);
    CHECK(strstr(out, "ok - ") == NULL);
    CHECK_INT(failed, 0);
    CHECK_INT(skipped, 1);
}

int main(void)
{
    RUN(test_checks_pass);
    RUN(test_failure_is_detected);
    RUN(test_run_reports);
    return harness_done();
}
