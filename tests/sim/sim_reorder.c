/*
 * sim_reorder.c -- the reorder fault: messages in the orders ThingsBoard can produce.
 *
 * ThingsBoard hands every outgoing message to a 50-thread pool before the session's
 * send queue, so an update can overtake the initial data page of its cmdId and two
 * updates can swap; right after subscribing it may also replay values saved between
 * the query and the subscription ("missed updates") after the data page. With the
 * fault on (--reorder, /fault/reorder?on=1):
 *
 * - premature: for every new subscription one entity's value is saved after the page
 *   was rendered and pushed before the page goes out, so the page carries an older
 *   ts than the update that came first;
 * - missed: after the data page, one or two values of the page are saved again and
 *   pushed as ordinary updates;
 * - swap: now and then the steady generator holds an update back and sends it right
 *   after the next one of the same session (or after 50 ms if none comes).
 *
 * Every value is saved through the model before it is sent, so /truth (newest ts per
 * asset and key) stays what a client keeping the newest ts must end up with.
 */
#include <string.h>

#include "tests/sim/sim.h"

#define HOLD_MS 50

int sim_gen_running;

static uint64_t rng = 0x5eed0fu;
static uint64_t rnd(void)
{
    rng = sim_hash(rng, 0x7e0d);
    return rng;
}

/* A live (entity, time-series slot) of sub, picked at random; -1 if none. */
static int pick(const sim_sub *sub, uint32_t *idx)
{
    if (!sub->nlive)
        return -1;
    for (int tries = 0; tries < 8; tries++) {
        uint32_t e = sub->sorted[rnd() % sub->nlive];
        if (!sim_asset_exists(e))
            continue;
        int cand[SIM_MAX_QKEYS], nc = sim_sub_ts_slots(sub, e, cand);
        if (nc) {
            *idx = e;
            return cand[rnd() % (uint64_t)nc];
        }
    }
    return -1;
}

static void save_and_push(const sim_sub *sub)
{
    uint32_t idx;
    int slot = pick(sub, &idx);
    if (slot < 0)
        return;
    int64_t ts = sim_bump(idx, slot);
    sim_fanout(idx, &slot, 1);
    sim_device_reported(idx, ts);
}

void sim_reorder_premature(sim_session *s, sim_sub *sub)
{
    (void)s;
    if (sim.reorder)
        save_and_push(sub);
}

void sim_reorder_missed(sim_session *s, sim_sub *sub)
{
    (void)s;
    if (!sim.reorder)
        return;
    int n = 1 + (int)(rnd() % 2);
    for (int i = 0; i < n; i++)
        save_and_push(sub);
}

int sim_reorder_hold(sim_session *s, sim_msg_kind kind, int cmd_id, const char *p, size_t n,
                     unsigned values)
{
    if (!sim.reorder || !sim_gen_running)
        return 0;
    if (s->held.len) {
        /* the swap: this one first, then the one held back */
        sim_ws_values(s, kind, cmd_id, p, n, values);
        sim_reorder_flush(s, 0, 1);
        return 1;
    }
    if (rnd() % 4 != 0)
        return 0;
    sim_buf_put(&s->held, p, n);
    s->held_cmd = cmd_id;
    s->held_kind = kind;
    s->held_values = values;
    s->held_since = sim_mono_ms();
    return 1;
}

void sim_reorder_flush(sim_session *s, int64_t mono, int force)
{
    if (!s->held.len || (!force && mono - s->held_since < HOLD_MS))
        return;
    sim_ws_values(s, s->held_kind, s->held_cmd, s->held.p, s->held.len, s->held_values);
    s->held.len = 0;
}
