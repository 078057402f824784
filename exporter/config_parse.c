/*
 * config_parse.c -- the parser of every option value (see config.h for the formats;
 * config.c decides which value is parsed, config_file.c reads the files).
 *
 * Every parser fills a short reason on failure; config.c prefixes it with the option
 * and its source. Values are checked strictly (whole string, ranges), because a typo
 * in a monitoring config should stop the daemon at start, not half-work for weeks.
 */
#include "exporter/config_int.h"

#include "exporter/expo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* --- small helpers ------------------------------------------------------------------ */

static int cp_copy(char *dst, size_t cap, const char *v, char *why, size_t wcap)
{
    size_t n = strlen(v);
    if (n >= cap) {
        cfg_errf(why, wcap, "longer than %zu bytes", cap - 1);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
            cfg_errf(why, wcap, "contains a control character");
            return -1;
        }
    memcpy(dst, v, n + 1);
    return 0;
}

static int cp_uint(const char *v, uint64_t lo, uint64_t hi, uint64_t *out, char *why, size_t wcap)
{
    uint64_t x = 0;
    if (!*v)
        goto bad;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9' || x > (UINT64_MAX - 9) / 10)
            goto bad;
        x = x * 10 + (uint64_t)(*p - '0');
    }
    if (x < lo || x > hi) {
        cfg_errf(why, wcap, "must be between %llu and %llu", (unsigned long long)lo,
                 (unsigned long long)hi);
        return -1;
    }
    *out = x;
    return 0;
bad:
    cfg_errf(why, wcap, "not a whole number");
    return -1;
}

int cfg_parse_duration(const char *s, uint64_t *ms)
{
    static const struct {
        const char *u;
        uint64_t ms;
    } units[] = {
        { "ms", 1 },      { "s", 1000 },     { "m", 60000 },
        { "h", 3600000 }, { "d", 86400000 }, { "w", 604800000 },
    };
    uint64_t total = 0;
    if (!strcmp(s, "0")) {
        *ms = 0;
        return 0;
    }
    if (!*s)
        return -1;
    while (*s) {
        uint64_t n = 0;
        const char *st = s;
        while (*s >= '0' && *s <= '9') {
            if (n > UINT64_MAX / 10 - 10)
                return -1;
            n = n * 10 + (uint64_t)(*s++ - '0');
        }
        if (s == st)
            return -1;
        size_t best = 0, bl = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t l = strlen(units[i].u);
            if (!strncmp(s, units[i].u, l) && l > bl) {
                best = i;
                bl = l;
            }
        }
        if (!bl)
            return -1;
        /* "m" must not swallow the "m" of "ms": longest unit wins above */
        if (n > UINT64_MAX / units[best].ms || total > UINT64_MAX - n * units[best].ms)
            return -1;
        total += n * units[best].ms;
        s += bl;
    }
    *ms = total;
    return 0;
}

static int cp_duration(const char *v, uint64_t lo, uint64_t hi, int zero_ok, uint64_t *out,
                       char *why, size_t wcap)
{
    uint64_t ms;
    if (cfg_parse_duration(v, &ms)) {
        cfg_errf(why, wcap, "not a duration (examples: 45s, 5m, 1h30m, 0)");
        return -1;
    }
    if (!(zero_ok && ms == 0) && (ms < lo || ms > hi)) {
        cfg_errf(why, wcap, "must be %sbetween %llus and %llus", zero_ok ? "0 or " : "",
                 (unsigned long long)(lo / 1000), (unsigned long long)(hi / 1000));
        return -1;
    }
    *out = ms;
    return 0;
}

/* --- URL ------------------------------------------------------------------------------ */

