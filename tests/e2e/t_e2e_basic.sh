#!/usr/bin/env bash
# t_e2e_basic.sh -- the exporter end to end against iotpro-sim over TLS:
#   every series carries exactly the simulator's last value (compare_truth.py), every
#   asset's exact name and profile (hostile names: quotes, backslashes, newlines,
#   UTF-8), `promtool check metrics` passes, /-/healthy, /-/ready (503 before the
#   subscription, 200 after), the landing page, 404 and 405, SIGTERM within 2 s with
#   exit 0, and a wrong password: exactly one login attempt and exit code 3.
# EXPORTER=path/to/iotpro_exporter picks the binary (e.g. the ASan build).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/e2e_common.sh"
e2e_need e2e_basic "${EXP_CONFIG:-release}"
echo "# exporter: $EXP_BIN"

code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }

e2e_start_sim --assets 300 --rate 100 || { fail "simulator starts"; finish; }
# Slow REST replies keep the exporter unsubscribed long enough to see /-/ready say 503.
sim_ctl "/fault/delay-rest?ms=1500" >/dev/null
e2e_start_exporter || { fail "exporter listens" "$(exp_log_tail)"; finish; }
check "/-/healthy is 200 at once" test "$(code "$EXP_URL/-/healthy")" = 200
check "/-/ready is 503 before the subscription" test "$(code "$EXP_URL/-/ready")" = 503
sim_ctl /reset >/dev/null
if e2e_wait_up 30; then ok "iotpro_up becomes 1"; else fail "iotpro_up becomes 1" "$(exp_log_tail)"; fi
check "/-/ready is 200 once subscribed" test "$(code "$EXP_URL/-/ready")" = 200

# Values: the exporter's series equal the simulator's ground truth (values, timestamps,
# string values as info), then with updates still flowing once the rate drops to 0.
sim_ctl "/rate?n=0" >/dev/null
if OUT=$(compare_truth --wait 20 2>&1); then ok "every series has the simulator's last value"
else fail "every series has the simulator's last value" "$(tail -n 5 <<<"$OUT")"; fi
if OUT=$("$PY" "$E2E_DIR/e2e_names.py" --api "https://localhost:$SIM_PORT" --ca "$CERTS/ca.pem" \
         --metrics "$EXP_URL/metrics" 2>&1); then ok "exact asset names and profiles ($OUT)"
else fail "exact asset names and profiles" "$OUT"; fi

metrics_text >"$TEST_TMP/metrics.txt"
if command -v promtool >/dev/null; then
    if OUT=$(promtool check metrics <"$TEST_TMP/metrics.txt" 2>&1); then ok "promtool check metrics"
    else fail "promtool check metrics" "$(head -n 5 <<<"$OUT")"; fi
else
    skip "promtool check metrics" "promtool not installed"
fi
CT=$(curl -s -o /dev/null -w '%{content_type}' "$EXP_URL/metrics")
check "text format 0.0.4 content type" test "$CT" = "text/plain; version=0.0.4; charset=utf-8"

# Other paths.
LAND=$(curl -s --max-time 5 "$EXP_URL/")
if grep -q 'iotpro_exporter' <<<"$LAND" && grep -q 'href="/metrics"' <<<"$LAND"; then
    ok "landing page names the exporter and links /metrics"
else fail "landing page" "$(head -c 300 <<<"$LAND")"; fi
check "404 for an unknown path" test "$(code "$EXP_URL/nope")" = 404
check "405 for POST /metrics" test "$(code -X POST "$EXP_URL/metrics")" = 405
check "HEAD /metrics is allowed" test "$(code -I "$EXP_URL/metrics")" = 200

# SIGTERM: WebSocket closed, civetweb stopped, exit 0 within 2 s.
t0=$(now_ms)
e2e_stop_exporter 5
dt=$(( $(now_ms) - t0 ))
check "SIGTERM: exit status 0 (got $EXP_RC)" test "$EXP_RC" = 0
if [ "$dt" -le 2000 ]; then ok "SIGTERM: stopped in ${dt} ms (<= 2000)"
else fail "SIGTERM: stopped within 2 s" "${dt} ms"; fi
check "SIGTERM: WebSocket closed with 1000" grep -q 'code=1000' "$EXP_LOG"

# Wrong password: one login attempt, then exit 3 (retrying could lock the account).
before=$(sim_stat logins_failed)
EXP_PASSWORD=wrong-password e2e_start_exporter || { fail "exporter with a wrong password starts" "$(exp_log_tail)"; finish; }
for ((i = 0; i < 100; i++)); do kill -0 "$EXP_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$EXP_PID" 2>/dev/null; then
    fail "wrong password: the exporter exits" "still running after 10 s"
    e2e_stop_exporter 2
else
    wait "$EXP_PID"; rc=$?
    check "wrong password: exit code 3 (got $rc)" test "$rc" = 3
fi
sleep 1
after=$(sim_stat logins_failed)
check "wrong password: exactly one login attempt ($before -> $after)" test "$((after - before))" = 1

# Zero assets: subscribed to everything there is (nothing), so up and ready.
e2e_start_sim --assets 0 || { fail "empty simulator starts"; finish; }
e2e_start_exporter || { fail "exporter (zero assets) listens" "$(exp_log_tail)"; finish; }
if e2e_wait_up 20; then ok "zero assets: iotpro_up is 1"; else fail "zero assets: iotpro_up is 1" "$(exp_log_tail)"; fi
check "zero assets: /-/ready is 200" test "$(code "$EXP_URL/-/ready")" = 200
check "zero assets: iotpro_assets is 0" metric_eq iotpro_assets 0
e2e_stop_exporter 5

# The series bound: a store of 50 series under 100 assets x 7 keys keeps 50 and counts
# the refused values in iotpro_series_dropped_total (the alert IotproSeriesDropped).
e2e_start_sim --assets 100 --rate 50 || { fail "simulator (series bound) starts"; finish; }
e2e_start_exporter --store.max-series=50 || { fail "exporter (series bound) listens" "$(exp_log_tail)"; finish; }
e2e_wait_up 20 || fail "series bound: iotpro_up is 1" "$(exp_log_tail)"
check "series bound: iotpro_series is the bound" wait_for 10 metric_eq iotpro_series 50
check "series bound: iotpro_series_dropped_total counts the refused values" metric_ge iotpro_series_dropped_total 1
check "series bound: iotpro_limit_hits_total{limit=\"series\"} too" metric_ge 'iotpro_limit_hits_total{limit="series"}' 1
d1=$(metric iotpro_series_dropped_total); sleep 1.5; d2=$(metric iotpro_series_dropped_total)
check "series bound: the count keeps up with the traffic ($d1 -> $d2)" "$PY" -c "import sys; sys.exit(0 if float('$d2') > float('$d1') else 1)"
e2e_stop_exporter 5
finish
