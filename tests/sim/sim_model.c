/*
 * sim_model.c -- the simulated tenant: assets, telemetry keys and their values.
 *
 * Everything about an asset (id, name, profile, label, createdTime, which keys it
 * lacks, its values) is a pure function of (seed, index, version), so start-up with
 * a million assets is instant and costs no per-asset strings. What changes at run time
 * is kept in flat arrays allocated once (calloc: pages are only touched when written):
 * per (asset, slot) a version and a timestamp offset; per asset a flag byte. Renames
 * and forced values live in small side tables.
 *
 * Asset ids are time-based-looking UUIDs whose first group holds the index under a
 * seeded prefix nibble, so ids sort like indexes (ThingsBoard's default sort is by id)
 * and map back to the index without a table.
 *
 * Devices live in the same arrays after the asset index space (sim_device_base()),
 * so subscriptions, faults and /truth treat both alike. Their ids use another prefix
 * nibble and version group, so no device id equals an asset id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tests/sim/sim.h"

#define VER_DELETED    0xffffffffu
#define AF_REMOVED     1u
#define AF_RENAMED     2u
#define AF_QUIET       4u
#define AF_SET_FW      8u  /* firmware saved at run time (the entity has it now) */
#define AF_SET_CAP     16u /* capacity saved at run time */
#define SIM_MAX_ADDED  65536u
#define SIM_MAX_FORCED 1024

static const char *const profiles[SIM_NPROFILES] = { "Pump station", "Weather station",
                                                     "Cold store", "Water tank", "Vehicle" };
/* Device profiles; ThingsBoard's own default profile is called "default". */
static const char *const dev_profiles[3] = { "default", "Tracker", "Meter" };
static const char *const attr_names[SIM_NATTR] = { "assetDetails",     "firmware",
                                                   "capacity",         "active",
                                                   "lastActivityTime", "inactivityAlarmTime",
                                                   "lastConnectTime" };
/* capacity renders like a telemetry key of this shape */
static const sim_key capacity_key = { "capacity", SIM_V_DOUBLE, 10, 500, 1, 10 };

static struct {
    uint32_t count, cap, slots;
    uint32_t *ver;          /* [cap * slots] */
    uint32_t *tsoff;        /* [cap * slots] ms since start + 1; 0 = initial value */
    uint8_t *flags;         /* [cap] */
    int64_t *added_created; /* createdTime of assets added at run time */
    uint32_t added_base;
    char (*added_type)[32];
    sim_rename renames[SIM_MAX_RENAMES];
    int nrenames;
    struct {
        uint32_t idx;
        int slot;
        char val[SIM_TEXT_MAX];
    } forced[SIM_MAX_FORCED];
    int nforced;
    unsigned prefix, dprefix; /* id prefix nibbles of assets and devices */
    uint32_t nremoved;        /* assets removed (by the control endpoint) */
    uint32_t dev_base, ndev;
} M;

static const sim_key default_keys[] = {
    { "device_id", SIM_V_STRING, 0, 0, 0, 0 },
    { "telemetry_param_latitude", SIM_V_DOUBLE, 47.0, 55.0, 6, 3 },
    { "telemetry_param_longitude", SIM_V_DOUBLE, 6.0, 15.0, 6, 3 },
    { "temperature", SIM_V_DOUBLE, -10.0, 35.0, 1, 5 },
    { "battery", SIM_V_LONG, 0, 100, 0, 10 },
    { "odometer", SIM_V_DOUBLE, 1.0e6, 5.0e7, 1, 20 },
    { "door_open", SIM_V_BOOL, 0, 1, 0, 15 },
};

