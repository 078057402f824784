#!/usr/bin/env bash
# t_e2e_prometheus.sh -- a real Prometheus (Debian's package, on loopback, scraping every
# second) scrapes the exporter fed by iotpro-sim; PromQL through its HTTP API returns
# exactly the simulator's series and values, and iotpro_up 1.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/e2e_common.sh"
source "$(dirname "$0")/e2e_prom.sh"
e2e_need e2e_prometheus "${EXP_CONFIG:-release}"
if ! command -v prometheus >/dev/null; then skip e2e_prometheus "prometheus not installed"; finish; fi

e2e_start_sim --assets 200 --rate 50 || { fail "simulator starts"; finish; }
e2e_start_exporter --log.level=info || { fail "exporter listens" "$(exp_log_tail)"; finish; }
e2e_wait_up 30 || fail "iotpro_up becomes 1" "$(exp_log_tail)"
sim_ctl "/rate?n=0" >/dev/null   # values settle: what Prometheus holds must be the truth
prom_start "127.0.0.1:$EXP_PORT" || { fail "prometheus starts" "$(tail -n 5 "$TEST_TMP/prom/log")"; finish; }
ok "prometheus starts"
if OUT=$("$PY" "$E2E_DIR/e2e_prom_check.py" --prom "$PROM_URL" --ctl "http://127.0.0.1:$SIM_CTL" \
         --keys "$E2E_KEYS" --wait 30 2>&1); then ok "PromQL returns the simulator's series and values ($OUT)"
else fail "PromQL returns the simulator's series and values" "$OUT"; fi
H=$(curl -s "$PROM_URL/api/v1/targets" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(",".join(t["health"] for t in d["data"]["activeTargets"]))')
check "the scrape target is healthy ($H)" test "$H" = up
e2e_stop_exporter 5
finish
