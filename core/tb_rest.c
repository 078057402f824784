/*
 * tb_rest.c -- parsers for ThingsBoard's REST responses: the token pair, error
 * bodies (JSON, plain text or empty), PageData<Asset> and PageData<Device>, key lists
 * and SERVER_SCOPE attributes including assetDetails. Unknown fields are ignored
 * everywhere, since PE and newer servers add fields (ownerId, version,
 * subscriptionErrorCode...).
 */
#include "core/tb.h"

#include <string.h>

#define TB_DETAIL_TOKENS 512

static int tb_tokres(int r)
{
    if (r == JSON_ERR_TOKENS)
        return TB_ERR_TOKENS;
    return TB_ERR_JSON;
}

static int tb_jwt_chars(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == '='))
            return 0;
    }
    return n > 0 && n <= LIM_JWT_BYTES;
}

int tb_parse_login(const char *body, size_t len, jsmntok_t *tok, unsigned ntok, tb_token_pair *out)
{
    memset(out, 0, sizeof *out);
    int n = json_parse(body, len, tok, ntok);
    if (n < 0)
        return tb_tokres(n);
    if (tok[0].type != JSMN_OBJECT)
        return TB_ERR_SHAPE;
    int t = json_find(body, tok, n, 0, "token");
    int r = json_find(body, tok, n, 0, "refreshToken");
    int s = json_find(body, tok, n, 0, "scope");
    if (s >= 0 && !json_is_null(body, &tok[s]))
        return TB_ERR_TWO_FACTOR;
    if (t < 0 || tok[t].type != JSMN_STRING)
        return TB_ERR_SHAPE;
    if (r < 0 || json_is_null(body, &tok[r]))
        return TB_ERR_TWO_FACTOR;
    if (tok[r].type != JSMN_STRING)
        return TB_ERR_SHAPE;
    out->token = body + tok[t].start;
    out->token_len = (size_t)(tok[t].end - tok[t].start);
    out->refresh = body + tok[r].start;
    out->refresh_len = (size_t)(tok[r].end - tok[r].start);
    if (!tb_jwt_chars(out->token, out->token_len) ||
        !tb_jwt_chars(out->refresh, out->refresh_len)) {
        memset(out, 0, sizeof *out);
        return TB_ERR_SHAPE;
    }
    return TB_OK;
}

/* Copies printable ASCII, replacing anything else by '?', cut to fit. */
static void tb_copy_printable(char *dst, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n' || c == '\r' || c == '\t')
            c = ' ';
        dst[o++] = (char)(c >= 0x20 && c < 0x7f ? c : '?');
    }
    while (o > 0 && dst[o - 1] == ' ')
        o--;
    dst[o] = 0;
}

