#!/usr/bin/env bash
# tests/bench/run.sh -- the benchmark suite (issue 8). `./build.sh bench` builds release +
# host and runs it; it can also be run directly after a build.
#
#   tests/bench/run.sh [--quick] [--runs N] [--out FILE] [--raw FILE] [--only LIST]
#
#   --quick      smoke mode for ./build.sh test: 1 run, tiny sizes, short windows
#   --runs N     repetitions per figure (default 5; quick 1); each figure is the median
#                of its runs, min and max beside it
#   --out FILE   markdown report (default BENCHMARKS.md at the top of the tree)
#   --raw FILE   keep the raw samples ("ID<TAB>VALUE", one per run) there
#   --only LIST  comma-separated sections: size,num,core,ingest,ref,gps,mixed,scraped,
#                levels,startup
#   --num-inputs N   inputs of the num differential run (default 100000000; quick 100000)
#
# Everything runs on loopback against build/host/bin/iotpro-sim over TLS (certificates
# from tests/mkcerts.sh). The exporter (or the Node.js reference client) is pinned to
# CPU $EXP_CPU and the simulator (and the scraper, curl) to CPU $SIM_CPU with taskset
# when the machine has two or more CPUs. Every process is bounded by `timeout` and every
# wait by a deadline; the script stops everything it started when it exits.
#
# Figures (ids as in BENCHMARKS.md; tests/bench/report.py describes each):
#   binary.stripped_bytes            size of build/iotpro_exporter
#   num.musl.*, num.glibc.*          tests/bench/bench_num speed: core/num vs the C library's
#                                    strtod on GPS coordinates (15-17 digits), built static
#                                    with musl (what the release used to call) and with glibc
#   num.diff_*                       bench_num diff: --num-inputs random and adversarial
#                                    inputs, core/num against glibc's strtod bit for bit
#   core.*                           build/host/bin/bench_core_ingest, when built
#   ingest.*                         exporter vs simulator in flood mode: counters
#                                    iotpro_ws_messages_received_total (update messages),
#                                    iotpro_telemetry_updates_total (values) and
#                                    process_cpu_seconds_total read from /metrics at the
#                                    start and the end of a fixed window
#   ref.*, ratio.*                   tests/bench/ref_client.js on the same feed, same run
#   gps.*, mixed.*                   the same clients on fleet-shaped feeds (simulator
#                                    --flood-shape all|mix --nmea): gps = latitude and
#                                    longitude (15-17 digits) per update, mixed = a varying
#                                    blend of the 7 default keys (strings, booleans,
#                                    integers, doubles); Node keeps values as strings there.
#                                    Plus WL.floor.*: build/host/bin/bench_floor, decrypt and
#                                    frame boundaries only, and WL.ratio.cpu_vs_floor = our
#                                    CPU per message / the floor's, in the same repetition
#   ingest_scraped.*                 the ingest window again with a scrape every second
#   scrape.{idle,flood}.L.*          /metrics time (curl time_total) and size at L series
#   mem.*                            exporter VmRSS at idle and at L series
#   startup.L.seconds                exec of the exporter to the first /metrics that holds
#                                    every (asset, key) the simulator has a value for
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
. "$HERE/../lib.sh"
trap - EXIT

QUICK=0 RUNS="" OUT="" RAW_KEEP="" ONLY="" NUM_INPUTS=""
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1 ;;
    --runs) RUNS=$2; shift ;;
    --runs=*) RUNS=${1#*=} ;;
    --out) OUT=$2; shift ;;
    --out=*) OUT=${1#*=} ;;
    --raw) RAW_KEEP=$2; shift ;;
    --raw=*) RAW_KEEP=${1#*=} ;;
    --only) ONLY=$2; shift ;;
    --only=*) ONLY=${1#*=} ;;
    --num-inputs) NUM_INPUTS=$2; shift ;;
    --num-inputs=*) NUM_INPUTS=${1#*=} ;;
    -h|--help) sed -n '2,35p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
OUT=${OUT:-$TOP/BENCHMARKS.md}

SIM=${SIM:-$BIN/iotpro-sim}
CORE_BENCH=${CORE_BENCH:-$BIN/bench_core_ingest}
NUM_BENCH=${NUM_BENCH:-$BIN/bench_num}
FLOOR=${FLOOR:-$BIN/bench_floor}
STRIPPED=${STRIPPED:-$BUILD/iotpro_exporter}
NODE=${NODE:-/usr/bin/node}
REF=$HERE/ref_client.js
BENCH_USER=bench@example.com
BENCH_PASS=bench-password-1
# The time-series keys both clients subscribe to; the simulator serves them (its first
# keys, see tests/sim/sim_model.c) and the exporter is told the same list.
KEYS=${BENCH_KEYS:-device_id,telemetry_param_latitude,telemetry_param_longitude}
NKEYS=$(awk -F, '{print NF}' <<<"$KEYS")
PAGE=1000
# The workload in use (set_workload): figure id prefix, simulator flags and key count,
# and how the Node.js client keeps values.
WL="" SIM_EXTRA=() SIM_NKEYS=$NKEYS REF_VALUES=numbers
BASIC_KEYS=$KEYS

