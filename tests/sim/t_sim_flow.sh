#!/usr/bin/env bash
# iotpro-sim flow control as ThingsBoard does it: update limiter (errorCode 34), session
# queue (1008), subscription rate limit, no-read, reordering, exact /stats counts; then
# the Community Edition asset (and device) endpoints, as a tenant admin and as a customer user.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/simlib.sh"
need_sim
if start_sim --assets 40 --rate 0 --send-timeout 20; then ok "sim starts"; else fail "sim starts" "$(tail -3 "$TEST_TMP/sim.log")"; finish; fi
sim_py check_flow.py
kill "$SIM_PID" 2>/dev/null
if start_sim --assets 30 --devices 4 --rate 0 --edition ce --customer; then ok "sim starts (CE, customer user)"; else fail "sim starts (CE)" "$(tail -3 "$TEST_TMP/sim.log")"; finish; fi
sim_py check_edition.py customer
kill "$SIM_PID" 2>/dev/null
if start_sim --assets 30 --rate 0; then ok "sim starts (PE, tenant admin)"; else fail "sim starts (PE)" "$(tail -3 "$TEST_TMP/sim.log")"; finish; fi
sim_py check_edition.py tenant
finish