void tb_parse_error(int http_status, const char *body, size_t len, jsmntok_t *tok, unsigned ntok,
                    tb_error *out)
{
    memset(out, 0, sizeof *out);
    out->status = http_status;
    out->error_code = -1;
    size_t b = 0;
    while (b < len && (body[b] == ' ' || body[b] == '\n' || body[b] == '\r' || body[b] == '\t'))
        b++;
    int n = b < len && body[b] == '{' ? json_parse(body, len, tok, ntok) : -1;
    if (n > 0 && tok[0].type == JSMN_OBJECT) {
        out->json = 1;
        int c = json_find(body, tok, n, 0, "errorCode");
        int64_t v;
        if (c >= 0 && json_get_i64(body, &tok[c], &v) == JSON_OK && v >= 0 && v < 100000)
            out->error_code = (int)v;
        int st = json_find(body, tok, n, 0, "status");
        if (http_status <= 0 && st >= 0 && json_get_i64(body, &tok[st], &v) == JSON_OK &&
            v >= 100 && v < 600)
            out->status = (int)v;
        int m = json_find(body, tok, n, 0, "message");
        if (m >= 0 && tok[m].type == JSMN_STRING) {
            char tmp[sizeof out->message];
            int cut;
            int r = json_unescape_cut(body + tok[m].start, (size_t)(tok[m].end - tok[m].start), tmp,
                                      sizeof tmp, &cut);
            if (r >= 0)
                tb_copy_printable(out->message, sizeof out->message, tmp, (size_t)r);
        }
    } else if (len > 0) {
        tb_copy_printable(out->message, sizeof out->message, body + b, len - b);
    }

    int st = out->status, ec = out->error_code;
    if (st == 400 && strncmp(out->message, "Invalid UUID string", 19) == 0)
        out->kind = TB_EK_CE_SERVER;
    else if (ec == 33 || st == 429)
        out->kind = TB_EK_RATE_LIMITED;
    else if (ec == 11)
        out->kind = TB_EK_TOKEN_EXPIRED;
    else if (ec == 15 || ec == 45)
        out->kind = TB_EK_PASSWORD_EXPIRED;
    else if (ec == 10 || (st == 401 && ec < 0))
        out->kind = TB_EK_BAD_CREDENTIALS;
    else if (st == 401)
        out->kind = TB_EK_BAD_CREDENTIALS;
    else if (st == 403 || ec == 20 || ec == 40 || ec == 41)
        out->kind = TB_EK_PERMISSION;
    else if (st == 404 || ec == 32)
        out->kind = TB_EK_NOT_FOUND;
    else if (st >= 400 && st < 500)
        out->kind = TB_EK_BAD_REQUEST;
    else
        out->kind = TB_EK_TRANSIENT;
}

/* The members of an Asset the exporter reads. */
enum { TB_AF_ID, TB_AF_OWNER, TB_AF_CUSTOMER, TB_AF_NAME, TB_AF_TYPE, TB_AF_LABEL, TB_AF_COUNT };

/* Value token of the first member of object obj named each TB_AF_* field (-1 when
 * absent): what json_find would return for each name, found in one walk over the
 * members instead of one walk per name (a listing page holds thousands of assets). */
static void tb_asset_members(const char *js, const jsmntok_t *t, int n, int obj,
                             int at[TB_AF_COUNT])
{
    static const struct {
        const char *name;
        unsigned char len, field;
    } want[] = { { "id", 2, TB_AF_ID },
                 { "ownerId", 7, TB_AF_OWNER },
                 { "customerId", 10, TB_AF_CUSTOMER },
                 { "name", 4, TB_AF_NAME },
                 { "type", 4, TB_AF_TYPE },
                 { "label", 5, TB_AF_LABEL } };
    for (int f = 0; f < TB_AF_COUNT; f++)
        at[f] = -1;
    int end = t[obj].end;
    for (int i = obj + 1; i + 1 < n && t[i].start < end && t[i + 1].start < end;
         i = json_skip(t, n, i + 1)) {
        if (t[i].type != JSMN_STRING)
            continue;
        size_t kl = (size_t)(t[i].end - t[i].start);
        for (size_t w = 0; w < sizeof want / sizeof want[0]; w++)
            if (kl == want[w].len && at[want[w].field] < 0 &&
                memcmp(js + t[i].start, want[w].name, kl) == 0) {
                at[want[w].field] = i + 1;
                break;
            }
    }
}

/* {"entityType":..,"id":"uuid"} at token v (-1: absent) -> 16 bytes; 0 on success. */
static int tb_id_at(const char *js, const jsmntok_t *t, int n, int v, uint8_t out[16])
{
    if (v < 0)
        return -1;
    int id = json_find(js, t, n, v, "id");
    if (id < 0 || t[id].type != JSMN_STRING)
        return -1;
    return tb_uuid_parse(js + t[id].start, (size_t)(t[id].end - t[id].start), out) == TB_OK ? 0
                                                                                            : -1;
}

