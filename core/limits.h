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
#define LIM_WS_MESSAGE_DEFAULT   (16u * 1024u * 1024u)
/* Handshake response: total header bytes and number of header lines. */
#define LIM_WS_HANDSHAKE_BYTES   8192u
#define LIM_WS_HANDSHAKE_HEADERS 64u
/* Control frame payload (RFC 6455 5.5). */
#define LIM_WS_CONTROL_PAYLOAD   125u

/* --- ThingsBoard (core/tb) ---------------------------------------------------------- */
/* Largest message we send: ThingsBoard closes with 1009 above 32 KiB; keep a margin. */
#define LIM_TB_OUT_MESSAGE       (30u * 1024u)
/* JWT text length, and decoded payload. */
#define LIM_JWT_BYTES            4096u
/* Asset names, ids, keys, profile names (bytes, after unescaping). */
#define LIM_NAME_BYTES           256u
#define LIM_KEY_BYTES            128u
/* String telemetry kept for iotpro_telemetry_info (longer values are cut, counted). */
#define LIM_STRING_VALUE_BYTES   256u
/* assetDetails scalar fields turned into labels of iotpro_asset_info. */
#define LIM_DETAIL_LABELS        16u

/* --- HTTP client (core/http1) -------------------------------------------------------- */
#define LIM_HTTP_HEADER_BYTES    16384u
#define LIM_HTTP_HEADERS         64u
#define LIM_HTTP_BODY_DEFAULT    (64u * 1024u * 1024u)

/* --- Store and assets (core/store, core/assets) -------------------------------------- */
#define LIM_SERIES_DEFAULT       2000000u   /* (default) --store.max-series */
#define LIM_ASSETS_DEFAULT       2000000u   /* (default) --iotpro.max-assets */
#define LIM_KEYS                 4096u      /* distinct telemetry key names */
#define LIM_PENDING_UPDATES      4096u      /* updates buffered per cmdId before its data */

#endif
