#!/usr/bin/env bash
# t_e2e_devices.sh -- devices end to end against iotpro-sim, PE and CE:
#   PE, --iotpro.entity-type=ASSET,DEVICE --iotpro.attribute-keys=firmware,capacity: every
#     device and asset series, iotpro_device_info, connectivity and attribute series
#     equal the simulator's /truth exactly (tests/e2e/device_truth.py), also after a value
#     set by hand (/fault/set-attr); a device quieted (/fault/quiet) is exported inactive
#     within the inactivity timeout (1.5 s) plus a margin, and active again once it
#     talks; promtool check metrics passes.
#   CE (/api/user/devices answers 400), --iotpro.entity-type=DEVICE --iotpro.profiles=
#     Tracker,Meter: the tenant device listing, one listing per profile; only those
#     devices are exported, exactly, and no asset.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/e2e_common.sh"
e2e_need e2e_devices "${EXP_CONFIG:-asan}"
ATTRS=firmware,capacity

device_truth() {
    "$PY" "$E2E_DIR/device_truth.py" --metrics "$EXP_URL/metrics" --ctl "http://127.0.0.1:$SIM_CTL" \
        --api "https://localhost:$SIM_PORT" --ca "$CERTS/ca.pem" --user "$SIM_USER" \
        --password "$SIM_PASS" --keys "$E2E_KEYS" "$@"
}

# ---- PE: assets and devices, connectivity, attributes ---------------------------------
e2e_start_sim --assets 6 --devices 24 --rate 40 --inactivity-timeout 1.5 ||
    { fail "simulator starts"; finish; }
# battery is mapped (config file): iotpro_battery_percent for assets, and
# iotpro_device_battery_percent for devices, and in no generic family
printf 'metric.battery.name = battery_percent\n' >"$TEST_TMP/map.conf"
e2e_start_exporter --iotpro.entity-type=ASSET,DEVICE --iotpro.attribute-keys="$ATTRS" \
    --config.file="$TEST_TMP/map.conf" ||
    { fail "exporter listens" "$(exp_log_tail)"; finish; }
e2e_wait_up 30 || { fail "iotpro_up becomes 1" "$(exp_log_tail)"; finish; }
NDEV=$(sim_stat devices)
ndev_info() { [ "$(metrics_text | grep -c '^iotpro_device_info{')" = "$NDEV" ]; }
check "PE: one iotpro_device_info per device ($NDEV)" wait_for 10 ndev_info
sizes() { metric_eq iotpro_devices "$NDEV" && metric_eq iotpro_assets 6; }
check "PE: iotpro_devices $NDEV, iotpro_assets 6" sizes

# Connectivity: quiet one device; it goes inactive after 1.5 s without activity.
DEV=$(sim_ctl '/truth?type=DEVICE' | awk -F'\t' '$2 == "attr:active" && $4 == "true" {print $1; exit}')
sel="iotpro_device_active{device_id=\"$DEV\"}"
check "PE: an active device is exported active ($DEV)" wait_for 10 metric_eq "$sel" 1
sim_ctl "/fault/quiet?id=$DEV" >/dev/null
t0=$(now_ms)
if wait_for 6 metric_eq "$sel" 0; then
    ok "PE: quiet device exported inactive after $(($(now_ms) - t0)) ms (timeout 1.5 s + margin)"
else fail "PE: quiet device exported inactive within 6 s" "$(metric "$sel")"; fi
last=$(metric "iotpro_device_last_activity_timestamp_seconds{device_id=\"$DEV\"}")
sim_ctl "/fault/quiet?id=$DEV&off=1" >/dev/null
check "PE: the device is active again once it talks" wait_for 10 metric_eq "$sel" 1
check "PE: its last activity moved on" wait_for 10 metric_ge \
    "iotpro_device_last_activity_timestamp_seconds{device_id=\"$DEV\"}" "$("$PY" -c "print(${last:-0} + 0.001)")"

# Attributes set by hand: a string and a number, pushed to the exporter.
sim_ctl "/fault/set-attr?id=$DEV&key=firmware&value=9.9.9-rc%201" >/dev/null
sim_ctl "/fault/set-attr?id=$DEV&key=capacity&value=4242.5" >/dev/null
check "PE: a string attribute set by hand reaches iotpro_attribute_info" wait_for 10 metric_eq \
    "iotpro_attribute_info{device_id=\"$DEV\",key=\"firmware\",value=\"9.9.9-rc 1\"}" 1
