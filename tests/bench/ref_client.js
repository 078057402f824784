#!/usr/bin/env node
// ref_client.js -- the benchmark's reference client: what a straightforward Node.js
// consumer of the IoT Pro (ThingsBoard PE) WebSocket API does, written the documented
// way (../shared/reference/thingsboard-protocol.md, sections d and g), so that the
// exporter's throughput and memory can be compared with it on the same feed.
//
// Flow: POST /api/auth/login; GET /api/user/assets page by page (sorted by createdTime,
// while hasNext); open wss://HOST/api/ws; send {"authCmd":{...},"cmds":[...]} with one
// ENTITY_DATA command per asset page, at most 10 commands per message (ThingsBoard closes
// with 1009 above 32 KiB); JSON.parse every message; keep the latest value per asset and
// key in a Map (newest ts wins; updates that overtake their cmdId's initial data page are
// buffered until it arrives); ws answers pings by itself. --values numbers (default)
// keeps numbers as Numbers; --values strings keeps every value as the string it came as,
// as the original integration does (the GPS and mixed workloads of run.sh use it).
//
// When every page's initial data has arrived, it waits --warmup seconds, then counts for
// --duration seconds and prints one JSON object on stdout, then closes (1000) and exits 0:
//   {"assets":N,"series":N,"startup_s":x,"window_s":x,"update_messages":N,
//    "values_applied":N,"msgs_per_s":x,"values_per_s":x,"cpu_s":x,
//    "cpu_s_per_million_updates":x,"peak_rss_bytes":N,...}
// --duration 0 streams until SIGTERM/SIGINT and reports then. --max-seconds bounds the
// whole run: on expiry it reports what it has with "timeout":true and exits 3.
//
// Usage: IOTPRO_PASSWORD=... node ref_client.js --url https://localhost:PORT \
//          --username USER [--ca ca.pem] [--page-size 1000] [--keys a,b,c] \
//          [--warmup 1] [--duration 5] [--max-seconds 120] [--values numbers|strings]
// The CA may also come from NODE_EXTRA_CA_CERTS. Progress goes to stderr.
'use strict';

const fs = require('fs');
const https = require('https');
const path = require('path');

let WebSocket;
try {
    WebSocket = require('ws');
} catch (e) {
    try {
        WebSocket = require(path.join(__dirname, '..', 'node_modules', 'ws'));
    } catch (e2) {
        process.stderr.write('ref_client: npm package "ws" is missing (run npm install in tests/)\n');
        process.exit(4);
    }
}

function parseArgs(argv) {
    const o = {
        url: '', username: '', ca: '', pageSize: 1000,
        keys: 'device_id,telemetry_param_latitude,telemetry_param_longitude',
        warmup: 1, duration: 5, maxSeconds: 120, values: 'numbers',
    };
    for (let i = 0; i < argv.length; i++) {
        let a = argv[i], v;
        const eq = a.indexOf('=');
        if (a.startsWith('--') && eq > 0) { v = a.slice(eq + 1); a = a.slice(0, eq); }
        const next = () => (v !== undefined ? v : argv[++i]);
        switch (a) {
        case '--url': o.url = next(); break;
        case '--username': o.username = next(); break;
        case '--ca': o.ca = next(); break;
        case '--page-size': o.pageSize = parseInt(next(), 10); break;
        case '--keys': o.keys = next(); break;
        case '--warmup': o.warmup = parseFloat(next()); break;
        case '--duration': o.duration = parseFloat(next()); break;
        case '--max-seconds': o.maxSeconds = parseFloat(next()); break;
        case '--values': o.values = next(); break;
        case '-h': case '--help':
            process.stdout.write(fs.readFileSync(__filename, 'utf8').split('\n')
                .filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n') + '\n');
            process.exit(0);
            break;
        default:
            process.stderr.write(`ref_client: unknown option ${a}\n`);
            process.exit(2);
        }
    }
    if (!o.url || !o.username) {
        process.stderr.write('ref_client: --url and --username are required\n');
        process.exit(2);
    }
    if (!(o.pageSize >= 1)) { process.stderr.write('ref_client: bad --page-size\n'); process.exit(2); }
    return o;
}

const opt = parseArgs(process.argv.slice(2));
const password = process.env.IOTPRO_PASSWORD || '';
const base = new URL(opt.url);
const ca = opt.ca ? fs.readFileSync(opt.ca) : undefined;
const keys = opt.keys.split(',').map((k) => k.trim()).filter((k) => k.length > 0);
const agent = new https.Agent({ keepAlive: true, ca });
const t0 = process.hrtime.bigint();
const now = () => Number(process.hrtime.bigint() - t0) / 1e9;
const log = (m) => process.stderr.write(`ref_client: ${m}\n`);

// ---- REST ---------------------------------------------------------------------------

function request(method, p, body, token) {
    return new Promise((resolve, reject) => {
        const headers = { Accept: 'application/json' };
        let data;
        if (body !== undefined) {
            data = Buffer.from(JSON.stringify(body));
            headers['Content-Type'] = 'application/json';
            headers['Content-Length'] = data.length;
        }
        if (token) headers['X-Authorization'] = 'Bearer ' + token;
        const req = https.request({
            method, host: base.hostname, port: base.port || 443, path: p, headers, agent, ca,
            servername: base.hostname,
        }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => {
                const text = Buffer.concat(chunks).toString('utf8');
                if (res.statusCode !== 200) {
                    reject(new Error(`${method} ${p.split('?')[0]}: HTTP ${res.statusCode}`));
                    return;
                }
                try { resolve(JSON.parse(text)); } catch (e) { reject(new Error(`${p}: bad JSON`)); }
            });
        });
        req.on('error', reject);
        if (data) req.write(data);
        req.end();
    });
}

