/*
 * tb_ws.c -- the WebSocket reply parser: EntityDataUpdate (cmdId + data/update) and
 * the legacy TelemetrySubscriptionUpdate shape keyed by subscriptionId, which
 * ThingsBoard uses for validation errors, rate-limit notices and errorCode 34 even
 * for v2 commands. One jsmn pass per message (or, for a page too big for the token
 * array, one over its outline and one per entity); values are handed out as views so
 * the hot update path copies nothing.
 */
#include "core/tb.h"

#include <string.h>

static const struct {
    const char *name;
    tb_key_type type;
} tb_key_types[] = {
    { "TIME_SERIES", TB_KEY_TIME_SERIES },
    { "SERVER_ATTRIBUTE", TB_KEY_SERVER_ATTRIBUTE },
    { "ATTRIBUTE", TB_KEY_ATTRIBUTE },
    { "CLIENT_ATTRIBUTE", TB_KEY_CLIENT_ATTRIBUTE },
    { "SHARED_ATTRIBUTE", TB_KEY_SHARED_ATTRIBUTE },
    { "ENTITY_FIELD", TB_KEY_ENTITY_FIELD },
};

static int tb_i32_of(const char *js, const jsmntok_t *t, int32_t *out)
{
    int64_t v;
    if (json_get_i64(js, t, &v) != JSON_OK || v < INT32_MIN || v > INT32_MAX)
        return -1;
    *out = (int32_t)v;
    return 0;
}

int tb_ws_parse(const char *msg, size_t len, jsmntok_t *tok, unsigned ntok, tb_ws_msg *out)
{
    memset(out, 0, sizeof *out);
    out->cmd_id = -1;
    out->list_tok = -1;
    out->kind = TB_WS_OTHER;
    int n = json_parse_bounded(msg, len, tok, ntok, &out->outlined);
    if (n < 0)
        return n == JSON_ERR_TOKENS ? TB_ERR_TOKENS : TB_ERR_JSON;
    out->ntok = n;
    if (tok[0].type != JSMN_OBJECT)
        return TB_ERR_SHAPE;

    /* One walk over the top-level members instead of a json_find per field. */
    int cmd = -1, sub = -1, ec = -1, em = -1, cut = -1, data = -1, upd = -1;
    int end = tok[0].end;
    for (int i = 1; i + 1 < n && tok[i].start < end && tok[i + 1].start < end;
         i = json_skip(tok, n, i + 1)) {
        const jsmntok_t *k = &tok[i];
        if (k->type != JSMN_STRING)
            continue;
        const char *s = msg + k->start;
        switch (k->end - k->start) {
        case 4:
            if (!memcmp(s, "data", 4))
                data = i + 1;
            break;
        case 5:
            if (!memcmp(s, "cmdId", 5))
                cmd = i + 1;
            break;
        case 6:
            if (!memcmp(s, "update", 6))
                upd = i + 1;
            break;
        case 8:
            if (!memcmp(s, "errorMsg", 8))
                em = i + 1;
            break;
        case 9:
            if (!memcmp(s, "errorCode", 9))
                ec = i + 1;
            break;
        case 13:
            if (!memcmp(s, "cmdUpdateType", 13))
                cut = i + 1;
            break;
        case 14:
            if (!memcmp(s, "subscriptionId", 14))
                sub = i + 1;
            break;
        default: break;
        }
    }
    if (cmd >= 0) {
        if (tb_i32_of(msg, &tok[cmd], &out->cmd_id) < 0)
            return TB_ERR_SHAPE;
    } else if (sub >= 0) {
        out->legacy = 1;
        if (tb_i32_of(msg, &tok[sub], &out->cmd_id) < 0)
            return TB_ERR_SHAPE;
    } else {
        return TB_ERR_SHAPE;
    }
    if (ec >= 0 && !json_is_null(msg, &tok[ec])) {
        int32_t v;
        if (tb_i32_of(msg, &tok[ec], &v) < 0)
            return TB_ERR_SHAPE;
        out->error_code = v;
    }
    if (em >= 0 && tok[em].type == JSMN_STRING) {
        out->error_msg = msg + tok[em].start;
        out->error_msg_len = (size_t)(tok[em].end - tok[em].start);
    }
    if (out->error_code == 34) {
        out->kind = TB_WS_RESYNC;
        return TB_OK;
    }
    if (out->error_code != 0) {
        out->kind = TB_WS_ERROR;
        return TB_OK;
    }
    if (out->legacy)
        return TB_OK; /* a v1 reply: we send no v1 commands */
    if (cut >= 0 && !json_is_null(msg, &tok[cut]) && !json_eq(msg, &tok[cut], "ENTITY_DATA"))
        return TB_OK;
    if (data >= 0 && tok[data].type == JSMN_OBJECT) {
        int list = json_find(msg, tok, n, data, "data");
        if (list < 0 || tok[list].type != JSMN_ARRAY)
            return TB_ERR_SHAPE;
        int64_t v;
        int f = json_find(msg, tok, n, data, "totalElements");
        if (f >= 0 && json_get_i64(msg, &tok[f], &v) == JSON_OK)
            out->total_elements = v;
        f = json_find(msg, tok, n, data, "totalPages");
        if (f >= 0)
            tb_i32_of(msg, &tok[f], &out->total_pages);
        f = json_find(msg, tok, n, data, "hasNext");
        if (f >= 0)
            json_get_bool(msg, &tok[f], &out->has_next);
        out->kind = TB_WS_DATA;
        out->list_tok = list;
    } else if (upd >= 0 && tok[upd].type == JSMN_ARRAY) {
        out->kind = TB_WS_UPDATE;
        out->list_tok = upd;
    }
    if (out->list_tok >= 0)
        out->list_start = tok[out->list_tok].start;
    return TB_OK;
}

