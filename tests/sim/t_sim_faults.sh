#!/usr/bin/env bash
# iotpro-sim keep-alive rules and fault injection, on a 20x faster clock.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/simlib.sh"
need_sim
if start_sim --assets 20 --rate 0 --ping-interval 0.5 --pong-timeout 1.5 --auth-timeout 2 \
        --dynamic-interval 1; then ok "sim starts"; else fail "sim starts" "$(tail -3 "$TEST_TMP/sim.log")"; finish; fi
sim_py check_faults.py
finish
