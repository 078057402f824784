/*
 * config_file.c -- reading the config file and the password file: whole regular
 * files of bounded size, `key = value` lines split and recorded with their line
 * numbers (config.c decides which value wins; config_parse.c parses each value).
 */
#include "exporter/config_int.h"

#include "core/bytes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads a whole regular file of at most `max` bytes; NUL-terminated heap copy. */
static char *cp_slurp(const char *path, size_t max, size_t *n, struct stat *st, char *why,
                      size_t wcap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        cfg_errf(why, wcap, "cannot open %.200s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        cfg_errf(why, wcap, "%.200s is not a regular file", path);
    } else if ((uint64_t)st->st_size > max) {
        cfg_errf(why, wcap, "%.200s is larger than %zu bytes", path, max);
    } else if ((buf = malloc((size_t)st->st_size + 1)) != NULL) {
        size_t got = 0;
        while (got < (size_t)st->st_size) {
            ssize_t r = read(fd, buf + got, (size_t)st->st_size - got);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        buf[got] = 0;
        *n = got;
    } else {
        cfg_errf(why, wcap, "out of memory");
    }
    close(fd);
    return buf;
}

char *cfg_read_file(const char *path, size_t *n, char *err, size_t cap)
{
    char why[320];
    struct stat st;
    char *t = cp_slurp(path, LIM_CFG_FILE_BYTES, n, &st, why, sizeof why);
    if (!t) {
        cfg_errf(err, cap, "--config.file: %s", why);
        return NULL;
    }
    if (memchr(t, 0, *n)) {
        cfg_errf(err, cap, "--config.file: %.200s contains a NUL byte", path);
        free(t);
        return NULL;
    }
    return t;
}

static char *cp_trim(char *s, char *e)
{
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        e--;
    *e = 0;
    return s;
}

int cfg_scan_text(struct cfg_sources *s, char *text, size_t n, char *err, size_t cap)
{
    const char *fn = s->fname ? s->fname : "(config)";
    if (memchr(text, 0, n)) {
        cfg_errf(err, cap, "config file %.200s: contains a NUL byte", fn);
        return -1;
    }
    unsigned line = 0;
    char *p = text, *end = text + n;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
        line++;
        *le = 0;
        char *l = cp_trim(p, le);
        p = nl ? nl + 1 : end;
        if (!*l || *l == '#')
            continue;
        char *eq = strchr(l, '=');
        if (!eq) {
            cfg_errf(err, cap, "config file %.200s line %u: expected `option = value`", fn, line);
            return -1;
        }
        char *key = cp_trim(l, eq), *val = eq + 1;
        val = cp_trim(val, val + strlen(val));
        /* " #" starts a comment; quote the value to keep a literal " #" */
        size_t vl = strlen(val);
        if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
            val[vl - 1] = 0;
            val++;
        } else {
            for (char *h = val; *h; h++)
                if (*h == '#' && h > val && (h[-1] == ' ' || h[-1] == '\t')) {
                    *h = 0;
                    val = cp_trim(val, h);
                    break;
                }
        }
        char kq[80];
        cfg_quote(key, kq, sizeof kq);
        if (!strcmp(key, "iotpro.password") || !strcmp(key, "password")) {
            cfg_errf(err, cap,
                     "config file %.200s line %u: iotpro.password: the password is "
                     "not read from the config file; use iotpro.password-file or "
                     "IOTPRO_PASSWORD",
                     fn, line);
            return -1;
        }
        const char *prof = !strncmp(key, "iotpro.keys.", 12) ? key + 12
                           : !strncmp(key, "keys.", 5)       ? key + 5
                                                             : NULL;
        if (prof) {
            for (unsigned i = 0; i < s->nplists; i++)
                if (!strcmp(s->plist_profile[i], prof)) {
                    cfg_errf(err, cap, "config file %.200s line %u: %s: set twice (line %u)", fn,
                             line, kq, s->plist_line[i]);
                    return -1;
                }
            if (!*prof || s->nplists >= LIM_CFG_KEY_LISTS) {
                cfg_errf(err, cap, "config file %.200s line %u: %s: %s", fn, line, kq,
                         *prof ? "too many per-profile key lists" : "profile name missing");
                return -1;
            }
            s->plist_profile[s->nplists] = prof;
            s->plist_value[s->nplists] = val;
            s->plist_line[s->nplists++] = line;
            continue;
        }
        if (!strncmp(key, "metric.", 7)) { /* checked in pass two: cfg_mapping */
            if (s->nmlines >= CFG_MAP_LINES) {
                cfg_errf(err, cap, "config file %.200s line %u: more than %u metric.* lines", fn,
                         line, CFG_MAP_LINES);
                return -1;
            }
            s->mline_spec[s->nmlines] = key + 7;
            s->mline_value[s->nmlines] = val;
            s->mline_line[s->nmlines++] = line;
            continue;
        }
        int o = cfg_find_opt(key, strlen(key));
        if (o < 0) {
            cfg_errf(err, cap, "config file %.200s line %u: unknown option %s", fn, line, kq);
            return -1;
        }
        if (cfg_opts[o].flags & (CFG_FLAGONLY | CFG_NOFILE)) {
            cfg_errf(err, cap, "config file %.200s line %u: %s can only be given as a flag%s", fn,
                     line, kq, cfg_opts[o].env ? " or in the environment" : "");
            return -1;
        }
        if (s->kind[o] == SRC_FILE) {
            cfg_errf(err, cap, "config file %.200s line %u: %s: set twice (line %u)", fn, line, kq,
                     s->line[o]);
            return -1;
        }
        s->val[o] = val;
        s->kind[o] = SRC_FILE;
        s->line[o] = line;
    }
    return 0;
}

