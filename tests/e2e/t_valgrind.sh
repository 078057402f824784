#!/usr/bin/env bash
# Sanitizers on the end-to-end path.
#  1. valgrind (memcheck, --leak-check=full --error-exitcode=99) on the host (glibc)
#     build: log in, stream a few seconds, scrape, one server close and reconnect,
#     SIGTERM -> exit 0, no errors, no definite/indirect/possible leaks.
#  2. the ASan+UBSan build (detect_leaks=1): the happy path (/metrics == truth), a
#     subset of the fault matrix (close codes, TCP drops, truncation), clean SIGTERM,
#     no sanitizer report.  VALGRIND_SKIP_MATRIX=1 leaves the matrix subset out.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/e2e_common.sh"

# --- 1. valgrind -------------------------------------------------------------------
if ! command -v valgrind >/dev/null; then
    skip "valgrind" "valgrind not installed"
elif [ ! -x "$BUILD/host/bin/iotpro_exporter" ] || [ ! -x "$SIM" ]; then
    unbuilt "valgrind" "host exporter or simulator not built"   # fails under ./build.sh test
else
    e2e_need valgrind host
    if ! e2e_start_sim --assets 20 --rate 20; then fail "valgrind: sim starts"; finish; fi
    vlog=$TEST_TMP/valgrind.log
    EXP_WRAP="valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible \
        --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
        --track-fds=no --log-file=$vlog" EXP_START_WAIT=60 e2e_start_exporter --log.level=info
    if e2e_wait_up 90; then
        ok "valgrind: exporter up under memcheck"
        sleep 3
        metrics_text >/dev/null; metrics_text >/dev/null
        c0=$(metric iotpro_ws_connects_total)
        sim_ctl '/fault/close?code=1001' >/dev/null
        check "valgrind: reconnect after a server close" wait_for 40 metric_ge iotpro_ws_connects_total $((${c0%.*} + 1))
        e2e_wait_up 30
        compare_truth --wait 20 >/dev/null 2>"$TEST_TMP/cmp.err"
        check "valgrind: /metrics == truth under memcheck" [ $? = 0 ]
        sleep 2
    else
        fail "valgrind: exporter up under memcheck" "$(exp_log_tail 4) $(tail -n 5 "$vlog" | tr '\n' ' ')"
    fi
    e2e_stop_exporter 60
    summary=$(grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|possibly lost' "$vlog" | sed 's/^==[0-9]*== //' | tr '\n' ';')
    echo "# valgrind: exit $EXP_RC; $summary"
    if [ "$EXP_RC" = 0 ] && grep -q 'ERROR SUMMARY: 0 errors' "$vlog"; then
        ok "valgrind: no errors, no leaks, exit 0 on SIGTERM"
    else
        fail "valgrind: no errors, no leaks, exit 0 on SIGTERM" "exit $EXP_RC; $summary"
        grep -A12 -m3 'definitely lost in\|Invalid \|uninitialised' "$vlog" | sed 's/^/#   /' | head -40
    fi
    kill "$SIM_PID" 2>/dev/null
fi

# --- 2. ASan + UBSan ------------------------------------------------------------------
if [ ! -x "$BUILD/asan/bin/iotpro_exporter" ]; then
    unbuilt "asan e2e" "ASan exporter not built ($BUILD/asan/bin/iotpro_exporter)"
    finish
fi
e2e_need asan-e2e asan
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
if ! e2e_start_sim --assets 100 --rate 50 --ping-interval 1 --pong-timeout 3; then fail "asan: sim starts"; finish; fi
e2e_start_proxy || { fail "asan: proxy starts"; finish; }
if e2e_start_exporter --iotpro.idle-timeout=5s --iotpro.rediscover-interval=10s && e2e_wait_up 40; then
    ok "asan: exporter up"
    sim_ctl '/rate?n=0' >/dev/null
    compare_truth --wait 15 >/dev/null 2>"$TEST_TMP/cmp.err"
    check "asan: /metrics == truth" [ $? = 0 ]
    sim_ctl '/rate?n=50' >/dev/null
    if [ "${VALGRIND_SKIP_MATRIX:-0}" != 1 ]; then
        EXP_URL=$EXP_URL SIM_CTL=$SIM_CTL PROXY_CTL=$PROXY_CTL EXP_PID=$EXP_PID E2E_KEYS=$E2E_KEYS \
            SIM_RATE=50 IDLE_TIMEOUT_S=5 REDISCOVER_S=10 FAULT_MATRIX_CASES=close,tcp,truncation,error34 \
            "$PY" "$E2E_DIR/fault_matrix.py" | sed 's/^ok - fault /ok - asan fault /; s/^not ok - fault /not ok - asan fault /'
        [ "${PIPESTATUS[0]}" = 0 ] || _failed=1
    fi
else
    fail "asan: exporter up" "$(exp_log_tail 6)"
fi
e2e_stop_exporter 10
check "asan: exit 0 on SIGTERM (LeakSanitizer runs at exit)" [ "$EXP_RC" = 0 ]
if grep -q 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$EXP_LOG"; then
    fail "asan: no sanitizer report" "$(grep -m3 -A3 'ERROR: \|runtime error:' "$EXP_LOG" | tr '\n' ' ' | cut -c1-600)"
else
    ok "asan: no sanitizer report"
fi
finish
