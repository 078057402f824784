/*
 * tb_seen.h -- records what the jsmn path's tb_ws_visit() reports (the entity id and
 * every value), so tests/unit/test_tb_fast.c and tests/fuzz/fuzz_tb_fast.c can compare
 * it with what the fast path extracted. Header only, test code.
 */
#ifndef IOTPRO_TESTS_TB_SEEN_H
#define IOTPRO_TESTS_TB_SEEN_H

#include <stdint.h>
#include <string.h>

#include "core/tb_fast.h"

typedef struct seen {
    int entities, n;
    uint8_t id[16];
    tb_ws_value v[TB_FAST_MAX_VALUES + 1];
} seen;

static int on_entity(void *ctx, const uint8_t id[16])
{
    seen *s = ctx;
    if (s->entities++ == 0)
        memcpy(s->id, id, 16);
    return 0;
}

static int on_value(void *ctx, const tb_ws_value *v)
{
    seen *s = ctx;
    if (s->n <= (int)TB_FAST_MAX_VALUES)
        s->v[s->n] = *v;
    s->n++;
    return 0;
}

#endif