void sim_model_init(uint32_t nassets, uint32_t ndevices, uint32_t nkeys, uint64_t seed)
{
    uint32_t ndef = sizeof default_keys / sizeof default_keys[0];
    if (nkeys < 1)
        nkeys = 1;
    if (nkeys > SIM_MAX_KEYS - 1)
        nkeys = SIM_MAX_KEYS - 1;
    for (uint32_t k = 0; k < nkeys; k++) {
        if (k < ndef) {
            sim.keys[k] = default_keys[k];
        } else {
            sim_key *kk = &sim.keys[k];
            memset(kk, 0, sizeof *kk);
            snprintf(kk->name, sizeof kk->name, "metric_%u", k - ndef + 1);
            kk->type = SIM_V_DOUBLE;
            kk->lo = 0;
            kk->hi = 1000;
            kk->decimals = 2;
            kk->missing_pct = 10;
        }
    }
    sim.nkeys = nkeys;
    sim.nassets = nassets;
    sim.seed = seed;
    M.count = nassets;
    M.cap = nassets + SIM_MAX_ADDED;
    M.dev_base = M.cap;
    M.ndev = ndevices;
    M.slots = nkeys + SIM_NATTR;
    size_t total = (size_t)M.cap + ndevices;
    M.ver = calloc(total * M.slots, sizeof *M.ver);
    M.tsoff = calloc(total * M.slots, sizeof *M.tsoff);
    M.flags = calloc(total, 1);
    M.added_created = calloc(SIM_MAX_ADDED, sizeof *M.added_created);
    M.added_type = calloc(SIM_MAX_ADDED, sizeof *M.added_type);
    M.added_base = nassets;
    if (!M.ver || !M.tsoff || !M.flags || !M.added_created || !M.added_type) {
        fprintf(stderr, "iotpro-sim: cannot allocate the model for %u assets\n", nassets);
        exit(2);
    }
    M.prefix = 1u + (unsigned)(seed % 14u);
    M.dprefix = 15u - M.prefix; /* never equal: prefix is 1..14 */
}

uint32_t sim_device_base(void)
{
    return M.dev_base;
}

uint32_t sim_device_count(void)
{
    return M.ndev;
}

int sim_is_device(uint32_t idx)
{
    return idx >= M.dev_base;
}

const char *sim_entity_type(uint32_t idx)
{
    return sim_is_device(idx) ? "DEVICE" : "ASSET";
}

int sim_quiet(uint32_t idx)
{
    return (M.flags[idx] & AF_QUIET) != 0;
}

void sim_set_quiet(uint32_t idx, int on)
{
    M.flags[idx] = (uint8_t)(on ? M.flags[idx] | AF_QUIET : M.flags[idx] & ~AF_QUIET);
}

int sim_attr_slot(const char *name, size_t len)
{
    for (int a = 0; a < SIM_NATTR; a++)
        if (strlen(attr_names[a]) == len && memcmp(attr_names[a], name, len) == 0)
            return SIM_SLOT_ATTR(a);
    return -1;
}

const char *sim_slot_name(int slot)
{
    return SIM_SLOT_IS_ATTR(slot) ? attr_names[slot - (int)sim.nkeys] : sim.keys[slot].name;
}

uint32_t sim_model_count(void)
{
    return M.count;
}

int sim_asset_exists(uint32_t idx)
{
    if (idx >= M.dev_base)
        return idx - M.dev_base < M.ndev;
    return idx < M.count && !(M.flags[idx] & AF_REMOVED);
}

/* digits lowercase hex digits of v into out, most significant first */
static void hex(char *out, uint64_t v, int digits)
{
    static const char xd[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; i--, v >>= 4)
        out[i] = xd[v & 15];
}

/* "%08x-%04x-11ee-%04x-%012llx" written by hand: every page, REST or WebSocket, has an
 * id per asset, and the commands' entity lists are checked against it. */
void sim_asset_id(uint32_t idx, char out[37])
{
    uint64_t h = sim_hash(sim.seed ^ 0xa55e7, idx);
    int dev = sim_is_device(idx);
    hex(out, dev ? M.dprefix << 28 | (idx - M.dev_base) : M.prefix << 28 | idx, 8);
    out[8] = '-';
    hex(out + 9, h & 0xffff, 4);
    memcpy(out + 13, dev ? "-11ef-" : "-11ee-", 6);
    hex(out + 19, 0x8000 | ((h >> 16) & 0x3fff), 4);
    out[23] = '-';
    hex(out + 24, h >> 16 & 0xffffffffffffull, 12);
    out[36] = 0;
}

