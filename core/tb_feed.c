/*
 * tb_feed.c -- the ingest glue between tb_ws (parsing) and store (state), including
 * the premature-update buffer. Values are unescaped only when they contain a
 * backslash, so the common update costs one jsmn pass and a few hash lookups.
 */
#include "core/tb_feed.h"
#include "core/tb_fast.h"

#include <string.h>

enum { TB_CMD_UNKNOWN = 0, TB_CMD_WAITING = 1, TB_CMD_LIVE = 2 };

int tb_feed_init(tb_feed *f, store *st, jsmntok_t *tok, unsigned ntok, tb_pending *pend,
                 uint32_t pend_cap, tb_feed_attr_fn attr_fn, void *attr_ctx)
{
    memset(f, 0, sizeof *f);
    if (!st || !tok || ntok == 0 || (!pend && pend_cap))
        return TB_ERR_ARG;
    f->st = st;
    f->tok = tok;
    f->ntok = ntok;
    f->pend = pend;
    f->pend_cap = pend_cap;
    f->attr_fn = attr_fn;
    f->attr_ctx = attr_ctx;
    return TB_OK;
}

static int tb_feed_id_ok(int32_t id)
{
    return id > 0 && (uint32_t)id < LIM_TB_CMDS;
}

int tb_feed_expect(tb_feed *f, int32_t cmd_id)
{
    if (!tb_feed_id_ok(cmd_id))
        return TB_ERR_ARG;
    f->cmd_state[cmd_id] = TB_CMD_WAITING;
    return TB_OK;
}

/* Drops buffered updates of one cmdId (or of all with -1), keeping arrival order. */
static void tb_feed_drop_pending(tb_feed *f, int32_t cmd_id)
{
    uint32_t o = 0;
    for (uint32_t i = 0; i < f->pend_n; i++) {
        if (cmd_id == -1 || f->pend[i].cmd_id == cmd_id)
            continue;
        if (o != i)
            f->pend[o] = f->pend[i];
        o++;
    }
    f->pend_n = o;
}

void tb_feed_forget(tb_feed *f, int32_t cmd_id)
{
    if (!tb_feed_id_ok(cmd_id))
        return;
    f->cmd_state[cmd_id] = TB_CMD_UNKNOWN;
    tb_feed_drop_pending(f, cmd_id);
}

void tb_feed_reset(tb_feed *f)
{
    memset(f->cmd_state, 0, sizeof f->cmd_state);
    f->pend_n = 0;
}

static void tb_feed_count(tb_feed_result *res, int r)
{
    switch (r) {
    case STORE_SET: res->set++; break;
    case STORE_STALE: res->stale++; break;
    case STORE_DELETED: res->deleted++; break;
    case STORE_NOOP: break;
    default: res->rejected++; break;
    }
}

static int tb_feed_value(void *ctx, const tb_ws_value *v)
{
    tb_feed *f = ctx;
    tb_feed_result *res = f->res;
    if (v->type != TB_KEY_TIME_SERIES) {
        if (v->type != TB_KEY_ENTITY_FIELD && f->attr_fn)
            f->attr_fn(f->attr_ctx, f->cur_cmd, f->cur_buffer, v);
        return 0;
    }
    res->values++;
    f->stats.values++;

    const char *key = v->key;
    size_t klen = v->key_len;
    char kbuf[LIM_KEY_BYTES];
    if (v->key_escaped) {
        int r = json_unescape(v->key, v->key_len, kbuf, sizeof kbuf);
        if (r <= 0) {
            f->stats.bad_values++;
            res->rejected++;
            return 0;
        }
        key = kbuf;
        klen = (size_t)r;
    }
    const char *val = v->value;
    size_t vlen = v->value_len;
    char vbuf[LIM_STRING_VALUE_BYTES + 8];
    if (val && v->value_escaped) {
        int cut;
        int r = json_unescape_cut(v->value, v->value_len, vbuf, sizeof vbuf, &cut);
        if (r < 0) {
            f->stats.bad_values++;
            res->rejected++;
            return 0;
        }
        val = vbuf;
        vlen = (size_t)r; /* the store cuts to its own limit and counts that */
    }
    int k = store_key_intern(f->st, key, klen);
    if (k < 0) {
        res->rejected++;
        return 0;
    }
    if (f->cur_buffer) {
        if (f->pend_n >= f->pend_cap) {
            res->buffer_dropped++;
            f->stats.buffer_dropped++;
            return 0;
        }
        tb_pending *p = &f->pend[f->pend_n++];
        p->ts = v->ts;
        p->cmd_id = f->cur_cmd;
        p->key = (uint16_t)k;
        p->has_value = val != NULL;
        memcpy(p->id, v->entity, 16);
        if (vlen >= sizeof p->val)
            vlen = sizeof p->val; /* still longer than the store keeps */
        p->len = (uint16_t)vlen;
        if (val)
            memcpy(p->val, val, vlen);
        res->buffered++;
        f->stats.buffered++;
        return 0;
    }
    tb_feed_count(res, store_apply_id(f->st, v->entity, k, v->ts, val, vlen, f->now_s));
    return 0;
}

