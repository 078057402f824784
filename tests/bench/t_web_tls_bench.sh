#!/usr/bin/env bash
# t_web_tls_bench.sh -- smoke run of tests/bench/web_tls.sh (--quick: ~20k series): it
# must finish and print every figure as a number. The bounds (TLS <= 1.5x plain at 1M
# series, cached auth < 1 ms) are measured by the full run, not asserted here: a shared
# 2-core machine makes small-body ratios noisy.
source "$(dirname "$0")/../lib.sh"
need_built web_tls_bench "$BIN/iotpro-sim" iotpro-sim
need_built web_tls_bench "$EXPORTER" exporter
out=$(timeout 300 "$TOP/tests/bench/web_tls.sh" --quick 2>&1); rc=$?
check "web_tls.sh --quick finishes (exit $rc)" test "$rc" = 0 || echo "$out" | tail -5
for f in series scrape.plain.seconds scrape.tls_auth.seconds scrape.tls_over_plain \
         healthy.tls.ms_per_request healthy.tls_auth_cached.ms_per_request \
         auth.cached_overhead_ms auth.first_request_bcrypt_ms; do
    v=$(awk -v k="web_tls.$f" '$1 == k {print $2}' <<<"$out")
    check "figure $f is a number ($v)" "$PY" -c "import sys; float(sys.argv[1])" "${v:-x}"
done
echo "$out" | grep '^summary:'
finish
