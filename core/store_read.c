/*
 * store_read.c -- the store's readers: batch iteration for renders (the epoch rule of
 * store.h), single look-ups, statistics and error strings. Nothing here writes the
 * store except store_iter_begin()'s epoch; everything runs under the store mutex.
 */
#include "core/store_int.h"

void store_iter_begin(store *st, store_cursor *c)
{
    c->pos = 0;
    c->epoch = ++st->epoch;
}

static void store_row_of(const store *st, const store_series *r, store_row *row)
{
    const store_entity *e = &st->ent[r->entity];
    const store_key *k = &st->keys[r->key];
    memcpy(row->id, e->id, 16);
    row->assets = st->assets;
    row->asset = e->asset;
    row->key = k->name;
    row->key_len = k->len;
    row->kind = r->kind;
    row->ts = r->ts;
    row->seen = r->seen;
    row->num = r->kind == STORE_KIND_NUM ? r->v.num : 0;
    row->str_off = 0;
    row->str_len = 0;
}

/* key < 0: every series; else only that key's. */
static size_t store_iter_of(const store *st, store_cursor *c, int key, store_row *rows, size_t n,
                            char *strbuf, size_t strcap)
{
    size_t got = 0, used = 0;
    uint32_t pos = c->pos;
    for (; pos < st->series_hi && got < n; pos++) {
        const store_series *r = &st->series[pos];
        if (r->kind == STORE_KIND_FREE || r->born >= c->epoch || (key >= 0 && r->key != key))
            continue;
        if (r->kind == STORE_KIND_STR) {
            uint16_t *lenp;
            const char *sv = store_str_at(st, r->v.str, &lenp);
            if (strcap - used < *lenp) {
                if (got == 0 && strcap < LIM_STRING_VALUE_BYTES)
                    pos++; /* a buffer that can never hold it: skip, don't spin */
                break;
            }
            store_row_of(st, r, &rows[got]);
            memcpy(strbuf + used, sv, *lenp);
            rows[got].str_off = (uint32_t)used;
            rows[got].str_len = *lenp;
            used += *lenp;
        } else {
            store_row_of(st, r, &rows[got]);
        }
        got++;
    }
    c->pos = pos;
    return got;
}

size_t store_iter(const store *st, store_cursor *c, store_row *rows, size_t n, char *strbuf,
                  size_t strcap)
{
    return store_iter_of(st, c, -1, rows, n, strbuf, strcap);
}

size_t store_iter_key(const store *st, store_cursor *c, int key_id, store_row *rows, size_t n,
                      char *strbuf, size_t strcap)
{
    return key_id < 0 ? 0 : store_iter_of(st, c, key_id, rows, n, strbuf, strcap);
}

int store_key_find(const store *st, const char *key, size_t key_len)
{
    if (key_len == 0 || key_len >= LIM_KEY_BYTES)
        return -1;
    for (uint32_t i = store_key_hash(key, key_len) & (STORE_KEY_SLOTS - 1);;
         i = (i + 1) & (STORE_KEY_SLOTS - 1)) {
        uint16_t v = st->key_hash[i];
        if (v == 0)
            return -1;
        const store_key *k = &st->keys[v - 1];
        if (k->len == key_len && memcmp(k->name, key, key_len) == 0)
            return v - 1;
    }
}

int store_get(const store *st, const uint8_t id[16], const char *key, size_t key_len,
              store_row *row, char *strbuf, size_t strcap)
{
    uint32_t slot;
    uint64_t h = store_id_hash(id);
    uint32_t e = store_ent_find(st, id, store_ent_h(h), &slot);
    int k = store_key_find(st, key, key_len);
    if (e == STORE_NONE || k < 0)
        return 0;
    uint32_t kid = (uint32_t)k;
    uint32_t s = store_ser_find(st, store_ser_h(h, kid), e, kid, &slot);
    if (s == STORE_NONE)
        return 0;
    store_row_of(st, &st->series[s], row);
    if (row->kind == STORE_KIND_STR) {
        uint16_t *lenp;
        const char *sv = store_str_at(st, st->series[s].v.str, &lenp);
        size_t l = *lenp < strcap ? *lenp : (strcap ? strcap - 1 : 0);
        if (strcap) {
            memcpy(strbuf, sv, l);
            strbuf[l] = 0;
        }
        row->str_len = (uint16_t)l;
    }
    return 1;
}

void store_get_stats(const store *st, store_stats *out)
{
    *out = st->st;
    out->series = st->series_n;
    out->entities = st->ent_n;
    out->strings = st->str_n;
    out->keys = st->nkeys;
}

const char *store_strerror(int err)
{
    switch (err) {
    case STORE_NOOP: return "nothing to delete";
    case STORE_SET: return "stored";
    case STORE_STALE: return "older than the stored value";
    case STORE_DELETED: return "deleted";
    case STORE_UNKNOWN_ASSET: return "asset not in the asset table";
    case STORE_ERR_SERIES_FULL: return "series limit reached";
    case STORE_ERR_ENTITIES_FULL: return "asset limit of the store reached";
    case STORE_ERR_KEYS_FULL: return "distinct key limit reached";
    case STORE_ERR_KEY: return "empty or too long key";
    case STORE_ERR_STRINGS_FULL: return "string value limit reached";
    case STORE_ERR_ARG: return "invalid argument";
    default: return "unknown store error";
    }
}
