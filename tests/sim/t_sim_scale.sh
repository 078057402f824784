#!/usr/bin/env bash
# iotpro-sim at scale: 1,000,000 assets start fast and page correctly; flood mode streams
# pre-rendered updates over TLS (the rate is printed; the bar here is deliberately low
# because the Python reader, not the simulator, is the bottleneck on a shared machine).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/simlib.sh"
need_sim

t0=$(date +%s%N)
if start_sim --assets 1000000 --rate 0; then
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    if [ "$ms" -lt 3000 ]; then ok "1,000,000 assets: listening after ${ms} ms"; else fail "1,000,000 assets start in < 3 s" "${ms} ms"; fi
else
    fail "sim starts with 1,000,000 assets" "$(tail -3 "$TEST_TMP/sim.log")"; finish
fi
"$PY" - "$SIM_PORT" "$CERTS/ca.pem" "$SIM_CTL" >"$TEST_TMP/scale.out" <<'PYEOF'
import json, ssl, sys, urllib.request
port, ca, ctl = sys.argv[1], sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
def get(path, tok=None, body=None):
    r = urllib.request.Request(f"https://localhost:{port}{path}", data=body)
    if tok: r.add_header("X-Authorization", "Bearer " + tok)
    return json.load(urllib.request.urlopen(r, context=ctx, timeout=60))
tok = get("/api/auth/login", body=b'{"username":"tenant@thingsboard.org","password":"tenant"}')["token"]
p = get("/api/user/assets?pageSize=1000&page=999", tok)
print("total", p["totalElements"], "pages", p["totalPages"], "hasNext", p["hasNext"], "n", len(p["data"]))
last = p["data"][-1]["id"]["id"]
truth = urllib.request.urlopen(f"http://127.0.0.1:{ctl}/truth?id={last}", timeout=30).read().decode()
print("truth_lines", len(truth.splitlines()), "truth_ok", all(l.startswith(last + "\t") for l in truth.splitlines()))
PYEOF
cat "$TEST_TMP/scale.out"
check "paging the last of 1000 pages" grep -q '^total 1000000 pages 1000 hasNext False n 1000$' "$TEST_TMP/scale.out"
check "truth for one asset of a million" grep -q 'truth_ok True' "$TEST_TMP/scale.out"
kill "$SIM_PID" 2>/dev/null

if start_sim --assets 10000 --rate 0 --flood; then ok "sim starts in flood mode"; else fail "flood sim starts"; finish; fi
"$PY" "$TOP/tests/sim/flood_reader.py" localhost "$SIM_PORT" "$CERTS/ca.pem" 4 200 >"$TEST_TMP/flood.out" 2>&1 &
reader=$!
sleep 1.5
a=$(curl -s "http://127.0.0.1:$SIM_CTL/stats" | awk '$1=="flood_msgs"{print $2}')
sleep 2
b=$(curl -s "http://127.0.0.1:$SIM_CTL/stats" | awk '$1=="flood_msgs"{print $2}')
wait "$reader"
rate=$(( (b - a) / 2 ))
echo "# flood: $rate messages/s over TLS into a Python reader ($(cat "$TEST_TMP/flood.out"))"
if [ "$rate" -gt 100000 ]; then ok "flood streams > 100k messages/s ($rate/s)"; else fail "flood rate" "$rate/s"; fi
# Every flood frame intact, also when a command reply has to go out mid-flood (a reply
# once landed inside a half-sent flood frame: invalid UTF-8 at the client).
"$PY" "$TOP/tests/sim/flood_reader.py" localhost "$SIM_PORT" "$CERTS/ca.pem" 3 200 check >"$TEST_TMP/flood_check.out" 2>&1
cat "$TEST_TMP/flood_check.out"
check "flood frames are whole, UTF-8 JSON, with a reply queued mid-flood" \
    grep -qE '^frames [0-9]{4,} bad 0 reply_seen 1$' "$TEST_TMP/flood_check.out"
finish