/* The kind named by {"entityType":"DEVICE",..} at token v: a device, else an asset. */
static uint8_t tb_entity_at(const char *js, const jsmntok_t *t, int n, int v)
{
    int et = json_find(js, t, n, v, "entityType");
    if (et >= 0 && t[et].type == JSMN_STRING && t[et].end - t[et].start == 6 &&
        memcmp(js + t[et].start, "DEVICE", 6) == 0)
        return TB_ENTITY_DEVICE;
    return TB_ENTITY_ASSET;
}

/* The string at token v (-1: absent), unescaped into dst. */
static void tb_str_at(const char *js, const jsmntok_t *t, int v, char *dst, size_t cap,
                      uint16_t *dlen, int *cut)
{
    dst[0] = 0;
    *dlen = 0;
    if (v < 0 || t[v].type != JSMN_STRING)
        return;
    int c = 0;
    int r = json_unescape_cut(js + t[v].start, (size_t)(t[v].end - t[v].start), dst, cap, &c);
    if (r < 0) {
        /* bad escape: keep the raw text, which is at least printable JSON */
        size_t raw = (size_t)(t[v].end - t[v].start);
        if (raw >= cap)
            raw = cap - 1, c = 1;
        memcpy(dst, js + t[v].start, raw);
        dst[raw] = 0;
        r = (int)raw;
    }
    *dlen = (uint16_t)r;
    *cut |= c;
}

int tb_parse_asset_page(const char *body, size_t len, jsmntok_t *tok, unsigned ntok, tb_asset_fn fn,
                        void *ctx, tb_page_info *info)
{
    memset(info, 0, sizeof *info);
    int n = json_parse(body, len, tok, ntok);
    if (n < 0)
        return tb_tokres(n);
    if (tok[0].type != JSMN_OBJECT)
        return TB_ERR_SHAPE;
    int d = json_find(body, tok, n, 0, "data");
    if (d < 0 || tok[d].type != JSMN_ARRAY)
        return TB_ERR_SHAPE;
    int64_t v;
    int hn = json_find(body, tok, n, 0, "hasNext");
    if (hn < 0 || json_get_bool(body, &tok[hn], &info->has_next) != JSON_OK)
        return TB_ERR_SHAPE;
    int tp = json_find(body, tok, n, 0, "totalPages");
    if (tp >= 0 && json_get_i64(body, &tok[tp], &v) == JSON_OK && v >= 0 && v <= INT32_MAX)
        info->total_pages = (int32_t)v;
    int te = json_find(body, tok, n, 0, "totalElements");
    if (te >= 0 && json_get_i64(body, &tok[te], &v) == JSON_OK && v >= 0)
        info->total_elements = v;

    tb_asset a;
    int at[TB_AF_COUNT];
    for (int i = d + 1; i < n && tok[i].start < tok[d].end; i = json_skip(tok, n, i)) {
        memset(&a, 0, sizeof a);
        if (tok[i].type != JSMN_OBJECT) {
            info->skipped++;
            continue;
        }
        tb_asset_members(body, tok, n, i, at);
        if (tb_id_at(body, tok, n, at[TB_AF_ID], a.id) < 0) {
            info->skipped++;
            continue;
        }
        a.kind = tb_entity_at(body, tok, n, at[TB_AF_ID]);
        if (tb_id_at(body, tok, n, at[TB_AF_OWNER], a.owner_id) < 0)
            tb_id_at(body, tok, n, at[TB_AF_CUSTOMER], a.owner_id);
        tb_str_at(body, tok, at[TB_AF_NAME], a.name, sizeof a.name, &a.name_len, &a.cut);
        tb_str_at(body, tok, at[TB_AF_TYPE], a.type, sizeof a.type, &a.type_len, &a.cut);
        tb_str_at(body, tok, at[TB_AF_LABEL], a.label, sizeof a.label, &a.label_len, &a.cut);
        info->assets++;
        if (fn && fn(ctx, &a))
            return TB_ERR_STOPPED;
    }
    return TB_OK;
}

