/*
 * subs.c -- the subscription ledger (see subs.h): per-command state from "to send" to
 * "data arrived", cmdId allocation, the unsubscribe queue, and the message builder
 * that reads the ledger without ever rearranging what it is sending.
 */
#include "core/subs.h"

#include <string.h>

/* see subs.h */
void subs_config_defaults(subs_config *c)
{
    c->timeout_ms = 30000;
    c->retry_first_ms = 1000;
    c->spacing_ms = 250;
}

/* see subs.h */
const char *subs_resend_name(subs_resend r)
{
    static const char *const names[SUBS_RESEND__COUNT] = { "data_timeout", "too_many_updates",
                                                           "assets_changed", "keys_changed" };
    return (unsigned)r < SUBS_RESEND__COUNT ? names[r] : "unknown";
}

/* see subs.h */
int subs_init(subs *s, subs_entry *entries, uint32_t cap, const subs_config *cfg)
{
    memset(s, 0, sizeof *s);
    if (!entries && cap)
        return SUBS_ERR_ARG;
    if (cfg)
        s->cfg = *cfg;
    else
        subs_config_defaults(&s->cfg);
    if (s->cfg.timeout_ms == 0)
        s->cfg.timeout_ms = 1;
    s->e = entries;
    s->cap = cap;
    s->next_id = 1;
    return 0;
}

static void push_unsub(subs *s, int32_t id)
{
    if (s->unsub_n < SUBS_UNSUB_MAX)
        s->unsub[s->unsub_n++] = id;
    else
        s->unsub_dropped++;
}

/* Every command back to QUEUED without a cmdId, due now; ids in use are unsubscribed
 * first when `unsubscribe` is set. */
static void requeue_all(subs *s, uint64_t now, bool unsubscribe)
{
    for (uint32_t i = 0; i < s->n; i++) {
        subs_entry *e = &s->e[i];
        if (unsubscribe && e->cmd_id > 0)
            push_unsub(s, e->cmd_id);
        e->cmd_id = 0;
        e->state = SUBS_QUEUED;
        e->resends = 0;
        e->at = now;
    }
}

/* see subs.h */
int subs_set_commands(subs *s, const tb_cmd *cmds, uint32_t n, uint64_t now, subs_resend why)
{
    if (n > s->cap || (!cmds && n) || (unsigned)why >= SUBS_RESEND__COUNT)
        return SUBS_ERR_ARG;
    if (s->open)
        requeue_all(s, now, true); /* the old commands' ids */
    s->tmpl = cmds;
    s->n = n;
    requeue_all(s, now, false);
    if (s->open)
        s->st.resends[why] += n;
    return 0;
}

/* see subs.h */
void subs_connect(subs *s, uint64_t now)
{
    s->open = true;
    s->auth_pending = true;
    s->unsub_n = 0;
    s->next_id = 1;
    s->wrapped = false;
    requeue_all(s, now, false);
}

/* see subs.h */
void subs_disconnect(subs *s)
{
    s->open = false;
    s->auth_pending = false;
    s->unsub_n = 0;
    requeue_all(s, 0, false);
}

/* see subs.h */
void subs_resubscribe(subs *s, uint64_t now, subs_resend why)
{
    if (!s->open || (unsigned)why >= SUBS_RESEND__COUNT)
        return;
    requeue_all(s, now, true);
    s->st.resends[why] += s->n;
}

static bool id_in_use(const subs *s, int32_t id)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (s->e[i].cmd_id == id)
            return true;
    for (uint32_t i = 0; i < s->unsub_n; i++)
        if (s->unsub[i] == id)
            return true;
    return false;
}

/* The next free cmdId in 1 .. LIM_TB_CMDS-1. Ids run up through a connection's life;
 * after a wrap (tens of thousands of resends) ids still held are skipped. The ledger
 * holds far fewer ids than the range, so this ends. */
static int32_t take_id(subs *s, int32_t *cursor, bool *wrapped)
{
    for (;;) {
        int32_t id = (*cursor)++;
        if ((uint32_t)*cursor >= LIM_TB_CMDS) {
            *cursor = 1;
            *wrapped = true;
        }
        if (!*wrapped || !id_in_use(s, id))
            return id;
    }
}

