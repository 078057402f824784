/*
 * tb_feed.h -- from one WebSocket text message to the values it carries: one call per
 * message, nothing applied anywhere. The caller applies what it returns (the exporter
 * does so under its store mutex with tb_apply, core/tb_apply.h), so parsing, unescaping
 * and number conversion happen without any lock held.
 *
 * Tracks the state of every cmdId (unknown / waiting for its first `data` / live),
 * buffers `update`s that overtake their cmdId's `data` (ThingsBoard sends through a
 * thread pool, so this happens) in a caller-provided bounded array, and hands them
 * out again right after the `data` baseline. Updates for unknown or unsubscribed
 * cmdIds are ignored. TIME_SERIES values are returned in out->vals; attribute values
 * (e.g. SERVER_ATTRIBUTE assetDetails) in out->attrs; ENTITY_FIELD values are ignored
 * (names come from the REST asset listing).
 *
 * Ownership and lifetime. Every array is the caller's, borrowed for the feed's life:
 * the jsmn token array (tok, ntok: room for a message's envelope and one entity is
 * enough, tb_ws_parse in tb.h), the pending array, and the output (tb_feed_out).
 * The views tb_feed_message() returns point into msg, into out->scratch (unescaped
 * text) or into the pending array (replayed updates); they stay valid until the next
 * call of any tb_feed function or until msg goes away, whichever is first.
 * sizeof(tb_pending) is about 430 bytes; LIM_PENDING_UPDATES of them is 1.7 MB.
 *
 * Bounds: a value that finds out->vals or out->scratch full is dropped and counted
 * (stats.out_dropped); size them with TB_FEED_VALS_FOR(msg_max, pend_cap) and
 * TB_FEED_SCRATCH(msg_max) and that cannot happen: every value takes at least 6 bytes
 * of its message (`"":{}` and a comma), a first data page is followed by at most
 * pend_cap updates that waited for it, and at most one message's worth of text is
 * unescaped. The token array does not bound them (a data page is tokenized one entity
 * at a time, tb.h), so a caller that knows its largest page may size vals for that
 * instead and have whatever a server sends beyond it counted.
 *
 * Threads: none of its own; one feed is used by one thread at a time.
 */
#ifndef IOTPRO_CORE_TB_FEED_H
#define IOTPRO_CORE_TB_FEED_H

#include <stdint.h>

#include "core/num.h"
#include "core/tb.h"
#include "core/tb_shape.h"

/* A value as the store wants it: classified (core/num.h), unescaped. */
typedef enum {
    TB_VAL_ABSENT = 0, /* no value, or ts 0 with "": a deletion */
    TB_VAL_NUM = 1,    /* num holds it (numbers and booleans) */
    TB_VAL_STR = 2     /* str[0..str_len) */
} tb_val_kind;

typedef struct tb_feed_value {
    uint8_t entity[16];
    uint8_t kind; /* tb_val_kind */
    uint16_t key_len;
    uint32_t str_len;
    const char *key; /* unescaped view, 1..LIM_KEY_BYTES-1 bytes unless bad */
    const char *str; /* TB_VAL_STR: unescaped view */
    int64_t ts;
    double num;
} tb_feed_value;

/* An attribute value (type SERVER_ATTRIBUTE and the like). premature: it overtook its
 * cmdId's data page (the telemetry of such updates is buffered and handed out after the
 * page; the caller does the same for attributes, or the page's older baseline would
 * overwrite them). v.entity points at entity. Raw (escaped) views, as tb_ws gives them. */
typedef struct tb_feed_attr {
    int32_t cmd_id;
    int premature;
    uint8_t entity[16];
    tb_ws_value v;
} tb_feed_attr;

/* Where tb_feed_message() writes; the caller sets the pointers and capacities once. */
typedef struct tb_feed_out {
    tb_feed_value *vals;
    uint32_t cap, n;
    tb_feed_attr *attrs;
    uint32_t attr_cap, attr_n;
    char *scratch;
    size_t scratch_cap, scratch_used;
} tb_feed_out;

#define TB_FEED_VALS_FOR(msg_max, pend_cap) ((msg_max) / 6u + 1u + (pend_cap))
#define TB_FEED_SCRATCH(msg_max)            ((size_t)(msg_max) + LIM_KEY_BYTES + LIM_STRING_VALUE_BYTES + 16u)

