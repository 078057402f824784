#!/usr/bin/env bash
# Fault matrix (issue 9): every fault ends with /metrics equal to the simulator's ground
# truth; prints fault -> detection time -> recovery time -> result.
#
# Short timers keep it to a few minutes: --iotpro.idle-timeout=5s (the half-open cases are
# detected within it), --iotpro.rediscover-interval=10s (the minimum the exporter takes),
# sim keep-alive 1 s ping / 3 s pong timeout, --iotpro.backoff-max=10s (the reconnect
# backoff still starts at 5 s; the cap bounds how fast "refused for 20 s" recovers, and
# that case checks the bound).
#   FAULT_MATRIX_CASES=close,tcp,...   a subset (see tests/e2e/fault_matrix.py)
#   FAULT_MATRIX_LONG=1                also the slow cases (1008 "limit reached")
#   EXP_CONFIG=asan                    run the matrix against the ASan+UBSan exporter
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/e2e_common.sh"

# The harness pieces first: they need nothing built.
"$PY" "$E2E_DIR/faultproxy.py" --self-test || _failed=1
"$PY" "$E2E_DIR/compare_truth.py" --self-test || _failed=1

e2e_need fault_matrix "${EXP_CONFIG:-release}"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-}"

if ! e2e_start_sim --assets 50 --rate 20 --ping-interval 1 --pong-timeout 3 --auth-timeout 5; then
    fail "fault_matrix: sim starts" "$(tail -n 3 "$SIM_LOG")"; finish
fi
e2e_start_proxy || { fail "fault_matrix: proxy starts" "$(tail -n 3 "$TEST_TMP/proxy.log")"; finish; }
export FAULT_BACKOFF_MAX_S=10
if ! e2e_start_exporter --iotpro.idle-timeout=5s --iotpro.rediscover-interval=10s \
        --iotpro.backoff-max="${FAULT_BACKOFF_MAX_S}s"; then
    fail "fault_matrix: exporter listens" "$(exp_log_tail)"; finish
fi
if ! e2e_wait_up 30; then
    fail "fault_matrix: exporter up within 30 s" "$(exp_log_tail 8)"; finish
fi
ok "fault_matrix: exporter up through the proxy"
if compare_truth --wait 15 >/dev/null 2>"$TEST_TMP/cmp.err"; then
    ok "fault_matrix: baseline /metrics == truth"
else
    fail "fault_matrix: baseline /metrics == truth" "$(head -c 600 "$TEST_TMP/cmp.err" | tr '\n' ' ')"
fi

EXP_URL=$EXP_URL SIM_CTL=$SIM_CTL PROXY_CTL=$PROXY_CTL EXP_PID=$EXP_PID E2E_KEYS=$E2E_KEYS \
    SIM_RATE=20 IDLE_TIMEOUT_S=5 REDISCOVER_S=10 "$PY" "$E2E_DIR/fault_matrix.py" || _failed=1

# The exporter survived all of it and stops cleanly.
e2e_stop_exporter 5
if [ "$EXP_RC" = 0 ]; then ok "fault_matrix: clean exit after the matrix"
else fail "fault_matrix: clean exit after the matrix" "status $EXP_RC; $(exp_log_tail 5)"; fi
if grep -q 'ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer' "$EXP_LOG"; then
    fail "fault_matrix: sanitizer report" "$(grep -m3 'Sanitizer\|runtime error' "$EXP_LOG" | tr '\n' ' ')"
fi
finish