uint32_t sim_model_removed(void)
{
    return M.nremoved;
}

int sim_asset_from_id(const char *id, size_t len, uint32_t *idx)
{
    if (len != 36)
        return -1;
    char tmp[9], want[37];
    memcpy(tmp, id, 8);
    tmp[8] = 0;
    char *end;
    unsigned long v = strtoul(tmp, &end, 16);
    if (*end || ((v >> 28) != M.prefix && (v >> 28) != M.dprefix))
        return -1;
    uint32_t i = (uint32_t)(v & 0x0fffffff);
    if ((v >> 28) == M.dprefix) {
        if (i >= M.ndev)
            return -1;
        i += M.dev_base;
    } else if (i >= M.count) {
        return -1;
    }
    sim_asset_id(i, want);
    if (strncasecmp(want, id, 36) != 0)
        return -1;
    *idx = i;
    return 0;
}

const char *sim_asset_type(uint32_t idx)
{
    if (idx >= M.dev_base)
        return dev_profiles[sim_hash(sim.seed ^ 0xd7e9, idx) % 3];
    if (idx >= M.added_base)
        return M.added_type[idx - M.added_base];
    return profiles[sim_hash(sim.seed ^ 0x7e9e, idx) % SIM_NPROFILES];
}

size_t sim_asset_name(uint32_t idx, char *out, size_t cap)
{
    if (M.flags[idx] & AF_RENAMED)
        for (int i = M.nrenames - 1; i >= 0; i--)
            if (M.renames[i].index == idx)
                return (size_t)snprintf(out, cap, "%s", M.renames[i].name);
    unsigned h = (unsigned)(sim_hash(sim.seed ^ 0x4a3e, idx) % 100u);
    const char *t = sim_asset_type(idx);
    int n;
    if (sim_is_device(idx)) {
        /* "Sensor 12", "Tracker 3"...; the same escaping cases as asset names */
        t = !strcmp(t, "default") ? "Sensor" : t;
        idx -= M.dev_base;
    }
    /* A fraction of names exercise every escaping path of JSON and the exposition
     * format: quotes and backslashes, a newline, non-ASCII UTF-8 (2-, 3- and 4-byte). */
    if (h < 3)
        n = snprintf(out, cap, "%s \"North\" \\ %u", t, idx);
    else if (h < 5)
        n = snprintf(out, cap, "%s line one\nline two %u", t, idx);
    else if (h < 8)
        n = snprintf(out, cap, "K\xc3\xbchlhaus Z\xc3\xbcrich \xe2\x9d\x84 %u", idx);
    else if (h < 10)
        n = snprintf(out, cap, "\xd0\x9d\xd0\xb0\xd1\x81\xd0\xbe\xd1\x81 %u \xf0\x9f\x9a\xb0", idx);
    else
        n = snprintf(out, cap, "%s %u", t, idx);
    return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}

