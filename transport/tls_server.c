/*
 * tls_server.c -- server credentials and engine set-up (contract in tls_server.h).
 *
 * The certificate chain is kept as DER in one heap block; the private key stays in
 * BearSSL's key decoder context, which holds the key bytes itself (the RSA/EC key
 * structs point into it), so the context lives as long as the credentials.
 */
#include "transport/tls_server.h"

#include "core/bytes.h"
#include "transport/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct ts_stamp {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    int present;
};

struct tls_creds {
    atomic_int refs;
    br_x509_certificate chain[TLS_SERVER_CHAIN_MAX];
    size_t nchain;
    unsigned char *der; /* every certificate of the chain, back to back */
    br_skey_decoder_context key;
    int key_type; /* BR_KEYTYPE_RSA or BR_KEYTYPE_EC */
    uint16_t suites[WEBCFG_SUITE__COUNT];
    size_t nsuites;
    int prefer_server;
    tls_anchors *clients; /* NULL: no client certificates */
    /* what the files looked like when loaded: certificate, key, client CA */
    char paths[3][WEBCFG_PATH_BYTES];
    struct ts_stamp stamps[3];
};

static pthread_mutex_t ts_load_lock = PTHREAD_MUTEX_INITIALIZER;

static const uint16_t ts_suite_ids[WEBCFG_SUITE__COUNT] = {
    [WEBCFG_ECDHE_ECDSA_AES128_GCM] = BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    [WEBCFG_ECDHE_RSA_AES128_GCM] = BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    [WEBCFG_ECDHE_ECDSA_AES256_GCM] = BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    [WEBCFG_ECDHE_RSA_AES256_GCM] = BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    [WEBCFG_ECDHE_ECDSA_CHACHA20] = BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    [WEBCFG_ECDHE_RSA_CHACHA20] = BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
};

static int ts_suite_is_ecdsa(unsigned s)
{
    return s == WEBCFG_ECDHE_ECDSA_AES128_GCM || s == WEBCFG_ECDHE_ECDSA_AES256_GCM ||
           s == WEBCFG_ECDHE_ECDSA_CHACHA20;
}

/* --- PEM -------------------------------------------------------------------------------- */

/* Each object of a PEM text: its name and DER, appended to out (cap bytes). */
struct ts_pem {
    unsigned char *out;
    size_t cap, len;
    int overflow;
    char name[128]; /* BearSSL's decoder keeps at most 127 bytes of a name */
};

static void ts_pem_sink(void *ctx, const void *buf, size_t len)
{
    struct ts_pem *p = ctx;
    if (len > p->cap - p->len) {
        p->overflow = 1;
        return;
    }
    memcpy(p->out + p->len, buf, len);
    p->len += len;
}

/* Calls each(user, name, der, len) per object. 0, or -1 (not PEM, too big, or each
 * failed: each fills err itself and returns -1). */
static int ts_pem_each(const char *text, size_t n, unsigned char *scratch, size_t cap,
                       int (*each)(void *user, const char *name, const unsigned char *der,
                                   size_t len),
                       void *user, int *objects)
{
    br_pem_decoder_context pc;
    struct ts_pem p = { .out = scratch, .cap = cap };
    int in_obj = 0;
    br_pem_decoder_init(&pc);
    *objects = 0;
    for (int pass = 0; pass < 2; pass++) {
        /* a final newline ends an object in a file without one */
        const char *s = pass ? "\n" : text;
        size_t left = pass ? 1 : n;
        while (left) {
            size_t k = br_pem_decoder_push(&pc, s, left);
            s += k;
            left -= k;
            switch (br_pem_decoder_event(&pc)) {
            case BR_PEM_BEGIN_OBJ:
                snprintf(p.name, sizeof p.name, "%s", br_pem_decoder_name(&pc));
                p.len = 0;
                p.overflow = 0;
                br_pem_decoder_setdest(&pc, ts_pem_sink, &p);
                in_obj = 1;
                break;
            case BR_PEM_END_OBJ:
                in_obj = 0;
                ++*objects;
                if (p.overflow || each(user, p.name, p.out, p.len))
                    return -1;
                break;
            case BR_PEM_ERROR: return -1;
            default: break;
            }
        }
    }
    return in_obj ? -1 : 0;
}

