/*
 * loop_rest.c -- the event loop's REST client (loop_rest.h): login and token refresh,
 * asset listing page by page into a new table, and assetDetails by REST when
 * configured. Results become SESSION_EV_HTTP_RESULT events for the caller.
 */
#include "exporter/loop_rest.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/tb.h"
#include "exporter/log.h"
#include "exporter/shard.h"
#include "transport/net.h"

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
static void drop_page_buffers(struct rest_client *r)
{
    drop_pages(r->body, REST_BODY_CAP);
    drop_pages(r->tok, REST_TOKENS * sizeof *r->tok);
}

/* --------------------------------------------------------------------- REST ------ */

static void set_token(struct rest_client *r, const tb_token_pair *p, int64_t now)
{
    if (r->token_len)
        log_secret_forget(r->token);
    if (r->refresh_len)
        log_secret_forget(r->refresh);
    memcpy(r->token, p->token, p->token_len);
    r->token[p->token_len] = 0;
    r->token_len = p->token_len;
    memcpy(r->refresh, p->refresh, p->refresh_len);
    r->refresh[p->refresh_len] = 0;
    r->refresh_len = p->refresh_len;
    log_secret_add(r->token);
    log_secret_add(r->refresh);
    memset(&r->claims, 0, sizeof r->claims);
    if (jwt_decode(r->token, r->token_len, &r->claims) == JWT_OK)
        r->st.token_expiry_ms = net_wall_ms() + (r->claims.exp - r->claims.iat) * 1000;
    (void)now;
    snprintf(r->auth, sizeof r->auth, "Bearer %s", r->token);
}

static void rest_start(struct rest_client *r, const char *method, const char *body, size_t body_len,
                       int authed)
{
    http1_header hd[3];
    size_t n = 0;
    int64_t now = net_now_ms();
    hd[n++] = (http1_header){ "Accept", "application/json" };
    if (body)
        hd[n++] = (http1_header){ "Content-Type", "application/json" };
    if (authed)
        hd[n++] = (http1_header){ "X-Authorization", r->auth };
    r->active = 1;
    if (httpc_request(&r->http, method, r->path, hd, n, body, body_len, r->body, REST_BODY_CAP, now,
                      now + REST_TIMEOUT_MS) != 0)
        log_error("cannot write the REST request", LOG_S("path", r->path));
    /* a failed start is reported by httpc_state_of() == HTTPC_FAILED on the next turn */
}

void rest_login(struct rest_client *r)
{
    const struct cfg *c = r->cfg;
    int n = tb_build_login(r->req_body, sizeof r->req_body, c->username, strlen(c->username),
                           c->password, strlen(c->password));
    r->req = SESSION_REQ_LOGIN;
    snprintf(r->path, sizeof r->path, "%s/api/auth/login", c->base_path);
    log_info("logging in", LOG_S("user", c->username));
    rest_start(r, "POST", r->req_body, n > 0 ? (size_t)n : 0, 0);
}

void rest_refresh(struct rest_client *r)
{
    int n = tb_build_refresh(r->req_body, sizeof r->req_body, r->refresh, r->refresh_len);
    r->req = SESSION_REQ_REFRESH;
    snprintf(r->path, sizeof r->path, "%s/api/auth/token", r->cfg->base_path);
    rest_start(r, "POST", r->req_body, n > 0 ? (size_t)n : 0, 0);
}

/* The entity kind and profile (NULL: all) of listing part i (loop_rest.h). */
static tb_entity_kind part_kind(const struct cfg *c, uint32_t i, const char **profile)
{
    uint32_t per = c->profiles.n ? c->profiles.n : 1;
    *profile = c->profiles.n ? cfg_name(&c->profiles, i % per) : NULL;
    return (c->entity_types & CFG_ENT_ASSET) && i < per ? TB_ENTITY_ASSET : TB_ENTITY_DEVICE;
}

static uint32_t part_count(const struct cfg *c)
{
    uint32_t kinds =
        ((c->entity_types & CFG_ENT_ASSET) != 0) + ((c->entity_types & CFG_ENT_DEVICE) != 0);
    return kinds * (c->profiles.n ? c->profiles.n : 1);
}

