/*
 * sim_cmd.c -- client commands on /api/ws, parsed as strictly as ThingsBoard's Jackson
 * mapper does (reference document section g):
 *
 * - unknown fields fail parsing, except inside the query and the entity filter
 *   (those classes ignore unknown properties);
 * - before authentication: unparseable -> close 1007 with the parser's message, no
 *   authCmd -> close 1008 "Auth cmd is missing", bad/expired token -> 1007
 *   "JWT Token expired", malformed token -> 1007 "Invalid JWT token: "; success is silent;
 * - after authentication: unparseable -> {"subscriptionId":1,"errorCode":2,
 *   "errorMsg":"Failed to parse the payload","data":null,"latestValues":{}};
 *   validation errors use the same legacy shape with subscriptionId = cmdId.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "tests/sim/sim.h"

#define MAX_TOK 8192

static const char *const cmd_types[] = { "ATTRIBUTES",
                                         "TIMESERIES",
                                         "TIMESERIES_HISTORY",
                                         "ENTITY_DATA",
                                         "ENTITY_COUNT",
                                         "ALARM_DATA",
                                         "ALARM_COUNT",
                                         "ALARM_STATUS",
                                         "NOTIFICATIONS",
                                         "NOTIFICATIONS_COUNT",
                                         "MARK_NOTIFICATIONS_AS_READ",
                                         "MARK_ALL_NOTIFICATIONS_AS_READ",
                                         "ENTITY_DATA_UNSUBSCRIBE",
                                         "ENTITY_COUNT_UNSUBSCRIBE",
                                         "ALARM_DATA_UNSUBSCRIBE",
                                         "ALARM_COUNT_UNSUBSCRIBE",
                                         "ALARM_STATUS_UNSUBSCRIBE",
                                         "NOTIFICATIONS_UNSUBSCRIBE",
                                         NULL };

typedef struct {
    const char *js;
    jsmntok_t *t;
    int n;
    char why[160]; /* first parse problem, for the 1007 reason */
} pctx;

void sim_legacy_error(sim_session *s, int sub_id, int code, const char *msg)
{
    sim_buf b = { 0 };
    sim_buf_printf(&b, "{\"subscriptionId\":%d,\"errorCode\":%d,\"errorMsg\":", sub_id, code);
    sim_buf_json_str(&b, msg, strlen(msg));
    sim_buf_puts(&b, ",\"data\":null,\"latestValues\":{}}");
    sim_ws_text(s, SIM_MSG_REPLY, sub_id, b.p, b.len);
    sim_buf_free(&b);
}

/* Every member of object `obj` must be in `allowed` (NULL-terminated). */
static int only_fields(pctx *p, int obj, const char *const *allowed, const char *cls)
{
    if (p->t[obj].type != JSMN_OBJECT) {
        snprintf(p->why, sizeof p->why, "Cannot deserialize value of type `%s` from non-object",
                 cls);
        return -1;
    }
    int i = obj + 1;
    for (int m = 0; m < p->t[obj].size; m++) {
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = json_eq(p->js, &p->t[i], *a);
        if (!ok) {
            snprintf(p->why, sizeof p->why,
                     "Unrecognized field \"%.*s\" (class %s), not marked as ignorable",
                     p->t[i].end - p->t[i].start > 40 ? 40 : p->t[i].end - p->t[i].start,
                     p->js + p->t[i].start, cls);
            return -1;
        }
        i = json_skip(p->t, p->n, i + 1);
    }
    return 0;
}

static int str_tok(pctx *p, int i, char *out, size_t cap)
{
    if (i < 0 || p->t[i].type != JSMN_STRING)
        return -1;
    return json_unescape(p->js + p->t[i].start, (size_t)(p->t[i].end - p->t[i].start), out, cap) < 0
               ? -1
               : 0;
}

