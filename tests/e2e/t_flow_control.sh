#!/usr/bin/env bash
# t_flow_control.sh -- the exporter against ThingsBoard's flow control (issue 14): for
# each condition the simulator can produce (tests/sim/README.md), flow_control.py applies
# it, lifts it, and requires /metrics to equal the simulator's current truth within a
# stated bound, with iotpro_up 0 at every scrape where a subscription lacks its data.
#   FLOW_CASES=resub,updates,...   a subset (default: all)
#   FLOW_ASSETS=N                  fleet size of the resubscription case (default 50000)
#   EXP_CONFIG=asan                against the ASan+UBSan exporter
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/e2e_common.sh"
e2e_need flow_control "${EXP_CONFIG:-release}"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-}"
export FLOW_SUB_TIMEOUT_S=5 FLOW_ASSETS=${FLOW_ASSETS:-50000}
CASES=${FLOW_CASES:-resub,updates,sublimit,queue,reorder,ce,ce_customer}

# run_case NAME "sim flags" [exporter flags...]
run_case() {
    local name=$1 simflags=$2 out
    shift 2
    case ",$CASES," in *",$name,"*) ;; *) return ;; esac
    # shellcheck disable=SC2086
    if ! e2e_start_sim $simflags; then fail "$name: simulator starts" "$(tail -n 3 "$SIM_LOG")"; return; fi
    if ! e2e_start_exporter --iotpro.subscription-timeout="${FLOW_SUB_TIMEOUT_S}s" \
            --iotpro.rediscover-interval=0 --log.level=info "$@"; then
        fail "$name: exporter listens" "$(exp_log_tail)"; kill "$SIM_PID"; return
    fi
    EXP_URL=$EXP_URL SIM_CTL=$SIM_CTL EXP_PID=$EXP_PID E2E_KEYS=$E2E_KEYS \
        "$PY" "$E2E_DIR/flow_control.py" "$name"
    [ $? -eq 0 ] || { _failed=1; echo "# exporter log: $(exp_log_tail 12)"; }
    if grep -q 'eyJhbGci' "$EXP_LOG"; then fail "$name: no secret in the log"; fi
    e2e_stop_exporter 5
    check "$name: clean exit ($EXP_RC)" test "$EXP_RC" = 0
    kill "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null
}

E2E_KEYS=device_id,telemetry_param_latitude,telemetry_param_longitude,temperature \
    run_case resub "--assets $FLOW_ASSETS --keys 4 --rate 50"
run_case updates "--assets 2000 --rate 20"
run_case sublimit "--assets 1200 --rate 20 --sub-limit 1000:600/tenant"
run_case queue "--assets 200 --rate 20"
run_case reorder "--assets 500 --rate 200 --reorder"
run_case ce "--assets 700 --rate 20 --edition ce" --iotpro.page-size=200
run_case ce_customer "--assets 300 --rate 20 --edition ce --customer" --iotpro.page-size=100
finish
