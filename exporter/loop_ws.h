/*
 * loop_ws.h -- the WebSocket client of the event loop: the connection (transport/conn),
 * the RFC 6455 codec (core/ws), authCmd + ENTITY_DATA commands kept by the
 * subscription ledger (core/subs), and every message through tb_feed (parsed without
 * a lock) into the shared store (applied with tb_apply under the shared mutex), with
 * assetDetails into the current asset table.
 *
 * Data flow: the loop calls in (connect, subscribe, io after poll, timers); what
 * happens on the socket goes to the session as events (core/session: the client
 * holds the loop's session and feeds it directly, with the loop's jitter source), and
 * the loop then carries out the session's actions. Nothing here calls back up.
 *
 * Threads: the loop thread only; the shared store and the current table's details are
 * written under sh->mu (exporter/loop_shared.h).
 */
#ifndef IOTPRO_EXPORTER_LOOP_WS_H
#define IOTPRO_EXPORTER_LOOP_WS_H

#include <stdint.h>

#include "core/session.h"
#include "core/subs.h"
#include "core/tb_feed.h"
#include "core/ws.h"
#include "exporter/config.h"
#include "exporter/loop_shared.h"
#include "exporter/loop_stats.h"
#include "exporter/rng.h"
#include "transport/conn.h"

#define ASSETS_PER_CMD 400u /* ~40 B per id: one command stays < 20 KiB */
/* Attribute values one message can carry: per entity of a data page (a command's page
 * holds at most ASSETS_PER_CMD entities) assetDetails, a device's two connectivity
 * attributes and up to 16 --iotpro.attribute-keys. */
#define WS_ATTR_KEYS_MAX 16u
#define WS_ATTRS_MAX     ((3u + WS_ATTR_KEYS_MAX) * ASSETS_PER_CMD)
/* Telemetry values one message can carry: a data page of ASSETS_PER_CMD entities with
 * every key a command can ask for (at most LIM_CFG_KEYS), then the updates that waited
 * for it. What a server sends beyond that is dropped and counted (tb_feed.h). */
#define WS_VALS_MAX (ASSETS_PER_CMD * LIM_CFG_KEYS + LIM_PENDING_UPDATES)
/* Values of plain updates held back to be applied together (loop_msg.c): the vals array
 * has this many more entries, so that a message read behind a batch still has
 * WS_VALS_MAX. */
#define WS_BATCH_VALS 256u
/* jsmn tokens: tb_ws_parse needs room for a message's envelope and ONE entity, as it
 * tokenizes a data page one entity at a time (core/tb.h). An entity of one of our
 * commands has at most LIM_CFG_KEYS telemetry and 3 + WS_ATTR_KEYS_MAX attribute values
 * of 6 tokens each ("key":{"ts":1,"value":"v"}) and ~30 more (entityId, latest, the key
 * type objects, PE's timeseries/aggLatest/readAttrs/readTs); the rest is for the
 * envelope (~20). A message whose envelope or one entity needs more is refused whole
 * with TB_ERR_TOKENS, counted in iotpro_parse_errors_total. 130 KiB, resident as far
 * as the largest entity (or message small enough to be tokenized whole) used it. */
#define WS_TOKENS (6u * (LIM_CFG_KEYS + 3u + WS_ATTR_KEYS_MAX) + 256u)

/* An attribute value bound for the store (loop_details.c): its namespaced key and
 * unescaped value. */
struct ws_attr_buf {
    char key[LIM_KEY_BYTES];
    char val[LIM_STRING_VALUE_BYTES + 8];
};

enum { WSP_NONE = 0, WSP_CONNECTING, WSP_HANDSHAKE, WSP_OPEN };

/* An assetDetails update that overtook its data page (loop_details.c). */
#define WS_DET_MAX 64u
struct ws_det {
    int32_t cmd_id;
    uint8_t id[16];
    uint8_t has_value;
    uint16_t len;
    int64_t ts;
    char raw[4096]; /* the JSON string's raw content; longer ones are dropped */
};

