/*
 * tb.h -- ThingsBoard message builders and parsers (REST and WebSocket), no I/O.
 *
 * Shapes follow ThingsBoard's server source (see docs/thingsboard-protocol notes):
 * TsValue strings, ts 0 / "" meaning absent, the legacy `subscriptionId` error shape,
 * errorCode 34, PE's extra fields, assetDetails as an object or as JSON in a string.
 *
 * Ownership and lifetimes
 * - Builders write into out[0..cap) and return the byte count (no NUL is counted;
 *   one is added when it fits) or a negative TB_ERR_*.
 * - Parsers take the body and a caller-owned jsmn token array. Views they return
 *   (`const char *` + length) point into the body and stay valid as long as it does;
 *   view text is raw JSON string content: unescape with json_unescape() when
 *   `*_escaped` says so. Fixed-size char arrays in result structs are copies.
 * - Nothing here allocates, and no secret (password, JWT, refresh token) is ever
 *   copied into an error message.
 *
 * Token arrays: a data page of 1000 assets with 3 keys needs about 30 tokens per
 * asset; the parsers return TB_ERR_TOKENS when the caller's array is too small. The
 * WebSocket reply parser needs room for the envelope and one entity only (tb_ws_parse).
 */
#ifndef IOTPRO_CORE_TB_H
#define IOTPRO_CORE_TB_H

#include <stddef.h>
#include <stdint.h>

#include "core/json.h"
#include "core/limits.h"

enum {
    TB_OK = 0,
    TB_ERR_JSON = -601,       /* body is not well-formed JSON */
    TB_ERR_TOKENS = -602,     /* the token array is too small for this body */
    TB_ERR_SHAPE = -603,      /* a required field is missing or has the wrong type */
    TB_ERR_TWO_FACTOR = -604, /* login answered with `scope` / no refreshToken: 2FA is on */
    TB_ERR_SPACE = -605,      /* output buffer too small */
    TB_ERR_TOO_BIG = -606,    /* one command alone exceeds LIM_TB_OUT_MESSAGE */
    TB_ERR_ARG = -607,        /* invalid argument (cmdId <= 0, bad UUID text...) */
    TB_ERR_STOPPED = -608     /* the caller's visitor asked to stop */
};
const char *tb_strerror(int err);

/* ---- UUIDs ----------------------------------------------------------------------- */
/* 36-char canonical text (either case) -> 16 bytes. 0 or TB_ERR_ARG. */
int tb_uuid_parse(const char *s, size_t len, uint8_t out[16]);
/* 16 bytes -> 36 lower-case chars + NUL. */
void tb_uuid_format(const uint8_t id[16], char out[37]);

/* ---- REST bodies (tb_build.c) ------------------------------------------------------ */
/* Percent-encodes s[0..n) for a URL query value (everything but A-Z a-z 0-9 - . _ ~),
 * e.g. a profile name for a listing's `type` parameter. Returns the length (a NUL
 * follows), or TB_ERR_SPACE when out[0..cap) cannot hold it and the NUL. */
int tb_url_escape(char *out, size_t cap, const char *s, size_t n);

/* {"username":"...","password":"..."} */
int tb_build_login(char *out, size_t cap, const char *user, size_t user_len, const char *pass,
                   size_t pass_len);
/* {"refreshToken":"..."} */
int tb_build_refresh(char *out, size_t cap, const char *refresh, size_t len);

/* ---- WebSocket commands (tb_build.c) ----------------------------------------------- */
typedef enum { TB_CMD_SUBSCRIBE = 0, TB_CMD_UNSUBSCRIBE = 1 } tb_cmd_kind;

/* The kind of a ThingsBoard entity the exporter lists and subscribes. */
typedef enum { TB_ENTITY_ASSET = 0, TB_ENTITY_DEVICE = 1 } tb_entity_kind;

/* One ENTITY_DATA subscription over an explicit list of entities of one kind (one
 * page), or an ENTITY_DATA_UNSUBSCRIBE. All pointers are the caller's and are only
 * read during tb_build_next(). Keys are plain names (escaped on output). */