if [ "$QUICK" = 1 ]; then
    RUNS=${RUNS:-1}
    INGEST_ASSETS=${INGEST_ASSETS:-300}
    WARMUP=0.5 WINDOW=1
    LEVELS=${LEVELS:-"500 2000"}          # series
    STARTUP_ASSETS=${STARTUP_ASSETS:-"200 1000"}
    SCRAPES=2 BOUND=40
    NUM_INPUTS=${NUM_INPUTS:-100000}
else
    RUNS=${RUNS:-5}
    INGEST_ASSETS=${INGEST_ASSETS:-10000}
    WARMUP=2 WINDOW=5
    LEVELS=${LEVELS:-"10000 100000 1000000"}
    STARTUP_ASSETS=${STARTUP_ASSETS:-"10000 100000"}
    SCRAPES=3 BOUND=240
    NUM_INPUTS=${NUM_INPUTS:-100000000}
fi

NCPU=$(nproc 2>/dev/null || echo 1)
if [ "$NCPU" -ge 2 ] && command -v taskset >/dev/null; then
    EXP_CPU=${EXP_CPU:-0} SIM_CPU=${SIM_CPU:-1}
    PINNING="client under test on CPU $EXP_CPU, simulator and scraper on CPU $SIM_CPU"
else
    EXP_CPU="" SIM_CPU=""
    PINNING="none (one CPU or no taskset)"
fi
pin() { local c=$1; shift; if [ -n "$c" ]; then taskset -c "$c" "$@"; else "$@"; fi; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/iotpro-bench.XXXXXX")
RAW=$WORK/raw.tsv META=$WORK/meta
: >"$RAW"; : >"$META"
SIM_PID="" EXP_PID="" AUX_PIDS=()
CLK_TCK=$(getconf CLK_TCK)

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
record() { printf '%s\t%s\n' "$1" "$2" >>"$RAW"; }
meta() { printf '%s=%s\n' "$1" "$2" >>"$META"; }
missing() { grep -q "^missing.$1=" "$META" || meta "missing.$1" "$2"; }
want() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $* }"; }
# label 1000000 -> 1M, 10000 -> 10k, 300 -> 300
label() { awk -v n="$1" 'BEGIN { if (n >= 1e6 && n % 1e6 == 0) print n/1e6 "M";
                                  else if (n >= 1e3 && n % 1e3 == 0) print n/1e3 "k"; else print n }'; }

# ---- processes ------------------------------------------------------------------------

stop_pid() {  # PID: TERM, then KILL after 3 s; reaps it
    # PID is the background job (a subshell running `pin ... timeout ...`); a signal to
    # the subshell does not reach the program, so signal the program (the leaf) too, or
    # it keeps running into the next measurement.
    local p=$1 i leaf
    [ -n "$p" ] || return 0
    leaf=$(real_pid "$p")
    kill -TERM "$leaf" "$p" 2>/dev/null || { wait "$p" 2>/dev/null; return 0; }
    for ((i = 0; i < 30; i++)); do
        kill -0 "$leaf" 2>/dev/null || kill -0 "$p" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$leaf" "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    return 0
}
stop_all() {
    local p
    for p in "${AUX_PIDS[@]}"; do stop_pid "$p"; done
    AUX_PIDS=()
    stop_pid "$EXP_PID"; EXP_PID=""
    stop_pid "$SIM_PID"; SIM_PID=""
}
on_exit() {
    stop_all
    if [ -n "$RAW_KEEP" ]; then cp "$RAW" "$RAW_KEEP" 2>/dev/null; cp "$META" "$RAW_KEEP.meta" 2>/dev/null; fi
    rm -rf "$WORK" "$TEST_TMP"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# real_pid PID: the program that `timeout` runs (taskset execs it; timeout forks once),
# whose /proc figures are wanted; PID itself is what we signal.
real_pid() {
    # Descend to the leaf: a subshell, taskset/timeout and the program may each be a level.
    local p=$1 c i depth
    for ((depth = 0; depth < 4; depth++)); do
        c=""
        for ((i = 0; i < 50; i++)); do
            c=$(cat "/proc/$p/task/$p/children" 2>/dev/null)
            [ -n "$c" ] && break
            case "$(cat "/proc/$p/comm" 2>/dev/null)" in
                timeout|taskset|bash|sh) sleep 0.02 ;;
                *) break ;;
            esac
        done
        [ -n "$c" ] || break
        p=${c%% *}
    done
    echo "$p"
}
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
proc_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }

