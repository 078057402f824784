#!/usr/bin/env bash
# t_e2e_mapping.sh -- metric mapping and the series switches against iotpro-sim:
#   - --config.check refuses a bad metric.* line with its line number and exit 2;
#   - mapped keys (scale, counter, boolean, strings through a map; unmapped strings
#     stay info) equal the simulator's truth exactly (tests/e2e/mapping_check.py), and
#     leave the generic families; promtool check metrics is clean;
#   - a real Prometheus scraping the mapped families holds the same values;
#   - SIGHUP applies a changed mapping at once; a bad one is refused and the old stays;
#   - --metrics.timestamps=false: no timestamp family, half the telemetry series;
#   - --metrics.asset-info-fields: exactly the chosen assetDetails labels.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/e2e_common.sh"
source "$(dirname "$0")/e2e_prom.sh"
e2e_need e2e_mapping "${EXP_CONFIG:-release}"

e2e_start_sim --assets 40 --rate 50 || { fail "simulator starts"; finish; }
# three trackers report a state string the map knows; the rest keep their DEV-… ids
STATES=(OPEN AJAR CLOSED)
i=0
for id in $(sim_ctl /truth | awk -F'\t' '$2 == "device_id" { print $1 }' | head -n 3); do
    sim_ctl "/update?id=$id&key=device_id&value=${STATES[$i]}" >/dev/null
    i=$((i + 1))
done
check "three device_id values set to states" test "$i" = 3

CONF=$TEST_TMP/mapping.conf
cat >"$CONF" <<'EOF'
# mapped keys (tests/e2e/t_e2e_mapping.sh)
metric.temperature.name  = temperature_celsius
metric.temperature.help  = Air temperature at the asset, "x10" corrected
metric.temperature.scale = 0.1
metric.odometer.type     = counter
metric.odometer.name     = odometer_meters_total
metric.door_open.name    = door_open_state
metric.device_id.name    = tracker_state
metric.device_id.map     = OPEN:1,CLOSED:0,AJAR:0.5
EOF
mcheck() { # [extra args]: the mapping of $CONF against the truth, exporter $EXP_URL
    "$PY" "$E2E_DIR/mapping_check.py" --conf "$CONF" --ctl "http://127.0.0.1:$SIM_CTL" \
        --keys "$E2E_KEYS" "$@"
}
run_check() { # EXP_BIN args: exit status and output of --config.check
    CC_OUT=$(IOTPRO_PASSWORD=x "$EXP_BIN" --iotpro.username=u --tls.ca-file="$CERTS/ca.pem" \
        --config.check "$@" 2>&1)
    CC_RC=$?
}

# 1. --config.check
run_check --config.file="$CONF"
check "--config.check accepts the mapping (exit 0)" test "$CC_RC" = 0
check "--config.check prints the mapping" grep -qx 'metric.temperature.scale = 0.1' <<<"$CC_OUT"
check "--config.check prints the map" grep -qx 'metric.device_id.map = OPEN:1,CLOSED:0,AJAR:0.5' <<<"$CC_OUT"
BAD=$TEST_TMP/bad.conf
printf 'log.level = info\nmetric.odometer.name = odometer_meters\nmetric.odometer.type = counter\n' >"$BAD"
run_check --config.file="$BAD"
check "--config.check: a counter without _total exits 2" test "$CC_RC" = 2
if grep -q 'config file .*bad.conf line 2: metric.odometer.name: "odometer_meters": a counter.s name must end in _total' <<<"$CC_OUT"
then ok "--config.check names the bad line"; else fail "--config.check names the bad line" "$CC_OUT"; fi
printf 'metric.temperature.scale = 0.1\nmetric.temperature.map = OPEN=1\n' >"$BAD"
run_check --config.file="$BAD"
if [ "$CC_RC" = 2 ] && grep -q 'line 2: metric.temperature.map: invalid value "OPEN=1": entry 1 is not STR:number' <<<"$CC_OUT"
then ok "--config.check: a bad map entry, exit 2 and its line"; else fail "bad map entry" "rc=$CC_RC $CC_OUT"; fi
printf 'metric.temperature.name = up\n' >"$BAD"
run_check --config.file="$BAD"
if [ "$CC_RC" = 2 ] && grep -q 'line 1: metric.temperature.name: "up": clashes with a family the exporter emits' <<<"$CC_OUT"
then ok "--config.check: a clash with iotpro_up, exit 2"; else fail "clash with iotpro_up" "rc=$CC_RC $CC_OUT"; fi

