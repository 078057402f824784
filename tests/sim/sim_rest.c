/*
 * sim_rest.c -- the REST endpoints of IoT Pro the exporter uses, with ThingsBoard's
 * status codes and bodies (reference document sections a-f):
 *
 *   POST /api/auth/login      {"username","password"} -> {"token","refreshToken"}
 *                             (2FA: {"token","scope"}); 401 errorCode 10 variants
 *   POST /api/auth/token      {"refreshToken"} -> new pair; 401/11 expired, 401/10
 *                             "Token is outdated" (fault), 500/2 for an access token
 *   POST /api/auth/logout     200
 *   GET  /api/user/assets     PageData<Asset> (pageSize, page, type, textSearch,
 *                             sortProperty, sortOrder); PE only: in CE mode the path
 *                             is /api/user/{userId} and answers 400 "Invalid UUID
 *                             string: assets" (errorCode 31)
 *   GET  /api/tenant/assets   the same listing, TENANT_ADMIN only (else 403/20)
 *   GET  /api/customer/{customerId}/assets   the same; a CUSTOMER_USER must name its
 *                             own customer (the JWT's customerId), else 403/20; the
 *                             tenant admin gets an empty page (no asset is assigned)
 *   GET  /api/user/devices, /api/tenant/devices, /api/customer/{customerId}/devices
 *                             PageData<Device>, exactly as the asset listings (type =
 *                             device profile name); /api/user/devices is PE only
 *   GET  /api/plugins/telemetry/{ASSET|DEVICE}/{id}/values/attributes[/SERVER_SCOPE][?keys=]
 *   GET  /api/plugins/telemetry/{ASSET|DEVICE}/{id}/keys/timeseries | keys/attributes[/..]
 *   GET  /api/plugins/telemetry/{ASSET|DEVICE}/{id}/values/timeseries?keys=a,b
 *
 * Telemetry endpoints answer errors in plain text, as ThingsBoard's AccessValidator does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/json.h"
#include "tests/sim/sim.h"

#define JSON "application/json"

#define PUT(b, lit) sim_buf_put(b, lit, sizeof lit - 1)

/* One Asset (with PE's ownerId) or Device (ownerId in PE only, as ThingsBoard CE
 * ignores it). Written piece by piece rather than with printf: a 100k-asset listing
 * renders 100k of these, and printf was most of its cost. */
