#!/usr/bin/env bash
# t_e2e_rare_metrics.sh -- the label values and families no other end-to-end test
# reaches, each driven by the event it documents and asserted on /metrics (so that
# tests/e2e/metric_coverage.sh sees them non-zero too):
#   login error (a 503 on the login); series expired by --metrics.ttl; 404 and 405;
#   disconnect reasons limit_1008 ("... limit reached"), too_big_1009, close_other and
#   local_shutdown (seen while the close handshake of a SIGTERM waits on a stalled
#   server); limits string_value (a 300-byte string), name (a 300-byte asset name),
#   detail_labels (assetDetails with 21 fields), pending_updates (updates buffered for
#   a data page the subscription limit withholds) and assets (200,001 assets);
#   scrape_utf8_replacements (an asset name with an invalid byte, which the simulator's
#   REST listing passes through as a non-conforming server would).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/e2e_common.sh"
e2e_need e2e_rare_metrics "${EXP_CONFIG:-release}"

code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
connects_up() { metric_eq iotpro_ws_connects_total "$1" && metric_eq iotpro_up 1; }
long() { "$PY" -c "print('$1' * $2)"; }

e2e_start_sim --assets 5 --rate 20 || { fail "simulator starts"; finish; }

# 1. The login answered 503: result error, then retried. --metrics.ttl=3s: series
# that see no update for 3 s expire (the generator reaches a few of them only).
sim_ctl "/fault/fail-rest?n=1&status=503" >/dev/null
e2e_start_exporter --iotpro.rediscover-interval=10s --metrics.ttl=3s ||
    { fail "exporter listens" "$(exp_log_tail)"; finish; }
e2e_wait_up 30 || { fail "iotpro_up becomes 1" "$(exp_log_tail)"; finish; }
check "a login answered 503 counts as result error" metric_eq 'iotpro_logins_total{result="error"}' 1
check "... and the retry as ok" metric_eq 'iotpro_logins_total{result="ok"}' 1
check "series idle for the TTL expire" wait_for 15 metric_ge iotpro_series_expired_total 1

# 2. HTTP answers other than 200.
check "404 for an unknown path" test "$(code "$EXP_URL/nope")" = 404
check "405 for POST /metrics" test "$(code -X POST "$EXP_URL/metrics")" = 405
check "404 counted" metric_eq 'iotpro_web_responses_total{code="404"}' 1
check "405 counted" metric_eq 'iotpro_web_responses_total{code="405"}' 1

# 3. Close codes no fault test sends; each is followed by a reconnect.
n=1
for c in "1008 Session%20limit%20reached limit_1008" "1009 too%20big too_big_1009" \
         "4000 custom close_other"; do
    read -r cc reason label <<<"$c"
    sim_ctl "/fault/close?code=$cc&reason=$reason" >/dev/null
    n=$((n + 1))
    if wait_for 30 connects_up "$n"; then
        check "close $cc counted as $label" metric_eq "iotpro_ws_disconnects_total{reason=\"$label\"}" 1
    else
        fail "reconnect after close $cc" "$(exp_log_tail)"
    fi
done

# 4. A value and a name past the exporter's cuts (the rediscovery, every 10 s, brings
# the renamed assets), a name that is not UTF-8, and assetDetails past its 16 labels.
mapfile -t IDS < <(sim_ctl /truth | cut -f1 | sort -u | head -n 3)
sim_ctl "/update?id=${IDS[0]}&key=device_id&value=$(long s 300)" >/dev/null
check "a 300-byte string value counts limit string_value" \
    wait_for 10 metric_ge 'iotpro_limit_hits_total{limit="string_value"}' 1
details="%7B$(for i in $(seq 1 20); do printf '%%22f%d%%22:%d,' "$i" "$i"; done)%22f0%22:0%7D"
sim_ctl "/update?id=${IDS[1]}&key=assetDetails&value=$details" >/dev/null
check "assetDetails with 21 fields counts limit detail_labels" \
    wait_for 10 metric_ge 'iotpro_limit_hits_total{limit="detail_labels"}' 1
sim_ctl "/assets/rename?id=${IDS[1]}&name=$(long n 300)" >/dev/null
sim_ctl "/assets/rename?id=${IDS[2]}&name=bad%FFutf8" >/dev/null
check "a 300-byte asset name counts limit name" \
    wait_for 15 metric_ge 'iotpro_limit_hits_total{limit="name"}' 1
renamed() { metrics_text | grep -q "asset=\"bad$(printf '\xef\xbf\xbd')utf8\""; }
check "an asset name with an invalid byte is served with U+FFFD in its place" wait_for 5 renamed
check "... and counted in iotpro_scrape_utf8_replacements" \
    wait_for 5 metric_ge iotpro_scrape_utf8_replacements 1

# 5. Updates that overtake their data page beyond the pending-updates bound: the
# subscription limit lets 3 subscriptions through after a reconnect and refuses the
# rest, so the command's data page never comes while its live subscriptions' updates
# flow (ThingsBoard's behaviour, tests/sim/README.md); the exporter buffers them.
sim_ctl "/fault/sub-limit?spec=3:600" >/dev/null
sim_ctl "/rate?n=3000" >/dev/null
sim_ctl "/fault/close?code=1001&reason=bye" >/dev/null
check "updates beyond the pending bound count limit pending_updates" \
    wait_for 40 metric_ge 'iotpro_limit_hits_total{limit="pending_updates"}' 1
sim_ctl /reset >/dev/null
sim_ctl "/rate?n=20" >/dev/null

# 6. SIGTERM while the server reads nothing: the close handshake waits, /metrics is
# still served meanwhile and shows the local shutdown.
sim_ctl /fault/stall >/dev/null
kill -TERM "$EXP_PID"
check "a SIGTERM counts disconnect reason local_shutdown" \
    wait_for 2 metric_eq 'iotpro_ws_disconnects_total{reason="local_shutdown"}' 1
e2e_stop_exporter 5
check "clean exit (got $EXP_RC)" test "$EXP_RC" = 0

# 7. More assets than the asset table holds (LOOP_MAX_ASSETS, 200,000): the listing
# stops there and counts it. One key and no details keep the subscriptions small.
kill "$SIM_PID" 2>/dev/null
e2e_start_sim --assets 200001 --rate 0 || { fail "simulator (200,001 assets) starts"; finish; }
E2E_KEYS=device_id e2e_start_exporter --iotpro.asset-details=off --iotpro.page-size=10000 ||
    { fail "exporter listens" "$(exp_log_tail)"; finish; }
check "200,001 assets count limit assets" wait_for 60 metric_ge 'iotpro_limit_hits_total{limit="assets"}' 1
check "... and 200,000 are kept" metric_eq iotpro_assets 200000
e2e_stop_exporter 10
finish