# 2. Three exporters on one simulator: plain, series switches, mapped.
e2e_start_exporter --log.level=info || { fail "plain exporter listens" "$(exp_log_tail)"; finish; }
e2e_wait_up 30 || fail "plain exporter up" "$(exp_log_tail)"
PLAIN_URL=$EXP_URL PLAIN_PID=$EXP_PID
e2e_start_exporter --log.level=info --metrics.timestamps=false --metrics.asset-info-fields=site,serial \
    || { fail "switches exporter listens" "$(exp_log_tail)"; finish; }
e2e_wait_up 30 || fail "switches exporter up" "$(exp_log_tail)"
SW_URL=$EXP_URL SW_PID=$EXP_PID
e2e_start_exporter --log.level=info --config.file="$CONF" || { fail "mapped exporter listens" "$(exp_log_tail)"; finish; }
e2e_wait_up 30 || fail "mapped exporter up" "$(exp_log_tail)"
check "the start-up log says how many keys are mapped" grep -q 'msg="starting".*mapped_keys=4' "$EXP_LOG"
sim_ctl "/rate?n=0" >/dev/null # values settle

EXP_URL_SAVE=$EXP_URL
EXP_URL=$PLAIN_URL
if OUT=$(compare_truth --wait 20 2>&1); then ok "plain exporter equals the truth"; else fail "plain exporter equals the truth" "$(tail -n 3 <<<"$OUT")"; fi
EXP_URL=$EXP_URL_SAVE
if OUT=$(mcheck --metrics "$EXP_URL/metrics" --wait 20 2>&1); then ok "mapped families equal the truth ($OUT)"
else fail "mapped families equal the truth" "$OUT"; fi
if OUT=$(mcheck --metrics "$PLAIN_URL/metrics" 2>&1); then fail "the check notices an exporter without the mapping" "$OUT"
else ok "the check notices an exporter without the mapping"; fi
metrics_text >"$TEST_TMP/mapped.txt"
check "a state string is mapped (tracker_state 0.5)" grep -q '^iotpro_tracker_state{.*} 0.5$' "$TEST_TMP/mapped.txt"
check "an unmapped string stays info" grep -q '^iotpro_telemetry_info{.*key="device_id",value="DEV-' "$TEST_TMP/mapped.txt"
check "counter TYPE" grep -q '^# TYPE iotpro_odometer_meters_total counter$' "$TEST_TMP/mapped.txt"
check "HELP text escaped" grep -qF '# HELP iotpro_temperature_celsius Air temperature at the asset, "x10" corrected' "$TEST_TMP/mapped.txt"
OM=$(curl -s -H 'Accept: application/openmetrics-text; version=1.0.0' "$EXP_URL/metrics")
check "OpenMetrics: counter family without _total" grep -q '^# TYPE iotpro_odometer_meters counter$' <<<"$OM"
check "OpenMetrics: sample with _total" grep -q '^iotpro_odometer_meters_total{' <<<"$OM"
if command -v promtool >/dev/null; then
    if OUT=$(promtool check metrics <"$TEST_TMP/mapped.txt" 2>&1); then ok "promtool check metrics (mapped families)"
    else fail "promtool check metrics (mapped families)" "$(head -n 5 <<<"$OUT")"; fi
else
    fail "promtool check metrics" "promtool not installed (tests/deps.sh installs it)"
fi

# 3. --metrics.timestamps=false and --metrics.asset-info-fields
n_lines() { curl -s "$1/metrics" | grep -cE "^$2" || true; }
FAMS='iotpro_telemetry_(value|timestamp_seconds|info)\{'
P_ALL=$(n_lines "$PLAIN_URL" "$FAMS")
P_TS=$(n_lines "$PLAIN_URL" 'iotpro_telemetry_timestamp_seconds{')
S_ALL=$(n_lines "$SW_URL" "$FAMS")
check "timestamps=false: no timestamp family" test "$(curl -s "$SW_URL/metrics" | grep -c 'iotpro_telemetry_timestamp_seconds')" = 0
check "timestamps=false: telemetry series halve ($P_ALL -> $S_ALL, $P_TS timestamps)" \
    test "$P_ALL" -gt 0 -a "$((S_ALL * 2))" = "$P_ALL" -a "$((P_ALL - P_TS))" = "$S_ALL"
if OUT=$("$PY" "$E2E_DIR/mapping_check.py" --conf /dev/null --ctl "http://127.0.0.1:$SIM_CTL" \
         --keys "$E2E_KEYS" --metrics "$SW_URL/metrics" --no-timestamps 2>&1)