static int parse_key(pctx *p, int i, sim_qkey *k)
{
    static const char *const f[] = { "type", "key", NULL };
    char type[32];
    if (only_fields(p, i, f, "org.thingsboard.server.common.data.query.EntityKey"))
        return -1;
    int it = json_find(p->js, p->t, p->n, i, "type"), ik = json_find(p->js, p->t, p->n, i, "key");
    if (str_tok(p, it, type, sizeof type) || str_tok(p, ik, k->name, sizeof k->name))
        return -1;
    if (!strcmp(type, "TIME_SERIES"))
        k->type = SIM_KT_TIME_SERIES, k->slot = sim_key_find(k->name, strlen(k->name));
    else if (!strcmp(type, "SERVER_ATTRIBUTE") || !strcmp(type, "ATTRIBUTE"))
        k->type = !strcmp(type, "ATTRIBUTE") ? SIM_KT_ATTRIBUTE : SIM_KT_SERVER_ATTRIBUTE,
        k->slot = sim_attr_slot(k->name, strlen(k->name));
    else if (!strcmp(type, "ENTITY_FIELD"))
        k->type = SIM_KT_ENTITY_FIELD, k->slot = -1;
    else if (!strcmp(type, "CLIENT_ATTRIBUTE") || !strcmp(type, "SHARED_ATTRIBUTE") ||
             !strcmp(type, "ALARM_FIELD") || !strcmp(type, "CONSTANT"))
        k->type = SIM_KT_OTHER, k->slot = -1;
    else {
        snprintf(p->why, sizeof p->why, "Cannot deserialize value of type `EntityKeyType`");
        return -1;
    }
    return 0;
}

static int parse_keys(pctx *p, int arr, sim_qkey *out, int *n, int cap)
{
    if (arr < 0 || json_is_null(p->js, &p->t[arr]))
        return 0;
    if (p->t[arr].type != JSMN_ARRAY)
        return -1;
    int i = arr + 1;
    for (int m = 0; m < p->t[arr].size; m++) {
        if (*n < cap && parse_key(p, i, &out[*n]) == 0)
            (*n)++;
        else if (*n < cap)
            return -1;
        i = json_skip(p->t, p->n, i);
    }
    return 0;
}

static int get_int(pctx *p, int i, int64_t *v)
{
    return i < 0 || json_get_i64(p->js, &p->t[i], v) ? -1 : 0;
}

