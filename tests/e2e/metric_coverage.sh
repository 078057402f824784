#!/usr/bin/env bash
# metric_coverage.sh SCRAPE_DIR -- run by tests/run.sh after every other e2e test (it is
# not a t_*.sh so the e2e loop does not pick it up): every family and label value
# README.md documents was non-zero in some test's scrape, or README.md says why no test
# can make it so (tests/e2e/metric_coverage.py). A counter nothing increments fails here.
#   tests/run.sh e2e && tests/run.sh metric_coverage     (by hand, in two steps)
source "$(dirname "$0")/../lib.sh"
DIR=${1:-$BUILD/test-logs/scrapes}
need_built metric_coverage "$EXPORTER" exporter
if ! ls "$DIR"/*.seen >/dev/null 2>&1; then
    unbuilt metric_coverage "no recorded scrapes in $DIR: the e2e tests must run first (tests/run.sh)"
    finish
fi

# An idle exporter (no backend) exposes every health family, pre-initialised.
port=$(free_port)
IOTPRO_PASSWORD=x spawn "$EXPORTER" --iotpro.url="https://127.0.0.1:$(free_port)" \
    --iotpro.username=coverage@example.com --web.listen-address="127.0.0.1:$port" \
    2>"$TEST_TMP/exporter.log"
wait_port "$port" 15 || { fail "idle exporter listens" "$(tail -n 3 "$TEST_TMP/exporter.log")"; finish; }
IOTPRO_SCRAPE_DIR= get_metrics "http://127.0.0.1:$port/metrics" >"$TEST_TMP/full.txt"
"$PY" "$TOP/tests/e2e/metric_coverage.py" "$TOP/README.md" "$DIR" "$TEST_TMP/full.txt" || _failed=1
finish