# The simulator. Its flags are documented at the top of tests/sim/sim_main.c.
#   sim_start ASSETS MODE      MODE: idle (no updates) | flood
# Sets SIM_PORT (API, TLS) and CTL_PORT (control endpoint) from its --port-file.
sim_start() {
    local n=$1 mode=$2 extra=() pf=$WORK/sim.ports i
    rm -f "$pf"
    case "$mode" in
    flood) extra=(--flood --rate 0) ;;
    idle) extra=(--rate 0) ;;
    esac
    pin "$SIM_CPU" timeout -k 5 "$BOUND" "$SIM" --listen 127.0.0.1 --port 0 --control-port 0 \
        --port-file "$pf" --certs "$CERTS" --username "$BENCH_USER" --password "$BENCH_PASS" \
        --assets "$n" --keys "$SIM_NKEYS" "${extra[@]}" "${SIM_EXTRA[@]}" >>"$WORK/sim.log" 2>&1 &
    SIM_PID=$!
    SIM_RPID=$(real_pid "$SIM_PID")
    SIM_PORT="" CTL_PORT=""
    for ((i = 0; i < 300; i++)); do
        if [ -s "$pf" ] && grep -q '^control_port=' "$pf"; then
            SIM_PORT=$(sed -n 's/^api_port=//p' "$pf")
            CTL_PORT=$(sed -n 's/^control_port=//p' "$pf")
            break
        fi
        kill -0 "$SIM_PID" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$SIM_PORT" ] || ! wait_port "$SIM_PORT" 10; then
        log "simulator did not listen (see below)"; tail -n 5 "$WORK/sim.log" >&2
        stop_pid "$SIM_PID"; SIM_PID=""
        return 1
    fi
}

# The number of (asset, key) pairs among the subscribed keys that hold a value in the
# simulator: the series count the exporter must reach for "complete".
sim_expected() {
    curl -s --max-time 60 "http://127.0.0.1:$CTL_PORT/truth" |
        awk -v keys="$KEYS" -f "$HERE/truth_count.awk"
}

# The exporter under test. Flags: exporter/config.c.
exp_start() {
    WEB_PORT=$(free_port)
    EXP_T0=$(now)
    IOTPRO_PASSWORD=$BENCH_PASS pin "$EXP_CPU" timeout -k 5 "$BOUND" "$EXPORTER" \
        --iotpro.url="https://localhost:$SIM_PORT" --iotpro.username="$BENCH_USER" \
        --tls.ca-file="$CERTS/ca.pem" --web.listen-address="127.0.0.1:$WEB_PORT" \
        --iotpro.keys="$KEYS" --iotpro.page-size="$PAGE" \
        >>"$WORK/exporter.log" 2>&1 &
    EXP_PID=$!
    EXP_RPID=$(real_pid "$EXP_PID")
    local i
    for ((i = 0; i < 400; i++)); do  # 20 s, or until it exits
        (exec 3<>"/dev/tcp/127.0.0.1/$WEB_PORT") 2>/dev/null && return 0
        kill -0 "$EXP_PID" 2>/dev/null || break
        sleep 0.05
    done
    if :; then
        log "exporter did not listen on $WEB_PORT (exporter exited or hung)"; tail -n 5 "$WORK/exporter.log" >&2
        stop_pid "$EXP_PID"; EXP_PID=""
        return 1
    fi
}

# scrape FILE: GET /metrics into FILE; prints "seconds bytes"
scrape() {
    pin "$SIM_CPU" curl -s --max-time 60 -o "$1" -w '%{time_total} %{size_download}\n' \
        "http://127.0.0.1:$WEB_PORT/metrics" 2>/dev/null || echo "0 0"
}
# series FILE: sample lines that belong to an asset's telemetry (value or info)
telemetry_series() { grep -c '^iotpro_telemetry_timestamp_seconds{' "$1"; }
all_series() { grep -vc -e '^#' -e '^$' "$1"; }
# counter FILE NAME: sum of the samples of family NAME
counter() {
    grep -E "^$2[ {]" "$1" | awk '{ s += $NF } END { printf "%.0f", s }'
}

# wait_complete EXPECTED: polls /metrics until the exporter exposes EXPECTED telemetry
# series; sets COMPLETE_T (seconds since exporter start). Fails after $BOUND seconds.
wait_complete() {
    local want=$1 deadline have
    deadline=$(calc "$(now) + $BOUND")
    while :; do
        kill -0 "$EXP_PID" 2>/dev/null || { log "exporter exited"; tail -n 5 "$WORK/exporter.log" >&2; return 1; }
        scrape "$WORK/m.txt" >/dev/null
        have=$(telemetry_series "$WORK/m.txt")
        if [ "$have" -ge "$want" ]; then
            COMPLETE_T=$(calc "$(now) - $EXP_T0")
            return 0
        fi
        if awk "BEGIN { exit !($(now) > $deadline) }"; then
            log "incomplete after ${BOUND}s: $have of $want series"
            return 1
        fi
        sleep 0.1
    done
}

