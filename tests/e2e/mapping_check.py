#!/usr/bin/python3
"""mapping_check.py -- do the mapped families hold exactly the simulator's truth?

    mapping_check.py --conf FILE --ctl http://127.0.0.1:C --keys k1,k2,...
                     (--metrics http://127.0.0.1:P/metrics | --prom http://127.0.0.1:Q)
                     [--wait SECONDS] [--no-timestamps]

Reads the metric.<key>.<attr> lines of the exporter's config file and applies the
documented rules to the simulator's /truth, independently of the exporter's code:
  - a mapped key's numbers and booleans (1/0) appear as iotpro_<name>{asset_id, asset,
    profile} = value x scale (value / d when scale is exactly 1/d); a string in its map, or any string when it has a
    map-default, as that number; any other string stays in iotpro_telemetry_info;
  - a mapped key has no iotpro_telemetry_value or _timestamp_seconds series, and no
    info series unless its string is unmapped;
  - a mapped family has no other samples (no extra asset, no duplicate, no key label);
  - unmapped keys: compare_truth's rules (value, info, timestamp unless --no-timestamps).
--prom reads the same series from a Prometheus server (instant query) instead.
Exit 0 when equal, 1 when not, 2 on a fetch error; prints a summary or the differences.
"""
import argparse
import json
import re
import sys
import time
import urllib.parse
import urllib.request

import compare_truth as ct


def read_conf(path):
    """{key: {attr: value}} from metric.<key>.<attr> = value lines."""
    m = {}
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line.startswith("metric.") or "=" not in line:
            continue
        k, v = line.split("=", 1)
        v = re.sub(r"\s#.*$", "", v.strip()).strip()
        if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
            v = v[1:-1]
        spec = k.strip()[len("metric."):]
        key, attr = spec.rsplit(".", 1)
        m.setdefault(key, {})[attr] = v
    out = {}
    for key, a in m.items():
        table = {}
        for ent in a.get("map", "").split(",") if "map" in a else []:
            s, n = ent.rsplit(":", 1)
            table[s.strip()] = float(n)
        out[key] = {
            "family": "iotpro_" + a.get("name", key),
            "scale": float(a.get("scale", "1")),
            "map": table,
            "default": float(a["map-default"]) if "map-default" in a else None,
        }
    return out


def scaled(v, scale):
    """value x scale; a scale of exactly 1/d (d whole) divides by d (README.md)."""
    d = round(1 / scale) if scale else 0
    if 2 <= d <= 1e15 and 1.0 / d == scale:
        return v / d
    return v * scale


def prom_samples(prom, names):
    q = '{__name__=~"' + "|".join(re.escape(n) for n in names) + '"}'
    url = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
    with urllib.request.urlopen(url, timeout=10) as r:
        d = json.load(r)
    out = []
    for s in d["data"]["result"]:
        lb = dict(s["metric"])
        name = lb.pop("__name__")
        lb.pop("job", None)
        lb.pop("instance", None)
        out.append((name, lb, s["value"][1]))
    return out


def check(conf, truth, samples, timestamps):
    errs = []
    fams = {c["family"]: k for k, c in conf.items()}
    got = {}  # (family, asset_id) -> value
    generic = []
    for name, lb, v in samples:
        if name in fams:
            aid = lb.get("asset_id")
            if set(lb) != {"asset_id", "asset", "profile"}:
                errs.append(f"{name}: labels {sorted(lb)}, want asset_id, asset, profile")
            if (name, aid) in got:
                errs.append(f"{name}: duplicate series for {aid}")
            got[(name, aid)] = float(v)
        elif name.startswith("iotpro_telemetry_"):
            generic.append((name, lb, v))
    want_info = set()
    rest = {}
    for (aid, key), (ts, kind, val) in truth.items():
        c = conf.get(key)
        if c is None:
            rest[(aid, key)] = (ts, kind, val)
            continue
        if kind == "num":
            want = scaled(val, c["scale"])
        elif val in c["map"]:
            want = c["map"][val]
        elif c["default"] is not None:
            want = c["default"]
        else:
            want = None
            want_info.add((aid, key, val))
        have = got.pop((c["family"], aid), None)
        if want is None and have is not None:
            errs.append(f"{c['family']}{{{aid}}} = {have}: the string {val!r} is not mapped")
        elif want is not None and have != want:
            errs.append(f"{c['family']}{{{aid}}}: exporter {have}, truth {val!r} -> {want!r}")
    for (fam, aid), v in sorted(got.items()):
        errs.append(f"extra sample {fam}{{{aid}}} = {v}")
    unmapped = []
    for name, lb, v in generic:
        key = lb.get("key")
        if key in conf:
            if name == "iotpro_telemetry_info" and (lb.get("asset_id"), key, lb.get("value")) in want_info:
                want_info.discard((lb.get("asset_id"), key, lb.get("value")))
            else:
                errs.append(f"mapped key {key} still in {name}{{{lb.get('asset_id')}}}")
        else:
            unmapped.append((name, lb, v))
    for w in sorted(want_info):
        errs.append(f"unmapped string {w} missing from iotpro_telemetry_info")
    if not timestamps:
        for name, lb, v in unmapped:
            if name == "iotpro_telemetry_timestamp_seconds":
                errs.append("a timestamp series with --metrics.timestamps=false")
                break
        # compare_truth wants timestamps: give it the truth's own
        unmapped += [("iotpro_telemetry_timestamp_seconds", {"asset_id": a, "key": k}, str(ts / 1000))
                     for (a, k), (ts, _, _) in rest.items()]
    errs += ct.compare(rest, unmapped, {}, set())
    return errs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--conf", required=True)
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--keys", required=True)
    ap.add_argument("--metrics")
    ap.add_argument("--prom")
    ap.add_argument("--wait", type=float, default=0)
    ap.add_argument("--no-timestamps", action="store_true")
    a = ap.parse_args()
    conf = read_conf(a.conf)
    keys = set(a.keys.split(","))
    deadline = time.time() + a.wait
    while True:
        try:
            truth = ct.parse_truth(ct.fetch(a.ctl + "/truth"), keys)
            if a.prom:
                names = ["iotpro_telemetry_value", "iotpro_telemetry_timestamp_seconds",
                         "iotpro_telemetry_info"] + [c["family"] for c in conf.values()]
                samples = prom_samples(a.prom, names)
            else:
                samples = ct.parse_metrics(ct.fetch(a.metrics))
        except Exception as e:  # noqa: BLE001 -- any fetch problem is exit 2
            print(f"fetch failed: {e}")
            return 2
        errs = check(conf, truth, samples, not a.no_timestamps)
        if not errs:
            n = sum(1 for name, _, _ in samples if name in {c["family"] for c in conf.values()})
            print(f"{len(truth)} truth pairs, {n} mapped samples, {len(conf)} mapped keys")
            return 0
        if time.time() >= deadline:
            print(f"{len(errs)} differences; first: " + "; ".join(errs[:6]))
            return 1
        time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
