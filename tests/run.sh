#!/usr/bin/env bash
# Runs every test that ./build.sh built and prints one summary line at the end:
#   N passed, N failed, N skipped
#
# Every test program or script speaks the same line protocol (tests/harness.h,
# tests/lib.sh):  "ok - name", "not ok - name", "skip - name: why". Anything else it
# prints is shown only when it failed (or with VERBOSE=1).
#
#   tests/run.sh [filter]      run only tests whose file name contains <filter>; an
#                              integration test's name is suite/t_name.sh, so `e2e/`
#                              picks the e2e suite (and the metric coverage check after it)
#
# ./build.sh test runs it with IOTPRO_TESTS_BUILT=1 (everything was just built): then a
# missing exporter, simulator or test program fails instead of skipping (tests/lib.sh).
# Set it by hand after `make host release asan` for the same strictness.
set -u
cd "$(dirname "$0")/.."
filter="${1:-}"
passed=0 failed=0 skipped=0
failures=()
B=${BUILD:-build}
logdir=$B/test-logs
mkdir -p "$logdir"

# run_one <suite> <name> <timeout-seconds> <command...>
run_one() {
    local suite=$1 name=$2 tmo=$3; shift 3
    local log rc
    log="$logdir/$suite.$name.log"
    IOTPRO_TEST_NAME="$suite.$name" timeout --kill-after=10 "$tmo" "$@" >"$log" 2>&1
    rc=$?
    local p f s
    p=$(grep -c '^ok - ' "$log")
    f=$(grep -c '^not ok - ' "$log")
    s=$(grep -c '^skip - ' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
            echo "not ok - $name timed out after ${tmo}s" >>"$log"
        else
            echo "not ok - $name exited with status $rc" >>"$log"
        fi
        f=1
    fi
    if [ "$rc" -eq 0 ] && [ $((p + f + s)) -eq 0 ]; then
        echo "not ok - $name reported no results" >>"$log"
        f=1
    fi
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
    printf '%-11s %-40s %4d passed %3d failed %3d skipped\n' "[$suite]" "$name" "$p" "$f" "$s"
    if [ "$f" -gt 0 ] || [ "${VERBOSE:-0}" = 1 ]; then
        sed 's/^/    /' "$log" | tail -n 80
        [ "$f" -gt 0 ] && failures+=("$suite/$name")
    fi
    grep '^skip - ' "$log" | sed 's/^/    /'
    return 0
}

want() { [ -z "$filter" ] || [[ "$1" == *"$filter"* ]]; }

# 1. Unit tests, once as a normal build and once under ASan+UBSan.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
for cfg in host asan; do
    for t in $B/$cfg/bin/test_*; do
        [ -x "$t" ] || continue
        want "$(basename "$t")" || continue
        run_one "unit-$cfg" "$(basename "$t")" 300 "$t"
    done
done

# ... and the unit tests that start threads once more under ThreadSanitizer (make tsan
# builds only those): any report is a failure (exit status 66).
export TSAN_OPTIONS="halt_on_error=0:exitcode=66:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp:${TSAN_OPTIONS:-}"
for t in $B/tsan/bin/test_*; do
    [ -x "$t" ] || continue
    want "$(basename "$t")" || continue
    run_one unit-tsan "$(basename "$t")" 300 "$t"
done

# 2. Fuzz targets, a few seconds each (./build.sh fuzz runs them longer).
for t in $B/fuzz/bin/fuzz_*; do
    [ -x "$t" ] || continue
    want "$(basename "$t")" || continue
    run_one fuzz "$(basename "$t")" 120 tests/fuzz/run_one.sh "$t" "${FUZZ_SECONDS:-5}"
done

# 3. Integration suites: scripts named t_*.sh, in this order. The e2e scrape helpers
# record what each /metrics showed in $IOTPRO_SCRAPE_DIR (tests/e2e/scrapes.py), for
# step 4; it starts empty whenever an e2e test runs.
export IOTPRO_SCRAPE_DIR=$(cd "$logdir" && pwd)/scrapes
for t in tests/e2e/t_*.sh; do
    want "e2e/$(basename "$t")" && { rm -rf "$IOTPRO_SCRAPE_DIR"; break; }
done
mkdir -p "$IOTPRO_SCRAPE_DIR"
for suite in tls conformance sim e2e bench release; do
    for t in tests/$suite/t_*.sh; do
        [ -f "$t" ] || continue
        want "$suite/$(basename "$t")" || continue
        run_one "$suite" "$(basename "$t" .sh)" "${TEST_TIMEOUT:-900}" bash "$t"
    done
done

# 4. After them: every documented metric family and label value was non-zero in some
# e2e scrape, or README.md says why it cannot be (tests/e2e/metric_coverage.sh).
if want e2e/metric_coverage; then
    run_one e2e metric_coverage 120 bash tests/e2e/metric_coverage.sh "$IOTPRO_SCRAPE_DIR"
fi

echo
if [ ${#failures[@]} -gt 0 ]; then
    echo "failed: ${failures[*]}"
    echo "logs: $logdir/"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