/* Reads a whole file of at most TLS_SERVER_PEM_MAX bytes into a new buffer. */
static char *ts_read(const char *what, const char *path, size_t *n, struct ts_stamp *st, char *err,
                     size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0) {
        snprintf(err, cap, "%s %s: %s", what, path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > (off_t)TLS_SERVER_PEM_MAX) {
        snprintf(err, cap, "%s %s: not a regular file of at most %u bytes", what, path,
                 TLS_SERVER_PEM_MAX);
        close(fd);
        return NULL;
    }
    char *buf = malloc((size_t)sb.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)sb.st_size) {
        ssize_t k = read(fd, buf + got, (size_t)sb.st_size - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            snprintf(err, cap, "%s %s: %s", what, path, k < 0 ? strerror(errno) : "short read");
            free(buf);
            close(fd);
            return NULL;
        }
        got += (size_t)k;
    }
    close(fd);
    if (!buf) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    if (st) {
        st->dev = sb.st_dev;
        st->ino = sb.st_ino;
        st->size = sb.st_size;
        st->mtime = sb.st_mtim;
        st->present = 1;
    }
    *n = got;
    return buf;
}

/* --- loading -------------------------------------------------------------------------- */

struct ts_load {
    tls_creds *c;
    const char *what;
    char *err;
    size_t errcap;
    size_t der_len;
    int keys;
};

static int ts_add_cert(void *user, const char *name, const unsigned char *der, size_t len)
{
    struct ts_load *l = user;
    tls_creds *c = l->c;
    if (strcmp(name, "CERTIFICATE") && strcmp(name, "X509 CERTIFICATE") &&
        strcmp(name, "TRUSTED CERTIFICATE"))
        return 0; /* other objects (a key in the same file) are not the chain */
    if (c->nchain >= TLS_SERVER_CHAIN_MAX) {
        snprintf(l->err, l->errcap, "%s: more than %u certificates", l->what, TLS_SERVER_CHAIN_MAX);
        return -1;
    }
    unsigned char *grown = realloc(c->der, l->der_len + len);
    if (!grown) {
        snprintf(l->err, l->errcap, "out of memory");
        return -1;
    }
    c->der = grown;
    memcpy(c->der + l->der_len, der, len);
    c->chain[c->nchain].data_len = len;
    c->chain[c->nchain++].data = (unsigned char *)(uintptr_t)l->der_len; /* offset; fixed below */
    l->der_len += len;
    return 0;
}

static int ts_add_key(void *user, const char *name, const unsigned char *der, size_t len)
{
    struct ts_load *l = user;
    if (!strcmp(name, "ENCRYPTED PRIVATE KEY")) {
        snprintf(l->err, l->errcap, "%s: encrypted private keys are not supported", l->what);
        return -1;
    }
    if (strcmp(name, "PRIVATE KEY") && strcmp(name, "RSA PRIVATE KEY") &&
        strcmp(name, "EC PRIVATE KEY"))
        return 0; /* e.g. "EC PARAMETERS" before the key */
    if (l->keys++) {
        snprintf(l->err, l->errcap, "%s: more than one private key", l->what);
        return -1;
    }
    br_skey_decoder_init(&l->c->key);
    br_skey_decoder_push(&l->c->key, der, len);
    int e = br_skey_decoder_last_error(&l->c->key);
    if (e) {
        snprintf(l->err, l->errcap, "%s: not a usable RSA or EC private key (BearSSL error %d)",
                 l->what, e);
        return -1;
    }
    l->c->key_type = br_skey_decoder_key_type(&l->c->key);
    return 0;
}