void rest_list(struct rest_client *r, const session_action *a)
{
    const char *base = r->cfg->base_path, *profile, *what;
    char q[128 + 3 * LIM_NAME_BYTES];
    int n;
    r->req = SESSION_REQ_ASSETS;
    if (a->page == 0) {
        /* a listing cut short before left its table here: start afresh */
        loop_shared_discard(r->building);
        r->building = asset_tab_new();
        r->listed = 0;
        r->part = r->part_page = 0;
        r->nparts = part_count(r->cfg);
        if (!r->building)
            log_error("cannot allocate an asset table; this listing is not used");
    }
    what = part_kind(r->cfg, r->part, &profile) == TB_ENTITY_DEVICE ? "devices" : "assets";
    n = snprintf(q, sizeof q, "pageSize=%u&page=%u&sortProperty=createdTime&sortOrder=ASC",
                 r->cfg->page_size, r->part_page);
    if (profile) { /* names are checked at configuration: they fit q */
        memcpy(q + n, "&type=", 6);
        tb_url_escape(q + n + 6, sizeof q - (size_t)n - 6, profile, strlen(profile));
    }
    if (a->endpoint == SESSION_EP_TENANT)
        snprintf(r->path, sizeof r->path, "%s/api/tenant/%s?%s", base, what, q);
    else if (a->endpoint == SESSION_EP_CUSTOMER)
        snprintf(r->path, sizeof r->path, "%s/api/customer/%s/%s?%s", base, r->claims.customer_id,
                 what, q);
    else
        snprintf(r->path, sizeof r->path, "%s/api/user/%s?%s", base, what, q);
    rest_start(r, "GET", NULL, 0, 1);
}

void rest_details(struct rest_client *r, const session_action *a)
{
    const assets_table *t = &r->sh->cur->t;
    char id[37];
    r->req = SESSION_REQ_DETAILS;
    r->details_idx = a->page;
    if (a->page >= t->count) { /* the table shrank meanwhile: nothing to fetch */
        r->path[0] = 0;
        snprintf(r->path, sizeof r->path, "%s/api/auth/user", r->cfg->base_path);
    } else {
        const assets_entry *e = assets_get(t, (int32_t)a->page);
        tb_uuid_format(e->id, id);
        snprintf(r->path, sizeof r->path,
                 "%s/api/plugins/telemetry/%s/%s/values/attributes/SERVER_SCOPE"
                 "?keys=assetDetails",
                 r->cfg->base_path, e->kind == TB_ENTITY_DEVICE ? "DEVICE" : "ASSET", id);
    }
    rest_start(r, "GET", NULL, 0, 1);
}

struct details_ctx {
    struct rest_client *r;
    int32_t idx;
};

static int details_attr(void *ctx, const tb_attr *a)
{
    struct details_ctx *d = ctx;
    tb_detail det[LIM_DETAIL_LABELS + 1]; /* one more: to tell that some were left out */
    char scratch[8192];
    int n;
    if (a->key_len != 12 || memcmp(a->key, "assetDetails", 12) != 0)
        return 0;
    if (a->value->type == JSMN_STRING)
        n = tb_parse_details(a->json + a->value->start, (size_t)(a->value->end - a->value->start),
                             1, scratch, sizeof scratch, det, LIM_DETAIL_LABELS + 1);
    else
        n = tb_parse_details(a->json + a->value->start, (size_t)(a->value->end - a->value->start),
                             0, scratch, sizeof scratch, det, LIM_DETAIL_LABELS + 1);
    if (n > (int)LIM_DETAIL_LABELS) {
        d->r->st.detail_labels_dropped++; /* the first LIM_DETAIL_LABELS are kept */
        n = LIM_DETAIL_LABELS;
    }
    if (n >= 0) {
        struct loop_shared *sh = d->r->sh;
        pthread_mutex_lock(&sh->mu); /* renders read details with the mutex held */
        if (assets_set_details(&sh->cur->t, d->idx, 0, det, (size_t)n) < 0)
            d->r->st.detail_labels_dropped++;
        pthread_mutex_unlock(&sh->mu);
    }
    return 0;
}

/* REST details of asset number details_idx (SERVER_SCOPE attributes). */
static void apply_details(struct rest_client *r, const char *body, size_t len)
{
    struct details_ctx d = { r, (int32_t)r->details_idx };
    if (r->details_idx >= r->sh->cur->t.count)
        return;
    if (tb_parse_attributes(body, len, r->tok, REST_TOKENS, details_attr, &d) < 0)
        r->st.parse_errors++;
}

