"""alert_exprs.py -- each alert rule's expression evaluates true in a real Prometheus
scraping real exporters (t_ops_dashboard_live.sh sets up the conditions).

    alert_exprs.py alerts.yml PROMETHEUS_URL SECONDS [NAME...]

Polls /api/v1/query with every rule's `expr` (an instant query: the rule's `for:` is
not waited out) until each has returned a sample at least once, or SECONDS pass.
Prints `name true` per rule (or `name never true`); exit 1 unless all were true. With
NAMEs, only those rules are checked. The
rules below cannot be made true by a test of reasonable length, for the reason given;
the promtool unit tests (deploy/prometheus/alerts_test.yml) fire them on synthetic
series instead.
"""
import json
import sys
import time
import urllib.parse
import urllib.request

import yaml

UNPRODUCIBLE = {
    "IotproNoMessages": "needs 15 minutes without a message after 15 minutes of uptime",
    "IotproLoginRejected": "a rejected login ends the exporter (exit status 3) before a "
                           "scrape can see the count; IotproExporterDown fires instead",
}


def query(prom, expr):
    q = urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(f"{prom}/api/v1/query?{q}", timeout=10) as r:
        return json.load(r)["data"]["result"]


def main(rules_path, prom, seconds, *only):
    rules = {r["alert"]: r["expr"] for g in yaml.safe_load(open(rules_path))["groups"]
             for r in g["rules"] if "alert" in r and (not only or r["alert"] in only)}
    if set(only) - set(rules):
        print(f"no such rules: {sorted(set(only) - set(rules))}")
        return 1
    unknown = set(UNPRODUCIBLE) - set(rules)
    if unknown and not only:
        print(f"UNPRODUCIBLE names rules that do not exist: {sorted(unknown)}")
        return 1
    todo = {n: e for n, e in rules.items() if n not in UNPRODUCIBLE}
    done = set()
    end = time.monotonic() + float(seconds)
    while todo.keys() - done and time.monotonic() < end:
        for name in sorted(todo.keys() - done):
            try:
                if query(prom, todo[name]):
                    done.add(name)
            except OSError:
                pass
        time.sleep(1)
    for name in sorted(todo):
        print(name, "true" if name in done else "never true")
    for name, why in sorted(UNPRODUCIBLE.items()):
        if name in rules:
            print(f"{name} not produced: {why}")
    return 0 if done == set(todo) else 1


if __name__ == "__main__":
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    sys.exit(main(*sys.argv[1:]))
