/*
 * session.h -- the ThingsBoard client state machine: what to do next, given events and
 * the time. No I/O.
 *
 * The event loop (exporter/loop) owns the sockets, the tokens and the asset table. It
 * tells the session what happened (session_handle() with a session_event), takes the
 * resulting actions out (session_next_action()) and performs them, and sleeps until
 * session_next_deadline() at most, then delivers SESSION_EV_TIMER. The session never
 * sees a token, a password or a byte of the network: it decides, the loop does.
 *
 * Two tracks run side by side:
 * - REST (one request at a time, one keep-alive connection): log in, refresh the token
 *   in the background, list assets page by page (also periodically, to rediscover),
 *   optionally fetch details. Priority: login > refresh > assets > details.
 * - WebSocket: connect with the current token, send authCmd + subscriptions, stream;
 *   reconnect with backoff after every close. Refreshing the token never touches an open
 *   WebSocket: ThingsBoard checks the token only when a socket authenticates.
 *
 * Rules (thingsboard-protocol.md a, c, g, h; websocket-tls-reliability.md 5):
 * - Log in once. A login answered 401 (errorCode 10: wrong password, locked or disabled
 *   account; 15: password expired; 45: password violates policy), any other non-429 4xx,
 *   or a two-factor token scope is FATAL: never retried, because repeated wrong
 *   passwords can lock the account permanently.
 * - Refresh at the time the loop computed from the JWT (refresh_at_ms of the login or
 *   refresh result). A refresh answered 401/403/400 logs in again; 429 and 5xx retry.
 *   A refresh that fails refresh_fails_login (3) times in a row for any other reason
 *   (5xx, 408, transport error, unparseable body) logs in instead once the usual REST
 *   backoff of that last failure has passed (refresh, else log in); 429 neither counts
 *   nor breaks the run. Any refresh or login success starts the count again. The login
 *   follows the login rule above: rejected -> FATAL, never retried.
 * - REST 429: retry after a uniformly random 1-4 s (no Retry-After exists). REST 5xx,
 *   transport errors and unparseable bodies: exponential backoff (1 s doubling to the
 *   cap, jittered in [envelope/2, envelope]). REST 401 on an API call: refresh
 *   (errorCode 11) or log in again (otherwise), then retry the call.
 * - WebSocket reconnect: full jitter, delay uniform in [0, min(cap, first * 2^n)]
 *   (first 5 s, cap 60 s); n counts failures since data last arrived, so the backoff
 *   resets only when data arrives on a new connection -- never on 101 alone, so a
 *   server that accepts and immediately closes cannot cause a reconnect storm.
 * - Close classification: 1007 with a token reason ("JWT Token expired", "Token is
 *   outdated", "Invalid JWT token") -> get a new token (refresh; log in when the reason
 *   says outdated/invalid, or after two token closes in a row) before reconnecting, in
 *   parallel with the backoff wait. 1008 "Max pending updates limit reached!" (reason
 *   contains "pending updates", any case: the server's per-session send queue
 *   overflowed, a slow reader or a busy server, not a tenant limit) -> normal backoff,
 *   reason 1008_QUEUE. Any other 1008 "... limit reached" (sessions, subscriptions) ->
 *   back off hard (the envelope jumps to the cap, delay in [cap/2, cap]), 1008_LIMIT.
 *   1009 -> our bug, counted, normal backoff. 1000, 1001, 1006, 1011, 1012, 4500,
 *   everything else -> transient.
 * - Rejected upgrade (SESSION_EV_WS_HANDSHAKE_FAILED, session_classify_upgrade();
 *   websocket-tls-reliability.md 6 item 2): 5xx and 408 -> normal backoff; 401/403 ->
 *   a new token before the next attempt (refresh, or log in after two in a row, as for
 *   1007), normal backoff; 429, 200, 3xx (redirects are never followed), other 4xx and
 *   broken 101s -> configuration or protocol error: back off hard, as for 1008 "limit
 *   reached". A response cut short is SESSION_EV_WS_CONN_ERROR (stage UPGRADE): normal.
 * - No inbound frame for idle_timeout (default 45 s) while open -> abort, reason
 *   ping_timeout. A connection not open within connect_timeout -> abort.
 * - errorCode 34 (Too many updates!, thingsboard-protocol.md g): the server's per-session
 *   update limiter dropped messages, and keeps dropping EVERY message to the session
 *   (the data pages of a resubscription too) until its bucket refills; it sends the 34
 *   once per such episode, and the episode ends only when a message passes again. So a
 *   34 opens an episode and schedules one DO_RESYNC (TOO_MANY_UPDATES) after a delay:
 *   resync34_delay_first_ms (5 s), doubling with each further episode, capped at
 *   backoff_cap_ms. The resync is emitted only when BOTH the delay has passed AND the
 *   episode is over, i.e. a SESSION_EV_WS_MESSAGE that is not itself a 34 arrived after
 *   the notice (at that message if the delay has passed, else at the delay's timer).
 *   Another 34 while the episode is open changes nothing; a 34 after the episode ended
 *   opens a new one and grows the delay (the pending resync moves to now + the new
 *   delay; still one resync). The episode count is forgiven when no 34 has arrived for
 *   resync34_forgive_ms (5 min); a completed resync does not forgive it (its own pages
 *   may start the next episode). The deadline carries the resync time only while the
 *   episode is over, so an open episode never makes the loop spin. A connection loss or
 *   a new connection clears all of it (a new connection subscribes anyway, with a fresh
 *   limiter). A resync for a changed asset set leaves a pending 34 resync in place.
 * - Every rediscover_interval (default 5 min) the assets are listed again in the
 *   background; when the loop reports the set changed, DO_RESYNC (resubscribe) follows.
 * - /api/user/assets answered 400 "Invalid UUID string" (SESSION_HTTP_INVALID_UUID):
 *   the server is ThingsBoard CE; switch to /api/tenant/assets (tenant admin) or
 *   /api/customer/{customerId}/assets (customer user) for the rest of the run.
 *
 * Randomness: session_handle() takes 32 random bits per event; at most one draw is used
 * per event, so a fixed value makes a test deterministic.
 *
 * Errors: the session keeps a sticky error (session_last_error()); the only one is an
 * action queue overflow, which means the loop did not drain actions between events.
 *
 * Threading: none. The loop thread owns the ctx; readers on other threads (metrics)
 * must use a copy taken under the loop's own lock, or read only the stats counters,
 * which are plain integers written by the loop thread.
 */