static int cp_url(struct cfg *c, const char *v, char *why, size_t wcap)
{
    size_t n = strlen(v);
    if (n >= sizeof c->url) {
        cfg_errf(why, wcap, "longer than %zu bytes", sizeof c->url - 1);
        return -1;
    }
    const char *p;
    if (!strncasecmp(v, "https://", 8)) {
        c->tls = 1;
        c->port = 443;
        p = v + 8;
    } else if (!strncasecmp(v, "http://", 7)) {
        c->tls = 0;
        c->port = 80;
        p = v + 7;
    } else {
        cfg_errf(why, wcap, "must start with https:// (or http://)");
        return -1;
    }
    if (strpbrk(v, "?#")) {
        cfg_errf(why, wcap, "must not have a query or fragment");
        return -1;
    }
    const char *slash = strchr(p, '/'), *end = slash ? slash : p + strlen(p);
    if (memchr(p, '@', (size_t)(end - p))) {
        cfg_errf(why, wcap,
                 "must not contain user:password@ (use --iotpro.username and "
                 "--iotpro.password-file)");
        return -1;
    }
    const char *h = p, *he, *port = NULL;
    int v6 = 0;
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(end - p));
        if (!rb) {
            cfg_errf(why, wcap, "unterminated [IPv6] host");
            return -1;
        }
        h = p + 1;
        he = rb;
        v6 = 1;
        if (rb + 1 < end) {
            if (rb[1] != ':') {
                cfg_errf(why, wcap, "junk after ]");
                return -1;
            }
            port = rb + 2;
        }
    } else {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        he = colon ? colon : end;
        port = colon ? colon + 1 : NULL;
    }
    size_t hl = (size_t)(he - h);
    if (hl == 0 || hl > 253) {
        cfg_errf(why, wcap, "host name missing or too long");
        return -1;
    }
    for (size_t i = 0; i < hl; i++) {
        char ch = h[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '.' || ch == '-' || (v6 && ch == ':');
        if (!ok) {
            cfg_errf(why, wcap, "host name has a character outside [A-Za-z0-9.-]");
            return -1;
        }
    }
    if (v6) {
        char tmp[64];
        struct in6_addr a6;
        if (hl >= sizeof tmp ||
            (memcpy(tmp, h, hl), tmp[hl] = 0, inet_pton(AF_INET6, tmp, &a6) != 1)) {
            cfg_errf(why, wcap, "invalid IPv6 address");
            return -1;
        }
    }
    memcpy(c->host, h, hl);
    c->host[hl] = 0;
    for (size_t i = 0; i < hl; i++)
        if (c->host[i] >= 'A' && c->host[i] <= 'Z')
            c->host[i] = (char)(c->host[i] + 32);
    if (port) {
        char pb[8];
        uint64_t pv;
        size_t pl = (size_t)(end - port);
        if (pl == 0 || pl >= sizeof pb) {
            cfg_errf(why, wcap, "invalid port");
            return -1;
        }
        memcpy(pb, port, pl);
        pb[pl] = 0;
        if (cp_uint(pb, 1, 65535, &pv, why, wcap))
            return -1;
        c->port = (uint16_t)pv;
    }
    /* base path: RFC 3986 path characters only, trailing slashes dropped */
    size_t bl = slash ? strlen(slash) : 0;
    while (bl > 0 && slash[bl - 1] == '/')
        bl--;
    for (size_t i = 0; i < bl; i++) {
        unsigned char ch = (unsigned char)slash[i];
        if (ch <= 0x20 || ch >= 0x7f || strchr("\"<>\\^`{|}", ch)) {
            cfg_errf(why, wcap, "path has a character that must be percent-encoded");
            return -1;
        }
    }
    if (bl >= sizeof c->base_path) {
        cfg_errf(why, wcap, "path too long");
        return -1;
    }
    memcpy(c->base_path, slash ? slash : "", bl);
    c->base_path[bl] = 0;
    memcpy(c->url, v, n + 1);
    snprintf(c->ws_path, sizeof c->ws_path, "%s/api/ws", c->base_path);
    int dflt = c->port == (c->tls ? 443 : 80);
    char portbuf[8] = "";
    if (!dflt)
        snprintf(portbuf, sizeof portbuf, ":%u", (unsigned)c->port);
    snprintf(c->ws_url, sizeof c->ws_url, "%s://%s%s%s%s%s", c->tls ? "wss" : "ws", v6 ? "[" : "",
             c->host, v6 ? "]" : "", portbuf, c->ws_path);
    return 0;
}

/* --- listen address, telemetry path, shard ------------------------------------------ */