async function login() {
    const r = await request('POST', '/api/auth/login', { username: opt.username, password });
    if (r.scope || !r.refreshToken) throw new Error('login: two-factor account, cannot continue');
    return r.token;
}

async function listAssets(token) {
    const assets = new Map(); // id -> {name, type}
    let pages = 0;
    for (let page = 0; ; page++) {
        const q = `/api/user/assets?pageSize=${opt.pageSize}&page=${page}` +
                  '&sortProperty=createdTime&sortOrder=ASC';
        const r = await request('GET', q, undefined, token);
        for (const a of r.data || []) assets.set(a.id.id, { name: a.name, type: a.type });
        pages++;
        if (!r.hasNext) break;
    }
    return { assets, pages };
}

// ---- WebSocket ----------------------------------------------------------------------

function entityDataCmd(cmdId, page) {
    return {
        cmdId,
        type: 'ENTITY_DATA',
        query: {
            entityFilter: { type: 'entityType', entityType: 'ASSET' },
            pageLink: {
                pageSize: opt.pageSize, page,
                sortOrder: { key: { type: 'ENTITY_FIELD', key: 'createdTime' }, direction: 'ASC' },
            },
            entityFields: [{ type: 'ENTITY_FIELD', key: 'name' }, { type: 'ENTITY_FIELD', key: 'type' }],
            latestValues: [],
        },
        latestCmd: { keys: keys.map((k) => ({ type: 'TIME_SERIES', key: k })) },
    };
}

// Latest value per asset and key: Map<assetId, Map<key, {ts, value}>>.
const latest = new Map();
let series = 0;
const st = {
    dataMessages: 0, updateMessages: 0, valuesApplied: 0, valuesStale: 0,
    errors: 0, ignored: 0,
};
const pending = new Map(); // cmdId -> buffered update messages (before its data page)
const dataSeen = new Set();
let cmdCount = 0;

function toValue(s) {
    if (typeof s !== 'string' || opt.values === 'strings') return s;
    if (s === 'true') return 1;
    if (s === 'false') return 0;
    const n = Number(s);
    return s.length > 0 && !Number.isNaN(n) ? n : s;
}

// Applies one EntityData's latest values; returns the number of values applied.
function applyEntity(ed) {
    const id = ed.entityId && ed.entityId.id;
    if (!id || !ed.latest) return 0;
    let m = latest.get(id);
    if (!m) { m = new Map(); latest.set(id, m); }
    let n = 0;
    for (const type of Object.keys(ed.latest)) {
        if (type === 'ENTITY_FIELD') continue; // its ts is the server's "now"
        const kv = ed.latest[type];
        for (const k of Object.keys(kv)) {
            const tv = kv[k];
            const ts = tv.ts || 0;
            const cur = m.get(k);
            if (cur && cur.ts > ts) { st.valuesStale++; continue; }
            if (ts === 0 && (tv.value === undefined || tv.value === '')) {
                if (cur) { m.delete(k); series--; }
                n++;
                continue;
            }
            if (!cur) series++;
            m.set(k, { ts, value: toValue(tv.value) });
            n++;
        }
    }
    return n;
}

function applyUpdate(msg) {
    st.updateMessages++;
    for (const ed of msg.update) st.valuesApplied += applyEntity(ed);
}

let startupDone = null; // time when every page's data page had arrived
function onMessage(raw) {
    const msg = JSON.parse(raw);
    if (msg.subscriptionId !== undefined || (msg.errorCode && msg.errorCode !== 0)) {
        st.errors++;
        if (st.errors <= 5) log(`error reply: ${msg.errorCode} ${msg.errorMsg}`);
        return;
    }
    if (msg.cmdUpdateType !== 'ENTITY_DATA' || !(msg.cmdId >= 1 && msg.cmdId <= cmdCount)) {
        st.ignored++;
        return;
    }
    if (msg.data) {
        st.dataMessages++;
        for (const ed of msg.data.data || []) applyEntity(ed);
        if (!dataSeen.has(msg.cmdId)) {
            dataSeen.add(msg.cmdId);
            const q = pending.get(msg.cmdId);
            if (q) { pending.delete(msg.cmdId); for (const u of q) applyUpdate(u); }
            if (dataSeen.size === cmdCount && startupDone === null) {
                startupDone = now();
                onStartupDone();
            }
        }
    }
    if (Array.isArray(msg.update)) {
        if (!dataSeen.has(msg.cmdId)) {
            let q = pending.get(msg.cmdId);
            if (!q) { q = []; pending.set(msg.cmdId, q); }
            q.push(msg);
        } else {
            applyUpdate(msg);
        }
    }
}

