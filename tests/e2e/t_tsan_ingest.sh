#!/usr/bin/env bash
# t_tsan_ingest.sh -- the exporter built with ThreadSanitizer (make tsan) under every
# kind of concurrency it has at once: full-speed ingest (the simulator's flood mode),
# 20 concurrent scrapers (text and OpenMetrics, plus /-/ready, /-/healthy and /),
# rediscoveries every 10 s while assets are added, renamed and removed, and SIGHUP
# reloads that swap the key list (resubscriptions) and the metric mapping. Then SIGTERM. Any ThreadSanitizer
# report (race, lock-order inversion, signal-unsafe call...) is a failure: reports go to
# files (log_path) that must not exist, and the exit status would be 66. The only
# suppressions are tests/tsan.supp's, each with its reason. Reports are kept in
# build/test-logs/tsan/ for reading.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/e2e_common.sh"
e2e_need tsan_ingest tsan
SECONDS_LOAD=${TSAN_LOAD_SECONDS:-40}

REPORTS=$TEST_TMP/tsan
export TSAN_OPTIONS="halt_on_error=0:exitcode=66:log_path=$REPORTS:second_deadlock_stack=1:suppressions=$TOP/tests/tsan.supp"

e2e_start_sim --assets 500 --flood || { fail "simulator starts"; finish; }
CONF=$TEST_TMP/exporter.conf
KEYS=$E2E_KEYS
ALT_KEYS=device_id,temperature,battery
printf 'iotpro.keys = %s\niotpro.rediscover-interval = 10s\n' "$KEYS" >"$CONF"
# The key list comes from the file (a flag would beat it and make reloads no-ops).
E2E_KEYS=
EXP_START_WAIT=60 EXP_LOG_LEVEL=info e2e_start_exporter --config.file="$CONF" \
    || { fail "tsan exporter listens" "$(exp_log_tail)"; finish; }
e2e_wait_up 90 || { fail "iotpro_up becomes 1" "$(exp_log_tail)"; finish; }
ok "tsan exporter up under flood"

msgs0=$(metric iotpro_ws_messages_received_total)
if OUT=$(EXP_URL=$EXP_URL SIM_CTL=$SIM_CTL EXP_PID=$EXP_PID E2E_KEYS=$KEYS \
         "$PY" "$E2E_DIR/tsan_load.py" --seconds "$SECONDS_LOAD" --scrapers 20 --conf "$CONF" \
         --keys "$KEYS" --alt-keys "$ALT_KEYS" 2>&1); then
    ok "20 concurrent scrapers got whole bodies ($(tr '\n' ' ' <<<"$OUT"))"
else
    fail "20 concurrent scrapers got whole bodies" "$(tr '\n' ' ' <<<"$OUT" | cut -c1-600)"
fi
echo "$OUT" | sed 's/^/# load: /'
kill -0 "$EXP_PID" 2>/dev/null || { fail "exporter survives the load" "$(exp_log_tail)"; }
msgs1=$(metric iotpro_ws_messages_received_total)
"$PY" -c "import sys; sys.exit(0 if float('${msgs1:-0}') - float('${msgs0:-0}') >= 10000 else 1)" \
    && ok "full-speed ingest during the load (${msgs0} -> ${msgs1} messages)" \
    || fail "full-speed ingest during the load" "${msgs0} -> ${msgs1} messages"
check "rediscoveries ran ($(metric iotpro_rediscoveries_total))" metric_ge iotpro_rediscoveries_total 3
check "reloads applied ($(metric iotpro_config_reloads_total))" metric_ge iotpro_config_reloads_total 5
check "key changes resent subscriptions" metric_ge 'iotpro_subscription_resends_total{reason="keys_changed"}' 5
check "asset changes resent subscriptions" metric_ge 'iotpro_subscription_resends_total{reason="assets_changed"}' 1

e2e_stop_exporter 60
check "SIGTERM: exit status 0 (66 = ThreadSanitizer reports; got $EXP_RC)" test "$EXP_RC" = 0
n=$(ls "$REPORTS".* 2>/dev/null | wc -l)
if [ "$n" = 0 ] && ! grep -q 'ThreadSanitizer' "$EXP_LOG"; then
    ok "no ThreadSanitizer report"
else
    keep=$BUILD/test-logs/tsan
    mkdir -p "$keep" && cp "$REPORTS".* "$keep/" 2>/dev/null
    fail "no ThreadSanitizer report" "$(cat "$REPORTS".* 2>/dev/null | grep -c '^WARNING: ThreadSanitizer') reports, kept in $keep: $(cat "$REPORTS".* 2>/dev/null | grep '^SUMMARY' | sort | uniq -c | tr '\n' ';' | cut -c1-900)"
fi
finish