void sim_render_asset(sim_buf *b, uint32_t idx)
{
    char id[37], pid[37], name[SIM_TEXT_MAX], label[64];
    int dev = sim_is_device(idx);
    sim_asset_id(idx, id);
    sim_asset_profile_id(idx, pid);
    size_t nl = sim_asset_name(idx, name, sizeof name);
    sim_asset_label(idx, label, sizeof label);
    const char *type = sim_asset_type(idx);
    int customer = strcmp(sim.authority, "CUSTOMER_USER") == 0;
    char owner[37];
    if (customer)
        snprintf(owner, sizeof owner, "a1b2c3d4-0000-11ef-8000-%012llx",
                 (unsigned long long)(sim_hash(sim.seed, 0x05e7) >> 8 & 0xffffffffffffull));
    sim_buf_reserve(b, 1024);
    PUT(b, "{\"id\":{\"entityType\":\"");
    sim_buf_puts(b, sim_entity_type(idx));
    PUT(b, "\",\"id\":\"");
    sim_buf_put(b, id, 36);
    PUT(b, "\"},\"createdTime\":");
    sim_buf_i64(b, sim_asset_created(idx));
    PUT(b, ",\"tenantId\":{\"entityType\":\"TENANT\",\"id\":\"784f394c-42b6-11ef-983c-");
    sim_buf_hex(b, sim_hash(sim.seed, 0x05e7) >> 16 & 0xffffffffffffull, 12);
    PUT(b, "\"},\"customerId\":{\"entityType\":\"CUSTOMER\",\"id\":\"");
    sim_buf_puts(b, customer ? owner : "13814000-1dd2-11b2-8080-808080808080");
    PUT(b, "\"},\"name\":");
    sim_buf_json_str(b, name, nl);
    PUT(b, ",\"type\":");
    sim_buf_json_str(b, type, strlen(type));
    PUT(b, ",\"label\":\"");
    sim_buf_puts(b, label);
    if (dev) {
        PUT(b, "\",\"deviceProfileId\":{\"entityType\":\"DEVICE_PROFILE\",\"id\":\"");
        sim_buf_put(b, pid, 36);
        PUT(b, "\"},\"firmwareId\":null,\"softwareId\":null,\"externalId\":null,\"version\":");
        sim_buf_i64(b, (int64_t)(idx % 5) + 1);
        PUT(b, ",\"additionalInfo\":{\"gateway\":false,\"overwriteActivityTime\":false,"
               "\"description\":\"\"},\"deviceData\":{\"configuration\":{\"type\":\"DEFAULT\"},"
               "\"transportConfiguration\":{\"type\":\"DEFAULT\"}}");
        if (sim.edition_ce) {
            PUT(b, "}");
            return;
        }
        PUT(b, ",\"ownerId\":{\"entityType\":\"");
    } else {
        PUT(b, "\",\"assetProfileId\":{\"entityType\":\"ASSET_PROFILE\",\"id\":\"");
        sim_buf_put(b, pid, 36);
        PUT(b, "\"},\"externalId\":null,\"version\":");
        sim_buf_i64(b, (int64_t)(idx % 7) + 1);
        PUT(b, ",\"additionalInfo\":{\"description\":\"\"},\"ownerId\":{\"entityType\":\"");
    }
    sim_buf_puts(b, customer ? "CUSTOMER" : "TENANT");
    PUT(b, "\",\"id\":\"");
    sim_buf_puts(b, customer ? owner : "784f394c-42b6-11ef-983c-000000000000");
    PUT(b, "\"}}");
}

static void listing(const sim_req *req, sim_buf *reply, int devices);

static int is_uuid(const char *p, size_t n)
{
    if (n != 36)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((i == 8 || i == 13 || i == 18 || i == 23) ? p[i] != '-'
                                                      : !strchr("0123456789abcdefABCDEF", p[i]))
            return 0;
    return 1;
}

/* GET /api/customer/{customerId}/assets or /devices (CE and PE). */
static void customer_listing(const sim_req *req, sim_buf *reply, int devices)
{
    const char *id = req->path + 14;
    size_t n = strlen(id) - (devices ? 8 : 7);
    char cid[37];
    sim_jwt_customer_id(cid);
    if (!is_uuid(id, n)) {
        char msg[300];
        snprintf(msg, sizeof msg, "Invalid UUID string: %.*s", (int)(n > 200 ? 200 : n), id);
        sim_http_tb_error(reply, 400, msg, 31, 0);
    } else if (strcmp(req->method, "GET") != 0) {
        sim_http_tb_error(reply, 405, "Request method 'POST' is not supported", 31, 0);
    } else if (!strcmp(sim.authority, "CUSTOMER_USER")) {
        if (strncasecmp(id, cid, 36) != 0)
            sim_http_tb_error(reply, 403, "You don't have permission to perform this operation!",
                              20, 0);
        else
            listing(req, reply, devices);
    } else {
        static const char empty[] =
            "{\"data\":[],\"totalPages\":0,\"totalElements\":0,\"hasNext\":false}";
        sim_http_reply(reply, 200, JSON, empty, sizeof empty - 1, 0);
    }
}

/* Reads a string member of a small JSON body into out. Returns 0 ok, -1 missing,
 * -2 body not JSON. */
static int body_str(const sim_req *req, const char *key, char *out, size_t cap)
{
    jsmntok_t t[64];
    int n = json_parse(req->body, req->body_len, t, 64);
    if (n < 1 || t[0].type != JSMN_OBJECT)
        return -2;
    int v = json_find(req->body, t, n, 0, key);
    if (v < 0 || t[v].type != JSMN_STRING)
        return -1;
    if (json_unescape(req->body + t[v].start, (size_t)(t[v].end - t[v].start), out, cap) < 0)
        return -1;
    return 0;
}

