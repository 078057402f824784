/*
 * tb_shape.c -- reading a message by the layout of one read before (tb_shape.h).
 *
 * Why a match gives what tb_fast_update() gives. Let M0 be the message a shape was
 * cut from: tb_fast_update() accepted it, with errorMsg null. Its holes are whole
 * tokens that the grammar (tb_fast.c) reads with one rule whatever they hold:
 * entityId.id (a quoted canonical UUID), a ts (an int64) and a value (a string). A
 * message M1 matches when it has M0's bytes outside the holes and, in each hole, a
 * token that the same rule accepts, read here by the same primitives (tb_fast_int.h).
 * Every decision of the grammar scan depends only on the bytes outside those tokens
 * and on each token being accepted, and each token ends where the scan ends it: a
 * string at its first unescaped quote, a UUID after 38 bytes, an integer at its first
 * non-digit (and the byte after it is the one after M0's integer, which was no digit,
 * '.', 'e' or 'E', since M0 was accepted). So the scan would accept M1 taking the
 * same steps: the same cmdId, token count, value types, keys (views moved by the
 * lengths of the holes before them) and errorMsg null; the entity, the ts and the
 * value views and escape flags are those of M1's tokens. fast_i64 skips whitespace
 * before an integer, as the scan does at that point; the other holes must start with
 * their quote.
 *
 * tests/fuzz/fuzz_tb_shape.c checks this against tb_fast_update() on mutations of
 * remembered messages; tests/unit/test_tb_shape.c holds the cases by hand.
 */
#include "core/tb_shape.h"
#include "core/bytes.h"
#include "core/tb_fast_int.h"

#include <string.h>

enum { TB_SHAPE_ID = 1, TB_SHAPE_TS = 2, TB_SHAPE_STR = 3 };

/* Whether shapes are worth trying: a hit adds TB_SHAPE_HIT to the score, a miss takes
 * one off, within +-TB_SHAPE_MAX. While the score is above zero every message tries
 * them, so a feed keeps trying while more than about one try in three hits; below, one
 * message in TB_SHAPE_SPARSE does. A new feed starts at TB_SHAPE_START. */
#define TB_SHAPE_HIT    2
#define TB_SHAPE_MAX    64
#define TB_SHAPE_START  16
#define TB_SHAPE_SPARSE 64u

/* Reads msg by shape sh into out; 0 when it does not match. */
static int shape_match(const tb_shape *sh, const char *msg, size_t len, tb_fast_msg *out)
{
    const char *p = msg, *end = msg + len;
    size_t t = 0, shift[TB_SHAPE_HOLES + 1];
    shift[0] = 0;
    for (unsigned i = 0; i < sh->n_values; i++) {
        tb_ws_value *v = &out->values[i];
        v->ts = 0;
        v->value = NULL;
        v->value_len = 0;
        v->value_escaped = 0;
        out->ts_tok[i] = NULL;
    }
    for (unsigned h = 0; h < sh->nholes; h++) {
        const tb_shape_hole *ho = &sh->hole[h];
        size_t n = ho->at - t;
        if ((size_t)(end - p) < n || !bytes_eq(p, sh->text + t, n))
            return 0;
        p += n;
        t += n;
        const char *tok = p;
        tb_ws_value *v = &out->values[ho->value];
        if (ho->kind == TB_SHAPE_ID) {
            if (end - p < 38 || p[0] != '"' || p[37] != '"' || !fast_uuid(p + 1, 36, out->entity))
                return 0;
            out->id_tok = p;
            p += 38;
        } else if (ho->kind == TB_SHAPE_TS) {
            fscan s = { p, end, 0 };
            fast_ws(&s);
            out->ts_tok[ho->value] = s.p;
            if (!fast_i64(&s, &v->ts))
                return 0;
            p = s.p;
        } else {
            int esc;
            const char *q = p < end && *p == '"' ? tb_fast__string_end(p + 1, end, &esc) : NULL;
            if (!q)
                return 0;
            v->value = p + 1;
            v->value_len = (size_t)(q - v->value);
            v->value_escaped = esc;
            p = q + 1;
        }
        shift[h + 1] = shift[h] + (size_t)(p - tok);
    }
    size_t n = sh->len - t;
    if ((size_t)(end - p) != n || !bytes_eq(p, sh->text + t, n))
        return 0;
    for (unsigned i = 0; i < sh->n_values; i++) {
        const tb_shape_key *k = &sh->key[i];
        tb_ws_value *v = &out->values[i];
        v->entity = out->entity;
        v->type = (tb_key_type)k->type;
        v->key = msg + k->at + shift[k->holes];
        v->key_len = k->len;
        v->key_escaped = k->escaped;
    }
    out->cmd_id = sh->cmd_id;
    out->error_msg = NULL;
    out->error_msg_len = 0;
    out->ntok = sh->ntok;
    out->n_values = sh->n_values;
    return 1;
}

typedef struct shape_cut {
    const char *at;
    size_t len;
    uint8_t kind, value;
} shape_cut;

/* Makes sh the layout of msg, which tb_fast_update() read into fm; leaves sh empty
 * when it does not fit. */
