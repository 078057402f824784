/*
 * config.c -- collecting option values from flags, environment and config file, and
 * deciding which one wins (contract in config.h; value parsing in config_parse.c).
 *
 * Loading is two passes. Pass one only gathers strings: for every option the last
 * value seen in each source, with where it came from. Pass two picks flag > env >
 * file > default per option and parses that one value, so an error always names the
 * option and the source that supplied the bad value, and a bad value in a lower
 * source that is overridden anyway is never reported.
 */
#include "exporter/config_int.h"

#include "core/bytes.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* One line per option and its help (clang-format 14 reflows this table once it holds
 * as many long help strings as it does now). */
/* clang-format off */
const struct cfg_opt cfg_opts[O__COUNT] = {
    [O_URL] = { "iotpro.url", "IOTPRO_URL", CFG_DEFAULT_URL, 0,
                "Base URL of IoT Pro / ThingsBoard; the WebSocket URL (wss://…/api/ws) is derived from it." },
    [O_USERNAME] = { "iotpro.username", "IOTPRO_USERNAME", "", 0, "Login user name (required)." },
    [O_PASSWORD_FILE] = { "iotpro.password-file", "IOTPRO_PASSWORD_FILE", "", 0,
                          "File holding the password (one line). Or set IOTPRO_PASSWORD. No flag takes the password itself." },
    [O_KEYS] = { "iotpro.keys", "IOTPRO_KEYS", CFG_DEFAULT_KEYS, 0,
                 "Comma-separated TIME_SERIES keys subscribed for every profile. Per profile: `iotpro.keys.<profile> = a,b` in the config file." },
    [O_PAGE_SIZE] = { "iotpro.page-size", "IOTPRO_PAGE_SIZE", "1000", 0,
                      "Assets per page of the REST asset listing (1-10000: a page must fit the listing parser's 1M-token and 32 MiB budgets, ~47 tokens and ~500 B per asset). Subscriptions go out 400 assets per ENTITY_DATA command regardless." },
    [O_ASSET_DETAILS] = { "iotpro.asset-details", "IOTPRO_ASSET_DETAILS", "ws", 0,
                          "Where iotpro_asset_info labels come from: ws (attribute over the WebSocket), rest (one request per asset) or off." },
    [O_ENTITY_TYPE] = { "iotpro.entity-type", "IOTPRO_ENTITY_TYPE", "ASSET", 0,
                        "Entities listed and subscribed: ASSET, DEVICE or ASSET,DEVICE. Devices are listed like assets (PE /api/user/devices; CE /api/tenant/devices or /api/customer/{id}/devices) and export iotpro_device_* families, including connectivity (the active and lastActivityTime server attributes)." },
    [O_ATTR_KEYS] = { "iotpro.attribute-keys", "IOTPRO_ATTRIBUTE_KEYS", "", 0,
                      "Comma-separated SERVER_SCOPE attribute keys subscribed for every asset and device (at most 16): numbers and booleans as iotpro_attribute_value, strings as iotpro_attribute_info. Default: none." },
    [O_PROFILES] = { "iotpro.profiles", "IOTPRO_PROFILES", "", 0,
                     "Comma-separated profile names (asset and device profiles): list and subscribe only entities of these profiles, one listing per profile (the listing's type parameter). Default: all." },
    [O_REDISCOVER] = { "iotpro.rediscover-interval", "IOTPRO_REDISCOVER_INTERVAL", "5m", 0,
                       "How often the asset list is refreshed (0 = never; otherwise at least 10s)." },
    [O_IDLE_TIMEOUT] = { "iotpro.idle-timeout", "IOTPRO_IDLE_TIMEOUT", "45s", 0,
                         "A WebSocket with no frame for this long is treated as dead (5s-1h)." },
    [O_BACKOFF_MAX] = { "iotpro.backoff-max", "IOTPRO_BACKOFF_MAX", "60s", 0,
                        "Longest wait between reconnect (and REST retry) attempts (1s-1h); waits are jittered and grow from 5s (WebSocket) or 1s (REST) up to it. A wrong password is never retried, whatever this says." },
    [O_SUB_TIMEOUT] = { "iotpro.subscription-timeout", "IOTPRO_SUBSCRIPTION_TIMEOUT", "30s", 0,
                        "A subscription whose first data page has not arrived this long after it was written is unsubscribed and sent again under a new cmdId (1s-1h); the deadline doubles per resend of the same command, up to 4x, and resends wait a jittered delay growing from 1s up to this. iotpro_up is 0 while any subscription lacks its data." },
    [O_CA_FILE] = { "tls.ca-file", "IOTPRO_TLS_CA_FILE", "", 0,
                    "PEM file of CA certificates to trust (default: the system bundle)." },
    [O_LISTEN] = { "web.listen-address", "IOTPRO_WEB_LISTEN_ADDRESS", CFG_DEFAULT_LISTEN, 0,
                   "Address to serve /metrics on: :PORT, IPv4:PORT, [IPv6]:PORT or localhost:PORT. Default port 9842." },
    [O_TELEMETRY_PATH] = { "web.telemetry-path", "IOTPRO_WEB_TELEMETRY_PATH", "/metrics", 0,
                           "Path of the metrics endpoint (exact match)." },
    [O_MAX_REQUESTS] = { "web.max-requests", "IOTPRO_WEB_MAX_REQUESTS", "40", 0,
                         "Concurrent /metrics requests served; more get HTTP 503 (1-1000)." },
    [O_WEB_CONFIG] = { "web.config.file", "IOTPRO_WEB_CONFIG_FILE", "", 0,
                       "Web configuration file (the Prometheus exporter toolkit's format): TLS certificate and key, client certificates, basic-auth users with bcrypt hashes, extra response headers. Read again on SIGHUP; certificate files are also reloaded when they change." },
    [O_TTL] = { "metrics.ttl", "IOTPRO_METRICS_TTL", "0", 0,
                "Drop a series not updated for this long (0 = keep the last value; its age shows in iotpro_telemetry_timestamp_seconds)." },
    [O_TIMESTAMPS] = { "metrics.timestamps", "IOTPRO_METRICS_TIMESTAMPS", "true", 0,
                       "Export iotpro_telemetry_timestamp_seconds, the ThingsBoard time of every value (false halves the series of numeric keys)." },
    [O_INFO_FIELDS] = { "metrics.asset-info-fields", "IOTPRO_METRICS_ASSET_INFO_FIELDS", "*", 0,
                        "assetDetails fields that become labels of iotpro_asset_info: * every scalar field, - none, or a comma-separated list (names as the labels show them, e.g. serial_number)." },
    [O_MAX_SERIES] = { "store.max-series", "IOTPRO_STORE_MAX_SERIES", "2000000", 0,
                       "Maximum telemetry series kept; new ones beyond it are dropped and counted." },
    [O_SHARD] = { "shard", "IOTPRO_SHARD", "0/1", 0,
                  "i/n: serve only assets whose id hashes to shard i of n (0 <= i < n), for scale-out." },
    [O_LOG_LEVEL] = { "log.level", "IOTPRO_LOG_LEVEL", "info", 0,
                      "Log level: debug, info, warn or error." },
    [O_LOG_FORMAT] = { "log.format", "IOTPRO_LOG_FORMAT", "logfmt", 0,
                       "Log format: logfmt or json (to stderr)." },
    [O_CONFIG_FILE] = { "config.file", "IOTPRO_CONFIG_FILE", "", CFG_NOFILE,
                        "Config file of `option = value` lines (see iotpro_exporter.conf.example)." },
    [O_CONFIG_CHECK] = { "config.check", NULL, "false", CFG_FLAGONLY | CFG_BOOL,
                         "Validate the configuration (including the password file), print it without secrets, and exit." },
    [O_VERSION] = { "version", NULL, "false", CFG_FLAGONLY | CFG_BOOL,
                    "Print the version and exit." },
    [O_HELP] = { "help", NULL, "false", CFG_FLAGONLY | CFG_BOOL, "Show this help and exit." },
};
/* clang-format on */