static int cp_listen(struct cfg *c, const char *v, char *why, size_t wcap)
{
    const char *colon = strrchr(v, ':'), *portstr = colon ? colon + 1 : v;
    uint64_t port;
    char host[64] = "";
    if (cp_uint(portstr, 0, 65535, &port, why, wcap)) {
        cfg_errf(why, wcap, "expected :PORT, IPv4:PORT, [IPv6]:PORT or localhost:PORT");
        return -1;
    }
    size_t hl = colon ? (size_t)(colon - v) : 0;
    if (hl >= sizeof host) {
        cfg_errf(why, wcap, "host part too long");
        return -1;
    }
    memcpy(host, v, hl);
    host[hl] = 0;
    if (hl == 0) {
        snprintf(c->listen_civet, sizeof c->listen_civet, "%u", (unsigned)port);
    } else if (!strcmp(host, "localhost")) {
        snprintf(c->listen_civet, sizeof c->listen_civet, "127.0.0.1:%u", (unsigned)port);
    } else if (host[0] == '[' && host[hl - 1] == ']') {
        struct in6_addr a6;
        host[hl - 1] = 0;
        if (inet_pton(AF_INET6, host + 1, &a6) != 1) {
            cfg_errf(why, wcap, "invalid IPv6 address");
            return -1;
        }
        snprintf(c->listen_civet, sizeof c->listen_civet, "[%s]:%u", host + 1, (unsigned)port);
    } else {
        struct in_addr a4;
        if (inet_pton(AF_INET, host, &a4) != 1) {
            cfg_errf(why, wcap, "host must be an IP address, [IPv6] or localhost");
            return -1;
        }
        snprintf(c->listen_civet, sizeof c->listen_civet, "%s:%u", host, (unsigned)port);
    }
    snprintf(c->listen_address, sizeof c->listen_address, "%s", v);
    return 0;
}

static int cp_tpath(struct cfg *c, const char *v, char *why, size_t wcap)
{
    size_t n = strlen(v);
    if (n < 2 || n > 128 || v[0] != '/') {
        cfg_errf(why, wcap, "must start with / and be 2 to 128 characters");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = v[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '/' || ch == '_' || ch == '-' || ch == '.' || ch == '~';
        if (!ok) {
            cfg_errf(why, wcap, "only letters, digits and / _ - . ~ are allowed");
            return -1;
        }
    }
    if (strstr(v, "//") || strstr(v, "/./") || strstr(v, "/../") ||
        (n >= 2 && !strcmp(v + n - 2, "/.")) || (n >= 3 && !strcmp(v + n - 3, "/.."))) {
        cfg_errf(why, wcap, "must be a normalised path (no //, . or .. segments)");
        return -1;
    }
    if (!strcmp(v, "/-/healthy") || !strcmp(v, "/-/ready")) {
        cfg_errf(why, wcap, "clashes with a built-in endpoint");
        return -1;
    }
    memcpy(c->telemetry_path, v, n + 1);
    return 0;
}

static int cp_shard(struct cfg *c, const char *v, char *why, size_t wcap)
{
    const char *sl = strchr(v, '/');
    char a[12], b[12];
    uint64_t i, n;
    if (!sl || (size_t)(sl - v) >= sizeof a || strlen(sl + 1) >= sizeof b)
        goto bad;
    memcpy(a, v, (size_t)(sl - v));
    a[sl - v] = 0;
    strcpy(b, sl + 1);
    if (cp_uint(a, 0, 1023, &i, why, wcap) || cp_uint(b, 1, 1024, &n, why, wcap))
        goto bad;
    if (i >= n) {
        cfg_errf(why, wcap, "shard index must be 0..n-1 (shards are numbered from 0)");
        return -1;
    }
    c->shard_index = (unsigned)i;
    c->shard_count = (unsigned)n;
    return 0;
bad:
    cfg_errf(why, wcap, "expected i/n with 0 <= i < n <= 1024, e.g. 0/3");
    return -1;
}

/* --- key lists ------------------------------------------------------------------------- */

static int cp_keys(struct cfg *c, const char *profile, const char *v, char *why, size_t wcap)
{
    if (c->nlists >= 1 + LIM_CFG_KEY_LISTS) {
        cfg_errf(why, wcap, "more than %u per-profile key lists", LIM_CFG_KEY_LISTS);
        return -1;
    }
    struct cfg_keylist *kl = &c->lists[c->nlists];
    kl->first = c->nkeys;
    kl->count = 0;
    kl->profile_off = 0;
    if (profile) {
        size_t pl = strlen(profile);
        if (pl == 0 || pl >= LIM_NAME_BYTES || c->key_pool_len + pl + 1 > sizeof c->key_pool) {
            cfg_errf(why, wcap, "profile name empty or too long");
            return -1;
        }
        kl->profile_off = c->key_pool_len;
        memcpy(c->key_pool + c->key_pool_len, profile, pl + 1);
        c->key_pool_len += (uint32_t)pl + 1;
    }
    const char *p = v;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n && (*p == ' ' || *p == '\t')) {
            p++;
            n--;
        }
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == 0) {
            cfg_errf(why, wcap, "empty key in the list");
            return -1;
        }
        if (n >= LIM_KEY_BYTES) {
            cfg_errf(why, wcap, "a key is longer than %u bytes", LIM_KEY_BYTES - 1);
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f) {
                cfg_errf(why, wcap, "a key contains a control character");
                return -1;
            }
        int dup = 0;
        for (size_t i = 0; i < kl->count; i++) {
            const char *k = c->key_pool + c->key_off[kl->first + i];
            if (strlen(k) == n && !memcmp(k, p, n))
                dup = 1;
        }
        if (!dup) {
            if (c->nkeys >= LIM_CFG_KEYS || c->key_pool_len + n + 1 > sizeof c->key_pool) {
                cfg_errf(why, wcap, "too many keys (at most %u in all lists)", LIM_CFG_KEYS);
                return -1;
            }
            c->key_off[c->nkeys++] = c->key_pool_len;
            memcpy(c->key_pool + c->key_pool_len, p, n);
            c->key_pool[c->key_pool_len + n] = 0;
            c->key_pool_len += (uint32_t)n + 1;
            kl->count++;
        }
        if (!e)
            break;
        p = e + 1;
    }
    c->nlists++;
    return 0;
}

