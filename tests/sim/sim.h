/*
 * sim.h -- shared types of iotpro-sim, the simulated IoT Pro (ThingsBoard PE) backend.
 *
 * The simulator is one process with one thread: a poll() loop (sim_main.c) over the
 * API listener (TLS or plain), the control listener (plain HTTP, loopback) and every
 * accepted connection. Everything lives in one global `sim` (struct sim_state); no
 * locking is needed because nothing runs concurrently.
 *
 * Modules (one idea per file):
 *   sim_main.c   flags, poll loop, timers          sim_tls.c    BearSSL server setup
 *   sim_conn.c   connections: TLS/plain pumps      sim_http.c   request parser, replies
 *   sim_rest.c   REST handlers                     sim_jwt.c    HS512 tokens
 *   sim_model.c  assets, keys, values (seeded)     sim_fmt.c    JSON/number rendering
 *   sim_ws.c     WebSocket sessions, auth, pings   sim_cmd.c    command parsing, queries
 *   sim_sub.c    subscriptions, data pages, updates sim_ctl.c   control endpoint
 *   sim_flood.c  pre-rendered flood stream         sim_outq.c   message boundaries, stats
 *   sim_limit.c  update / subscription limiters    sim_reorder.c reordered delivery
 *   sim_ctl_flow.c control routes for flow control, reorder, edition
 *   sim_device.c device connectivity: activity, inactivity timeout, quiet fault
 */
#ifndef IOTPRO_TESTS_SIM_H
#define IOTPRO_TESTS_SIM_H

#include <stddef.h>
#include <stdint.h>

#include <bearssl.h>

#include "core/ws.h"

/* ---- growable byte buffer (the simulator may allocate; core/ may not) ------------- */
typedef struct {
    char *p; /* the data: p[0..len); room for cap bytes from p */
    size_t len, cap;
    size_t skip; /* consumed bytes before p (the allocation starts at p - skip), so
                     * sim_buf_consume is O(1): a queue of 200 MB drained 16 KB at a
                     * time must not move the rest each time */
} sim_buf;

