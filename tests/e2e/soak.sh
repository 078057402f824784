#!/usr/bin/env bash
# tests/e2e/soak.sh [MINUTES]  (./build.sh soak MINUTES; default 10)
# Accelerated traffic (1000 assets, 500 updates/s) with a fault every SOAK_FAULT_EVERY
# seconds (default 20) from the sim's control endpoint and the fault proxy; RSS, open fds
# and threads of the exporter sampled every SOAK_SAMPLE seconds (default 5) and printed as
# a table with a flatness verdict; ends with /metrics == truth.
#   SOAK_CONFIG=release|host|asan   which exporter build (default release)
#   SOAK_RSS_TOLERANCE=5            percent: last-third mean RSS vs first-third mean
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/e2e_common.sh"
MIN=${1:-10}
e2e_need soak "${SOAK_CONFIG:-release}"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-}"
PROXY_MAX_SECONDS=$((MIN * 60 + 300))
if ! e2e_start_sim --assets 1000 --rate 500 --ping-interval 2 --pong-timeout 6; then
    fail "soak: sim starts" "$(tail -3 "$SIM_LOG")"; finish
fi
e2e_start_proxy || { fail "soak: proxy starts"; finish; }
if ! { e2e_start_exporter --log.level=info --iotpro.idle-timeout=6s --iotpro.rediscover-interval=30s \
        && e2e_wait_up 60; }; then
    fail "soak: exporter up" "$(exp_log_tail 6)"; finish
fi
ok "soak: exporter up (${MIN} min soak)"
EXP_URL=$EXP_URL SIM_CTL=$SIM_CTL PROXY_CTL=$PROXY_CTL EXP_PID=$EXP_PID E2E_KEYS=$E2E_KEYS \
    "$PY" "$E2E_DIR/soak_driver.py" "$MIN" || _failed=1
e2e_stop_exporter 10
check "soak: exit 0 on SIGTERM" [ "$EXP_RC" = 0 ]
if grep -q 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$EXP_LOG"; then
    fail "soak: sanitizer report" "$(grep -m2 'ERROR: \|runtime error:' "$EXP_LOG" | tr '\n' ' ')"
fi
finish
