#!/usr/bin/env bash
# t_e2e_counts.sh -- counted from above: once the traffic stops, the exporter's
# iotpro_ws_messages_received_total, iotpro_ws_bytes_received_total and
# iotpro_telemetry_updates_total equal the simulator's msgs_sent, bytes_sent and
# values_sent exactly (the simulator counts what it handed to TLS, tests/sim/README.md).
#
# The traffic: data pages and updates of every key type (strings, doubles, longs,
# booleans), values set and deleted by hand, and two reconnects (a 1001 close, and a
# TCP drop in the middle of a frame, whose half message neither side counts). Each
# reconnect brings new data pages repeating the current values with their own
# timestamps; the store applies a value unless it is OLDER than the one it holds, so
# those count as applied too. Without --reorder no value is ever older than one sent
# before it (timestamps only grow in the simulator), so every value sent is applied:
# updates_total must equal values_sent, not merely stay below it. Nothing here
# resubscribes (which would let updates for a dropped cmdId be ignored) or reaches the
# series bound.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/e2e_common.sh"
e2e_need e2e_counts "${EXP_CONFIG:-release}"

e2e_start_sim --assets 12 --rate 60 || { fail "simulator starts"; finish; }
e2e_start_exporter || { fail "exporter listens" "$(exp_log_tail)"; finish; }
e2e_wait_up 30 || { fail "iotpro_up becomes 1" "$(exp_log_tail)"; finish; }
mapfile -t IDS < <(sim_ctl /truth | cut -f1 | sort -u | head -n 3)
[ "${#IDS[@]}" = 3 ] || { fail "three asset ids from /truth" "${IDS[*]}"; finish; }

connects_up() { metric_eq iotpro_ws_connects_total "$1" && metric_eq iotpro_up 1; }

sleep 2
# Values set by hand: a string with spaces and UTF-8, a Java-style double, a boolean,
# and a deletion (pushed as ts 0, which neither side counts as a value).
sim_ctl "/update?id=${IDS[0]}&key=device_id&value=counted%20from%20above%20%C3%A9" >/dev/null
sim_ctl "/update?id=${IDS[1]}&key=odometer&value=1.2345E7" >/dev/null
sim_ctl "/update?id=${IDS[1]}&key=door_open&value=true" >/dev/null
sim_ctl "/delete?id=${IDS[2]}&key=temperature" >/dev/null
sleep 1

# Reconnect 1: the server closes with 1001 ("going away").
sim_ctl "/fault/close?code=1001&reason=bye" >/dev/null
if wait_for 30 connects_up 2; then ok "reconnected after a 1001 close"
else fail "reconnected after a 1001 close" "$(exp_log_tail)"; fi
sleep 2

# Reconnect 2: the next message is cut after half its frame and TCP drops. The
# generator pauses so that the message cut is the one set by hand.
sim_ctl "/rate?n=0" >/dev/null
sleep 0.5
sim_ctl /fault/drop-mid-frame >/dev/null
sim_ctl "/update?id=${IDS[2]}&key=battery" >/dev/null
if wait_for 30 connects_up 3; then ok "reconnected after a drop in the middle of a frame"
else fail "reconnected after a drop in the middle of a frame" "$(exp_log_tail)"; fi
sim_ctl "/rate?n=60" >/dev/null
sleep 2

# Stop the traffic; every message sent is then delivered within moments.
sim_ctl "/rate?n=0" >/dev/null
counts() {
    local st; st=$(sim_ctl /stats)
    S_MSGS=$(awk '$1 == "msgs_sent" {print $2}' <<<"$st")
    S_BYTES=$(awk '$1 == "bytes_sent" {print $2}' <<<"$st")
    S_VALUES=$(awk '$1 == "values_sent" {print $2}' <<<"$st")
    local m; m=$(metrics_text)
    E_MSGS=$(awk '$1 == "iotpro_ws_messages_received_total" {print $2}' <<<"$m")
    E_BYTES=$(awk '$1 == "iotpro_ws_bytes_received_total" {print $2}' <<<"$m")
    E_VALUES=$(awk '$1 == "iotpro_telemetry_updates_total" {print $2}' <<<"$m")
    [ -n "$S_MSGS" ] && [ "$S_MSGS" = "$E_MSGS" ] && [ "$S_BYTES" = "$E_BYTES" ] &&
        [ "$S_VALUES" = "$E_VALUES" ]
}
wait_for 15 counts
echo "# simulator sent $S_MSGS messages, $S_BYTES bytes, $S_VALUES values;" \
     "the exporter received $E_MSGS, $E_BYTES, applied $E_VALUES"
check "traffic: at least 200 values over 3 sessions" test "${S_VALUES:-0}" -ge 200
check "messages received == simulator msgs_sent ($E_MSGS / $S_MSGS)" test "$E_MSGS" = "$S_MSGS"
check "bytes received == simulator bytes_sent ($E_BYTES / $S_BYTES)" test "$E_BYTES" = "$S_BYTES"
check "values applied == simulator values_sent ($E_VALUES / $S_VALUES)" test "$E_VALUES" = "$S_VALUES"
check "no parse errors" metric_eq iotpro_parse_errors_total 0
check "1001 counted" metric_eq 'iotpro_ws_disconnects_total{reason="close_1001"}' 1
check "the mid-frame drop counted as abnormal_1006" metric_eq 'iotpro_ws_disconnects_total{reason="abnormal_1006"}' 1
if OUT=$(compare_truth --wait 10 2>&1); then ok "every series has the simulator's last value"
else fail "every series has the simulator's last value" "$(tail -n 5 <<<"$OUT")"; fi
e2e_stop_exporter 5
finish