/* A comma-separated list of at most max names, each 1..maxlen bytes without control
 * characters or surrounding blanks; duplicates are kept once; "" is the empty list. */
static int cp_names(struct cfg_names *l, const char *v, size_t max, size_t maxlen, char *why,
                    size_t wcap)
{
    size_t used = 0;
    memset(l, 0, sizeof *l);
    if (!*v)
        return 0;
    for (const char *p = v;;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        int dup = 0;
        while (n && (*p == ' ' || *p == '\t'))
            p++, n--;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == 0 || n > maxlen) {
            cfg_errf(why, wcap, n ? "a name is longer than %zu bytes" : "empty name in the list",
                     maxlen);
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f) {
                cfg_errf(why, wcap, "a name contains a control character");
                return -1;
            }
        for (size_t i = 0; i < l->n && !dup; i++)
            dup = strlen(cfg_name(l, i)) == n && !memcmp(cfg_name(l, i), p, n);
        if (!dup) {
            if (l->n >= max || used + n + 1 > sizeof l->pool) {
                cfg_errf(why, wcap, "more than %zu names (or %zu bytes)", max, sizeof l->pool);
                return -1;
            }
            l->off[l->n++] = (uint16_t)used;
            memcpy(l->pool + used, p, n);
            l->pool[used + n] = 0;
            used += n + 1;
        }
        if (!e)
            return 0;
        p = e + 1;
    }
}

static int cp_entity_types(struct cfg *c, const char *v, char *why, size_t wcap)
{
    struct cfg_names l;
    c->entity_types = 0;
    if (cp_names(&l, v, 2, 6, why, wcap) == 0)
        for (size_t i = 0; i < l.n; i++)
            c->entity_types |= !strcmp(cfg_name(&l, i), "ASSET")    ? CFG_ENT_ASSET
                               : !strcmp(cfg_name(&l, i), "DEVICE") ? CFG_ENT_DEVICE
                                                                    : 1u << 8;
    if (c->entity_types == 0 || c->entity_types > (CFG_ENT_ASSET | CFG_ENT_DEVICE)) {
        cfg_errf(why, wcap, "must be ASSET, DEVICE or ASSET,DEVICE");
        return -1;
    }
    return 0;
}

