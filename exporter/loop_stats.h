/*
 * loop_stats.h -- the statistics of the loop side, each kept by its owner: the session
 * (core/session.h), the subscription ledger (core/subs.h), the feed (core/tb_feed.h),
 * the REST client and the WebSocket client (their counts below). The loop copies them
 * whole into loop_shared.snap once per turn, and the render reads that copy together
 * with the store's own statistics under one lock: one consistent snapshot per scrape,
 * and no second count kept by hand anywhere.
 */
#ifndef IOTPRO_EXPORTER_LOOP_STATS_H
#define IOTPRO_EXPORTER_LOOP_STATS_H

#include <stdint.h>

#include "core/session.h"
#include "core/subs.h"
#include "core/tb_feed.h"

/* Login and refresh results: rejected = the server refused the credentials or token
 * (401/403, or a two-factor account); error = anything else (5xx, transport, body). */
enum { LOOP_RES_OK = 0, LOOP_RES_REJECTED, LOOP_RES_ERROR, LOOP_RES__COUNT };

/* Connection attempts that failed before the WebSocket opened, by stage. */
enum { LOOP_STAGE_DNS = 0, LOOP_STAGE_TCP, LOOP_STAGE_TLS, LOOP_STAGE_UPGRADE, LOOP_STAGE__COUNT };

/* Error replies ThingsBoard sent on the WebSocket. */
enum {
    LOOP_REPLY_TOO_MANY_UPDATES = 0,
    LOOP_REPLY_SUB_RATE_LIMIT,
    LOOP_REPLY_OTHER,
    LOOP_REPLY__COUNT
};

/* The REST client's counts (exporter/loop_rest.c). */
struct rest_stats {
    uint64_t logins[LOOP_RES__COUNT], refreshes[LOOP_RES__COUNT];
    uint64_t listings;              /* asset listings completed */
    uint64_t parse_errors;          /* response bodies that could not be used */
    uint64_t assets_dropped;        /* assets a listing could not hold (count or arena) */
    uint64_t detail_labels_dropped; /* REST assetDetails that did not fit the table */
    uint64_t body_limit;            /* responses larger than the body buffer */
    uint64_t names_cut;             /* asset names, profiles, labels cut to LIM_NAME_BYTES - 1 */
    int64_t token_expiry_ms;        /* Unix ms; 0 before the first login */
};

/* The WebSocket client's counts (exporter/loop_ws.c). */
struct ws_stats {
    uint64_t pings;
    uint64_t connect_failures[LOOP_STAGE__COUNT];
    uint64_t replies[LOOP_REPLY__COUNT];
    uint64_t resyncs;               /* resubscriptions after an errorCode-34 episode */
    uint64_t message_too_big;       /* a message over the codec's limit ended a connection */
    uint64_t values_rejected;       /* values the store refused for their key (empty, long) */
    uint64_t detail_labels_dropped; /* assetDetails that did not fit the table */
    uint64_t details_early_dropped; /* assetDetails that overtook their page, buffer full */
    int64_t last_message_ms, last_connect_ms; /* Unix ms; 0 before the first */
};

struct loop_stats {
    session_stats sess;
    subs_stats subs;
    tb_feed_stats feed;
    struct rest_stats rest;
    struct ws_stats ws;
    uint32_t subscriptions, subscriptions_pending, assets, devices;
    int up, ws_connected;
    int64_t backoff_ms; /* the reconnect delay while waiting, else 0 */
    uint64_t reloads, reload_failures;
    int last_reload_ok;
};

#endif