void cfg_errf(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    if (!err || !cap)
        return;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

int cfg_find_opt(const char *name, size_t n)
{
    for (int i = 0; i < O__COUNT; i++)
        if (strlen(cfg_opts[i].name) == n && memcmp(cfg_opts[i].name, name, n) == 0)
            return i;
    return -1;
}

/* "flag --x", "environment variable X", "config file F line N: x", "default of x". */
void cfg_where(const struct cfg_sources *s, int o, char *buf, size_t cap)
{
    switch (s->kind[o]) {
    case SRC_FLAG: snprintf(buf, cap, "flag --%s", cfg_opts[o].name); break;
    case SRC_ENV: snprintf(buf, cap, "environment variable %s", cfg_opts[o].env); break;
    case SRC_FILE:
        snprintf(buf, cap, "config file %s line %u: %s", s->fname, s->line[o], cfg_opts[o].name);
        break;
    default: snprintf(buf, cap, "default of --%s", cfg_opts[o].name); break;
    }
}

/* A value for an error message: at most 64 bytes, printable ASCII, never a secret. */
void cfg_quote(const char *v, char *buf, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; v[i] && o + 5 < cap && i < 64; i++) {
        unsigned char c = (unsigned char)v[i];
        buf[o++] = (c >= 0x20 && c < 0x7f && c != '"') ? (char)c : '?';
    }
    if (strlen(v) > 64 && o + 4 < cap) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = 0;
    if (log_is_secret(v, strlen(v)))
        snprintf(buf, cap, "[redacted]");
}

