/*
 * tb_ws_same.h -- tb_ws_parse + tb_ws_visit with a token array too small for the whole
 * message (so it is outlined and read one entity at a time) against the same with a
 * token array that holds it whole, the reference: same verdict, same envelope, and the
 * same callbacks in the same order with the same views. Header only, test code
 * (tests/unit/test_tb_ws_outline.c and tests/fuzz/fuzz_tb_ws.c).
 */
#ifndef IOTPRO_TESTS_TB_WS_SAME_H
#define IOTPRO_TESTS_TB_WS_SAME_H

#include <stdint.h>
#include <string.h>

#include "core/tb.h"

/* One callback of the reference visit: an entity (key == NULL) or a value. */
typedef struct tbs_call {
    uint8_t id[16];
    tb_ws_value v;
} tbs_call;

static tbs_call tbs_log[1u << 15];
static size_t tbs_n, tbs_at;
static int tbs_diff;

static int tbs_rec_entity(void *ctx, const uint8_t id[16])
{
    (void)ctx;
    if (tbs_n < sizeof tbs_log / sizeof tbs_log[0]) {
        memcpy(tbs_log[tbs_n].id, id, 16);
        tbs_log[tbs_n].v.key = NULL;
    }
    tbs_n++;
    return 0;
}

static int tbs_rec_value(void *ctx, const tb_ws_value *v)
{
    (void)ctx;
    if (tbs_n < sizeof tbs_log / sizeof tbs_log[0]) {
        memcpy(tbs_log[tbs_n].id, v->entity, 16);
        tbs_log[tbs_n].v = *v;
    }
    tbs_n++;
    return 0;
}

static int tbs_cmp_entity(void *ctx, const uint8_t id[16])
{
    (void)ctx;
    if (tbs_at >= tbs_n)
        return tbs_diff = 1; /* a call more than the reference made */
    const tbs_call *c = &tbs_log[tbs_at++];
    if (c->v.key || memcmp(c->id, id, 16))
        tbs_diff = 1;
    return tbs_diff;
}

static int tbs_cmp_value(void *ctx, const tb_ws_value *v)
{
    (void)ctx;
    if (tbs_at >= tbs_n)
        return tbs_diff = 1;
    const tbs_call *c = &tbs_log[tbs_at++];
    const tb_ws_value *a = &c->v;
    if (!a->key || memcmp(c->id, v->entity, 16) || a->type != v->type || a->key != v->key ||
        a->key_len != v->key_len || a->key_escaped != v->key_escaped || a->ts != v->ts ||
        a->value != v->value || a->value_len != v->value_len ||
        a->value_escaped != v->value_escaped)
        tbs_diff = 1;
    return tbs_diff;
}

/* 0: both agree; 1: the small array refused the message with TB_ERR_TOKENS (an entity
 * or the envelope needs more; allowed); 2: the big array was too small to be the
 * reference; < 0: they differ (the number tells where). *outlined: the small parse's. */
static int tb_ws_same(const char *msg, size_t len, jsmntok_t *big, unsigned nbig, jsmntok_t *small,
                      unsigned nsmall, int *outlined)
{
    tb_ws_msg a, b;
    int ra = tb_ws_parse(msg, len, big, nbig, &a);
    int rb = tb_ws_parse(msg, len, small, nsmall, &b);
    *outlined = rb == TB_OK && b.outlined;
    if (ra == TB_OK && a.outlined)
        return 2;
    if (ra == TB_ERR_TOKENS)
        return 2;
    if (rb == TB_ERR_TOKENS)
        return ra == TB_ERR_JSON ? -1 : 1;
    if (ra != rb)
        return -2;
    if (ra != TB_OK)
        return 0;
    if (a.kind != b.kind || a.legacy != b.legacy || a.cmd_id != b.cmd_id ||
        a.error_code != b.error_code || a.error_msg != b.error_msg ||
        a.error_msg_len != b.error_msg_len || a.total_elements != b.total_elements ||
        a.total_pages != b.total_pages || a.has_next != b.has_next)
        return -3;
    if (a.kind != TB_WS_DATA && a.kind != TB_WS_UPDATE)
        return 0;
    tbs_n = tbs_at = 0;
    tbs_diff = 0;
    int va = tb_ws_visit(msg, big, nbig, &a, tbs_rec_entity, tbs_rec_value, NULL);
    if (tbs_n > sizeof tbs_log / sizeof tbs_log[0])
        return 2;
    int vb = tb_ws_visit(msg, small, nsmall, &b, tbs_cmp_entity, tbs_cmp_value, NULL);
    if (tbs_diff)
        return -4;
    if (va != vb || tbs_at != tbs_n)
        return -5;
    return 0;
}

#endif
