/*
 * tb_fast.c -- a validating fast path for the hot WebSocket message: the single-entity
 * `update` ThingsBoard pushes for every saved telemetry value.
 *
 * Decision. Issue 4 says JSON goes through jsmn, and the jsmn path (tb_ws_parse +
 * tb_ws_visit) stays the reference for every message. Profiling bench_core_ingest
 * showed jsmn tokenising ~2/3 of the instructions per update (~7,600 of ~11,300),
 * plus token walking, json_find and json_get_i64 on top. This scanner reads the
 * hot shape in one forward pass with no token array, and is allowed to decline:
 * anything outside the narrow grammar below returns 0 ("not handled") and the
 * caller runs the jsmn path on the same bytes, so declining is always correct.
 *
 * Accepted (a strict subset of RFC 8259 JSON; whitespace anywhere JSON allows it):
 *   top level, members in any order, each at most once, no others:
 *     "cmdId": integer 0..INT32_MAX (required)
 *     "errorCode": null or an integer equal to 0
 *     "errorMsg": null or string        "data": null
 *     "update": [ ENTITY ]  (exactly one element, required)
 *     "allowedEntities": null or number "cmdUpdateType": null or "ENTITY_DATA"
 *   ENTITY, members in any order, each at most once, no others:
 *     "entityId": {"entityType": null|string, "id": canonical UUID (required)}
 *     "latest": { TYPE: { KEY: TSVALUE, ... }, ... }   (required)
 *     "timeseries", "aggLatest": null or {}     "readAttrs", "readTs": null|true|false
 *   TSVALUE: {"ts": integer (int64), "value": null|string, "count": number}, each
 *     optional and at most once, no others.
 *   Member names must be exact (no escapes). TYPE and KEY may be any string, and
 *   may repeat (the jsmn path visits repeats in order; so does this one).
 *   Strings: no raw byte < 0x20; escapes exactly JSON's (\" \\ \/ \b \f \n \r \t
 *   \uXXXX). Bytes >= 0x80 pass, as in jsmn (the WebSocket layer checks UTF-8).
 *   Limits: at most TB_FAST_MAX_VALUES values, at most max_tok jsmn tokens.
 *
 * Why the results are equal. Every accepted message is well-formed JSON of one
 * object, so json_parse() accepts it too (jsmn strict accepts all RFC 8259 JSON
 * without NUL bytes; NUL and control bytes are rejected here) given enough tokens,
 * which the token count guarantees. On such a message tb_ws_parse reads cmdId (no
 * subscriptionId is allowed, so not legacy), errorCode 0, errorMsg as a raw view,
 * cmdUpdateType ENTITY_DATA or null, "data" not an object, "update" an array: kind
 * TB_WS_UPDATE. Members appear once, so "first match" (json_find) and "last match"
 * (the envelope walk) agree. tb_ws_visit then finds the one entity, parses its
 * UUID (the same canonical grammar as tb_uuid_parse, which must succeed here), and
 * walks latest/TYPE/KEY objects in order, giving ts (0 when absent), value views
 * (NULL when null or absent) and the escaped flags computed the same way.
 *
 * Proof obligations, tested: tests/fuzz/fuzz_tb_fast.c runs both paths on every
 * input (and on mutated hot-shape messages) and aborts when the fast path accepts
 * something jsmn rejects, or reports anything different; tests/unit/test_tb_fast.c
 * holds the table of edge cases (escapes, \u, whitespace, order, duplicates, nulls,
 * hostile bytes) checked both for accept/decline and against the jsmn path.
 */
#include "core/tb_fast.h"
#include "core/bytes.h"
#include "core/tb_fast_int.h"

#include <string.h>

/* 1 for bytes that end the plain run of a string: '"', '\\' and controls. */
static const uint8_t fast_stop[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
};