static int cp_attr_keys(struct cfg *c, const char *v, char *why, size_t wcap)
{
    /* one byte of a store key marks the attribute namespace (core/tb_feed.h) */
    if (cp_names(&c->attr_keys, v, 16, LIM_KEY_BYTES - 2, why, wcap))
        return -1;
    for (size_t i = 0; i < c->attr_keys.n; i++)
        if (!strcmp(cfg_name(&c->attr_keys, i), "assetDetails")) {
            cfg_errf(why, wcap, "assetDetails is read by --iotpro.asset-details, not here");
            return -1;
        }
    return 0;
}

int cfg_profile_lists(struct cfg *c, const struct cfg_sources *s, char *err, size_t cap)
{
    for (unsigned i = 0; i < s->nplists; i++) {
        char why[160];
        if (cp_keys(c, s->plist_profile[i], s->plist_value[i], why, sizeof why)) {
            cfg_errf(err, cap, "config file %s line %u: iotpro.keys.%.64s: %s", s->fname,
                     s->plist_line[i], s->plist_profile[i], why);
            return -1;
        }
    }
    return 0;
}

/* --- metrics.asset-info-fields and metric.<key>.* ---------------------------------- */

/* "*" every field, "-" none, else names compared after sanitising (serialNumber and
 * serial_number name the same label). */
static int cp_info_fields(struct cfg *c, const char *v, char *why, size_t wcap)
{
    c->ninfo_fields = 0;
    c->info_fields_all = !strcmp(v, "*");
    if (c->info_fields_all || !strcmp(v, "-"))
        return 0;
    for (const char *p = v;;) {
        const char *e = strchr(p, ','), *s = p;
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char nm[CFG_INFO_FIELD_BYTES];
        while (n && (*s == ' ' || *s == '\t')) {
            s++;
            n--;
        }
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n == 0 || n >= sizeof nm) {
            cfg_errf(why, wcap,
                     "a name is empty or longer than %u bytes (* means every field, - none)",
                     CFG_INFO_FIELD_BYTES - 1);
            return -1;
        }
        expo_sanitize_name(nm, sizeof nm, s, n);
        if (!strcmp(nm, "asset_id") || !strcmp(nm, "asset") || !strcmp(nm, "profile")) {
            cfg_errf(why, wcap, "asset_id, asset and profile are labels of every asset anyway");
            return -1;
        }
        int dup = 0;
        for (unsigned i = 0; i < c->ninfo_fields; i++)
            dup |= !strcmp(c->info_fields[i], nm);
        if (!dup) {
            if (c->ninfo_fields >= LIM_INFO_FIELDS) {
                cfg_errf(why, wcap, "more than %u names", LIM_INFO_FIELDS);
                return -1;
            }
            memcpy(c->info_fields[c->ninfo_fields++], nm, sizeof nm);
        }
        if (!e)
            return 0;
        p = e + 1;
    }
}

int cfg_mapping(struct cfg *c, const struct cfg_sources *s, char *err, size_t cap)
{
    char why[512];
    unsigned line = 0;
    mapping_init(&c->map);
    for (unsigned i = 0; i < s->nmlines; i++) {
        line = s->mline_line[i];
        if (mapping_set(&c->map, s->mline_spec[i], s->mline_value[i], line, why, sizeof why))
            goto bad;
    }
    if (mapping_finish(&c->map, &line, why, sizeof why) == 0)
        return 0;
bad:
    cfg_errf(err, cap, "config file %.200s line %u: %s", s->fname ? s->fname : "(config)", line,
             why);
    return -1;
}

/* --- one option ------------------------------------------------------------------------ */

