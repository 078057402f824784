# tests/lib.sh -- shared helpers for the integration test scripts (source it).
#
# Result lines for tests/run.sh:   ok NAME | fail NAME WHY | skip NAME WHY
# Processes started with `spawn` are killed when the script exits.
# Ports: `free_port` picks an unused loopback TCP port.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
BIN=${BIN:-$BUILD/host/bin}
EXPORTER=${EXPORTER:-$BUILD/release/bin/iotpro_exporter}
PY=/usr/bin/python3            # Debian's python, where python3-websockets lives
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/iotpro-test.XXXXXX")
CERTS=$BUILD/certs
_pids=()
_failed=0

ok()   { echo "ok - $1"; }
fail() { echo "not ok - $1${2:+: $2}"; _failed=1; }
skip() { echo "skip - $1: ${2:-skipped}"; }
# check NAME CMD...   ok if the command succeeds
check() { local n=$1; shift; if "$@"; then ok "$n"; else fail "$n"; fi; }

# ./build.sh test exports IOTPRO_TESTS_BUILT=1: it has just built every program the
# Makefile makes (exporter, simulator, probes, fixtures), so one that is missing or not
# functional is a regression, never an environment gap. A script run by hand without a
# full build still gets a skip that says why.
# unbuilt NAME WHY     fail under ./build.sh test, skip otherwise (the script goes on)
unbuilt() {
    if [ "${IOTPRO_TESTS_BUILT:-0}" = 1 ]; then
        fail "$1" "$2 (./build.sh test builds it, so this is a regression)"
    else
        skip "$1" "$2"
    fi
}
# need_built NAME PATH [WHAT]   unless PATH is executable: unbuilt, and end the script
need_built() {
    [ -x "$2" ] && return 0
    unbuilt "$1" "${3:+$3 }not built ($2)"
    finish
}

spawn() { "$@" & _pids+=($!); }
_cleanup() {
    local p
    for p in "${_pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${_pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$TEST_TMP"
}
trap _cleanup EXIT

free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_port PORT [seconds]   waits until something listens on 127.0.0.1:PORT
wait_port() {
    local port=$1 t=${2:-10} i
    for ((i = 0; i < t * 20; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# wait_for SECONDS CMD...    retries CMD until it succeeds or the time is up
wait_for() {
    local t=$1 i; shift
    for ((i = 0; i < t * 10; i++)); do "$@" && return 0; sleep 0.1; done
    return 1
}

# get_metrics URL: GET a /metrics body to stdout. Under tests/run.sh (IOTPRO_SCRAPE_DIR
# set) tests/e2e/scrapes.py also records its non-zero families, for metric_coverage.sh.
get_metrics() {
    local body rc
    body=$(curl -s --max-time "${CURL_TIMEOUT:-10}" "$1"); rc=$?
    printf '%s\n' "$body"
    if [ -n "${IOTPRO_SCRAPE_DIR:-}" ] && [ -n "$body" ]; then
        printf '%s\n' "$body" | "$PY" "$TOP/tests/e2e/scrapes.py" record
    fi
    return $rc
}

certs() { bash "$TOP/tests/mkcerts.sh" "$CERTS" >/dev/null; }

# finish: exit status for run.sh (it also counts the lines)
finish() { exit "$_failed"; }