/* The leaf certificate's public key must be the private key's. */
static int ts_key_matches(const tls_creds *c, char *err, size_t cap)
{
    br_x509_decoder_context dc;
    br_x509_decoder_init(&dc, NULL, NULL);
    br_x509_decoder_push(&dc, c->chain[0].data, c->chain[0].data_len);
    const br_x509_pkey *pk = br_x509_decoder_get_pkey(&dc);
    if (!pk) {
        snprintf(err, cap, "cannot decode the first certificate (BearSSL error %d)",
                 br_x509_decoder_last_error(&dc));
        return -1;
    }
    if (pk->key_type != c->key_type) {
        /* an EC certificate with an RSA key or the reverse */
    } else if (c->key_type == BR_KEYTYPE_RSA) {
        const br_rsa_private_key *sk = br_skey_decoder_get_rsa(&c->key);
        unsigned char n[1024];
        size_t nl = br_rsa_compute_modulus_get_default()(NULL, sk);
        const unsigned char *cn = pk->key.rsa.n;
        size_t cl = pk->key.rsa.nlen;
        while (cl && !*cn) {
            cn++;
            cl--;
        }
        if (nl && nl <= sizeof n && br_rsa_compute_modulus_get_default()(n, sk) == nl && nl == cl &&
            !memcmp(n, cn, nl))
            return 0;
    } else {
        const br_ec_private_key *sk = br_skey_decoder_get_ec(&c->key);
        unsigned char q[BR_EC_KBUF_PUB_MAX_SIZE];
        br_ec_public_key pub;
        size_t ql = br_ec_compute_pub(br_ec_get_default(), &pub, q, sk);
        if (ql && pk->key.ec.curve == sk->curve && pk->key.ec.qlen == ql &&
            !memcmp(pk->key.ec.q, q, ql))
            return 0;
    }
    snprintf(err, cap, "the private key does not match the certificate");
    return -1;
}

static tls_creds *ts_build(const char *cert, size_t cert_len, const char *cwhat, const char *key,
                           size_t key_len, const char *kwhat, const struct webcfg *wc, char *err,
                           size_t errcap)
{
    tls_creds *c = calloc(1, sizeof *c);
    unsigned char *scratch = malloc(TLS_SERVER_PEM_MAX);
    struct ts_load l = { .c = c, .err = err, .errcap = errcap };
    int objects;
    char why[256];
    if (!c || !scratch) {
        snprintf(err, errcap, "out of memory");
        goto fail;
    }
    atomic_init(&c->refs, 1);
    err[0] = 0;
    l.what = cwhat;
    if (ts_pem_each(cert, cert_len, scratch, TLS_SERVER_PEM_MAX, ts_add_cert, &l, &objects)) {
        if (!err[0])
            snprintf(err, errcap, "%s: not a valid PEM file", cwhat);
        goto fail;
    }
    if (c->nchain == 0) {
        snprintf(err, errcap, "%s: no CERTIFICATE in it", cwhat);
        goto fail;
    }
    for (size_t i = 0; i < c->nchain; i++)
        c->chain[i].data = c->der + (uintptr_t)c->chain[i].data;
    l.what = kwhat;
    if (ts_pem_each(key, key_len, scratch, TLS_SERVER_PEM_MAX, ts_add_key, &l, &objects)) {
        if (!err[0])
            snprintf(err, errcap, "%s: not a valid PEM file", kwhat);
        goto fail;
    }
    if (!l.keys) {
        snprintf(err, errcap, "%s: no PRIVATE KEY in it", kwhat);
        goto fail;
    }
    if (ts_key_matches(c, why, sizeof why)) {
        snprintf(err, errcap, "%s and %s: %s", cwhat, kwhat, why);
        goto fail;
    }
    for (unsigned i = 0; i < wc->nsuites; i++)
        if (ts_suite_is_ecdsa(wc->suites[i]) == (c->key_type == BR_KEYTYPE_EC))
            c->suites[c->nsuites++] = ts_suite_ids[wc->suites[i]];
    if (!c->nsuites) {
        snprintf(err, errcap, "cipher_suites: none of them works with the %s key in %s",
                 c->key_type == BR_KEYTYPE_EC ? "EC" : "RSA", kwhat);
        goto fail;
    }
    c->prefer_server = wc->prefer_server_suites;
    free(scratch);
    return c;
fail:
    free(scratch);
    if (c) {
        bytes_wipe(&c->key, sizeof c->key);
        free(c->der);
    }
    free(c);
    return NULL;
}

tls_creds *tls_creds_from_pem(const void *cert, size_t cert_len, const void *key, size_t key_len,
                              const struct webcfg *wc, char *err, size_t errcap)
{
    return ts_build(cert, cert_len, "certificate", key, key_len, "key", wc, err, errcap);
}

