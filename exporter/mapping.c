/*
 * mapping.c -- the metric.<key>.* table (mapping.h): line parser, checks, look-ups.
 *
 * Checks are strict for the same reason as every other option: a mapping that
 * half-works (a family Prometheus rejects, two keys fighting over one name) should
 * stop the exporter at start, or keep the old table on SIGHUP, with the line to fix.
 */
#include "exporter/mapping.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporter/expo.h"

static const char *const attr_names[MAPPING_A__COUNT] = {
    [MAPPING_A_NAME] = "name", [MAPPING_A_HELP] = "help", [MAPPING_A_SCALE] = "scale",
    [MAPPING_A_TYPE] = "type", [MAPPING_A_MAP] = "map",   [MAPPING_A_DEFAULT] = "map-default",
};

/* Families the exporter emits itself, without the iotpro_ prefix (exporter/health.c).
 * Compared by OpenMetrics family name (no _total/_info), so a mapped gauge "up_total"
 * or a counter "assets_total" is refused too. tests/unit/test_mapping.c renders every
 * family and checks each one is reserved here or by a prefix below. */
static const char *const reserved_names[] = {
    "up",
    "ws_connected",
    "assets",
    "devices",
    /* a device's mapped family is iotpro_device_<name>: not one of the device families */
    "active",
    "last_activity_timestamp_seconds",
    "series",
    "series_limit",
    "subscriptions",
    "subscriptions_pending",
    "subscription_resends_total",
    "ws_error_replies_total",
    "ws_connect_attempts_total",
    "ws_connects_total",
    "ws_connect_failures_total",
    "ws_disconnects_total",
    "ws_messages_received_total",
    "ws_bytes_received_total",
    "ws_pings_received_total",
    "telemetry_updates_total",
    "telemetry_values_rejected_total",
    "parse_errors_total",
    "logins_total",
    "token_refreshes_total",
    "token_expiry_timestamp_seconds",
    "last_message_timestamp_seconds",
    "last_connect_success_timestamp_seconds",
    "reconnect_backoff_seconds",
    "series_dropped_total",
    "series_expired_total",
    "limit_hits_total",
    "rediscoveries_total",
    "resyncs_total",
    "scrape_duration_seconds",
    "scrape_utf8_replacements",
    "web_requests_in_flight",
    "web_responses_total",
    "config_reloads_total",
    "config_reload_failures_total",
    "config_last_reload_successful",
};
/* Whole namespaces: the generic telemetry families, asset and device families (a
 * device's mapped family is iotpro_device_<name>), attributes, build info. */
static const char *const reserved_prefixes[] = { "telemetry_", "asset_", "device_", "attribute_",
                                                 "exporter_" };
/* Sample-name suffixes OpenMetrics gives a meaning (or we do: _info). */
static const char *const reserved_suffixes[] = { "_total", "_info",   "_created", "_count",
                                                 "_sum",   "_bucket", "_gcount",  "_gsum" };

static int ends_with(const char *s, size_t n, const char *suf)
{
    size_t l = strlen(suf);
    return n >= l && memcmp(s + n - l, suf, l) == 0;
}

/* The OpenMetrics family name: without a trailing _total or _info. */
static size_t base_len(const char *s, size_t n)
{
    if (ends_with(s, n, "_total"))
        return n - 6;
    if (ends_with(s, n, "_info"))
        return n - 5;
    return n;
}

int mapping_name_reserved(const char *name, size_t n)
{
    size_t b = base_len(name, n);
    for (size_t i = 0; i < sizeof reserved_prefixes / sizeof *reserved_prefixes; i++) {
        size_t l = strlen(reserved_prefixes[i]);
        if (n >= l && memcmp(name, reserved_prefixes[i], l) == 0)
            return 1;
    }
    for (size_t i = 0; i < sizeof reserved_names / sizeof *reserved_names; i++) {
        const char *r = reserved_names[i];
        size_t rl = strlen(r), rb = base_len(r, rl);
        if (rb == b && memcmp(r, name, b) == 0)
            return 1;
    }
    return 0;
}

void mapping_init(struct mapping *m)
{
    m->n = 0;
    m->nv = 0;
    m->pool_len = 1; /* offset 0 is the empty string */
    m->pool[0] = 0;
    memset(m->slot, 0, sizeof m->slot);
}

void mapping_copy(struct mapping *dst, const struct mapping *src)
{
    dst->n = src->n;
    dst->nv = src->nv;
    dst->pool_len = src->pool_len;
    memcpy(dst->k, src->k, src->n * sizeof src->k[0]);
    memcpy(dst->v, src->v, src->nv * sizeof src->v[0]);
    memcpy(dst->slot, src->slot, sizeof src->slot);
    memcpy(dst->pool, src->pool, src->pool_len);
}

