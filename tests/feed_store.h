/*
 * feed_store.h -- for tests, fuzzers and benchmarks: one WebSocket message through
 * tb_feed and its values into a store with tb_apply, as the exporter's loop does
 * (without the lock). The output arrays are sized for messages of up to FEED_STORE_MSG
 * bytes and a full pending buffer.
 */
#ifndef IOTPRO_TESTS_FEED_STORE_H
#define IOTPRO_TESTS_FEED_STORE_H

#include <string.h>

#include "core/tb_apply.h"
#include "core/tb_feed.h"

#define FEED_STORE_MSG  (1u << 20)
#define FEED_STORE_VALS TB_FEED_VALS_FOR(FEED_STORE_MSG, LIM_PENDING_UPDATES)

/* What the old all-in-one feed reported: the parse (tb_feed) and the store outcomes. */
typedef struct feed_res {
    tb_ws_kind kind;
    int legacy, unknown_cmd, error_code;
    int32_t cmd_id;
    const char *error_msg;
    size_t error_msg_len;
    uint32_t values, buffered, buffer_dropped, replayed;
    uint32_t set, stale, deleted, rejected;
    uint32_t attrs;
} feed_res;

static tb_feed_value feed_store_vals[FEED_STORE_VALS];
static tb_feed_attr feed_store_attrs[256];
static char feed_store_scratch[TB_FEED_SCRATCH(FEED_STORE_MSG)];

/* The output of the last feed_store() call (its attributes, for example). */
static inline tb_feed_out *feed_store_out(void)
{
    static tb_feed_out out = {
        feed_store_vals,    FEED_STORE_VALS,           0, feed_store_attrs, 256, 0,
        feed_store_scratch, sizeof feed_store_scratch, 0
    };
    return &out;
}

static inline int feed_store(tb_feed *f, store *st, const char *msg, size_t len, uint32_t now_s,
                             feed_res *r)
{
    tb_feed_out *out = feed_store_out();
    tb_feed_result fr;
    tb_apply_result ar = { 0 };
    int rc = tb_feed_message(f, msg, len, out, &fr);
    if (rc == TB_OK)
        tb_apply(st, out->vals, out->n, now_s, &ar);
    memset(r, 0, sizeof *r);
    r->kind = fr.kind;
    r->legacy = fr.legacy;
    r->unknown_cmd = fr.unknown_cmd;
    r->error_code = fr.error_code;
    r->cmd_id = fr.cmd_id;
    r->error_msg = fr.error_msg;
    r->error_msg_len = fr.error_msg_len;
    r->values = fr.values;
    r->buffered = fr.buffered;
    r->buffer_dropped = fr.buffer_dropped;
    r->replayed = fr.replayed;
    r->set = ar.set;
    r->stale = ar.stale;
    r->deleted = ar.deleted;
    r->rejected = ar.rejected;
    r->attrs = out->attr_n;
    return rc;
}

#endif
