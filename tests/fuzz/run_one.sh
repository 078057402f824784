#!/usr/bin/env bash
# tests/fuzz/run_one.sh <fuzz-binary> <seconds>
# Runs one libFuzzer target over its seed corpus (tests/fuzz/corpus/<name>/, in git)
# for the given time, with new inputs written to build/fuzz/corpus/<name>/ (not in git).
# Prints "ok - <name>" or "not ok - <name>" for tests/run.sh.
set -u -o pipefail
bin=$1 secs=${2:-5}
name=$(basename "$bin")
seed=tests/fuzz/corpus/$name
B=${BUILD:-build}
work=$B/fuzz/corpus/$name
mkdir -p "$work" "$B/fuzz/crashes"
dict=tests/fuzz/$name.dict
args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
      -artifact_prefix="$B/fuzz/crashes/$name-")
[ -f "$dict" ] && args+=(-dict="$dict")
if [ ! -d "$seed" ] || [ -z "$(ls -A "$seed" 2>/dev/null)" ]; then
    echo "not ok - $name has no seed corpus in $seed"
    exit 1
fi
if "$bin" "${args[@]}" "$work" "$seed" 2>&1 | tail -n 30; then
    echo "ok - $name (${secs}s)"
else
    echo "not ok - $name found a crash (see $B/fuzz/crashes/)"
    exit 1
fi
