#!/usr/bin/env bash
# t_bench_smoke.sh -- ./build.sh test runs the benchmark suite only in this smoke mode:
# tests/bench/run.sh --quick (1 run, tiny sizes, 1 s windows) into a temporary report,
# never BENCHMARKS.md. It checks that the suite works, not how fast anything is: the
# report parses, every figure was produced and is > 0. Targets are not asserted.
#
# While the simulator or the exporter is not functional yet (binary missing, or the
# exporter exits at once), it prints "skip - bench_smoke: <reason>" and exits 0.
# Figures whose producer is legitimately absent (bench_core_ingest not built, npm ws
# not installed) are skipped, not failed.
set -u
. "$(dirname "$0")/../lib.sh"
HERE=$TOP/tests/bench
SIM=${SIM:-$BIN/iotpro-sim}

[ -x "$SIM" ] || { skip bench_smoke "simulator not built ($SIM)"; exit 0; }
[ -x "$EXPORTER" ] || { skip bench_smoke "exporter not built ($EXPORTER)"; exit 0; }

# A functional exporter keeps running (and retrying) when its backend is unreachable;
# the placeholder exits at once.
port=$(free_port)
IOTPRO_PASSWORD=x "$EXPORTER" --iotpro.url="https://localhost:$(free_port)" \
    --iotpro.username=smoke@example.com --web.listen-address="127.0.0.1:$port" \
    >"$TEST_TMP/exporter.log" 2>&1 &
epid=$!
sleep 1.5
if ! kill -0 "$epid" 2>/dev/null; then
    wait "$epid" 2>/dev/null
    skip bench_smoke "exporter exits at once: $(head -c 120 "$TEST_TMP/exporter.log" | tr '\n' ' ')"
    exit 0
fi
kill "$epid" 2>/dev/null; wait "$epid" 2>/dev/null

out=$TEST_TMP/BENCHMARKS.quick.md
timeout -k 10 170 bash "$HERE/run.sh" --quick --out "$out" --raw "$TEST_TMP/raw.tsv" \
    >"$TEST_TMP/run.out" 2>"$TEST_TMP/run.err"
rc=$?
if [ "$rc" -ne 0 ] || [ ! -s "$out" ]; then
    # Unbuilt or non-functional pieces show up as skips inside the report; a crash of
    # the suite itself, or no report, is a failure.
    fail bench_smoke_run "run.sh --quick exited $rc"
    sed 's/^/    /' "$TEST_TMP/run.err" | tail -n 30
    finish
fi
if grep -q 'simulator ground truth unavailable\|exporter exited\|did not listen' "$TEST_TMP/run.err" &&
   ! grep -q '^ingest\.msgs_per_s' "$TEST_TMP/raw.tsv"; then
    skip bench_smoke "simulator or exporter not functional yet: $(grep -m1 -e 'ground truth' -e 'exited' -e 'did not listen' "$TEST_TMP/run.err")"
    exit 0
fi
ok bench_smoke_run

checks=$("$PY" "$HERE/report.py" check "$out")
crc=$?
[ "$crc" -eq 0 ] && ok bench_smoke_report_parses || fail bench_smoke_report_parses "$(grep '^format' <<<"$checks" | head -3 | tr '\n' ';')"

# Every figure family the suite promises must be present (levels and start-up sizes in
# quick mode are small and labelled by their size).
need='binary\.stripped_bytes core\.mb_per_s core\.msgs_per_s ingest\.msgs_per_s
ingest\.values_per_s ingest\.cpu_s_per_m_updates ingest\.peak_rss_bytes ref\.msgs_per_s
ref\.peak_rss_bytes ratio\.throughput ratio\.peak_rss ingest_scraped\.msgs_per_s
mem\.idle\.rss_bytes scrape\.idle\.[^.]+\.seconds scrape\.flood\.[^.]+\.seconds
scrape\.idle\.[^.]+\.bytes mem\.[^.]+\.bytes_per_series startup\.[^.]+\.seconds'
seen=" "
for f in $need; do
    lines=$(grep -E "^(ok|bad|missing) $f " <<<"$checks")
    [ -n "$lines" ] || { fail "bench_smoke $f" "absent from the report"; continue; }
    while read -r st fid rest; do
        seen="$seen$fid "
        case "$st:$rest" in
        ok:*) ok "bench_smoke $fid" ;;
        bad:*) fail "bench_smoke $fid" "$rest" ;;
        missing:*"not built"*|missing:*"npm ws"*) skip "bench_smoke $fid" "$rest" ;;
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
