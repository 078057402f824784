#!/usr/bin/env bash
# t_bench_smoke.sh -- ./build.sh test runs the benchmark suite only in this smoke mode:
# tests/bench/run.sh --quick (1 run, tiny sizes, 1 s windows) into a temporary report,
# never BENCHMARKS.md. It checks that the suite works, not how fast anything is: the
# report parses, every figure was produced and is > 0. Targets are not asserted.
#
# This is the only test that runs the exporter at flood speed, so an exporter (or
# simulator) that exits or never listens, before or during the run, is a failure with
# its log tail: a skip here would let a crash under full load pass the suite. A binary
# that is not built fails under ./build.sh test and is a skip only when run by hand
# without a build (lib.sh need_built). Figures whose producer is legitimately absent
# are skipped: npm ws (the reference client) is optional, tests/deps.sh tolerates a
# failed npm install; bench_core_ingest follows the not-built rule above.
set -u
. "$(dirname "$0")/../lib.sh"
HERE=$TOP/tests/bench
SIM=${SIM:-$BIN/iotpro-sim}

need_built bench_smoke "$SIM" simulator
need_built bench_smoke "$EXPORTER" exporter

# logtail FILE: the last lines of a log, on one line, for a failure message
logtail() { tail -n "${2:-8}" "$1" 2>/dev/null | tr '\n' ' ' | cut -c1-600; }

# A functional exporter keeps running (and retrying) when its backend is unreachable,
# and listens: one that exits or never listens is broken.
port=$(free_port)
IOTPRO_PASSWORD=x "$EXPORTER" --iotpro.url="https://localhost:$(free_port)" \
    --iotpro.username=smoke@example.com --web.listen-address="127.0.0.1:$port" \
    >"$TEST_TMP/exporter.log" 2>&1 &
epid=$!
_pids+=("$epid")
listening=0
for ((i = 0; i < 100; i++)); do
    kill -0 "$epid" 2>/dev/null || break
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && { listening=1; break; }
    sleep 0.1
done
if ! kill -0 "$epid" 2>/dev/null; then
    wait "$epid" 2>/dev/null; rc=$?
    fail bench_smoke_exporter_starts "exporter exited at once (status $rc): $(logtail "$TEST_TMP/exporter.log")"
    finish
fi
if [ "$listening" != 1 ]; then
    fail bench_smoke_exporter_starts "exporter did not listen on 127.0.0.1:$port in 10 s: $(logtail "$TEST_TMP/exporter.log")"
    finish
fi
kill "$epid" 2>/dev/null; wait "$epid" 2>/dev/null
ok bench_smoke_exporter_starts

out=$TEST_TMP/BENCHMARKS.quick.md
timeout -k 10 300 bash "$HERE/run.sh" --quick --out "$out" --raw "$TEST_TMP/raw.tsv" \
    >"$TEST_TMP/run.out" 2>"$TEST_TMP/run.err"
rc=$?
if [ "$rc" -ne 0 ] || [ ! -s "$out" ]; then
    # Unbuilt or non-functional pieces show up as skips inside the report; a crash of
    # the suite itself, or no report, is a failure.
    fail bench_smoke_run "run.sh --quick exited $rc"
    sed 's/^/    /' "$TEST_TMP/run.err" | tail -n 30
    finish
fi
ok bench_smoke_run
# run.sh logs these (with the log tail of the process) whenever the exporter or the
# simulator died or never came up, at any level, including the flood: always a failure.
if grep -q 'simulator ground truth unavailable\|exporter exited\|did not listen' "$TEST_TMP/run.err"; then
    fail bench_smoke_processes_survive "$(grep -m1 -A6 -e 'ground truth' -e 'exited' -e 'did not listen' "$TEST_TMP/run.err" | tr '\n' ' ' | cut -c1-800)"
else
    ok bench_smoke_processes_survive
fi

# Counted from above (run.sh count_from_above): once each flood stopped, the exporter's
# message counter equalled the simulator's sent count.
if grep -q 'count mismatch' "$TEST_TMP/run.err" || ! grep -q 'counted from above' "$TEST_TMP/run.err"; then
    fail bench_smoke_counted_from_above "$(grep -m1 -e 'count mismatch' "$TEST_TMP/run.err" || echo 'no count logged')"
else
    ok bench_smoke_counted_from_above
fi

checks=$("$PY" "$HERE/report.py" check "$out")
crc=$?
[ "$crc" -eq 0 ] && ok bench_smoke_report_parses || fail bench_smoke_report_parses "$(grep '^format' <<<"$checks" | head -3 | tr '\n' ';')"

# Every figure family the suite promises must be present (levels and start-up sizes in
# quick mode are small and labelled by their size).
need='binary\.stripped_bytes core\.mb_per_s core\.msgs_per_s ingest\.msgs_per_s
ingest\.values_per_s ingest\.cpu_s_per_m_updates ingest\.peak_rss_bytes ref\.msgs_per_s
ref\.peak_rss_bytes ratio\.throughput ratio\.peak_rss ingest_scraped\.msgs_per_s
mem\.idle\.rss_bytes scrape\.idle\.[^.]+\.seconds scrape\.flood\.[^.]+\.seconds
scrape\.idle\.[^.]+\.bytes mem\.[^.]+\.bytes_per_series startup\.[^.]+\.seconds
num\.musl\.speedup num\.glibc\.speedup num\.diff_inputs num\.diff_identical_fraction
gps\.ingest\.msgs_per_s gps\.ingest\.cpu_s_per_m_updates gps\.ref\.msgs_per_s
gps\.floor\.cpu_s_per_m_updates gps\.ratio\.throughput gps\.ratio\.peak_rss
gps\.ratio\.cpu_vs_floor mixed\.ingest\.msgs_per_s mixed\.ref\.msgs_per_s
mixed\.floor\.cpu_s_per_m_updates mixed\.ratio\.throughput mixed\.ratio\.cpu_vs_floor'
seen=" "
for f in $need; do
    lines=$(grep -E "^(ok|bad|missing) $f " <<<"$checks")
    [ -n "$lines" ] || { fail "bench_smoke $f" "absent from the report"; continue; }
    while read -r st fid rest; do
        seen="$seen$fid "
        case "$st:$rest" in
        ok:*) ok "bench_smoke $fid" ;;
        bad:*) fail "bench_smoke $fid" "$rest" ;;
        missing:*"npm ws"*) skip "bench_smoke $fid" "$rest" ;;
        missing:*"not built"*) unbuilt "bench_smoke $fid" "$rest" ;;
        *) fail "bench_smoke $fid" "$rest" ;;
        esac
    done <<<"$lines"
done
# Nothing else in the report may be broken or missing either.
while read -r st fid rest; do
    [[ "$seen" == *" $fid "* ]] && continue
    case "$st" in
    bad|missing) fail "bench_smoke $fid" "$rest" ;;
    esac
done <<<"$checks"
finish