struct ws_client {
    const struct cfg *cfg;
    const tls_anchors *anchors;
    struct loop_shared *sh;
    session_ctx *sess; /* the loop's; events go there */
    struct rng *rng;   /* the loop's */
    int wsp;
    conn c;
    ws_ctx ws;
    uint8_t *msg; /* LIM_WS_MESSAGE_DEFAULT: the codec's message buffer */
    uint8_t out[LIM_WS_OUT_DEFAULT];
    char out_msg[LIM_TB_OUT_MESSAGE];
    int out_len;       /* built, not yet accepted by ws_send (0 = none) */
    int build_failed;  /* a build error was logged on this connection */
    const char *token; /* view of the REST client's token, for authCmd */
    size_t token_len;
    /* clocks read once per chunk of input, not once per message (three clock reads
     * per message were ~5% of the CPU at full ingest) */
    int64_t io_now_ms, io_wall_ms;
    size_t yield_bytes; /* input since the last yield to a render (loop_ws.c) */
    /* the chunk of decrypted input being read, and the values of its updates that wait
     * in vals[0..batch_n) to be applied under one lock (loop_msg.c) */
    const uint8_t *chunk;
    size_t chunk_len;
    uint32_t batch_n;
    tb_feed feed;
    jsmntok_t *tok;                             /* WS_TOKENS */
    tb_pending *pend;                           /* LIM_PENDING_UPDATES */
    tb_feed_out fo;                             /* what tb_feed read from the last message: */
    tb_feed_value *vals;                        /* WS_BATCH_VALS + WS_VALS_MAX */
    tb_feed_attr *attrs;                        /* WS_ATTRS_MAX */
    tb_feed_value *avals;                       /* WS_ATTRS_MAX: attribute values for the store */
    struct ws_attr_buf *abuf;                   /* WS_ATTRS_MAX: their text */
    const char *akeys[2][2 + WS_ATTR_KEYS_MAX]; /* SERVER_ATTRIBUTE keys per entity kind */
    uint32_t nakeys[2];
    char *scratch;      /* TB_FEED_SCRATCH(LIM_WS_MESSAGE_DEFAULT) */
    struct ws_det *det; /* WS_DET_MAX */
    uint32_t det_n;
    /* subscriptions: the commands of the current table, and their ledger */
    tb_cmd *cmds;
    size_t ncmds, cmds_cap;
    uint32_t *pick;        /* LOOP_MAX_ASSETS: the commands' ids as entries of tab */
    struct asset_tab *tab; /* the table the commands' ids are in: a reference */
    const char **keyptrs;  /* LIM_CFG_KEYS */
    subs subs;
    subs_entry *ent;
    int sub_limit_logged; /* the subscription-rate-limit episode was logged */
    struct ws_stats st;
};

/* 0, or -1 out of memory. Buffers reserve ~61 MiB of address space (message 16 MiB,
 * feed values 22 MiB and scratch 16 MiB, attributes 4 MiB, pending updates 1.6 MiB,
 * entry indexes 0.8 MiB, tokens 130 KiB); only what the largest message used becomes
 * resident. cfg, anchors, sh, sess and rng must outlive it. */
int ws_client_init(struct ws_client *w, const struct cfg *cfg, const tls_anchors *anchors,
                   struct loop_shared *sh, session_ctx *sess, struct rng *rng);
void ws_client_free(struct ws_client *w);
static inline void ws_client_set_cfg(struct ws_client *w, const struct cfg *cfg)
{
    w->cfg = cfg;
}

/* The commands for the current table, handed to the ledger (on an open socket the old
 * ones are unsubscribed and the new ones sent, counted under `why`). */
void ws_client_build_cmds(struct ws_client *w, subs_resend why);
void ws_client_connect(struct ws_client *w);
/* A new socket: authCmd (with this token) + every command. */
void ws_client_subscribe(struct ws_client *w, const char *token, size_t token_len);
void ws_client_resubscribe(struct ws_client *w, subs_resend why); /* fresh data for all */
/* Timers of the ledger: resend what missed its deadline, send what is due. */
void ws_client_tick(struct ws_client *w, int64_t now);
/* When ws_client_tick wants to run next (INT64_MAX: nothing, or waiting for POLLOUT). */
int64_t ws_client_deadline(const struct ws_client *w);
/* 1 when every subscription has its data and our output is written. */
int ws_client_all_live(const struct ws_client *w);
void ws_client_close(struct ws_client *w, unsigned code); /* a close frame, if open */
void ws_client_abort(struct ws_client *w);                /* connect deadline passed: count, drop */
void ws_client_release(struct ws_client *w);              /* drop the connection, no goodbye */
/* poll(): fd (-1: none), events, and the earliest deadline of the connection
 * (0: bytes already in the TLS engine, read them now). */
int ws_client_poll(const struct ws_client *w, short *events, int64_t *deadline);
void ws_client_io(struct ws_client *w, short revents); /* after poll (0: no event) */

/* Feeds one event to the session (the loop's), with the time given and a jitter draw. */
static inline void ws_to_session_at(struct ws_client *w, session_event *ev, int64_t now_ms)
{
    session_handle(w->sess, ev, (uint64_t)now_ms, rng_next(w->rng));
}

/* loop_msg.c: one text message (a view valid until the chunk w->chunk is consumed, or
 * until the next ws_push when it is not in the chunk). Plain updates of the chunk may
 * wait in vals[0..batch_n); everything else applies them first. */
void ws_on_message(struct ws_client *w, const ws_event *e);
/* loop_msg.c: applies the updates waiting in the batch, if any, and tells the session.
 * ws_client_io calls it before anything else reaches the store or the session, and
 * at the end of each chunk. */
void ws_batch_apply(struct ws_client *w);

/* loop_details.c: an assetDetails value from tb_feed (sh->mu held); a premature one
 * waits for its cmdId's data page (replay, sh->mu held), or is dropped with its
 * subscription (forget; -1: all of them). */
void ws_details_attr(struct ws_client *w, const tb_feed_attr *a);
/* loop_details.c: the attribute values of the last message other than assetDetails
 * (connectivity, --iotpro.attribute-keys) as store values in w->avals, converted
 * without the lock (core/tb_feed.h: their keys are namespaced). Returns how many. */
uint32_t ws_attr_values(struct ws_client *w);
void ws_details_replay(struct ws_client *w, int32_t cmd_id);
void ws_details_forget(struct ws_client *w, int32_t cmd_id);

#endif