typedef struct tb_cmd {
    tb_cmd_kind kind;
    int32_t cmd_id;              /* > 0, unique among live subscriptions */
    const uint8_t (*assets)[16]; /* SUBSCRIBE: entity ids of this page */
    uint32_t n_assets;
    const char *const *keys; /* SUBSCRIBE: TIME_SERIES keys (profile's list) */
    uint32_t n_keys;
    int with_details; /* SUBSCRIBE: also SERVER_ATTRIBUTE assetDetails */
    /* SUBSCRIBE: further SERVER_ATTRIBUTE keys (device connectivity, --iotpro.attribute-keys) */
    const char *const *attr_keys;
    uint32_t n_attr_keys;
    uint8_t entity; /* tb_entity_kind of every id: the filter's entityType */
    /* Ids where the caller keeps them (e.g. in its asset table) rather than a copy: when
     * pick is set, id i is the 16 bytes at (const uint8_t *)assets + pick_stride *
     * pick[i], for i < n_assets. */
    const uint32_t *pick;
    uint32_t pick_stride;
} tb_cmd;

/* Exact JSON length of one command inside "cmds":[...]. */
size_t tb_cmd_len(const tb_cmd *c);

/* Progress of tb_build_next() over a command list; zero-initialize before use. */
typedef struct tb_build_cursor {
    size_t next; /* next command to emit */
    int auth_sent;
} tb_build_cursor;

/* Builds the next outgoing message into out[0..cap) (cap is further limited to
 * LIM_TB_OUT_MESSAGE), packing as many whole commands as fit. With token != NULL
 * the first message is {"authCmd":{"cmdId":0,"token":"<raw jwt>"},"cmds":[...]}
 * (the token exactly as given: no "Bearer "); later ones are {"cmds":[...]}.
 * Returns the message length, 0 when every command was sent (and the auth
 * message, if any, was emitted even for an empty list), TB_ERR_TOO_BIG if one
 * command alone cannot fit, TB_ERR_SPACE, or TB_ERR_ARG for an invalid command. */
int tb_build_next(tb_build_cursor *cur, const char *token, size_t token_len, const tb_cmd *cmds,
                  size_t n, char *out, size_t cap);

/* ---- REST responses (tb_rest.c) ---------------------------------------------------- */
/* Login or refresh response. Views into the body; JWTs never contain escapes
 * (anything but base64url and '.' is TB_ERR_SHAPE). A `scope` field, or a token
 * without refreshToken, is TB_ERR_TWO_FACTOR. */
typedef struct tb_token_pair {
    const char *token;
    size_t token_len;
    const char *refresh;
    size_t refresh_len;
} tb_token_pair;
int tb_parse_login(const char *body, size_t len, jsmntok_t *tok, unsigned ntok, tb_token_pair *out);

/* What the caller should do about a failed REST call. */
typedef enum {
    TB_EK_TRANSIENT = 0,    /* 5xx, unknown: retry with back-off */
    TB_EK_RATE_LIMITED,     /* 429 / errorCode 33: retry after 1-4 s jitter */
    TB_EK_TOKEN_EXPIRED,    /* 401 errorCode 11: refresh (or, on refresh, log in) */
    TB_EK_BAD_CREDENTIALS,  /* 401 errorCode 10 or 401 without a code: at login,
                                   stop (retrying can lock the account) */
    TB_EK_PASSWORD_EXPIRED, /* errorCode 15 or 45: fatal, a human must act */
    TB_EK_PERMISSION,       /* 403 (errorCode 20, 40, 41) */
    TB_EK_NOT_FOUND,        /* 404 */
    TB_EK_BAD_REQUEST,      /* other 4xx */
    TB_EK_CE_SERVER         /* 400 "Invalid UUID string: ..." on /api/user/assets */
} tb_error_kind;

typedef struct tb_error {
    int status;     /* HTTP status as given by the caller */
    int error_code; /* ThingsBoard errorCode, -1 when absent */
    int json;       /* 1 if the body was a JSON error object */
    tb_error_kind kind;
    char message[160]; /* printable ASCII, cut to fit; "" when none */
} tb_error;
/* Never fails: JSON, plain-text and empty bodies are all classified (by errorCode
 * when present, else by status). message holds the JSON `message` or the text. */
