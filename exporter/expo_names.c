/*
 * expo_names.c -- turning upstream strings into Prometheus names, and noticing when two
 * different strings turn into the same name (contract in expo.h).
 *
 * ThingsBoard keys and assetDetails fields are free text ("batteryLevel", "temp.c",
 * "Serial No"). Prometheus wants snake_case [a-zA-Z_][a-zA-Z0-9_]*, and promtool flags
 * camelCase. Sanitising is lossy, so "batteryLevel" and "battery_level" collide; the
 * name set remembers which original took a name first, and hands later ones a _2, _3…
 * suffix (or reports the collision) instead of emitting duplicate series.
 */
#include "exporter/expo.h"

#include <stdlib.h>
#include <string.h>

static int en_upper(unsigned char c)
{
    return c >= 'A' && c <= 'Z';
}
static int en_lower(unsigned char c)
{
    return c >= 'a' && c <= 'z';
}
static int en_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

size_t expo_sanitize_name(char *dst, size_t cap, const char *src, size_t n)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0, max = cap - 1;
    int pending_sep = 0; /* a '_' is owed before the next alphanumeric */
    for (size_t i = 0; i < n && o < max; i++) {
        unsigned char c = s[i];
        if (en_upper(c) || en_lower(c) || en_digit(c)) {
            if (en_upper(c) && o > 0 && i > 0) {
                unsigned char p = s[i - 1];
                int next_lower = i + 1 < n && en_lower(s[i + 1]);
                /* fooBar -> foo_bar, foo2Bar -> foo2_bar, HTTPServer -> http_server */
                if (en_lower(p) || en_digit(p) || (en_upper(p) && next_lower))
                    pending_sep = 1;
            }
            if (pending_sep && o > 0) {
                dst[o++] = '_';
                if (o >= max)
                    break;
            }
            pending_sep = 0;
            if (o == 0 && en_digit(c)) {
                dst[o++] = '_'; /* names cannot start with a digit */
                if (o >= max)
                    break;
            }
            dst[o++] = (char)(en_upper(c) ? c + ('a' - 'A') : c);
        } else {
            pending_sep = 1; /* '_', '.', '-', ' ', non-ASCII: one separator */
        }
    }
    if (o == 0)
        dst[o++] = '_';
    dst[o] = 0;
    return o;
}

struct expo_name_slot {
    char *name; /* NULL = empty slot */
    char *orig; /* NULL for a reserved name */
    size_t orig_len;
};

void expo_nameset_init(struct expo_nameset *s)
{
    s->slots = NULL;
    s->cap = s->count = 0;
}

void expo_nameset_free(struct expo_nameset *s)
{
    for (size_t i = 0; i < s->cap; i++) {
        free(s->slots[i].name);
        free(s->slots[i].orig);
    }
    free(s->slots);
    expo_nameset_init(s);
}

static uint64_t en_hash(const char *p)
{
    uint64_t h = 1469598103934665603ull;
    while (*p)
        h = (h ^ (unsigned char)*p++) * 1099511628211ull;
    return h;
}

static struct expo_name_slot *en_find(const struct expo_nameset *s, const char *name)
{
    if (!s->cap)
        return NULL;
    for (size_t i = en_hash(name) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (!s->slots[i].name || strcmp(s->slots[i].name, name) == 0)
            return &s->slots[i];
    }
}

static int en_grow(struct expo_nameset *s)
{
    if ((s->count + 1) * 2 <= s->cap)
        return 0;
    size_t ncap = s->cap ? s->cap * 2 : 64;
    struct expo_name_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return -1;
    struct expo_nameset t = { ns, ncap, 0 };
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i].name)
            *en_find(&t, s->slots[i].name) = s->slots[i];
    free(s->slots);
    s->slots = ns;
    s->cap = ncap;
    return 0;
}

static int en_insert(struct expo_nameset *s, const char *name, const char *orig, size_t on)
{
    if (en_grow(s))
        return EXPO_ERR_FULL;
    struct expo_name_slot *sl = en_find(s, name);
    char *nm = strdup(name), *og = NULL;
    if (orig) {
        og = malloc(on + 1);
        if (og) {
            memcpy(og, orig, on);
            og[on] = 0;
        }
    }
    if (!nm || (orig && !og)) {
        free(nm);
        free(og);
        return EXPO_ERR_FULL;
    }
    sl->name = nm;
    sl->orig = og;
    sl->orig_len = on;
    s->count++;
    return 0;
}

int expo_nameset_reserve(struct expo_nameset *s, const char *name)
{
    struct expo_name_slot *sl = en_find(s, name);
    if (sl && sl->name)
        return 0;
    return en_insert(s, name, NULL, 0);
}

int expo_nameset_add(struct expo_nameset *s, const char *orig, size_t n, char *dst, size_t cap,
                     int rename)
{
    size_t len = expo_sanitize_name(dst, cap, orig, n);
    struct expo_name_slot *sl = en_find(s, dst);
    if (!sl || !sl->name)
        return en_insert(s, dst, orig, n) ? EXPO_ERR_FULL : EXPO_NAME_NEW;
    if (sl->orig && sl->orig_len == n && memcmp(sl->orig, orig, n) == 0)
        return EXPO_NAME_SAME;
    /* Someone else owns this name. The same original may have been renamed before:
     * find its earlier _N name, else take the first free suffix. */
    if (!rename)
        return EXPO_NAME_COLLISION;
    char base[EXPO_NAME_MAX];
    if (len > sizeof base - 5 || len + 5 > cap)
        return EXPO_NAME_COLLISION;
    memcpy(base, dst, len + 1);
    for (int k = 2; k < 100; k++) {
        char *p = dst + len;
        *p++ = '_';
        if (k >= 10)
            *p++ = (char)('0' + k / 10);
        *p++ = (char)('0' + k % 10);
        *p = 0;
        sl = en_find(s, dst);
        if (!sl || !sl->name)
            return en_insert(s, dst, orig, n) ? EXPO_ERR_FULL : EXPO_NAME_RENAMED;
        if (sl->orig && sl->orig_len == n && memcmp(sl->orig, orig, n) == 0)
            return EXPO_NAME_RENAMED;
    }
    memcpy(dst, base, len + 1);
    return EXPO_NAME_COLLISION;
}
