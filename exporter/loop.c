/*
 * loop.c -- the daemon's event loop (see loop.h): the only place where core/session's
 * decisions meet sockets. One thread; nothing here blocks except poll() (and a
 * bounded wait for renders to release the spare asset table before it is refilled).
 */
#include "exporter/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/jwt.h"
#include "core/session.h"
#include "core/tb.h"
#include "core/tb_feed.h"
#include "core/ws.h"
#include "exporter/log.h"
#include "transport/httpc.h"

#define REST_TIMEOUT_MS   15000
#define REST_BODY_CAP     (32u * 1024u * 1024u)
#define REST_TOKENS       (1u << 20)       /* a 1000-asset page needs ~30 000 */
#define WS_TOKENS         (1u << 20)
#define ASSETS_PER_CMD    400u             /* ~40 B per id: one command stays < 20 KiB */
#define EXPIRE_EVERY_MS   10000

enum { WSP_NONE = 0, WSP_CONNECTING, WSP_HANDSHAKE, WSP_OPEN };

struct loop {
    const struct cfg *cfg;
    const tls_anchors *anchors;
    struct health *h;
    struct loop_shared *sh;
    loop_reload_fn reload;
    void *reload_arg;
    int pipe_rd, pipe_wr;
    int exit_code;
    int stop_sent;
    int done;                /* the session said STOPPED */
    int rest_active;         /* a request was started and its result not yet reported */
    session_ctx sess;
    /* random bits for the session, refilled from the OS in blocks */
    uint32_t rnd[64];
    unsigned rnd_left;
    /* tokens: SECRETS, never logged (registered with the log guard) */
    char token[LIM_JWT_BYTES + 1], refresh[LIM_JWT_BYTES + 1];
    size_t token_len, refresh_len;
    jwt_claims claims;
    /* REST */
    httpc http;
    session_req rest_req;
    uint8_t *rest_body;
    jsmntok_t *rest_tok;
    char req_body[2 * LIM_PASSWORD_BYTES + 2 * LIM_NAME_BYTES];
    char path[1024];
    char auth[LIM_JWT_BYTES + 16];
    int building;            /* index of the table being filled, -1 when none */
    uint32_t listed;         /* assets listed so far in this listing */
    uint32_t details_idx;    /* asset whose details are being fetched */
    /* WebSocket */
    int wsp;
    conn wc;
    ws_ctx ws;
    uint8_t *ws_msg;
    uint8_t ws_out[LIM_WS_OUT_DEFAULT];
    char out_msg[LIM_TB_OUT_MESSAGE];
    int out_len;             /* built, not yet accepted by ws_send (0 = none) */
    tb_build_cursor cur;
    int sending;             /* cmds still to build */
    int with_auth;
    tb_feed feed;
    jsmntok_t *ws_tok;
    tb_pending *pend;
    /* subscriptions */
    tb_cmd *cmds;
    size_t ncmds, cmds_cap;
    uint8_t (*ids)[16];
    const char **keyptrs;
    int32_t next_cmd_id;
    int32_t live_first, live_n; /* live subscription ids: [first, first + n) */
    int64_t next_expire;
    session_state last_state;
};

/* ------------------------------------------------------------- shared data ------ */

/* see loop.h */
int loop_shared_init(struct loop_shared *sh, const struct cfg *cfg)
{
    store_config sc = {0};
    size_t tn = assets_mem_needed(LOOP_MAX_ASSETS, LOOP_ASSET_ARENA), sn;
    memset(sh, 0, sizeof *sh);
    pthread_mutex_init(&sh->mu, NULL);
    pthread_cond_init(&sh->cv, NULL);
    sc.max_series = cfg->store_max_series ? (uint32_t)cfg->store_max_series : LIM_SERIES_DEFAULT;
    sc.max_entities = LOOP_MAX_ASSETS;
    sc.max_strings = LOOP_MAX_STRINGS;
    sn = store_mem_needed(&sc);
    sh->store_mem = calloc(1, sn);
    sh->tab_mem[0] = calloc(1, tn);
    sh->tab_mem[1] = calloc(1, tn);
    if (!sh->store_mem || !sh->tab_mem[0] || !sh->tab_mem[1] ||
        store_init(&sh->st, sh->store_mem, sn, &sc) != 0 ||
        assets_init(&sh->tab[0], sh->tab_mem[0], tn, LOOP_MAX_ASSETS, LOOP_ASSET_ARENA) != 0 ||
        assets_init(&sh->tab[1], sh->tab_mem[1], tn, LOOP_MAX_ASSETS, LOOP_ASSET_ARENA) != 0) {
        log_error("cannot allocate the store and asset tables", LOG_U("store_bytes", sn),
                  LOG_U("table_bytes", tn));
        loop_shared_free(sh);
        return -1;
    }
    store_bind_assets(&sh->st, &sh->tab[0]);
    return 0;
}

/* see loop.h */
void loop_shared_free(struct loop_shared *sh)
{
    free(sh->store_mem);
    free(sh->tab_mem[0]);
    free(sh->tab_mem[1]);
    sh->store_mem = sh->tab_mem[0] = sh->tab_mem[1] = NULL;
}

/* see loop.h */
const assets_table *loop_shared_acquire(struct loop_shared *sh)
{
    const assets_table *t;
    pthread_mutex_lock(&sh->mu);
    sh->readers[sh->cur]++;
    t = &sh->tab[sh->cur];
    pthread_mutex_unlock(&sh->mu);
    return t;
}

/* see loop.h */
void loop_shared_release(struct loop_shared *sh, const assets_table *t)
{
    int i = t == &sh->tab[1];
    pthread_mutex_lock(&sh->mu);
    if (sh->readers[i] > 0)
        sh->readers[i]--;
    pthread_cond_broadcast(&sh->cv);
    pthread_mutex_unlock(&sh->mu);
}