# ---- sections --------------------------------------------------------------------------

bench_size() {
    if [ -f "$STRIPPED" ]; then
        record binary.stripped_bytes "$(stat -c %s "$STRIPPED")"
        meta binary "$(file -b "$STRIPPED" | cut -d, -f1-4)"
    else
        missing binary.stripped_bytes "build/iotpro_exporter not built"
    fi
}

bench_core() {
    if [ ! -x "$CORE_BENCH" ]; then
        missing core.mb_per_s "bench_core_ingest not built"
        missing core.msgs_per_s "bench_core_ingest not built"
        return
    fi
    local r out args=()
    # Usage: bench_core_ingest [assets] [keys-per-asset] [messages]; defaults are the
    # full size, the smoke mode asks for a small run.
    [ "$QUICK" = 1 ] && args=(2000 3 100000)
    for ((r = 1; r <= RUNS; r++)); do
        out=$(pin "$EXP_CPU" timeout -k 5 "$BOUND" "$CORE_BENCH" "${args[@]}" 2>&1)
        "$PY" "$HERE/parse_core.py" <<<"$out" >>"$RAW" ||
            { missing core.mb_per_s "bench_core_ingest output not understood"; log "core: $out"; return; }
    done
}

# count_from_above: stops the flood (the simulator ends its pass over the ring) and waits
# until the exporter's iotpro_ws_messages_received_total equals what the simulator says
# it sent (msgs_sent: data pages; flood_msgs: flood frames). The figures above trust
# that counter; this checks it from the sending side. t_bench_smoke.sh reads the log.
count_from_above() {
    local st sent got i
    curl -s --max-time 5 "http://127.0.0.1:$CTL_PORT/flood?off=1" >/dev/null
    for ((i = 0; i < 100; i++)); do
        st=$(curl -s --max-time 5 "http://127.0.0.1:$CTL_PORT/stats")
        sent=$(awk '$1 == "msgs_sent" || $1 == "flood_msgs" { s += $2 } END { print s + 0 }' <<<"$st")
        scrape "$WORK/mc.txt" >/dev/null
        got=$(counter "$WORK/mc.txt" iotpro_ws_messages_received_total)
        [ "$got" = "$sent" ] && break
        sleep 0.1
    done
    if [ "$got" = "$sent" ]; then
        log "counted from above: the exporter received all $sent messages the simulator sent"
    else
        log "count mismatch: the exporter received $got messages, the simulator sent $sent"
    fi
}

# ingest_once SCRAPE_EVERY_SECOND(0|1): one end-to-end window. Records ingest.* or
# ingest_scraped.*; sets LAST_MSGS.
ingest_once() {
    local scraped=$1 pfx=${WL}ingest m0 m1 t0 t1 s0 s1 e0 e1 dt dm dv dc exp_ticks sim_ticks sp
    [ "$scraped" = 1 ] && pfx=ingest_scraped
    LAST_CPU=""
    LAST_MSGS=""
    sim_start "$INGEST_ASSETS" flood || return 1
    exp_start || { stop_all; return 1; }
    wait_complete "$INGEST_EXPECTED" || { stop_all; return 1; }
    sleep "$WARMUP"
    t0=$(now); scrape "$WORK/m0.txt" >/dev/null
    e0=$(proc_ticks "$EXP_RPID") s0=$(proc_ticks "$SIM_RPID")
    if [ "$scraped" = 1 ]; then
        ( end=$(calc "$(now) + $WINDOW - 0.5")
          while awk "BEGIN { exit !($(now) < $end) }"; do
              scrape /dev/null >>"$WORK/scraped.times"; sleep 1
          done ) &
        sp=$!
        AUX_PIDS+=("$sp")
        sleep "$WINDOW"
        wait "$sp" 2>/dev/null; AUX_PIDS=()
    else
        sleep "$WINDOW"
    fi
    t1=$(now); scrape "$WORK/m1.txt" >/dev/null
    e1=$(proc_ticks "$EXP_RPID") s1=$(proc_ticks "$SIM_RPID")
    dt=$(calc "$t1 - $t0")
    m0=$(counter "$WORK/m0.txt" iotpro_ws_messages_received_total)
    m1=$(counter "$WORK/m1.txt" iotpro_ws_messages_received_total)
    dm=$((m1 - m0))
    dv=$(( $(counter "$WORK/m1.txt" iotpro_telemetry_updates_total) - $(counter "$WORK/m0.txt" iotpro_telemetry_updates_total) ))
    dc=$(calc "$(grep -E '^process_cpu_seconds_total ' "$WORK/m1.txt" | awk '{print $2+0}') - $(grep -E '^process_cpu_seconds_total ' "$WORK/m0.txt" | awk '{print $2+0}')")
    LAST_MSGS=$(calc "$dm / $dt")
    record "$pfx.msgs_per_s" "$LAST_MSGS"
    if [ "$scraped" = 0 ]; then
        record "$pfx.values_per_s" "$(calc "$dv / $dt")"
        [ "$dm" -gt 0 ] && LAST_CPU=$(calc "$dc / $dm * 1000000") && record "$pfx.cpu_s_per_m_updates" "$LAST_CPU"
        record "$pfx.exporter_cpu_util" "$(calc "($e1 - $e0) / $CLK_TCK / $dt")"
        record "$pfx.sim_cpu_util" "$(calc "($s1 - $s0) / $CLK_TCK / $dt")"
        LAST_HWM=$(( $(proc_kb "$EXP_RPID" VmHWM) * 1024 ))
        record "$pfx.peak_rss_bytes" "$LAST_HWM"
    fi
    log "$pfx: $dm messages, $dv values in ${dt}s"
    count_from_above
    stop_all
}

