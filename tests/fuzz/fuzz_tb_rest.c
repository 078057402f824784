/* fuzz_tb_rest.c -- every REST parser on the same input: the token pair, error
 * bodies, asset pages (fed into a real asset table), key lists, attributes and
 * assetDetails in both forms. */
#include "core/assets.h"
#include "core/tb.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static jsmntok_t tok[8192];
static assets_table at;
static uint64_t amem[(1u << 20) / 8];

static int on_asset(void *ctx, const tb_asset *a)
{
    (void)ctx;
    int i = assets_add_tb(&at, a);
    if (i >= 0 && assets_find(&at, a->id) != i)
        abort();
    return 0;
}

static int on_key(void *ctx, const char *k, size_t n, int esc)
{
    (void)ctx;
    char buf[LIM_KEY_BYTES];
    if (esc)
        json_unescape(k, n, buf, sizeof buf);
    return 0;
}

static int on_attr(void *ctx, const tb_attr *a)
{
    (void)ctx;
    char scratch[2048];
    tb_detail d[LIM_DETAIL_LABELS];
    const jsmntok_t *v = a->value;
    tb_parse_details(a->json + v->start, (size_t)(v->end - v->start), v->type == JSMN_STRING,
                     scratch, sizeof scratch, d, LIM_DETAIL_LABELS);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        if (assets_init(&at, amem, sizeof amem, 256, 16384) != 0)
            abort();
        init = 1;
    }
    assets_reset(&at);
    const char *b = (const char *)data;
    tb_token_pair p;
    tb_parse_login(b, size, tok, 8192, &p);
    tb_error e;
    tb_parse_error(size ? 400 + data[0] % 200 : 0, b, size, tok, 8192, &e);
    if (strlen(e.message) >= sizeof e.message)
        abort();
    tb_page_info info;
    tb_parse_asset_page(b, size, tok, 8192, on_asset, NULL, &info);
    tb_parse_key_list(b, size, tok, 8192, on_key, NULL);
    tb_parse_attributes(b, size, tok, 8192, on_attr, NULL);
    char scratch[1024];
    tb_detail d[4];
    tb_parse_details(b, size, 1, scratch, sizeof scratch, d, 4);
    return 0;
}