const int8_t tb_fast__hex[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  -1, -1, -1, -1, -1, -1, -1, 10, 11, 12, 13, 14, 15, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

/* tb_fast_int.h says what it returns. */
const char *tb_fast__string_end(const char *p, const char *end, int *esc)
{
    *esc = 0;
    for (;;) {
        /* eight bytes at a time while none is '"', '\\' or a control byte */
        while (end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
            uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
            uint64_t hit = ((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w);
            if (hit & high) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                /* the lowest flagged byte is a stop byte (a borrow only flags bytes
                 * above a real one): jump to it */
                p += __builtin_ctzll(hit & high) >> 3;
#endif
                break;
            }
            p += 8;
        }
        while (p < end && !fast_stop[(uint8_t)*p])
            p++;
        if (p >= end)
            return NULL;
        if (*p == '"')
            return p;
        if (*p != '\\' || p + 1 >= end)
            return NULL; /* a control byte, or a truncated escape */
        *esc = 1;
        switch (p[1]) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't': p += 2; break;
        case 'u':
            if (end - p < 6 || tb_fast__hex[(uint8_t)p[2]] < 0 || tb_fast__hex[(uint8_t)p[3]] < 0 ||
                tb_fast__hex[(uint8_t)p[4]] < 0 || tb_fast__hex[(uint8_t)p[5]] < 0)
                return NULL;
            p += 6;
            break;
        default: return NULL;
        }
    }
}

/* Consumes c (after whitespace) or fails. */
FAST_FN int fast_expect(fscan *s, char c)
{
    fast_ws(s);
    if (s->p >= s->end || *s->p != c)
        return 0;
    s->p++;
    return 1;
}


/* A string at s->p (after whitespace): content view and whether it has escapes. */
FAST_FN int fast_string(fscan *s, const char **str, size_t *len, int *escaped)
{
    fast_ws(s);
    if (s->p >= s->end || *s->p != '"')
        return 0;
    const char *q = tb_fast__string_end(s->p + 1, s->end, escaped);
    if (!q)
        return 0;
    *str = s->p + 1;
    *len = (size_t)(q - *str);
    s->p = q + 1;
    s->ntok++;
    return 1;
}

/* A member name followed by ':'. Names are matched as literals with their closing
 * quote (the known names have no '"', '\\' or controls), so no scan is needed: a
 * name that is not one of names[] (escaped or unknown) is refused. Returns the
 * index in names[] or -1. */
typedef struct fast_nm {
    const char *s;
    size_t len;
} fast_nm;
#define NM(lit)              \
    {                        \
        lit, sizeof(lit) - 1 \
    }

FAST_FN int fast_member(fscan *s, const fast_nm *names, unsigned n, unsigned first)
{
    fast_ws(s);
    const char *p = s->p;
    size_t avail = (size_t)(s->end - p);
    if (avail < 3 || *p != '"')
        return -1;
    for (unsigned j = 0, i = first; j < n; j++, i = i + 1 == n ? 0 : i + 1) {
        size_t l = names[i].len;
        if (names[i].s[0] == p[1] && avail >= l + 2 && p[l + 1] == '"' &&
            bytes_eq(p + 1, names[i].s, l)) {
            s->p = p + l + 2;
            s->ntok++;
            return fast_expect(s, ':') ? (int)i : -1;
        }
    }
    return -1;
}

FAST_FN int fast_lit(fscan *s, const char *lit, size_t n)
{
    if ((size_t)(s->end - s->p) < n || !bytes_eq(s->p, lit, n))
        return 0;
    s->p += n;
    s->ntok++;
    return 1;
}

/* Peeks (after whitespace) for the literal null and consumes it. */
FAST_FN int fast_null(fscan *s)
{
    fast_ws(s);
    return s->p < s->end && *s->p == 'n' && fast_lit(s, "null", 4);
}


/* Any JSON number (grammar only; its value is ignored). */
FAST_FN int fast_number(fscan *s)
{
    fast_ws(s);
    const char *p = s->p, *end = s->end;
    if (p < end && *p == '-')
        p++;
    if (p >= end || *p < '0' || *p > '9')
        return 0;
    if (*p == '0')
        p++;
    else
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    if (p < end && *p == '.') {
        const char *d = ++p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        if (p == d)
            return 0;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        const char *d = p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        if (p == d)
            return 0;
    }
    s->p = p;
    s->ntok++;
    return 1;
}

/* null or {} */
FAST_FN int fast_null_or_empty(fscan *s)
{
    if (fast_null(s))
        return 1;
    if (!fast_expect(s, '{') || !fast_expect(s, '}'))
        return 0;
    s->ntok++;
    return 1;
}

/* null, true or false */
FAST_FN int fast_bool_or_null(fscan *s)
{
    fast_ws(s);
    if (s->p >= s->end)
        return 0;
    switch (*s->p) {
    case 'n': return fast_lit(s, "null", 4);
    case 't': return fast_lit(s, "true", 4);
    case 'f': return fast_lit(s, "false", 5);
    default: return 0;
    }
}