static int add_asset(void *ctx, const tb_asset *a)
{
    struct rest_client *r = ctx;
    r->listed++;
    if (!shard_mine(a->id, r->cfg->shard_index, r->cfg->shard_count))
        return 0; /* another shard's: never in our table, so never subscribed or shown */
    if (r->building && assets_add_tb(&r->building->t, a) < 0)
        r->st.assets_dropped++;
    r->st.names_cut += a->cut != 0; /* a name, profile or label over LIM_NAME_BYTES - 1 */
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
        /* a device's label is exported (iotpro_device_info) */
        if (x->kind != y->kind ||
            (x->kind == TB_ENTITY_DEVICE &&
             (x->label_len != y->label_len ||
              memcmp(assets_text(a, x->label_off), assets_text(b, y->label_off), x->label_len))))
            return 1;
    }
    return 0;
}

/* The listing is complete: the new table when the asset set changed (sealed, for the
 * caller to publish), else NULL (the current table, with its details, stays). */
static struct asset_tab *finish_listing(struct rest_client *r)
{
    const assets_table *cur = &r->sh->cur->t;
    struct asset_tab *t = r->building;
    int changed;
    r->building = NULL;
    if (!t)
        return NULL;
    changed = tables_differ(&t->t, cur) || cur->count == 0;
    r->st.listings++;
    log_info("assets listed", LOG_U("count", t->t.count), LOG_U("listed", r->listed),
             LOG_U("shard", r->cfg->shard_index),
             LOG_U("shards", r->cfg->shard_count ? r->cfg->shard_count : 1),
             LOG_B("changed", changed));
    if (!changed) {
        loop_shared_discard(t);
        return NULL;
    }
    if (asset_tab_seal(t) != 0)
        log_warn("no memory for the kind cache of the new asset table; /metrics reads "
                 "each entity's kind from the table");
    return t;
}

static const char *rest_kind_name(int req)
{
    return req == SESSION_REQ_LOGIN     ? "login"
           : req == SESSION_REQ_REFRESH ? "refresh"
           : req == SESSION_REQ_ASSETS  ? "assets"
                                        : "details";
}