/* query: EntityDataQuery (ignores unknown fields); pageLink is strict. */
static int parse_query(pctx *p, int q, sim_sub *sub, int *has_latest_values)
{
    if (p->t[q].type != JSMN_OBJECT)
        return -1;
    int ef = json_find(p->js, p->t, p->n, q, "entityFilter");
    int pl = json_find(p->js, p->t, p->n, q, "pageLink");
    int fields = json_find(p->js, p->t, p->n, q, "entityFields");
    int lv = json_find(p->js, p->t, p->n, q, "latestValues");
    *has_latest_values = lv >= 0 && !json_is_null(p->js, &p->t[lv]);
    sub->filter = 0;
    sub->ntypes = 0;
    sub->devices = 0;
    sub->name_like[0] = 0;
    if (ef >= 0 && p->t[ef].type == JSMN_OBJECT) {
        char type[32] = "", et[32] = "ASSET";
        str_tok(p, json_find(p->js, p->t, p->n, ef, "type"), type, sizeof type);
        str_tok(p, json_find(p->js, p->t, p->n, ef, "entityType"), et, sizeof et);
        int is_dev = !strcmp(type, "deviceType");
        if (!strcmp(type, "entityList") || !strcmp(type, "singleEntity")) {
            int arr = !strcmp(type, "entityList") ? json_find(p->js, p->t, p->n, ef, "entityList")
                                                  : -1;
            int se = !strcmp(type, "singleEntity")
                         ? json_find(p->js, p->t, p->n, ef, "singleEntity")
                         : -1;
            sub->filter = 1;
            free(sub->list);
            sub->nlist = 0;
            sub->list = malloc(((arr >= 0 ? (size_t)p->t[arr].size : 0) + 1) * sizeof *sub->list);
            /* ids of another entity type than the filter names match nothing */
            if (se >= 0 && p->t[se].type == JSMN_OBJECT) {
                str_tok(p, json_find(p->js, p->t, p->n, se, "entityType"), et, sizeof et);
                sub->devices = !strcmp(et, "DEVICE");
                int id = json_find(p->js, p->t, p->n, se, "id");
                uint32_t idx;
                if (id >= 0 && (sub->devices || !strcmp(et, "ASSET")) &&
                    !sim_asset_from_id(p->js + p->t[id].start,
                                       (size_t)(p->t[id].end - p->t[id].start), &idx))
                    sub->list[sub->nlist++] = idx;
            } else if (arr >= 0 && p->t[arr].type == JSMN_ARRAY &&
                       (!strcmp(et, "ASSET") || !strcmp(et, "DEVICE"))) {
                sub->devices = !strcmp(et, "DEVICE");
                int i = arr + 1;
                for (int m = 0; m < p->t[arr].size; m++, i = json_skip(p->t, p->n, i)) {
                    uint32_t idx;
                    if (p->t[i].type == JSMN_STRING &&
                        !sim_asset_from_id(p->js + p->t[i].start,
                                           (size_t)(p->t[i].end - p->t[i].start), &idx))
                        sub->list[sub->nlist++] = idx;
                }
            }
        } else if (!strcmp(type, "assetType") || is_dev) {
            /* deviceTypes (deviceType, deprecated, when the list is absent or empty) and
             * deviceNameFilter (assetTypes, assetType, assetNameFilter likewise); the name
             * filter is matched in sim_query.c */
            sub->filter = 2;
            sub->devices = is_dev;
            str_tok(p,
                    json_find(p->js, p->t, p->n, ef,
                              is_dev ? "deviceNameFilter" : "assetNameFilter"),
                    sub->name_like, sizeof sub->name_like);
            int arr = json_find(p->js, p->t, p->n, ef, is_dev ? "deviceTypes" : "assetTypes");
            if (arr >= 0 && p->t[arr].type == JSMN_ARRAY) {
                int i = arr + 1;
                for (int m = 0; m < p->t[arr].size && sub->ntypes < 8;
                     m++, i = json_skip(p->t, p->n, i))
                    if (!str_tok(p, i, sub->types[sub->ntypes], sizeof sub->types[0]))
                        sub->ntypes++;
            }
            if (!sub->ntypes &&
                !str_tok(p, json_find(p->js, p->t, p->n, ef, is_dev ? "deviceType" : "assetType"),
                         sub->types[0], sizeof sub->types[0]))
                sub->ntypes = 1;
            if (!sub->ntypes) { /* `type in (null)`: nothing */
                sub->filter = 1;
                free(sub->list);
                sub->list = malloc(sizeof *sub->list);
                sub->nlist = 0;
            }
        } else if (!strcmp(type, "entityType") && !strcmp(et, "DEVICE")) {
            sub->devices = 1;
        } else if (strcmp(type, "entityType") != 0 || strcmp(et, "ASSET") != 0) {
            sub->filter = 1; /* a filter we do not model: matches no asset */
            free(sub->list);
            sub->list = malloc(sizeof *sub->list);
            sub->nlist = 0;
        }
    }
    sub->page = 0;
    sub->page_size = 10;
    sub->desc = sub->dynamic = sub->sort_name = 0;
    sub->text[0] = 0;
    if (pl >= 0 && !json_is_null(p->js, &p->t[pl])) {
        static const char *const f[] = { "pageSize",  "page",    "textSearch",
                                         "sortOrder", "dynamic", NULL };
        if (only_fields(p, pl, f, "org.thingsboard.server.common.data.query.EntityDataPageLink"))
            return -1;
        int64_t v;
        if (!get_int(p, json_find(p->js, p->t, p->n, pl, "pageSize"), &v))
            sub->page_size = v > 0x7fffffff ? 0x7fffffff : v < -1 ? -1 : (int)v;
        if (!get_int(p, json_find(p->js, p->t, p->n, pl, "page"), &v))
            sub->page = v > 0x7fffffff ? 0x7fffffff : v < -1 ? -1 : (int)v;
        str_tok(p, json_find(p->js, p->t, p->n, pl, "textSearch"), sub->text, sizeof sub->text);
        int dyn = json_find(p->js, p->t, p->n, pl, "dynamic");
        if (dyn >= 0)
            json_get_bool(p->js, &p->t[dyn], &sub->dynamic);
        int so = json_find(p->js, p->t, p->n, pl, "sortOrder");
        if (so >= 0 && p->t[so].type == JSMN_OBJECT) {
            static const char *const sf[] = { "key", "direction", NULL };
            if (only_fields(p, so, sf,
                            "org.thingsboard.server.common.data.query.EntityDataSortOrder"))
                return -1;
            char dir[8] = "ASC";
            str_tok(p, json_find(p->js, p->t, p->n, so, "direction"), dir, sizeof dir);
            sub->desc = !strcmp(dir, "DESC");
        }
    }
    sub->nfields = 0;
    sub->nkeys = 0;
    if (parse_keys(p, fields, sub->fields, &sub->nfields, 16) ||
        parse_keys(p, lv, sub->keys, &sub->nkeys, SIM_MAX_QKEYS))
        return -1;
    return 0;
}

static sim_sub *find_sub(sim_session *s, int cmd_id, int create)
{
    sim_sub *free_slot = NULL;
    for (int i = 0; i < SIM_MAX_SUBS; i++) {
        if (s->subs[i].active && s->subs[i].cmd_id == cmd_id)
            return &s->subs[i];
        if (!s->subs[i].active && !free_slot)
            free_slot = &s->subs[i];
        if (i >= s->subs_hw && free_slot)
            break; /* nothing active beyond the high-water mark */
    }
    if (create && free_slot && free_slot - s->subs >= s->subs_hw)
        s->subs_hw = (int)(free_slot - s->subs) + 1;
    return create ? free_slot : NULL;
}