/* After a member: 1 if another follows (','), 0 at '}', -1 otherwise. */
FAST_FN int fast_next(fscan *s)
{
    fast_ws(s);
    if (s->p >= s->end)
        return -1;
    char c = *s->p++;
    return c == ',' ? 1 : c == '}' ? 0 : -1;
}

/* Opens an object; 1 if it has members, 0 if empty ("{}"), -1 if not an object. */
FAST_FN int fast_open(fscan *s)
{
    if (!fast_expect(s, '{'))
        return -1;
    s->ntok++;
    fast_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return 0;
    }
    return 1;
}


FAST_FN tb_key_type fast_key_type(const char *t, size_t n)
{
    switch (n) {
    case 9: return memcmp(t, "ATTRIBUTE", 9) == 0 ? TB_KEY_ATTRIBUTE : TB_KEY_OTHER;
    case 11: return memcmp(t, "TIME_SERIES", 11) == 0 ? TB_KEY_TIME_SERIES : TB_KEY_OTHER;
    case 12: return memcmp(t, "ENTITY_FIELD", 12) == 0 ? TB_KEY_ENTITY_FIELD : TB_KEY_OTHER;
    case 16:
        if (memcmp(t, "SERVER_ATTRIBUTE", 16) == 0)
            return TB_KEY_SERVER_ATTRIBUTE;
        if (memcmp(t, "CLIENT_ATTRIBUTE", 16) == 0)
            return TB_KEY_CLIENT_ATTRIBUTE;
        if (memcmp(t, "SHARED_ATTRIBUTE", 16) == 0)
            return TB_KEY_SHARED_ATTRIBUTE;
        return TB_KEY_OTHER;
    default: return TB_KEY_OTHER;
    }
}

/* The id string: exactly a quoted canonical UUID, no scan needed (the hex check
 * refuses '"', '\\' and controls inside). */
FAST_FN int fast_uuid_string(fscan *s, uint8_t out[16])
{
    fast_ws(s);
    if (s->end - s->p < 38 || s->p[0] != '"' || s->p[37] != '"' || !fast_uuid(s->p + 1, 36, out))
        return 0;
    s->p += 38;
    s->ntok++;
    return 1;
}

/* Runs one object's members through fn(member index); each member at most once.
 * Returns the set of members seen, or 0 on failure (callers require at least one).
 * Names are tried from the one after the last member matched: the tables list them
 * in the order ThingsBoard writes them, so each is found at the first try. Only the
 * order of the tries depends on this (at most one name can match). */
typedef int (*fast_member_fn)(fscan *s, int which, void *ctx);
FAST_FN unsigned fast_object(fscan *s, const fast_nm *names, unsigned n, fast_member_fn fn,
                             void *ctx)
{
    int r = fast_open(s);
    if (r <= 0)
        return 0;
    unsigned seen = 0, next = 0;
    do {
        int w = fast_member(s, names, n, next);
        if (w < 0 || (seen & (1u << w)) || !fn(s, w, ctx))
            return 0;
        seen |= 1u << w;
        next = (unsigned)w + 1 == n ? 0 : (unsigned)w + 1;
    } while ((r = fast_next(s)) == 1);
    return r == 0 ? seen : 0;
}

static const fast_nm tsv_names[] = { NM("ts"), NM("value"), NM("count") };

typedef struct fast_tsv {
    tb_ws_value *v;
    const char **ts_tok;
} fast_tsv;

FAST_FN int fast_tsv_member(fscan *s, int w, void *ctx)
{
    fast_tsv *t = ctx;
    tb_ws_value *v = t->v;
    switch (w) {
    case 0:
        fast_ws(s);
        *t->ts_tok = s->p;
        return fast_i64(s, &v->ts);
    case 1: return fast_null(s) || fast_string(s, &v->value, &v->value_len, &v->value_escaped);
    default: return fast_number(s);
    }
}

/* {"ts":..,"value":..,"count":..} into v (key fields already set) and where its ts
 * starts into *ts_tok (NULL when absent); {} is fine. */
