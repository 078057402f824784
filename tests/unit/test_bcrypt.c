/*
 * test_bcrypt.c -- core/bcrypt: published vectors, hashes made by htpasswd -B
 * (apache2-utils) and python3-bcrypt, the 72-byte rule, parse errors, and the
 * format round trip. (t_bcrypt_interop.sh checks fresh hashes from both tools at
 * test time.)
 */
#include "core/bcrypt.h"

#include "tests/harness.h"

struct vec {
    const char *pw;
    const char *hash;
};

/* Published test vectors of the original bcrypt implementations (cost 6 and 8). */
static const struct vec published[] = {
    { "", "$2a$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s." },
    { "", "$2a$08$HqWuK6/Ng6sg9gQzbLrgb.Tl.ZHfXLhvt/SgVyWhQqgqcZ7ZuUtye" },
    { "a", "$2a$06$m0CrhHm10qJ3lXRY.5zDGO3rS2KdeeWLuGmsfGlMfOxih58VYVfxe" },
    { "abc", "$2a$06$If6bvum7DFjUnE9p2uDeDu0YHzrHM6tf.iqN8.yx.jNN1ILEf7h0i" },
    { "abcdefghijklmnopqrstuvwxyz",
      "$2a$06$.rCVZVOThsIa97pEDOxvGuRRgzG64bvtJ0938xuqzv18d3ZpQhstC" },
    { "~!@#$%^&*()      ~!@#$%^&*()PNBFRD",
      "$2a$06$fPIsBO8qRqkjj273rfaOI.HtSV9jLDpTbZn782DC6/t7qT67P6FfO" },
};

/* Made with `htpasswd -nbB -C 4 u PASSWORD` (apache2-utils 2.4). */
static const struct vec htpasswd[] = {
    { "x", "$2y$04$ClwBEODqZCdqKGiu.YDA6OT0mRZO2NBJt.h4PnRH8A2drz7ijcYL6" },
    { "correct horse", "$2y$04$9f.IOFxxGCMQoF2vg1LktuxU4fFbVW9pmtnrWIiFXNY1Q.5Cyywui" },
    { "", "$2y$04$XGtLhwAOBheIos8THm5agOtu6I.2/fgz3MkGavajxgpyKE9UrZuKq" },
};

#define A80 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
/* Made with python3-bcrypt 3.2 (Debian 12): hashpw(pw, gensalt(5)) and gensalt(4, b"2a"). */
static const struct vec python[] = {
    { "pass", "$2b$05$N6BEbUfjBtz.J03xNfHQm.BoyvJBFlikWtWrWN.e4Wigd15xqVbfa" },
    { "pass", "$2a$04$5aZui9LilEchb4BBWMndBuIPjFQGyayxi5vXf2aSi2VwP9ksoCbG." },
    { "\xc3\xa9t\xc3\xa9", "$2b$05$eI2U3m08dtrM7qfmusb9IuhMVidvXSAGRdCWspFJrSvnZKGyjSJMy" },
    { "\xc3\xa9t\xc3\xa9", "$2a$04$Bk4URUVkbxNOmCsZfHH9QO.jyFbEeHsejfNjqefUeKIosr.j74QdG" },
    { A80, "$2b$05$JAh6FN/pcnGurMBYjMAXb.8Yv7BVkGpHp2wBXx8wQQg7vzyRa0hnW" },
    { A80, "$2a$04$x4idTgCQtC80bjknCdA0k.mOBCfBSEW6Kbf5SLD4pckGCNF7lH7JO" },
};

static void check_table(const struct vec *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct bcrypt_hash h;
        char out[BCRYPT_HASH_LEN + 1];
        CHECK_CTX("row %zu: %s", i, v[i].hash);
        CHECK_INT(bcrypt_parse(v[i].hash, strlen(v[i].hash), &h), 0);
        CHECK_INT(bcrypt_verify(&h, v[i].pw, strlen(v[i].pw)), 1);
        /* recomputing gives the exact digest, and formatting gives the same string */
        bcrypt_digest(v[i].pw, strlen(v[i].pw), h.cost, h.salt, h.digest);
        bcrypt_format(&h, out);
        CHECK_STR(out, v[i].hash);
        /* one byte more, one byte less, one bit changed: no match */
        char wrong[128];
        snprintf(wrong, sizeof wrong, "%sX", v[i].pw);
        if (strlen(v[i].pw) < BCRYPT_KEY_MAX) /* past 72 bytes nothing counts (below) */
            CHECK_INT(bcrypt_verify(&h, wrong, strlen(wrong)), 0);
        if (v[i].pw[0]) {
            if (strlen(v[i].pw) <= BCRYPT_KEY_MAX)
                CHECK_INT(bcrypt_verify(&h, v[i].pw, strlen(v[i].pw) - 1), 0);
            snprintf(wrong, sizeof wrong, "%s", v[i].pw);
            wrong[0] ^= 1;
            CHECK_INT(bcrypt_verify(&h, wrong, strlen(wrong)), 0);
        }
    }
    CHECK_CTX("%s", "");
}

