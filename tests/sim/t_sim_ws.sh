#!/usr/bin/env bash
# iotpro-sim WebSocket API checked by an independent client (python3-websockets):
# authCmd + ENTITY_DATA, data page then updates, shapes, errors, 1007/1008/1009, truth.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/simlib.sh"
need_sim
if start_sim --assets 60 --rate 0; then ok "sim starts"; else fail "sim starts" "$(tail -3 "$TEST_TMP/sim.log")"; finish; fi
sim_py check_ws.py
finish
