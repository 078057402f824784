/*
 * webcfg.c -- the web configuration file's YAML subset (contract in webcfg.h).
 *
 * One pass over the lines. Each line is "indent, key: value", "indent, - item", a
 * comment or blank. Where a line belongs follows from its indent and what came
 * before: indent 0 opens a section; the first deeper line fixes the indent of that
 * section's fields; deeper still (or "- " at the field's indent) belongs to the field
 * that opened with an empty value (headers, cipher_suites). Unknown or repeated keys
 * stop the parse: the exporter toolkit reads the file strictly, and a typo in a
 * security setting must not leave an exporter open.
 */
#include "core/webcfg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define WC_LINE_MAX 4096u

static const char *const wc_suite_names[WEBCFG_SUITE__COUNT] = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",       "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",       "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
};

static const char *const wc_header_names[WEBCFG_H__COUNT] = {
    "Content-Security-Policy", "X-Frame-Options",           "X-Content-Type-Options",
    "X-XSS-Protection",        "Strict-Transport-Security",
};

const char *webcfg_suite_name(enum webcfg_suite s)
{
    return (unsigned)s < WEBCFG_SUITE__COUNT ? wc_suite_names[s] : "?";
}

const char *webcfg_header_name(enum webcfg_header h)
{
    return (unsigned)h < WEBCFG_H__COUNT ? wc_header_names[h] : "?";
}

const struct webcfg_user *webcfg_find_user(const struct webcfg *c, const char *name, size_t n)
{
    for (unsigned i = 0; i < c->nusers; i++)
        if (strlen(c->users[i].name) == n && !memcmp(c->users[i].name, name, n))
            return &c->users[i];
    return NULL;
}

/* --- parser state ------------------------------------------------------------------ */

enum wc_section { S_NONE = 0, S_TLS, S_HTTP, S_USERS };
enum wc_open { OPEN_NONE = 0, OPEN_HEADERS, OPEN_SUITES };

/* Keys seen, for "given twice" and the checks at the end. */
enum wc_seen {
    K_TLS = 0,
    K_HTTP,
    K_USERS,
    K_CERT,
    K_KEY,
    K_AUTH,
    K_CA,
    K_MIN,
    K_MAX,
    K_SUITES,
    K_PREFER,
    K_HTTP2,
    K_HEADERS,
    K__COUNT
};

struct wc {
    struct webcfg *c;
    char *err;
    size_t errcap;
    unsigned line;
    enum wc_section sec;
    int ind1; /* indent of the current section's fields, -1 before the first */
    enum wc_open open;
    int open_ind;            /* indent of the key that opened headers / cipher_suites */
    int ind2;                /* indent of the header lines, -1 before the first */
    int suites_given;        /* cipher_suites had at least one item (block form) */
    unsigned seen[K__COUNT]; /* line where each key was given, 0 = not given */
    int headers_seen[WEBCFG_H__COUNT];
};

