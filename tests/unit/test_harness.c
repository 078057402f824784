/* test_harness.c -- the harness checks itself: a check that must fail, fails. */
#include "tests/harness.h"

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

int main(void)
{
    RUN(test_checks_pass);
    RUN(test_failure_is_detected);
    return harness_done();
}