tls_creds *tls_creds_load(const struct webcfg *wc, char *err, size_t errcap)
{
    struct ts_stamp st[3] = { { 0 } };
    char cwhat[WEBCFG_PATH_BYTES + 32], kwhat[WEBCFG_PATH_BYTES + 32];
    size_t cn = 0, kn = 0;
    tls_creds *c = NULL;
    char *cert = NULL, *key = NULL;
    pthread_mutex_lock(&ts_load_lock);
    snprintf(cwhat, sizeof cwhat, "cert_file %s", wc->cert_file);
    snprintf(kwhat, sizeof kwhat, "key_file %s", wc->key_file);
    cert = ts_read("cert_file", wc->cert_file, &cn, &st[0], err, errcap);
    key = cert ? ts_read("key_file", wc->key_file, &kn, &st[1], err, errcap) : NULL;
    if (key)
        c = ts_build(cert, cn, cwhat, key, kn, kwhat, wc, err, errcap);
    if (c && wc->client_auth == WEBCFG_REQUIRE_AND_VERIFY) {
        char why[400];
        c->clients = malloc(sizeof *c->clients);
        struct stat sb;
        if (!c->clients) {
            snprintf(err, errcap, "out of memory");
        } else if (tls_anchors_load_file(c->clients, wc->client_ca_file, why, sizeof why) <= 0) {
            snprintf(err, errcap, "client_ca_file: %s", why);
        } else if (stat(wc->client_ca_file, &sb) == 0) {
            st[2] = (struct ts_stamp){ sb.st_dev, sb.st_ino, sb.st_size, sb.st_mtim, 1 };
        }
        if (!st[2].present) {
            if (!err[0])
                snprintf(err, errcap, "client_ca_file %s: %s", wc->client_ca_file, strerror(errno));
            tls_creds_unref(c);
            c = NULL;
        }
    }
    if (c) {
        snprintf(c->paths[0], sizeof c->paths[0], "%s", wc->cert_file);
        snprintf(c->paths[1], sizeof c->paths[1], "%s", wc->key_file);
        snprintf(c->paths[2], sizeof c->paths[2], "%s", wc->client_ca_file);
        memcpy(c->stamps, st, sizeof st);
    }
    if (key)
        bytes_wipe(key, kn);
    free(key);
    free(cert);
    pthread_mutex_unlock(&ts_load_lock);
    return c;
}

void tls_creds_ref(tls_creds *c)
{
    atomic_fetch_add(&c->refs, 1);
}

void tls_creds_unref(tls_creds *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    bytes_wipe(&c->key, sizeof c->key);
    free(c->der);
    free(c->clients);
    free(c);
}

int tls_creds_stale(const tls_creds *c)
{
    for (int i = 0; i < 3; i++) {
        struct stat sb;
        const struct ts_stamp *s = &c->stamps[i];
        if (!s->present)
            continue;
        if (stat(c->paths[i], &sb) != 0)
            continue; /* gone for a moment (being replaced): keep what we have */
        if (sb.st_dev != s->dev || sb.st_ino != s->ino || sb.st_size != s->size ||
            sb.st_mtim.tv_sec != s->mtime.tv_sec || sb.st_mtim.tv_nsec != s->mtime.tv_nsec)
            return 1;
    }
    return 0;
}

/* --- engine ----------------------------------------------------------------------------- */

int tls_server_start(tls_server_conn *t, const tls_creds *c)
{
    if (c->key_type == BR_KEYTYPE_EC)
        br_ssl_server_init_full_ec(&t->sc, c->chain, c->nchain, BR_KEYTYPE_EC,
                                   br_skey_decoder_get_ec(&c->key));
    else
        br_ssl_server_init_full_rsa(&t->sc, c->chain, c->nchain, br_skey_decoder_get_rsa(&c->key));
    br_ssl_engine_set_versions(&t->sc.eng, BR_TLS12, BR_TLS12);
    br_ssl_engine_set_suites(&t->sc.eng, c->suites, c->nsuites);
    br_ssl_engine_add_flags(&t->sc.eng,
                            BR_OPT_NO_RENEGOTIATION |
                                (c->prefer_server ? BR_OPT_ENFORCE_SERVER_PREFERENCES : 0));
    if (c->clients) {
        br_x509_minimal_init_full(&t->xc, c->clients->ta, c->clients->n);
        br_ssl_engine_set_x509(&t->sc.eng, &t->xc.vtable);
        br_ssl_engine_set_default_rsavrfy(&t->sc.eng);
        br_ssl_engine_set_default_ecdsa(&t->sc.eng);
        br_ssl_server_set_trust_anchor_names_alt(&t->sc, c->clients->ta, c->clients->n);
    }
    br_ssl_engine_set_buffer(&t->sc.eng, t->iobuf, sizeof t->iobuf, 1);
    if (!br_ssl_server_reset(&t->sc))
        return br_ssl_engine_last_error(&t->sc.eng);
    return 0;
}
