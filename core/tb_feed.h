/*
 * tb_feed.h -- from WebSocket text messages to the store: one call per message.
 *
 * Tracks the state of every cmdId (unknown / waiting for its first `data` / live),
 * buffers `update`s that overtake their cmdId's `data` (ThingsBoard sends through a
 * thread pool, so this happens) in a caller-provided bounded array, and replays
 * them right after the `data` baseline. Updates for unknown or unsubscribed
 * cmdIds are ignored. TIME_SERIES values go to the store; attribute values
 * (e.g. SERVER_ATTRIBUTE assetDetails) go to an optional callback; ENTITY_FIELD
 * values are ignored (names come from the REST asset listing).
 *
 * The caller holds the store mutex around tb_feed_message() (see store.h).
 * Memory: the token array (tok, ntok) and the pending array are the caller's and
 * are borrowed for the feed's life. sizeof(tb_pending) is about 300 bytes;
 * LIM_PENDING_UPDATES of them (shared by all cmdIds) is about 1.2 MB.
 */
#ifndef IOTPRO_CORE_TB_FEED_H
#define IOTPRO_CORE_TB_FEED_H

#include <stdint.h>

#include "core/store.h"
#include "core/tb.h"

typedef struct tb_pending {
    int64_t ts;
    int32_t cmd_id;
    uint16_t key;             /* store key id */
    uint16_t len;
    uint8_t has_value;
    uint8_t id[16];
    char val[LIM_STRING_VALUE_BYTES];
} tb_pending;

/* Attribute value seen in a data page or update; views valid during the call.
 * premature: an update that overtook its cmdId's data page (the telemetry of such
 * updates is buffered and replayed after the page; the callee does the same for
 * attributes, or the page's older baseline would overwrite them). */
typedef void (*tb_feed_attr_fn)(void *ctx, int32_t cmd_id, int premature, const tb_ws_value *v);

typedef struct tb_feed_result {
    tb_ws_kind kind;
    int legacy;
    int32_t cmd_id;
    int error_code;
    const char *error_msg;    /* raw view into the message, NULL if none */
    size_t error_msg_len;
    int unknown_cmd;          /* DATA/UPDATE for a cmdId not expected: ignored */
    uint32_t values;          /* TIME_SERIES values seen */
    uint32_t set, stale, deleted, rejected; /* store outcomes (rejected: errors) */
    uint32_t buffered, buffer_dropped, replayed;
} tb_feed_result;

typedef struct tb_feed_stats {
    uint64_t messages, parse_errors, data, updates, errors, resyncs, unknown_cmd;
    uint64_t values, buffered, buffer_dropped, replayed, bad_values;
    uint64_t fast;            /* messages read by the fast path (core/tb_fast.h) */
} tb_feed_stats;

typedef struct tb_feed {
    store *st;
    jsmntok_t *tok;
    unsigned ntok;
    tb_pending *pend;
    uint32_t pend_cap, pend_n;
    tb_feed_attr_fn attr_fn;
    void *attr_ctx;
    tb_feed_stats stats;
    uint8_t cmd_state[LIM_TB_CMDS];
    /* per message */
    int32_t cur_cmd;
    int cur_buffer;
    uint32_t now_s;
    tb_feed_result *res;
    /* 1: every message goes through jsmn (tests compare both paths); 0 by default */
    int fast_off;
} tb_feed;

/* 0, or TB_ERR_ARG for missing buffers. attr_fn may be NULL. */
int tb_feed_init(tb_feed *f, store *st, jsmntok_t *tok, unsigned ntok, tb_pending *pend,
                 uint32_t pend_cap, tb_feed_attr_fn attr_fn, void *attr_ctx);
/* A subscription with this cmdId was sent: wait for its data (1 <= id < LIM_TB_CMDS). */
int tb_feed_expect(tb_feed *f, int32_t cmd_id);
/* The cmdId was unsubscribed: forget it and drop its buffered updates. */
void tb_feed_forget(tb_feed *f, int32_t cmd_id);
/* The socket closed: every subscription is gone on the server side. */
void tb_feed_reset(tb_feed *f);

/* Parses and applies one message. Returns TB_OK (res describes it) or the parse
 * error (TB_ERR_JSON / TB_ERR_TOKENS / TB_ERR_SHAPE), counted in stats. The hot
 * single-entity `update` is read by tb_fast_update() when it accepts it (same
 * result, proven by tests/fuzz/fuzz_tb_fast.c); everything else by tb_ws_parse(). */
int tb_feed_message(tb_feed *f, const char *msg, size_t len, uint32_t now_s,
                    tb_feed_result *res);

#endif
