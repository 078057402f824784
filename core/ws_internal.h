/*
 * ws_internal.h -- what the ws*.c files share; not part of the ws contract (use ws.h).
 */
#ifndef IOTPRO_CORE_WS_INTERNAL_H
#define IOTPRO_CORE_WS_INTERNAL_H

#include "core/ws.h"

/* frame decoder stages (ws_ctx.rx_stage) */
enum { WS_RX_HEADER = 0, WS_RX_PAYLOAD = 1 };

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* ws.c */
int ws__reserve(ws_ctx *ws, size_t need, uint8_t **dst);
int ws__put_frame(ws_ctx *ws, int opcode, int fin, const uint8_t *data, size_t len);
void ws__flush_ctl(ws_ctx *ws);
void ws__queue_close(ws_ctx *ws, unsigned code, const uint8_t *reason, size_t rlen);
/* Fails the connection with err: sticky error, queues the close its code calls for
 * (when open and no close was sent yet), drops a pending pong, raises WS_EV_ERROR. */
void ws__fail(ws_ctx *ws, int err);
void ws__raise(ws_ctx *ws, const ws_event *ev);

/* ws_handshake.c: consumes header-block bytes; may complete or fail the handshake */
size_t ws__hs_push(ws_ctx *ws, const uint8_t *in, size_t len);
/* Computes base64(SHA-1(key + GUID)) into out[29] (NUL-terminated). */
void ws__accept_for(const char *key, size_t klen, char out[29]);

/* ws_frame.c: consumes frame bytes */
size_t ws__frame_push(ws_ctx *ws, const uint8_t *in, size_t len);

#endif