static tb_key_type tb_key_type_of(const char *js, const jsmntok_t *t)
{
    for (size_t i = 0; i < sizeof tb_key_types / sizeof tb_key_types[0]; i++)
        if (json_eq(js, t, tb_key_types[i].name))
            return tb_key_types[i].type;
    return TB_KEY_OTHER;
}

/* One EntityData: the object token e of tok[0..n), whose offsets are into js. Returns
 * the number of values visited, or TB_ERR_STOPPED. Inlined into both loops of
 * tb_ws_visit: as a call it cost the jsmn path of updates ~0.2% more instructions. */
static inline __attribute__((always_inline)) int tb_ws_entity(const char *js, const jsmntok_t *tok,
                                                              int n, int e, tb_ws_entity_fn efn,
                                                              tb_ws_value_fn vfn, void *ctx)
{
    uint8_t id[16];
    int count = 0;
    int eid = json_find(js, tok, n, e, "entityId");
    int idt = json_find(js, tok, n, eid, "id");
    if (idt < 0 || tok[idt].type != JSMN_STRING ||
        tb_uuid_parse(js + tok[idt].start, (size_t)(tok[idt].end - tok[idt].start), id) < 0)
        return 0;
    if (efn && efn(ctx, id))
        return TB_ERR_STOPPED;
    int lat = json_find(js, tok, n, e, "latest");
    if (lat < 0 || tok[lat].type != JSMN_OBJECT)
        return 0;
    tb_ws_value v;
    v.entity = id;
    /* latest: { KEY_TYPE: { key: TsValue } } */
    for (int kt = lat + 1; kt + 1 < n && tok[kt].start < tok[lat].end;
         kt = json_skip(tok, n, kt + 1)) {
        int obj = kt + 1;
        if (tok[obj].type != JSMN_OBJECT)
            continue;
        v.type = tb_key_type_of(js, &tok[kt]);
        for (int k = obj + 1; k + 1 < n && tok[k].start < tok[obj].end;
             k = json_skip(tok, n, k + 1)) {
            int tv = k + 1;
            if (tok[k].type != JSMN_STRING || tok[tv].type != JSMN_OBJECT)
                continue;
            v.key = js + tok[k].start;
            v.key_len = (size_t)(tok[k].end - tok[k].start);
            v.key_escaped = memchr(v.key, '\\', v.key_len) != NULL;
            v.ts = 0;
            v.value = NULL;
            v.value_len = 0;
            v.value_escaped = 0;
            for (int f = tv + 1; f + 1 < n && tok[f].start < tok[tv].end;
                 f = json_skip(tok, n, f + 1)) {
                const jsmntok_t *fv = &tok[f + 1];
                if (json_eq(js, &tok[f], "ts")) {
                    if (json_get_i64(js, fv, &v.ts) != JSON_OK)
                        v.ts = 0;
                } else if (json_eq(js, &tok[f], "value")) {
                    if (fv->type == JSMN_STRING ||
                        (fv->type == JSMN_PRIMITIVE && !json_is_null(js, fv))) {
                        v.value = js + fv->start;
                        v.value_len = (size_t)(fv->end - fv->start);
                        v.value_escaped = fv->type == JSMN_STRING &&
                                          memchr(v.value, '\\', v.value_len) != NULL;
                    }
                }
            }
            count++;
            if (vfn && vfn(ctx, &v))
                return TB_ERR_STOPPED;
        }
    }
    return count;
}

int tb_ws_visit(const char *msg, jsmntok_t *tok, unsigned ntok, const tb_ws_msg *m,
                tb_ws_entity_fn efn, tb_ws_value_fn vfn, void *ctx)
{
    /* cppcheck follows tb_feed's fast path, which passes no m, into this call; that path
     * carries only update messages with their values already parsed and never gets here. */
    /* cppcheck-suppress ctunullpointer */
    int n = m->ntok, list = m->list_tok, count = 0, r;
    if (list < 0 || list >= n)
        return 0;
    if (!m->outlined) {
        for (int e = list + 1; e < n && tok[e].start < tok[list].end; e = json_skip(tok, n, e)) {
            if (tok[e].type != JSMN_OBJECT)
                continue;
            if ((r = tb_ws_entity(msg, tok, n, e, efn, vfn, ctx)) < 0)
                return r;
            count += r;
        }
        return count;
    }
    /* Outlined: the elements are text, tokenized one at a time into the same array (the
     * envelope's tokens are no longer needed). */
    int pos = m->list_start + 1, start, end;
    while (json_next_element(msg, &pos, &start, &end)) {
        if (msg[start] != '{')
            continue;
        n = json_parse_element(msg + start, (size_t)(end - start), tok, ntok);
        if (n < 0) /* not after tb_ws_parse with this tok and ntok (tb.h) */
            return n == JSON_ERR_TOKENS ? TB_ERR_TOKENS : TB_ERR_JSON;
        if ((r = tb_ws_entity(msg + start, tok, n, 0, efn, vfn, ctx)) < 0)
            return r;
        count += r;
    }
    return count;
}