static int wc_fail(struct wc *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int wc_fail(struct wc *w, const char *fmt, ...)
{
    va_list ap;
    int o = w->line ? snprintf(w->err, w->errcap, "line %u: ", w->line) : 0;
    if (o < 0 || (size_t)o >= w->errcap)
        o = 0;
    va_start(ap, fmt);
    vsnprintf(w->err + o, w->errcap - (size_t)o, fmt, ap);
    va_end(ap);
    return -1;
}

/* A scalar: plain (trimmed), 'single' ('' is a quote) or "double" (\" \\ only).
 * s[0..n) has no comment and no trailing space. Copies into out[cap]. */
static int wc_scalar(struct wc *w, const char *s, size_t n, char *out, size_t cap, const char *what)
{
    size_t o = 0;
    if (n && (s[0] == '\'' || s[0] == '"')) {
        char q = s[0];
        size_t i = 1;
        for (;; i++) {
            if (i >= n)
                return wc_fail(w, "%s: unterminated quoted string", what);
            char ch = s[i];
            if (ch == q) {
                if (q == '\'' && i + 1 < n && s[i + 1] == '\'') {
                    i++;
                } else {
                    break;
                }
            } else if (q == '"' && ch == '\\') {
                if (i + 1 >= n || (s[i + 1] != '"' && s[i + 1] != '\\'))
                    return wc_fail(w, "%s: only \\\" and \\\\ escapes are supported", what);
                ch = s[++i];
            }
            if (o + 1 >= cap)
                return wc_fail(w, "%s: longer than %zu bytes", what, cap - 1);
            out[o++] = ch;
        }
        if (i + 1 != n)
            return wc_fail(w, "%s: text after the closing quote", what);
    } else {
        if (n && strchr("[]{}&*!|>%@`", s[0]))
            return wc_fail(w, "%s: this YAML form ('%c') is not supported here", what, s[0]);
        if (n >= cap)
            return wc_fail(w, "%s: longer than %zu bytes", what, cap - 1);
        memcpy(out, s, n);
        o = n;
    }
    out[o] = 0;
    for (size_t i = 0; i < o; i++)
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
            return wc_fail(w, "%s: contains a control character", what);
    return 0;
}

static int wc_bool(struct wc *w, const char *v, size_t n, int *out, const char *what)
{
    char b[8];
    if (wc_scalar(w, v, n, b, sizeof b, what))
        return -1;
    if (!strcmp(b, "true"))
        *out = 1;
    else if (!strcmp(b, "false"))
        *out = 0;
    else
        return wc_fail(w, "%s: must be true or false", what);
    return 0;
}

static int wc_once(struct wc *w, enum wc_seen k, const char *name)
{
    if (w->seen[k])
        return wc_fail(w, "%s given twice (also on line %u)", name, w->seen[k]);
    w->seen[k] = w->line;
    return 0;
}

static int wc_suite(struct wc *w, const char *s, size_t n)
{
    char name[80];
    if (wc_scalar(w, s, n, name, sizeof name, "cipher_suites"))
        return -1;
    /* Only the names Go lists for its suites: the toolkit refuses Go's older aliases
     * (TLS_ECDHE_*_WITH_CHACHA20_POLY1305 without _SHA256) too. */
    for (unsigned i = 0; i < WEBCFG_SUITE__COUNT; i++) {
        if (strcmp(name, wc_suite_names[i]))
            continue;
        for (unsigned j = 0; j < w->c->nsuites; j++)
            if (w->c->suites[j] == i)
                return wc_fail(w, "cipher_suites: %s listed twice", name);
        w->c->suites[w->c->nsuites++] = (uint8_t)i;
        return 0;
    }
    if (!strncmp(name, "TLS_", 4))
        return wc_fail(w,
                       "cipher_suites: %s is not offered (TLS 1.2 ECDHE with AES-GCM or "
                       "ChaCha20-Poly1305 only)",
                       name);
    return wc_fail(w, "cipher_suites: unknown suite \"%.60s\"", name);
}

/* "[a, b]" on one line. */
static int wc_flow_list(struct wc *w, const char *v, size_t n)
{
    if (n < 2 || v[n - 1] != ']')
        return wc_fail(w, "cipher_suites: unterminated [ list");
    const char *p = v + 1, *end = v + n - 1;
    while (p < end) {
        const char *c = memchr(p, ',', (size_t)(end - p)), *e = c ? c : end;
        const char *a = p, *b = e;
        while (a < b && *a == ' ')
            a++;
        while (b > a && b[-1] == ' ')
            b--;
        if (a == b) {
            if (!c && w->c->nsuites == 0 && p == v + 1)
                break; /* "[]" */
            return wc_fail(w, "cipher_suites: empty item in the list");
        }
        if (wc_suite(w, a, (size_t)(b - a)))
            return -1;
        p = c ? c + 1 : end;
    }
    if (w->c->nsuites == 0)
        return wc_fail(w, "cipher_suites: the list is empty");
    return 0;
}

static int wc_version(struct wc *w, const char *v, size_t n, int is_min)
{
    char b[16];
    const char *what = is_min ? "min_version" : "max_version";
    if (wc_scalar(w, v, n, b, sizeof b, what))
        return -1;
    int ver = !strcmp(b, "TLS10")   ? 10
              : !strcmp(b, "TLS11") ? 11
              : !strcmp(b, "TLS12") ? 12
              : !strcmp(b, "TLS13") ? 13
                                    : 0;
    if (!ver)
        return wc_fail(w, "%s: unknown version \"%.15s\" (TLS10, TLS11, TLS12 or TLS13)", what, b);
    if (is_min && ver == 13)
        return wc_fail(w, "min_version: TLS13 is not available (BearSSL speaks TLS 1.2 only); "
                          "use TLS12");
    if (!is_min && ver < 12)
        return wc_fail(w, "max_version: %s is below TLS12, the only version spoken", b);
    return 0;
}

static int wc_tls_field(struct wc *w, const char *k, const char *v, size_t vn, int ind)
{
    struct webcfg *c = w->c;
    char b[64] = ""; /* scan-build cannot see that wc_scalar() always ends b on success */
    if (!strcmp(k, "cert_file") || !strcmp(k, "key_file") || !strcmp(k, "client_ca_file")) {
        int cert = k[0] == 'c' && k[1] == 'e', key = k[0] == 'k';
        char *dst = cert ? c->cert_file : key ? c->key_file : c->client_ca_file;
        if (wc_once(w,
                    cert  ? K_CERT
                    : key ? K_KEY
                          : K_CA,
                    k) ||
            wc_scalar(w, v, vn, dst, WEBCFG_PATH_BYTES, k))
            return -1;
        return 0;
    }
    if (!strcmp(k, "client_auth_type")) {
        if (wc_once(w, K_AUTH, k) || wc_scalar(w, v, vn, b, sizeof b, k))
            return -1;
        if (!strcmp(b, "NoClientCert") || !b[0])
            c->client_auth = WEBCFG_NO_CLIENT_CERT;
        else if (!strcmp(b, "RequireAndVerifyClientCert"))
            c->client_auth = WEBCFG_REQUIRE_AND_VERIFY;
        else if (!strcmp(b, "RequestClientCert") || !strcmp(b, "RequireAnyClientCert") ||
                 !strcmp(b, "VerifyClientCertIfGiven"))
            return wc_fail(w,
                           "client_auth_type: %s is not supported (it admits clients without a "
                           "verified certificate); use RequireAndVerifyClientCert",
                           b);
        else
            return wc_fail(w, "client_auth_type: unknown policy \"%.40s\"", b);
        return 0;
    }
    if (!strcmp(k, "min_version"))
        return wc_once(w, K_MIN, k) || wc_version(w, v, vn, 1) ? -1 : 0;
    if (!strcmp(k, "max_version"))
        return wc_once(w, K_MAX, k) || wc_version(w, v, vn, 0) ? -1 : 0;
    if (!strcmp(k, "prefer_server_cipher_suites"))
        return wc_once(w, K_PREFER, k) || wc_bool(w, v, vn, &c->prefer_server_suites, k) ? -1 : 0;
    if (!strcmp(k, "cipher_suites")) {
        if (wc_once(w, K_SUITES, k))
            return -1;
        if (vn == 0) {
            w->open = OPEN_SUITES;
            w->open_ind = ind;
            return 0;
        }
        if (v[0] != '[')
            return wc_fail(w, "cipher_suites: must be a list");
        return wc_flow_list(w, v, vn);
    }
    if (!strcmp(k, "cert") || !strcmp(k, "key") || !strcmp(k, "client_ca"))
        return wc_fail(w, "%s: inline PEM is not supported; use %s_file", k, k);
    if (!strcmp(k, "client_allowed_sans") || !strcmp(k, "curve_preferences"))
        return wc_fail(w, "tls_server_config.%s is not supported", k);
    return wc_fail(w, "unknown field \"%.60s\" in tls_server_config", k);
}

static int wc_header(struct wc *w, const char *k, const char *v, size_t vn)
{
    for (unsigned h = 0; h < WEBCFG_H__COUNT; h++) {
        if (strcmp(k, wc_header_names[h]))
            continue;
        char *dst = w->c->headers[h];
        if (w->headers_seen[h])
            return wc_fail(w, "header %s given twice (also on line %u)", k,
                           (unsigned)w->headers_seen[h]);
        w->headers_seen[h] = (int)w->line;
        if (wc_scalar(w, v, vn, dst, WEBCFG_HEADER_BYTES, k))
            return -1;
        if (h == WEBCFG_H_FRAME_OPTIONS && dst[0] && strcasecmp(dst, "deny") &&
            strcasecmp(dst, "sameorigin"))
            return wc_fail(w, "X-Frame-Options: must be deny or sameorigin");
        if (h == WEBCFG_H_CONTENT_TYPE_OPTIONS && dst[0] && strcasecmp(dst, "nosniff"))
            return wc_fail(w, "X-Content-Type-Options: must be nosniff");
        return 0;
    }
    return wc_fail(w,
                   "header \"%.60s\" cannot be configured (allowed: Content-Security-Policy, "
                   "X-Frame-Options, X-Content-Type-Options, X-XSS-Protection, "
                   "Strict-Transport-Security)",
                   k);
}

static int wc_user(struct wc *w, const char *k, const char *v, size_t vn)
{
    struct webcfg *c = w->c;
    char hash[BCRYPT_HASH_LEN + 8];
    if (!k[0])
        return wc_fail(w, "basic_auth_users: empty user name");
    if (strchr(k, ':'))
        return wc_fail(w,
                       "basic_auth_users: user name \"%.60s\" contains ':' (basic auth "
                       "cannot carry it)",
                       k);
    if (strlen(k) >= WEBCFG_USER_BYTES)
        return wc_fail(w, "basic_auth_users: user name longer than %u bytes",
                       WEBCFG_USER_BYTES - 1);
    if (webcfg_find_user(c, k, strlen(k)))
        return wc_fail(w, "basic_auth_users: user \"%.60s\" given twice", k);
    if (c->nusers >= WEBCFG_MAX_USERS)
        return wc_fail(w, "basic_auth_users: more than %u users", WEBCFG_MAX_USERS);
    if (!vn)
        return wc_fail(w, "basic_auth_users: user \"%.60s\" has no password hash", k);
    if (vn >= sizeof hash || wc_scalar(w, v, vn, hash, sizeof hash, "basic_auth_users"))
        return w->err[0] ? -1
                         : wc_fail(w, "basic_auth_users: user \"%.60s\": not a bcrypt hash", k);
    struct webcfg_user *u = &c->users[c->nusers];
    int rc = bcrypt_parse(hash, strlen(hash), &u->hash);
    if (rc)
        return wc_fail(w, "basic_auth_users: user \"%.60s\": %s", k, bcrypt_strerror(rc));
    if (u->hash.cost > WEBCFG_MAX_COST)
        return wc_fail(w,
                       "basic_auth_users: user \"%.60s\": bcrypt cost %u is above %u (each "
                       "check would take seconds)",
                       k, u->hash.cost, WEBCFG_MAX_COST);
    memcpy(u->name, k, strlen(k) + 1);
    c->nusers++;
    return 0;
}

/* --- lines ----------------------------------------------------------------------------- */

/* The end of the line's content: before a comment ('#' at the start or after a space,
 * outside quotes), without trailing spaces. */
static size_t wc_content_end(const char *s, size_t n)
{
    char q = 0;
    size_t e = n;
    for (size_t i = 0; i < n; i++) {
        if (q) {
            if (s[i] == q)
                q = 0;
        } else if (s[i] == '\'' || s[i] == '"') {
            if (i == 0 || s[i - 1] == ' ' || s[i - 1] == ':' || s[i - 1] == '[' || s[i - 1] == ',')
                q = s[i];
        } else if (s[i] == '#' && (i == 0 || s[i - 1] == ' ')) {
            e = i;
            break;
        }
    }
    while (e && (s[e - 1] == ' ' || s[e - 1] == '\r'))
        e--;
    return e;
}

/* Splits "key: value" (key possibly quoted) into key (unquoted, in kb) and value. */
static int wc_split(struct wc *w, const char *s, size_t n, char *kb, size_t kcap, const char **v,
                    size_t *vn)
{
    size_t i = 0;
    if (n && (s[0] == '"' || s[0] == '\'')) {
        char q = s[0];
        for (i = 1; i < n && s[i] != q; i++)
            ;
        if (i >= n)
            return wc_fail(w, "unterminated quoted key");
        i++;
        if (i >= n || s[i] != ':')
            return wc_fail(w, "expected ':' after the quoted key");
    } else {
        while (i < n && !(s[i] == ':' && (i + 1 == n || s[i + 1] == ' ')))
            i++;
        if (i >= n)
            return wc_fail(w, "expected \"key: value\"");
    }
    if (wc_scalar(w, s, i, kb, kcap, "key"))
        return -1;
    size_t j = i + 1;
    while (j < n && s[j] == ' ')
        j++;
    *v = s + j;
    *vn = n - j;
    return 0;
}

static int wc_top(struct wc *w, const char *k, size_t vn)
{
    static const struct {
        const char *name;
        enum wc_section sec;
        enum wc_seen seen;
    } secs[] = {
        { "tls_server_config", S_TLS, K_TLS },
        { "http_server_config", S_HTTP, K_HTTP },
        { "basic_auth_users", S_USERS, K_USERS },
    };
    for (size_t i = 0; i < sizeof secs / sizeof secs[0]; i++) {
        if (strcmp(k, secs[i].name))
            continue;
        if (wc_once(w, secs[i].seen, k))
            return -1;
        if (vn)
            return wc_fail(w, "%s: must be a mapping (its fields on the following, indented lines)",
                           k);
        w->sec = secs[i].sec;
        w->ind1 = -1;
        return 0;
    }
    if (!strcmp(k, "rate_limit"))
        return wc_fail(w, "rate_limit is not supported (use --web.max-requests)");
    return wc_fail(w,
                   "unknown field \"%.60s\" (tls_server_config, http_server_config or "
                   "basic_auth_users)",
                   k);
}

static int wc_line(struct wc *w, const char *s, size_t n)
{
    int ind = 0;
    while ((size_t)ind < n && s[ind] == ' ')
        ind++;
    if ((size_t)ind < n && s[ind] == '\t')
        return wc_fail(w, "tab in the indentation (YAML indents with spaces)");
    size_t e = wc_content_end(s, n);
    if (e <= (size_t)ind)
        return 0; /* blank or comment */
    const char *p = s + ind;
    size_t pn = e - (size_t)ind;
    char key[WEBCFG_USER_BYTES + 8];
    const char *v = NULL;
    size_t vn = 0;

    if (pn >= 3 && !memcmp(p, "---", 3) && pn == 3 && ind == 0) {
        if (w->sec != S_NONE || w->seen[K_TLS] || w->seen[K_HTTP] || w->seen[K_USERS])
            return wc_fail(w, "only one YAML document is allowed");
        return 0;
    }
    /* a list item of cipher_suites */
    if (p[0] == '-' && (pn == 1 || p[1] == ' ')) {
        if (w->open != OPEN_SUITES || ind < w->open_ind)
            return wc_fail(w, "unexpected list item");
        size_t a = 1;
        while (a < pn && p[a] == ' ')
            a++;
        if (a == pn)
            return wc_fail(w, "cipher_suites: empty list item");
        w->suites_given = 1;
        return wc_suite(w, p + a, pn - a);
    }
    if (w->open == OPEN_SUITES) {
        if (!w->suites_given)
            return wc_fail(w, "cipher_suites: the list is empty");
        w->open = OPEN_NONE;
    }
    if (wc_split(w, p, pn, key, sizeof key, &v, &vn))
        return -1;
    if (ind == 0) {
        w->open = OPEN_NONE;
        return wc_top(w, key, vn);
    }
    if (w->sec == S_NONE)
        return wc_fail(w, "indented line outside any section");
    if (w->open == OPEN_HEADERS && ind > w->open_ind) {
        if (w->ind2 < 0)
            w->ind2 = ind;
        if (ind != w->ind2)
            return wc_fail(w, "inconsistent indentation");
        return wc_header(w, key, v, vn);
    }
    w->open = OPEN_NONE;
    if (w->ind1 < 0)
        w->ind1 = ind;
    if (ind != w->ind1)
        return wc_fail(w, "inconsistent indentation");
    switch (w->sec) {
    case S_TLS: return wc_tls_field(w, key, v, vn, ind);
    case S_USERS: return wc_user(w, key, v, vn);
    case S_HTTP:
        if (!strcmp(key, "http2")) {
            int h2;
            return wc_once(w, K_HTTP2, key) || wc_bool(w, v, vn, &h2, key) ? -1 : 0;
        }
        if (!strcmp(key, "headers")) {
            if (wc_once(w, K_HEADERS, key))
                return -1;
            if (vn)
                return wc_fail(w, "headers: must be a mapping (one header per indented line)");
            w->open = OPEN_HEADERS;
            w->open_ind = ind;
            w->ind2 = -1;
            return 0;
        }
        return wc_fail(w, "unknown field \"%.60s\" in http_server_config", key);
    default: return wc_fail(w, "indented line outside any section");
    }
}

int webcfg_parse(struct webcfg *out, const char *text, size_t n, char *err, size_t errcap)
{
    struct wc w = { .c = out, .err = err, .errcap = errcap, .ind1 = -1, .ind2 = -1 };
    memset(out, 0, sizeof *out);
    out->prefer_server_suites = 1;
    if (errcap)
        err[0] = 0;
    for (size_t i = 0; i < n;) {
        const char *nl = memchr(text + i, '\n', n - i);
        size_t len = nl ? (size_t)(nl - (text + i)) : n - i;
        w.line++;
        if (len > WC_LINE_MAX)
            return wc_fail(&w, "longer than %u bytes", WC_LINE_MAX);
        if (memchr(text + i, 0, len))
            return wc_fail(&w, "contains a NUL byte");
        if (wc_line(&w, text + i, len))
            return -1;
        i += len + (nl ? 1 : 0);
    }
    if (w.open == OPEN_SUITES && !w.suites_given)
        return wc_fail(&w, "cipher_suites: the list is empty");
    w.line = 0;
    if (!!out->cert_file[0] != !!out->key_file[0])
        return wc_fail(&w, "tls_server_config: %s is missing",
                       out->cert_file[0] ? "key_file" : "cert_file");
    out->tls = out->cert_file[0] != 0;
    if (!out->tls && (w.seen[K_AUTH] || w.seen[K_CA] || w.seen[K_SUITES] || w.seen[K_MIN] ||
                      w.seen[K_MAX] || w.seen[K_PREFER]))
        return wc_fail(&w, "tls_server_config: TLS settings without cert_file and key_file");
    if (out->client_auth == WEBCFG_REQUIRE_AND_VERIFY && !out->client_ca_file[0])
        return wc_fail(&w, "tls_server_config: RequireAndVerifyClientCert needs client_ca_file");
    if (out->client_auth == WEBCFG_NO_CLIENT_CERT && out->client_ca_file[0])
        return wc_fail(&w, "tls_server_config: client_ca_file is set but client_auth_type is not "
                           "RequireAndVerifyClientCert");
    if (out->nsuites == 0) {
        for (unsigned i = 0; i < WEBCFG_SUITE__COUNT; i++)
            out->suites[i] = (uint8_t)i;
        out->nsuites = WEBCFG_SUITE__COUNT;
    }
    return 0;
}
