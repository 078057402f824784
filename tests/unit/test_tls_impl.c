/*
 * test_tls_impl.c -- which BearSSL implementations the TLS client and the HTTPS server
 * (br_ssl_server_init_full_ec, as transport/tls_server.c) really use on the architecture
 * this test was compiled for (the release archives ship amd64, arm64 and
 * armv7; ./build.sh test runs the ARM builds of this test under qemu).
 *
 * Table-based AES and GHASH leak the key through cache timing. BearSSL uses the CPU's
 * AES and carry-less multiply instructions on x86 when they are present; everywhere
 * else the client must get the constant-time bitsliced AES (aes_ct64 on 64-bit, aes_ct
 * on 32-bit) and the constant-time GHASH (ghash_ctmul64 / ghash_ctmul). The names of the
 * chosen implementations are printed for the build log and BENCHMARKS.md.
 */
#include "tests/harness.h"

#include <bearssl.h>

struct named {
    const void *impl;
    const char *name;
};

static const char *name_of(const void *impl, const struct named *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].impl && t[i].impl == impl)
            return t[i].name;
    return "unknown";
}

static br_ssl_client_context sc;
static br_x509_minimal_context xc;
static br_ssl_server_context ss;

/* The names of the engine's implementations; checks them against this architecture. */
static void check_engine(const br_ssl_engine_context *e, const char *who)
{
    const struct named aes[] = {
        { br_aes_x86ni_ctr_get_vtable(), "aes_x86ni" },
        { &br_aes_ct64_ctr_vtable, "aes_ct64" },
        { &br_aes_ct_ctr_vtable, "aes_ct" },
        { &br_aes_big_ctr_vtable, "aes_big (table-based)" },
        { &br_aes_small_ctr_vtable, "aes_small (table-based)" },
    };
    const struct named gh[] = {
        { (const void *)br_ghash_pclmul_get(), "ghash_pclmul" },
        { (const void *)&br_ghash_ctmul64, "ghash_ctmul64" },
        { (const void *)&br_ghash_ctmul, "ghash_ctmul" },
        { (const void *)&br_ghash_ctmul32, "ghash_ctmul32" },
    };
    const struct named cc[] = {
        { (const void *)br_chacha20_sse2_get(), "chacha20_sse2" },
        { (const void *)&br_chacha20_ct_run, "chacha20_ct" },
    };
    const struct named po[] = {
        { (const void *)br_poly1305_ctmulq_get(), "poly1305_ctmulq" },
        { (const void *)&br_poly1305_ctmul_run, "poly1305_ctmul" },
        { (const void *)&br_poly1305_ctmul32_run, "poly1305_ctmul32" },
    };
    const struct named ec[] = {
        { &br_ec_all_m31, "ec_all_m31" },
        { &br_ec_all_m15, "ec_all_m15" },
    };
    const char *a = name_of(e->iaes_ctr, aes, sizeof aes / sizeof aes[0]);
    const char *g = name_of((const void *)e->ighash, gh, sizeof gh / sizeof gh[0]);
    const char *c = name_of((const void *)e->ichacha, cc, sizeof cc / sizeof cc[0]);
    const char *p = name_of((const void *)e->ipoly, po, sizeof po / sizeof po[0]);
    const char *k = name_of(e->iec, ec, sizeof ec / sizeof ec[0]);
    CHECK_CTX("%s", who);
    printf("# bearssl %s: %s %s %s %s %s\n", who, a, g, c, p, k);

#if defined(__x86_64__)
    /* the instructions when the CPU has them, else the 64-bit constant-time code */
    CHECK_STR(a, br_aes_x86ni_ctr_get_vtable() ? "aes_x86ni" : "aes_ct64");
    CHECK_STR(g, br_ghash_pclmul_get() ? "ghash_pclmul" : "ghash_ctmul64");
    CHECK_STR(p, "poly1305_ctmulq");
#elif defined(__aarch64__)
    CHECK_STR(a, "aes_ct64");
    CHECK_STR(g, "ghash_ctmul64");
    CHECK_STR(c, "chacha20_ct");
    CHECK_STR(p, "poly1305_ctmulq");
#elif defined(__arm__)
    /* ARMv7-A multiplies 32x32->64 in constant time, so ghash_ctmul (not ctmul32) */
    CHECK_STR(a, "aes_ct");
    CHECK_STR(g, "ghash_ctmul");
    CHECK_STR(c, "chacha20_ct");
    CHECK_STR(p, "poly1305_ctmul");
#else
    SKIP("no expectation written for this architecture");
#endif
    CHECK_STR(k, "ec_all_m31");
}

static void test_client(void)
{
    br_ssl_client_init_full(&sc, &xc, NULL, 0);
    check_engine(&sc.eng, "client");
}

static void test_server(void)
{
    br_ssl_server_init_full_ec(&ss, NULL, 0, BR_KEYTYPE_EC, NULL);
    check_engine(&ss.eng, "server");
}

int main(void)
{
    RUN(test_client);
    RUN(test_server);
    return harness_done();
}