#ifndef IOTPRO_CORE_SESSION_H
#define IOTPRO_CORE_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#define SESSION_NEVER UINT64_MAX /* session_next_deadline(): no timer pending */

enum {
    SESSION_ERR_ACTION_OVERFLOW = -1401 /* more actions than the queue holds */
};
const char *session_strerror(int err);

/* --- configuration ------------------------------------------------------------------ */
typedef struct {
    uint32_t idle_timeout_ms;       /* no frame for this long -> dead (45 000) */
    uint32_t connect_timeout_ms;    /* DO_WS_CONNECT -> WS_OPENED (20 000) */
    uint32_t close_timeout_ms;      /* DO_WS_CLOSE -> WS_CLOSED, then abort (1 500) */
    uint32_t backoff_first_ms;      /* WS first reconnect envelope (5 000) */
    uint32_t backoff_cap_ms;        /* WS and REST backoff cap (60 000) */
    uint32_t rest_backoff_first_ms; /* REST 5xx/transport first envelope (1 000) */
    uint32_t rest_429_min_ms;       /* REST 429 retry delay range (1 000 .. 4 000) */
    uint32_t rest_429_max_ms;
    uint32_t rediscover_interval_ms; /* 0 = never rediscover (300 000) */
    /* errorCode-34 resync: first delay (5 000), doubling per episode up to
     * backoff_cap_ms; the episode count is forgotten after resync34_forgive_ms (300 000)
     * without a 34. These replace resync_min_interval_ms (removed). */
    uint32_t resync34_delay_first_ms;
    uint32_t resync34_forgive_ms;
    uint32_t refresh_fails_login; /* failed refreshes in a row -> log in (3; 0 = never) */
    uint32_t token_margin_ms;     /* token treated expired this early (2 000) */
    bool rest_details;            /* fetch asset details by REST (default false) */
} session_config;

