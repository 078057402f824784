/*
 * loop_int.h -- private to exporter/loop*.c: the loop's state and the functions its
 * three parts call in each other. loop.c is the poll loop and the session's actions,
 * loop_rest.c the REST side (login, refresh, asset listing, details), loop_ws.c the
 * WebSocket side (connect, handshake, subscribe, stream). Nothing else includes it.
 */
#ifndef IOTPRO_EXPORTER_LOOP_INT_H
#define IOTPRO_EXPORTER_LOOP_INT_H

#include "exporter/loop.h"

#include <stdatomic.h>

#include "core/jwt.h"
#include "core/session.h"
#include "core/subs.h"
#include "core/tb.h"
#include "core/tb_apply.h"
#include "core/tb_feed.h"
#include "core/ws.h"
#include "transport/httpc.h"

#define REST_TIMEOUT_MS   15000
#define REST_BODY_CAP     (32u * 1024u * 1024u)
#define REST_TOKENS       (1u << 20)       /* a 1000-asset PE page needs ~47 000 */
#define WS_TOKENS         (1u << 20)
#define ASSETS_PER_CMD    400u             /* ~40 B per id: one command stays < 20 KiB */
#define EXPIRE_EVERY_MS   10000
#define LIST_WAIT_MS      35000            /* > web.c's 30 s response deadline */
#define LIST_POLL_MS      50

/* Attribute values one message can carry: one assetDetails per entity of a data page
 * (a command's page holds at most ASSETS_PER_CMD entities), with room to spare. */
#define LOOP_ATTRS_MAX    (4u * ASSETS_PER_CMD)

enum { WSP_NONE = 0, WSP_CONNECTING, WSP_HANDSHAKE, WSP_OPEN };

/* An assetDetails update that overtook its data page (loop_details.c). */
#define LOOP_DET_MAX 64u
struct loop_det {
    int32_t cmd_id;
    uint8_t id[16];
    uint8_t has_value;
    uint16_t len;
    int64_t ts;
    char raw[4096];          /* the JSON string's raw content; longer ones are dropped */
};

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
    /* backoff jitter for the session: xorshift64* reseeded from the OS (loop.c) */
    uint64_t rnd_state;
    unsigned rnd_left;
    /* clocks read once per chunk of WebSocket input, not once per message (three clock
     * reads per message were ~5% of the CPU at full ingest) */
    int64_t io_now_ms, io_wall_ms;
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
    /* A listing whose first page waits until no /metrics response reads the spare
     * table any more (a streamed response pins it for up to 30 s): polled, never
     * blocking the loop; after LIST_WAIT_MS the listing runs without a table. */
    int list_waiting;
    int64_t list_wait_until;
    session_action list_action;
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
    int build_failed;        /* a build error was logged on this connection */
    tb_feed feed;
    tb_feed_out feed_out;    /* what tb_feed read from the last message: */
    tb_feed_value *feed_vals; /* TB_FEED_VALS_FOR(WS_TOKENS) */
    tb_feed_attr *feed_attrs; /* LOOP_ATTRS_MAX */
    char *feed_scratch;       /* TB_FEED_SCRATCH(LIM_WS_MESSAGE_DEFAULT) */
    jsmntok_t *ws_tok;
    tb_pending *pend;
    struct loop_det *det;    /* LOOP_DET_MAX */
    uint32_t det_n;
    uint64_t det_dropped;    /* premature details that did not fit */
    /* subscriptions: the commands of the current table, and their ledger (core/subs.h) */
    tb_cmd *cmds;
    size_t ncmds, cmds_cap;
    uint8_t (*ids)[16];
    const char **keyptrs;
    subs subs;
    subs_entry *subs_ent;
    int sub_limit_logged;    /* the subscription-rate-limit episode was logged */
    int64_t next_expire;
    session_state last_state;
    atomic_int ready;        /* every subscription has its data (loop_ready), web threads */
    atomic_int state_pub;    /* session_state for loop_state_name (web threads) */
};

/* loop.c */
int64_t loop_wall_ms(void);
/* Feeds one event to the session (with the time and random bits it needs). */
void loop_event(struct loop *l, session_event *ev);
/* Same, with the monotonic time the caller already read. */
void loop_event_at(struct loop *l, session_event *ev, int64_t now_ms);

/* loop_rest.c: start the request the session asked for; digest its result. */
void loop_rest_login(struct loop *l);
void loop_rest_refresh(struct loop *l);
void loop_rest_list(struct loop *l, const session_action *a);
void loop_rest_list_poll(struct loop *l, int64_t now);     /* a waiting listing: go? */
void loop_rest_details(struct loop *l, const session_action *a);
void loop_rest_done(struct loop *l);

/* loop_ws.c */
/* The commands for the current table, handed to the ledger (on an open socket the old
 * ones are unsubscribed and the new ones sent, counted under `why`). */
void loop_ws_build_cmds(struct loop *l, subs_resend why);
void loop_ws_subscribe(struct loop *l);              /* a new socket: authCmd + all */
void loop_ws_resubscribe(struct loop *l, subs_resend why); /* fresh data for all */
/* Timers of the ledger: resend what missed its deadline, send what is due. */
void loop_ws_tick(struct loop *l, int64_t now, uint32_t rnd);
/* When loop_ws_tick wants to run next (INT64_MAX: nothing, or waiting for POLLOUT). */
int64_t loop_ws_deadline(const struct loop *l);
/* 1 when every subscription has its data and our output is written. */
int loop_ws_all_live(const struct loop *l);
void loop_ws_flush(struct loop *l);                 /* codec output -> conn, what fits */
void loop_ws_release(struct loop *l);               /* drop the connection, no goodbye */
void loop_ws_connect(struct loop *l);
void loop_ws_io(struct loop *l, short revents);     /* after poll (0: no event) */

/* loop_details.c: an assetDetails value from tb_feed (called with sh->mu held); a
 * premature one waits for its cmdId's data page (replay, sh->mu held), or is dropped
 * with its subscription (forget; -1: all of them). */
void loop_details_attr(struct loop *l, const tb_feed_attr *a);
void loop_details_replay(struct loop *l, int32_t cmd_id);
void loop_details_forget(struct loop *l, int32_t cmd_id);

#endif