void sim_buf_reserve(sim_buf *b, size_t extra);
void sim_buf_put(sim_buf *b, const void *p, size_t n);
void sim_buf_puts(sim_buf *b, const char *s);
void sim_buf_printf(sim_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. */
void sim_buf_json_str(sim_buf *b, const char *s, size_t n);
/* Number formatting without printf (the hot paths render millions of them):
 * v as exactly `digits` lowercase hex digits ("%0*llx", cut to the low digits), and v
 * in decimal ("%lld"). */
void sim_buf_hex(sim_buf *b, uint64_t v, int digits);
void sim_buf_i64(sim_buf *b, int64_t v);
void sim_buf_consume(sim_buf *b, size_t n); /* drops n bytes from the front */
void sim_buf_free(sim_buf *b);

/* ---- time ---------------------------------------------------------------------------- */
int64_t sim_now_ms(void);  /* wall clock, epoch ms (what ts values use) */
int64_t sim_mono_ms(void); /* monotonic, for timers */

/* ---- data model (sim_model.c) ------------------------------------------------------ */
typedef enum { SIM_V_STRING, SIM_V_DOUBLE, SIM_V_LONG, SIM_V_BOOL } sim_vtype;

typedef struct {
    char name[64];
    sim_vtype type;
    double lo, hi;   /* numeric range */
    int decimals;    /* DOUBLE: digits after the point */
    int missing_pct; /* share of assets that never report this key */
} sim_key;

#define SIM_MAX_KEYS    64
#define SIM_MAX_RENAMES 1024
/* Longest asset name or value a test can set (/assets/rename, /update): room past the
 * exporter's 256-byte cuts, so tests can reach them. */
#define SIM_TEXT_MAX  1024
#define SIM_NPROFILES 5

/* Key slots per entity: the telemetry keys, then the SERVER_SCOPE attributes, in this
 * order. assetDetails is on assets only; active, lastActivityTime, inactivityAlarmTime
 * and lastConnectTime are the device state service's and on devices only; firmware
 * and capacity are on about 90 % of both. */
enum {
    SIM_ATTR_DETAILS,
    SIM_ATTR_FIRMWARE,
    SIM_ATTR_CAPACITY,
    SIM_ATTR_ACTIVE,
    SIM_ATTR_LAST_ACTIVITY,
    SIM_ATTR_ALARM_TIME,
    SIM_ATTR_CONNECT_TIME,
    SIM_NATTR
};
#define SIM_SLOT_ATTR(a)    ((int)sim.nkeys + (a))
#define SIM_SLOT_DETAILS    (sim.nkeys)
#define SIM_SLOT_IS_ATTR(s) ((s) >= (int)sim.nkeys)
/* The attribute's slot by name, or -1. */
int sim_attr_slot(const char *name, size_t len);
/* Key name of a slot: the telemetry key or the attribute. */
const char *sim_slot_name(int slot);

typedef struct {
    uint32_t index;
    char name[SIM_TEXT_MAX];
} sim_rename;

/* Value rendering: the first `data` page uses SQL-cast text ("25"), pushed updates use
 * Java's Double.toString ("25.0", "1.2345E7"), as the reference document describes. */
typedef enum { SIM_FMT_PAGE, SIM_FMT_UPDATE } sim_fmt;

/* Entity indices: assets are [0, sim_model_count()), devices are
 * [sim_device_base(), sim_device_base() + sim_device_count()). The sim_asset_*
 * functions below take either (an asset's or a device's id, name, profile...). */
void sim_model_init(uint32_t nassets, uint32_t ndevices, uint32_t nkeys, uint64_t seed);
uint32_t sim_model_count(void);   /* asset index space (including removed) */
uint32_t sim_model_removed(void); /* how many of those were removed */
uint32_t sim_device_base(void);
uint32_t sim_device_count(void);
int sim_is_device(uint32_t idx);
const char *sim_entity_type(uint32_t idx); /* "ASSET" or "DEVICE" */
int sim_asset_exists(uint32_t idx);
/* Quiet fault: the entity sends no telemetry (generator, device heartbeat). */
int sim_quiet(uint32_t idx);
void sim_set_quiet(uint32_t idx, int on);
void sim_asset_id(uint32_t idx, char out[37]);
int sim_asset_from_id(const char *id, size_t len, uint32_t *idx); /* 0 ok, -1 unknown */
/* Name into out (cap >= 256), UTF-8, may hold quotes, backslashes, newlines. */
size_t sim_asset_name(uint32_t idx, char *out, size_t cap);
const char *sim_asset_type(uint32_t idx);
void sim_asset_label(uint32_t idx, char *out, size_t cap);
int64_t sim_asset_created(uint32_t idx);
void sim_asset_profile_id(uint32_t idx, char out[37]);
/* assetDetails: 0 absent, 1 JSON object, 2 a string holding JSON. */
int sim_details_mode(uint32_t idx);
void sim_details_json(uint32_t idx, sim_buf *b); /* the JSON text (object) */

int sim_key_find(const char *name, size_t len); /* key index or -1 */
int sim_has_key(uint32_t idx, int key);         /* entity has this key (slot) now */
/* Latest value of (asset, slot): ts (0 if missing/deleted) and text in fmt. Returns 0
 * when the key has no value (ts 0, ""). */
int sim_value(uint32_t idx, int slot, sim_fmt fmt, int64_t *ts, sim_buf *out);
/* A new value for (asset, slot) "saved" now; returns the new ts. */
int64_t sim_bump(uint32_t idx, int slot);
void sim_delete_value(uint32_t idx, int slot);              /* ts 0, "" from now on */
void sim_set_string(uint32_t idx, int slot, const char *v); /* forced value (control) */
void sim_touch(uint32_t idx, int slot, int64_t ts);         /* same value, new ts (flood) */
/* Saves the current state of (entity, slot) now without changing how it renders (the
 * connectivity attributes, whose values live in sim_device.c); returns the new ts. */
int64_t sim_stamp(uint32_t idx, int slot);

/* ---- device connectivity (sim_device.c): ThingsBoard's device state service ---------- */
void sim_device_init(void); /* after sim_model_init; every device active */
/* Device state for rendering: active flag, lastActivityTime, inactivityAlarmTime (0 =
 * never), lastConnectTime. */
int sim_device_active(uint32_t idx);
int64_t sim_device_last_activity(uint32_t idx);
int64_t sim_device_alarm_time(uint32_t idx);
int64_t sim_device_connect_time(uint32_t idx);
/* A device reported telemetry at ts: lastActivityTime saved and pushed, and active if it
 * was not. No-op for assets. */
void sim_device_reported(uint32_t idx, int64_t ts);
/* Periodic: heartbeat telemetry of devices that are not quiet, inactivity timeout. */
void sim_device_timers(int64_t now_ms);
uint32_t sim_device_active_count(void);

uint32_t sim_asset_add(const char *type); /* returns new index */
int sim_asset_remove(uint32_t idx);
int sim_asset_rename(uint32_t idx, const char *name);

/* ---- numbers (sim_fmt.c) -------------------------------------------------------- */
void sim_fmt_double(double v, sim_fmt fmt, char out[40]);
/* The same for m / 10^decimals, exact and fast when m has at most 15 digits. */
void sim_fmt_scaled(long long m, int decimals, sim_fmt fmt, char out[40]);

/* ---- JWT (sim_jwt.c) -------------------------------------------------------------- */
typedef enum {
    SIM_JWT_OK = 0,
    SIM_JWT_MALFORMED = -1, /* not three base64url parts / bad JSON */
    SIM_JWT_EXPIRED = -2,   /* bad signature or exp passed (ThingsBoard cannot tell) */
    SIM_JWT_SCOPE = -3      /* access token used as refresh token or the reverse */
} sim_jwt_status;

void sim_jwt_init(uint64_t seed);
/* Issues an access token (scope = the user's authority, or a 2FA scope) or a refresh
 * token, lifetime seconds. Returns the token length. */
size_t sim_jwt_issue(char *out, size_t cap, int refresh, const char *scope, int64_t lifetime);
/* Verifies signature, expiry and kind. iat is written when non-NULL. */
sim_jwt_status sim_jwt_check(const char *tok, size_t len, int refresh, int64_t *iat);
/* The customerId claim of the user's access tokens. */
void sim_jwt_customer_id(char out[37]);

/* ---- HTTP (sim_http.c) ------------------------------------------------------------ */
#define SIM_HTTP_MAX_HEAD 16384u
#define SIM_HTTP_MAX_BODY (1u << 20)

typedef struct {
    char method[16];
    char path[2048];  /* without the query */
    char query[2048]; /* after '?', "" if none */
    char xauth[4096]; /* X-Authorization or Authorization value */
    int upgrade;      /* Upgrade: websocket */
    int close;        /* Connection: close */
    size_t head_len;  /* bytes of the header block including the blank line */
    size_t body_len;
    const char *body; /* view into the connection input */
} sim_req;

/* Parses a complete request at in[0..len): returns 1 done (req filled), 0 need more,
 * -1 malformed, -2 too large. */
int sim_http_parse(const char *in, size_t len, sim_req *req);
/* Query parameter (URL-decoded) into out; returns length or -1 when absent. */
int sim_query_param(const char *query, const char *name, char *out, size_t cap);
void sim_http_reply(sim_buf *out, int status, const char *ctype, const char *body, size_t blen,
                    int close);
/* ThingsBoard's JSON error body. */
void sim_http_tb_error(sim_buf *out, int status, const char *msg, int code, int close);

/* ---- connections (sim_conn.c) ------------------------------------------------------ */
typedef enum { SIM_CK_API, SIM_CK_CONTROL } sim_conn_kind;
typedef enum {
    SIM_CS_HTTP,  /* reading requests */
    SIM_CS_WS,    /* upgraded */
    SIM_CS_DRAIN, /* flush output then close */
    SIM_CS_DEAD   /* to be freed */
} sim_conn_state;

struct sim_session;
struct sim_ctl_stream;

/* What a queued text message is, for /stats when it leaves (sim_outq.c). */
typedef enum {
    SIM_MSG_DATA,        /* an initial (or dynamic) data page */
    SIM_MSG_UPDATE,      /* an update */
    SIM_MSG_ATTR_UPDATE, /* an update of attribute keys (also counted as an update) */
    SIM_MSG_REPLY,       /* error replies: validation, parse, sub-limit (all gated) */
    SIM_MSG_NOTICE,      /* the errorCode 34 notice: bypasses the update limiter */
    SIM_MSG_FAULT        /* injected by the control endpoint: bypasses the limiter */
} sim_msg_kind;

struct sim_outmsg {
    uint64_t end;    /* stream offset just past the frame */
    uint32_t len;    /* payload bytes */
    uint32_t values; /* TIME_SERIES values with a ts it carries (values_sent) */
    uint8_t kind;    /* sim_msg_kind */
};

typedef struct sim_conn {
    int fd;
    unsigned id;
    sim_conn_kind kind;
    sim_conn_state state;
    int tls;
    br_ssl_server_context *sc;
    unsigned char *iobuf;
    sim_buf in;              /* plaintext received, not yet consumed */
    sim_buf out;             /* plaintext waiting for the engine / socket */
    int64_t delay_until;     /* REST delay fault: hold the reply until then (mono ms) */
    sim_buf delayed;         /* the held reply */
    int stalled;             /* half-open fault: no reads, no writes */
    int drop_after_out;      /* close TCP once out is flushed (mid-frame drop) */
    int drop_mid_record;     /* write half of the next TLS record, then close */
    int64_t out_stuck_since; /* mono ms since output stopped draining (0: draining) */
    int64_t no_read_until;   /* no-read fault: read no client input until then (mono ms) */
    /* Text messages in `out`, oldest first (sim_outq.c): where each ends in the byte
     * stream, counted from the first byte ever queued. out_done counts the bytes
     * handed to the socket (plain) or the TLS engine so far. */
    uint64_t out_done;
    struct sim_outmsg *q;
    size_t q_head, q_len, q_cap;
    struct sim_session *ws;
    struct sim_ctl_stream *stream; /* control: /truth producer */
    struct sim_conn *next;
} sim_conn;

/* Output queue bookkeeping (sim_outq.c). A frame of `len` payload bytes carrying
 * `values` time-series values was just appended to c->out in full. */
void sim_outq_push(sim_conn *c, sim_msg_kind kind, size_t len, unsigned values);
/* n more bytes of c->out went to the socket / TLS engine: completed messages count
 * as sent in /stats. Call right after consuming them from c->out. */
void sim_outq_done(sim_conn *c, size_t n);
/* Messages waiting behind the one in flight (ThingsBoard's session queue length). */
size_t sim_outq_waiting(const sim_conn *c);
void sim_outq_free(sim_conn *c);

sim_conn *sim_conn_new(int fd, sim_conn_kind kind, int tls);
void sim_conn_free(sim_conn *c);
/* Moves bytes between socket, engine and buffers. readable/writable from poll. */
void sim_conn_pump(sim_conn *c, int readable, int writable);
/* poll events wanted. */
short sim_conn_events(const sim_conn *c);
void sim_conn_close_now(sim_conn *c); /* abortive: TCP gone, no TLS close_notify */

/* ---- TLS (sim_tls.c) --------------------------------------------------------------- */
int sim_tls_load(const char *cert_file, const char *key_file);
void sim_tls_server_init(br_ssl_server_context *sc, unsigned char *iobuf, size_t iolen);

/* ---- REST (sim_rest.c) ------------------------------------------------------------- */
void sim_rest_handle(sim_conn *c, const sim_req *req, sim_buf *reply);

/* ---- WebSocket sessions (sim_ws.c, sim_cmd.c, sim_sub.c) --------------------------- */
typedef enum {
    SIM_KT_TIME_SERIES,
    SIM_KT_SERVER_ATTRIBUTE,
    SIM_KT_ATTRIBUTE,
    SIM_KT_ENTITY_FIELD,
    SIM_KT_OTHER
} sim_ktype;

typedef struct {
    sim_ktype type;
    int slot; /* TIME_SERIES: key index; attributes: SIM_SLOT_DETAILS; -1 unknown */
    char name[64];
} sim_qkey;

#define SIM_MAX_QKEYS   64
#define SIM_MAX_BUCKETS 4
#define SIM_MAX_SUBS \
    1024 /* ThingsBoard sets no per-session limit on ENTITY_DATA commands; ours is memory */

typedef struct {
    int cmd_id;
    int active;
    /* query */
    int filter;  /* 0 all entities of the type, 1 entity list, 2 asset/device types */
    int devices; /* entity type DEVICE (else ASSET) */
    uint32_t *list;
    size_t nlist; /* entity list (indices) */
    char types[8][64];
    int ntypes;
    char text[256];      /* textSearch, "" none */
    char name_like[256]; /* assetNameFilter / deviceNameFilter, "" none */
    int page, page_size, desc, dynamic, sort_name;
    sim_qkey fields[16];
    int nfields; /* entityFields */
    sim_qkey keys[SIM_MAX_QKEYS];
    int nkeys; /* latestValues (+ latestCmd keys) */
    /* result: the entities on the page, sorted by index for lookups */
    uint32_t *ents;
    size_t nents;
    uint32_t *sorted;     /* same set, ascending, for bsearch */
    int64_t next_refresh; /* dynamic: mono ms */
    /* Subscription rate limit (sim_limit.c): the live part of the page. Entities in
     * `sorted` (nlive of them) have subscriptions; cut_idx (if not UINT32_MAX) has only
     * its first cut_types key types subscribed, in the order of kt[]. */
    size_t nlive;
    uint32_t cut_idx;
    int cut_types;
    sim_ktype kt[3];
    int nkt;       /* key types that take a subscription per entity */
    int data_sent; /* initial data page: 0 never made (subscription limit), 1 sent,
                        * 2 refused by the update limiter */
} sim_sub;

typedef enum {
    SIM_WS_HANDSHAKE, /* request pushed, waiting for OPEN */
    SIM_WS_UNAUTH,    /* open, waiting for authCmd */
    SIM_WS_READY,     /* authenticated */
    SIM_WS_CLOSING    /* close sent */
} sim_ws_state;

struct sim_flood;
/* Keys per flood update: one (each message one key), all the subscribed keys of the
 * asset, or a varying mix of them (about half, at least two when there are). */
enum { SIM_FLOOD_ONE = 0, SIM_FLOOD_ALL = 1, SIM_FLOOD_MIX = 2 };

typedef struct sim_session {
    sim_conn *conn;
    ws_ctx ws;
    uint8_t *msgbuf, *wsout;
    sim_ws_state st;
    int64_t opened;    /* mono ms */
    int64_t last_pong; /* mono ms */
    int64_t next_ping; /* mono ms */
    /* per-session update limiter (sim_limit.c) */
    long upd_tokens[SIM_MAX_BUCKETS];
    int64_t upd_t0[SIM_MAX_BUCKETS];
    unsigned upd_gen;
    int blacklisted;            /* refused a message; the errorCode 34 notice was queued */
    int sub_no;                 /* next internal subscription number */
    int64_t sublim_reply_at[2]; /* last sub-limit reply per message (tenant, user) */
    sim_buf held;               /* reorder: an update held back to swap with the next one */
    int held_cmd;
    unsigned held_values;
    sim_msg_kind held_kind;
    int64_t held_since;
    int64_t close_deadline; /* CLOSING: give up waiting for the peer's close */
    int drop_next_frame;    /* fault: send half of the next message, then drop TCP */
    sim_sub subs[SIM_MAX_SUBS];
    int subs_hw; /* slots ever used: 1 + the highest; loops stop there (a sub
                            * is ~6 KB, and a fan-out over all 1024 per update was
                            * most of the simulator's time at 1000 updates/s) */
    struct sim_flood *flood;
    struct sim_session *next;
} sim_session;

sim_session *sim_ws_open(sim_conn *c, const sim_req *req);
void sim_ws_input(sim_session *s); /* c->in has bytes */
void sim_ws_timers(sim_session *s, int64_t mono);
void sim_ws_free(sim_session *s);
/* Sends a whole text message (framed by us, after anything the codec queued). */
/* Gated by the update limiter unless kind is NOTICE or FAULT; checked against the
 * session queue limit. Returns 0 queued, 1 refused by the limiter, -1 not sent
 * (session closing, stalled, or just closed for the queue limit). id is the
 * cmdId / subscriptionId a refusal notice names. */
int sim_ws_text(sim_session *s, sim_msg_kind kind, int id, const char *p, size_t n);
/* The same for a data page or update carrying `values` TIME_SERIES values with a ts
 * (not the ts-0 placeholders of keys an asset lacks or deleted values): /stats
 * values_sent counts them when the message counts as sent. */
int sim_ws_values(sim_session *s, sim_msg_kind kind, int id, const char *p, size_t n,
                  unsigned values);
void sim_ws_close(sim_session *s, unsigned code, const char *reason);
void sim_ws_flush_codec(sim_session *s); /* codec output -> conn out */

/* Command handling (sim_cmd.c): one text message of an authenticated or new session. */
void sim_cmd_message(sim_session *s, const char *msg, size_t len);
void sim_legacy_error(sim_session *s, int sub_id, int code, const char *msg);

/* Rate limits (sim_limit.c). A spec is "N:S[,N:S...]" (a bare N means N:1). */
typedef struct {
    long n;
    int64_t ms;
} sim_bucket;
/* Parses spec into out[SIM_MAX_BUCKETS]; returns the bucket count, or -1 if bad. */
int sim_limit_parse(const char *spec, sim_bucket *out);
void sim_limit_spec_str(const sim_bucket *b, int n, char *out, size_t cap);
/* Per-session update limiter (intervally refill): 1 pass, 0 refuse. */
int sim_updlim_pass(sim_session *s);
/* Subscription limiter (greedy refill), global: 1 a subscription may be created. */
int sim_sublim_take(void);
/* Creates the subscriptions of sub's page under the subscription limit; returns 0 if
 * all were created, -1 if the limit stopped it (the reply has been sent). */
int sim_sublim_subscribe(sim_session *s, sim_sub *sub);
/* The errorCode 34 notice, exactly as ThingsBoard writes it. */
void sim_notice34(sim_buf *b, int id);

/* Subscriptions (sim_sub.c). */
void sim_sub_run(sim_session *s, sim_sub *sub); /* query + initial data page */
void sim_sub_free(sim_sub *sub);
void sim_sub_dynamic(sim_session *s, sim_sub *sub, int64_t mono);
/* Steady generator: emits `n` update events across live subscriptions. */
void sim_gen_tick(unsigned n);
/* Fans one changed (asset, slots) out to every subscription that covers it. */
void sim_fanout(uint32_t idx, const int *slots, int nslots);
int sim_sub_covers(const sim_sub *sub, uint32_t idx);
/* The TIME_SERIES slots of sub that asset idx reports, into cand[SIM_MAX_QKEYS];
 * returns how many. */
int sim_sub_ts_slots(const sim_sub *sub, uint32_t idx, int *cand);

/* Flood (sim_flood.c). */
/* Reorder fault (sim_reorder.c). */
void sim_reorder_premature(sim_session *s, sim_sub *sub); /* before the data page */
void sim_reorder_missed(sim_session *s, sim_sub *sub);    /* after it */
/* Steady generator updates: 1 if the message was held back to swap with the next. */
int sim_reorder_hold(sim_session *s, sim_msg_kind kind, int cmd_id, const char *p, size_t n,
                     unsigned values);
void sim_reorder_flush(sim_session *s, int64_t mono, int force);
extern int sim_gen_running; /* set while sim_gen_tick fans out */

void sim_flood_build(sim_session *s, sim_sub *sub);
/* Fills whole flood frames, up to cap bytes, into dst; returns bytes written (0 when
 * the next frame does not fit cap). */
size_t sim_flood_fill(sim_session *s, unsigned char *dst, size_t cap);
void sim_flood_free(sim_session *s);

/* ---- control endpoint (sim_ctl.c) ------------------------------------------------- */
void sim_ctl_handle(sim_conn *c, const sim_req *req, sim_buf *reply);
void sim_ctl_say(sim_buf *reply, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
long sim_ctl_num(const sim_req *req, const char *name, long dflt); /* query number */
/* Sessions a fault applies to: ?session=<id> or all open ones. */
#define SIM_FOR_SESSIONS(req, s)                                        \
    for (sim_session *s = sim.sessions; s; s = s->next)                 \
        if (s->conn->state == SIM_CS_WS && s->st != SIM_WS_HANDSHAKE && \
            (sim_ctl_num(req, "session", 0) == 0 ||                     \
             sim_ctl_num(req, "session", 0) == (long)s->conn->id))
/* Flow-control faults (sim_ctl_flow.c): 1 if the route was theirs. */
int sim_ctl_flow(sim_conn *c, const sim_req *req, sim_buf *reply);
void sim_ctl_flow_reset(void);      /* back to the start-up flags */
void sim_ctl_flow_save_start(void); /* remember the start-up flags */
/* "N:S[,N:S][/tenant|/user]" for --sub-limit; 0 ok, -1 bad. */
int sim_sub_limit_set(const char *spec, int scope_user);
int sim_upd_limit_set(const char *spec); /* NULL = off; 0 ok, -1 bad */
/* /truth streaming: fills c->out while it is small; returns 1 while more remains. */
int sim_ctl_stream_more(sim_conn *c);

/* ---- global state --------------------------------------------------------------- */
typedef struct {
    unsigned long logins_ok, logins_failed, refreshes, refreshes_failed, rest_calls, rest_faults,
        ws_connects, ws_auth_ok, ws_auth_failed, auth_cmds, subscriptions, unsubscribes, msgs_sent,
        updates_sent, data_pages, pings_sent, pongs_received, parse_errors, bytes_sent, values_sent,
        flood_msgs, updates_dropped, notices_34, queue_closes, sub_limit_replies, subs_refused,
        attr_updates_sent;
} sim_stats;

struct sim_state {
    /* configuration */
    int plain;
    char username[128], password[128];
    char authority[32];    /* TENANT_ADMIN or CUSTOMER_USER */
    const char *mfa_scope; /* NULL, PRE_VERIFICATION_TOKEN, MFA_CONFIGURATION_TOKEN */
    int64_t token_lifetime, refresh_lifetime; /* seconds */
    int64_t auth_timeout_ms, ping_interval_ms, pong_timeout_ms, dynamic_ms, send_timeout_ms;
    double rate; /* updates per second */
    int flood;
    int flood_shape; /* SIM_FLOOD_ONE / _ALL / _MIX: keys per flood message */
    int nmea;        /* coordinates as degrees + minutes / 60 (15-17 digits) */
    sim_bucket upd_spec[SIM_MAX_BUCKETS];
    int upd_nspec;    /* update limiter, 0 = off */
    unsigned upd_gen; /* bumped on every change: sessions restart buckets */
    sim_bucket sub_spec[SIM_MAX_BUCKETS];
    int sub_nspec;      /* subscription limiter */
    int sub_scope_user; /* 0 per tenant, 1 per user */
    double sub_tokens[SIM_MAX_BUCKETS];
    int64_t sub_last;          /* greedy buckets (mono ms) */
    unsigned long queue_limit; /* session queue, messages (0 = none) */
    int reorder;               /* reorder fault */
    int edition_ce;            /* Community Edition REST endpoints */
    int64_t inactivity_ms;     /* device inactivity timeout */
    uint64_t seed;
    /* model */
    uint32_t nassets, nkeys;
    sim_key keys[SIM_MAX_KEYS];
    /* faults */
    int64_t tokens_invalid_before; /* epoch s: tokens with iat < this are "expired" */
    int64_t fault_lifetime;        /* >0: tokens issued now live this long */
    int reject_refresh;
    int fail_rest_n, fail_rest_status;
    int64_t delay_rest_ms;
    int64_t refuse_until; /* mono ms: listener closed until then */
    int drop_mid_frame_next;
    /* runtime */
    int64_t start_ms;
    sim_conn *conns;
    sim_session *sessions;
    unsigned next_conn_id;
    sim_stats st;
    int api_fd, ctl_fd;
    char api_addr[64];
    int api_port;
};
extern struct sim_state sim;

void sim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t sim_hash(uint64_t a, uint64_t b);

#endif

/* ---- selection (sim_query.c): the asset query shared by REST paging and WS queries -- */
typedef struct {
    const char (*types)[64]; /* asset types (profiles) to keep; ntypes 0 = all */
    int ntypes;
    const char *text;      /* case-insensitive substring of the name; NULL/"" = all */
    const char *name_like; /* the type filters' name filter, SQL ilike with a '%' appended
                            * unless it starts or ends with one; NULL/"" = all */
    const uint32_t *list;  /* explicit entity list (indices); NULL = all of the type */
    size_t nlist;
    int devices; /* devices, else assets */
    int desc;
} sim_filter;

/* Writes the indices of page `page` (size `size`) into out[size]; *total gets the
 * number of matches. Order: index order (== createdTime == id order), reversed if desc. */
size_t sim_select(const sim_filter *f, uint32_t page, uint32_t size, uint32_t *out,
                  uint64_t *total);

extern unsigned sim_jwt_gen_access, sim_jwt_gen_refresh;
void sim_render_asset(sim_buf *b, uint32_t idx); /* an Asset or a Device */
