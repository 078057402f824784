#!/usr/bin/env bash
# The handshake rejection table (websocket-tls-reliability.md section 6, item 2) against
# the release exporter: the hostile peer answers the n-th WebSocket upgrade with the n-th
# rejection (200, 301 to another host, 400, 401, 403, 404, 426, 500, 502, 503, 101s with a
# missing or wrong Upgrade, Connection or Sec-WebSocket-Accept, an unrequested extension
# or subprotocol, a status line over 8 KiB, more than 64 headers), then a valid 101.
# Expected: no session (no frame sent, iotpro_up 0, no telemetry), no redirect followed,
# each failure counted under stage="upgrade", a fresh token after 401/403, the slow
# retry after configuration/protocol errors, a warning naming the HTTP status, and a
# working stream once the server behaves. --iotpro.backoff-max=1s keeps it under ~40 s.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/e2e_common.sh"
e2e_need upgrade_rejections release

HS_SCEN=$("$PY" "$E2E_DIR/hostile_peer.py" --port-file /dev/null --results /dev/null --hs-list)
N=$(tr ',' '\n' <<<"$HS_SCEN" | grep -c .)
res=$TEST_TMP/hs.results
spawn "$PY" "$E2E_DIR/hostile_peer.py" --certs "$CERTS" --port-file "$TEST_TMP/hs.port" \
    --results "$res" --hs "$HS_SCEN" --log-rest --max-seconds 180 2>"$TEST_TMP/peer.log"
for ((i = 0; i < 200; i++)); do [ -s "$TEST_TMP/hs.port" ] && break; sleep 0.05; done
UPSTREAM_PORT=$(sed -n 's/^port=//p' "$TEST_TMP/hs.port")
[ -n "$UPSTREAM_PORT" ] || { fail "hostile peer starts" "$(tail -3 "$TEST_TMP/peer.log")"; finish; }

E2E_KEYS=temperature,device_id
if ! e2e_start_exporter --iotpro.backoff-max=1s --iotpro.asset-details=off --log.format=logfmt; then
    fail "exporter listens" "$(exp_log_tail)"
    finish
fi

# While the table runs: sample /metrics; iotpro_up and telemetry must stay absent/0. The
# count of answered scenarios is read before each scrape, so a scrape that sees the
# table unfinished cannot be one made after the valid 101 that follows it.
hs_done() { grep -c '"kind": "hs"' "$res" 2>/dev/null || true; }
max_up=0 telemetry=0 samples=0 t0=$(date +%s)
while :; do
    done_n=$(hs_done)
    [ "${done_n:-0}" -ge "$N" ] && break
    (( $(date +%s) - t0 > 60 )) && break
    kill -0 "$EXP_PID" 2>/dev/null || break
    m=$(metrics_text)
    samples=$((samples + 1))
    grep -q '^iotpro_up 1' <<<"$m" && max_up=1
    grep -q '^iotpro_telemetry_value{' <<<"$m" && telemetry=1
    sleep 0.3
done
check "all $N rejections answered within 60 s ($(hs_done) done, $samples scrapes)" [ "$(hs_done)" -ge "$N" ]
check "iotpro_up stayed 0 during the table" [ "$max_up" = 0 ]
check "no telemetry series during the table" [ "$telemetry" = 0 ]
check "exporter alive after the table" kill -0 "$EXP_PID"
check "connect failures{stage=upgrade} >= $N" metric_ge 'iotpro_ws_connect_failures_total{stage="upgrade"}' "$N"
if e2e_wait_up 20; then
    ok "valid 101 afterwards: iotpro_up 1"
else
    fail "valid 101 afterwards: iotpro_up 1" "$(exp_log_tail)"
fi
check "valid 101 afterwards: telemetry applied" wait_for 10 metric_eq \
    'iotpro_telemetry_value{asset_id="0b9f8a1e-7c2d-4e5f-9a1b-2c3d4e5f6a7b",key="temperature"}' 21.5

# The peer's log: per scenario, in order; REST auth requests between upgrade attempts.
"$PY" - "$res" "$HS_SCEN" <<'PYEOF' || _failed=1
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
want = sys.argv[2].split(",")
hs = [r for r in rows if r["kind"] == "hs"]
def ok(name, cond, why=""):
    print(("ok - " if cond else "not ok - ") + name + ("" if cond or not why else ": " + why))
    return cond
good = True
good &= ok("scenarios answered in order", [r["scenario"] for r in hs] == want,
           str([r["scenario"] for r in hs]))
quiet = [r["scenario"] for r in hs if r["client_sent"]]
good &= ok("no frame sent on a rejected upgrade (nothing subscribed)", not quiet, str(quiet))
hits = [r for r in rows if r["kind"] == "redirect_hit"]
good &= ok("301: the Location on another host never requested", not hits, f"{len(hits)} hits")
auth = [r["t"] for r in rows if r["kind"] == "rest" and r["path"] in ("/api/auth/login", "/api/auth/token")]
# the upgrade request that follows each scenario (the valid one after the last)
ws_req = [r["req_t"] for r in hs]
normal = [r["t"] for r in rows if r["kind"] == "ws" and r.get("scenario") == "normal"]
for i, r in enumerate(hs):
    nxt = ws_req[i + 1] if i + 1 < len(hs) else (normal[0] if normal else None)
    if r["scenario"] in ("s401", "s403"):
        # times are rounded to 1 ms: a refresh can carry the 401's own timestamp
        fresh = nxt is not None and any(r["req_t"] <= t < nxt for t in auth)
        good &= ok(f"{r['scenario']}: a fresh login/refresh before the next upgrade", fresh,
                   f"auth at {auth}, window {r['req_t']}..{nxt}")
# configuration and protocol errors retry at the cap: delay in [cap/2, cap] = [0.5, 1] s
slow = {"s200", "s301", "s400", "s404", "s426", "no_upgrade", "bad_upgrade", "no_connection",
        "bad_connection", "no_accept", "dup_accept", "bad_accept", "accept_case", "ext_deflate",
        "subprotocol", "long_status", "many_headers"}
fast = []
for i, r in enumerate(hs[:-1]):
    if r["scenario"] in slow and hs[i + 1]["req_t"] - r["req_t"] < 0.45:
        fast.append((r["scenario"], round(hs[i + 1]["req_t"] - r["req_t"], 3)))
good &= ok("configuration/protocol errors retried at the cap (>= 0.45 s apart)", not fast, str(fast))
sys.exit(0 if good else 1)
PYEOF

# One warning per rejection naming the HTTP status.
for st in 200 301 400 401 403 404 426 500 502 503; do
    check "warning names HTTP $st" grep -q "websocket upgrade rejected.*http_status=$st" "$EXP_LOG"
done
check "warning for a broken 101 says protocol_error" \
    grep -q 'websocket upgrade rejected.*http_status=101.*class=protocol_error' "$EXP_LOG"
check "warning for a 404 says configuration_error" \
    grep -q 'websocket upgrade rejected.*http_status=404.*class=configuration_error' "$EXP_LOG"

e2e_stop_exporter 5
check "clean exit afterwards" [ "$EXP_RC" = 0 ]
finish
