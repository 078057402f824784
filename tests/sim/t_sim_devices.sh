#!/usr/bin/env bash
# iotpro-sim devices: PE and CE device listings, Device JSON, device attributes, ENTITY_DATA
# for DEVICE (entityType, deviceType, singleEntity, entityList), connectivity (active flips
# after /fault/quiet and a 1.5 s inactivity timeout), /fault/set-attr, /truth, /stats.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/simlib.sh"
need_sim
if start_sim --assets 12 --devices 30 --rate 20 --inactivity-timeout 1.5; then ok "sim starts (30 devices)"; else fail "sim starts" "$(tail -3 "$TEST_TMP/sim.log")"; finish; fi
sim_py check_devices.py
finish
