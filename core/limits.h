/*
 * limits.h -- every fixed limit of iotpro_exporter, in one place.
 *
 * Each limit is enforced by the module named beside it; exceeding it is an error that
 * module reports (never a crash, never unbounded growth), and the exporter counts it on
 * /metrics. Values marked "(default)" are run-time configurable; the constant is the
 * default and, where stated, the hard ceiling.
 */
#ifndef IOTPRO_CORE_LIMITS_H
#define IOTPRO_CORE_LIMITS_H

/* --- WebSocket (core/ws) ----------------------------------------------------------- */
/* Largest reassembled message accepted (default); above it the connection fails 1009.
 * ThingsBoard's initial data page for 1000 assets can be hundreds of KiB. */
#define LIM_WS_MESSAGE_DEFAULT (16u * 1024u * 1024u)
/* Handshake response: total header bytes and number of header lines. */
#define LIM_WS_HANDSHAKE_BYTES   8192u
#define LIM_WS_HANDSHAKE_HEADERS 64u
/* Control frame payload (RFC 6455 5.5). */
#define LIM_WS_CONTROL_PAYLOAD 125u
/* Pending-output buffer (whole frames waiting for the socket): holds a 30 KiB
 * ThingsBoard command plus control frames; ws_send() reports WOULD_BLOCK beyond it. */
#define LIM_WS_OUT_DEFAULT (64u * 1024u)

/* --- ThingsBoard (core/tb) ---------------------------------------------------------- */
/* Largest message we send: ThingsBoard closes with 1009 above 32 KiB; keep a margin. */
#define LIM_TB_OUT_MESSAGE (30u * 1024u)
/* JWT text length, and decoded payload. */
#define LIM_JWT_BYTES 4096u
/* Asset names, ids, keys, profile names (bytes, after unescaping). */
#define LIM_NAME_BYTES 256u
#define LIM_KEY_BYTES  128u
/* String telemetry kept for iotpro_telemetry_info (longer values are cut, counted). */
#define LIM_STRING_VALUE_BYTES 256u
/* assetDetails scalar fields turned into labels of iotpro_asset_info. */
#define LIM_DETAIL_LABELS 16u
#define LIM_JSON_DEPTH    64u /* object/array nesting json_parse accepts (TB: ~6; <= 64) */

/* --- HTTP client (core/http1) -------------------------------------------------------- */
#define LIM_HTTP_HEADER_BYTES 16384u
#define LIM_HTTP_HEADERS      64u
#define LIM_HTTP_BODY_DEFAULT (64u * 1024u * 1024u)
/* One chunk-size line (hex size plus ignored chunk extensions), and 1xx interim
 * responses skipped before the final one. */
#define LIM_HTTP_CHUNK_LINE 1024u
#define LIM_HTTP_INTERIM    8u
/* Request head written by http1_write_request (request line + all headers). */
#define LIM_HTTP_REQUEST_HEAD 8192u

/* --- TLS and connections (transport/tls, transport/net) ----------------------------- */
/* Trust anchors loaded from a PEM bundle, and the pool holding their DNs and keys
 * (Debian's ~140 roots need ~62 KB). One DER certificate while decoding. */
#define LIM_TLS_ANCHORS     512u
#define LIM_TLS_ANCHOR_POOL (256u * 1024u)
#define LIM_TLS_CERT_DER    16384u
/* Addresses tried per connection attempt; concurrent DNS look-ups (helper threads). */
#define LIM_NET_ADDRS     8u
#define LIM_NET_RESOLVERS 4u
/* Host names (DNS limit is 253; BearSSL's SNI limit is 255). */
#define LIM_HOST_BYTES 254u

/* --- Store and assets (core/store, core/assets) -------------------------------------- */
#define LIM_SERIES_DEFAULT  2000000u /* (default) --store.max-series */
#define LIM_ASSETS_DEFAULT  2000000u /* (default) --iotpro.max-assets */
#define LIM_KEYS            4096u    /* distinct telemetry key names */
#define LIM_PENDING_UPDATES 4096u    /* updates buffered (all cmdIds together) before their data */
#define LIM_TB_CMDS         65536u   /* cmdIds tracked by tb_feed: 1..LIM_TB_CMDS-1 */

/* --- Exporter front end (exporter/config, log, expo, web) ---------------------------- */
#define LIM_CFG_FILE_BYTES    (256u * 1024u) /* --config.file is read whole, at most this */
#define LIM_CFG_VALUE_BYTES   1024u          /* one option value (URL, path, address…) */
#define LIM_CFG_KEYS          1024u          /* key names over all --iotpro.keys lists */
#define LIM_CFG_KEY_LISTS     64u            /* per-profile key lists (iotpro.keys.<profile>) */
#define LIM_PASSWORD_BYTES    1024u          /* --iotpro.password-file / IOTPRO_PASSWORD */
#define LIM_LOG_LINE_BYTES    4096u          /* one log line; longer values are cut, marked */
#define LIM_LOG_SECRETS       8u             /* secrets registered with the log guard */
#define LIM_EXPO_BODY_DEFAULT (1024u * 1024u * 1024u) /* one rendered /metrics body */
/* civetweb workers, whatever --web.max-requests: ~13 KiB resident each (stack, request
 * buffer, connection state) from start-up on. 16 serve two HA Prometheus servers,
 * probes and people with curl with room to spare; further connections wait in
 * civetweb's queue (connection_queue, exporter/web.c) rather than being refused. */
#define LIM_WEB_THREADS    16u
#define LIM_MAP_KEYS       256u          /* mapped keys (metric.<key>.* lines) */
#define LIM_MAP_VALUES     1024u         /* metric.<key>.map entries over all keys */
#define LIM_MAP_POOL_BYTES (48u * 1024u) /* their keys, names, help texts and strings */
#define LIM_MAP_NAME_BYTES 200u          /* one mapped metric name (without iotpro_) */
#define LIM_MAP_HELP_BYTES 512u          /* one mapped family's HELP text */
#define LIM_INFO_FIELDS    16u           /* --metrics.asset-info-fields names */

#endif