# json_get OUT KEY...: the KEYs' values (space-separated) from the last line of a client's
# output, a JSON object; nothing when it is unparsable, reports a timeout or an error, or
# counted no update message.
json_get() {
    "$PY" - "$@" <<'EOF'
import json, sys
try:
    r = json.loads(sys.argv[1].strip().splitlines()[-1])
except Exception:
    sys.exit(0)
if r.get('timeout') or r.get('error') or not r.get('update_messages'):
    sys.exit(0)
print(' '.join(str(r[k]) for k in sys.argv[2:]))
EOF
}

# ref_once: the Node.js client on the same feed; records ref.*; sets REF_MSGS REF_HWM.
ref_once() {
    local out
    REF_MSGS="" REF_HWM=""
    sim_start "$INGEST_ASSETS" flood || return 1
    out=$(IOTPRO_PASSWORD=$BENCH_PASS pin "$EXP_CPU" timeout -k 5 "$BOUND" "$NODE" "$REF" \
          --url "https://localhost:$SIM_PORT" --username "$BENCH_USER" --ca "$CERTS/ca.pem" \
          --page-size "$PAGE" --keys "$KEYS" --warmup "$WARMUP" --duration "$WINDOW" \
          --max-seconds "$BOUND" --values "$REF_VALUES" 2>>"$WORK/ref.log")
    stop_all
    read -r REF_MSGS REF_VALS REF_CPU REF_HWM <<<"$(json_get "$out" msgs_per_s values_per_s \
                                                    cpu_s_per_million_updates peak_rss_bytes)"
    if [ -z "$REF_MSGS" ]; then
        log "reference client produced no result: ${out:-nothing} (see $WORK/ref.log)"
        tail -n 5 "$WORK/ref.log" >&2
        return 1
    fi
    record "${WL}ref.msgs_per_s" "$REF_MSGS"
    record "${WL}ref.values_per_s" "$REF_VALS"
    record "${WL}ref.cpu_s_per_m_updates" "$REF_CPU"
    record "${WL}ref.peak_rss_bytes" "$REF_HWM"
    log "${WL}ref: $REF_MSGS msg/s, peak RSS $REF_HWM"
}

# floor_once: bench_floor on the same feed (decrypt + frame boundaries only); records
# WL.floor.*; sets FLOOR_CPU (CPU s per million messages).
floor_once() {
    local out
    FLOOR_CPU="" FLOOR_MSGS=""
    sim_start "$INGEST_ASSETS" flood || return 1
    out=$(IOTPRO_PASSWORD=$BENCH_PASS pin "$EXP_CPU" timeout -k 5 "$BOUND" "$FLOOR" \
          --host localhost --port "$SIM_PORT" --username "$BENCH_USER" --ca "$CERTS/ca.pem" \
          --pages $(( (INGEST_ASSETS + PAGE - 1) / PAGE )) --page-size "$PAGE" --keys "$KEYS" \
          --warmup "$WARMUP" --duration "$WINDOW" --max-seconds "$BOUND" 2>>"$WORK/floor.log")
    stop_all
    read -r FLOOR_MSGS FLOOR_CPU <<<"$(json_get "$out" msgs_per_s cpu_s_per_million_updates)"
    if [ -z "$FLOOR_CPU" ]; then
        log "floor client produced no result: ${out:-nothing}"; tail -n 5 "$WORK/floor.log" >&2
        return 1
    fi
    record "${WL}floor.msgs_per_s" "$FLOOR_MSGS"
    record "${WL}floor.cpu_s_per_m_updates" "$FLOOR_CPU"
    log "${WL}floor: $FLOOR_MSGS msg/s, $FLOOR_CPU CPU s per million"
}