/* One element of cmds. Returns -1 on a parse failure (reported by the caller). */
static int run_cmd(sim_session *s, pctx *p, int c, int dry)
{
    char type[48];
    if (p->t[c].type != JSMN_OBJECT ||
        str_tok(p, json_find(p->js, p->t, p->n, c, "type"), type, sizeof type))
        return -1;
    int known = 0;
    for (const char *const *ct = cmd_types; *ct && !known; ct++)
        known = !strcmp(type, *ct);
    if (!known) {
        snprintf(p->why, sizeof p->why, "Could not resolve type id '%s' as a subtype of `WsCmd`",
                 type);
        return -1;
    }
    int64_t cmd_id = 0;
    int ic = json_find(p->js, p->t, p->n, c, "cmdId");
    if (ic >= 0 && get_int(p, ic, &cmd_id))
        return -1;
    if (!strcmp(type, "ENTITY_DATA_UNSUBSCRIBE")) {
        static const char *const f[] = { "cmdId", "type", NULL };
        if (only_fields(p, c, f, "EntityDataUnsubscribeCmd"))
            return -1;
        if (dry)
            return 0;
        sim_sub *sub = find_sub(s, (int)cmd_id, 0);
        if (sub) {
            sim_sub_free(sub);
            sim.st.unsubscribes++;
        }
        return 0; /* no reply */
    }
    if (strcmp(type, "ENTITY_DATA") != 0) {
        if (!dry)
            sim_legacy_error(s, (int)cmd_id, 1, "Command type not supported by iotpro-sim");
        return 0;
    }
    static const char *const f[] = { "cmdId",         "type",     "query",
                                     "latestCmd",     "tsCmd",    "historyCmd",
                                     "aggHistoryCmd", "aggTsCmd", NULL };
    if (only_fields(p, c, f, "org.thingsboard.server.service.ws.telemetry.cmd.v2.EntityDataCmd"))
        return -1;
    int q = json_find(p->js, p->t, p->n, c, "query");
    int lc = json_find(p->js, p->t, p->n, c, "latestCmd");
    if (q >= 0 && json_is_null(p->js, &p->t[q]))
        q = -1;
    if (lc >= 0 && json_is_null(p->js, &p->t[lc]))
        lc = -1;
    sim_qkey lkeys[SIM_MAX_QKEYS];
    int nl = 0;
    if (lc >= 0) {
        static const char *const lf[] = { "keys", NULL };
        if (only_fields(p, lc, lf, "LatestValueCmd") ||
            parse_keys(p, json_find(p->js, p->t, p->n, lc, "keys"), lkeys, &nl, SIM_MAX_QKEYS))
            return -1;
    }
    sim_sub tmp;
    memset(&tmp, 0, sizeof tmp);
    int has_lv = 0;
    if (q >= 0 && parse_query(p, q, &tmp, &has_lv)) {
        free(tmp.list);
        return -1;
    }
    if (dry) {
        free(tmp.list);
        return 0;
    }
    /* validation, in the order DefaultWebSocketService applies it */
    const char *err = NULL;
    int code = 2;
    char msg[160];
    int other = json_find(p->js, p->t, p->n, c, "tsCmd") >= 0 ||
                json_find(p->js, p->t, p->n, c, "historyCmd") >= 0;
    if (cmd_id < 0) {
        err = "Cmd id is negative value!";
    } else if (q < 0 && lc < 0 && !other) {
        err = "Query is empty!";
    } else if (q >= 0 && lc >= 0 && !has_lv) {
        code = 1;
        err = "Cannot invoke \"java.util.List.addAll(java.util.Collection)\" because the return "
              "value of \"org.thingsboard.server.common.data.query.EntityDataQuery."
              "getLatestValues()\" is null";
    } else if (q >= 0 && (tmp.page_size < 1 || tmp.page < 0)) {
        code = 1;
        snprintf(msg, sizeof msg,
                 "Incorrect entity data page link page size '%d'. Page size "
                 "must be greater than zero.",
                 tmp.page_size);
        err = msg;
    }
    if (err) {
        sim_legacy_error(s, (int)cmd_id, code, err);
        free(tmp.list);
        return 0;
    }
    if (q < 0) {
        free(tmp.list);
        return 0; /* latestCmd alone for an unknown cmdId: nothing to update */
    }
    for (int i = 0; i < nl && tmp.nkeys < SIM_MAX_QKEYS; i++)
        tmp.keys[tmp.nkeys++] = lkeys[i];
    sim_sub *sub = find_sub(s, (int)cmd_id, 1);
    if (!sub) {
        free(tmp.list);
        sim_legacy_error(s, (int)cmd_id, 1, "Max subscriptions per session reached (iotpro-sim)");
        return 0;
    }
    /* A repeated cmdId rebuilds the subscription; on a SQL backend no new data page
     * once one was sent. */
    int had_page = sub->active && sub->data_sent;
    sim_sub_free(sub);
    *sub = tmp;
    sub->cmd_id = (int)cmd_id;
    sub->active = 1;
    sub->data_sent = had_page;
    sim.st.subscriptions++;
    sim_sub_run(s, sub);
    return 0;
}