/* Fills the defaults given above. */
void session_config_defaults(session_config *cfg);

/* --- events ------------------------------------------------------------------------- */
typedef enum {
    SESSION_EV_START = 1,           /* begin: log in */
    SESSION_EV_STOP,                /* shut down: close the WebSocket with 1000 */
    SESSION_EV_TIMER,               /* time passed (deliver at session_next_deadline()) */
    SESSION_EV_HTTP_RESULT,         /* the REST request last asked for has finished */
    SESSION_EV_WS_OPENED,           /* 101 received and validated */
    SESSION_EV_WS_HANDSHAKE_FAILED, /* upgrade rejected: see u.handshake.status */
    SESSION_EV_WS_ACTIVITY,         /* any frame arrived (ping, pong, data) */
    SESSION_EV_WS_MESSAGE,          /* one text message was parsed and applied */
    SESSION_EV_WS_CLOSED,           /* the WebSocket ended (close frame, EOF or local fail) */
    SESSION_EV_WS_CONN_ERROR        /* the WebSocket's connection failed at some stage */
} session_ev_kind;

/* Which request a SESSION_EV_HTTP_RESULT answers. */
typedef enum {
    SESSION_REQ_LOGIN = 1,
    SESSION_REQ_REFRESH,
    SESSION_REQ_ASSETS,
    SESSION_REQ_DETAILS
} session_req;

/* The loop's classification of a finished REST exchange. */
typedef enum {
    SESSION_HTTP_OK = 0,       /* 2xx and the body parsed */
    SESSION_HTTP_STATUS,       /* non-2xx: see status and tb_error_code */
    SESSION_HTTP_TWO_FACTOR,   /* login/refresh 200 with a "scope" (2FA) or no refresh token */
    SESSION_HTTP_INVALID_UUID, /* 400 "Invalid UUID string": /api/user/assets on CE */
    SESSION_HTTP_BAD_BODY,     /* 2xx but the body did not parse */
    SESSION_HTTP_TRANSPORT     /* no response: DNS, connect, TLS, timeout, truncation */
} session_http_class;

/* The authority in the JWT ("scopes"), needed to pick the CE asset endpoint. */
typedef enum {
    SESSION_ROLE_UNKNOWN = 0,
    SESSION_ROLE_TENANT_ADMIN,
    SESSION_ROLE_CUSTOMER_USER
} session_role;

/* Where a WebSocket connection failed (SESSION_EV_WS_CONN_ERROR). */
typedef enum {
    SESSION_STAGE_DNS = 1,
    SESSION_STAGE_TCP,
    SESSION_STAGE_TLS,
    SESSION_STAGE_UPGRADE, /* while reading the 101 (bad or truncated response) */
    SESSION_STAGE_IO       /* after open: reset, EOF without close frame, TLS error */
} session_stage;