/* see subs.h */
int subs_build_next(subs *s, const char *token, size_t token_len, char *out, size_t cap,
                    uint64_t now, subs_built *b)
{
    uint32_t k = 0, nun, used;
    int32_t cursor = s->next_id;
    bool wrapped = s->wrapped;
    tb_build_cursor cur;
    int r;
    b->cmds = s->scratch;
    b->n = 0;
    b->tb_err = 0;
    if (!s->open)
        return 0;
    for (uint32_t i = 0; i < s->unsub_n && k < SUBS_SCRATCH; i++, k++) {
        memset(&s->scratch[k], 0, sizeof s->scratch[k]);
        s->scratch[k].kind = TB_CMD_UNSUBSCRIBE;
        s->scratch[k].cmd_id = s->unsub[i];
        s->scratch_entry[k] = UINT32_MAX;
    }
    nun = k;
    for (uint32_t i = 0; i < s->n && k < SUBS_SCRATCH; i++) {
        const subs_entry *e = &s->e[i];
        if (e->state != SUBS_QUEUED || e->at > now)
            continue;
        s->scratch[k] = s->tmpl[i];
        s->scratch[k].kind = TB_CMD_SUBSCRIBE;
        s->scratch[k].cmd_id = take_id(s, &cursor, &wrapped);
        s->scratch_entry[k] = i;
        k++;
    }
    if (k == 0 && !s->auth_pending)
        return 0;
    memset(&cur, 0, sizeof cur);
    r = tb_build_next(&cur, s->auth_pending ? token : NULL, s->auth_pending ? token_len : 0,
                      s->scratch, k, out, cap);
    if (r <= 0) {
        b->tb_err = r;
        return r == 0 ? 0 : SUBS_ERR_BUILD;
    }
    /* Commit what went into the message. Ids of commands that did not fit are given
     * back: they are the tail of the sequence, so the next id follows the last one
     * written. */
    for (uint32_t j = 0; j < (uint32_t)cur.next; j++) {
        subs_entry *e;
        if (s->scratch_entry[j] == UINT32_MAX) {
            s->st.unsubscribes_sent++;
            continue;
        }
        e = &s->e[s->scratch_entry[j]];
        e->cmd_id = s->scratch[j].cmd_id;
        e->state = SUBS_SENDING;
        s->st.commands_sent++;
        if (e->cmd_id < s->next_id || e->cmd_id + 1 >= (int32_t)LIM_TB_CMDS)
            s->wrapped = true;
        s->next_id = e->cmd_id + 1 >= (int32_t)LIM_TB_CMDS ? 1 : e->cmd_id + 1;
    }
    used = (uint32_t)cur.next < nun ? (uint32_t)cur.next : nun;
    memmove(s->unsub, s->unsub + used, (s->unsub_n - used) * sizeof s->unsub[0]);
    s->unsub_n -= used;
    if (cur.auth_sent)
        s->auth_pending = false;
    b->n = (uint32_t)cur.next;
    return r;
}

/* see subs.h */
void subs_written(subs *s, uint64_t now)
{
    for (uint32_t i = 0; i < s->n; i++) {
        subs_entry *e = &s->e[i];
        if (e->state == SUBS_SENDING) {
            /* A server that answers slower than the deadline must not be chased for
             * ever: each resend of the same command doubles its deadline, up to 4x. */
            uint64_t d = s->cfg.timeout_ms;
            for (uint32_t j = 0; j < e->resends && j < SUBS_DEADLINE_DOUBLINGS; j++)
                d *= 2;
            e->state = SUBS_PENDING;
            e->at = now + d;
        }
    }
}

/* see subs.h */
bool subs_on_data(subs *s, int32_t cmd_id)
{
    if (!s->open || cmd_id <= 0)
        return false;
    for (uint32_t i = 0; i < s->n; i++) {
        subs_entry *e = &s->e[i];
        if (e->cmd_id != cmd_id)
            continue;
        if (e->state != SUBS_SENDING && e->state != SUBS_PENDING)
            return false;
        e->state = SUBS_LIVE;
        e->resends = 0;
        s->st.data_received++;
        return true;
    }
    return false;
}

/* xorshift32: spreads one 32-bit draw over many commands. */
static uint32_t mix(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* see subs.h */
uint32_t subs_expire(subs *s, uint64_t now, uint32_t rnd)
{
    uint32_t k = 0, x = rnd ? rnd : 0x9E3779B9u;
    if (!s->open)
        return 0;
    for (uint32_t i = 0; i < s->n; i++) {
        subs_entry *e = &s->e[i];
        uint64_t env;
        if (e->state != SUBS_PENDING || e->at > now)
            continue;
        push_unsub(s, e->cmd_id);
        e->cmd_id = 0;
        e->state = SUBS_QUEUED;
        if (e->resends < UINT8_MAX)
            e->resends++;
        env = s->cfg.retry_first_ms;
        for (uint32_t j = 1; j < e->resends && env < s->cfg.timeout_ms; j++)
            env *= 2;
        if (env > s->cfg.timeout_ms)
            env = s->cfg.timeout_ms;
        e->at = now + (uint64_t)k * s->cfg.spacing_ms +
                (uint64_t)(((uint64_t)mix(&x) * (env + 1)) >> 32);
        k++;
        s->st.resends[SUBS_RESEND_DATA_TIMEOUT]++;
    }
    return k;
}

/* see subs.h */
uint64_t subs_next_deadline(const subs *s)
{
    uint64_t d = SUBS_NEVER;
    if (!s->open)
        return d;
    if (s->unsub_n > 0 || s->auth_pending)
        return 0;
    for (uint32_t i = 0; i < s->n; i++) {
        const subs_entry *e = &s->e[i];
        if ((e->state == SUBS_QUEUED || e->state == SUBS_PENDING) && e->at < d)
            d = e->at;
    }
    return d;
}

/* see subs.h */
subs_counts subs_count(const subs *s, uint64_t now)
{
    subs_counts c;
    memset(&c, 0, sizeof c);
    if (!s->open)
        return c;
    for (uint32_t i = 0; i < s->n; i++) {
        switch (s->e[i].state) {
        case SUBS_QUEUED: c.queued++; break;
        case SUBS_SENDING: c.sending++; break;
        case SUBS_PENDING:
            c.pending++;
            if (s->e[i].at <= now)
                c.overdue++;
            break;
        default: c.live++; break;
        }
    }
    return c;
}

/* see subs.h */
bool subs_all_live(const subs *s)
{
    if (!s->open || s->auth_pending)
        return false;
    for (uint32_t i = 0; i < s->n; i++)
        if (s->e[i].state != SUBS_LIVE)
            return false;
    return true;
}

/* see subs.h */
const subs_stats *subs_get_stats(const subs *s)
{
    return &s->st;
}
