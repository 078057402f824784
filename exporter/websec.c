/*
 * websec.c -- web config snapshots and basic auth (contract in websec.h).
 */
#include "exporter/websec.h"

#include "core/b64.h"
#include "core/bytes.h"

#include <bearssl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* The longest Authorization value we decode: user and password of any sane length. */
#define WS_CRED_MAX 1024u

struct ws_entry {
    uint8_t key[32];
    unsigned long used; /* 0 = empty, else the cache clock when last used */
};

struct websec {
    atomic_int refs;
    struct webcfg wc;
    tls_creds *creds;
    struct bcrypt_hash dummy; /* for unknown users: the highest cost among the users */
    pthread_mutex_t mu;       /* the cache and its figures */
    struct ws_entry cache[WEBSEC_CACHE];
    unsigned long clock, hits, bcrypts;
};

static uint8_t ws_salt[32];
static pthread_once_t ws_salt_once = PTHREAD_ONCE_INIT;
static int ws_salt_ok;

static void ws_salt_init(void)
{
    ws_salt_ok = getrandom(ws_salt, sizeof ws_salt, 0) == (ssize_t)sizeof ws_salt;
}

static char *ws_read(const char *path, size_t *n, char *err, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    char *buf;
    if (fd < 0) {
        snprintf(err, cap, "--web.config.file %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > (off_t)WEBSEC_FILE_MAX) {
        snprintf(err, cap, "--web.config.file %s: not a regular file of at most %u bytes", path,
                 WEBSEC_FILE_MAX);
        close(fd);
        return NULL;
    }
    buf = malloc((size_t)sb.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)sb.st_size) {
        ssize_t k = read(fd, buf + got, (size_t)sb.st_size - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    if (!buf || got != (size_t)sb.st_size) {
        snprintf(err, cap, "--web.config.file %s: %s", path, buf ? "read failed" : "out of memory");
        free(buf);
        return NULL;
    }
    *n = got;
    return buf;
}

struct websec *websec_load(const char *path, char *err, size_t errcap)
{
    struct websec *s = calloc(1, sizeof *s);
    char why[600];
    if (!s) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    atomic_init(&s->refs, 1);
    pthread_mutex_init(&s->mu, NULL);
    webcfg_parse(&s->wc, "", 0, why, sizeof why); /* the defaults */
    if (path && path[0]) {
        size_t n = 0;
        char *text = ws_read(path, &n, err, errcap);
        int rc = text ? webcfg_parse(&s->wc, text, n, why, sizeof why) : -1;
        if (text) {
            bytes_wipe(text, n);
            free(text);
        }
        if (rc) {
            if (text || !err[0])
                snprintf(err, errcap, "--web.config.file %s: %s", path, why);
            websec_unref(s);
            return NULL;
        }
        if (s->wc.tls && !(s->creds = tls_creds_load(&s->wc, why, sizeof why))) {
            snprintf(err, errcap, "--web.config.file %s: %s", path, why);
            websec_unref(s);
            return NULL;
        }
    }
    /* The dummy: any valid salt; its cost is what makes unknown users cost the same. */
    memset(&s->dummy, 0, sizeof s->dummy);
    s->dummy.variant = 'b';
    s->dummy.cost = BCRYPT_COST_MIN;
    for (unsigned i = 0; i < s->wc.nusers; i++)
        if (s->wc.users[i].hash.cost > s->dummy.cost)
            s->dummy.cost = s->wc.users[i].hash.cost;
    pthread_once(&ws_salt_once, ws_salt_init);
    if (s->wc.nusers && !ws_salt_ok) {
        snprintf(err, errcap, "getrandom failed: cannot salt the password cache");
        websec_unref(s);
        return NULL;
    }
    return s;
}

void websec_ref(struct websec *s)
{
    atomic_fetch_add(&s->refs, 1);
}

void websec_unref(struct websec *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    tls_creds_unref(s->creds);
    pthread_mutex_destroy(&s->mu);
    bytes_wipe(s, sizeof *s);
    free(s);
}

const struct webcfg *websec_cfg(const struct websec *s)
{
    return &s->wc;
}

tls_creds *websec_creds(const struct websec *s)
{
    return s->creds;
}

/* SHA-256(salt || user || NUL || password) */
static void ws_key(const char *user, size_t ul, const char *pw, size_t pl, uint8_t out[32])
{
    br_sha256_context h;
    br_sha256_init(&h);
    br_sha256_update(&h, ws_salt, sizeof ws_salt);
    br_sha256_update(&h, user, ul);
    br_sha256_update(&h, "", 1);
    br_sha256_update(&h, pw, pl);
    br_sha256_out(&h, out);
    bytes_wipe(&h, sizeof h);
}

/* Index of the entry holding key, or -1; looks at every entry either way. */
static int ws_cache_find(struct websec *s, const uint8_t key[32])
{
    int found = -1;
    for (unsigned i = 0; i < WEBSEC_CACHE; i++)
        if (s->cache[i].used && bcrypt_ct_equal(s->cache[i].key, key, 32))
            found = (int)i;
    return found;
}

int websec_check(struct websec *s, const char *authorization)
{
    uint8_t cred[WS_CRED_MAX], key[32];
    long n = -1;
    int ok = 0;
    if (!s->wc.nusers)
        return 1;
    if (authorization && !strncasecmp(authorization, "Basic ", 6)) {
        const char *b = authorization + 6;
        while (*b == ' ')
            b++;
        size_t bl = strlen(b);
        while (bl && b[bl - 1] == ' ')
            bl--;
        n = b64_decode(b, bl, cred, sizeof cred);
    }
    const uint8_t *colon = n > 0 ? memchr(cred, ':', (size_t)n) : NULL;
    const char *user = (const char *)cred, *pw = colon ? (const char *)colon + 1 : "";
    size_t ul = colon ? (size_t)(colon - cred) : 0;
    size_t pl = colon ? (size_t)n - ul - 1 : 0;
    const struct webcfg_user *u = colon ? webcfg_find_user(&s->wc, user, ul) : NULL;

    if (u) {
        ws_key(user, ul, pw, pl, key);
        pthread_mutex_lock(&s->mu);
        int i = ws_cache_find(s, key);
        if (i >= 0) {
            s->cache[i].used = ++s->clock;
            s->hits++;
            ok = 1;
        }
        pthread_mutex_unlock(&s->mu);
        if (!ok) {
            ok = bcrypt_verify(&u->hash, pw, pl);
            pthread_mutex_lock(&s->mu);
            s->bcrypts++;
            if (ok && ws_cache_find(s, key) < 0) {
                unsigned victim = 0;
                for (unsigned j = 1; j < WEBSEC_CACHE; j++)
                    if (s->cache[j].used < s->cache[victim].used)
                        victim = j;
                memcpy(s->cache[victim].key, key, sizeof key);
                s->cache[victim].used = ++s->clock;
            }
            pthread_mutex_unlock(&s->mu);
        }
    } else if (colon) {
        /* an unknown user: the same work as a wrong password, so the answer's timing
         * does not tell which it was (a missing or malformed header fails at once: the
         * sender knows it sent none) */
        bcrypt_verify(&s->dummy, pw, pl);
        pthread_mutex_lock(&s->mu);
        s->bcrypts++;
        pthread_mutex_unlock(&s->mu);
    }
    bytes_wipe(cred, sizeof cred);
    bytes_wipe(key, sizeof key);
    return ok;
}

void websec_cache_stats(struct websec *s, unsigned long *hits, unsigned long *bcrypts)
{
    pthread_mutex_lock(&s->mu);
    *hits = s->hits;
    *bcrypts = s->bcrypts;
    pthread_mutex_unlock(&s->mu);
}