typedef struct {
    session_ev_kind kind;
    union {
        struct {
            session_req req;
            session_http_class cls;
            int status;        /* HTTP status, 0 when none */
            int tb_error_code; /* ThingsBoard "errorCode" of the body, -1 when none */
            /* LOGIN/REFRESH OK: */
            uint64_t refresh_at_ms; /* monotonic time to refresh (from the JWT) */
            uint64_t expires_at_ms; /* monotonic time the access token expires */
            session_role role;
            /* ASSETS/DETAILS OK: */
            bool has_next;       /* another page (assets) or asset (details) follows */
            bool assets_changed; /* last page of a listing: the set/names differ */
        } http;
        struct {
            /* The response's HTTP status: not 101 when the server refused; 101 for a
             * 101 that breaks RFC 6455 4.1 (Upgrade, Connection, Sec-WebSocket-Accept,
             * an unrequested extension or subprotocol); 0 when the header block was
             * unparseable, over 8 KiB or over 64 lines. */
            int status;
        } handshake;
        struct {
            bool had_data;     /* carried data or update for our subscriptions */
            int tb_error_code; /* errorCode of an error reply, 0 when none */
        } msg;
        struct {
            uint16_t code;      /* close code; 1006 when none was received */
            const char *reason; /* close reason (view, may be NULL), only read now */
            uint32_t reason_len;
            bool local; /* we failed the connection (protocol error) */
        } closed;
        struct {
            session_stage stage;
        } conn;
    } u;
} session_event;

/* How a rejected upgrade is retried (SESSION_EV_WS_HANDSHAKE_FAILED). */
typedef enum {
    SESSION_UPGRADE_TRANSIENT = 1, /* 5xx, 408: normal backoff */
    SESSION_UPGRADE_TOKEN,         /* 401, 403: a new token first, normal backoff */
    SESSION_UPGRADE_RATE_LIMITED,  /* 429: backoff at the cap */
    SESSION_UPGRADE_CONFIG,        /* 200, 3xx, other 4xx: backoff at the cap */
    SESSION_UPGRADE_PROTOCOL       /* broken 101 or header block (status 101 or 0): cap */
} session_upgrade_class;

/* The class of u.handshake.status (pure; the loop uses it to word its warning). */
session_upgrade_class session_classify_upgrade(int status);
const char *session_upgrade_class_name(session_upgrade_class c); /* "configuration_error".. */

/* --- actions ------------------------------------------------------------------------ */
typedef enum {
    SESSION_DO_NONE = 0,
    SESSION_DO_LOGIN,          /* POST /api/auth/login with the configured credentials */
    SESSION_DO_REFRESH,        /* POST /api/auth/token with the current refresh token */
    SESSION_DO_LIST_ASSETS,    /* GET page `page` of `endpoint`; page 0 starts a listing */
    SESSION_DO_FETCH_DETAILS,  /* fetch details of asset number `index` */
    SESSION_DO_WS_CONNECT,     /* open wss://host/api/ws (fresh DNS each time) */
    SESSION_DO_SEND_SUBSCRIBE, /* authCmd with the CURRENT token + ENTITY_DATA commands */
    SESSION_DO_RESYNC,         /* unsubscribe and subscribe again (fresh data pages) */
    SESSION_DO_WS_CLOSE,       /* send a close frame with `close_code`; wait for WS_CLOSED */
    SESSION_DO_WS_ABORT,       /* drop the connection now; no WS_CLOSED is expected */
    SESSION_DO_FATAL,          /* stop the process: see `fatal` */
    SESSION_DO_STOPPED         /* shutdown complete; leave the loop */
} session_do;

typedef enum {
    SESSION_EP_USER = 0, /* /api/user/assets (PE) */
    SESSION_EP_TENANT,   /* /api/tenant/assets (CE, tenant admin) */
    SESSION_EP_CUSTOMER  /* /api/customer/{customerId}/assets (CE, customer user) */
} session_endpoint;

typedef enum {
    SESSION_FATAL_NONE = 0,
    SESSION_FATAL_CREDENTIALS,      /* login 401 (errorCode 10 and others) or 4xx */
    SESSION_FATAL_TWO_FACTOR,       /* account needs 2FA */
    SESSION_FATAL_PASSWORD_EXPIRED, /* errorCode 15 */
    SESSION_FATAL_PASSWORD_POLICY   /* errorCode 45 */
} session_fatal;

