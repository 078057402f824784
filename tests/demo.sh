#!/usr/bin/env bash
# tests/demo.sh -- `./build.sh demo`: the exporter against the simulated IoT Pro backend.
#
# Makes the test PKI in build/certs, starts iotpro-sim on loopback (TLS, its own CA),
# starts build/release/bin/iotpro_exporter trusting that CA, waits until telemetry shows
# up on /metrics, prints a sample and the addresses to open, and runs until Ctrl-C.
# Environment: BUILD (default build), DEMO_ASSETS (200), DEMO_RATE (20 updates/s).
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
SIM=$B/host/bin/iotpro-sim
EXP=$B/release/bin/iotpro_exporter
CERTS=$B/certs
LOG=$B/demo
PY=/usr/bin/python3
USER_NAME=demo@iotpro.example
USER_PASS=demo-password

for f in "$SIM" "$EXP"; do
    [ -x "$f" ] || { echo "demo: $f is missing; run ./build.sh demo (it builds host and release)" >&2; exit 1; }
done
mkdir -p "$LOG"
bash tests/mkcerts.sh "$CERTS" >/dev/null || { echo "demo: tests/mkcerts.sh failed" >&2; exit 1; }

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() {
    local i
    for ((i = 0; i < ${2:-10} * 20; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

SIM_PORT=$(free_port)
SIM_CTL=$(free_port)
WEB_PORT=$(free_port)
sim_pid= exp_pid=
cleanup() {
    trap - INT TERM EXIT
    [ -n "$exp_pid" ] && kill "$exp_pid" 2>/dev/null
    [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null
    [ -n "$exp_pid" ] && wait "$exp_pid" 2>/dev/null
    [ -n "$sim_pid" ] && wait "$sim_pid" 2>/dev/null
    echo
    echo "demo: stopped (logs in $LOG/)"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

"$SIM" --certs "$CERTS" --listen 127.0.0.1 --port "$SIM_PORT" --control-port "$SIM_CTL" \
    --assets "${DEMO_ASSETS:-200}" --rate "${DEMO_RATE:-20}" \
    --username "$USER_NAME" --password "$USER_PASS" 2>"$LOG/sim.log" &
sim_pid=$!
if ! wait_port "$SIM_PORT" 10; then
    echo "demo: iotpro-sim did not start:" >&2
    tail -n 20 "$LOG/sim.log" >&2
    exit 1
fi

IOTPRO_PASSWORD=$USER_PASS "$EXP" \
    --iotpro.url="https://localhost:$SIM_PORT" \
    --iotpro.username="$USER_NAME" \
    --tls.ca-file="$CERTS/ca.pem" \
    --web.listen-address="127.0.0.1:$WEB_PORT" >"$LOG/exporter.log" 2>&1 &
exp_pid=$!
sleep 1
if ! kill -0 "$exp_pid" 2>/dev/null; then
    wait "$exp_pid"
    rc=$?
    exp_pid=
    echo "demo: the exporter exited immediately (status $rc); it may not be implemented yet." >&2
    echo "demo: its output ($LOG/exporter.log):" >&2
    sed 's/^/    /' "$LOG/exporter.log" >&2
    exit 1
fi

# Metrics flow once a line carries an asset id the simulator generated.
metrics() { curl -fsS --max-time 5 "http://127.0.0.1:$WEB_PORT/metrics" 2>/dev/null; }
flowing=0
for ((i = 0; i < 60; i++)); do
    if ! kill -0 "$exp_pid" 2>/dev/null; then
        echo "demo: the exporter stopped; its output:" >&2
        tail -n 30 "$LOG/exporter.log" >&2
        exit 1
    fi
    if metrics | grep -v '^#' | grep -Eq '[0-9a-f]{8}-[0-9a-f]{4}-11ee-'; then
        flowing=1
        break
    fi
    sleep 0.5
done
if [ "$flowing" -ne 1 ]; then
    echo "demo: no telemetry on /metrics after 30 s; exporter log:" >&2
    tail -n 30 "$LOG/exporter.log" >&2
    exit 1
fi

echo "== sample of http://127.0.0.1:$WEB_PORT/metrics =="
sample=$(metrics)
grep -E '^iotpro_' <<<"$sample" | grep -Ev '[0-9a-f]{8}-[0-9a-f]{4}-11ee-' | head -n 12
grep -E '^iotpro_telemetry_value' <<<"$sample" | head -n 8
grep -E '^iotpro_asset_info' <<<"$sample" | head -n 2
echo "... ($(grep -vc '^#' <<<"$sample") series)"
echo
echo "Running. Open:"
echo "  exporter metrics      http://127.0.0.1:$WEB_PORT/metrics"
echo "  exporter home         http://127.0.0.1:$WEB_PORT/"
echo "  simulated IoT Pro     https://localhost:$SIM_PORT  (CA: $CERTS/ca.pem, user $USER_NAME)"
echo "  simulator counters    http://127.0.0.1:$SIM_CTL/stats"
echo "  simulator truth       http://127.0.0.1:$SIM_CTL/truth?scope=subscribed"
echo "  inject a fault, e.g.  curl 'http://127.0.0.1:$SIM_CTL/fault/close?code=1011'"
echo "Press Ctrl-C to stop."
while kill -0 "$exp_pid" 2>/dev/null && kill -0 "$sim_pid" 2>/dev/null; do
    sleep 1
done
echo "demo: a process exited; see $LOG/" >&2
exit 1