// ---- measurement window -------------------------------------------------------------

let ws = null;
let win = null;       // counters at window start
let reported = false;
let nAssets = 0, nPages = 0;

function snapshot() {
    return { t: now(), cpu: process.cpuUsage(), msgs: st.updateMessages, vals: st.valuesApplied };
}

function peakRss() {
    try {
        const m = /VmHWM:\s+(\d+)\s+kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
        if (m) return parseInt(m[1], 10) * 1024;
    } catch (e) { /* not Linux */ }
    return process.resourceUsage().maxRSS * 1024;
}

function report(extra) {
    if (reported) return;
    reported = true;
    const end = snapshot();
    const start = win || end;
    const dt = end.t - start.t;
    const dm = end.msgs - start.msgs, dv = end.vals - start.vals;
    const cpu = ((end.cpu.user - start.cpu.user) + (end.cpu.system - start.cpu.system)) / 1e6;
    const out = Object.assign({
        assets: nAssets, pages: nPages, series,
        startup_s: startupDone,
        window_s: dt,
        update_messages: dm, values_applied: dv,
        msgs_per_s: dt > 0 ? dm / dt : 0,
        values_per_s: dt > 0 ? dv / dt : 0,
        cpu_s: cpu,
        cpu_s_per_million_updates: dm > 0 ? cpu / dm * 1e6 : 0,
        peak_rss_bytes: peakRss(),
        rss_bytes: process.memoryUsage().rss,
        data_messages: st.dataMessages, total_update_messages: st.updateMessages,
        total_values_applied: st.valuesApplied, values_stale: st.valuesStale,
        error_replies: st.errors, ignored_messages: st.ignored,
    }, extra || {});
    process.stdout.write(JSON.stringify(out) + '\n');
}

function finish(code, extra) {
    report(extra);
    try { if (ws) ws.close(1000); } catch (e) { /* closing anyway */ }
    setTimeout(() => process.exit(code), 200).unref();
    if (ws) ws.once('close', () => process.exit(code));
    else process.exit(code);
}

function onStartupDone() {
    log(`initial data for ${nAssets} assets in ${startupDone.toFixed(3)} s; warming up`);
    setTimeout(() => {
        win = snapshot();
        if (opt.duration > 0) setTimeout(() => finish(0), opt.duration * 1000);
    }, opt.warmup * 1000);
}

process.on('SIGTERM', () => finish(0, { signalled: true }));
process.on('SIGINT', () => finish(0, { signalled: true }));
if (opt.maxSeconds > 0) {
    setTimeout(() => { log('time is up'); finish(3, { timeout: true }); }, opt.maxSeconds * 1000).unref();
}

async function main() {
    const token = await login();
    const { assets, pages } = await listAssets(token);
    agent.destroy(); // the REST connection is not needed while streaming
    nAssets = assets.size;
    nPages = pages;
    log(`logged in; ${nAssets} assets in ${pages} pages`);
    cmdCount = nAssets > 0 ? Math.ceil(nAssets / opt.pageSize) : 0;

    const wsUrl = (base.protocol === 'https:' ? 'wss://' : 'ws://') + base.host + '/api/ws';
    ws = new WebSocket(wsUrl, { ca, maxPayload: 0, perMessageDeflate: false, servername: base.hostname });
    ws.on('open', () => {
        const cmds = [];
        for (let p = 0; p < cmdCount; p++) cmds.push(entityDataCmd(p + 1, p));
        let first = true;
        do {
            const batch = cmds.splice(0, 10);
            const m = first ? { authCmd: { cmdId: 0, token }, cmds: batch } : { cmds: batch };
            const s = JSON.stringify(m);
            if (Buffer.byteLength(s) > 32 * 1024) throw new Error('command message over 32 KiB');
            ws.send(s);
            first = false;
        } while (cmds.length > 0);
        log(`subscribed ${cmdCount} pages`);
        if (cmdCount === 0) { startupDone = now(); onStartupDone(); }
    });
    ws.on('message', (data) => onMessage(data.toString('utf8')));
    ws.on('close', (code, reason) => {
        if (!reported) { log(`closed ${code} ${reason}`); finish(5, { closed: code }); }
    });
    ws.on('error', (e) => { log(`ws error: ${e.message}`); finish(5, { error: e.message }); });
}

main().catch((e) => { log(e.message); finish(1, { error: e.message }); });
