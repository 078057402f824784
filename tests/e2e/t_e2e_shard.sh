#!/usr/bin/env bash
# t_e2e_shard.sh -- --shard=i/3: three exporters against one simulator, one real
# Prometheus scraping all three in one job. Through PromQL: the union of their
# telemetry is exactly the simulator's full set with the right values, no (asset, key)
# is served twice, every shard has a share, and iotpro_asset_info is once per asset.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/e2e_common.sh"
source "$(dirname "$0")/e2e_prom.sh"
e2e_need e2e_shard "${EXP_CONFIG:-release}"
if ! command -v prometheus >/dev/null; then skip e2e_shard "prometheus not installed"; finish; fi

e2e_start_sim --assets 300 --rate 50 || { fail "simulator starts"; finish; }
URLS=() TARGETS=() PIDS=()
for i in 0 1 2; do
    e2e_start_exporter --shard="$i/3" --log.level=info || { fail "shard $i listens" "$(exp_log_tail)"; finish; }
    URLS+=("$EXP_URL"); TARGETS+=("127.0.0.1:$EXP_PORT"); PIDS+=("$EXP_PID")
done
for i in 0 1 2; do
    EXP_URL=${URLS[$i]}
    e2e_wait_up 30 || fail "shard $i: iotpro_up becomes 1"
done
ok "three shards up"
n=$(sim_stat sessions_authenticated)
check "three WebSocket sessions on the simulator ($n)" test "$n" = 3
sim_ctl "/rate?n=0" >/dev/null
prom_start "${TARGETS[@]}" || { fail "prometheus starts" "$(tail -n 5 "$TEST_TMP/prom/log")"; finish; }
if OUT=$("$PY" "$E2E_DIR/e2e_prom_check.py" --prom "$PROM_URL" --ctl "http://127.0.0.1:$SIM_CTL" \
         --keys "$E2E_KEYS" --shards 3 --wait 40 2>&1); then
    ok "union of the shards is the full set, no overlap ($OUT)"
else fail "union of the shards is the full set, no overlap" "$OUT"; fi
for i in 0 1 2; do EXP_PID=${PIDS[$i]}; e2e_stop_exporter 5; done
finish
