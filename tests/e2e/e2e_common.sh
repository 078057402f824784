# tests/e2e/e2e_common.sh -- start iotpro-sim, the fault proxy and the exporter for the
# reliability tests (source after tests/lib.sh).
#
#   e2e_need NAME [asan|host|tsan|release]  ends the script when a component is missing: a
#                                       failure under ./build.sh test, else a skip
#   e2e_start_sim [sim flags...]        SIM_PORT SIM_CTL SIM_PID SIM_LOG; TLS, test CA
#   e2e_start_proxy                     PROXY_PORT PROXY_CTL in front of the sim API
#   e2e_start_exporter [flags...]       EXP_PORT EXP_PID EXP_LOG (stderr); connects to
#                                       https://localhost:$UPSTREAM_PORT (default SIM_PORT);
#                                       --iotpro.keys=$E2E_KEYS unless E2E_KEYS is empty
#   e2e_wait_up SECONDS                 until iotpro_up is 1
#   e2e_stop_exporter [SECONDS]         SIGTERM, wait; sets EXP_RC (124 on a hang)
#   sim_ctl PATH  / proxy_ctl PATH      GET on a control endpoint (body on stdout)
#   sim_stat NAME                       one counter from the sim's /stats
#   metric 'NAME{label="v",...}'        value of one sample on /metrics (exact label match
#                                       on the given labels, others ignored); "" if absent
#   metrics_text                        the whole /metrics body
#   compare_truth [args...]             tests/e2e/compare_truth.py against this setup
#   vm_hwm_kb PID / vm_rss_kb PID / fd_count PID
#   now_ms                              monotonic-enough wall clock in ms
#
# Keys: the exporter subscribes to E2E_KEYS (every key type the sim has: string, double,
# long, bool), and compare_truth checks exactly those.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SIM=${SIM:-$BIN/iotpro-sim}
EXP_BIN=${EXP_BIN:-$EXPORTER}
E2E_KEYS=${E2E_KEYS:-device_id,telemetry_param_latitude,telemetry_param_longitude,temperature,battery,odometer,door_open}
SIM_USER=tenant@thingsboard.org
SIM_PASS=${SIM_PASS:-tenant}
UPSTREAM_PORT=

now_ms() { date +%s%3N; }

# e2e_need NAME [config]: the simulator and the exporter are built by the Makefile, so
# under ./build.sh test a missing or non-functional one fails (lib.sh unbuilt); run by
# hand without a build, it is a skip.
e2e_need() {
    local name=$1 cfg=${2:-release}
    case $cfg in
        asan) EXP_BIN=$BUILD/asan/bin/iotpro_exporter ;;
        host) EXP_BIN=$BUILD/host/bin/iotpro_exporter ;;
        tsan) EXP_BIN=$BUILD/tsan/bin/iotpro_exporter ;;
    esac
    need_built "$name" "$SIM" iotpro-sim
    need_built "$name" "$EXP_BIN" exporter
    if ! "$EXP_BIN" --help 2>&1 | grep -q 'iotpro.url'; then
        unbuilt "$name" "exporter $EXP_BIN --help shows no --iotpro.url flag"; finish
    fi
    certs || { skip "$name" "cannot make test certificates"; finish; }
}

_read_port() { # file key
    sed -n "s/^$2=//p" "$1" 2>/dev/null | head -n1
}

e2e_start_sim() {
    local pf="$TEST_TMP/sim.ports.$RANDOM" i
    SIM_LOG=$TEST_TMP/sim.log
    spawn "$SIM" --certs "$CERTS" --port 0 --control-port 0 --port-file "$pf" "$@" 2>>"$SIM_LOG"
    SIM_PID=$!
    for ((i = 0; i < 200; i++)); do
        SIM_PORT=$(_read_port "$pf" api_port)
        SIM_CTL=$(_read_port "$pf" control_port)
        [ -n "$SIM_PORT" ] && [ -n "$SIM_CTL" ] && break
        kill -0 "$SIM_PID" 2>/dev/null || return 1
        sleep 0.05
    done
    [ -n "$SIM_PORT" ] && wait_port "$SIM_PORT" 10 && wait_port "$SIM_CTL" 10 || return 1
    UPSTREAM_PORT=$SIM_PORT
}

