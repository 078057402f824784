/*
 * tb_build.c -- request bodies and WebSocket commands for ThingsBoard, plus UUID text.
 *
 * Subscriptions use an `entityList` filter naming each asset of the page, rather
 * than an `entityType` filter with server-side paging: the exporter decides which
 * assets go in which command, so it can group assets by profile (each profile has
 * its own key list), shard the asset set across sessions by id, and resubscribe
 * exactly the pages whose membership changed after rediscovery; server paging over
 * an entityType filter would shift every later page when one asset is added.
 * The sortOrder is still sent, since ThingsBoard runs the query with no ORDER BY
 * otherwise. Only fields ThingsBoard knows are written: it rejects unknown ones.
 */
#include "core/tb.h"

#include <stdio.h>
#include <string.h>

/* A bounded writer that keeps counting past the end, so the same code measures. */
typedef struct tbw {
    char *p;
    size_t cap, len;
} tbw;

static void tbw_raw(tbw *w, const char *s, size_t n)
{
    if (w->p && w->len + n <= w->cap)
        memcpy(w->p + w->len, s, n);
    w->len += n;
}

static void tbw_str(tbw *w, const char *s)
{
    tbw_raw(w, s, strlen(s));
}

static void tbw_esc(tbw *w, const char *s, size_t n)
{
    size_t el = json_escaped_len(s, n);
    if (w->p && w->len + el <= w->cap)
        json_escape(w->p + w->len, el, s, n);
    w->len += el;
}

static void tbw_int(tbw *w, long long v)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%lld", v);
    tbw_raw(w, b, (size_t)n);
}

static int tbw_done(tbw *w)
{
    if (w->len > w->cap || w->len > (size_t)INT32_MAX)
        return TB_ERR_SPACE;
    if (w->len < w->cap)
        w->p[w->len] = 0;
    return (int)w->len;
}

/* ---- UUIDs ------------------------------------------------------------------------ */

static int tb_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int tb_uuid_parse(const char *s, size_t len, uint8_t out[16])
{
    if (len != 36)
        return TB_ERR_ARG;
    int o = 0;
    for (int i = 0; i < 36;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return TB_ERR_ARG;
            i++;
            continue;
        }
        int hi = tb_hexval(s[i]), lo = tb_hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            return TB_ERR_ARG;
        out[o++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    return TB_OK;
}

void tb_uuid_format(const uint8_t id[16], char out[37])
{
    /* where each byte's two digits go: fixed, so the loop unrolls without branches
     * (renders format an id per entity and family) */
    static const uint8_t at[16] = { 0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34 };
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[at[i]] = hex[id[i] >> 4];
        out[at[i] + 1] = hex[id[i] & 15];
    }
    out[8] = out[13] = out[18] = out[23] = '-';
    out[36] = 0;
}

/* ---- REST bodies ------------------------------------------------------------------ */

int tb_build_login(char *out, size_t cap, const char *user, size_t user_len, const char *pass,
                   size_t pass_len)
{
    tbw w = { out, cap, 0 };
    tbw_str(&w, "{\"username\":\"");
    tbw_esc(&w, user, user_len);
    tbw_str(&w, "\",\"password\":\"");
    tbw_esc(&w, pass, pass_len);
    tbw_str(&w, "\"}");
    return tbw_done(&w);
}

int tb_build_refresh(char *out, size_t cap, const char *refresh, size_t len)
{
    tbw w = { out, cap, 0 };
    tbw_str(&w, "{\"refreshToken\":\"");
    tbw_esc(&w, refresh, len);
    tbw_str(&w, "\"}");
    return tbw_done(&w);
}

int tb_url_escape(char *out, size_t cap, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~';
        if (o + (plain ? 1 : 3) >= cap)
            return TB_ERR_SPACE;
        if (plain) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (o >= cap)
        return TB_ERR_SPACE;
    out[o] = 0;
    return (int)o;
}

/* ---- WebSocket commands ----------------------------------------------------------- */

static int tb_cmd_valid(const tb_cmd *c)
{
    if (c->cmd_id <= 0)
        return 0;
    if (c->kind == TB_CMD_UNSUBSCRIBE)
        return 1;
    if (c->kind != TB_CMD_SUBSCRIBE || c->n_assets == 0 || !c->assets)
        return 0;
    if (c->n_keys == 0 && !c->with_details && c->n_attr_keys == 0)
        return 0; /* an empty latestCmd would subscribe to nothing */
    if (c->entity > TB_ENTITY_DEVICE)
        return 0;
    for (uint32_t i = 0; i < c->n_keys; i++)
        if (!c->keys || !c->keys[i] || !c->keys[i][0])
            return 0;
    for (uint32_t i = 0; i < c->n_attr_keys; i++)
        if (!c->attr_keys || !c->attr_keys[i] || !c->attr_keys[i][0])
            return 0;
    return 1;
}

/* One latestCmd key: {"type":"<type>","key":"<escaped>"}, after a comma unless first. */
static void tb_key_write(tbw *w, int first, const char *type, const char *key)
{
    tbw_str(w, first ? "{\"type\":\"" : ",{\"type\":\"");
    tbw_str(w, type);
    tbw_str(w, "\",\"key\":\"");
    tbw_esc(w, key, strlen(key));
    tbw_str(w, "\"}");
}

