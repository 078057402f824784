#!/usr/bin/env bash
# Offline checks of deploy/: alert rules and their unit tests (promtool), the example
# Prometheus configuration, and the Grafana dashboard (structure, and every PromQL
# expression in it parses once its template variables are substituted).
source "$(dirname "$0")/../lib.sh"
D=$TOP/deploy
DASH=$D/grafana/iotpro-dashboard.json

if ! command -v promtool >/dev/null; then
    skip ops_rules "promtool not installed (Debian package prometheus)"
    exit 0
fi

out=$(promtool check rules "$D/prometheus/alerts.yml" 2>&1)
check "promtool check rules alerts.yml" test $? -eq 0 || echo "$out"
n=$(grep -c '^ *- alert: ' "$D/prometheus/alerts.yml")
for a in IotproExporterDown IotproUpstreamNotConnected IotproNoMessages \
         IotproTokenRefreshFailing IotproLoginRejected IotproSeriesDropped \
         IotproSubscriptionsPending IotproDeviceInactive; do
    check "alert $a defined" grep -q "^ *- alert: $a\$" "$D/prometheus/alerts.yml"
    # each alert needs a firing case and a quiet case in the unit tests
    check "alert $a tested firing and not firing" "$PY" - "$D/prometheus/alerts_test.yml" "$a" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
cases = [c for t in doc["tests"] for c in t.get("alert_rule_test", []) if c["alertname"] == sys.argv[2]]
sys.exit(0 if any(c.get("exp_alerts") for c in cases) and any(not c.get("exp_alerts") for c in cases) else 1)
PY
done
check "every alert has severity, summary, description and runbook" "$PY" - "$D/prometheus/alerts.yml" "$n" <<'PY'
import sys, yaml
rules = [r for g in yaml.safe_load(open(sys.argv[1]))["groups"] for r in g["rules"] if "alert" in r]
bad = [r["alert"] for r in rules
       if r.get("labels", {}).get("severity") not in ("critical", "warning", "info")
       or not all(r.get("annotations", {}).get(k) for k in ("summary", "description", "runbook"))]
print(bad) if bad else None
sys.exit(1 if bad or len(rules) != int(sys.argv[2]) else 0)
PY
# runbook anchors must exist as headings in deploy/README.md (GitHub-style anchors)
check "runbook anchors exist in deploy/README.md" "$PY" - "$D/prometheus/alerts.yml" "$D/README.md" <<'PY'
import re, sys, yaml
rules = [r for g in yaml.safe_load(open(sys.argv[1]))["groups"] for r in g["rules"] if "alert" in r]
heads = {re.sub(r"[^a-z0-9 _-]", "", h.strip().lower()).replace(" ", "-")
         for h in re.findall(r"^#+ (.*)$", open(sys.argv[2]).read(), re.M)}
missing = [r["annotations"]["runbook"] for r in rules if r["annotations"]["runbook"].split("#")[1] not in heads]
print(missing) if missing else None
sys.exit(1 if missing else 0)
PY

out=$(cd "$D/prometheus" && promtool test rules alerts_test.yml 2>&1)
check "promtool test rules alerts_test.yml" test $? -eq 0 || echo "$out"

# The unit tests must be able to fail: break one threshold in a copy and expect failure.
cp "$D/prometheus/alerts_test.yml" "$TEST_TMP/"
sed 's/up{job="iotpro"} == 0/up{job="iotpro"} == 2/' "$D/prometheus/alerts.yml" >"$TEST_TMP/alerts.yml"
(cd "$TEST_TMP" && ! promtool test rules alerts_test.yml >/dev/null 2>&1)
check "alert unit tests catch a broken rule" test $? -eq 0

out=$(promtool check config "$D/prometheus/prometheus.yml" 2>&1)
check "promtool check config prometheus.yml (with its rule file)" test $? -eq 0 || echo "$out"
check "prometheus.yml scrape_interval within 15-30s" "$PY" - "$D/prometheus/prometheus.yml" <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
jobs = [j for j in c["scrape_configs"] if j["job_name"] == "iotpro"]
iv = jobs[0].get("scrape_interval", c["global"]["scrape_interval"]) if jobs else "0s"
sys.exit(0 if len(jobs) == 1 and iv.endswith("s") and 15 <= int(iv[:-1]) <= 30 else 1)
PY

"$PY" "$TOP/tests/e2e/ops_dashboard.py" structure "$DASH" || _failed=1
mkdir -p "$TEST_TMP/exprs"
"$PY" "$TOP/tests/e2e/ops_dashboard.py" parse "$DASH" "$TEST_TMP/exprs" || _failed=1
finish
