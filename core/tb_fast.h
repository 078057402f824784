/*
 * tb_fast.h -- a strict scanner for the one hot WebSocket reply shape: a single-entity
 * EntityDataUpdate `update` with errorCode 0. It either validates the whole message
 * and extracts what tb_ws_parse() + tb_ws_visit() would report for it, or says "not
 * handled" and the caller uses the jsmn path (the reference) unchanged. See the
 * comment at the top of tb_fast.c for what is accepted and why it is equivalent.
 *
 * Ownership: views (key, value, error_msg) point into msg and stay valid as long as
 * it does; each values[i].entity points at out->entity, so it is valid as long as
 * *out is (and not after *out is copied). Nothing is retained between calls.
 */
#ifndef IOTPRO_CORE_TB_FAST_H
#define IOTPRO_CORE_TB_FAST_H

#include <stddef.h>
#include <stdint.h>

#include "core/tb.h"

/* Values of one message the fast path handles; more go through jsmn. */
#define TB_FAST_MAX_VALUES 16u
/* Longest message it handles (bytes); longer ones go through jsmn. */
#define TB_FAST_MAX_MSG (1u << 24)

typedef struct tb_fast_msg {
    int32_t cmd_id;        /* cmdId (0 .. INT32_MAX) */
    const char *error_msg; /* raw view of errorMsg, NULL when null/absent */
    size_t error_msg_len;
    unsigned ntok; /* tokens jsmn would need for this message */
    uint32_t n_values;
    uint8_t entity[16];                     /* entityId.id */
    tb_ws_value values[TB_FAST_MAX_VALUES]; /* in message order, as tb_ws_visit */
    /* where the tokens that differ between messages of one layout start, for
     * core/tb_shape.h: entityId.id's opening quote, each value's ts (NULL: absent) */
    const char *id_tok;
    const char *ts_tok[TB_FAST_MAX_VALUES];
} tb_fast_msg;

/* 1: handled; *out is what the jsmn path reports (kind TB_WS_UPDATE, legacy 0,
 * error_code 0, one entity). 0: not handled (anything else, valid or not); *out is
 * undefined. max_tok: the caller's jsmn token array size; a message needing more
 * tokens is not handled: the jsmn path, which reads it outlined or refuses it with
 * TB_ERR_TOKENS (tb_ws_parse), decides. An accepted message it tokenizes whole. */
int tb_fast_update(const char *msg, size_t len, unsigned max_tok, tb_fast_msg *out);

#endif