static void token_pair(sim_buf *reply)
{
    static char tok[4096], rtok[4096];
    int64_t life = sim.fault_lifetime > 0 ? sim.fault_lifetime : sim.token_lifetime;
    sim_jwt_issue(tok, sizeof tok, 0, sim.authority, life);
    sim_jwt_issue(rtok, sizeof rtok, 1, NULL, sim.refresh_lifetime);
    sim_buf body = { 0 };
    sim_buf_printf(&body, "{\"token\":\"%s\",\"refreshToken\":\"%s\"}", tok, rtok);
    sim_http_reply(reply, 200, JSON, body.p, body.len, 0);
    sim_buf_free(&body);
}

static void login(const sim_req *req, sim_buf *reply)
{
    char user[256], pass[256];
    if (strcmp(req->method, "POST") != 0) {
        sim.st.logins_failed++;
        sim_http_tb_error(reply, 401, "Authentication method not supported", 10, 0);
        return;
    }
    if (body_str(req, "username", user, sizeof user) ||
        body_str(req, "password", pass, sizeof pass) || !user[0] || !pass[0]) {
        sim.st.logins_failed++;
        sim_http_tb_error(reply, 401, "Authentication failed", 10, 0);
        return;
    }
    if (strcmp(user, sim.username) != 0 || strcmp(pass, sim.password) != 0) {
        sim.st.logins_failed++;
        sim_http_tb_error(reply, 401, "Invalid username or password", 10, 0);
        return;
    }
    sim.st.logins_ok++;
    if (sim.mfa_scope) {
        static char tok[4096];
        sim_jwt_issue(tok, sizeof tok, 0, sim.mfa_scope, 1800);
        sim_buf body = { 0 };
        sim_buf_printf(&body, "{\"token\":\"%s\",\"scope\":\"%s\"}", tok, sim.mfa_scope);
        sim_http_reply(reply, 200, JSON, body.p, body.len, 0);
        sim_buf_free(&body);
        return;
    }
    token_pair(reply);
}

static void refresh(const sim_req *req, sim_buf *reply)
{
    char rt[4096];
    if (strcmp(req->method, "POST") != 0) {
        sim.st.refreshes_failed++;
        sim_http_tb_error(reply, 401, "Authentication method not supported", 10, 0);
        return;
    }
    if (body_str(req, "refreshToken", rt, sizeof rt) || !rt[0]) {
        sim.st.refreshes_failed++;
        sim_http_tb_error(reply, 401, "Authentication failed", 10, 0);
        return;
    }
    sim_jwt_status s = sim_jwt_check(rt, strlen(rt), 1, NULL);
    if (s == SIM_JWT_OK && sim.reject_refresh) {
        sim.st.refreshes_failed++;
        sim_http_tb_error(reply, 401, "Token is outdated", 10, 0);
        return;
    }
    switch (s) {
    case SIM_JWT_OK:
        sim.st.refreshes++;
        token_pair(reply);
        return;
    case SIM_JWT_EXPIRED: sim_http_tb_error(reply, 401, "Token has expired", 11, 0); break;
    case SIM_JWT_SCOPE: sim_http_tb_error(reply, 500, "Invalid Refresh Token scope", 2, 0); break;
    default: sim_http_tb_error(reply, 401, "Invalid JWT token", 10, 0); break;
    }
    sim.st.refreshes_failed++;
}

/* 0 when the X-Authorization bearer token is acceptable; otherwise the reply is set. */
static int authorize(const sim_req *req, sim_buf *reply)
{
    if (strncmp(req->xauth, "Bearer ", 7) != 0) {
        sim_http_tb_error(reply, 401, "Authentication failed", 10, 0);
        return -1;
    }
    const char *tok = req->xauth + 7;
    switch (sim_jwt_check(tok, strlen(tok), 0, NULL)) {
    case SIM_JWT_OK: return 0;
    case SIM_JWT_EXPIRED: sim_http_tb_error(reply, 401, "Token has expired", 11, 0); return -1;
    default: sim_http_tb_error(reply, 401, "Invalid username or password", 10, 0); return -1;
    }
}