static int cfg_set(struct cfg_sources *s, int o, int kind, const char *v, unsigned line)
{
    s->val[o] = v;
    s->kind[o] = (unsigned char)kind;
    s->line[o] = line;
    return 0;
}

static int cfg_bool(const char *v, int *out)
{
    if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"))
        *out = 1;
    else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"))
        *out = 0;
    else
        return -1;
    return 0;
}

static const char cfg_no_password_msg[] =
    "no flag takes a password (it would show in ps and shell history): use "
    "--iotpro.password-file or the IOTPRO_PASSWORD environment variable";

/* Pass one for argv. Flags: --name=value, --name value, --bool, -h. */
static int cfg_scan_flags(struct cfg_sources *s, int argc, char *const argv[], char *err,
                          size_t cap)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h")) {
            cfg_set(s, O_HELP, SRC_FLAG, "true", 0);
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            char q[80];
            cfg_quote(a, q, sizeof q);
            cfg_errf(err, cap, "unexpected argument \"%s\" (options start with --; see --help)", q);
            return -1;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        if ((nl == 15 && !memcmp(name, "iotpro.password", 15)) ||
            (nl == 8 && !memcmp(name, "password", 8))) {
            cfg_errf(err, cap, "--iotpro.password: %s", cfg_no_password_msg);
            return -1;
        }
        int o = cfg_find_opt(name, nl);
        if (o < 0) {
            char q[80];
            char nm[70];
            snprintf(nm, sizeof nm, "%.*s", (int)(nl > 64 ? 64 : nl), name);
            cfg_quote(nm, q, sizeof q);
            cfg_errf(err, cap, "unknown flag --%s (see --help)", q);
            return -1;
        }
        const char *v;
        if (eq) {
            v = eq + 1;
        } else if (cfg_opts[o].flags & CFG_BOOL) {
            v = "true";
        } else if (i + 1 < argc) {
            v = argv[++i];
        } else {
            cfg_errf(err, cap, "flag --%s needs a value", cfg_opts[o].name);
            return -1;
        }
        cfg_set(s, o, SRC_FLAG, v, 0);
    }
    return 0;
}

/* IOTPRO_* variables; empty ones count as unset. */
static int cfg_scan_env(struct cfg_sources *s, char *const envp[], char *err, size_t cap)
{
    (void)err;
    (void)cap;
    for (size_t i = 0; envp && envp[i]; i++) {
        const char *e = envp[i], *eq = strchr(e, '=');
        if (!eq || strncmp(e, "IOTPRO_", 7) != 0 || !eq[1])
            continue;
        size_t nl = (size_t)(eq - e);
        if (nl == 15 && !memcmp(e, "IOTPRO_PASSWORD", 15)) {
            s->env_password = eq + 1;
            continue;
        }
        for (int o = 0; o < O__COUNT; o++) {
            const char *en = cfg_opts[o].env;
            if (en && strlen(en) == nl && !memcmp(en, e, nl))
                cfg_set(s, o, SRC_ENV, eq + 1, 0);
        }
    }
    return 0;
}