e2e_start_proxy() {
    local pf="$TEST_TMP/proxy.ports.$RANDOM" i
    spawn "$PY" "$E2E_DIR/faultproxy.py" --target "127.0.0.1:$SIM_PORT" --port-file "$pf" \
        --max-seconds "${PROXY_MAX_SECONDS:-3600}" 2>>"$TEST_TMP/proxy.log"
    PROXY_PID=$!
    for ((i = 0; i < 200; i++)); do
        PROXY_PORT=$(_read_port "$pf" proxy_port)
        PROXY_CTL=$(_read_port "$pf" control_port)
        [ -n "$PROXY_PORT" ] && [ -n "$PROXY_CTL" ] && break
        sleep 0.05
    done
    [ -n "$PROXY_PORT" ] || return 1
    UPSTREAM_PORT=$PROXY_PORT
}

# e2e_start_exporter [extra flags...]; env EXP_WRAP (e.g. "valgrind ...") prefixes it.
e2e_start_exporter() {
    EXP_PORT=$(free_port)
    EXP_LOG=$TEST_TMP/exporter.$EXP_PORT.log
    EXP_URL=http://127.0.0.1:$EXP_PORT
    IOTPRO_PASSWORD=${EXP_PASSWORD:-$SIM_PASS} spawn ${EXP_WRAP:-} "$EXP_BIN" \
        --iotpro.url="https://localhost:$UPSTREAM_PORT" \
        --iotpro.username="${EXP_USER:-$SIM_USER}" \
        --tls.ca-file="$CERTS/ca.pem" \
        --web.listen-address="127.0.0.1:$EXP_PORT" \
        ${E2E_KEYS:+--iotpro.keys="$E2E_KEYS"} \
        --log.level="${EXP_LOG_LEVEL:-debug}" \
        "$@" 2>"$EXP_LOG" >>"$EXP_LOG.stdout"
    EXP_PID=$!
    wait_port "$EXP_PORT" "${EXP_START_WAIT:-15}"
}

e2e_stop_exporter() {
    local t=${1:-5} i
    EXP_RC=
    kill -TERM "$EXP_PID" 2>/dev/null
    for ((i = 0; i < t * 20; i++)); do
        kill -0 "$EXP_PID" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$EXP_PID" 2>/dev/null; then
        kill -KILL "$EXP_PID" 2>/dev/null
        wait "$EXP_PID" 2>/dev/null
        EXP_RC=124
    else
        wait "$EXP_PID" 2>/dev/null
        EXP_RC=$?
    fi
}

_get() { curl -s --max-time "${CURL_TIMEOUT:-10}" "$1"; }
sim_ctl() { _get "http://127.0.0.1:$SIM_CTL$1"; }
proxy_ctl() { _get "http://127.0.0.1:$PROXY_CTL$1"; }
sim_stat() { sim_ctl /stats | awk -v n="$1" '$1 == n {print $2}'; }
metrics_text() { get_metrics "$EXP_URL/metrics"; }

# metric 'name{a="x",b="y"}': first sample of that name whose labels include those given.
metric() {
    metrics_text | "$PY" -c '
import re, sys
want = sys.argv[1]
name, _, lab = want.partition("{")
need = dict(re.findall(r"([a-zA-Z_0-9]+)=\"([^\"]*)\"", lab))
for line in sys.stdin:
    if not line.startswith(name) or line.startswith("#"):
        continue
    head, _, val = line.rstrip("\n").rpartition(" ")
    n, _, l = head.partition("{")
    if n != name:
        continue
    have = dict(re.findall(r"([a-zA-Z_0-9]+)=\"((?:[^\"\\\\]|\\\\.)*)\"", l))
    if all(have.get(k) == v for k, v in need.items()):
        print(val); break
' "$1"
}

# metric_ge 'sel' N: the sample exists and is >= N
metric_ge() { local v; v=$(metric "$1"); [ -n "$v" ] && "$PY" -c "import sys; sys.exit(0 if float('$v') >= float('$2') else 1)"; }
metric_eq() { local v; v=$(metric "$1"); [ -n "$v" ] && "$PY" -c "import sys; sys.exit(0 if float('$v') == float('$2') else 1)"; }

e2e_wait_up() { wait_for "${1:-30}" metric_eq iotpro_up 1; }

compare_truth() {
    "$PY" "$E2E_DIR/compare_truth.py" --metrics "$EXP_URL/metrics" \
        --ctl "http://127.0.0.1:$SIM_CTL" --keys "$E2E_KEYS" "$@"
}

vm_hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null; }
vm_rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null; }
fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

# exp_log_tail N: last lines of the exporter's stderr, for failure messages
exp_log_tail() { tail -n "${1:-5}" "$EXP_LOG" 2>/dev/null | tr '\n' ' ' | cut -c1-600; }
