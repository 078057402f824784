#!/usr/bin/python3
"""e2e_prom_check.py -- ask a real Prometheus (HTTP API) whether it holds exactly the
simulator's telemetry, as scraped from one exporter or from n shards.

    e2e_prom_check.py --prom http://127.0.0.1:P --ctl http://127.0.0.1:C --keys k1,k2
                      [--shards N] [--wait S]

Truth: the simulator's /truth (numbers and booleans only: iotpro_telemetry_value).
Checks, through PromQL instant queries:
  - iotpro_telemetry_value: the set of (asset_id, key) equals the truth's, each with the
    truth's value (floats compared exactly);
  - no (asset_id, key) is served twice: count by (asset_id, key) (...) > 1 is empty;
  - iotpro_up == 1 on every target; with --shards N: N targets, each serving a
    non-empty share, and iotpro_asset_info once per asset over all of them.
Repeats until it holds or --wait runs out; prints the facts. Exit 0 on success.
"""
import argparse
import json
import os
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_truth import parse_truth  # noqa: E402


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode("utf-8")


def query(prom, q):
    d = json.loads(get(prom + "/api/v1/query?" + urllib.parse.urlencode({"query": q})))
    if d.get("status") != "success":
        raise RuntimeError(f"query {q!r}: {d}")
    return d["data"]["result"]


def check(a, truth):
    facts, bad = [], []
    want = {k: v[2] for k, v in truth.items() if v[1] == "num"}
    got = {}
    for r in query(a.prom, "iotpro_telemetry_value"):
        m = r["metric"]
        got[(m["asset_id"], m["key"])] = float(r["value"][1])
    dup = query(a.prom, "count by (asset_id, key) (iotpro_telemetry_value) > 1")
    missing = set(want) - set(got)
    extra = set(got) - set(want)
    wrong = [k for k in set(want) & set(got) if got[k] != want[k]]
    facts.append(f"series={len(got)} truth={len(want)} missing={len(missing)} "
                 f"extra={len(extra)} wrong={len(wrong)} duplicated={len(dup)}")
    if missing or extra or wrong or dup or not want:
        bad.append("telemetry differs: " + ", ".join(
            [f"missing {k}" for k in list(missing)[:2]] + [f"extra {k}" for k in list(extra)[:2]] +
            [f"{k}: {got[k]} != {want[k]}" for k in wrong[:2]] + [f"dup {d['metric']}" for d in dup[:2]]))
    ups = query(a.prom, "iotpro_up")
    facts.append("up=" + ",".join(sorted(u["value"][1] for u in ups)))
    if not ups or any(u["value"][1] != "1" for u in ups):
        bad.append("iotpro_up is not 1 everywhere")
    if a.shards:
        per = query(a.prom, "count by (instance) (iotpro_telemetry_value)")
        shares = sorted(int(p["value"][1]) for p in per)
        info_dup = query(a.prom, "count by (asset_id) (iotpro_asset_info) > 1")
        info_n = query(a.prom, "count(iotpro_asset_info)")
        assets = {k[0] for k in truth}
        n_info = int(info_n[0]["value"][1]) if info_n else 0
        facts.append(f"targets={len(ups)} shares={shares} asset_info={n_info} assets={len(assets)} "
                     f"asset_info_duplicated={len(info_dup)}")
        if len(ups) != a.shards or len(shares) != a.shards or min(shares or [0]) == 0:
            bad.append("not every shard serves a share")
        if info_dup or n_info != len(assets):
            bad.append("asset_info is not once per asset")
    return facts, bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prom", required=True)
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--keys", required=True)
    ap.add_argument("--shards", type=int, default=0)
    ap.add_argument("--wait", type=float, default=30)
    a = ap.parse_args()
    keys = set(a.keys.split(","))
    end = time.time() + a.wait
    while True:
        try:
            truth = parse_truth(get(a.ctl + "/truth"), keys)
            facts, bad = check(a, truth)
        except Exception as e:  # Prometheus still starting, first scrape not in yet
            facts, bad = [], [f"error: {e}"]
        if not bad or time.time() > end:
            break
        time.sleep(1)
    print(" ".join(facts))
    for b in bad:
        print("  " + b)
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