then ok "timestamps=false: values equal the truth"; else fail "timestamps=false: values equal the truth" "$OUT"; fi
info_labels() { # url: one line per asset: asset_id and its label names (sorted)
    curl -s "$1/metrics" | "$PY" -c '
import sys; sys.path.insert(0, sys.argv[1]); import compare_truth as ct
for n, lb, v in ct.parse_metrics(sys.stdin.read()):
    if n == "iotpro_asset_info":
        print(lb["asset_id"], ",".join(sorted(k for k in lb if k not in ("asset_id",))), ",".join(lb.get(k, "-") for k in ("site", "serial")))' "$E2E_DIR"
}
P_INFO=$(info_labels "$PLAIN_URL")
S_INFO=$(info_labels "$SW_URL")
check "asset-info-fields: the plain exporter has other fields too" grep -q 'floors' <<<"$P_INFO"
WANT=$(sed -E 's/^([^ ]+) [^ ]+ (.*)$/\1 \2/' <<<"$P_INFO")
GOT=$(sed -E 's/^([^ ]+) [^ ]+ (.*)$/\1 \2/' <<<"$S_INFO")
check "asset-info-fields=site,serial: same site and serial values" test "$WANT" = "$GOT"
check "asset-info-fields=site,serial: no other field label" \
    test -z "$(awk '{print $2}' <<<"$S_INFO" | tr ',' '\n' | grep -vxE 'asset|profile|site|serial')"
check "asset-info-fields: every asset still listed ($(wc -l <<<"$S_INFO"))" test "$(wc -l <<<"$S_INFO")" = "$(wc -l <<<"$P_INFO")"

# 4. A real Prometheus scrapes the mapped families.
if command -v prometheus >/dev/null; then
    if prom_start "127.0.0.1:$EXP_PORT"; then
        ok "prometheus starts"
        if OUT=$(mcheck --prom "$PROM_URL" --wait 30 2>&1); then ok "Prometheus holds the mapped families ($OUT)"
        else fail "Prometheus holds the mapped families" "$OUT"; fi
    else
        fail "prometheus starts" "$(tail -n 5 "$TEST_TMP/prom/log")"
    fi
else
    fail "prometheus scrape" "prometheus not installed (tests/deps.sh installs it)"
fi

# 5. SIGHUP: a changed mapping applies to the next scrape.
cat >"$CONF" <<'EOF'
metric.temperature.name  = temperature_decicelsius
metric.temperature.scale = 10
metric.door_open.name    = door_open_state
metric.device_id.name    = tracker_state
metric.device_id.map     = OPEN:1,CLOSED:0
metric.device_id.map-default = -1
metric.battery.name      = battery_percent
EOF
kill -HUP "$EXP_PID"
if wait_for 10 metric_eq iotpro_config_reloads_total 1; then ok "reload counted"; else fail "reload counted"; fi
check "the log says how many keys are mapped" grep -q 'configuration reloaded.*mapped_keys=4' "$EXP_LOG"
if OUT=$(mcheck --metrics "$EXP_URL/metrics" 2>&1); then ok "the new mapping applies at once ($OUT)"
else fail "the new mapping applies at once" "$OUT"; fi
metrics_text >"$TEST_TMP/mapped2.txt"
check "the old family is gone" test "$(grep -c 'iotpro_temperature_celsius' "$TEST_TMP/mapped2.txt")" = 0
check "odometer back in the generic families" grep -q 'key="odometer"' "$TEST_TMP/mapped2.txt"
check "map-default: no device_id info left" test "$(grep -c 'key="device_id"' "$TEST_TMP/mapped2.txt")" = 0
printf 'metric.battery.name = battery_percent\n\nmetric.battery.scale = 0,5\n' >"$CONF.bad"
cp "$CONF" "$CONF.good"
cp "$CONF.bad" "$CONF"
kill -HUP "$EXP_PID"
if wait_for 10 metric_eq iotpro_config_reload_failures_total 1; then ok "a bad mapping is refused on reload"
else fail "a bad mapping is refused on reload" "$(exp_log_tail 3)"; fi
check "last reload not successful" metric_eq iotpro_config_last_reload_successful 0
if grep -q 'configuration reload failed.*line 3: metric.battery.scale' "$EXP_LOG"; then ok "the log names the bad line"
else fail "the log names the bad line" "$(exp_log_tail 3)"; fi
cp "$CONF.good" "$CONF"
if OUT=$(mcheck --metrics "$EXP_URL/metrics" 2>&1); then ok "the old mapping stays ($OUT)"
else fail "the old mapping stays" "$OUT"; fi

e2e_stop_exporter 5
check "clean exit" test "$EXP_RC" = 0
EXP_PID=$SW_PID e2e_stop_exporter 5
EXP_PID=$PLAIN_PID e2e_stop_exporter 5
finish