int tb_parse_key_list(const char *body, size_t len, jsmntok_t *tok, unsigned ntok, tb_key_fn fn,
                      void *ctx)
{
    int n = json_parse(body, len, tok, ntok);
    if (n < 0)
        return tb_tokres(n);
    if (tok[0].type != JSMN_ARRAY)
        return TB_ERR_SHAPE;
    for (int i = 1; i < n; i = json_skip(tok, n, i)) {
        if (tok[i].type != JSMN_STRING)
            continue;
        const char *k = body + tok[i].start;
        size_t kl = (size_t)(tok[i].end - tok[i].start);
        if (fn && fn(ctx, k, kl, memchr(k, '\\', kl) != NULL))
            return TB_ERR_STOPPED;
    }
    return TB_OK;
}

int tb_parse_attributes(const char *body, size_t len, jsmntok_t *tok, unsigned ntok, tb_attr_fn fn,
                        void *ctx)
{
    int n = json_parse(body, len, tok, ntok);
    if (n < 0)
        return tb_tokres(n);
    if (tok[0].type != JSMN_ARRAY)
        return TB_ERR_SHAPE;
    for (int i = 1; i < n; i = json_skip(tok, n, i)) {
        int k = json_find(body, tok, n, i, "key");
        int v = json_find(body, tok, n, i, "value");
        if (k < 0 || v < 0 || tok[k].type != JSMN_STRING)
            continue;
        tb_attr a;
        memset(&a, 0, sizeof a);
        a.key = body + tok[k].start;
        a.key_len = (size_t)(tok[k].end - tok[k].start);
        a.key_escaped = memchr(a.key, '\\', a.key_len) != NULL;
        int ts = json_find(body, tok, n, i, "lastUpdateTs");
        if (ts >= 0)
            json_get_i64(body, &tok[ts], &a.last_update_ts);
        a.json = body;
        a.value = &tok[v];
        if (fn && fn(ctx, &a))
            return TB_ERR_STOPPED;
    }
    return TB_OK;
}

int tb_parse_details(const char *text, size_t len, int is_string, char *scratch, size_t scap,
                     tb_detail *out, size_t cap)
{
    jsmntok_t tok[TB_DETAIL_TOKENS];
    const char *js = text;
    if (is_string) {
        int r = json_unescape(text, len, scratch, scap);
        if (r == JSON_ERR_SPACE)
            return TB_ERR_SPACE;
        if (r < 0)
            return TB_ERR_JSON;
        js = scratch;
        len = (size_t)r;
    }
    int n = json_parse(js, len, tok, TB_DETAIL_TOKENS);
    if (n < 0)
        return tb_tokres(n);
    if (tok[0].type != JSMN_OBJECT)
        return TB_ERR_SHAPE;
    size_t got = 0;
    int end = tok[0].end;
    for (int i = 1; i + 1 < n && tok[i].start < end && got < cap; i = json_skip(tok, n, i + 1)) {
        const jsmntok_t *k = &tok[i], *v = &tok[i + 1];
        if (k->type != JSMN_STRING || v->type == JSMN_OBJECT || v->type == JSMN_ARRAY ||
            json_is_null(js, v))
            continue;
        tb_detail *d = &out[got];
        int cut;
        if (json_unescape_cut(js + k->start, (size_t)(k->end - k->start), d->key, sizeof d->key,
                              &cut) <= 0)
            continue;
        size_t vl = (size_t)(v->end - v->start);
        if (v->type == JSMN_STRING) {
            if (json_unescape_cut(js + v->start, vl, d->value, sizeof d->value, &cut) < 0)
                continue;
        } else {
            /* number or boolean: keep its JSON text */
            if (vl >= sizeof d->value)
                vl = sizeof d->value - 1;
            memcpy(d->value, js + v->start, vl);
            d->value[vl] = 0;
        }
        got++;
    }
    return (int)got;
}