void tb_parse_error(int http_status, const char *body, size_t len, jsmntok_t *tok, unsigned ntok,
                    tb_error *out);

/* One Asset of a PageData<Asset>, or one Device of a PageData<Device> (the members
 * read here are the same in both); kind says which, from id.entityType ("DEVICE",
 * else an asset). Strings are unescaped copies, cut at the limit (`cut` says so). Ids
 * are all-zero when absent. */
typedef struct tb_asset {
    uint8_t id[16];
    uint8_t owner_id[16]; /* PE ownerId, else customerId */
    char name[LIM_NAME_BYTES];
    char type[LIM_NAME_BYTES]; /* the asset profile name (since 3.4.2) */
    char label[LIM_NAME_BYTES];
    uint16_t name_len, type_len, label_len;
    uint8_t kind; /* tb_entity_kind */
    int cut;
} tb_asset;

typedef struct tb_page_info {
    int64_t total_elements;
    int32_t total_pages;
    int has_next;
    uint32_t assets;  /* assets visited */
    uint32_t skipped; /* elements without a valid id.id, ignored */
} tb_page_info;

/* Return 0 to go on, nonzero to stop (tb_parse_asset_page then returns TB_ERR_STOPPED).
 * Device pages (/api/user/devices, /api/tenant/devices...) parse the same way. */
typedef int (*tb_asset_fn)(void *ctx, const tb_asset *a);
int tb_parse_asset_page(const char *body, size_t len, jsmntok_t *tok, unsigned ntok, tb_asset_fn fn,
                        void *ctx, tb_page_info *info);

/* JSON array of strings (keys/timeseries, keys/attributes): visits each key view. */
typedef int (*tb_key_fn)(void *ctx, const char *key, size_t len, int escaped);
int tb_parse_key_list(const char *body, size_t len, jsmntok_t *tok, unsigned ntok, tb_key_fn fn,
                      void *ctx);

/* SERVER_SCOPE attributes: [{"lastUpdateTs":..,"key":"..","value":<any>}...].
 * value_tok indexes tok; the value is a string, number, bool, object or array. */
typedef struct tb_attr {
    const char *key;
    size_t key_len;
    int key_escaped;
    int64_t last_update_ts;
    const char *json;       /* the whole body */
    const jsmntok_t *value; /* the value token */
} tb_attr;
typedef int (*tb_attr_fn)(void *ctx, const tb_attr *a);
int tb_parse_attributes(const char *body, size_t len, jsmntok_t *tok, unsigned ntok, tb_attr_fn fn,
                        void *ctx);

/* Scalar members of an assetDetails object, unescaped and cut to the limits. */
typedef struct tb_detail {
    char key[LIM_KEY_BYTES];
    char value[LIM_STRING_VALUE_BYTES];
} tb_detail;
/* Reads assetDetails given either as object JSON text (is_string = 0: text is the
 * object, e.g. from tb_attr.value) or as the raw content of a JSON string holding
 * JSON (is_string = 1; scratch[0..scap) receives the unescaped text). Nested
 * objects/arrays and nulls are skipped. Returns how many of out[0..cap) were
 * filled (extra members are ignored), or TB_ERR_JSON / TB_ERR_SHAPE (not an
 * object) / TB_ERR_SPACE (scratch too small) / TB_ERR_TOKENS (over 512 tokens). */
int tb_parse_details(const char *text, size_t len, int is_string, char *scratch, size_t scap,
                     tb_detail *out, size_t cap);

/* ---- WebSocket replies (tb_ws.c) --------------------------------------------------- */
typedef enum {
    TB_WS_DATA = 1, /* initial page ("data"): the baseline for this cmdId */
    TB_WS_UPDATE,   /* later changes ("update") */
    TB_WS_ERROR,    /* errorCode != 0 (log errorMsg) */
    TB_WS_RESYNC,   /* errorCode 34 "Too many updates!": updates were dropped */
    TB_WS_OTHER     /* another cmdUpdateType, or a reply with nothing in it */
} tb_ws_kind;

