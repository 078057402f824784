/*
 * session_classify.c -- core/session's pure classification of how a WebSocket ended:
 * close codes and reasons (session__classify_close) and rejected upgrades
 * (session_classify_upgrade). No state, so each rule is testable on its own, and
 * session.c keeps only the state machine.
 */
#include "core/session_int.h"

#include <stddef.h>

/* Case-insensitive search of an ASCII needle in a bounded, not NUL-terminated text. */
static bool contains(const char *text, uint32_t len, const char *needle)
{
    size_t n = 0;
    while (needle[n])
        n++;
    if (!text || n == 0 || len < n)
        return false;
    for (uint32_t i = 0; i + n <= len; i++) {
        size_t j = 0;
        for (; j < n; j++) {
            unsigned char a = (unsigned char)text[i + j], b = (unsigned char)needle[j];
            if (a >= 'A' && a <= 'Z')
                a = (unsigned char)(a + 32);
            if (b >= 'A' && b <= 'Z')
                b = (unsigned char)(b + 32);
            if (a != b)
                break;
        }
        if (j == n)
            return true;
    }
    return false;
}

/* see session_int.h */
session_reason session__classify_close(const session_event *ev)
{
    const char *r = ev->u.closed.reason;
    uint32_t n = r ? ev->u.closed.reason_len : 0;
    if (ev->u.closed.local)
        return SESSION_REASON_PROTOCOL_ERROR;
    switch (ev->u.closed.code) {
    case 1000: return SESSION_REASON_1000;
    case 1001: return SESSION_REASON_1001;
    case 1005: /* closed without a status code: as good as a drop */
    case 1006: return SESSION_REASON_1006;
    case 1007:
        if (contains(r, n, "JWT Token expired") || contains(r, n, "Token is outdated") ||
            contains(r, n, "Invalid JWT token"))
            return SESSION_REASON_1007_AUTH;
        return SESSION_REASON_1007;
    case 1008:
        /* "Max pending updates limit reached!" is the session's send queue (1000
         * messages) overflowing: a slow reader or a busy server, which passes; the other
         * "... limit reached" are tenant-profile session/subscription counts, which
         * do not. Checked first: its reason also says "limit reached". */
        if (contains(r, n, "pending updates"))
            return SESSION_REASON_1008_QUEUE;
        return contains(r, n, "limit reached") ? SESSION_REASON_1008_LIMIT : SESSION_REASON_1008;
    case 1009: return SESSION_REASON_1009;
    case 1011: return SESSION_REASON_1011;
    case 1012: return SESSION_REASON_1012;
    case 4500: return SESSION_REASON_4500;
    default: return SESSION_REASON_OTHER_CODE;
    }
}

/* see session_int.h */
bool session__close_wants_login(const session_event *ev)
{
    const char *r = ev->u.closed.reason;
    uint32_t n = r ? ev->u.closed.reason_len : 0;
    return contains(r, n, "outdated") || contains(r, n, "Invalid JWT");
}

/* see session.h */
session_upgrade_class session_classify_upgrade(int status)
{
    if (status == 401 || status == 403)
        return SESSION_UPGRADE_TOKEN;
    /* The server or a proxy in front of it is failing or restarting; 408 says our
     * request was too slow, not wrong. All of these can pass by themselves. */
    if ((status >= 500 && status <= 599) || status == 408)
        return SESSION_UPGRADE_TRANSIENT;
    if (status == 429)
        return SESSION_UPGRADE_RATE_LIMITED;
    /* 101 or 0 reach here only as a broken response (wrong Upgrade, Connection or
     * Sec-WebSocket-Accept, an unrequested extension or subprotocol, an unparseable,
     * oversized or overlong header block): the thing answering is not a WebSocket
     * server we can talk to. */
    if (status == 101 || status <= 0)
        return SESSION_UPGRADE_PROTOCOL;
    /* 200 (a web page where the endpoint should be), 3xx (we never follow redirects:
     * the configured host is wrong), and every other 4xx (400, 404, 426...): asking
     * again the same way gets the same answer until someone changes the configuration. */
    return SESSION_UPGRADE_CONFIG;
}