# set_workload basic|gps|mixed: the feed, the keys both clients ask for, the id prefix.
set_workload() {
    case "$1" in
    basic) WL="" KEYS=$BASIC_KEYS SIM_EXTRA=() SIM_NKEYS=$(awk -F, '{print NF}' <<<"$BASIC_KEYS")
           REF_VALUES=numbers ;;
    gps) WL=gps. KEYS=telemetry_param_latitude,telemetry_param_longitude SIM_NKEYS=3
         SIM_EXTRA=(--flood-shape all --nmea) REF_VALUES=strings ;;
    mixed) WL=mixed. SIM_NKEYS=7 SIM_EXTRA=(--flood-shape mix --nmea) REF_VALUES=strings
           KEYS=device_id,telemetry_param_latitude,telemetry_param_longitude,temperature,battery,odometer,door_open ;;
    esac
    NKEYS=$(awk -F, '{print NF}' <<<"$KEYS")
}

# workload_once: ours, the Node.js client and the floor on one feed, in one
# repetition, and the ratios between them.
workload_once() {
    local ours="" ours_hwm="" ours_cpu=""
    if ingest_once 0; then ours=$LAST_MSGS ours_hwm=$LAST_HWM ours_cpu=$LAST_CPU
    else missing "${WL}ingest.msgs_per_s" "run failed (see log)"; fi
    if [ "$have_ref" != 1 ]; then
        for f in ref.msgs_per_s ratio.throughput ratio.peak_rss; do
            missing "$WL$f" "npm ws not installed (tests/deps.sh)"
        done
    elif ref_once && [ -n "$ours" ]; then
        record "${WL}ratio.throughput" "$(calc "$ours / $REF_MSGS")"
        record "${WL}ratio.peak_rss" "$(calc "$ours_hwm / $REF_HWM")"
    fi
    if [ ! -x "$FLOOR" ]; then
        missing "${WL}floor.cpu_s_per_m_updates" "bench_floor not built"
    elif floor_once && [ -n "$ours_cpu" ]; then
        record "${WL}ratio.cpu_vs_floor" "$(calc "$ours_cpu / $FLOOR_CPU")"
    fi
}

# bench_num: the number parser alone (see the header). The static musl build links
# the release configuration's libcore.a, so it is the code the release binary runs.
bench_num() {
    local musl=$WORK/bench_num_musl r
    if [ ! -x "$NUM_BENCH" ]; then
        missing num.musl.speedup "bench_num not built"; missing num.diff_inputs "bench_num not built"
        return
    fi
    if command -v musl-gcc >/dev/null && [ -f "$BUILD/release/lib/libcore.a" ] &&
        musl-gcc -std=c11 -D_GNU_SOURCE -O2 -I"$TOP" "$HERE/bench_num.c" \
            "$BUILD/release/lib/libcore.a" -static -o "$musl" 2>>"$WORK/num.log"; then
        for ((r = 1; r <= RUNS; r++)); do
            if ! pin "$EXP_CPU" "$musl" speed 200000 5 >"$WORK/num.out" 2>&1; then
                log "bench_num (musl): $(grep '^#' "$WORK/num.out" | tr '\n' ' ')"
                missing num.musl.speedup "results differ from musl's strtod (see log)"
                break
            fi
            sed -n 's/^num\./num.musl./p' "$WORK/num.out" >>"$RAW"
        done
    else
        missing num.musl.speedup "musl-gcc or the release libcore.a unavailable"
    fi
    for ((r = 1; r <= RUNS; r++)); do
        if ! pin "$EXP_CPU" "$NUM_BENCH" speed 200000 5 >"$WORK/num.out" 2>&1; then
            missing num.glibc.speedup "results differ from glibc's strtod (see log)"
            break
        fi
        sed -n 's/^num\./num.glibc./p' "$WORK/num.out" >>"$RAW"
    done
    log "num: differential run over $NUM_INPUTS inputs"
    pin "$EXP_CPU" "$NUM_BENCH" diff "$NUM_INPUTS" "$(date +%s)" >"$WORK/num.out" 2>&1 ||
        log "num: the differential run found MISMATCHES"
    grep -E '^num\.diff_[a-z_]+	' "$WORK/num.out" >>"$RAW"
    grep '^#' "$WORK/num.out" | head -n 12 | while read -r l; do log "num: $l"; done
}

# sim_probe ASSETS: starts a quiet simulator just to ask it how many (asset, key) values
# exist for ASSETS assets; prints the count.
sim_probe() {
    local n
    sim_start "$1" idle || return 1
    n=$(sim_expected)
    stop_pid "$SIM_PID"; SIM_PID=""
    [ -n "$n" ] && [ "$n" -gt 0 ] && echo "$n"
}

# assets_for SERIES: the asset count whose exposed series come closest to SERIES, from
# the calibration (series per asset, measured).
assets_for() { awk -v s="$1" -v r="$SERIES_PER_ASSET" 'BEGIN { n = int(s / r + 0.5); print (n < 1 ? 1 : n) }'; }

