/*
 * session_int.h -- what core/session.c takes from core/session_classify.c: the pure
 * classification of how a WebSocket ended. Internal to core/session*.c.
 */
#ifndef IOTPRO_CORE_SESSION_INT_H
#define IOTPRO_CORE_SESSION_INT_H

#include "core/session.h"

/* The reason a SESSION_EV_WS_CLOSED event stands for (see session.h, close rules). */
session_reason session__classify_close(const session_event *ev);

/* True when a 1007 token close says a refresh cannot help ("Token is outdated", "Invalid
 * JWT token"): the refresh token is outdated too, or ours is bad; log in again. */
bool session__close_wants_login(const session_event *ev);

#endif
