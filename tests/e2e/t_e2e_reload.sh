#!/usr/bin/env bash
# t_e2e_reload.sh -- SIGHUP re-reads the config file: a new key list applies at once
# (resubscription: the new key's series appear), a change that needs a restart says so
# in the log and nothing else, a reload is never mistaken for a credential change, and
# a broken file is refused (counted, the old configuration keeps working).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/e2e_common.sh"
e2e_need e2e_reload "${EXP_CONFIG:-release}"

series_of() { metrics_text | grep -c "^iotpro_telemetry_timestamp_seconds{.*key=\"$1\"" || true; }
log_has() { grep -q "$1" "$EXP_LOG"; }
reloads() { metric iotpro_config_reloads_total; }

e2e_start_sim --assets 20 --rate 50 || { fail "simulator starts"; finish; }
CONF=$TEST_TMP/exporter.conf
printf 'iotpro.keys = device_id\niotpro.rediscover-interval = 5m\n' >"$CONF"
# Started by hand: e2e_start_exporter passes --iotpro.keys, and a flag beats the file.
EXP_PORT=$(free_port)
EXP_LOG=$TEST_TMP/exporter.$EXP_PORT.log
EXP_URL=http://127.0.0.1:$EXP_PORT
IOTPRO_PASSWORD=$SIM_PASS spawn "$EXP_BIN" --config.file="$CONF" \
    --iotpro.url="https://localhost:$SIM_PORT" --iotpro.username="$SIM_USER" \
    --tls.ca-file="$CERTS/ca.pem" --web.listen-address="127.0.0.1:$EXP_PORT" 2>"$EXP_LOG"
EXP_PID=$!
wait_port "$EXP_PORT" 15 || { fail "exporter listens" "$(exp_log_tail)"; finish; }
e2e_wait_up 30 || { fail "iotpro_up becomes 1" "$(exp_log_tail)"; finish; }
wait_for 10 test "$(series_of device_id)" -gt 0 && ok "keys from the config file: device_id series" \
    || fail "device_id series" "$(series_of device_id)"
check "no latitude series before the reload" test "$(series_of telemetry_param_latitude)" = 0

# 1. A new key list applies at once.
printf 'iotpro.keys = device_id,telemetry_param_latitude\niotpro.rediscover-interval = 5m\n' >"$CONF"
kill -HUP "$EXP_PID"
if wait_for 10 test "$(reloads)" = 1; then ok "reload counted"; else fail "reload counted" "$(reloads)"; fi
check "last reload successful" metric_eq iotpro_config_last_reload_successful 1
lat_series() { [ "$(series_of telemetry_param_latitude)" -gt 0 ]; }
if wait_for 15 lat_series; then ok "the added key's series appear after the reload"
else fail "added key's series appear" "$(exp_log_tail 6)"; fi
check "the key change resent the subscriptions (keys_changed)" \
    metric_ge 'iotpro_subscription_resends_total{reason="keys_changed"}' 1
log_has 'upstream settings changed' && fail "a reload is not a credential change" "$(grep 'upstream' "$EXP_LOG")" \
    || ok "a reload is not a credential change"
log_has 'take effect after a restart' && fail "no restart warning for a key change" || ok "no restart warning for a key change"

# 2. A change that needs a restart says so.
printf 'iotpro.keys = device_id,telemetry_param_latitude\niotpro.rediscover-interval = 10m\n' >"$CONF"
kill -HUP "$EXP_PID"
restart_said() { log_has 'rediscover interval, idle timeout, backoff cap, subscription timeout and store size changes take effect after a restart'; }
if wait_for 10 restart_said; then ok "a rediscover-interval change says it needs a restart"
else fail "restart warning" "$(exp_log_tail 4)"; fi

# 3. A broken file is refused; the old configuration keeps working.
printf 'iotpro.keys = device_id\niotpro.page-size = many\n' >"$CONF"
kill -HUP "$EXP_PID"
fails() { metric_eq iotpro_config_reload_failures_total 1; }
if wait_for 10 fails; then ok "a broken file is refused and counted"; else fail "broken file refused" "$(exp_log_tail 4)"; fi
check "last reload not successful" metric_eq iotpro_config_last_reload_successful 0
log_has 'configuration reload failed.*page-size' && ok "the log names the bad option" || fail "log names the bad option" "$(exp_log_tail 3)"
check "the old key list stays (latitude still exposed)" lat_series
check "still up" metric_eq iotpro_up 1
if grep -qF "$SIM_PASS" "$EXP_LOG"; then fail "password never logged"; else ok "password never logged"; fi
e2e_stop_exporter 5
check "clean exit after reloads" test "$EXP_RC" = 0
finish
