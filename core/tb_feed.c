/*
 * tb_feed.c -- WebSocket message -> values (tb_feed.h), including the premature-update
 * buffer. Values are unescaped only when they contain a backslash, so the common update
 * costs one pass of the fast scanner (or of jsmn) and a number conversion per value.
 */
#include "core/tb_feed.h"
#include "core/tb_shape.h"

#include <string.h>

enum { TB_CMD_UNKNOWN = 0, TB_CMD_WAITING = 1, TB_CMD_LIVE = 2 };

int tb_feed_init(tb_feed *f, jsmntok_t *tok, unsigned ntok, tb_pending *pend, uint32_t pend_cap)
{
    memset(f, 0, sizeof *f);
    if (!tok || ntok == 0 || (!pend && pend_cap))
        return TB_ERR_ARG;
    f->tok = tok;
    f->ntok = ntok;
    f->pend = pend;
    f->pend_cap = pend_cap;
    tb_shapes_reset(&f->shapes);
    return TB_OK;
}

static int tb_feed_id_ok(int32_t id)
{
    return id > 0 && (uint32_t)id < LIM_TB_CMDS;
}

/* Drops buffered updates of one cmdId (-1: all; 0: those handed out), keeping the
 * arrival order of the rest. */
static void tb_feed_drop_pending(tb_feed *f, int32_t cmd_id)
{
    uint32_t o = 0;
    for (uint32_t i = 0; i < f->pend_n; i++) {
        if (cmd_id == -1 || f->pend[i].cmd_id == cmd_id || f->pend[i].cmd_id == 0)
            continue;
        if (o != i)
            f->pend[o] = f->pend[i];
        o++;
    }
    f->pend_n = o;
    f->pend_dead = 0;
}

/* Entries handed out by the previous call leave now that their views may die. */
static void tb_feed_settle(tb_feed *f)
{
    if (f->pend_dead)
        tb_feed_drop_pending(f, 0);
}

int tb_feed_expect(tb_feed *f, int32_t cmd_id)
{
    if (!tb_feed_id_ok(cmd_id))
        return TB_ERR_ARG;
    tb_feed_settle(f);
    f->cmd_state[cmd_id] = TB_CMD_WAITING;
    return TB_OK;
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
    f->pend_dead = 0;
}

/* Unescapes raw[0..len) into the scratch area; NULL when it does not decode (*bad set)
 * or does not fit. cut: cut an over-long text instead of refusing it. */
static const char *tb_feed_unescape(tb_feed *f, const char *raw, size_t len, size_t cap, int cut,
                                    size_t *out_len, int *bad)
{
    tb_feed_out *o = f->out;
    char *dst = o->scratch + o->scratch_used;
    size_t room = o->scratch_cap - o->scratch_used;
    int r, was_cut;
    if (room < cap)
        return NULL;
    r = cut ? json_unescape_cut(raw, len, dst, cap, &was_cut) : json_unescape(raw, len, dst, cap);
    if (r < 0 || (!cut && r == 0)) {
        *bad = 1;
        return NULL;
    }
    o->scratch_used += (size_t)r;
    *out_len = (size_t)r;
    return dst;
}

/* Classifies a value for the store (the store's rules, store.h). */
static void tb_feed_classify(tb_feed_value *d, const char *val, size_t vlen)
{
    d->str = NULL;
    d->str_len = 0;
    if (!val || (d->ts == 0 && vlen == 0)) {
        d->kind = TB_VAL_ABSENT;
    } else if (num_classify(val, vlen, &d->num) != NUM_STRING) {
        d->kind = TB_VAL_NUM;
    } else {
        d->kind = TB_VAL_STR;
        d->str = val;
        d->str_len = (uint32_t)vlen;
    }
}

int tb_feed_attr_value(const tb_feed_attr *a, char *keybuf, char *valbuf, size_t vcap,
                       tb_feed_value *out)
{
    const tb_ws_value *v = &a->v;
    int kl, vl = 0, cut;
    memset(out, 0, sizeof *out);
    keybuf[0] = (char)TB_ATTR_NS;
    kl = v->key_escaped ? json_unescape(v->key, v->key_len, keybuf + 1, LIM_KEY_BYTES - 1)
                        : (v->key_len < LIM_KEY_BYTES - 1 ? (int)v->key_len : JSON_ERR_SPACE);
    if (kl == JSON_ERR_SPACE || kl == 0)
        return TB_ERR_SPACE;
    if (kl < 0)
        return TB_ERR_JSON;
    if (!v->key_escaped)
        memcpy(keybuf + 1, v->key, (size_t)kl);
    if (v->value) {
        vl = json_unescape_cut(v->value, v->value_len, valbuf, vcap, &cut);
        if (vl < 0)
            return TB_ERR_JSON;
    }
    memcpy(out->entity, a->entity, 16);
    out->key = keybuf;
    out->key_len = (uint16_t)(kl + 1);
    out->ts = v->ts;
    tb_feed_classify(out, v->value ? valbuf : NULL, (size_t)vl);
    return TB_OK;
}

static void tb_feed_attr_out(tb_feed *f, const tb_ws_value *v)
{
    tb_feed_out *o = f->out;
    tb_feed_attr *a;
    if (o->attr_n >= o->attr_cap) {
        f->stats.out_dropped++;
        return;
    }
    a = &o->attrs[o->attr_n++];
    a->cmd_id = f->cur_cmd;
    a->premature = f->cur_buffer;
    memcpy(a->entity, v->entity, 16);
    a->v = *v;
    a->v.entity = a->entity;
}