FAST_FN int fast_tsvalue(fscan *s, tb_ws_value *v, const char **ts_tok)
{
    fast_tsv t = { v, ts_tok };
    *ts_tok = NULL;
    v->ts = 0;
    v->value = NULL;
    v->value_len = 0;
    v->value_escaped = 0;
    fast_ws(s);
    if (s->end - s->p >= 2 && s->p[0] == '{') {
        const char *q = s->p + 1;
        while (q < s->end && (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t'))
            q++;
        if (q < s->end && *q == '}') {
            s->p = q + 1;
            s->ntok++;
            return 1;
        }
    }
    return fast_object(s, tsv_names, 3, fast_tsv_member, &t) != 0;
}

/* "latest": { TYPE: { KEY: TSVALUE, ... }, ... } */
FAST_FN int fast_latest(fscan *s, tb_fast_msg *out)
{
    int r = fast_open(s);
    if (r <= 0)
        return r == 0;
    do {
        const char *t;
        size_t tlen;
        int esc;
        if (!fast_string(s, &t, &tlen, &esc) || !fast_expect(s, ':'))
            return 0;
        tb_key_type type = fast_key_type(t, tlen);
        int k = fast_open(s);
        if (k < 0)
            return 0;
        if (k == 0)
            continue;
        do {
            if (out->n_values >= TB_FAST_MAX_VALUES)
                return 0;
            const char **ts_tok = &out->ts_tok[out->n_values];
            tb_ws_value *v = &out->values[out->n_values++];
            v->entity = out->entity;
            v->type = type;
            if (!fast_string(s, &v->key, &v->key_len, &v->key_escaped) || !fast_expect(s, ':') ||
                !fast_tsvalue(s, v, ts_tok))
                return 0;
        } while ((k = fast_next(s)) == 1);
        if (k < 0)
            return 0;
    } while ((r = fast_next(s)) == 1);
    return r == 0;
}

static const fast_nm eid_names[] = { NM("entityType"), NM("id") };

FAST_FN int fast_eid_member(fscan *s, int w, void *ctx)
{
    tb_fast_msg *out = ctx;
    const char *str;
    size_t slen;
    int esc;
    if (w == 1) {
        fast_ws(s);
        out->id_tok = s->p;
        return fast_uuid_string(s, out->entity);
    }
    return fast_null(s) || fast_string(s, &str, &slen, &esc);
}

/* PE writes readAttrs and readTs after entityId; CE has neither. */
static const fast_nm ent_names[] = { NM("entityId"), NM("readAttrs"),  NM("readTs"),
                                     NM("latest"),   NM("timeseries"), NM("aggLatest") };

FAST_FN int fast_ent_member(fscan *s, int w, void *ctx)
{
    tb_fast_msg *out = ctx;
    switch (w) {
    case 0: return (fast_object(s, eid_names, 2, fast_eid_member, out) & 2) != 0;
    case 3: return fast_latest(s, out);
    case 4:
    case 5: return fast_null_or_empty(s);
    default: return fast_bool_or_null(s);
    }
}

static const fast_nm top_names[] = { NM("cmdId"),        NM("errorCode"), NM("errorMsg"),
                                     NM("data"),         NM("update"),    NM("allowedEntities"),
                                     NM("cmdUpdateType") };

FAST_FN int fast_top_member(fscan *s, int w, void *ctx)
{
    tb_fast_msg *out = ctx;
    const char *str;
    size_t slen;
    int esc;
    int64_t v;
    switch (w) {
    case 0:
        if (!fast_i64(s, &v) || v < 0 || v > INT32_MAX)
            return 0;
        out->cmd_id = (int32_t)v;
        return 1;
    case 1: return fast_null(s) || (fast_i64(s, &v) && v == 0);
    case 2:
        if (fast_null(s))
            return 1;
        return fast_string(s, &out->error_msg, &out->error_msg_len, &esc);
    case 3: return fast_null(s);
    case 4:
        if (!fast_expect(s, '['))
            return 0;
        s->ntok++;
        return (fast_object(s, ent_names, 6, fast_ent_member, out) & 9) == 9 && fast_expect(s, ']');
    case 5: return fast_null(s) || fast_number(s);
    default:
        if (fast_null(s))
            return 1;
        return fast_string(s, &str, &slen, &esc) && slen == 11 &&
               memcmp(str, "ENTITY_DATA", 11) == 0;
    }
}

int tb_fast_update(const char *msg, size_t len, unsigned max_tok, tb_fast_msg *out)
{
    if (!msg || len == 0 || len > TB_FAST_MAX_MSG)
        return 0;
    fscan s = { msg, msg + len, 0 };
    out->cmd_id = -1;
    out->error_msg = NULL;
    out->error_msg_len = 0;
    out->n_values = 0;
    unsigned seen = fast_object(&s, top_names, 7, fast_top_member, out);
    if ((seen & (1u | 16u)) != (1u | 16u))
        return 0; /* cmdId and update are required */
    fast_ws(&s);
    if (s.p != s.end || s.ntok > max_tok)
        return 0;
    out->ntok = s.ntok;
    return 1;
}