void rest_done(struct rest_client *r, session_event *out, struct asset_tab **listed)
{
    session_event ev = { 0 };
    const http1_resp *resp = httpc_response(&r->http);
    const char *body = (const char *)r->body;
    size_t len = resp ? http1_resp_body_len(resp) : 0;
    int status = resp ? http1_resp_status(resp) : 0;
    int64_t now = net_now_ms();
    ev.kind = SESSION_EV_HTTP_RESULT;
    ev.u.http.req = r->req;
    ev.u.http.status = status;
    ev.u.http.tb_error_code = -1;
    if (httpc_state_of(&r->http) != HTTPC_DONE) {
        const conn_err *e = httpc_error(&r->http);
        ev.u.http.cls = SESSION_HTTP_TRANSPORT;
        if (e && e->reason == NET_R_LIMIT)
            r->st.body_limit++;
        log_warn("REST request failed", LOG_S("path_kind", rest_kind_name(r->req)),
                 LOG_S("error", e ? e->text : ""));
    } else if (status >= 200 && status < 300) {
        ev.u.http.cls = SESSION_HTTP_OK;
        if (r->req == SESSION_REQ_LOGIN || r->req == SESSION_REQ_REFRESH) {
            tb_token_pair p;
            int rc = tb_parse_login(body, len, r->tok, REST_TOKENS, &p);
            if (rc == TB_ERR_TWO_FACTOR) {
                ev.u.http.cls = SESSION_HTTP_TWO_FACTOR;
            } else if (rc != TB_OK || p.token_len > LIM_JWT_BYTES ||
                       p.refresh_len > LIM_JWT_BYTES) {
                ev.u.http.cls = SESSION_HTTP_BAD_BODY;
            } else {
                set_token(r, &p, now);
                ev.u.http.refresh_at_ms =
                    (uint64_t)jwt_refresh_at(now, r->claims.exp, r->claims.iat);
                ev.u.http.expires_at_ms =
                    (uint64_t)jwt_expires_at(now, r->claims.exp, r->claims.iat);
                ev.u.http.role =
                    !strcmp(r->claims.scope, "CUSTOMER_USER")  ? SESSION_ROLE_CUSTOMER_USER
                    : !strcmp(r->claims.scope, "TENANT_ADMIN") ? SESSION_ROLE_TENANT_ADMIN
                                                               : SESSION_ROLE_UNKNOWN;
                if (r->claims.exp <= r->claims.iat) /* undecodable: refresh on demand only */
                    ev.u.http.refresh_at_ms = ev.u.http.expires_at_ms = 0;
            }
        } else if (r->req == SESSION_REQ_ASSETS) {
            tb_page_info info = { 0 };
            if (tb_parse_asset_page(body, len, r->tok, REST_TOKENS, add_asset, r, &info) < 0) {
                ev.u.http.cls = SESSION_HTTP_BAD_BODY;
                r->st.parse_errors++;
            } else {
                /* the next page of this part, else the first of the next part */
                int more = 1;
                if (info.has_next)
                    r->part_page++;
                else if (r->part + 1 < r->nparts)
                    r->part++, r->part_page = 0;
                else
                    more = 0;
                ev.u.http.has_next = more;
                if (more)
                    log_info("asset page listed", LOG_U("assets_so_far", r->listed));
                else {
                    *listed = finish_listing(r);
                    ev.u.http.assets_changed = *listed != NULL;
                    drop_page_buffers(r);
                }
            }
        } else {
            /* details: best effort; the WebSocket path is the default (see issue 7) */
            ev.u.http.has_next = r->details_idx + 1 < r->sh->cur->t.count;
            apply_details(r, body, len);
        }
    } else {
        tb_error e;
        tb_parse_error(status, body, len, r->tok, REST_TOKENS, &e);
        ev.u.http.tb_error_code = e.error_code;
        ev.u.http.cls = e.kind == TB_EK_CE_SERVER ? SESSION_HTTP_INVALID_UUID : SESSION_HTTP_STATUS;
        if (r->req == SESSION_REQ_DETAILS && status == 404) { /* gone: skip it */
            ev.u.http.cls = SESSION_HTTP_OK;
            ev.u.http.has_next = r->details_idx + 1 < r->sh->cur->t.count;
        }
        log_warn("REST request rejected", LOG_I("status", status),
                 LOG_I("error_code", e.error_code), LOG_S("message", e.message));
    }
    if (ev.u.http.cls == SESSION_HTTP_BAD_BODY)
        log_warn("REST response unusable", LOG_S("path_kind", rest_kind_name(r->req)),
                 LOG_I("status", status), LOG_U("bytes", len));
    if (r->req == SESSION_REQ_LOGIN || r->req == SESSION_REQ_REFRESH) {
        /* "rejected" means the server refused the credentials or token (401/403, or a
         * two-factor account); a 5xx, a proxy page or a transport error is "error". */
        int res = ev.u.http.cls == SESSION_HTTP_OK ? LOOP_RES_OK
                  : ev.u.http.cls == SESSION_HTTP_TWO_FACTOR ||
                          (ev.u.http.cls == SESSION_HTTP_STATUS && (status == 401 || status == 403))
                      ? LOOP_RES_REJECTED
                      : LOOP_RES_ERROR;
        if (r->req == SESSION_REQ_LOGIN) {
            r->st.logins[res]++;
        } else {
            r->st.refreshes[res]++;
            if (res == LOOP_RES_OK)
                log_info("token refreshed", LOG_I("lifetime_s", r->claims.exp - r->claims.iat));
        }
    }
    *out = ev;
}

/* see loop_rest.h */
int rest_init(struct rest_client *r, const struct cfg *cfg, struct loop_shared *sh,
              const tls_anchors *anchors)
{
    memset(r, 0, sizeof *r);
    r->cfg = cfg;
    r->sh = sh;
    httpc_init(&r->http, cfg->host, cfg->port, cfg->tls, anchors);
    r->body = malloc(REST_BODY_CAP);
    r->tok = malloc(REST_TOKENS * sizeof *r->tok);
    if (!r->body || !r->tok) {
        rest_free(r);
        return -1;
    }
    return 0;
}

/* see loop_rest.h */
void rest_free(struct rest_client *r)
{
    httpc_close(&r->http);
    free(r->body);
    free(r->tok);
    r->body = NULL;
    r->tok = NULL;
    loop_shared_discard(r->building);
    r->building = NULL;
    /* the tokens are secrets: do not leave them in freed memory */
    bytes_wipe(r->token, sizeof r->token);
    bytes_wipe(r->refresh, sizeof r->refresh);
    bytes_wipe(r->auth, sizeof r->auth);
    bytes_wipe(r->req_body, sizeof r->req_body);
}

/* see loop_rest.h */
int rest_on_io(struct rest_client *r, short revents, int64_t now)
{
    httpc_state hs = httpc_state_of(&r->http);
    if (hs != HTTPC_FAILED) /* FAILED already: httpc_request refused */
        hs = httpc_on_io(&r->http, revents, now);
    if (hs != HTTPC_DONE && hs != HTTPC_FAILED)
        return 0;
    r->active = 0;
    if (hs == HTTPC_FAILED)
        httpc_close(&r->http); /* the next request reconnects */
    return 1;
}