/* Waits (bounded) until no render pins the spare table. 0 when it may be refilled. */
static int spare_free(struct loop_shared *sh, int spare)
{
    struct timespec until;
    int rc = 0;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2;
    pthread_mutex_lock(&sh->mu);
    while (sh->readers[spare] > 0 && rc == 0)
        rc = pthread_cond_timedwait(&sh->cv, &sh->mu, &until);
    rc = sh->readers[spare] > 0 ? -1 : 0;
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

/* ------------------------------------------------------------------ helpers ------ */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t next_rnd(struct loop *l)
{
    if (l->rnd_left == 0) {
        if (net_random(l->rnd, sizeof l->rnd) != 0)
            memset(l->rnd, 0x5a, sizeof l->rnd); /* jitter only: no security role */
        l->rnd_left = sizeof l->rnd / sizeof l->rnd[0];
    }
    return l->rnd[--l->rnd_left];
}

static void ws_rng(void *arg, uint8_t *dst, size_t n)
{
    (void)arg;
    if (net_random(dst, n) != 0)
        abort(); /* a WebSocket mask without entropy is not an option */
}

static void sess_event(struct loop *l, session_event *ev)
{
    session_handle(&l->sess, ev, (uint64_t)net_now_ms(), next_rnd(l));
}

static enum health_disc disc_of(session_reason r)
{
    switch (r) {
    case SESSION_REASON_1000: return HEALTH_DISC_CLOSE_1000;
    case SESSION_REASON_1001: return HEALTH_DISC_CLOSE_1001;
    case SESSION_REASON_1006: return HEALTH_DISC_ABNORMAL_1006;
    case SESSION_REASON_1007_AUTH:
    case SESSION_REASON_1007: return HEALTH_DISC_AUTH_1007;
    case SESSION_REASON_1008_LIMIT: return HEALTH_DISC_LIMIT_1008;
    case SESSION_REASON_1008: return HEALTH_DISC_POLICY_1008;
    case SESSION_REASON_1009: return HEALTH_DISC_TOO_BIG_1009;
    case SESSION_REASON_1011: return HEALTH_DISC_SERVER_1011;
    case SESSION_REASON_1012: return HEALTH_DISC_RESTART_1012;
    case SESSION_REASON_4500: return HEALTH_DISC_SERVER_4500;
    case SESSION_REASON_PING_TIMEOUT: return HEALTH_DISC_IDLE_TIMEOUT;
    case SESSION_REASON_PROTOCOL_ERROR: return HEALTH_DISC_PROTOCOL_ERROR;
    case SESSION_REASON_TLS: return HEALTH_DISC_TLS_ERROR;
    case SESSION_REASON_LOCAL_SHUTDOWN: return HEALTH_DISC_LOCAL_SHUTDOWN;
    case SESSION_REASON_DNS:
    case SESSION_REASON_TCP:
    case SESSION_REASON_UPGRADE: return HEALTH_DISC_IO_ERROR;
    default: return HEALTH_DISC_CLOSE_OTHER;
    }
}

/* Publishes what changed in the session (after every batch of events). */
static void publish(struct loop *l)
{
    const session_stats *st = session_get_stats(&l->sess);
    session_state s = session_get_state(&l->sess);
    health_set(l->h, HEALTH_G_UP, session_is_streaming(&l->sess));
    health_set(l->h, HEALTH_G_WS_CONNECTED, l->wsp == WSP_OPEN);
    health_set(l->h, HEALTH_G_RECONNECT_BACKOFF_MS,
               s == SESSION_ST_BACKOFF ? (int64_t)st->backoff_ms : 0);
    if (s != l->last_state) {
        log_info("session state", LOG_S("from", session_state_name(l->last_state)),
                 LOG_S("to", session_state_name(s)));
        l->last_state = s;
    }
}

/* --------------------------------------------------------------------- REST ------ */

static void set_token(struct loop *l, const tb_token_pair *p, int64_t now)
{
    if (l->token_len)
        log_secret_forget(l->token);
    if (l->refresh_len)
        log_secret_forget(l->refresh);
    memcpy(l->token, p->token, p->token_len);
    l->token[p->token_len] = 0;
    l->token_len = p->token_len;
    memcpy(l->refresh, p->refresh, p->refresh_len);
    l->refresh[p->refresh_len] = 0;
    l->refresh_len = p->refresh_len;
    log_secret_add(l->token);
    log_secret_add(l->refresh);
    memset(&l->claims, 0, sizeof l->claims);
    if (jwt_decode(l->token, l->token_len, &l->claims) == JWT_OK)
        health_set(l->h, HEALTH_G_TOKEN_EXPIRY_MS,
                   wall_ms() + (l->claims.exp - l->claims.iat) * 1000);
    (void)now;
    snprintf(l->auth, sizeof l->auth, "Bearer %s", l->token);
}

static void rest_start(struct loop *l, const char *method, const char *body, size_t body_len,
                       int authed)
{
    http1_header hd[3];
    size_t n = 0;
    int64_t now = net_now_ms();
    hd[n++] = (http1_header){"Accept", "application/json"};
    if (body)
        hd[n++] = (http1_header){"Content-Type", "application/json"};
    if (authed)
        hd[n++] = (http1_header){"X-Authorization", l->auth};
    l->rest_active = 1;
    if (httpc_request(&l->http, method, l->path, hd, n, body, body_len, l->rest_body,
                      REST_BODY_CAP, now, now + REST_TIMEOUT_MS) != 0)
        log_error("cannot write the REST request", LOG_S("path", l->path));
    /* a failed start is reported by httpc_state_of() == HTTPC_FAILED on the next turn */
}

static void do_login(struct loop *l)
{
    const struct cfg *c = l->cfg;
    int n = tb_build_login(l->req_body, sizeof l->req_body, c->username, strlen(c->username),
                           c->password, strlen(c->password));
    l->rest_req = SESSION_REQ_LOGIN;
    snprintf(l->path, sizeof l->path, "%s/api/auth/login", c->base_path);
    log_info("logging in", LOG_S("user", c->username));
    rest_start(l, "POST", l->req_body, n > 0 ? (size_t)n : 0, 0);
}

static void do_refresh(struct loop *l)
{
    int n = tb_build_refresh(l->req_body, sizeof l->req_body, l->refresh, l->refresh_len);
    l->rest_req = SESSION_REQ_REFRESH;
    snprintf(l->path, sizeof l->path, "%s/api/auth/token", l->cfg->base_path);
    rest_start(l, "POST", l->req_body, n > 0 ? (size_t)n : 0, 0);
}

static void do_list(struct loop *l, const session_action *a)
{
    const char *base = l->cfg->base_path;
    char q[128];
    l->rest_req = SESSION_REQ_ASSETS;
    if (a->page == 0) {
        int spare = 1 - l->sh->cur;
        l->building = -1;
        l->listed = 0;
        if (spare_free(l->sh, spare) == 0) {
            assets_reset(&l->sh->tab[spare]);
            l->building = spare;
        }
    }
    snprintf(q, sizeof q, "pageSize=%u&page=%u&sortProperty=createdTime&sortOrder=ASC",
             l->cfg->page_size, a->page);
    if (a->endpoint == SESSION_EP_TENANT)
        snprintf(l->path, sizeof l->path, "%s/api/tenant/assets?%s", base, q);
    else if (a->endpoint == SESSION_EP_CUSTOMER)
        snprintf(l->path, sizeof l->path, "%s/api/customer/%s/assets?%s", base,
                 l->claims.customer_id, q);
    else
        snprintf(l->path, sizeof l->path, "%s/api/user/assets?%s", base, q);
    rest_start(l, "GET", NULL, 0, 1);
}

static void do_details(struct loop *l, const session_action *a)
{
    const assets_table *t = &l->sh->tab[l->sh->cur];
    char id[37];
    l->rest_req = SESSION_REQ_DETAILS;
    l->details_idx = a->page;
    if (a->page >= t->count) { /* the table shrank meanwhile: nothing to fetch */
        l->path[0] = 0;
        snprintf(l->path, sizeof l->path, "%s/api/auth/user", l->cfg->base_path);
    } else {
        tb_uuid_format(assets_get(t, (int32_t)a->page)->id, id);
        snprintf(l->path, sizeof l->path,
                 "%s/api/plugins/telemetry/ASSET/%s/values/attributes/SERVER_SCOPE"
                 "?keys=assetDetails", l->cfg->base_path, id);
    }
    rest_start(l, "GET", NULL, 0, 1);
}

struct details_ctx {
    struct loop *l;
    int32_t idx;
};

static int details_attr(void *ctx, const tb_attr *a)
{
    struct details_ctx *d = ctx;
    tb_detail det[LIM_DETAIL_LABELS];
    char scratch[8192];
    int n;
    if (a->key_len != 12 || memcmp(a->key, "assetDetails", 12) != 0)
        return 0;
    if (a->value->type == JSMN_STRING)
        n = tb_parse_details(a->json + a->value->start, (size_t)(a->value->end - a->value->start),
                             1, scratch, sizeof scratch, det, LIM_DETAIL_LABELS);
    else
        n = tb_parse_details(a->json + a->value->start, (size_t)(a->value->end - a->value->start),
                             0, scratch, sizeof scratch, det, LIM_DETAIL_LABELS);
    if (n >= 0) {
        struct loop_shared *sh = d->l->sh;
        pthread_mutex_lock(&sh->mu); /* renders read details with the mutex held */
        if (assets_set_details(&sh->tab[sh->cur], d->idx, det, (size_t)n) < 0)
            health_limit_hit(d->l->h, HEALTH_LIMIT_DETAIL_LABELS);
        pthread_mutex_unlock(&sh->mu);
    }
    return 0;
}

/* REST details of asset number details_idx (SERVER_SCOPE attributes). */
static void apply_details(struct loop *l, const char *body, size_t len)
{
    struct details_ctx d = {l, (int32_t)l->details_idx};
    if (l->details_idx >= l->sh->tab[l->sh->cur].count)
        return;
    if (tb_parse_attributes(body, len, l->rest_tok, REST_TOKENS, details_attr, &d) < 0)
        health_add(l->h, HEALTH_C_PARSE_ERRORS, 1);
}

static int add_asset(void *ctx, const tb_asset *a)
{
    struct loop *l = ctx;
    if (l->building >= 0 && assets_add_tb(&l->sh->tab[l->building], a) < 0)
        health_limit_hit(l->h, HEALTH_LIMIT_ASSETS);
    l->listed++;
    return 0;
}

/* Did the listing change names, profiles or the set of assets? */
static int tables_differ(const assets_table *a, const assets_table *b)
{
    if (a->count != b->count)
        return 1;
    for (uint32_t i = 0; i < a->count; i++) {
        const assets_entry *x = assets_get(a, (int32_t)i), *y;
        int32_t j = assets_find(b, x->id);
        if (j < 0)
            return 1;
        y = assets_get(b, j);
        if (x->name_len != y->name_len || x->type_len != y->type_len ||
            memcmp(assets_text(a, x->name_off), assets_text(b, y->name_off), x->name_len) ||
            memcmp(assets_text(a, x->type_off), assets_text(b, y->type_off), x->type_len))
            return 1;
    }
    return 0;
}

static void build_cmds(struct loop *l);

/* Swaps in the freshly listed table. Returns whether the set changed. */
static int finish_listing(struct loop *l)
{
    struct loop_shared *sh = l->sh;
    int changed;
    if (l->building < 0)
        return 0;
    changed = tables_differ(&sh->tab[l->building], &sh->tab[sh->cur]) ||
              sh->tab[sh->cur].count == 0;
    if (changed) {
        pthread_mutex_lock(&sh->mu);
        sh->cur = l->building;
        store_bind_assets(&sh->st, &sh->tab[sh->cur]);
        pthread_mutex_unlock(&sh->mu);
        build_cmds(l);
    }
    health_set(l->h, HEALTH_G_ASSETS, sh->tab[sh->cur].count);
    health_add(l->h, HEALTH_C_REDISCOVERIES, 1);
    log_info("assets listed", LOG_U("count", sh->tab[sh->cur].count), LOG_B("changed", changed));
    l->building = -1;
    return changed;
}

static void on_rest_done(struct loop *l)
{
    session_event ev = {0};
    const http1_resp *r = httpc_response(&l->http);
    const char *body = (const char *)l->rest_body;
    size_t len = r ? http1_resp_body_len(r) : 0;
    int status = r ? http1_resp_status(r) : 0;
    int64_t now = net_now_ms();
    ev.kind = SESSION_EV_HTTP_RESULT;
    ev.u.http.req = l->rest_req;
    ev.u.http.status = status;
    ev.u.http.tb_error_code = -1;
    if (httpc_state_of(&l->http) != HTTPC_DONE) {
        const conn_err *e = httpc_error(&l->http);
        ev.u.http.cls = SESSION_HTTP_TRANSPORT;
        log_warn("REST request failed", LOG_S("path_kind", l->rest_req == SESSION_REQ_LOGIN ? "login"
                 : l->rest_req == SESSION_REQ_REFRESH ? "refresh" : l->rest_req == SESSION_REQ_ASSETS
                 ? "assets" : "details"), LOG_S("error", e ? e->text : ""));
    } else if (status >= 200 && status < 300) {
        ev.u.http.cls = SESSION_HTTP_OK;
        if (l->rest_req == SESSION_REQ_LOGIN || l->rest_req == SESSION_REQ_REFRESH) {
            tb_token_pair p;
            int rc = tb_parse_login(body, len, l->rest_tok, REST_TOKENS, &p);
            if (rc == TB_ERR_TWO_FACTOR) {
                ev.u.http.cls = SESSION_HTTP_TWO_FACTOR;
            } else if (rc != TB_OK || p.token_len > LIM_JWT_BYTES ||
                       p.refresh_len > LIM_JWT_BYTES) {
                ev.u.http.cls = SESSION_HTTP_BAD_BODY;
            } else {
                set_token(l, &p, now);
                ev.u.http.refresh_at_ms = (uint64_t)jwt_refresh_at(now, l->claims.exp, l->claims.iat);
                ev.u.http.expires_at_ms = (uint64_t)jwt_expires_at(now, l->claims.exp, l->claims.iat);
                ev.u.http.role = !strcmp(l->claims.scope, "CUSTOMER_USER") ? SESSION_ROLE_CUSTOMER_USER
                                 : !strcmp(l->claims.scope, "TENANT_ADMIN") ? SESSION_ROLE_TENANT_ADMIN
                                 : SESSION_ROLE_UNKNOWN;
                if (l->claims.exp <= l->claims.iat) /* undecodable: refresh on demand only */
                    ev.u.http.refresh_at_ms = ev.u.http.expires_at_ms = 0;
            }
        } else if (l->rest_req == SESSION_REQ_ASSETS) {
            tb_page_info info = {0};
            if (tb_parse_asset_page(body, len, l->rest_tok, REST_TOKENS, add_asset, l, &info) < 0) {
                ev.u.http.cls = SESSION_HTTP_BAD_BODY;
                health_add(l->h, HEALTH_C_PARSE_ERRORS, 1);
            } else {
                ev.u.http.has_next = info.has_next != 0;
                if (info.has_next)
                    log_info("asset page listed", LOG_U("assets_so_far", l->listed));
                else
                    ev.u.http.assets_changed = finish_listing(l) != 0;
            }
        } else {
            /* details: best effort; the WebSocket path is the default (see issue 7) */
            ev.u.http.has_next = l->details_idx + 1 < l->sh->tab[l->sh->cur].count;
            apply_details(l, body, len);
        }
    } else {
        tb_error e;
        tb_parse_error(status, body, len, l->rest_tok, REST_TOKENS, &e);
        ev.u.http.tb_error_code = e.error_code;
        ev.u.http.cls = e.kind == TB_EK_CE_SERVER ? SESSION_HTTP_INVALID_UUID : SESSION_HTTP_STATUS;
        if (l->rest_req == SESSION_REQ_DETAILS && status == 404) { /* gone: skip it */
            ev.u.http.cls = SESSION_HTTP_OK;
            ev.u.http.has_next = l->details_idx + 1 < l->sh->tab[l->sh->cur].count;
        }
        log_warn("REST request rejected", LOG_I("status", status),
                 LOG_I("error_code", e.error_code), LOG_S("message", e.message));
    }
    if (l->rest_req == SESSION_REQ_LOGIN)
        health_login(l->h, ev.u.http.cls == SESSION_HTTP_OK ? HEALTH_OK
                           : ev.u.http.cls == SESSION_HTTP_STATUS ? HEALTH_REJECTED : HEALTH_ERROR);
    if (l->rest_req == SESSION_REQ_REFRESH)
        health_token_refresh(l->h, ev.u.http.cls == SESSION_HTTP_OK ? HEALTH_OK
                             : ev.u.http.cls == SESSION_HTTP_STATUS ? HEALTH_REJECTED : HEALTH_ERROR);
    sess_event(l, &ev);
}

/* ---------------------------------------------------------------- WebSocket ------ */

/* One ENTITY_DATA command per (key list, up to ASSETS_PER_CMD assets): assets are
 * grouped by the key list their profile uses. */
static void build_cmds(struct loop *l)
{
    const struct cfg *c = l->cfg;
    const assets_table *t = &l->sh->tab[l->sh->cur];
    size_t nid = 0, nk = 0;
    l->ncmds = 0;
    for (size_t list = 0; list < c->nlists; list++) {
        size_t kfirst = nk, nkeys = cfg_key_count(c, list), start = nid;
        for (size_t k = 0; k < nkeys && nk < LIM_CFG_KEYS; k++)
            l->keyptrs[nk++] = cfg_key(c, list, k);
        for (uint32_t i = 0; i < t->count; i++) {
            const assets_entry *e = assets_get(t, (int32_t)i);
            if (cfg_keys_for(c, assets_text(t, e->type_off), e->type_len) != list)
                continue;
            memcpy(l->ids[nid++], e->id, 16);
        }
        for (size_t s = start; s < nid && l->ncmds < l->cmds_cap; s += ASSETS_PER_CMD) {
            tb_cmd *cmd = &l->cmds[l->ncmds++];
            memset(cmd, 0, sizeof *cmd);
            cmd->kind = TB_CMD_SUBSCRIBE;
            cmd->assets = (const uint8_t(*)[16])l->ids[s];
            cmd->n_assets = (uint32_t)(nid - s < ASSETS_PER_CMD ? nid - s : ASSETS_PER_CMD);
            cmd->keys = (const char *const *)&l->keyptrs[kfirst];
            cmd->n_keys = (uint32_t)(nk - kfirst);
            cmd->with_details = c->asset_details == CFG_DETAILS_WS;
        }
    }
}

/* Moves as many built messages into the codec's output as fit. */
static void pump_send(struct loop *l)
{
    while (l->wsp == WSP_OPEN && (l->out_len > 0 || l->sending)) {
        if (l->out_len == 0) {
            int n = tb_build_next(&l->cur, l->with_auth ? l->token : NULL,
                                  l->with_auth ? l->token_len : 0, l->cmds, l->ncmds,
                                  l->out_msg, sizeof l->out_msg);
            if (n <= 0) {
                if (n < 0)
                    log_error("cannot build subscription", LOG_S("error", tb_strerror(n)));
                else
                    log_info("subscriptions sent", LOG_U("commands", l->ncmds),
                             LOG_U("assets", l->sh->tab[l->sh->cur].count));
                l->sending = 0;
                return;
            }
            l->out_len = n;
        }
        if (ws_send(&l->ws, WS_OP_TEXT, (const uint8_t *)l->out_msg, (size_t)l->out_len) != WS_OK)
            return; /* WOULD_BLOCK: after the socket drains */
        l->out_len = 0;
    }
}

static void flush_ws(struct loop *l)
{
    const uint8_t *p;
    size_t n;
    while (l->wsp >= WSP_HANDSHAKE && (n = ws_output(&l->ws, &p)) > 0) {
        long k = conn_write(&l->wc, p, n);
        if (k <= 0)
            break;
        ws_output_ack(&l->ws, (size_t)k);
        pump_send(l);
    }
}

static void do_subscribe(struct loop *l, int resync)
{
    size_t n_unsub = 0;
    if (resync && l->live_n > 0) {
        /* Unsubscribe the old ids first, in the same stream of messages. */
        size_t need = l->ncmds + (size_t)l->live_n;
        if (need <= l->cmds_cap) {
            memmove(&l->cmds[l->live_n], l->cmds, l->ncmds * sizeof *l->cmds);
            for (int32_t i = 0; i < l->live_n; i++) {
                memset(&l->cmds[i], 0, sizeof l->cmds[i]);
                l->cmds[i].kind = TB_CMD_UNSUBSCRIBE;
                l->cmds[i].cmd_id = l->live_first + i;
                tb_feed_forget(&l->feed, l->live_first + i);
            }
            n_unsub = (size_t)l->live_n;
        }
    }
    {
        tb_cmd *subs = l->cmds + n_unsub;
        size_t nsub = l->ncmds;
        if (l->next_cmd_id + (int32_t)nsub >= (int32_t)LIM_TB_CMDS)
            l->next_cmd_id = 1;
        l->live_first = l->next_cmd_id;
        l->live_n = (int32_t)nsub;
        for (size_t i = 0; i < nsub; i++) {
            subs[i].cmd_id = l->next_cmd_id++;
            tb_feed_expect(&l->feed, subs[i].cmd_id);
        }
        l->ncmds += n_unsub;
    }
    memset(&l->cur, 0, sizeof l->cur);
    l->with_auth = !resync;
    l->sending = 1;
    l->out_len = 0;
    pump_send(l);
    flush_ws(l);
    if (n_unsub) { /* restore the plain subscribe list for the next reconnect */
        memmove(l->cmds, &l->cmds[n_unsub], (l->ncmds - n_unsub) * sizeof *l->cmds);
        l->ncmds -= n_unsub;
    }
    health_set(l->h, HEALTH_G_SUBSCRIPTIONS, l->live_n);
}

static void ws_release(struct loop *l)
{
    conn_abort(&l->wc);
    l->wsp = WSP_NONE;
    l->sending = 0;
    l->out_len = 0;
    l->live_n = 0;
    tb_feed_reset(&l->feed);
    health_set(l->h, HEALTH_G_SUBSCRIPTIONS, 0);
}

static void do_connect(struct loop *l)
{
    const struct cfg *c = l->cfg;
    int64_t now = net_now_ms();
    ws_release(l);
    health_add(l->h, HEALTH_C_WS_CONNECT_ATTEMPTS, 1);
    ws_init(&l->ws, WS_CLIENT, l->ws_msg, LIM_WS_MESSAGE_DEFAULT, l->ws_out, sizeof l->ws_out,
            ws_rng, NULL);
    l->next_cmd_id = 1;
    l->wsp = WSP_CONNECTING;
    if (conn_start(&l->wc, c->host, c->port, c->tls, l->anchors, now, now + 15000) != 0)
        l->wsp = WSP_CONNECTING; /* reported as a failure on the next turn */
}

static void attr_cb(void *ctx, int32_t cmd_id, const tb_ws_value *v)
{
    struct loop *l = ctx;
    assets_table *t = &l->sh->tab[l->sh->cur];
    tb_detail d[LIM_DETAIL_LABELS];
    char scratch[8192];
    int32_t idx;
    int n;
    (void)cmd_id;
    if (v->type != TB_KEY_SERVER_ATTRIBUTE || v->key_len != 12 ||
        memcmp(v->key, "assetDetails", 12) != 0 || !v->value)
        return;
    idx = assets_find(t, v->entity);
    if (idx < 0)
        return;
    /* Called under sh->mu (tb_feed_message runs with it held): renders read details
     * with the mutex held too. */
    n = tb_parse_details(v->value, v->value_len, 1, scratch, sizeof scratch, d, LIM_DETAIL_LABELS);
    if (n >= 0 && assets_set_details(t, idx, d, (size_t)n) < 0)
        health_limit_hit(l->h, HEALTH_LIMIT_DETAIL_LABELS);
}

static void on_ws_message(struct loop *l, const ws_event *e)
{
    session_event ev = {0};
    tb_feed_result res;
    int rc;
    health_add(l->h, HEALTH_C_WS_MESSAGES, 1);
    health_add(l->h, HEALTH_C_WS_BYTES, e->len);
    health_set(l->h, HEALTH_G_LAST_MESSAGE_MS, wall_ms());
    memset(&res, 0, sizeof res);
    pthread_mutex_lock(&l->sh->mu);
    rc = tb_feed_message(&l->feed, (const char *)e->data, e->len, (uint32_t)(net_now_ms() / 1000),
                         &res);
    pthread_mutex_unlock(&l->sh->mu);
    ev.kind = SESSION_EV_WS_MESSAGE;
    if (rc != TB_OK) {
        health_add(l->h, HEALTH_C_PARSE_ERRORS, 1);
    } else {
        health_add(l->h, HEALTH_C_TELEMETRY_UPDATES, res.set);
        if (res.rejected)
            health_limit_hit(l->h, HEALTH_LIMIT_SERIES);
        ev.u.msg.had_data = (res.kind == TB_WS_DATA || res.kind == TB_WS_UPDATE) && !res.unknown_cmd;
        ev.u.msg.tb_error_code = res.kind == TB_WS_RESYNC ? 34 : res.error_code;
        if (res.kind == TB_WS_ERROR || res.kind == TB_WS_RESYNC)
            log_warn("ThingsBoard error reply", LOG_I("cmd_id", res.cmd_id),
                     LOG_I("error_code", res.error_code),
                     LOG_SN("message", res.error_msg ? res.error_msg : "", res.error_msg_len));
    }
    sess_event(l, &ev);
}

static void ws_events(struct loop *l)
{
    ws_event e;
    session_event ev;
    while (ws_next_event(&l->ws, &e) != WS_EV_NONE) {
        memset(&ev, 0, sizeof ev);
        switch (e.type) {
        case WS_EV_OPEN:
            l->wsp = WSP_OPEN;
            health_add(l->h, HEALTH_C_WS_CONNECTS, 1);
            health_set(l->h, HEALTH_G_LAST_CONNECT_MS, wall_ms());
            ev.kind = SESSION_EV_WS_OPENED;
            sess_event(l, &ev);
            break;
        case WS_EV_MESSAGE:
            on_ws_message(l, &e);
            break;
        case WS_EV_PING:
            health_add(l->h, HEALTH_C_WS_PINGS, 1);
            /* fall through */
        case WS_EV_PONG:
            ev.kind = SESSION_EV_WS_ACTIVITY;
            sess_event(l, &ev);
            break;
        case WS_EV_CLOSED:
            ev.kind = SESSION_EV_WS_CLOSED;
            ev.u.closed.code = (uint16_t)e.close_code;
            ev.u.closed.reason = (const char *)e.data;
            ev.u.closed.reason_len = (uint32_t)e.len;
            log_warn("websocket closed", LOG_U("code", e.close_code),
                     LOG_SN("reason", (const char *)e.data, e.len), LOG_B("by_peer", e.by_peer));
            flush_ws(l);
            ws_release(l);
            sess_event(l, &ev);
            return;
        case WS_EV_ERROR:
            log_warn("websocket failed", LOG_S("error", ws_strerror(e.err)),
                     LOG_I("http_status", e.http_status));
            if (l->wsp == WSP_HANDSHAKE) {
                if (e.err == WS_ERR_HS_STATUS) {
                    ev.kind = SESSION_EV_WS_HANDSHAKE_FAILED;
                    ev.u.handshake.status = e.http_status;
                } else {
                    ev.kind = SESSION_EV_WS_CONN_ERROR;
                    ev.u.conn.stage = SESSION_STAGE_UPGRADE;
                }
                health_connect_failure(l->h, HEALTH_STAGE_UPGRADE);
            } else {
                if (e.err == WS_ERR_MSG_TOO_BIG)
                    health_limit_hit(l->h, HEALTH_LIMIT_WS_MESSAGE);
                ev.kind = SESSION_EV_WS_CLOSED;
                ev.u.closed.code = (uint16_t)e.close_code;
                ev.u.closed.local = true;
            }
            flush_ws(l); /* the close frame the codec queued, best effort */
            ws_release(l);
            sess_event(l, &ev);
            return;
        default:
            break;
        }
    }
}

/* Advances the WebSocket's connection after poll. */
static void ws_io(struct loop *l, short revents)
{
    int64_t now = net_now_ms();
    conn_state cs;
    uint8_t buf[16384];
    long n;
    if (l->wsp == WSP_NONE)
        return;
    cs = conn_on_io(&l->wc, revents, now);
    if (l->wsp == WSP_CONNECTING && cs == CONN_OPEN) {
        char host[CFG_HOST_BYTES + 16];
        int dflt = l->cfg->port == (l->cfg->tls ? 443 : 80);
        if (dflt)
            snprintf(host, sizeof host, "%s", l->cfg->host);
        else
            snprintf(host, sizeof host, "%s:%u", l->cfg->host, (unsigned)l->cfg->port);
        conn_set_stage(&l->wc, CONN_STAGE_WEBSOCKET);
        ws_client_handshake(&l->ws, host, l->cfg->ws_path,
                            "User-Agent: iotpro_exporter/" IOTPRO_VERSION "\r\n");
        l->wsp = WSP_HANDSHAKE;
    }
    if (l->wsp >= WSP_HANDSHAKE) {
        /* Read until empty, flush, and read again: conn_write() pumps the TLS engine,
         * which may pull a record from the socket into its buffer, after which the
         * socket no longer polls readable. Stop only when a read right after a flush
         * finds nothing. */
        int flushed = 0;
        for (;;) {
            n = conn_read(&l->wc, buf, sizeof buf);
            if (n > 0) {
                size_t off = 0;
                flushed = 0;
                while (off < (size_t)n && l->wsp >= WSP_HANDSHAKE) {
                    off += ws_push(&l->ws, buf + off, (size_t)n - off);
                    ws_events(l);
                }
                if (l->wsp < WSP_HANDSHAKE)
                    return;
                continue;
            }
            if (n < 0) { /* the transport ended: the codec turns this into a 1006 close */
                ws_eof(&l->ws);
                if (l->wsp == WSP_HANDSHAKE) {
                    session_event ev = {0};
                    ev.kind = SESSION_EV_WS_CONN_ERROR;
                    ev.u.conn.stage = SESSION_STAGE_UPGRADE;
                    ws_release(l);
                    sess_event(l, &ev);
                    return;
                }
                ws_events(l);
                return;
            }
            if (flushed)
                return;
            flush_ws(l);
            flushed = 1;
        }
    }
    if (cs == CONN_FAILED || cs == CONN_CLOSED) {
        const conn_err *e = conn_error(&l->wc);
        session_event ev = {0};
        ev.kind = SESSION_EV_WS_CONN_ERROR;
        ev.u.conn.stage = e->stage == CONN_STAGE_DNS ? SESSION_STAGE_DNS
                        : e->stage == CONN_STAGE_TLS ? SESSION_STAGE_TLS : SESSION_STAGE_TCP;
        health_connect_failure(l->h, ev.u.conn.stage == SESSION_STAGE_DNS ? HEALTH_STAGE_DNS
                                     : ev.u.conn.stage == SESSION_STAGE_TLS ? HEALTH_STAGE_TLS
                                     : HEALTH_STAGE_TCP);
        log_warn("websocket connect failed", LOG_S("stage", conn_stage_name(e->stage)),
                 LOG_S("reason", net_reason_name(e->reason)), LOG_S("error", e->text));
        ws_release(l);
        sess_event(l, &ev);
    }
}

/* ------------------------------------------------------------------ actions ------ */

static void do_actions(struct loop *l)
{
    session_action a;
    while (session_next_action(&l->sess, &a)) {
        switch (a.kind) {
        case SESSION_DO_LOGIN: do_login(l); break;
        case SESSION_DO_REFRESH: do_refresh(l); break;
        case SESSION_DO_LIST_ASSETS: do_list(l, &a); break;
        case SESSION_DO_FETCH_DETAILS: do_details(l, &a); break;
        case SESSION_DO_WS_CONNECT:
            log_info("websocket connecting", LOG_S("url", l->cfg->ws_url),
                     LOG_U("attempt", session_get_stats(&l->sess)->ws_connect_attempts));
            do_connect(l);
            break;
        case SESSION_DO_SEND_SUBSCRIBE: do_subscribe(l, 0); break;
        case SESSION_DO_RESYNC:
            health_add(l->h, HEALTH_C_RESYNCS, 1);
            log_info("resubscribing", LOG_S("why", a.resync == SESSION_RESYNC_ASSETS_CHANGED
                                                      ? "assets_changed" : "too_many_updates"));
            do_subscribe(l, 1);
            break;
        case SESSION_DO_WS_CLOSE:
            if (l->wsp == WSP_OPEN) {
                ws_close(&l->ws, a.close_code, "shutdown");
                flush_ws(l);
            }
            break;
        case SESSION_DO_WS_ABORT: ws_release(l); break;
        case SESSION_DO_FATAL:
            log_error("giving up: the server rejected the account; fix the configuration",
                      LOG_S("reason", session_fatal_name(a.fatal)));
            l->exit_code = LOOP_EXIT_FATAL;
            if (!l->stop_sent) {
                session_event ev = {0};
                ev.kind = SESSION_EV_STOP;
                l->stop_sent = 1;
                sess_event(l, &ev);
            }
            break;
        case SESSION_DO_STOPPED:
            ws_release(l);
            l->done = 1;
            break;
        default:
            break;
        }
    }
}

/* Reports a disconnect counted by the session since the last call to health. */
static void count_disconnects(struct loop *l, uint64_t *seen)
{
    const session_stats *st = session_get_stats(&l->sess);
    for (int r = 1; r < SESSION_REASON_COUNT; r++) {
        while (seen[r] < st->disconnects[r]) {
            seen[r]++;
            health_disconnect(l->h, disc_of((session_reason)r));
            if (r != SESSION_REASON_LOCAL_SHUTDOWN)
                log_warn("websocket lost", LOG_S("reason", session_reason_name((session_reason)r)),
                         LOG_D("reconnect_in_s", st->backoff_ms / 1000.0),
                         LOG_U("failures", st->ws_failures));
            if (r == SESSION_REASON_1009)
                log_error("server says our message was too big: this is a bug, please report");
        }
    }
}

static void on_wake(struct loop *l)
{
    char buf[16];
    ssize_t n;
    while ((n = read(l->pipe_rd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == 'T' && !l->stop_sent) {
                session_event ev = {0};
                ev.kind = SESSION_EV_STOP;
                l->stop_sent = 1;
                log_info("shutting down");
                sess_event(l, &ev);
            } else if (buf[i] == 'H' && l->reload) {
                const struct cfg *nc = NULL;
                if (l->reload(l->reload_arg, &nc) == 0 && nc) {
                    unsigned ch = cfg_changes(l->cfg, nc);
                    l->cfg = nc;
                    if (ch & CFG_CHANGED_KEYS) {
                        build_cmds(l);
                        if (session_is_streaming(&l->sess))
                            do_subscribe(l, 1);
                    }
                    if (ch & CFG_CHANGED_UPSTREAM)
                        log_warn("upstream settings changed: they take effect after a restart");
                    health_add(l->h, HEALTH_C_CONFIG_RELOADS, 1);
                    health_set(l->h, HEALTH_G_CONFIG_LAST_RELOAD_OK, 1);
                } else {
                    health_add(l->h, HEALTH_C_CONFIG_RELOAD_FAILS, 1);
                    health_set(l->h, HEALTH_G_CONFIG_LAST_RELOAD_OK, 0);
                }
            }
        }
    }
}

static int ms_until(int64_t now, int64_t t)
{
    if (t <= now)
        return 0;
    return t - now > 60000 ? 60000 : (int)(t - now);
}

/* see loop.h */
int loop_run(struct loop *l)
{
    uint64_t seen[SESSION_REASON_COUNT] = {0};
    session_event ev = {0};
    ev.kind = SESSION_EV_START;
    sess_event(l, &ev);
    for (;;) {
        struct pollfd p[3];
        int np = 1, rest_i = -1, ws_i = -1;
        int64_t now, dl;
        uint64_t sd;
        do_actions(l);
        count_disconnects(l, seen);
        publish(l);
        if (l->done) /* not the state: after FATAL it stays "fatal" while stopped */
            break;
        p[0] = (struct pollfd){l->pipe_rd, POLLIN, 0};
        dl = INT64_MAX;
        sd = session_next_deadline(&l->sess);
        if (sd != SESSION_NEVER)
            dl = (int64_t)sd;
        if (l->rest_active) {
            short evs = httpc_poll_events(&l->http);
            /* As for the WebSocket below: a response already decrypted into the TLS
             * engine does not make the socket readable; do not sleep on it. */
            if (evs == 0 && httpc_state_of(&l->http) == HTTPC_RECEIVING)
                dl = 0;
            rest_i = np;
            p[np++] = (struct pollfd){httpc_poll_fd(&l->http), evs, 0};
            if (httpc_deadline(&l->http) < dl)
                dl = httpc_deadline(&l->http);
        }
        if (l->wsp != WSP_NONE) {
            const uint8_t *o;
            short evs = conn_poll_events(&l->wc);
            if ((l->wsp >= WSP_HANDSHAKE && ws_output(&l->ws, &o) > 0) || conn_write_pending(&l->wc))
                evs |= POLLOUT;
            /* TLS: no event wanted while OPEN means decrypted bytes wait in the engine
             * (a conn_write elsewhere pumped a record in): do not sleep on them. */
            if (evs == 0 && conn_state(&l->wc) == CONN_OPEN)
                dl = 0;
            ws_i = np;
            p[np++] = (struct pollfd){conn_poll_fd(&l->wc), evs, 0};
            if (conn_deadline(&l->wc) < dl)
                dl = conn_deadline(&l->wc);
        }
        if (l->next_expire && l->cfg->metrics_ttl_ms && l->next_expire < dl)
            dl = l->next_expire;
        now = net_now_ms();
        if (poll(p, (nfds_t)np, dl == INT64_MAX ? 60000 : ms_until(now, dl)) < 0 && errno != EINTR) {
            log_error("poll failed", LOG_I("errno", errno));
            l->exit_code = LOOP_EXIT_ERROR;
            break;
        }
        if (p[0].revents)
            on_wake(l);
        if (l->rest_active) {
            httpc_state hs = httpc_state_of(&l->http);
            if (rest_i >= 0 && hs != HTTPC_FAILED) /* FAILED already: httpc_request refused */
                hs = httpc_on_io(&l->http, p[rest_i].revents, net_now_ms());
            if (hs == HTTPC_DONE || hs == HTTPC_FAILED) {
                l->rest_active = 0;
                if (hs == HTTPC_FAILED)
                    httpc_close(&l->http); /* the next request reconnects */
                on_rest_done(l);
            }
        }
        if (ws_i >= 0)
            ws_io(l, p[ws_i].revents);
        else if (l->wsp != WSP_NONE)
            ws_io(l, 0); /* a connection started in this turn: let it progress */
        now = net_now_ms();
        if (l->cfg->metrics_ttl_ms && now >= l->next_expire) {
            uint32_t older = (uint32_t)((now - (int64_t)l->cfg->metrics_ttl_ms) / 1000);
            uint32_t gone;
            pthread_mutex_lock(&l->sh->mu);
            gone = now > (int64_t)l->cfg->metrics_ttl_ms ? store_expire(&l->sh->st, older) : 0;
            pthread_mutex_unlock(&l->sh->mu);
            health_add(l->h, HEALTH_C_SERIES_EXPIRED, gone);
            l->next_expire = now + EXPIRE_EVERY_MS;
        }
        ev.kind = SESSION_EV_TIMER;
        sess_event(l, &ev);
    }
    ws_release(l);
    httpc_close(&l->http);
    return l->exit_code;
}

/* see loop.h */
struct loop *loop_create(const struct cfg *cfg, const tls_anchors *anchors, struct health *h,
                         struct loop_shared *sh, loop_reload_fn reload, void *reload_arg)
{
    struct loop *l = calloc(1, sizeof *l);
    int fds[2];
    session_config sc;
    if (!l)
        return NULL;
    l->cfg = cfg;
    l->anchors = anchors;
    l->h = h;
    l->sh = sh;
    l->reload = reload;
    l->reload_arg = reload_arg;
    l->building = -1;
    l->pipe_rd = l->pipe_wr = -1;
    l->cmds_cap = 2 * (LOOP_MAX_ASSETS / ASSETS_PER_CMD + LIM_CFG_KEY_LISTS + 1);
    l->rest_body = malloc(REST_BODY_CAP);
    l->rest_tok = malloc(REST_TOKENS * sizeof *l->rest_tok);
    l->ws_tok = malloc(WS_TOKENS * sizeof *l->ws_tok);
    l->ws_msg = malloc(LIM_WS_MESSAGE_DEFAULT);
    l->pend = calloc(LIM_PENDING_UPDATES, sizeof *l->pend);
    l->cmds = calloc(l->cmds_cap, sizeof *l->cmds);
    l->ids = calloc(LOOP_MAX_ASSETS, sizeof *l->ids);
    l->keyptrs = calloc(LIM_CFG_KEYS, sizeof *l->keyptrs);
    if (!l->rest_body || !l->rest_tok || !l->ws_tok || !l->ws_msg || !l->pend || !l->cmds ||
        !l->ids || !l->keyptrs || pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        loop_destroy(l);
        return NULL;
    }
    l->pipe_rd = fds[0];
    l->pipe_wr = fds[1];
    tb_feed_init(&l->feed, &sh->st, l->ws_tok, WS_TOKENS, l->pend, LIM_PENDING_UPDATES, attr_cb, l);
    httpc_init(&l->http, cfg->host, cfg->port, cfg->tls, anchors);
    conn_init(&l->wc);
    session_config_defaults(&sc);
    sc.idle_timeout_ms = cfg->idle_timeout_ms ? (uint32_t)cfg->idle_timeout_ms : sc.idle_timeout_ms;
    sc.rediscover_interval_ms = (uint32_t)cfg->rediscover_ms;
    sc.rest_details = cfg->asset_details == CFG_DETAILS_REST;
    session_init(&l->sess, &sc);
    l->last_state = SESSION_ST_IDLE;
    l->next_expire = net_now_ms() + EXPIRE_EVERY_MS;
    return l;
}

/* see loop.h */
void loop_destroy(struct loop *l)
{
    if (!l)
        return;
    if (l->pipe_rd >= 0)
        close(l->pipe_rd);
    if (l->pipe_wr >= 0)
        close(l->pipe_wr);
    conn_abort(&l->wc);
    free(l->rest_body);
    free(l->rest_tok);
    free(l->ws_tok);
    free(l->ws_msg);
    free(l->pend);
    free(l->cmds);
    free(l->ids);
    free(l->keyptrs);
    /* the tokens are secrets: do not leave them in freed memory */
    memset(l->token, 0, sizeof l->token);
    memset(l->refresh, 0, sizeof l->refresh);
    memset(l->auth, 0, sizeof l->auth);
    memset(l->req_body, 0, sizeof l->req_body);
    free(l);
}

/* see loop.h */
void loop_wake(struct loop *l, char what)
{
    ssize_t r = write(l->pipe_wr, &what, 1);
    (void)r; /* a full pipe already holds a wake-up */
}

/* see loop.h */
const char *loop_state_name(const struct loop *l)
{
    return session_state_name(session_get_state(&l->sess));
}
