/*
 * test_ws_utf8.c -- the incremental UTF-8 validator (core/utf8) that the WebSocket
 * decoder uses for text and close reasons.
 *
 * Oracle: a separate decode-then-check routine written here from RFC 3629 section 3
 * (decode the code point, then reject overlong forms, surrogates and > U+10FFFF). The
 * validator is compared with it on every 1-, 2- and 3-byte string and on all 4-byte
 * strings that start with F0..F7, whole and split at every point; hand-written rows
 * (Markus Kuhn's stress-test classes, as Autobahn 6.x uses) check the fail-fast index.
 */
#include "core/utf8.h"
#include "tests/harness.h"

static int oracle_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t b = p[i];
        size_t len;
        uint32_t cp, min;
        if (b < 0x80) {
            i++;
            continue;
        } else if ((b & 0xE0) == 0xC0) {
            len = 2, cp = b & 0x1F, min = 0x80;
        } else if ((b & 0xF0) == 0xE0) {
            len = 3, cp = b & 0x0F, min = 0x800;
        } else if ((b & 0xF8) == 0xF0) {
            len = 4, cp = b & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

static int check_valid(const uint8_t *p, size_t n)
{
    uint32_t st = UTF8_START;
    return utf8_check(&st, p, n) == n && utf8_complete(st);
}

static int check_split(const uint8_t *p, size_t n, size_t s)
{
    uint32_t st = UTF8_START;
    if (utf8_check(&st, p, s) != s)
        return 0;
    return utf8_check(&st, p + s, n - s) == n - s && utf8_complete(st);
}

static void test_exhaustive_short(void)
{
    uint8_t b[3];
    long mismatches = 0, valid = 0;
    for (unsigned a = 0; a < 256; a++) {
        b[0] = (uint8_t)a;
        mismatches += check_valid(b, 1) != oracle_valid(b, 1);
        for (unsigned c = 0; c < 256; c++) {
            b[1] = (uint8_t)c;
            mismatches += check_valid(b, 2) != oracle_valid(b, 2);
            mismatches += check_split(b, 2, 1) != oracle_valid(b, 2);
            for (unsigned d = 0; d < 256; d++) {
                b[2] = (uint8_t)d;
                int o = oracle_valid(b, 3);
                valid += o;
                mismatches += check_valid(b, 3) != o;
                if (a >= 0xE0 && a <= 0xEF)
                    mismatches += (check_split(b, 3, 1) != o) + (check_split(b, 3, 2) != o);
            }
        }
    }
    CHECK_INT(mismatches, 0);
    CHECK(valid > 1000000); /* the oracle is not trivially rejecting */
}

static void test_exhaustive_four(void)
{
    uint8_t b[4];
    long mismatches = 0, valid = 0;
    for (unsigned a = 0xF0; a < 0xF8; a++)
        for (unsigned c = 0; c < 256; c++)
            for (unsigned d = 0x70; d < 0xD0; d++)
                for (unsigned e = 0x70; e < 0xD0; e++) {
                    b[0] = (uint8_t)a, b[1] = (uint8_t)c, b[2] = (uint8_t)d;
                    b[3] = (uint8_t)e;
                    int o = oracle_valid(b, 4);
                    valid += o;
                    mismatches += check_valid(b, 4) != o;
                    if ((d & 0x0F) == 0 && (e & 0x0F) == 0)
                        for (size_t s = 1; s < 4; s++)
                            mismatches += check_split(b, 4, s) != o;
                }
    CHECK_INT(mismatches, 0);
    CHECK_INT(valid, 0x100000); /* every supplementary-plane code point exactly once */
}

/* fail-fast: index of the first byte that makes the input impossible */
static void test_first_bad_byte(void)
{
    static const struct {
        const char *s;
        size_t n;
        size_t bad; /* == n: valid so far */
        int complete;
    } R[] = {
        { "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!", 29, 29, 1 },
        { "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 11, 11, 1 }, /* kosme */
        { "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
          "edited",
          20, 12, 0 },
        { "\xf4\x8f\xbf\xbf", 4, 4, 1 },     /* U+10FFFF */
        { "\xf4\x90\x80\x80", 4, 1, 0 },     /* U+110000 */
        { "\xf8\x88\x80\x80\x80", 5, 0, 0 }, /* 5-byte form */
        { "\xfc\x84\x80\x80\x80\x80", 6, 0, 0 },
        { "\x80", 1, 0, 0 }, /* lone continuation */
        { "a\xbf", 2, 1, 0 },
        { "\xc0\x80", 2, 0, 0 },     /* overlong NUL */
        { "\xe0\x80\xaf", 3, 1, 0 }, /* overlong '/' */
        { "\xf0\x80\x80\xaf", 4, 1, 0 },
        { "\xed\x9f\xbf", 3, 3, 1 }, /* U+D7FF */
        { "\xed\xa0\x80", 3, 1, 0 }, /* U+D800 */
        { "\xed\xbf\xbf", 3, 1, 0 }, /* U+DFFF */
        { "\xef\xbf\xbe", 3, 3, 1 }, /* U+FFFE non-character: valid */
        { "\xef\xbf\xbf", 3, 3, 1 },
        { "\xc2", 1, 1, 0 }, /* incomplete: not bad yet */
        { "\xe1\xbd", 2, 2, 0 },
        { "\xc2 ", 2, 1, 0 }, /* cut short by a space */
        { "\xfe", 1, 0, 0 },
        { "\xff", 1, 0, 0 },
        { "", 0, 0, 1 },
    };
    for (size_t i = 0; i < sizeof R / sizeof R[0]; i++) {
        CHECK_CTX("row %zu", i);
        const uint8_t *p = (const uint8_t *)R[i].s;
        uint32_t st = UTF8_START;
        size_t got = utf8_check(&st, p, R[i].n);
        CHECK_INT(got, R[i].bad);
        if (got == R[i].n)
            CHECK_INT(utf8_complete(st), R[i].complete);
        else
            CHECK_INT(st, UTF8_BAD);
        /* byte by byte: the same first bad byte */
        st = UTF8_START;
        size_t k = 0;
        while (k < R[i].n && utf8_check(&st, p + k, 1) == 1)
            k++;
        CHECK_INT(k, R[i].bad);
    }
    /* sticky: after a bad byte nothing more is accepted */
    uint32_t st = UTF8_START;
    CHECK_INT(utf8_check(&st, (const uint8_t *)"\xff", 1), 0);
    CHECK_INT(utf8_check(&st, (const uint8_t *)"a", 1), 0);
}

/* utf8_seq_len agrees with the incremental validator: a length L > 0 means the first L
 * bytes form exactly one complete, valid code point; 0 means no valid sequence starts
 * there. Exhaustive over every 1-3 byte prefix, sampled continuation for 4 bytes. */
static void test_seq_len_matches_validator(void)
{
    uint8_t b[4];
    for (unsigned x = 0; x < 0x1000000; x += (x >> 16) >= 0xF0 ? 1 : 0x3F) {
        b[0] = (uint8_t)(x >> 16);
        b[1] = (uint8_t)(x >> 8);
        b[2] = (uint8_t)x;
        b[3] = 0x80 | (uint8_t)(x & 0x3F);
        size_t l = utf8_seq_len(b, 4);
        /* reference: the shortest prefix the validator finds complete */
        size_t want = 0;
        for (size_t k = 1; k <= 4; k++) {
            uint32_t st = UTF8_START;
            if (utf8_check(&st, b, k) != k)
                break;
            if (utf8_complete(st)) {
                want = k;
                break;
            }
        }
        CHECK_CTX("bytes %02x %02x %02x %02x", b[0], b[1], b[2], b[3]);
        CHECK_INT(l, want);
        if (harness_cur_failed)
            return;
    }
    CHECK_INT(utf8_seq_len((const uint8_t *)"\xE2\x82", 2), 0); /* cut short */
    CHECK_INT(utf8_seq_len(b, 0), 0);
}

/* The 8-bytes-at-a-time ASCII skip: long strings of ASCII runs with multi-byte and
 * invalid bytes at every offset. Oracle: the same validator fed one byte at a time
 * (n < 8 never takes the skip), which the exhaustive tests above pin to RFC 3629. */
static void test_ascii_skip(void)
{
    static const char *pieces[] = { "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                    "\xff",     "\x80",         "\xed\xa0\x80",
                                    "\xc2" };
    uint32_t seed = 12345;
    uint8_t buf[200];
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = 0;
        while (n < 150) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = seed >> 16;
            if (r % 4) { /* an ASCII run of 0..31 bytes (any value < 0x80, NUL included) */
                for (unsigned k = r % 32; k-- && n < 150;)
                    buf[n++] = (uint8_t)((r + k * 37u) & 0x7F);
            } else if (iter % 3 == 0 || r % 7 < 3) { /* a valid sequence */
                const char *pc = pieces[(r >> 4) % 3];
                for (size_t k = 0; pc[k]; k++)
                    buf[n++] = (uint8_t)pc[k];
            } else {
                const char *pc = pieces[(r >> 4) % 7];
                for (size_t k = 0; pc[k]; k++)
                    buf[n++] = (uint8_t)pc[k];
            }
        }
        uint32_t whole = UTF8_START, one = UTF8_START, split = UTF8_START;
        size_t got = utf8_check(&whole, buf, n), k = 0, cut = (size_t)(seed % (n + 1));
        while (k < n && utf8_check(&one, buf + k, 1) == 1)
            k++;
        CHECK_CTX("iteration %d", iter);
        CHECK_INT(got, k);
        CHECK_INT(whole, one);
        /* split at a random point: same verdict */
        size_t a = utf8_check(&split, buf, cut);
        if (a == cut)
            a += utf8_check(&split, buf + cut, n - cut);
        CHECK_INT(a, k);
        CHECK_INT(split, one);
        if (harness_cur_failed)
            return;
    }
}

int main(void)
{
    RUN(test_exhaustive_short);
    RUN(test_exhaustive_four);
    RUN(test_first_bad_byte);
    RUN(test_seq_len_matches_validator);
    RUN(test_ascii_skip);
    return harness_done();
}