static int cp_password_file(struct cfg *c, const char *where, char *err, size_t cap)
{
    char why[320];
    struct stat st;
    size_t n = 0;
    char *t = cp_slurp(c->password_file, LIM_PASSWORD_BYTES + 2, &n, &st, why, sizeof why);
    if (!t) {
        cfg_errf(err, cap, "%s: %s", where, why);
        return -1;
    }
    if (n && t[n - 1] == '\n')
        n--;
    if (n && t[n - 1] == '\r')
        n--;
    int bad = n == 0 || n >= LIM_PASSWORD_BYTES || memchr(t, 0, n) || memchr(t, '\n', n);
    if (!bad) {
        memcpy(c->password, t, n);
        c->password[n] = 0;
        c->password_file_insecure = (st.st_mode & 077) != 0;
    }
    bytes_wipe(t, n);
    free(t);
    if (bad) {
        cfg_errf(err, cap, "%s: the file must hold one non-empty line of at most %u bytes", where,
                 LIM_PASSWORD_BYTES - 1);
        return -1;
    }
    return 0;
}

int cfg_password(struct cfg *c, const struct cfg_sources *s, char *err, size_t cap)
{
    char where[CFG_PATH_BYTES + 64];
    cfg_where(s, O_PASSWORD_FILE, where, sizeof where);
    int kind = s->kind[O_PASSWORD_FILE];
    if (kind == SRC_FLAG || (!s->env_password && c->password_file[0]))
        return cp_password_file(c, where, err, cap);
    if (s->env_password) {
        if (kind == SRC_ENV) {
            cfg_errf(err, cap, "IOTPRO_PASSWORD and IOTPRO_PASSWORD_FILE are both set; set one");
            return -1;
        }
        size_t n = strlen(s->env_password);
        if (n >= LIM_PASSWORD_BYTES) {
            cfg_errf(err, cap, "environment variable IOTPRO_PASSWORD: longer than %u bytes",
                     LIM_PASSWORD_BYTES - 1);
            return -1;
        }
        memcpy(c->password, s->env_password, n + 1);
        c->password_file[0] = 0;
        return 0;
    }
    cfg_errf(err, cap,
             "--iotpro.password-file: no password given (set "
             "--iotpro.password-file or the IOTPRO_PASSWORD environment variable)");
    return -1;
}