static void test_published_vectors(void)
{
    check_table(published, sizeof published / sizeof published[0]);
}
static void test_htpasswd_hashes(void)
{
    check_table(htpasswd, sizeof htpasswd / sizeof htpasswd[0]);
}
static void test_python_hashes(void)
{
    check_table(python, sizeof python / sizeof python[0]);
}

/* Only the first 72 bytes count: an 80-byte password matches with anything after 72. */
static void test_72_byte_limit(void)
{
    struct bcrypt_hash h;
    const char *hash = python[4].hash;
    CHECK_INT(bcrypt_parse(hash, strlen(hash), &h), 0);
    CHECK_INT(bcrypt_verify(&h, A80 "tail", 84), 1);
    CHECK_INT(bcrypt_verify(&h, A80, 72), 1);
    CHECK_INT(bcrypt_verify(&h, A80, 71), 0);
    CHECK_INT(bcrypt_verify(&h, A80, 70), 0);
}

static void test_parse_errors(void)
{
    static const struct {
        const char *s;
        int err;
    } rows[] = {
        { "", BCRYPT_ERR_LENGTH },
        { "$2b$04$ClwBEODqZCdqKGiu.YDA6OT0mRZO2NBJt.h4PnRH8A2drz7ijcYL", BCRYPT_ERR_LENGTH },
        { "$2b$04$ClwBEODqZCdqKGiu.YDA6OT0mRZO2NBJt.h4PnRH8A2drz7ijcYL6x", BCRYPT_ERR_LENGTH },
        { "$2x$04$ClwBEODqZCdqKGiu.YDA6OT0mRZO2NBJt.h4PnRH8A2drz7ijcYL6", BCRYPT_ERR_VARIANT },
        { "$1b$04$ClwBEODqZCdqKGiu.YDA6OT0mRZO2NBJt.h4PnRH8A2drz7ijcYL6", BCRYPT_ERR_VARIANT },
        { "x2b$04$ClwBEODqZCdqKGiu.YDA6OT0mRZO2NBJt.h4PnRH8A2drz7ijcYL6", BCRYPT_ERR_VARIANT },
        { "$2b$03$ClwBEODqZCdqKGiu.YDA6OT0mRZO2NBJt.h4PnRH8A2drz7ijcYL6", BCRYPT_ERR_COST },
        { "$2b$32$ClwBEODqZCdqKGiu.YDA6OT0mRZO2NBJt.h4PnRH8A2drz7ijcYL6", BCRYPT_ERR_COST },
        { "$2b$4$$ClwBEODqZCdqKGiu.YDA6OT0mRZO2NBJt.h4PnRH8A2drz7ijcYL6", BCRYPT_ERR_COST },
        { "$2b$04xClwBEODqZCdqKGiu.YDA6OT0mRZO2NBJt.h4PnRH8A2drz7ijcYL6", BCRYPT_ERR_COST },
        { "$2b$04$Clw+EODqZCdqKGiu.YDA6OT0mRZO2NBJt.h4PnRH8A2drz7ijcYL6", BCRYPT_ERR_BASE64 },
        { "$2b$04$ClwBEODqZCdqKGiu.YDA6OT0mRZO2NBJt.h4PnRH8A2drz7ijcY=6", BCRYPT_ERR_BASE64 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct bcrypt_hash h;
        CHECK_CTX("row %zu", i);
        CHECK_INT(bcrypt_parse(rows[i].s, strlen(rows[i].s), &h), rows[i].err);
        CHECK(strlen(bcrypt_strerror(rows[i].err)) > 10);
    }
}

static void test_ct_equal(void)
{
    CHECK_INT(bcrypt_ct_equal("abcd", "abcd", 4), 1);
    CHECK_INT(bcrypt_ct_equal("abcd", "abce", 4), 0);
    CHECK_INT(bcrypt_ct_equal("xbcd", "abcd", 4), 0);
    CHECK_INT(bcrypt_ct_equal("", "", 0), 1);
}

int main(void)
{
    RUN(test_published_vectors);
    RUN(test_htpasswd_hashes);
    RUN(test_python_hashes);
    RUN(test_72_byte_limit);
    RUN(test_parse_errors);
    RUN(test_ct_equal);
    return harness_done();
}