calibrate() {
    local n=$1 exp_n
    sim_start "$n" idle || return 1
    exp_n=$(sim_expected)
    exp_start || { stop_all; return 1; }
    wait_complete "$exp_n" || { stop_all; return 1; }
    sleep 0.5
    scrape "$WORK/cal.txt" >/dev/null
    SERIES_PER_ASSET=$(calc "$(grep -c 'asset_id="' "$WORK/cal.txt") / $n")
    IDLE_FIXED=$(( $(all_series "$WORK/cal.txt") - $(grep -c 'asset_id="' "$WORK/cal.txt") ))
    stop_all
    log "calibration: $SERIES_PER_ASSET series per asset, $IDLE_FIXED other series"
    meta calibration "$SERIES_PER_ASSET series per asset (keys $KEYS, asset info included), $IDLE_FIXED series of the exporter's own"
}

# level_once SERIES MODE(idle|flood)
level_once() {
    local target=$1 mode=$2 L n want t sz times=() sizes=() i rss series
    L=$(label "$target")
    n=$(assets_for "$target")
    want=$(sim_probe "$n") || return 1
    sim_start "$n" "$mode" || return 1
    exp_start || { stop_all; return 1; }
    wait_complete "$want" || { stop_all; return 1; }
    sleep 1
    scrape "$WORK/lvl.txt" >/dev/null
    series=$(all_series "$WORK/lvl.txt")
    if [ "$mode" = idle ]; then
        rss=$(( $(proc_kb "$EXP_RPID" VmRSS) * 1024 ))
        record "mem.$L.rss_bytes" "$rss"
        record "mem.$L.bytes_per_series" "$(calc "$rss / $series")"
        record "scrape.idle.$L.series" "$series"
    fi
    for ((i = 0; i < SCRAPES; i++)); do
        read -r t sz < <(scrape /dev/null)
        times+=("$t"); sizes+=("$sz")
    done
    t=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    record "scrape.$mode.$L.seconds" "$t"
    record "scrape.$mode.$L.bytes" "${sizes[-1]}"
    log "level $L ($n assets, $series series, $mode): render ${t}s, ${sizes[-1]} bytes"
    stop_all
}

idle_once() {
    local want
    want=$(sim_probe 1) || return 1
    sim_start 1 idle || return 1
    exp_start || { stop_all; return 1; }
    wait_complete "$want" || { stop_all; return 1; }
    sleep 1
    record mem.idle.rss_bytes "$(( $(proc_kb "$EXP_RPID" VmRSS) * 1024 ))"
    stop_all
}

startup_once() {
    local n=$1 want
    want=$(sim_probe "$n") || return 1
    sim_start "$n" idle || return 1
    exp_start || { stop_all; return 1; }
    wait_complete "$want" || { stop_all; return 1; }
    record "startup.$(label "$n").seconds" "$COMPLETE_T"
    log "startup $n assets: ${COMPLETE_T}s"
    stop_all
}

# ---- main -------------------------------------------------------------------------------

usable() {  # why the live sections cannot run, or nothing
    [ -x "$SIM" ] || { echo "simulator not built ($SIM)"; return; }
    [ -x "$EXPORTER" ] || { echo "exporter not built ($EXPORTER)"; return; }
}

certs
meta mode "$([ "$QUICK" = 1 ] && echo quick || echo full)"
meta runs "$RUNS"
meta pinning "$PINNING"
meta cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
meta cores "$NCPU"
meta mem "$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
meta os "$(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-linux}"), kernel $(uname -r)"
LOAD=$(cut -d' ' -f1 /proc/loadavg)
meta notes "load average at start $LOAD$(awk -v l="$LOAD" 'BEGIN { if (l > 0.5) print " -- the machine was busy with other work: absolute figures are low and noisy; ratios measured in the same repetition hold up better" }')"
meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
meta commit "$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$TOP" diff --quiet HEAD 2>/dev/null || echo ' (work tree modified)')"
meta sizes "ingest $INGEST_ASSETS assets x $NKEYS keys ($KEYS), page size $PAGE; levels $LEVELS series; start-up $STARTUP_ASSETS assets; window ${WINDOW}s after ${WARMUP}s warm-up"
meta feed "gps: --flood-shape all --nmea, keys telemetry_param_latitude,telemetry_param_longitude (two 15-17 digit doubles per update); mixed: --flood-shape mix --nmea, the 7 default keys (2-7 per update); basic: one key per update, keys $KEYS; the Node.js client keeps values as strings for gps and mixed, converts numbers for basic"
meta method "num: bench_num speed = best of 5 passes over 200000 GPS values each for core/num and the C library's strtod (results compared); bench_num diff = $NUM_INPUTS generated inputs (round trips, Java forms, GPS values, exact midpoints between doubles and a last digit either side, 19-40 digits, long digit strings, integers past 2^53, subnormals, the top of the range, extreme exponents, signs and leading zeros, NaN/Infinity) against glibc strtod, bit for bit || floor: bench_floor logs in and subscribes like the Node.js client, then only decrypts (same BearSSL build and transport as the exporter) and walks frame headers; its CPU (getrusage) per message in the same window; cpu_vs_floor = the exporter's CPU per message / the floor's, same repetition || msg/s and values/s: deltas of iotpro_ws_messages_received_total and iotpro_telemetry_updates_total between two scrapes ${WINDOW}s apart, after all initial data arrived; CPU s per million: delta of process_cpu_seconds_total || Node.js client: same simulator flags, same window; it reports its own counters, CPU (process.cpuUsage) and VmHWM; ratios pair the two in the same repetition || render time: curl time_total for GET /metrics (no compression), median of $SCRAPES scrapes per run; idle = simulator sends no updates, flood = simulator floods || RSS: VmRSS after all series arrived, before timing scrapes; bytes per series = RSS / all exposed sample lines || start-up: exec of the exporter to the first scrape holding every (asset, key) value the simulator reports (its /truth)"

