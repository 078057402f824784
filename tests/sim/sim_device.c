/*
 * sim_device.c -- device connectivity, as ThingsBoard's device state service keeps it
 * in SERVER_SCOPE attributes (its default, state.persistToTelemetry=false):
 *
 * - every telemetry value a device sends is activity: lastActivityTime is saved with
 *   the reported time, and active=true is saved if the device was inactive (each save
 *   its own update message, lastActivityTime first);
 * - a device with no activity for the inactivity timeout (--inactivity-timeout, 600 s
 *   like ThingsBoard's state.defaultInactivityTimeoutInSec) gets inactivityAlarmTime
 *   and then active=false saved, once per inactivity episode;
 * - lastConnectTime is set once, before the simulator starts (no transport sessions
 *   are modelled, so there is no lastDisconnectTime).
 *
 * Every device starts active. A device that is not quiet (/fault/quiet) sends a
 * heartbeat telemetry value well within the timeout, so it stays active whether or not
 * the steady generator picks it. ThingsBoard checks for timeouts every 60 s; the check
 * here runs every tenth of the timeout (20 ms to 1 s), so `active` drops between the
 * timeout and the timeout plus that period: sooner than ThingsBoard, never later.
 * ThingsBoard also batches activity reports (about every 3 s per device); here every
 * value is pushed, which is more traffic, never less.
 */
#include <stdlib.h>

#include "tests/sim/sim.h"

static struct {
    uint8_t *active;
    int64_t *last, *alarm;
    uint32_t nactive;
    int64_t next_scan; /* mono ms */
    uint64_t rng;
} D;

void sim_device_init(void)
{
    uint32_t n = sim_device_count();
    D.active = calloc(n ? n : 1, 1);
    D.last = calloc(n ? n : 1, sizeof *D.last);
    D.alarm = calloc(n ? n : 1, sizeof *D.alarm);
    D.rng = sim.seed ^ 0xac71;
    /* last activity within the first half of the timeout (at most a minute) before start */
    int64_t spread = sim.inactivity_ms / 2 < 60000 ? sim.inactivity_ms / 2 : 60000;
    for (uint32_t j = 0; j < n; j++) {
        D.active[j] = 1;
        D.last[j] =
            sim.start_ms - (int64_t)(sim_hash(sim.seed ^ 0x1a57, j) % (uint64_t)(spread + 1));
    }
    D.nactive = n;
}

static uint32_t dev(uint32_t idx)
{
    return idx - sim_device_base();
}

int sim_device_active(uint32_t idx)
{
    return D.active[dev(idx)];
}

int64_t sim_device_last_activity(uint32_t idx)
{
    return D.last[dev(idx)];
}

int64_t sim_device_alarm_time(uint32_t idx)
{
    return D.alarm[dev(idx)];
}

int64_t sim_device_connect_time(uint32_t idx)
{
    return sim_asset_created(idx) + 1000 + (int64_t)(sim_hash(sim.seed ^ 0xc0, idx) % 3600000u);
}

uint32_t sim_device_active_count(void)
{
    return D.nactive;
}

/* Saves one connectivity attribute (its value is already in D) and pushes it. */
static void save(uint32_t idx, int attr)
{
    int slot = SIM_SLOT_ATTR(attr);
    sim_stamp(idx, slot);
    sim_fanout(idx, &slot, 1);
}

void sim_device_reported(uint32_t idx, int64_t ts)
{
    if (!sim_is_device(idx))
        return;
    uint32_t j = dev(idx);
    if (ts > D.last[j]) {
        D.last[j] = ts;
        save(idx, SIM_ATTR_LAST_ACTIVITY);
    }
    if (!D.active[j]) {
        D.active[j] = 1;
        D.nactive++;
        save(idx, SIM_ATTR_ACTIVE);
    }
}

/* A telemetry value of one of the device's keys, saved now and pushed. */
static void heartbeat(uint32_t idx)
{
    int cand[SIM_MAX_KEYS], nc = 0;
    for (int k = 0; k < (int)sim.nkeys; k++)
        if (sim_has_key(idx, k))
            cand[nc++] = k;
    if (!nc)
        return;
    D.rng = sim_hash(D.rng, idx);
    int slot = cand[D.rng % (uint64_t)nc];
    int64_t ts = sim_bump(idx, slot);
    sim_fanout(idx, &slot, 1);
    sim_device_reported(idx, ts);
}

void sim_device_timers(int64_t mono)
{
    uint32_t n = sim_device_count(), base = sim_device_base();
    if (!n || mono < D.next_scan)
        return;
    int64_t period = sim.inactivity_ms / 10;
    period = period < 20 ? 20 : period > 1000 ? 1000 : period;
    D.next_scan = mono + period;
    int64_t now = sim_now_ms();
    for (uint32_t j = 0; j < n; j++) {
        uint32_t idx = base + j;
        if (D.active[j] && now >= D.last[j] + sim.inactivity_ms) {
            D.alarm[j] = now;
            save(idx, SIM_ATTR_ALARM_TIME);
            D.active[j] = 0;
            D.nactive--;
            save(idx, SIM_ATTR_ACTIVE);
            continue;
        }
        /* each device beats after 30-60 % of the timeout without activity */
        int64_t beat =
            sim.inactivity_ms * (30 + (int64_t)(sim_hash(sim.seed ^ 0xbea7, j) % 31u)) / 100;
        if (!sim_quiet(idx) && now - D.last[j] >= beat)
            heartbeat(idx);
    }
}
