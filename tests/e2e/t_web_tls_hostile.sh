#!/usr/bin/env bash
# t_web_tls_hostile.sh -- the HTTPS port under hostile load, on the ASan+UBSan exporter:
# 100 concurrent TLS scrapers, slowloris before and after the handshake, garbage on the
# port (tests/e2e/web_tls_hostile.py). Afterwards the exporter still serves, its thread
# and fd counts are back near the baseline, it stops cleanly, and ASan reports nothing.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/e2e_common.sh"
e2e_need web_tls_hostile "${EXP_CONFIG:-asan}"
command -v htpasswd >/dev/null || { fail "web_tls_hostile needs htpasswd" "tests/deps.sh installs it"; finish; }
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-}"

H=$(htpasswd -nbB -C 5 prom hostile-pw | cut -d: -f2-)
cat >"$TEST_TMP/web.yml" <<Y
tls_server_config:
  cert_file: $CERTS/server.pem
  key_file: $CERTS/server.key
basic_auth_users:
  prom: $H
Y
e2e_start_sim --assets 300 --rate 50 || { fail "simulator starts"; finish; }
EXP_START_WAIT=60 e2e_start_exporter --web.config.file="$TEST_TMP/web.yml" --log.level=info \
    || { fail "exporter listens" "$(exp_log_tail)"; finish; }
EXP_URL=https://localhost:$EXP_PORT
metrics_text() { curl -s --max-time 20 --cacert "$CERTS/ca.pem" -u prom:hostile-pw "$EXP_URL/metrics"; }
e2e_wait_up 60 || fail "iotpro_up becomes 1" "$(exp_log_tail)"
fd0=$(fd_count "$EXP_PID")
th0=$(awk '/^Threads/ {print $2}' "/proc/$EXP_PID/status")

"$PY" "$E2E_DIR/web_tls_hostile.py" --port "$EXP_PORT" --ca "$CERTS/ca.pem" --user prom \
    --password hostile-pw --timeout-ms 2000 || fail "hostile client finished cleanly"

sleep 3 # the last held connections end at their deadlines
lim=$(metric 'iotpro_limit_hits_total{limit="tls_connections"}')
check "connections past the front's bound are counted (tls_connections $lim)" test "${lim:-0}" -ge 60 -a "${lim:-0}" -le 80
serving() { metrics_text | grep -q '^iotpro_up 1'; }
check "still serving /metrics" serving
fd1=$(fd_count "$EXP_PID"); th1=$(awk '/^Threads/ {print $2}' "/proc/$EXP_PID/status")
check "fds back near the baseline ($fd0 -> $fd1)" test "$fd1" -le $((fd0 + 4))
check "threads back near the baseline ($th0 -> $th1)" test "$th1" -le $((th0 + 4))
e2e_stop_exporter 10
check "clean stop under ASan (exit $EXP_RC)" test "$EXP_RC" = 0
check "no sanitizer report" bash -c "! grep -q -e 'ERROR: AddressSanitizer' -e 'runtime error:' -e 'ERROR: LeakSanitizer' '$EXP_LOG'"
finish