want size && bench_size

want num && bench_num

if want core; then bench_core; fi

why=$(usable)
if [ -n "$why" ]; then
    log "live benchmarks skipped: $why"
    for f in ingest.msgs_per_s ingest.values_per_s ingest.cpu_s_per_m_updates ref.msgs_per_s \
             ratio.throughput ratio.peak_rss ingest_scraped.msgs_per_s mem.idle.rss_bytes; do
        missing "$f" "$why"
    done
else
    # Expected telemetry series for the ingest feed, asked of the simulator once.
    INGEST_EXPECTED=$(sim_probe "$INGEST_ASSETS") || INGEST_EXPECTED=""
    BASIC_EXPECTED=$INGEST_EXPECTED
    if [ -z "$INGEST_EXPECTED" ]; then
        log "the simulator does not report its values (control /truth); cannot tell when metrics are complete"
        why="simulator ground truth unavailable"
    fi
fi

if [ -z "$why" ]; then
    have_ref=1
    if [ ! -x "$NODE" ] || ! (cd "$HERE" && "$NODE" -e 'require.resolve("ws", {paths: [".", "../node_modules"]})' 2>/dev/null); then
        have_ref=0
        missing ref.msgs_per_s "npm ws not installed (tests/deps.sh)"
    fi
    for ((r = 1; r <= RUNS; r++)); do
        log "repetition $r/$RUNS"
        for wl in gps mixed; do
            want "$wl" || continue
            set_workload "$wl"
            if ! INGEST_EXPECTED=$(sim_probe "$INGEST_ASSETS"); then
                missing "$wl.ingest.msgs_per_s" "simulator probe failed"
                continue
            fi
            log "workload $wl ($KEYS)"
            workload_once
        done
        set_workload basic
        INGEST_EXPECTED=$BASIC_EXPECTED
        ours="" ours_hwm=""
        if want ingest || want ref; then
            if want ingest; then
                if ingest_once 0; then ours=$LAST_MSGS; ours_hwm=$LAST_HWM
                else missing ingest.msgs_per_s "run failed (see log)"; missing ratio.throughput "no exporter figure"; fi
            fi
            if want ref && [ "$have_ref" = 1 ] && ref_once && [ -n "$ours" ]; then
                record ratio.throughput "$(calc "$ours / $REF_MSGS")"
                record ratio.peak_rss "$(calc "$ours_hwm / $REF_HWM")"
            fi
        fi
        if want scraped; then
            if ! ingest_once 1; then missing ingest_scraped.msgs_per_s "run failed (see log)"
            elif [ -n "$ours" ]; then record ingest_scraped.ratio "$(calc "$LAST_MSGS / $ours")"; fi
        fi
    done
    if want levels; then
        calibrate "$([ "$QUICK" = 1 ] && echo 100 || echo 1000)" || SERIES_PER_ASSET=""
        if [ -n "$SERIES_PER_ASSET" ]; then
            for ((r = 1; r <= RUNS; r++)); do
                idle_once || missing mem.idle.rss_bytes "run failed"
                for s in $LEVELS; do
                    level_once "$s" idle || missing "scrape.idle.$(label "$s").seconds" "run failed (see log)"
                    level_once "$s" flood || missing "scrape.flood.$(label "$s").seconds" "run failed (see log)"
                done
            done
        else
            missing mem.idle.rss_bytes "calibration failed"
            for s in $LEVELS; do
                missing "scrape.idle.$(label "$s").seconds" "calibration failed"
                missing "scrape.flood.$(label "$s").seconds" "calibration failed"
                missing "mem.$(label "$s").bytes_per_series" "calibration failed"
            done
        fi
    fi
    if want startup; then
        for ((r = 1; r <= RUNS; r++)); do
            for n in $STARTUP_ASSETS; do
                startup_once "$n" || missing "startup.$(label "$n").seconds" "run failed (see log)"
            done
        done
    fi
fi

"$PY" "$HERE/report.py" write "$RAW" "$META" "$OUT"
