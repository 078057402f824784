# tests/e2e/e2e_prom.sh -- start a real Prometheus for the e2e tests (source after
# e2e_common.sh).   prom_start TARGET...   sets PROM_URL; scrape_interval 1s, one job.
prom_start() {
    local t targets="" port
    for t in "$@"; do targets="$targets'$t',"; done
    port=$(free_port)
    mkdir -p "$TEST_TMP/prom"
    cat >"$TEST_TMP/prom/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: iotpro
    static_configs:
      - targets: [${targets%,}]
YML
    spawn prometheus --config.file="$TEST_TMP/prom/prometheus.yml" \
        --storage.tsdb.path="$TEST_TMP/prom/data" \
        --web.listen-address="127.0.0.1:$port" >"$TEST_TMP/prom/log" 2>&1
    PROM_URL=http://127.0.0.1:$port
    wait_port "$port" 20 && wait_for 20 curl -sf "$PROM_URL/-/ready" -o /dev/null
}