/* Copies s[0..n) and a NUL into the pool; its offset, or UINT32_MAX when full. */
static uint32_t pool_add(struct mapping *m, const char *s, size_t n)
{
    if (n + 1 > sizeof m->pool - m->pool_len)
        return UINT32_MAX;
    uint32_t off = m->pool_len;
    memcpy(m->pool + off, s, n);
    m->pool[off + n] = 0;
    m->pool_len += (uint32_t)n + 1;
    return off;
}

/* A finite number, the whole of s[0..n) (no leading or trailing blanks). */
static int parse_num(const char *s, size_t n, double *out)
{
    char buf[64], *end;
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    if (buf[0] == ' ' || buf[0] == '\t')
        return -1;
    double v = strtod(buf, &end);
    if (end != buf + n || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

static int has_ctl(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 1;
    return 0;
}

static int key_entry(struct mapping *m, const char *key, size_t kl)
{
    for (int i = 0; i < m->n; i++)
        if (m->k[i].key_len == kl && !memcmp(mapping_str(m, m->k[i].key_off), key, kl))
            return i;
    return -1;
}

/* metric.<key>.map: STR:number entries, comma-separated. */
static int parse_map(struct mapping *m, struct mapping_key *k, const char *v, char *why, size_t cap)
{
    k->first_val = m->nv;
    k->nvals = 0;
    for (const char *p = v;;) {
        const char *comma = strchr(p, ','), *e = comma ? comma : p + strlen(p);
        const char *s = p, *colon = NULL;
        for (const char *q = p; q < e; q++)
            if (*q == ':')
                colon = q;
        if (!colon) {
            snprintf(why, cap, "entry %u is not STR:number", k->nvals + 1u);
            return -1;
        }
        const char *num = colon + 1;
        size_t sl = (size_t)(colon - s), nl = (size_t)(e - num);
        trim(&s, &sl);
        trim(&num, &nl);
        double d;
        if (sl == 0) {
            snprintf(why, cap, "entry %u has an empty string before ':'", k->nvals + 1u);
            return -1;
        }
        if (parse_num(num, nl, &d)) {
            snprintf(why, cap, "entry %u: \"%.*s\" is not a finite number", k->nvals + 1u,
                     (int)(nl > 40 ? 40 : nl), num);
            return -1;
        }
        if (sl >= LIM_STRING_VALUE_BYTES) {
            snprintf(why, cap, "entry %u: the string is longer than %u bytes", k->nvals + 1u,
                     LIM_STRING_VALUE_BYTES - 1);
            return -1;
        }
        for (uint16_t j = 0; j < k->nvals; j++) {
            const struct mapping_val *o = &m->v[k->first_val + j];
            if (o->len == sl && !memcmp(mapping_str(m, o->off), s, sl)) {
                snprintf(why, cap, "entry %u: \"%.*s\" is mapped twice", k->nvals + 1u,
                         (int)(sl > 40 ? 40 : sl), s);
                return -1;
            }
        }
        uint32_t off = m->nv < LIM_MAP_VALUES ? pool_add(m, s, sl) : UINT32_MAX;
        if (off == UINT32_MAX) {
            snprintf(why, cap, "too many map entries (at most %u, %u bytes of mapping text in all)",
                     LIM_MAP_VALUES, LIM_MAP_POOL_BYTES);
            return -1;
        }
        m->v[m->nv++] = (struct mapping_val){ off, (uint32_t)sl, d };
        k->nvals++;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

int mapping_set(struct mapping *m, const char *spec, const char *value, unsigned line, char *err,
                size_t cap)
{
    const char *dot = strrchr(spec, '.');
    char why[160];
    int a = -1;
    why[0] = 0;
    if (!dot || dot == spec) {
        snprintf(err, cap, "metric.%.128s: expected metric.<key>.<attribute>", spec);
        return -1;
    }
    size_t kl = (size_t)(dot - spec);
    for (int i = 0; i < MAPPING_A__COUNT; i++)
        if (!strcmp(dot + 1, attr_names[i]))
            a = i;
    if (a < 0) {
        snprintf(err, cap,
                 "metric.%.128s: unknown attribute \"%.32s\" (name, help, scale, type, map, "
                 "map-default)",
                 spec, dot + 1);
        return -1;
    }
    if (kl >= LIM_KEY_BYTES || has_ctl(spec, kl)) {
        snprintf(err, cap,
                 "metric.%.128s: the key is longer than %u bytes or has a control character", spec,
                 LIM_KEY_BYTES - 1);
        return -1;
    }
    int i = key_entry(m, spec, kl);
    if (i < 0) {
        uint32_t off = m->n < LIM_MAP_KEYS ? pool_add(m, spec, kl) : UINT32_MAX;
        if (off == UINT32_MAX) {
            snprintf(err, cap, "metric.%.128s: too many mapped keys (at most %u, %u bytes of text)",
                     spec, LIM_MAP_KEYS, LIM_MAP_POOL_BYTES);
            return -1;
        }
        i = m->n++;
        memset(&m->k[i], 0, sizeof m->k[i]);
        m->k[i].key_off = off;
        m->k[i].key_len = (uint16_t)kl;
        m->k[i].scale = 1.0;
        m->k[i].first_line = line;
    }
    struct mapping_key *k = &m->k[i];
    if (k->line[a]) {
        snprintf(err, cap, "metric.%.128s: set twice (line %u)", spec, k->line[a]);
        return -1;
    }
    k->line[a] = line;
    size_t vl = strlen(value);
    int bad = 0;
    switch (a) {
    case MAPPING_A_NAME:
    case MAPPING_A_HELP: {
        size_t lim = a == MAPPING_A_NAME ? LIM_MAP_NAME_BYTES : LIM_MAP_HELP_BYTES;
        uint32_t off;
        if (vl == 0 || vl >= lim || has_ctl(value, vl)) {
            snprintf(why, sizeof why, "empty, longer than %zu bytes or has a control character",
                     lim - 1);
            bad = 1;
        } else if ((off = pool_add(m, value, vl)) == UINT32_MAX) {
            snprintf(why, sizeof why, "more than %u bytes of mapping text in all",
                     LIM_MAP_POOL_BYTES);
            bad = 1;
        } else if (a == MAPPING_A_NAME) {
            k->name_off = off;
            k->name_len = (uint16_t)vl;
        } else {
            k->help_off = off;
        }
        break;
    }
    case MAPPING_A_SCALE:
    case MAPPING_A_DEFAULT:
        if (parse_num(value, vl, a == MAPPING_A_SCALE ? &k->scale : &k->dflt)) {
            snprintf(why, sizeof why, "not a finite number");
            bad = 1;
        }
        if (a == MAPPING_A_DEFAULT)
            k->has_default = 1;
        break;
    case MAPPING_A_TYPE:
        if (!strcmp(value, "gauge"))
            k->type = MAPPING_GAUGE;
        else if (!strcmp(value, "counter"))
            k->type = MAPPING_COUNTER;
        else {
            snprintf(why, sizeof why, "must be gauge or counter");
            bad = 1;
        }
        break;
    case MAPPING_A_MAP: bad = parse_map(m, k, value, why, sizeof why) != 0; break;
    default: break;
    }
    if (bad) {
        snprintf(err, cap, "metric.%.128s: invalid value \"%.64s\": %s", spec, value, why);
        return -1;
    }
    return 0;
}

static uint32_t key_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* Why a name cannot be used, or NULL. */
static const char *name_problem(const char *s, size_t n, int counter)
{
    if (n >= 7 && !memcmp(s, "iotpro_", 7))
        return "give the name without the iotpro_ prefix";
    if (n == 0 || !(s[0] >= 'a' && s[0] <= 'z'))
        return "must start with a lower-case letter";
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return "must be lower-case snake_case: a-z, 0-9 and _";
    if (counter && !ends_with(s, n, "_total"))
        return "a counter's name must end in _total";
    size_t b = counter ? n - 6 : n;
    for (size_t i = 0; i < sizeof reserved_suffixes / sizeof *reserved_suffixes; i++)
        if (ends_with(s, b, reserved_suffixes[i]))
            return counter ? "must not end in _info, _count, _sum, _bucket or _created before "
                             "_total"
                           : "a gauge's name must not end in _total, _info, _count, _sum, "
                             "_bucket or _created (use type = counter for a _total)";
    if (mapping_name_reserved(s, n))
        return "clashes with a family the exporter emits itself (or reserves: telemetry_, "
               "asset_, device_, attribute_, exporter_)";
    return NULL;
}

int mapping_finish(struct mapping *m, unsigned *line, char *err, size_t cap)
{
    for (int i = 0; i < m->n; i++) {
        struct mapping_key *k = &m->k[i];
        const char *key = mapping_str(m, k->key_off);
        int named = k->line[MAPPING_A_NAME] != 0;
        *line = named ? k->line[MAPPING_A_NAME] : k->first_line;
        if (!named) {
            char nm[EXPO_NAME_MAX];
            size_t l = expo_sanitize_name(nm, sizeof nm, key, k->key_len);
            uint32_t off = l < LIM_MAP_NAME_BYTES ? pool_add(m, nm, l) : UINT32_MAX;
            if (off == UINT32_MAX) {
                snprintf(err, cap, "metric.%s.name: cannot make a name from the key; give one",
                         key);
                return -1;
            }
            k->name_off = off;
            k->name_len = (uint16_t)l;
        }
        if (!k->help_off) {
            char h[LIM_KEY_BYTES + 32];
            int hl = snprintf(h, sizeof h, "Telemetry key \"%s\".", key);
            if ((k->help_off = pool_add(m, h, (size_t)hl)) == UINT32_MAX) {
                snprintf(err, cap, "metric.%s.help: more than %u bytes of mapping text in all", key,
                         LIM_MAP_POOL_BYTES);
                return -1;
            }
        }
        double inv = k->scale != 0 ? 1.0 / k->scale : 0; /* no libm: rounded by hand */
        double d = inv >= 1.5 && inv <= 1e15 ? (double)(int64_t)(inv + 0.5) : 0;
        k->divisor = d >= 2 && 1.0 / d == k->scale ? d : 0;
        const char *name = mapping_str(m, k->name_off);
        const char *why = name_problem(name, k->name_len, k->type == MAPPING_COUNTER);
        if (why) {
            if (!named && k->type == MAPPING_COUNTER && k->line[MAPPING_A_TYPE])
                *line = k->line[MAPPING_A_TYPE];
            snprintf(err, cap, "metric.%s.name: %s\"%s\": %s", key,
                     named ? "" : "not given, and the default (the key sanitised) ", name, why);
            return -1;
        }
        size_t b = base_len(name, k->name_len);
        for (int j = 0; j < i; j++) {
            const struct mapping_key *o = &m->k[j];
            const char *on = mapping_str(m, o->name_off);
            if (base_len(on, o->name_len) == b && !memcmp(on, name, b)) {
                snprintf(err, cap,
                         "metric.%s.name: iotpro_%s is already the family of key \"%s\" (line %u)",
                         key, name, mapping_str(m, o->key_off),
                         o->line[MAPPING_A_NAME] ? o->line[MAPPING_A_NAME] : o->first_line);
                return -1;
            }
        }
    }
    memset(m->slot, 0, sizeof m->slot);
    for (int i = 0; i < m->n; i++) {
        const struct mapping_key *k = &m->k[i];
        uint32_t s = key_hash(mapping_str(m, k->key_off), k->key_len) & (2 * LIM_MAP_KEYS - 1);
        while (m->slot[s])
            s = (s + 1) & (2 * LIM_MAP_KEYS - 1);
        m->slot[s] = (uint16_t)(i + 1);
    }
    *line = 0;
    return 0;
}

int mapping_find(const struct mapping *m, const char *key, size_t n)
{
    if (m->n == 0)
        return -1;
    for (uint32_t s = key_hash(key, n) & (2 * LIM_MAP_KEYS - 1);;
         s = (s + 1) & (2 * LIM_MAP_KEYS - 1)) {
        uint16_t v = m->slot[s];
        if (!v)
            return -1;
        const struct mapping_key *k = &m->k[v - 1];
        if (k->key_len == n && !memcmp(mapping_str(m, k->key_off), key, n))
            return v - 1;
    }
}

int mapping_string_value(const struct mapping *m, int i, const char *s, size_t n, double *out)
{
    const struct mapping_key *k = &m->k[i];
    for (uint16_t j = 0; j < k->nvals; j++) {
        const struct mapping_val *v = &m->v[k->first_val + j];
        if (v->len == n && !memcmp(mapping_str(m, v->off), s, n)) {
            *out = v->num;
            return 1;
        }
    }
    if (k->has_default) {
        *out = k->dflt;
        return 1;
    }
    return 0;
}

void mapping_print(const struct mapping *m, FILE *out)
{
    char num[EXPO_NUM_MAX];
    for (int i = 0; i < m->n; i++) {
        const struct mapping_key *k = &m->k[i];
        const char *key = mapping_str(m, k->key_off);
        fprintf(out, "metric.%s.name = %s\n", key, mapping_str(m, k->name_off));
        fprintf(out, "metric.%s.help = \"%s\"\n", key, mapping_str(m, k->help_off));
        fprintf(out, "metric.%s.type = %s\n", key,
                k->type == MAPPING_COUNTER ? "counter" : "gauge");
        expo_fmt_double(num, k->scale); /* the shortest text that reads back the same */
        fprintf(out, "metric.%s.scale = %s\n", key, num);
        if (k->nvals) {
            fprintf(out, "metric.%s.map = ", key);
            for (uint16_t j = 0; j < k->nvals; j++) {
                const struct mapping_val *v = &m->v[k->first_val + j];
                expo_fmt_double(num, v->num);
                fprintf(out, "%s%s:%s", j ? "," : "", mapping_str(m, v->off), num);
            }
            fputc('\n', out);
        }
        if (k->has_default) {
            expo_fmt_double(num, k->dflt);
            fprintf(out, "metric.%s.map-default = %s\n", key, num);
        }
    }
}
