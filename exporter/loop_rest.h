/*
 * loop_rest.h -- the REST client of the event loop: login and token refresh (tokens
 * are secrets: registered with the log guard as they arrive, never logged, wiped when
 * replaced or freed), the asset (and device) listing page by page into a new table, and
 * assetDetails by REST when configured. One request at a time, on one keep-alive
 * connection (transport/httpc.h).
 *
 * Data flow: the loop starts a request for a session action (rest_login ...), polls
 * the connection (rest_poll_*), and when it ends calls rest_done(), which digests the
 * response and returns what happened: the session event, and a finished listing
 * whose asset set changed (the caller publishes it). The client calls nothing above it.
 *
 * Threads: the loop thread only. It writes the assetDetails of the shared current
 * table (REST details) under the shared mutex.
 */
#ifndef IOTPRO_EXPORTER_LOOP_REST_H
#define IOTPRO_EXPORTER_LOOP_REST_H

#include <stdint.h>

#include "core/jwt.h"
#include "core/session.h"
#include "exporter/config.h"
#include "exporter/loop_shared.h"
#include "exporter/loop_stats.h"
#include "transport/httpc.h"

#define REST_TIMEOUT_MS 15000
#define REST_BODY_CAP   (32u * 1024u * 1024u)
#define REST_TOKENS     (1u << 20) /* a 1000-asset PE page needs ~47 000 */

struct rest_client {
    const struct cfg *cfg;
    struct loop_shared *sh;
    httpc http;
    int active; /* a request was started and its result not yet taken */
    session_req req;
    uint8_t *body;  /* REST_BODY_CAP */
    jsmntok_t *tok; /* REST_TOKENS */
    char req_body[2 * LIM_PASSWORD_BYTES + 2 * LIM_NAME_BYTES];
    char path[2048]; /* base path, endpoint and query (a profile name escaped) */
    /* SECRETS: never logged */
    char token[LIM_JWT_BYTES + 1], refresh[LIM_JWT_BYTES + 1];
    size_t token_len, refresh_len;
    char auth[LIM_JWT_BYTES + 16];
    jwt_claims claims;
    struct asset_tab *building; /* the listing in progress, NULL when none */
    uint32_t listed;            /* assets listed so far in this listing (all shards) */
    /* One listing is a sequence of parts, each paged on its own: per entity kind of
     * --iotpro.entity-type, per profile of --iotpro.profiles (or one, unfiltered). The
     * session sees one paged listing: a part's last page reports another page while a
     * part follows, and the session's page 0 starts again from the first part. */
    uint32_t part, nparts, part_page;
    uint32_t details_idx; /* asset whose details are being fetched */
    struct rest_stats st;
};

/* 0, or -1 out of memory (the buffers reserve ~56 MiB of address space; only what
 * the largest response used becomes resident, and a listing gives it back). cfg, sh
 * and anchors must outlive the client; rest_set_cfg() swaps cfg after a reload. */
int rest_init(struct rest_client *r, const struct cfg *cfg, struct loop_shared *sh,
              const tls_anchors *anchors);
void rest_free(struct rest_client *r);
static inline void rest_set_cfg(struct rest_client *r, const struct cfg *cfg)
{
    r->cfg = cfg;
}

/* Start the request the session asked for. */
void rest_login(struct rest_client *r);
void rest_refresh(struct rest_client *r);
void rest_list(struct rest_client *r, const session_action *a);
void rest_details(struct rest_client *r, const session_action *a);

/* After poll: advances the request (revents of the fd rest_poll_fd gave). Returns 1
 * when it has ended: call rest_done. */
int rest_on_io(struct rest_client *r, short revents, int64_t now);
/* The finished request's outcome: *ev for the session; *listed a completed listing
 * whose assets differ from the current table's (the caller publishes it), else NULL. */
void rest_done(struct rest_client *r, session_event *ev, struct asset_tab **listed);

/* The current token ("" before login) for the WebSocket's authCmd. */
static inline const char *rest_token(const struct rest_client *r, size_t *len)
{
    *len = r->token_len;
    return r->token;
}

#endif
