#!/usr/bin/env bash
# t_e2e_slow_scrape.sh -- a /metrics response that a scraper reads very slowly holds a
# reference to the asset table it streams from, and nothing waits for it: rediscoveries
# build and publish new tables while it streams, ingest and other scrapes go on, and no
# asset change is lost or delayed.
#
# Timeline (--iotpro.rediscover-interval=10s): the slow reader starts on table A; an
# asset is added, so the first rediscovery publishes B; another asset is added, and the
# second rediscovery publishes C -- both while the slow response still reads A.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/e2e_common.sh"
e2e_need e2e_slow_scrape "${EXP_CONFIG:-release}"

log_count() { grep -c "$1" "$EXP_LOG" 2>/dev/null || true; }

# 20k assets: a body of several MB, far beyond what loopback socket buffers hold.
e2e_start_sim --assets 20000 --rate 200 || { fail "simulator starts"; finish; }
e2e_start_exporter --iotpro.rediscover-interval=10s || { fail "exporter listens" "$(exp_log_tail)"; finish; }
e2e_wait_up 60 || { fail "iotpro_up becomes 1" "$(exp_log_tail)"; finish; }

# The slow reader: a small receive buffer, 512 bytes every 100 ms, until killed.
"$PY" - "$EXP_PORT" >"$TEST_TMP/slow.out" 2>&1 <<'PYEOF' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
got = 0
while True:
    d = s.recv(512)
    if not d:
        break
    got += len(d)
    print(got, flush=True)
    time.sleep(0.1)
PYEOF
SLOW=$!
_pids+=($SLOW)
wait_for 10 test -s "$TEST_TMP/slow.out" || fail "slow reader gets the first bytes"

added=$(sim_ctl "/assets/add?n=1&type=late-profile")
[ -n "$added" ] && ok "an asset is added upstream" || fail "asset added"
if wait_for 25 grep -q 'msg="assets listed" count=20001 .*changed=true' "$EXP_LOG"; then
    ok "first rediscovery swaps in the new table while the slow response streams"
else
    fail "first rediscovery swaps" "$(exp_log_tail 8)"
fi
added2=$(sim_ctl "/assets/add?n=1&type=late-profile")
if wait_for 25 grep -q 'msg="assets listed" count=20002 .*changed=true' "$EXP_LOG"; then
    ok "second rediscovery publishes another table"
else
    fail "second rediscovery publishes" "$(exp_log_tail 8)"
fi
kill -0 "$SLOW" 2>/dev/null && ok "the slow response was still being read meanwhile" \
    || fail "slow reader still reading" "$(tail -n 2 "$TEST_TMP/slow.out")"

# Meanwhile: ingest continues and a normal scrape is answered quickly.
u0=$(metric iotpro_telemetry_updates_total); sleep 2; u1=$(metric iotpro_telemetry_updates_total)
if [ -n "$u0" ] && [ -n "$u1" ] && "$PY" -c "import sys; sys.exit(0 if float('$u1') > float('$u0') else 1)"; then
    ok "ingest goes on while the slow response streams ($u0 -> $u1)"
else
    fail "ingest goes on while the slow response streams" "$u0 -> $u1"
fi
t=$(curl -s -o /dev/null -w '%{time_total}' --max-time 10 "$EXP_URL/metrics")
if "$PY" -c "import sys; sys.exit(0 if 0 < float('$t') < 3 else 1)"; then ok "another scrape answers in ${t}s"
else fail "another scrape answers quickly" "${t}s"; fi
grep -q 'asset listing waits\|asset listing skipped' "$EXP_LOG" && fail "no listing waited or was skipped" \
    || ok "no listing waited or was skipped"
kill "$SLOW" 2>/dev/null; wait "$SLOW" 2>/dev/null
body=$(metrics_text)
for id in "$(head -n 1 <<<"$added")" "$(head -n 1 <<<"$added2")"; do
    if grep -q "^iotpro_asset_info{asset_id=\"$id\"" <<<"$body"; then ok "added asset $id is exposed"
    else fail "added asset is exposed" "$id"; fi
done
kill -0 "$EXP_PID" 2>/dev/null && ok "exporter alive" || fail "exporter alive"
finish