int cfg_load(struct cfg *out, int argc, char *const argv[], char *const envp[], char *err,
             size_t errcap)
{
    struct cfg_sources flags = { 0 }, env = { 0 };
    struct cfg_sources *s = calloc(1, sizeof *s);
    char *text = NULL;
    int rc = CFG_ERR_INVALID;
    if (err && errcap)
        err[0] = 0;
    if (!s) {
        cfg_errf(err, errcap, "out of memory");
        return CFG_ERR_INVALID;
    }
    if (cfg_scan_flags(&flags, argc, argv, err, errcap) || cfg_scan_env(&env, envp, err, errcap))
        goto done;
    int b = 0;
    if ((flags.val[O_HELP] && !cfg_bool(flags.val[O_HELP], &b) && b) ||
        (flags.val[O_VERSION] && !cfg_bool(flags.val[O_VERSION], &b) && b)) {
        /* --help/--version must work whatever the environment or file hold */
        rc = cfg_resolve(out, &flags, 0, err, errcap);
        goto done;
    }
    const char *file = flags.val[O_CONFIG_FILE] ? flags.val[O_CONFIG_FILE] : env.val[O_CONFIG_FILE];
    if (file && *file) {
        size_t n;
        text = cfg_read_file(file, &n, err, errcap);
        if (!text)
            goto done;
        s->fname = file;
        if (cfg_scan_text(s, text, n, err, errcap))
            goto done;
    }
    /* layer: file < env < flags */
    for (int o = 0; o < O__COUNT; o++) {
        if (env.val[o])
            cfg_set(s, o, SRC_ENV, env.val[o], 0);
        if (flags.val[o])
            cfg_set(s, o, SRC_FLAG, flags.val[o], 0);
    }
    s->env_password = env.env_password;
    rc = cfg_resolve(out, s, 1, err, errcap);
done:
    free(text);
    if (s) {
        memset(s, 0, sizeof *s);
        free(s);
    }
    return rc;
}

int cfg_load_text(struct cfg *out, const char *text, size_t n, const char *fname, char *err,
                  size_t errcap)
{
    struct cfg_sources *s = calloc(1, sizeof *s);
    char *copy = malloc(n + 1);
    int rc = CFG_ERR_INVALID;
    if (err && errcap)
        err[0] = 0;
    if (!s || !copy) {
        cfg_errf(err, errcap, "out of memory");
    } else {
        memcpy(copy, text, n);
        copy[n] = 0;
        s->fname = fname;
        if (cfg_scan_text(s, copy, n, err, errcap) == 0)
            rc = cfg_resolve(out, s, 0, err, errcap);
    }
    free(copy);
    free(s);
    return rc;
}

/* --- pass two: resolve and parse each option ---------------------------------------- */

/* memset(p, 0, n), without writing the pages that are zero already. A struct cfg is
 * ~140 KB, mostly pools a typical configuration leaves empty; a page of the static
 * copies that was never written is not resident (reading it maps the shared zero
 * page), and one memset would make all of them so: ~8% of the idle RSS. */
static void zero_lazily(void *p, size_t n)
{
    unsigned char *b = p;
    for (size_t o = 0; o < n; o += 4096) {
        size_t k = n - o < 4096 ? n - o : 4096;
        unsigned char any = 0;
        for (size_t i = 0; i < k; i++)
            any |= b[o + i];
        if (any)
            memset(b + o, 0, k);
    }
}

int cfg_resolve(struct cfg *c, const struct cfg_sources *s, int full, char *err, size_t cap)
{
    zero_lazily(c, sizeof *c);
    for (int o = 0; o < O__COUNT; o++) {
        const char *v = s->val[o] ? s->val[o] : cfg_opts[o].def;
        char where[CFG_PATH_BYTES + 64], q[80], why[160];
        why[0] = 0;
        if (cfg_parse_value(c, o, v, why, sizeof why)) {
            cfg_where(s, o, where, sizeof where);
            if (o == O_PASSWORD_FILE || o == O_USERNAME)
                q[0] = 0;
            else
                cfg_quote(v, q, sizeof q);
            if (q[0])
                cfg_errf(err, cap, "%s: invalid value \"%s\": %s", where, q, why);
            else
                cfg_errf(err, cap, "%s: %s", where, why);
            return CFG_ERR_INVALID;
        }
    }
    if (cfg_profile_lists(c, s, err, cap) || cfg_mapping(c, s, err, cap))
        return CFG_ERR_INVALID;
    if (!full || c->show_help || c->show_version)
        return CFG_OK;
    if (!c->username[0]) {
        cfg_errf(err, cap,
                 "--iotpro.username: required (flag, IOTPRO_USERNAME or "
                 "iotpro.username in the config file)");
        return CFG_ERR_INVALID;
    }
    return cfg_password(c, s, err, cap);
}

/* --- accessors ---------------------------------------------------------------------- */

