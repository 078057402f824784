/*
 * loop_rest.c -- the event loop's REST side (see loop_int.h): login and token refresh
 * (tokens are secrets: registered with the log guard, never logged), asset listing
 * page by page into the spare asset table and the swap once the listing is complete,
 * and assetDetails by REST when configured. Results become SESSION_EV_HTTP_RESULT.
 */
#include "exporter/loop_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "exporter/log.h"
#include "exporter/shard.h"

/* Gives the pages of one buffer back to the kernel (they read as zeros if touched
 * again). Only whole pages inside [p, p + n). */
static void drop_pages(void *p, size_t n)
{
    long pg = sysconf(_SC_PAGESIZE);
    uintptr_t a, e;
    if (pg <= 0)
        return;
    a = ((uintptr_t)p + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
    e = ((uintptr_t)p + n) & ~((uintptr_t)pg - 1);
    if (e > a)
        (void)madvise((void *)a, e - a, MADV_DONTNEED);
}

/* After a listing: the REST body and token buffers held ~47 tokens and ~500 B per
 * asset of the largest page (over 1 MB at the default page size) and stay resident
 * otherwise, though until the next listing they only see token refreshes. */
static void drop_page_buffers(struct loop *l)
{
    drop_pages(l->rest_body, REST_BODY_CAP);
    drop_pages(l->rest_tok, REST_TOKENS * sizeof *l->rest_tok);
}

/* 1 while a render pins table i (loop.h: renders pin the table they read). */
static int table_pinned(struct loop_shared *sh, int i)
{
    int pinned;
    pthread_mutex_lock(&sh->mu);
    pinned = sh->readers[i] > 0;
    pthread_mutex_unlock(&sh->mu);
    return pinned;
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
                   loop_wall_ms() + (l->claims.exp - l->claims.iat) * 1000);
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

void loop_rest_login(struct loop *l)
{
    const struct cfg *c = l->cfg;
    int n = tb_build_login(l->req_body, sizeof l->req_body, c->username, strlen(c->username),
                           c->password, strlen(c->password));
    l->rest_req = SESSION_REQ_LOGIN;
    snprintf(l->path, sizeof l->path, "%s/api/auth/login", c->base_path);
    log_info("logging in", LOG_S("user", c->username));
    rest_start(l, "POST", l->req_body, n > 0 ? (size_t)n : 0, 0);
}

void loop_rest_refresh(struct loop *l)
{
    int n = tb_build_refresh(l->req_body, sizeof l->req_body, l->refresh, l->refresh_len);
    l->rest_req = SESSION_REQ_REFRESH;
    snprintf(l->path, sizeof l->path, "%s/api/auth/token", l->cfg->base_path);
    rest_start(l, "POST", l->req_body, n > 0 ? (size_t)n : 0, 0);
}

static void list_start(struct loop *l, const session_action *a, int table_ok);

void loop_rest_list(struct loop *l, const session_action *a)
{
    if (a->page == 0 && table_pinned(l->sh, 1 - l->sh->cur)) {
        /* The spare table is what a /metrics response still streams from: refill it
         * only once that response is done (loop_rest_list_poll), without blocking. */
        l->list_waiting = 1;
        l->list_wait_until = net_now_ms() + LIST_WAIT_MS;
        l->list_action = *a;
        log_info("asset listing waits for a /metrics response still reading the previous "
                 "asset table");
        return;
    }
    list_start(l, a, 1);
}

void loop_rest_list_poll(struct loop *l, int64_t now)
{
    int pinned;
    if (!l->list_waiting)
        return;
    pinned = table_pinned(l->sh, 1 - l->sh->cur);
    if (pinned && now < l->list_wait_until)
        return;
    l->list_waiting = 0;
    if (pinned)
        log_warn("asset listing skipped: a /metrics response held the previous asset table "
                 "too long; the next rediscovery retries",
                 LOG_U("waited_ms", LIST_WAIT_MS));
    list_start(l, &l->list_action, !pinned);
}

/* table_ok: the spare table may be refilled (else pages are fetched but dropped, and
 * finish_listing keeps the current table). */
static void list_start(struct loop *l, const session_action *a, int table_ok)
{
    const char *base = l->cfg->base_path;
    char q[128];
    l->rest_req = SESSION_REQ_ASSETS;
    if (a->page == 0) {
        int spare = 1 - l->sh->cur;
        l->building = -1;
        l->listed = 0;
        if (table_ok) {
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

void loop_rest_details(struct loop *l, const session_action *a)
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
        if (assets_set_details(&sh->tab[sh->cur], d->idx, 0, det, (size_t)n) < 0)
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
    l->listed++;
    if (!shard_mine(a->id, l->cfg->shard_index, l->cfg->shard_count))
        return 0; /* another shard's: never in our table, so never subscribed or shown */
    if (l->building >= 0 && assets_add_tb(&l->sh->tab[l->building], a) < 0)
        health_limit_hit(l->h, HEALTH_LIMIT_ASSETS);
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
        loop_ws_build_cmds(l, SUBS_RESEND_ASSETS_CHANGED);
    }
    health_set(l->h, HEALTH_G_ASSETS, sh->tab[sh->cur].count);
    health_add(l->h, HEALTH_C_REDISCOVERIES, 1);
    log_info("assets listed", LOG_U("count", sh->tab[sh->cur].count), LOG_U("listed", l->listed),
             LOG_U("shard", l->cfg->shard_index), LOG_U("shards", l->cfg->shard_count ? l->cfg->shard_count : 1),
             LOG_B("changed", changed));
    l->building = -1;
    return changed;
}

static const char *rest_kind_name(int req)
{
    return req == SESSION_REQ_LOGIN ? "login" : req == SESSION_REQ_REFRESH ? "refresh"
           : req == SESSION_REQ_ASSETS ? "assets" : "details";
}

void loop_rest_done(struct loop *l)
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
        log_warn("REST request failed", LOG_S("path_kind", rest_kind_name(l->rest_req)),
                 LOG_S("error", e ? e->text : ""));
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
                else {
                    ev.u.http.assets_changed = finish_listing(l) != 0;
                    drop_page_buffers(l);
                }
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
    if (ev.u.http.cls == SESSION_HTTP_BAD_BODY)
        log_warn("REST response unusable", LOG_S("path_kind", rest_kind_name(l->rest_req)),
                 LOG_I("status", status), LOG_U("bytes", len));
    if (l->rest_req == SESSION_REQ_LOGIN || l->rest_req == SESSION_REQ_REFRESH) {
        /* "rejected" means the server refused the credentials or token (401/403, or a
         * two-factor account); a 5xx, a proxy page or a transport error is "error". */
        int res = ev.u.http.cls == SESSION_HTTP_OK ? HEALTH_OK
                  : ev.u.http.cls == SESSION_HTTP_TWO_FACTOR ||
                    (ev.u.http.cls == SESSION_HTTP_STATUS && (status == 401 || status == 403))
                  ? HEALTH_REJECTED : HEALTH_ERROR;
        if (l->rest_req == SESSION_REQ_LOGIN) {
            health_login(l->h, res);
        } else {
            health_token_refresh(l->h, res);
            if (res == HEALTH_OK)
                log_info("token refreshed", LOG_I("lifetime_s", l->claims.exp - l->claims.iat));
        }
    }
    loop_event(l, &ev);
}