static void tb_feed_replay(tb_feed *f, int32_t cmd_id, tb_feed_result *res)
{
    uint32_t o = 0;
    for (uint32_t i = 0; i < f->pend_n; i++) {
        tb_pending *p = &f->pend[i];
        if (p->cmd_id != cmd_id) {
            if (o != i)
                f->pend[o] = *p;
            o++;
            continue;
        }
        tb_feed_count(res, store_apply_id(f->st, p->id, p->key, p->ts,
                                          p->has_value ? p->val : NULL, p->len, f->now_s));
        res->replayed++;
        f->stats.replayed++;
    }
    f->pend_n = o;
}

/* Applies the values of a DATA or UPDATE message whose envelope is in res. */
static void tb_feed_apply(tb_feed *f, const char *msg, const tb_ws_msg *m, const tb_fast_msg *fm,
                          uint32_t now_s, tb_feed_result *res)
{
    int state = tb_feed_id_ok(res->cmd_id) ? f->cmd_state[res->cmd_id] : TB_CMD_UNKNOWN;
    if (state == TB_CMD_UNKNOWN) {
        res->unknown_cmd = 1;
        f->stats.unknown_cmd++;
        return;
    }
    f->cur_cmd = res->cmd_id;
    f->now_s = now_s;
    f->res = res;
    if (res->kind == TB_WS_DATA) {
        f->stats.data++;
        f->cur_buffer = 0;
        tb_ws_visit(msg, f->tok, m, NULL, tb_feed_value, f);
        if (state == TB_CMD_WAITING) {
            f->cmd_state[res->cmd_id] = TB_CMD_LIVE;
            tb_feed_replay(f, res->cmd_id, res);
        }
    } else {
        f->stats.updates++;
        f->cur_buffer = state == TB_CMD_WAITING;
        if (fm) {
            for (uint32_t i = 0; i < fm->n_values; i++)
                tb_feed_value(f, &fm->values[i]);
        } else {
            tb_ws_visit(msg, f->tok, m, NULL, tb_feed_value, f);
        }
    }
    f->res = NULL;
}

int tb_feed_message(tb_feed *f, const char *msg, size_t len, uint32_t now_s,
                    tb_feed_result *res)
{
    memset(res, 0, sizeof *res);
    f->stats.messages++;
    if (!f->fast_off) {
        tb_fast_msg fm;
        if (tb_fast_update(msg, len, f->ntok, &fm)) {
            f->stats.fast++;
            res->kind = TB_WS_UPDATE;
            res->cmd_id = fm.cmd_id;
            res->error_msg = fm.error_msg;
            res->error_msg_len = fm.error_msg_len;
            tb_feed_apply(f, msg, NULL, &fm, now_s, res);
            return TB_OK;
        }
    }
    tb_ws_msg m;
    int r = tb_ws_parse(msg, len, f->tok, f->ntok, &m);
    if (r != TB_OK) {
        f->stats.parse_errors++;
        return r;
    }
    res->kind = m.kind;
    res->legacy = m.legacy;
    res->cmd_id = m.cmd_id;
    res->error_code = m.error_code;
    res->error_msg = m.error_msg;
    res->error_msg_len = m.error_msg_len;
    if (m.kind == TB_WS_ERROR) {
        f->stats.errors++;
        return TB_OK;
    }
    if (m.kind == TB_WS_RESYNC) {
        f->stats.resyncs++;
        return TB_OK;
    }
    if (m.kind != TB_WS_DATA && m.kind != TB_WS_UPDATE)
        return TB_OK;
    tb_feed_apply(f, msg, &m, NULL, now_s, res);
    return TB_OK;
}
