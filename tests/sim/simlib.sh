# tests/sim/simlib.sh -- start iotpro-sim for a test (source after tests/lib.sh).
#
#   start_sim [iotpro-sim flags...]   sets SIM_PORT, SIM_CTL, SIM_PID; TLS with the test CA
#   sim_py SCRIPT [args...]           runs a Python checker with the sim's coordinates;
#                                     its ok/not ok lines count, a crash is a failure
SIM=${SIM:-$BIN/iotpro-sim}

start_sim() {
    local pf="$TEST_TMP/ports.$RANDOM"
    certs
    SIM_PORT=$(free_port)
    SIM_CTL=$(free_port)
    spawn "$SIM" --certs "$CERTS" --port "$SIM_PORT" --control-port "$SIM_CTL" --port-file "$pf" "$@" \
        2>>"$TEST_TMP/sim.log"
    SIM_PID=$!
    wait_port "$SIM_PORT" 10 && wait_port "$SIM_CTL" 10
}

sim_py() {
    local script=$1; shift
    local out="$TEST_TMP/py.$RANDOM"
    PYTHONDONTWRITEBYTECODE=1 SIM_PORT=$SIM_PORT SIM_CTL=$SIM_CTL SIM_CA=$CERTS/ca.pem \
        "$PY" "$TOP/tests/sim/$script" "$@" 2>"$out.err" | tee "$out"
    local rc=${PIPESTATUS[0]}
    if [ "$rc" -ne 0 ] && ! grep -q '^not ok - ' "$out"; then
        fail "$script exited with $rc" "$(tail -n 5 "$out.err" | tr '\n' ' ')"
    elif grep -q '^not ok - ' "$out"; then
        _failed=1
        sed 's/^/#   /' "$out.err" | tail -n 20
    fi
}

# need_sim: the simulator is built by the Makefile (a failure under ./build.sh test when
# missing, see lib.sh need_built); python3-websockets comes from tests/deps.sh.
need_sim() {
    need_built "iotpro-sim" "$SIM"
    if ! "$PY" -c 'import websockets' 2>/dev/null; then
        skip "python3-websockets" "not installed for $PY"
        finish
    fi
}