void sim_asset_label(uint32_t idx, char *out, size_t cap)
{
    /* Initials of the profile name and the index: "PS-7" for a pump station. */
    const char *t = sim_asset_type(idx);
    if (sim_is_device(idx))
        idx -= M.dev_base;
    char ini[8];
    size_t n = 0;
    for (const char *p = t; *p && n < sizeof ini - 1; p++)
        if ((p == t || p[-1] == ' ') && *p != ' ')
            ini[n++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    ini[n] = 0;
    snprintf(out, cap, "%s-%u", ini, idx);
}

int64_t sim_asset_created(uint32_t idx)
{
    if (idx >= M.dev_base)
        return sim.start_ms - 86400000ll - (int64_t)(M.dev_base + M.ndev - idx) * 1000 + 500;
    if (idx >= M.added_base)
        return M.added_created[idx - M.added_base];
    return sim.start_ms - 86400000ll - (int64_t)(M.added_base - idx) * 1000;
}

void sim_asset_profile_id(uint32_t idx, char out[37])
{
    const char *t = sim_asset_type(idx);
    uint64_t h = 0;
    for (const char *p = t; *p; p++)
        h = sim_hash(h, (unsigned char)*p);
    h = sim_hash(h, sim.seed ^ (sim_is_device(idx) ? 0xde7 : 0));
    /* "%08x-%04x-11ee-%04x-%012llx", as in sim_asset_id */
    hex(out, h >> 32, 8);
    out[8] = '-';
    hex(out + 9, h & 0xffff, 4);
    memcpy(out + 13, "-11ee-", 6);
    hex(out + 19, 0x8000 | ((h >> 16) & 0x3fff), 4);
    out[23] = '-';
    hex(out + 24, h >> 8 & 0xffffffffffffull, 12);
    out[36] = 0;
}

int sim_details_mode(uint32_t idx)
{
    if (sim_is_device(idx))
        return 0;
    unsigned h = (unsigned)(sim_hash(sim.seed ^ 0xde7a, idx) % 10u);
    return h == 0 ? 0 : h == 1 ? 2 : 1;
}

void sim_details_json(uint32_t idx, sim_buf *b)
{
    static const char *const sites[] = { "North", "South", "Harbour", "Straße 5", "Site \"A\"" };
    uint64_t h = sim_hash(sim.seed ^ 0xde7b, idx);
    uint32_t ver = M.ver[(size_t)idx * M.slots + SIM_SLOT_DETAILS];
    const char *site = sites[h % 5];
    sim_buf_puts(b, "{\"site\":");
    sim_buf_json_str(b, site, strlen(site));
    sim_buf_printf(b,
                   ",\"floors\":%u,\"serial\":\"SN-%06u\",\"commissioned\":%s,"
                   "\"revision\":%u}",
                   (unsigned)(h >> 8) % 12 + 1, (unsigned)(h >> 16) % 1000000,
                   (h >> 40) & 1 ? "true" : "false", ver == VER_DELETED ? 0 : ver);
}

int sim_key_find(const char *name, size_t len)
{
    for (uint32_t k = 0; k < sim.nkeys; k++)
        if (strlen(sim.keys[k].name) == len && memcmp(sim.keys[k].name, name, len) == 0)
            return (int)k;
    return -1;
}

int sim_has_key(uint32_t idx, int key)
{
    if (key < 0 || key >= (int)M.slots)
        return 0;
    if (SIM_SLOT_IS_ATTR(key)) {
        int dev = sim_is_device(idx);
        switch (key - (int)sim.nkeys) {
        case SIM_ATTR_DETAILS: return sim_details_mode(idx) != 0;
        case SIM_ATTR_FIRMWARE:
            return (M.flags[idx] & AF_SET_FW) || sim_hash(sim.seed ^ 0xf1, idx) % 10u != 0;
        case SIM_ATTR_CAPACITY:
            return (M.flags[idx] & AF_SET_CAP) || sim_hash(sim.seed ^ 0xca, idx) % 10u != 0;
        case SIM_ATTR_ALARM_TIME: return dev && sim_device_alarm_time(idx) != 0;
        default: return dev; /* active, lastActivityTime, lastConnectTime */
        }
    }
    return (int)(sim_hash(sim.seed ^ 0x6e55, (uint64_t)idx * 131 + (unsigned)key) % 100u) >=
           sim.keys[key].missing_pct;
}

static void render(uint32_t idx, int slot, uint32_t ver, sim_fmt fmt, sim_buf *out)
{
    for (int i = 0; i < M.nforced; i++)
        if (M.forced[i].idx == idx && M.forced[i].slot == slot) {
            sim_buf_puts(out, M.forced[i].val);
            return;
        }
    const sim_key *k = &sim.keys[slot < (int)sim.nkeys ? slot : 0];
    switch (slot - (int)sim.nkeys) {
    case SIM_ATTR_DETAILS: sim_details_json(idx, out); return;
    case SIM_ATTR_FIRMWARE: {
        uint64_t f = sim_hash(sim_hash(sim.seed ^ 0xf2, idx), ver);
        sim_buf_printf(out, "%u.%u.%u", 1 + (unsigned)(f % 3), (unsigned)(f >> 8) % 10,
                       (unsigned)(f >> 16) % 20);
        return;
    }
    case SIM_ATTR_CAPACITY: k = &capacity_key; break;
    case SIM_ATTR_ACTIVE: sim_buf_puts(out, sim_device_active(idx) ? "true" : "false"); return;
    case SIM_ATTR_LAST_ACTIVITY: sim_buf_i64(out, sim_device_last_activity(idx)); return;
    case SIM_ATTR_ALARM_TIME: sim_buf_i64(out, sim_device_alarm_time(idx)); return;
    case SIM_ATTR_CONNECT_TIME: sim_buf_i64(out, sim_device_connect_time(idx)); return;
    default: break;
    }
    uint64_t h = sim_hash(sim_hash(sim.seed, (uint64_t)idx * M.slots + (unsigned)slot), ver);
    char num[40];
    switch (k->type) {
    case SIM_V_STRING:
        sim_buf_printf(out, "DEV-%08X", (unsigned)sim_hash(sim.seed ^ 0xde1d, idx));
        break;
    case SIM_V_BOOL: sim_buf_puts(out, h & 1 ? "true" : "false"); break;
    case SIM_V_LONG:
        sim_buf_printf(out, "%lld",
                       (long long)k->lo + (long long)(h % (uint64_t)(k->hi - k->lo + 1)));
        break;
    case SIM_V_DOUBLE: {
        if (sim.nmea && k->decimals == 6) {
            /* the coordinate keys: whole degrees plus minutes (4 decimals) / 60 */
            double deg = k->lo + (double)(h % (uint64_t)(k->hi - k->lo));
            sim_fmt_double(deg + (double)((h >> 20) % 600000u) / 600000.0, fmt, num);
            sim_buf_puts(out, num);
            break;
        }
        double scale = 1;
        for (int i = 0; i < k->decimals; i++)
            scale *= 10;
        uint64_t span = (uint64_t)((k->hi - k->lo) * scale) + 1;
        double m = k->lo * scale + (double)(h % span);
        /* One value in four is whole, so "25" vs "25.0" shows up often. */
        if ((h >> 40) % 4 == 0)
            m = (double)(long long)(m / scale) * scale;
        if (m == (double)(long long)m)
            sim_fmt_scaled((long long)m, k->decimals, fmt, num);
        else
            sim_fmt_double(m / scale, fmt, num);
        sim_buf_puts(out, num);
        break;
    }
    }
}

int sim_value(uint32_t idx, int slot, sim_fmt fmt, int64_t *ts, sim_buf *out)
{
    *ts = 0;
    if ((idx >= M.count && !sim_is_device(idx)) || !sim_has_key(idx, slot))
        return 0;
    size_t at = (size_t)idx * M.slots + (unsigned)slot;
    uint32_t ver = M.ver[at];
    if (ver == VER_DELETED)
        return 0;
    if (M.tsoff[at])
        *ts = sim.start_ms + (int64_t)M.tsoff[at] - 1;
    else if (slot == SIM_SLOT_ATTR(SIM_ATTR_LAST_ACTIVITY))
        *ts = sim_device_last_activity(idx); /* saved when the activity was reported */
    else if (slot == SIM_SLOT_ATTR(SIM_ATTR_CONNECT_TIME))
        *ts = sim_device_connect_time(idx);
    else
        *ts = sim.start_ms - 1000 - (int64_t)(sim_hash(sim.seed ^ 0x75, at) % 3600000u);
    render(idx, slot, ver, fmt, out);
    return 1;
}

static void unforce(uint32_t idx, int slot)
{
    for (int i = 0; i < M.nforced; i++)
        if (M.forced[i].idx == idx && M.forced[i].slot == slot) {
            M.forced[i] = M.forced[--M.nforced];
            return;
        }
}

/* A value saved now makes firmware / capacity present on an entity that lacked them. */
static void mark_set(uint32_t idx, int slot)
{
    if (slot == SIM_SLOT_ATTR(SIM_ATTR_FIRMWARE))
        M.flags[idx] |= AF_SET_FW;
    else if (slot == SIM_SLOT_ATTR(SIM_ATTR_CAPACITY))
        M.flags[idx] |= AF_SET_CAP;
}

static int64_t stamp(size_t at)
{
    int64_t now = sim_now_ms();
    int64_t off = now - sim.start_ms + 1;
    /* Strictly newer than what was sent before, even within one millisecond, so a
     * client that keeps the newest ts never sees an update as stale. */
    if (M.tsoff[at] && off <= (int64_t)M.tsoff[at])
        off = (int64_t)M.tsoff[at] + 1;
    if (off < 1)
        off = 1;
    M.tsoff[at] = (uint32_t)off;
    return sim.start_ms + off - 1;
}

int64_t sim_bump(uint32_t idx, int slot)
{
    size_t at = (size_t)idx * M.slots + (unsigned)slot;
    unforce(idx, slot);
    mark_set(idx, slot);
    M.ver[at] = M.ver[at] == VER_DELETED ? 1 : M.ver[at] + 1;
    return stamp(at);
}

void sim_delete_value(uint32_t idx, int slot)
{
    size_t at = (size_t)idx * M.slots + (unsigned)slot;
    unforce(idx, slot);
    M.ver[at] = VER_DELETED;
    stamp(at);
}

void sim_set_string(uint32_t idx, int slot, const char *v)
{
    size_t at = (size_t)idx * M.slots + (unsigned)slot;
    unforce(idx, slot);
    mark_set(idx, slot);
    if (M.nforced < SIM_MAX_FORCED) {
        M.forced[M.nforced].idx = idx;
        M.forced[M.nforced].slot = slot;
        snprintf(M.forced[M.nforced].val, sizeof M.forced[0].val, "%s", v);
        M.nforced++;
    }
    if (M.ver[at] == VER_DELETED)
        M.ver[at] = 1;
    stamp(at);
}

int64_t sim_stamp(uint32_t idx, int slot)
{
    return stamp((size_t)idx * M.slots + (unsigned)slot);
}

void sim_touch(uint32_t idx, int slot, int64_t ts)
{
    size_t at = (size_t)idx * M.slots + (unsigned)slot;
    int64_t off = ts - sim.start_ms + 1;
    if (off > (int64_t)M.tsoff[at])
        M.tsoff[at] = (uint32_t)off;
}

uint32_t sim_asset_add(const char *type)
{
    if (M.count >= M.cap || M.count >= 0x0fffffffu)
        return UINT32_MAX;
    uint32_t idx = M.count++;
    uint32_t a = idx - M.added_base;
    int64_t prev = a ? M.added_created[a - 1] : sim_asset_created(M.added_base - 1);
    int64_t now = sim_now_ms();
    M.added_created[a] = now > prev ? now : prev + 1;
    snprintf(M.added_type[a], sizeof M.added_type[a], "%s",
             type && *type ? type : profiles[idx % SIM_NPROFILES]);
    return idx;
}

int sim_asset_remove(uint32_t idx)
{
    if (!sim_asset_exists(idx) || sim_is_device(idx))
        return -1;
    M.flags[idx] |= AF_REMOVED;
    M.nremoved++;
    return 0;
}

int sim_asset_rename(uint32_t idx, const char *name)
{
    if (!sim_asset_exists(idx) || M.nrenames >= SIM_MAX_RENAMES)
        return -1;
    M.renames[M.nrenames].index = idx;
    snprintf(M.renames[M.nrenames].name, sizeof M.renames[0].name, "%s", name);
    M.nrenames++;
    M.flags[idx] |= AF_RENAMED;
    return 0;
}
