/*
 * test_bytes.c -- bytes_eq (core/bytes.h) against memcmp: every length 0..100, every
 * offset of a single differing byte, both alignments of each side.
 */
#include "core/bytes.h"
#include "tests/harness.h"

static void test_against_memcmp(void)
{
    unsigned char a[128], b[128];
    int mismatches = 0, cases = 0;
    for (size_t oa = 0; oa < 3; oa++)
        for (size_t ob = 0; ob < 3; ob++)
            for (size_t n = 0; n <= 100; n++) {
                for (size_t i = 0; i < n; i++)
                    a[oa + i] = b[ob + i] = (unsigned char)(i * 7 + 1);
                mismatches += bytes_eq(a + oa, b + ob, n) != 1;
                cases++;
                for (size_t d = 0; d < n; d++) { /* one byte differs (also in the top bit) */
                    b[ob + d] ^= d % 2 ? 0x80 : 0x01;
                    mismatches += bytes_eq(a + oa, b + ob, n) != (memcmp(a + oa, b + ob, n) == 0);
                    mismatches += bytes_eq(a + oa, b + ob, n) != 0;
                    b[ob + d] ^= d % 2 ? 0x80 : 0x01;
                    cases++;
                }
            }
    CHECK_INT(mismatches, 0);
    CHECK(cases > 1000);
}

int main(void)
{
    RUN(test_against_memcmp);
    return harness_done();
}
