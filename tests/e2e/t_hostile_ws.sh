#!/usr/bin/env bash
# Hostile input from the server side (websocket-tls-reliability.md section 6: oversized
# frames and messages, 64-bit lengths, endless continuation, masked/RSV/reserved-opcode
# frames, bad control frames, invalid UTF-8, nested/huge/broken JSON, HTML 502 and bogus
# chunk sizes and huge bodies on REST, garbage on the TLS port), then /metrics abuse
# while the simulator streams (100 concurrent scrapes, slowloris, a 10 000-request burst).
# Each ends with: no crash, a counted error, bounded memory (VmHWM), and a reconnect where
# that is the right answer.
#
# Memory bounds (VmHWM of the whole exporter process):
#   hostile peer: HOSTILE_HWM_MB (default 200 MiB) = the 64 MiB REST body limit + 2 x the
#                 16 MiB WebSocket message limit + fixed buffers/tables; a 100 MB body,
#                 a 64 MiB frame, a 2^62 frame and 40 MiB of continuation frames are sent.
#   TLS garbage:  TLS_HWM_MB (default 120 MiB).
#   abuse:        growth during the abuse <= ABUSE_GROWTH_MB (default 64 MiB).
#   EXP_CONFIG=asan runs against the ASan+UBSan exporter (bounds do not apply there).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/e2e_common.sh"
e2e_need hostile_ws "${EXP_CONFIG:-release}"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-}"

peer_port() { # port-file
    local i
    for ((i = 0; i < 200; i++)); do
        [ -s "$1" ] && { sed -n 's/^port=//p' "$1"; return 0; }
        sleep 0.05
    done
    return 1
}

WS_SCEN=$("$PY" "$E2E_DIR/hostile_peer.py" --port-file /dev/null --results /dev/null --list)
LOGIN_SCEN=html502,bogus_chunk,short_body
ASSET_SCEN=nested,huge_body,million_array

PARTS=${HOSTILE_PARTS:-peer,tls,abuse}   # a subset for debugging

# --- 1. a hostile ThingsBoard --------------------------------------------------------
if [[ $PARTS == *peer* ]]; then
res=$TEST_TMP/peer.results
spawn "$PY" "$E2E_DIR/hostile_peer.py" --certs "$CERTS" --port-file "$TEST_TMP/peer.port" \
    --results "$res" --ws "$WS_SCEN" --login "$LOGIN_SCEN" --assets "$ASSET_SCEN" \
    --max-seconds 600 2>"$TEST_TMP/peer.log"
UPSTREAM_PORT=$(peer_port "$TEST_TMP/peer.port") || { fail "hostile peer starts" "$(tail -3 "$TEST_TMP/peer.log")"; finish; }
E2E_KEYS=temperature,device_id
if e2e_start_exporter --iotpro.idle-timeout=5s --iotpro.asset-details=off; then
    EXP_URL=$EXP_URL EXP_PID=$EXP_PID "$PY" "$E2E_DIR/hostile_check.py" peer "$res" "$WS_SCEN" \
        "$LOGIN_SCEN" "$ASSET_SCEN" "${HOSTILE_HWM_MB:-200}" || _failed=1
    e2e_stop_exporter 5
    check "hostile peer: clean exit afterwards" [ "$EXP_RC" = 0 ]
    [ "$EXP_RC" = 0 ] || echo "# exporter exit status $EXP_RC; log: $(exp_log_tail 6)"
else
    fail "hostile peer: exporter listens" "$(exp_log_tail)"
fi
grep -q 'AddressSanitizer\|runtime error:' "$EXP_LOG" && fail "hostile peer: sanitizer report" \
    "$(grep -m2 'Sanitizer\|runtime error' "$EXP_LOG" | tr '\n' ' ')"

fi

# --- 2. garbage on the TLS port ------------------------------------------------------
if [[ $PARTS == *tls* ]]; then
res2=$TEST_TMP/tls.results
spawn "$PY" "$E2E_DIR/hostile_peer.py" --mode tls-garbage --port-file "$TEST_TMP/tls.port" \
    --results "$res2" --max-seconds 120 2>"$TEST_TMP/tls.log"
UPSTREAM_PORT=$(peer_port "$TEST_TMP/tls.port") || { fail "garbage TLS server starts"; finish; }
if e2e_start_exporter; then
    EXP_URL=$EXP_URL EXP_PID=$EXP_PID "$PY" "$E2E_DIR/hostile_check.py" tls "$res2" "${TLS_HWM_MB:-120}" || _failed=1
    e2e_stop_exporter 5
    check "hostile TLS: clean exit afterwards" [ "$EXP_RC" = 0 ]
else
    fail "hostile TLS: exporter listens" "$(exp_log_tail)"
fi

fi

# --- 3. /metrics abuse while the simulator streams -------------------------------------
if [[ $PARTS == *abuse* ]]; then
E2E_KEYS=device_id,telemetry_param_latitude,telemetry_param_longitude,temperature,battery,odometer,door_open
if ! e2e_start_sim --assets 50 --rate 1000; then fail "abuse: sim starts" "$(tail -3 "$SIM_LOG")"; finish; fi
if e2e_start_exporter --log.level=info && e2e_wait_up 30; then
    EXP_URL=$EXP_URL EXP_PID=$EXP_PID SIM_CTL=$SIM_CTL E2E_KEYS=$E2E_KEYS \
        "$PY" "$E2E_DIR/hostile_check.py" abuse "${ABUSE_GROWTH_MB:-64}" || _failed=1
    e2e_stop_exporter 5
    check "abuse: clean exit afterwards" [ "$EXP_RC" = 0 ]
else
    fail "abuse: exporter up" "$(exp_log_tail)"
fi
fi
finish