check "PE: a numeric attribute set by hand reaches iotpro_attribute_value" wait_for 10 metric_eq \
    "iotpro_attribute_value{device_id=\"$DEV\",key=\"capacity\"}" 4242.5

# Exact comparison with the truth once the traffic stops (lastActivityTime moves with
# every value, and devices send heartbeats): every device quiet, so each goes inactive
# after 1.5 s, which must show too.
sim_ctl "/rate?n=0" >/dev/null
sim_ctl "/fault/quiet?fraction=1" >/dev/null
all_inactive() { [ "$(metrics_text | grep -c '^iotpro_device_active{.*} 0$')" = "$NDEV" ]; }
check "PE: every device exported inactive after the traffic stopped" wait_for 10 all_inactive
if OUT=$(device_truth --keys "${E2E_KEYS/battery,/}" --attr-keys "$ATTRS" --wait 20 2>&1); then ok "PE: $OUT"
else fail "PE: devices, assets, connectivity and attributes equal the truth" "$(tail -n 6 <<<"$OUT")"; fi
mapped() {
    local m; m=$(metrics_text)
    grep -q '^iotpro_device_battery_percent{' <<<"$m" && grep -q '^iotpro_battery_percent{' <<<"$m" &&
    [ "$(grep -c '^iotpro_device_battery_percent{device_id=' <<<"$m")" = \
      "$(sim_ctl '/truth?type=DEVICE' | awk -F'\t' '$2 == "battery"' | wc -l)" ] &&
    [ "$(grep -c '^iotpro_battery_percent{asset_id=' <<<"$m")" = \
      "$(sim_ctl '/truth?type=ASSET' | awk -F'\t' '$2 == "battery"' | wc -l)" ] &&
    ! grep -q 'key="battery"' <<<"$m"
}
check "PE: a mapped key: iotpro_battery_percent per asset, iotpro_device_battery_percent per device" mapped
if command -v promtool >/dev/null; then
    metrics_text >"$TEST_TMP/metrics.txt"
    if OUT=$(promtool check metrics <"$TEST_TMP/metrics.txt" 2>&1); then ok "PE: promtool check metrics"
    else fail "PE: promtool check metrics" "$(head -n 5 <<<"$OUT")"; fi
else skip "PE: promtool check metrics" "promtool not installed (Debian package prometheus)"; fi
check "PE: no parse errors" metric_eq iotpro_parse_errors_total 0
check "PE: no value rejected" metric_eq iotpro_telemetry_values_rejected_total 0
e2e_stop_exporter 5
check "PE: exporter exits 0 on SIGTERM" test "$EXP_RC" = 0
kill "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null

# ---- CE: devices only, two profiles ----------------------------------------------------
e2e_start_sim --assets 4 --devices 20 --rate 20 --edition ce || { fail "CE simulator starts"; finish; }
e2e_start_exporter --iotpro.entity-type=DEVICE --iotpro.profiles=Tracker,Meter ||
    { fail "CE: exporter listens" "$(exp_log_tail)"; finish; }
e2e_wait_up 30 || { fail "CE: iotpro_up becomes 1" "$(exp_log_tail)"; finish; }
check "CE: /api/user/devices answered 400 errorCode 31 (then the tenant listing)" \
    grep -q 'REST request rejected.*status=400 error_code=31' "$EXP_LOG"
sim_ctl "/rate?n=0" >/dev/null
if OUT=$(device_truth --kinds DEVICE --profiles Tracker,Meter --wait 20 2>&1); then ok "CE: $OUT"
else fail "CE: Tracker and Meter devices equal the truth, nothing else" "$(tail -n 6 <<<"$OUT")"; fi
device_truth --kinds DEVICE --profiles Tracker >/dev/null 2>&1
check "CE: the comparison notices devices beyond the profiles asked for" test $? = 1
check "CE: no default-profile device, no asset" \
    test "$(metrics_text | grep -cE '^iotpro_(asset_info|telemetry_value)\{|profile="default"')" = 0
e2e_stop_exporter 5
finish
