/*
 * session_names.c -- core/session's defaults, names and read-only accessors: the parts
 * of its contract that hold no logic, kept apart so session.c stays one screenful of
 * state machine.
 */
#include "core/session.h"

/* see session.h */
const char *session_strerror(int err)
{
    switch (err) {
    case 0: return "no error";
    case SESSION_ERR_ACTION_OVERFLOW: return "session action queue overflow";
    default: return "unknown session error";
    }
}

/* see session.h */
void session_config_defaults(session_config *cfg)
{
    cfg->idle_timeout_ms = 45000;
    cfg->connect_timeout_ms = 20000;
    cfg->close_timeout_ms = 1500;
    cfg->backoff_first_ms = 5000;
    cfg->backoff_cap_ms = 60000;
    cfg->rest_backoff_first_ms = 1000;
    cfg->rest_429_min_ms = 1000;
    cfg->rest_429_max_ms = 4000;
    cfg->rediscover_interval_ms = 300000;
    cfg->resync34_delay_first_ms = 5000;
    cfg->resync34_forgive_ms = 300000;
    cfg->refresh_fails_login = 3;
    cfg->token_margin_ms = 2000;
    cfg->rest_details = false;
}

/* see session.h */
const char *session_state_name(session_state st)
{
    static const char *const names[] = { "idle",        "login",     "list_assets", "connecting",
                                         "subscribing", "streaming", "backoff",     "closing",
                                         "stopped",     "fatal" };
    _Static_assert(sizeof names / sizeof names[0] == SESSION_ST_FATAL + 1, "state names");
    return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "unknown";
}

/* see session.h */
const char *session_reason_name(session_reason r)
{
    /* In enum order; the assertion catches a value added without its name. */
    static const char *const names[] = { "none",
                                         "remote_close_1000",
                                         "remote_close_1001",
                                         "remote_close_1006",
                                         "remote_close_1007_auth",
                                         "remote_close_1007",
                                         "remote_close_1008_limit",
                                         "remote_close_1008",
                                         "remote_close_1009",
                                         "remote_close_1011",
                                         "remote_close_1012",
                                         "remote_close_4500",
                                         "remote_close_other",
                                         "ping_timeout",
                                         "protocol_error",
                                         "dns",
                                         "tcp",
                                         "tls",
                                         "upgrade",
                                         "local_shutdown",
                                         "remote_close_1008_queue" };
    _Static_assert(sizeof names / sizeof names[0] == SESSION_REASON_COUNT, "reason names");
    return (unsigned)r < SESSION_REASON_COUNT ? names[r] : "unknown";
}

/* see session.h */
const char *session_fatal_name(session_fatal f)
{
    switch (f) {
    case SESSION_FATAL_CREDENTIALS: return "credentials_rejected";
    case SESSION_FATAL_TWO_FACTOR: return "two_factor_required";
    case SESSION_FATAL_PASSWORD_EXPIRED: return "password_expired";
    case SESSION_FATAL_PASSWORD_POLICY: return "password_policy_violation";
    default: return "none";
    }
}

/* see session.h */
const session_stats *session_get_stats(const session_ctx *s)
{
    return &s->st;
}

/* see session.h */
bool session_is_streaming(const session_ctx *s)
{
    return session_get_state(s) == SESSION_ST_STREAMING;
}

/* see session.h */
session_endpoint session_get_endpoint(const session_ctx *s)
{
    return s->endpoint;
}

/* see session.h */
int session_last_error(const session_ctx *s)
{
    return s->err;
}

/* see session.h */
const char *session_upgrade_class_name(session_upgrade_class c)
{
    switch (c) {
    case SESSION_UPGRADE_TRANSIENT: return "server_error";
    case SESSION_UPGRADE_TOKEN: return "token_rejected";
    case SESSION_UPGRADE_RATE_LIMITED: return "rate_limited";
    case SESSION_UPGRADE_CONFIG: return "configuration_error";
    case SESSION_UPGRADE_PROTOCOL: return "protocol_error";
    }
    return "unknown";
}