static void close_parse_error(sim_session *s, const char *msg, size_t len, const char *why)
{
    char reason[300]; /* ws_close cuts it to 123 bytes, as RFC 6455 requires */
    if (why && *why) {
        snprintf(reason, sizeof reason, "%s", why);
    } else {
        /* Jackson echoes the payload; keep it ASCII so the cut stays valid UTF-8 */
        char echo[64];
        size_t n = 0;
        for (size_t i = 0; i < len && n < sizeof echo - 1; i++)
            echo[n++] = msg[i] >= 0x20 && msg[i] < 0x7f ? msg[i] : '?';
        echo[n] = 0;
        snprintf(reason, sizeof reason,
                 "Unrecognized token '%s': was expecting (JSON String, "
                 "Number, Array, Object or token 'null', 'true' or 'false')",
                 echo);
    }
    sim.st.ws_auth_failed++;
    sim_ws_close(s, 1007, reason);
}

void sim_cmd_message(sim_session *s, const char *msg, size_t len)
{
    static jsmntok_t tok[MAX_TOK];
    pctx p = { msg, tok, 0, "" };
    p.n = json_parse(msg, len, tok, MAX_TOK);
    static const char *const top[] = { "authCmd", "cmds", NULL };
    int bad = p.n < 1 ||
              only_fields(&p, 0, top, "org.thingsboard.server.service.ws.WsCommandsWrapper");
    int ia = bad ? -1 : json_find(msg, tok, p.n, 0, "authCmd");
    int ic = bad ? -1 : json_find(msg, tok, p.n, 0, "cmds");
    if (!bad && ia >= 0 && !json_is_null(msg, &tok[ia])) {
        static const char *const af[] = { "cmdId", "token", "apiKey", NULL };
        bad = only_fields(&p, ia, af, "org.thingsboard.server.service.ws.AuthCmd");
    }
    if (!bad && ic >= 0 && !json_is_null(msg, &tok[ic])) {
        if (tok[ic].type != JSMN_ARRAY) {
            bad = 1;
        } else {
            int i = ic + 1;
            for (int m = 0; m < tok[ic].size && !bad; m++, i = json_skip(tok, p.n, i))
                bad = run_cmd(s, &p, i, 1) != 0;
        }
    }
    if (s->st == SIM_WS_UNAUTH) {
        if (bad) {
            close_parse_error(s, msg, len, p.n < 1 ? NULL : p.why);
            return;
        }
        if (ia < 0 || json_is_null(msg, &tok[ia])) {
            sim.st.ws_auth_failed++;
            sim_ws_close(s, 1008, "Auth cmd is missing");
            return;
        }
        sim.st.auth_cmds++;
        char token[4096] = "";
        str_tok(&p, json_find(msg, tok, p.n, ia, "token"), token, sizeof token);
        sim_jwt_status st = sim_jwt_check(token, strlen(token), 0, NULL);
        if (st != SIM_JWT_OK) {
            sim.st.ws_auth_failed++;
            sim_ws_close(s, 1007,
                         st == SIM_JWT_EXPIRED ? "JWT Token expired" : "Invalid JWT token: ");
            return;
        }
        sim.st.ws_auth_ok++;
        s->st = SIM_WS_READY;
        s->last_pong = sim_mono_ms();
        s->next_ping = s->last_pong + sim.ping_interval_ms;
    } else if (bad) {
        sim.st.parse_errors++;
        sim_legacy_error(s, 1, 2, "Failed to parse the payload");
        return;
    } else if (ia >= 0) {
        sim.st.auth_cmds++; /* ignored on an authenticated session */
    }
    if (ic >= 0 && tok[ic].type == JSMN_ARRAY) {
        int i = ic + 1;
        for (int m = 0; m < tok[ic].size && s->st == SIM_WS_READY; m++, i = json_skip(tok, p.n, i))
            run_cmd(s, &p, i, 0);
    }
}