typedef struct tb_pending {
    int64_t ts;
    int32_t cmd_id; /* 0: handed out, removed at the next call */
    uint8_t has_value;
    uint8_t id[16];
    uint8_t key_len;
    uint16_t len;
    char key[LIM_KEY_BYTES];
    char val[LIM_STRING_VALUE_BYTES];
} tb_pending;

typedef struct tb_feed_result {
    tb_ws_kind kind;
    int legacy;
    int32_t cmd_id;
    int error_code;
    const char *error_msg; /* raw view into the message, NULL if none */
    size_t error_msg_len;
    int unknown_cmd; /* DATA/UPDATE for a cmdId not expected: ignored */
    uint32_t values; /* TIME_SERIES values seen */
    uint32_t buffered, buffer_dropped, replayed;
} tb_feed_result;

typedef struct tb_feed_stats {
    uint64_t messages, bytes, parse_errors, data, updates, errors, resyncs, unknown_cmd;
    uint64_t values, buffered, buffer_dropped, replayed;
    uint64_t bad_values;  /* a key or value whose JSON escapes do not decode */
    uint64_t out_dropped; /* out->vals / out->scratch full (see Bounds) */
    uint64_t fast;        /* messages read by the fast path (core/tb_fast.h) */
} tb_feed_stats;

typedef struct tb_feed {
    jsmntok_t *tok;
    unsigned ntok;
    tb_pending *pend;
    uint32_t pend_cap, pend_n;
    int pend_dead; /* some entries were handed out: compact before use */
    tb_feed_stats stats;
    uint8_t cmd_state[LIM_TB_CMDS];
    /* per message */
    int32_t cur_cmd;
    int cur_buffer;
    tb_feed_out *out;
    tb_feed_result *res;
    /* 1: every message goes through jsmn (tests compare both paths); 0 by default */
    int fast_off;
    tb_shapes shapes; /* layouts the fast path remembers (core/tb_shape.h) */
} tb_feed;

/* Attribute values (device connectivity `active`/`lastActivityTime`, the keys of
 * --iotpro.attribute-keys) share the store with telemetry in their own namespace: the
 * store key is TB_ATTR_NS followed by the attribute key. No key that arrives as
 * telemetry can start with that byte (0xFF never occurs in UTF-8: the WebSocket text
 * is validated and JSON escapes decode to UTF-8), so an attribute and a telemetry
 * key of the same name are two series. */
#define TB_ATTR_NS 0xFFu
static inline int tb_key_is_attr(const char *key, size_t len)
{
    return len > 0 && (unsigned char)key[0] == TB_ATTR_NS;
}

/* An attribute value (a non-premature or premature tb_feed_attr) as a store value:
 * key = TB_ATTR_NS + the unescaped key, into keybuf[0..LIM_KEY_BYTES); the value
 * unescaped (cut to vcap - 1) into valbuf and classified like telemetry ("true" is
 * 1, "1751459000000" a number, "1.4.2" a string; ts 0 with "" a deletion). The views
 * of *out point into keybuf/valbuf. 0, or TB_ERR_JSON when the key or value does not
 * decode, TB_ERR_SPACE when the key is empty or longer than LIM_KEY_BYTES - 2. */
int tb_feed_attr_value(const tb_feed_attr *a, char *keybuf, char *valbuf, size_t vcap,
                       tb_feed_value *out);

/* 0, or TB_ERR_ARG for missing buffers. */
int tb_feed_init(tb_feed *f, jsmntok_t *tok, unsigned ntok, tb_pending *pend, uint32_t pend_cap);
/* A subscription with this cmdId was sent: wait for its data (1 <= id < LIM_TB_CMDS). */
int tb_feed_expect(tb_feed *f, int32_t cmd_id);
/* The cmdId was unsubscribed: forget it and drop its buffered updates. */
void tb_feed_forget(tb_feed *f, int32_t cmd_id);
/* The socket closed: every subscription is gone on the server side. */
void tb_feed_reset(tb_feed *f);

/* Parses one message. Returns TB_OK (res describes it, out holds its values: those of
 * the message, then for a first data page the updates that waited for it) or the parse
 * error (TB_ERR_JSON / TB_ERR_TOKENS / TB_ERR_SHAPE), counted in stats. The hot
 * single-entity `update` is read by tb_shape_update() when it accepts it (same
 * result, proven by tests/fuzz/fuzz_tb_fast.c and fuzz_tb_shape.c); everything else
 * by tb_ws_parse(). */
int tb_feed_message(tb_feed *f, const char *msg, size_t len, tb_feed_out *out, tb_feed_result *res);

#endif
