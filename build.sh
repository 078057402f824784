#!/usr/bin/env bash
# iotpro_exporter build driver.
#
#   ./build.sh                 static musl binary: build/iotpro_exporter (stripped)
#   ./build.sh dynamic         glibc, dynamically linked (for debugging only)
#   ./build.sh demo            run the exporter against the bundled simulated backend
#   ./build.sh test [filter]   build everything and run every test (unit, ASan/UBSan,
#                              TSan, fuzz smoke, TLS, conformance, simulator, end-to-end)
#   ./build.sh fuzz [seconds]  run every libFuzzer target for the given time (default 60)
#   ./build.sh bench           benchmarks, written to BENCHMARKS.md
#   ./build.sh soak [minutes]  accelerated traffic with periodic faults (default 10)
#   ./build.sh clean
#
# Incremental: make tracks dependencies; a second run with nothing changed only checks.
set -euo pipefail
cd "$(dirname "$0")"
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
MAKE=(make --no-print-directory -j"$JOBS")

vendor() { vendor/fetch.sh; }

release() {
    vendor
    "${MAKE[@]}" release
    strip -o build/iotpro_exporter build/release/bin/iotpro_exporter
    # core/ must not allocate, read the clock or draw randomness: callers pass those in.
    check_core_purity
    echo "build/iotpro_exporter: $(file -b build/iotpro_exporter | cut -d, -f1-5)"
    echo "stripped size: $(stat -c %s build/iotpro_exporter) bytes"
}

check_core_purity() {
    local bad
    bad=$(for o in build/release/obj/core/*.o; do
              [ -e "$o" ] || continue
              nm -u "$o" | awk -v o="$o" '$2 ~ /^(malloc|calloc|realloc|free|time|clock_gettime|gettimeofday|rand|random|getrandom|getentropy|socket|connect|open|read|write|pthread_.*)$/ {print o": "$2}'
          done)
    if [ -n "$bad" ]; then
        echo "core/ must do no I/O, allocation, clock or randomness; found:" >&2
        echo "$bad" >&2
        exit 1
    fi
}

case "${1:-release}" in
release|"")
    release ;;
dynamic)
    vendor
    "${MAKE[@]}" dynamic
    echo "build/host/bin/iotpro_exporter (glibc, dynamic; not for distribution)" ;;
test)
    tests/deps.sh
    release
    "${MAKE[@]}" host asan fuzz tsan
    shift || true
    # Everything is built now: the tests treat a missing program as a failure (tests/lib.sh).
    IOTPRO_TESTS_BUILT=1 exec tests/run.sh "${1:-}" ;;
demo)
    tests/deps.sh
    release
    "${MAKE[@]}" host
    exec tests/demo.sh ;;
fuzz)
    tests/deps.sh
    vendor
    "${MAKE[@]}" fuzz
    secs=${2:-60}
    rc=0
    for t in build/fuzz/bin/fuzz_*; do tests/fuzz/run_one.sh "$t" "$secs" || rc=1; done
    exit $rc ;;
bench)
    tests/deps.sh
    release
    "${MAKE[@]}" host
    exec tests/bench/run.sh "${@:2}" ;;
soak)
    tests/deps.sh
    release
    "${MAKE[@]}" host asan
    exec tests/e2e/soak.sh "${2:-10}" ;;
clean)
    rm -rf build ;;
*)
    sed -n '2,14p' "$0"; exit 2 ;;
esac