int cfg_parse_value(struct cfg *c, int o, const char *v, char *why, size_t wcap)
{
    uint64_t u;
    int b;
    switch (o) {
    case O_URL: return cp_url(c, v, why, wcap);
    case O_USERNAME: return cp_copy(c->username, sizeof c->username, v, why, wcap);
    case O_PASSWORD_FILE: return cp_copy(c->password_file, sizeof c->password_file, v, why, wcap);
    case O_KEYS: return cp_keys(c, NULL, v, why, wcap);
    case O_PAGE_SIZE:
        /* ~47 parser tokens per PE asset: 25000 outgrew REST_TOKENS (1M) */
        if (cp_uint(v, 1, 10000, &u, why, wcap))
            return -1;
        c->page_size = (unsigned)u;
        return 0;
    case O_ASSET_DETAILS:
        if (!strcmp(v, "ws"))
            c->asset_details = CFG_DETAILS_WS;
        else if (!strcmp(v, "rest"))
            c->asset_details = CFG_DETAILS_REST;
        else if (!strcmp(v, "off"))
            c->asset_details = CFG_DETAILS_OFF;
        else {
            cfg_errf(why, wcap, "must be ws, rest or off");
            return -1;
        }
        return 0;
    case O_ENTITY_TYPE: return cp_entity_types(c, v, why, wcap);
    case O_ATTR_KEYS: return cp_attr_keys(c, v, why, wcap);
    case O_PROFILES: return cp_names(&c->profiles, v, CFG_NAMES_MAX, LIM_NAME_BYTES - 1, why, wcap);
    case O_REDISCOVER:
        return cp_duration(v, 10000, 7 * 86400000ull, 1, &c->rediscover_ms, why, wcap);
    case O_IDLE_TIMEOUT: return cp_duration(v, 5000, 3600000, 0, &c->idle_timeout_ms, why, wcap);
    case O_BACKOFF_MAX: return cp_duration(v, 1000, 3600000, 0, &c->backoff_max_ms, why, wcap);
    case O_SUB_TIMEOUT: return cp_duration(v, 1000, 3600000, 0, &c->sub_timeout_ms, why, wcap);
    case O_CA_FILE:
        if (cp_copy(c->ca_file, sizeof c->ca_file, v, why, wcap))
            return -1;
        if (v[0] && access(v, R_OK) != 0) {
            cfg_errf(why, wcap, "cannot read the file: %s", strerror(errno));
            return -1;
        }
        return 0;
    case O_WEB_CONFIG: /* read and checked by main (exporter/websec.c), also on SIGHUP */
        return cp_copy(c->web_config_file, sizeof c->web_config_file, v, why, wcap);
    case O_LISTEN: return cp_listen(c, v, why, wcap);
    case O_TELEMETRY_PATH: return cp_tpath(c, v, why, wcap);
    case O_MAX_REQUESTS:
        if (cp_uint(v, 1, 1000, &u, why, wcap))
            return -1;
        c->max_requests = (unsigned)u;
        return 0;
    case O_TTL: return cp_duration(v, 1000, 365 * 86400000ull, 1, &c->metrics_ttl_ms, why, wcap);
    case O_TIMESTAMPS:
        if (!strcmp(v, "true") || !strcmp(v, "1"))
            c->metrics_timestamps = 1;
        else if (!strcmp(v, "false") || !strcmp(v, "0"))
            c->metrics_timestamps = 0;
        else {
            cfg_errf(why, wcap, "must be true or false");
            return -1;
        }
        return 0;
    case O_INFO_FIELDS: return cp_info_fields(c, v, why, wcap);
    case O_MAX_SERIES: return cp_uint(v, 1, 100000000, &c->store_max_series, why, wcap);
    case O_SHARD: return cp_shard(c, v, why, wcap);
    case O_LOG_LEVEL:
        if (log_level_parse(v, &c->log_level)) {
            cfg_errf(why, wcap, "must be debug, info, warn or error");
            return -1;
        }
        return 0;
    case O_LOG_FORMAT:
        if (log_format_parse(v, &c->log_format)) {
            cfg_errf(why, wcap, "must be logfmt or json");
            return -1;
        }
        return 0;
    case O_CONFIG_FILE: return cp_copy(c->config_file, sizeof c->config_file, v, why, wcap);
    case O_CONFIG_CHECK:
    case O_VERSION:
    case O_HELP:
        if (!strcmp(v, "true") || !strcmp(v, "1"))
            b = 1;
        else if (!strcmp(v, "false") || !strcmp(v, "0"))
            b = 0;
        else {
            cfg_errf(why, wcap, "must be true or false");
            return -1;
        }
        if (o == O_CONFIG_CHECK)
            c->config_check = b;
        else if (o == O_VERSION)
            c->show_version = b;
        else
            c->show_help = b;
        return 0;
    default: return -1;
    }
}