static void shape_record(tb_shape *sh, const char *msg, size_t len, const tb_fast_msg *fm)
{
    shape_cut c[TB_SHAPE_HOLES];
    unsigned n = 0;
    sh->len = 0;
    c[n++] = (shape_cut){ fm->id_tok, 38, TB_SHAPE_ID, 0 };
    for (unsigned i = 0; i < fm->n_values; i++) {
        const tb_ws_value *v = &fm->values[i];
        if (fm->ts_tok[i]) {
            fscan s = { fm->ts_tok[i], msg + len, 0 };
            int64_t ts;
            if (!fast_i64(&s, &ts))
                return;
            c[n++] = (shape_cut){ fm->ts_tok[i], (size_t)(s.p - fm->ts_tok[i]), TB_SHAPE_TS,
                                  (uint8_t)i };
        }
        if (v->value)
            c[n++] = (shape_cut){ v->value - 1, v->value_len + 2, TB_SHAPE_STR, (uint8_t)i };
    }
    for (unsigned i = 1; i < n; i++) /* by position: members come in any order */
        for (unsigned j = i; j > 0 && c[j].at < c[j - 1].at; j--) {
            shape_cut x = c[j];
            c[j] = c[j - 1];
            c[j - 1] = x;
        }
    const char *p = msg;
    size_t t = 0;
    for (unsigned i = 0; i <= n; i++) {
        const char *to = i < n ? c[i].at : msg + len;
        if (to < p || (size_t)(to - p) > TB_SHAPE_TEXT - t)
            return;
        memcpy(sh->text + t, p, (size_t)(to - p));
        t += (size_t)(to - p);
        if (i < n) {
            sh->hole[i] = (tb_shape_hole){ (uint16_t)t, c[i].kind, c[i].value };
            p = c[i].at + c[i].len;
        }
    }
    for (unsigned i = 0; i < fm->n_values; i++) {
        const tb_ws_value *v = &fm->values[i];
        size_t cut = 0;
        uint8_t before = 0;
        while (before < n && c[before].at < v->key)
            cut += c[before++].len;
        sh->key[i] = (tb_shape_key){ (uint16_t)((size_t)(v->key - msg) - cut), (uint16_t)v->key_len,
                                     before, (uint8_t)v->type, (uint8_t)v->key_escaped };
    }
    /* the probe: the 8 bytes that end with the first key's closing quote (keys of a
     * fleet often share a prefix, telemetry_param_...), when only ids (38 bytes each)
     * come before them and they lie in one literal run */
    sh->probe_at = 0;
    if (fm->n_values) {
        const tb_shape_key *k = &sh->key[0];
        int ids_only = 1;
        for (unsigned i = 0; i < k->holes; i++)
            ids_only &= sh->hole[i].kind == TB_SHAPE_ID;
        size_t end = (size_t)k->at + k->len + 1;
        size_t prev = k->holes ? sh->hole[k->holes - 1].at : 0;
        size_t next = k->holes < n ? sh->hole[k->holes].at : t;
        if (ids_only && end >= prev + 8 && end <= next) {
            memcpy(&sh->probe, sh->text + end - 8, 8);
            sh->probe_at = (uint32_t)(end - 8 + 38u * k->holes);
        }
    }
    sh->nholes = (uint8_t)n;
    sh->n_values = (uint8_t)fm->n_values;
    sh->cmd_id = fm->cmd_id;
    sh->ntok = fm->ntok;
    sh->len = (uint16_t)t;
}

/* Moves the slot at order position i to the front. */
static void shape_touch(tb_shapes *sh, unsigned i)
{
    if (i == 0)
        return; /* the usual hit: no call into the C library's memmove for nothing */
    uint8_t k = sh->order[i];
    memmove(sh->order + 1, sh->order, i);
    sh->order[0] = k;
}

void tb_shapes_reset(tb_shapes *sh)
{
    memset(sh, 0, sizeof *sh);
    for (unsigned i = 0; i < TB_SHAPES; i++)
        sh->order[i] = (uint8_t)i;
    sh->score = TB_SHAPE_START;
}

int tb_shape_update(tb_shapes *sh, const char *msg, size_t len, unsigned max_tok, tb_fast_msg *out)
{
    if (!msg || len == 0 || len > TB_FAST_MAX_MSG)
        return 0; /* as tb_fast_update */
    int sparse = sh->score <= 0, tryit = !sparse || ++sh->idle % TB_SHAPE_SPARSE == 0;
    if (tryit) {
        for (unsigned i = 0; i < TB_SHAPES; i++) {
            const tb_shape *s = &sh->s[sh->order[i]];
            uint64_t w;
            if (!s->len || s->ntok > max_tok)
                continue;
            if (s->probe_at) {
                if ((size_t)s->probe_at + 8 > len)
                    continue;
                memcpy(&w, msg + s->probe_at, 8);
                if (w != s->probe)
                    continue;
            }
            if (shape_match(s, msg, len, out)) {
                shape_touch(sh, i);
                sh->score = sh->score + TB_SHAPE_HIT > TB_SHAPE_MAX ? TB_SHAPE_MAX
                                                                    : sh->score + TB_SHAPE_HIT;
                sh->hits++;
                return 1;
            }
        }
        if (sh->score > -TB_SHAPE_MAX)
            sh->score--;
    }
    if (!tb_fast_update(msg, len, max_tok, out))
        return 0;
    if (tryit && !out->error_msg) {
        shape_record(&sh->s[sh->order[TB_SHAPES - 1]], msg, len, out);
        shape_touch(sh, TB_SHAPES - 1);
        if (sparse)
            sh->score = 1; /* the next message tries the shape just made */
    }
    return 1;
}