size_t cfg_keys_for(const struct cfg *c, const char *profile, size_t plen)
{
    for (size_t l = 1; l < c->nlists; l++) {
        const char *p = c->key_pool + c->lists[l].profile_off;
        if (strlen(p) == plen && memcmp(p, profile, plen) == 0)
            return l;
    }
    return 0;
}

size_t cfg_key_count(const struct cfg *c, size_t list)
{
    return list < c->nlists ? c->lists[list].count : 0;
}

const char *cfg_key(const struct cfg *c, size_t list, size_t i)
{
    if (list >= c->nlists || i >= c->lists[list].count)
        return NULL;
    return c->key_pool + c->key_off[c->lists[list].first + i];
}

const char *cfg_list_profile(const struct cfg *c, size_t list)
{
    return list == 0 || list >= c->nlists ? NULL : c->key_pool + c->lists[list].profile_off;
}

static int cfg_lists_equal(const struct cfg *a, const struct cfg *b)
{
    if (a->nlists != b->nlists)
        return 0;
    for (size_t l = 0; l < a->nlists; l++) {
        if (cfg_key_count(a, l) != cfg_key_count(b, l))
            return 0;
        if (l && strcmp(cfg_list_profile(a, l), cfg_list_profile(b, l)))
            return 0;
        for (size_t i = 0; i < cfg_key_count(a, l); i++)
            if (strcmp(cfg_key(a, l, i), cfg_key(b, l, i)))
                return 0;
    }
    return 1;
}

unsigned cfg_changes(const struct cfg *a, const struct cfg *b)
{
    unsigned m = 0;
    if (strcmp(a->url, b->url) || strcmp(a->username, b->username) ||
        strcmp(a->password, b->password) || strcmp(a->ca_file, b->ca_file))
        m |= CFG_CHANGED_UPSTREAM;
    if (!cfg_lists_equal(a, b) || a->page_size != b->page_size ||
        a->asset_details != b->asset_details || a->shard_index != b->shard_index ||
        a->shard_count != b->shard_count || a->entity_types != b->entity_types ||
        memcmp(&a->attr_keys, &b->attr_keys, sizeof a->attr_keys) ||
        memcmp(&a->profiles, &b->profiles, sizeof a->profiles))
        m |= CFG_CHANGED_KEYS;
    if (strcmp(a->listen_civet, b->listen_civet) || strcmp(a->telemetry_path, b->telemetry_path) ||
        a->max_requests != b->max_requests)
        m |= CFG_CHANGED_WEB;
    if (a->log_level != b->log_level || a->log_format != b->log_format)
        m |= CFG_CHANGED_LOG;
    if (a->rediscover_ms != b->rediscover_ms || a->idle_timeout_ms != b->idle_timeout_ms ||
        a->backoff_max_ms != b->backoff_max_ms || a->sub_timeout_ms != b->sub_timeout_ms ||
        a->metrics_ttl_ms != b->metrics_ttl_ms || a->store_max_series != b->store_max_series)
        m |= CFG_CHANGED_TIMERS;
    return m;
}

void cfg_wipe(struct cfg *c)
{
    bytes_wipe(c->password, sizeof c->password);
}

/* --- help ---------------------------------------------------------------------------- */

void cfg_print_help(FILE *out)
{
    fputs("usage: iotpro_exporter [--option=value ...]\n\n"
          "Streams IoT Pro (ThingsBoard PE) asset telemetry over its WebSocket API and\n"
          "serves it to Prometheus.\n\n"
          "Every option can be given as a flag, as an environment variable or in the\n"
          "config file (--config.file, lines of `option = value`, '#' comments).\n"
          "Precedence: flag > environment > config file > default.\n"
          "The password is never a flag: use --iotpro.password-file or IOTPRO_PASSWORD.\n"
          "Durations: 0, or <n><unit>... with units ms, s, m, h, d, w (e.g. 1h30m).\n"
          "Invalid configuration exits with status 2. SIGHUP re-reads the config file.\n"
          "Config file only: metric.<key>.name|help|scale|type|map|map-default = value\n"
          "gives a telemetry key its own metric family (see README.md).\n\n"
          "options:\n",
          out);
    for (int o = 0; o < O__COUNT; o++) {
        const struct cfg_opt *d = &cfg_opts[o];
        fprintf(out, "  --%s", d->name);
        if (!(d->flags & CFG_BOOL))
            fprintf(out, "=VALUE");
        fprintf(out, "\n      %s\n", d->help);
        if (!(d->flags & CFG_BOOL) && d->def[0])
            fprintf(out, "      default: %s\n", d->def);
        if (d->env)
            fprintf(out, "      environment: %s\n", d->env);
    }
    fputs("  IOTPRO_PASSWORD (environment only)\n"
          "      The password itself; used when no --iotpro.password-file is given.\n",
          out);
}