typedef enum {
    SESSION_RESYNC_TOO_MANY_UPDATES = 1, /* errorCode 34: updates were dropped */
    SESSION_RESYNC_ASSETS_CHANGED        /* rediscovery found a different asset set */
} session_resync;

typedef struct {
    session_do kind;
    uint32_t page;             /* LIST_ASSETS: page number; FETCH_DETAILS: asset index */
    session_endpoint endpoint; /* LIST_ASSETS */
    bool rediscovery;          /* LIST_ASSETS: background re-listing (keep serving old) */
    uint16_t close_code;       /* WS_CLOSE */
    session_resync resync;     /* RESYNC */
    session_fatal fatal;       /* FATAL */
} session_action;

/* --- state and statistics ----------------------------------------------------------- */
typedef enum {
    SESSION_ST_IDLE = 0,    /* before START */
    SESSION_ST_LOGIN,       /* no token yet */
    SESSION_ST_LIST_ASSETS, /* first asset listing */
    SESSION_ST_CONNECTING,  /* TCP/TLS/upgrade in progress */
    SESSION_ST_SUBSCRIBING, /* open, subscriptions sent, no data yet */
    SESSION_ST_STREAMING,   /* data has arrived on this connection */
    SESSION_ST_BACKOFF,     /* waiting to reconnect (or for a new token) */
    SESSION_ST_CLOSING,     /* shutting down, close frame sent */
    SESSION_ST_STOPPED,
    SESSION_ST_FATAL
} session_state;

/* Why the WebSocket last ended: a closed set, used as a metric label. */
typedef enum {
    SESSION_REASON_NONE = 0,
    SESSION_REASON_1000,       /* normal closure */
    SESSION_REASON_1001,       /* going away */
    SESSION_REASON_1006,       /* dropped without a close frame */
    SESSION_REASON_1007_AUTH,  /* token rejected at authCmd */
    SESSION_REASON_1007,       /* other bad data */
    SESSION_REASON_1008_LIMIT, /* other "... limit reached" (sessions, subscriptions) */
    SESSION_REASON_1008,       /* other policy (auth timeout, auth cmd missing) */
    SESSION_REASON_1009,       /* our message too big: a bug */
    SESSION_REASON_1011,
    SESSION_REASON_1012,
    SESSION_REASON_4500,
    SESSION_REASON_OTHER_CODE,     /* any other code from the server */
    SESSION_REASON_PING_TIMEOUT,   /* idle_timeout without a frame */
    SESSION_REASON_PROTOCOL_ERROR, /* we failed the connection (bad frame, UTF-8, size) */
    SESSION_REASON_DNS,
    SESSION_REASON_TCP,
    SESSION_REASON_TLS,
    SESSION_REASON_UPGRADE, /* bad/failed 101, or connect_timeout */
    SESSION_REASON_LOCAL_SHUTDOWN,
    SESSION_REASON_1008_QUEUE, /* "Max pending updates limit reached!": normal backoff.
                                   * Appended last so that no other value moves. */
    SESSION_REASON_COUNT
} session_reason;

typedef struct {
    uint64_t logins_ok, logins_failed;
    uint64_t refreshes_ok, refreshes_failed;
    uint64_t rest_retries;        /* REST requests scheduled again after a failure */
    uint64_t ws_connect_attempts; /* DO_WS_CONNECT emitted */
    uint64_t ws_connects;         /* WS_OPENED received */
    uint64_t reconnects;          /* DO_WS_CONNECT after the first one */
    uint64_t disconnects[SESSION_REASON_COUNT];
    uint64_t resyncs;       /* DO_RESYNC emitted */
    uint64_t rediscoveries; /* background listings started */
    uint64_t protocol_bugs; /* 1009 closes: our outgoing message too big */
    session_reason last_reason;
    uint32_t backoff_ms;          /* last WebSocket reconnect delay chosen */
    uint32_t backoff_envelope_ms; /* its envelope (upper bound) */
    uint32_t ws_failures;         /* failures since data last arrived */
} session_stats;