static const uint8_t *tb_cmd_id(const tb_cmd *c, uint32_t i)
{
    if (c->pick)
        return (const uint8_t *)c->assets + (size_t)c->pick_stride * c->pick[i];
    return c->assets[i];
}

static void tb_cmd_write(tbw *w, const tb_cmd *c)
{
    tbw_str(w, "{\"cmdId\":");
    tbw_int(w, c->cmd_id);
    if (c->kind == TB_CMD_UNSUBSCRIBE) {
        tbw_str(w, ",\"type\":\"ENTITY_DATA_UNSUBSCRIBE\"}");
        return;
    }
    tbw_str(w, ",\"type\":\"ENTITY_DATA\",\"query\":{\"entityFilter\":{\"type\":\"entityList\","
               "\"entityType\":\"");
    tbw_str(w, c->entity == TB_ENTITY_DEVICE ? "DEVICE" : "ASSET");
    tbw_str(w, "\",\"entityList\":[");
    for (uint32_t i = 0; i < c->n_assets; i++) {
        char u[37];
        tb_uuid_format(tb_cmd_id(c, i), u);
        tbw_raw(w, i ? ",\"" : "\"", i ? 2 : 1);
        tbw_raw(w, u, 36);
        tbw_raw(w, "\"", 1);
    }
    tbw_str(w, "]},\"pageLink\":{\"pageSize\":");
    tbw_int(w, c->n_assets);
    tbw_str(w, ",\"page\":0,\"sortOrder\":{\"key\":{\"type\":\"ENTITY_FIELD\",\"key\":"
               "\"createdTime\"},\"direction\":\"ASC\"},\"dynamic\":false},"
               /* no entity fields: names and profiles come from the REST listing, and
                * asking for them again made every snapshot entry ~15% larger to send
                * and parse (the protocol allows the list to be empty or absent) */
               "\"entityFields\":[],\"latestValues\":[]},"
               "\"latestCmd\":{\"keys\":[");
    for (uint32_t i = 0; i < c->n_keys; i++)
        tb_key_write(w, i == 0, "TIME_SERIES", c->keys[i]);
    if (c->with_details)
        tb_key_write(w, c->n_keys == 0, "SERVER_ATTRIBUTE", "assetDetails");
    for (uint32_t i = 0; i < c->n_attr_keys; i++)
        tb_key_write(w, c->n_keys == 0 && !c->with_details && i == 0, "SERVER_ATTRIBUTE",
                     c->attr_keys[i]);
    tbw_str(w, "]}}");
}

size_t tb_cmd_len(const tb_cmd *c)
{
    tbw w = { NULL, 0, 0 };
    tb_cmd_write(&w, c);
    return w.len;
}

int tb_build_next(tb_build_cursor *cur, const char *token, size_t token_len, const tb_cmd *cmds,
                  size_t n, char *out, size_t cap)
{
    int need_auth = token && !cur->auth_sent;
    if (!need_auth && cur->next >= n)
        return 0;
    if (cap > LIM_TB_OUT_MESSAGE)
        cap = LIM_TB_OUT_MESSAGE;
    tbw w = { out, cap, 0 };
    if (need_auth) {
        tbw_str(&w, "{\"authCmd\":{\"cmdId\":0,\"token\":\"");
        tbw_esc(&w, token, token_len);
        tbw_str(&w, "\"},\"cmds\":[");
    } else {
        tbw_str(&w, "{\"cmds\":[");
    }
    size_t first = cur->next, i = cur->next;
    for (; i < n; i++) {
        if (!tb_cmd_valid(&cmds[i]))
            return TB_ERR_ARG;
        size_t clen = tb_cmd_len(&cmds[i]) + (i > first ? 1 : 0);
        if (w.len + clen + 2 > cap)
            break;
        if (i > first)
            tbw_raw(&w, ",", 1);
        tb_cmd_write(&w, &cmds[i]);
    }
    if (i == first && i < n) {
        /* not even one command fits */
        size_t alone = tb_cmd_len(&cmds[i]) + 2 + (need_auth ? w.len : 9);
        return alone > LIM_TB_OUT_MESSAGE ? TB_ERR_TOO_BIG : TB_ERR_SPACE;
    }
    tbw_str(&w, "]}");
    int r = tbw_done(&w);
    if (r < 0)
        return r;
    cur->next = i;
    if (need_auth)
        cur->auth_sent = 1;
    return r;
}

const char *tb_strerror(int err)
{
    switch (err) {
    case TB_OK: return "ok";
    case TB_ERR_JSON: return "malformed JSON from ThingsBoard";
    case TB_ERR_TOKENS: return "ThingsBoard message has more JSON tokens than the parser holds";
    case TB_ERR_SHAPE: return "unexpected ThingsBoard message shape";
    case TB_ERR_TWO_FACTOR:
        return "two-factor authentication is enabled for this account; an unattended "
               "exporter cannot log in (use an account without 2FA)";
    case TB_ERR_SPACE: return "output buffer too small";
    case TB_ERR_TOO_BIG: return "one command exceeds the 32 KiB WebSocket message limit";
    case TB_ERR_ARG: return "invalid argument";
    case TB_ERR_STOPPED: return "stopped by the caller";
    default: return "unknown ThingsBoard error";
    }
}