static void cfg_print_names(FILE *out, const char *opt, const struct cfg_names *l)
{
    fprintf(out, "%s = ", opt);
    for (size_t i = 0; i < l->n; i++)
        fprintf(out, "%s%s", i ? "," : "", cfg_name(l, i));
    fputc('\n', out);
}

void cfg_print(const struct cfg *c, FILE *out)
{
    static const char *const det[] = { "ws", "rest", "off" };
    fprintf(out, "iotpro.url = %s\n", c->url);
    fprintf(out, "# websocket: %s\n", c->ws_url);
    fprintf(out, "iotpro.username = %s\n", c->username);
    fprintf(out, "# password: %s\n",
            c->password[0]
                ? (c->password_file[0] ? "<set, from file>" : "<set, from IOTPRO_PASSWORD>")
                : "<not set>");
    if (c->password_file[0])
        fprintf(out, "iotpro.password-file = %s\n", c->password_file);
    fprintf(out, "iotpro.keys = ");
    for (size_t i = 0; i < cfg_key_count(c, 0); i++)
        fprintf(out, "%s%s", i ? "," : "", cfg_key(c, 0, i));
    fputc('\n', out);
    for (size_t l = 1; l < c->nlists; l++) {
        fprintf(out, "iotpro.keys.%s = ", cfg_list_profile(c, l));
        for (size_t i = 0; i < cfg_key_count(c, l); i++)
            fprintf(out, "%s%s", i ? "," : "", cfg_key(c, l, i));
        fputc('\n', out);
    }
    fprintf(out, "iotpro.page-size = %u\n", c->page_size);
    fprintf(out, "iotpro.asset-details = %s\n", det[c->asset_details]);
    fprintf(out, "iotpro.entity-type = %s\n",
            c->entity_types == (CFG_ENT_ASSET | CFG_ENT_DEVICE) ? "ASSET,DEVICE"
            : c->entity_types == CFG_ENT_DEVICE                 ? "DEVICE"
                                                                : "ASSET");
    cfg_print_names(out, "iotpro.attribute-keys", &c->attr_keys);
    cfg_print_names(out, "iotpro.profiles", &c->profiles);
    fprintf(out, "iotpro.rediscover-interval = %llums\n", (unsigned long long)c->rediscover_ms);
    fprintf(out, "iotpro.idle-timeout = %llums\n", (unsigned long long)c->idle_timeout_ms);
    fprintf(out, "iotpro.backoff-max = %llums\n", (unsigned long long)c->backoff_max_ms);
    fprintf(out, "iotpro.subscription-timeout = %llums\n", (unsigned long long)c->sub_timeout_ms);
    fprintf(out, "tls.ca-file = %s\n", c->ca_file);
    fprintf(out, "web.listen-address = %s\n", c->listen_address);
    fprintf(out, "web.telemetry-path = %s\n", c->telemetry_path);
    fprintf(out, "web.max-requests = %u\n", c->max_requests);
    fprintf(out, "web.config.file = %s\n", c->web_config_file);
    fprintf(out, "metrics.ttl = %llums\n", (unsigned long long)c->metrics_ttl_ms);
    fprintf(out, "metrics.timestamps = %s\n", c->metrics_timestamps ? "true" : "false");
    fprintf(out, "metrics.asset-info-fields = ");
    if (c->info_fields_all)
        fputc('*', out);
    else if (!c->ninfo_fields)
        fputc('-', out);
    for (unsigned i = 0; i < c->ninfo_fields; i++)
        fprintf(out, "%s%s", i ? "," : "", c->info_fields[i]);
    fputc('\n', out);
    fprintf(out, "store.max-series = %llu\n", (unsigned long long)c->store_max_series);
    fprintf(out, "shard = %u/%u\n", c->shard_index, c->shard_count);
    fprintf(out, "log.level = %s\n", log_level_name(c->log_level));
    fprintf(out, "log.format = %s\n", c->log_format == LOG_FMT_JSON ? "json" : "logfmt");
    mapping_print(&c->map, out);
}