static void listing(const sim_req *req, sim_buf *reply, int devices)
{
    char ps[32], pg[32], type[64], text[256], sp[64], so[16];
    if (sim_query_param(req->query, "pageSize", ps, sizeof ps) < 0) {
        sim_http_tb_error(reply, 400,
                          "Required request parameter 'pageSize' for method "
                          "parameter type int is not present",
                          31, 0);
        return;
    }
    if (sim_query_param(req->query, "page", pg, sizeof pg) < 0) {
        sim_http_tb_error(reply, 400,
                          "Required request parameter 'page' for method "
                          "parameter type int is not present",
                          31, 0);
        return;
    }
    char *e1, *e2;
    long size = strtol(ps, &e1, 10), page = strtol(pg, &e2, 10);
    if (*e1 || *e2 || !ps[0] || !pg[0]) {
        sim_http_tb_error(reply, 400, "Invalid request parameter", 31, 0);
        return;
    }
    if (size < 1 || page < 0) {
        sim_http_tb_error(reply, 400,
                          size < 1 ? "Page size should be greater than 0!"
                                   : "Page should be positive!",
                          31, 0);
        return;
    }
    int desc = 0;
    if (sim_query_param(req->query, "sortOrder", so, sizeof so) >= 0 && so[0]) {
        if (strcasecmp(so, "DESC") == 0)
            desc = 1;
        else if (strcasecmp(so, "ASC") != 0) {
            sim_http_tb_error(reply, 400, "Invalid sort order", 31, 0);
            return;
        }
    }
    if (sim_query_param(req->query, "sortProperty", sp, sizeof sp) < 0 || !sp[0])
        desc = 0; /* no sort property: ThingsBoard sorts by id ascending */
    char types[1][64];
    sim_filter f = { 0 };
    if (sim_query_param(req->query, "type", type, sizeof type) > 0) {
        snprintf(types[0], sizeof types[0], "%s", type);
        f.types = (const char(*)[64])types;
        f.ntypes = 1;
    }
    if (sim_query_param(req->query, "textSearch", text, sizeof text) > 0)
        f.text = text;
    f.desc = desc;
    f.devices = devices;
    if (size > 100000)
        size = 100000;
    uint32_t *ids = malloc((size_t)size * sizeof *ids);
    uint64_t total;
    size_t n = sim_select(&f, (uint32_t)page, (uint32_t)size, ids, &total);
    sim_buf body = { 0 };
    sim_buf_puts(&body, "{\"data\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            sim_buf_put(&body, ",", 1);
        sim_render_asset(&body, ids[i]);
    }
    uint64_t pages = (total + (uint64_t)size - 1) / (uint64_t)size;
    sim_buf_printf(&body, "],\"totalPages\":%llu,\"totalElements\":%llu,\"hasNext\":%s}",
                   (unsigned long long)pages, (unsigned long long)total,
                   (uint64_t)(page + 1) < pages ? "true" : "false");
    free(ids);
    sim_http_reply(reply, 200, JSON, body.p, body.len, 0);
    sim_buf_free(&body);
}