static int tb_feed_value_cb(void *ctx, const tb_ws_value *v)
{
    tb_feed *f = ctx;
    tb_feed_out *o = f->out;
    const char *key = v->key, *val = v->value;
    size_t klen = v->key_len, vlen = v->value_len, used = o->scratch_used;
    int bad = 0;
    if (v->type != TB_KEY_TIME_SERIES) {
        if (v->type != TB_KEY_ENTITY_FIELD)
            tb_feed_attr_out(f, v);
        return 0;
    }
    f->res->values++;
    f->stats.values++;
    if (v->key_escaped)
        key = tb_feed_unescape(f, v->key, v->key_len, LIM_KEY_BYTES, 0, &klen, &bad);
    /* values are cut to what the store keeps (it counts the cut) */
    if (key && val && v->value_escaped)
        val =
            tb_feed_unescape(f, v->value, v->value_len, LIM_STRING_VALUE_BYTES + 8, 1, &vlen, &bad);
    if (!key || (v->value && !val)) {
        o->scratch_used = used;
        if (bad)
            f->stats.bad_values++;
        else
            f->stats.out_dropped++;
        return 0;
    }
    if (f->cur_buffer) {
        tb_pending *p;
        if (f->pend_n >= f->pend_cap || klen >= LIM_KEY_BYTES) {
            /* a key the store would refuse is not worth a slot either */
            f->res->buffer_dropped++;
            f->stats.buffer_dropped++;
            o->scratch_used = used;
            return 0;
        }
        p = &f->pend[f->pend_n++];
        p->ts = v->ts;
        p->cmd_id = f->cur_cmd;
        p->has_value = val != NULL;
        memcpy(p->id, v->entity, 16);
        memcpy(p->key, key, klen);
        p->key_len = (uint8_t)klen;
        if (vlen > sizeof p->val)
            vlen = sizeof p->val; /* still longer than the store keeps */
        p->len = (uint16_t)vlen;
        if (val)
            memcpy(p->val, val, vlen);
        o->scratch_used = used; /* copied: the scratch bytes are free again */
        f->res->buffered++;
        f->stats.buffered++;
        return 0;
    }
    if (o->n >= o->cap) {
        f->stats.out_dropped++;
        o->scratch_used = used;
        return 0;
    }
    tb_feed_value *d = &o->vals[o->n++];
    memcpy(d->entity, v->entity, 16);
    d->key = key;
    d->key_len = (uint16_t)(klen < UINT16_MAX ? klen : UINT16_MAX);
    d->ts = v->ts;
    tb_feed_classify(d, val, vlen);
    return 0;
}

/* Hands out the updates of cmd_id that waited for its data page, in arrival order;
 * they leave the buffer at the next call (their views point into it). */
static void tb_feed_replay(tb_feed *f, int32_t cmd_id)
{
    tb_feed_out *o = f->out;
    for (uint32_t i = 0; i < f->pend_n; i++) {
        tb_pending *p = &f->pend[i];
        tb_feed_value *d;
        if (p->cmd_id != cmd_id)
            continue;
        p->cmd_id = 0;
        f->pend_dead = 1;
        if (o->n >= o->cap) {
            f->stats.out_dropped++;
            continue;
        }
        d = &o->vals[o->n++];
        memcpy(d->entity, p->id, 16);
        d->key = p->key;
        d->key_len = p->key_len;
        d->ts = p->ts;
        tb_feed_classify(d, p->has_value ? p->val : NULL, p->len);
        f->res->replayed++;
        f->stats.replayed++;
    }
}

/* Reads the values of a DATA or UPDATE message whose envelope is in res. */
static void tb_feed_apply(tb_feed *f, const char *msg, const tb_ws_msg *m, const tb_fast_msg *fm,
                          tb_feed_result *res)
{
    int state = tb_feed_id_ok(res->cmd_id) ? f->cmd_state[res->cmd_id] : TB_CMD_UNKNOWN;
    if (state == TB_CMD_UNKNOWN) {
        res->unknown_cmd = 1;
        f->stats.unknown_cmd++;
        return;
    }
    f->cur_cmd = res->cmd_id;
    f->res = res;
    if (res->kind == TB_WS_DATA) {
        f->stats.data++;
        f->cur_buffer = 0;
        tb_ws_visit(msg, f->tok, f->ntok, m, NULL, tb_feed_value_cb, f);
        if (state == TB_CMD_WAITING) {
            f->cmd_state[res->cmd_id] = TB_CMD_LIVE;
            tb_feed_replay(f, res->cmd_id);
        }
    } else {
        f->stats.updates++;
        f->cur_buffer = state == TB_CMD_WAITING;
        if (fm) {
            for (uint32_t i = 0; i < fm->n_values; i++)
                tb_feed_value_cb(f, &fm->values[i]);
        } else {
            tb_ws_visit(msg, f->tok, f->ntok, m, NULL, tb_feed_value_cb, f);
        }
    }
    f->res = NULL;
}

int tb_feed_message(tb_feed *f, const char *msg, size_t len, tb_feed_out *out, tb_feed_result *res)
{
    memset(res, 0, sizeof *res);
    tb_feed_settle(f);
    out->n = out->attr_n = 0;
    out->scratch_used = 0;
    f->out = out;
    f->stats.messages++;
    f->stats.bytes += len;
    if (!f->fast_off) {
        tb_fast_msg fm;
        if (tb_shape_update(&f->shapes, msg, len, f->ntok, &fm)) {
            f->stats.fast++;
            res->kind = TB_WS_UPDATE;
            res->cmd_id = fm.cmd_id;
            res->error_msg = fm.error_msg;
            res->error_msg_len = fm.error_msg_len;
            tb_feed_apply(f, msg, NULL, &fm, res);
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
    tb_feed_apply(f, msg, &m, NULL, res);
    return TB_OK;
}