typedef enum {
    TB_KEY_TIME_SERIES = 0,
    TB_KEY_SERVER_ATTRIBUTE,
    TB_KEY_ATTRIBUTE,
    TB_KEY_CLIENT_ATTRIBUTE,
    TB_KEY_SHARED_ATTRIBUTE,
    TB_KEY_ENTITY_FIELD,
    TB_KEY_OTHER
} tb_key_type;

typedef struct tb_ws_msg {
    tb_ws_kind kind;
    int legacy;     /* 1: the `subscriptionId` shape */
    int32_t cmd_id; /* cmdId or subscriptionId; -1 when absent */
    int error_code;
    const char *error_msg; /* view (raw), NULL when null/absent */
    size_t error_msg_len;
    /* DATA only: */
    int64_t total_elements;
    int32_t total_pages;
    int has_next;
    /* internal, for tb_ws_visit: the entity list's token, its offset in the message,
     * the token count, and whether the message was outlined (see tb_ws_parse) */
    int list_tok;
    int list_start;
    int ntok;
    int outlined;
} tb_ws_msg;

/* One (entity, key, TsValue) of a DATA or UPDATE message. */
typedef struct tb_ws_value {
    const uint8_t *entity; /* 16 bytes, valid during the callback */
    tb_key_type type;
    const char *key; /* raw view */
    size_t key_len;
    int key_escaped;
    int64_t ts;        /* ms; 0 when absent */
    const char *value; /* raw view; NULL when the value is missing or null */
    size_t value_len;
    int value_escaped;
} tb_ws_value;

/* Called once per entity (before its values; entities without values too) and
 * once per value. Return 0 to go on, nonzero to stop. Either may be NULL. */
typedef int (*tb_ws_entity_fn)(void *ctx, const uint8_t id[16]);
typedef int (*tb_ws_value_fn)(void *ctx, const tb_ws_value *v);

/* First step: tokenizes msg and reads the envelope into out. Returns TB_OK,
 * TB_ERR_JSON, TB_ERR_TOKENS or TB_ERR_SHAPE (not an object, or neither cmdId nor
 * subscriptionId). Field order does not matter and unknown fields are ignored.
 *
 * Token bound. A message that needs at most ntok tokens is tokenized whole. A larger
 * one (a data page of hundreds of entities) is outlined (json_parse_bounded, json.h):
 * the envelope is tokenized with every array outside another array collapsed into one
 * token, and tb_ws_visit then tokenizes one element of the entity list at a time into
 * the same array. So ntok only has to hold the envelope and one entity, and
 * TB_ERR_TOKENS means that the envelope, or one element of a collapsed array (an
 * entity, say), needs more than ntok tokens, whatever the total. Everything else is
 * as for a whole message: the whole text is checked before anything is read, so a
 * message with a malformed entity anywhere is TB_ERR_JSON and none of it is visited;
 * what is read, and in what order, is the same, since the collapsed arrays are only
 * ever walked as lists (tests/unit/tb_ws_same.h compares both ways, also under the
 * fuzzer). Against tokenizing whole into the same array, only TB_ERR_TOKENS moves: a
 * message refused for its total before is now read (TB_OK, or TB_ERR_SHAPE for a bad
 * envelope) unless its envelope or an element is over ntok. */
int tb_ws_parse(const char *msg, size_t len, jsmntok_t *tok, unsigned ntok, tb_ws_msg *out);

/* Second step, for DATA and UPDATE: walks EntityData[] of the same msg, with the same
 * tok and ntok as tb_ws_parse (an outlined message reuses the array for each entity,
 * overwriting the envelope's tokens: *m holds all it needs). Returns the number of
 * values visited, or TB_ERR_STOPPED. Entities whose entityId.id is not a UUID are
 * skipped with their values. PE's readAttrs/readTs, timeseries and aggLatest are
 * ignored. msg must be unchanged since tb_ws_parse accepted it (an outlined list is
 * read as text, trusting that check); TB_ERR_TOKENS only if ntok is smaller than
 * tb_ws_parse's (entities before the failing one were visited). */
int tb_ws_visit(const char *msg, jsmntok_t *tok, unsigned ntok, const tb_ws_msg *m,
                tb_ws_entity_fn efn, tb_ws_value_fn vfn, void *ctx);

#endif