/* Whether name is in the comma-separated keys list ("" = every key). */
static int wanted(const char *keys, const char *name)
{
    size_t n = strlen(name);
    if (!keys[0])
        return 1;
    for (const char *p = keys; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
        if (!strncmp(p, name, n) && (p[n] == ',' || p[n] == 0))
            return 1;
    return 0;
}

/* The SERVER_SCOPE attributes of the entity, typed as ThingsBoard's REST API writes
 * them: assetDetails as stored (object, or a string holding JSON), active a boolean,
 * firmware a string, the times and capacity numbers. */
static void attributes(uint32_t idx, const char *keys, sim_buf *reply)
{
    sim_buf body = { 0 }, v = { 0 };
    int first = 1;
    sim_buf_put(&body, "[", 1);
    for (int a = 0; a < SIM_NATTR; a++) {
        int slot = SIM_SLOT_ATTR(a);
        int64_t ts;
        v.len = 0;
        if (!wanted(keys, sim_slot_name(slot)) ||
            !sim_value(idx, slot, a == SIM_ATTR_CAPACITY ? SIM_FMT_UPDATE : SIM_FMT_PAGE, &ts, &v))
            continue;
        sim_buf_printf(&body,
                       "%s{\"lastUpdateTs\":%lld,\"key\":\"%s\",\"value\":", first ? "" : ",",
                       (long long)ts, sim_slot_name(slot));
        first = 0;
        if (a == SIM_ATTR_FIRMWARE || (a == SIM_ATTR_DETAILS && sim_details_mode(idx) == 2))
            sim_buf_json_str(&body, v.p, v.len);
        else
            sim_buf_put(&body, v.p, v.len);
        sim_buf_put(&body, "}", 1);
    }
    sim_buf_put(&body, "]", 1);
    sim_http_reply(reply, 200, JSON, body.p, body.len, 0);
    sim_buf_free(&body);
    sim_buf_free(&v);
}

static void telemetry(const sim_req *req, sim_buf *reply)
{
    const char *p = req->path + strlen("/api/plugins/telemetry/");
    int dev = !strncmp(p, "DEVICE/", 7);
    if (strncmp(p, "ASSET/", 6) != 0 && !dev) {
        const char *m = "Unsupported entity type";
        sim_http_reply(reply, 400, "text/plain;charset=UTF-8", m, strlen(m), 0);
        return;
    }
    p += dev ? 7 : 6;
    const char *slash = strchr(p, '/');
    uint32_t idx;
    if (!slash) {
        sim_http_tb_error(reply, 404, "Not Found", 32, 0);
        return;
    }
    if (sim_asset_from_id(p, (size_t)(slash - p), &idx) != 0 || !sim_asset_exists(idx) ||
        sim_is_device(idx) != dev) {
        char m[128];
        if (slash - p != 36)
            snprintf(m, sizeof m, "Invalid UUID string: %.*s",
                     (int)(slash - p > 60 ? 60 : slash - p), p);
        else
            snprintf(m, sizeof m, "%s with requested id wasn't found!", dev ? "Device" : "Asset");
        sim_http_reply(reply, slash - p != 36 ? 400 : 404, "text/plain;charset=UTF-8", m, strlen(m),
                       0);
        return;
    }
    const char *rest = slash;
    char keys[1024] = "";
    if (sim_query_param(req->query, "keys", keys, sizeof keys) < 0)
        sim_query_param(req->query, "key", keys, sizeof keys);
    if (!strcmp(rest, "/values/attributes/SERVER_SCOPE") || !strcmp(rest, "/values/attributes")) {
        attributes(idx, keys, reply);
    } else if (!strcmp(rest, "/keys/timeseries")) {
        sim_buf body = { 0 };
        sim_buf_put(&body, "[", 1);
        int first = 1;
        for (uint32_t k = 0; k < sim.nkeys; k++)
            if (sim_has_key(idx, (int)k)) {
                sim_buf_printf(&body, "%s\"%s\"", first ? "" : ",", sim.keys[k].name);
                first = 0;
            }
        sim_buf_put(&body, "]", 1);
        sim_http_reply(reply, 200, JSON, body.p, body.len, 0);
        sim_buf_free(&body);
    } else if (!strcmp(rest, "/keys/attributes") ||
               !strcmp(rest, "/keys/attributes/SERVER_SCOPE")) {
        sim_buf body = { 0 };
        sim_buf_put(&body, "[", 1);
        for (int a = 0; a < SIM_NATTR; a++)
            if (sim_has_key(idx, SIM_SLOT_ATTR(a)))
                sim_buf_printf(&body, "%s\"%s\"", body.len > 1 ? "," : "",
                               sim_slot_name(SIM_SLOT_ATTR(a)));
        sim_buf_put(&body, "]", 1);
        sim_http_reply(reply, 200, JSON, body.p, body.len, 0);
        sim_buf_free(&body);
    } else if (!strcmp(rest, "/values/timeseries")) {
        sim_buf body = { 0 }, v = { 0 };
        sim_buf_put(&body, "{", 1);
        int first = 1;
        for (uint32_t k = 0; k < sim.nkeys; k++) {
            int64_t ts;
            v.len = 0;
            if (!wanted(keys, sim.keys[k].name) || !sim_value(idx, (int)k, SIM_FMT_PAGE, &ts, &v))
                continue;
            sim_buf_printf(&body, "%s\"%s\":[{\"ts\":%lld,\"value\":", first ? "" : ",",
                           sim.keys[k].name, (long long)ts);
            sim_buf_json_str(&body, v.p, v.len);
            sim_buf_puts(&body, "}]");
            first = 0;
        }
        sim_buf_put(&body, "}", 1);
        sim_http_reply(reply, 200, JSON, body.p, body.len, 0);
        sim_buf_free(&body);
        sim_buf_free(&v);
    } else {
        sim_http_tb_error(reply, 404, "Not Found", 32, 0);
    }
}

/* 1 if path is prefix + "assets" or prefix + "devices" (*devices set accordingly). */
static int list_kind(const char *path, const char *prefix, int *devices)
{
    size_t n = strlen(prefix);
    if (strncmp(path, prefix, n) != 0)
        return 0;
    *devices = !strcmp(path + n, "devices");
    return *devices || !strcmp(path + n, "assets");
}

void sim_rest_handle(sim_conn *c, const sim_req *req, sim_buf *reply)
{
    int devices = 0;
    sim.st.rest_calls++;
    if (sim.delay_rest_ms > 0)
        c->delay_until = sim_mono_ms() + sim.delay_rest_ms;
    if (sim.fail_rest_n > 0) {
        sim.fail_rest_n--;
        sim.st.rest_faults++;
        int s = sim.fail_rest_status;
        if (s == 429)
            sim_http_tb_error(reply, 429, "Too many requests for current tenant!", 33, 0);
        else
            sim_http_tb_error(reply, s, s == 503 ? "Service Unavailable" : "Internal server error",
                              2, 0);
        return;
    }
    if (!strcmp(req->path, "/api/auth/login")) {
        login(req, reply);
        return;
    }
    if (!strcmp(req->path, "/api/auth/token")) {
        refresh(req, reply);
        return;
    }
    if (strncmp(req->path, "/api/", 5) != 0) {
        sim_http_tb_error(reply, 404, "Not Found", 32, 0);
        return;
    }
    if (authorize(req, reply) != 0)
        return;
    if (!strcmp(req->path, "/api/auth/logout")) {
        sim_http_reply(reply, 200, NULL, "", 0, 0);
    } else if (list_kind(req->path, "/api/user/", &devices) && sim.edition_ce) {
        /* CE has no /api/user/assets|devices: the path means /api/user/{userId} */
        sim_http_tb_error(reply, 400,
                          devices ? "Invalid UUID string: devices" : "Invalid UUID string: assets",
                          31, 0);
    } else if (list_kind(req->path, "/api/user/", &devices) ||
               (list_kind(req->path, "/api/tenant/", &devices) &&
                !strcmp(sim.authority, "TENANT_ADMIN"))) {
        if (strcmp(req->method, "GET") != 0)
            sim_http_tb_error(reply, 405,
                              "Request method '"
                              "POST"
                              "' is not supported",
                              31, 0);
        else
            listing(req, reply, devices);
    } else if (!strncmp(req->path, "/api/customer/", 14) && strlen(req->path) > 21 &&
               (!strcmp(req->path + strlen(req->path) - 7, "/assets") ||
                !strcmp(req->path + strlen(req->path) - 8, "/devices"))) {
        customer_listing(req, reply, !strcmp(req->path + strlen(req->path) - 8, "/devices"));
    } else if (!strncmp(req->path, "/api/plugins/telemetry/", 23)) {
        telemetry(req, reply);
    } else if (list_kind(req->path, "/api/tenant/", &devices)) {
        sim_http_tb_error(reply, 403, "You don't have permission to perform this operation!", 20,
                          0);
    } else {
        sim_http_tb_error(reply, 404, "Not Found", 32, 0);
    }
}