/* The context. Caller-allocated; fields are private by convention. */
typedef struct {
    session_config cfg;
    session_action q[16];
    unsigned q_head, q_len;
    int err;
    bool started, stopping, stopped, fatal;
    /* token */
    bool have_token;
    uint32_t token_gen; /* +1 per successful login or refresh */
    uint64_t refresh_at, expires_at;
    session_role role;
    /* REST track */
    bool rest_busy;
    session_req rest_req; /* the request in flight */
    bool need_login, need_refresh, need_list, need_details;
    uint32_t list_page, details_index;
    bool listing_is_rediscovery;
    session_endpoint endpoint;
    bool rest_gate; /* a failure closed the REST channel until rest_retry_at */
    uint64_t rest_retry_at;
    uint32_t rest_failures; /* consecutive REST failures (backoff exponent) */
    uint32_t api_401;       /* consecutive 401s on API calls (not reset by refresh) */
    bool assets_ready;      /* first listing done */
    uint64_t rediscover_at; /* 0 = none */
    /* WebSocket track */
    int ws;               /* internal sub-state, see session.c */
    uint64_t ws_deadline; /* connect / close deadline */
    uint64_t ws_retry_at;
    uint64_t last_rx;
    uint32_t ws_failures;       /* WebSocket failures since data last arrived */
    uint32_t ws_token_gen_used; /* token_gen at the last DO_WS_CONNECT */
    bool ws_need_token;         /* reconnect needs token_gen > ws_token_gen_used */
    bool ws_token_login;        /* the token close says a refresh cannot help */
    uint32_t auth_closes;       /* consecutive 1007 token closes */
    bool ever_tried;            /* a DO_WS_CONNECT was issued before */
    /* errorCode 34 (this connection only) */
    bool resync34_pending;     /* a TOO_MANY_UPDATES resync is scheduled */
    bool limit_episode;        /* a 34 arrived and no other message since */
    uint64_t resync_at;        /* earliest time of the pending resync */
    uint32_t limit_episodes;   /* 34 episodes counted (delay exponent) */
    uint64_t last_34;          /* time of the last 34 */
    uint32_t refresh_failures; /* consecutive refreshes failed (not 429, not 4xx) */
    session_stats st;
} session_ctx;

/* Initialises ctx with a copy of cfg (NULL = defaults). State IDLE. */
void session_init(session_ctx *s, const session_config *cfg);

/* Delivers one event at monotonic time now_ms with 32 random bits. Actions it causes
 * are queued: drain them with session_next_action() before the next event. Events that
 * do not fit the current state (a late WS message after an abort) are ignored. */
void session_handle(session_ctx *s, const session_event *ev, uint64_t now_ms, uint32_t rnd);

/* Takes the next queued action into *out. Returns false (and kind NONE) when empty. */
bool session_next_action(session_ctx *s, session_action *out);

/* Earliest monotonic time a SESSION_EV_TIMER must be delivered, or SESSION_NEVER. */
uint64_t session_next_deadline(const session_ctx *s);

session_state session_get_state(const session_ctx *s);
const char *session_state_name(session_state st);  /* "streaming", ... */
const char *session_reason_name(session_reason r); /* label: "remote_close_1007_auth"... */
const char *session_fatal_name(session_fatal f);   /* "credentials_rejected", ... */
const session_stats *session_get_stats(const session_ctx *s);
/* True while data has arrived on the current connection and it is still open. */
bool session_is_streaming(const session_ctx *s);
session_endpoint session_get_endpoint(const session_ctx *s);
int session_last_error(const session_ctx *s); /* 0 or SESSION_ERR_* */

#endif
