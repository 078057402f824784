#!/usr/bin/python3
"""e2e_names.py -- do the exporter's labels carry every asset's exact name and profile?

    e2e_names.py --api https://localhost:P --ca CA.pem --metrics URL [--user U --password P]

Lists every asset through the simulator's REST API (its own view, not the exporter's),
parses /metrics with compare_truth's exposition parser (which undoes the label escaping)
and checks, for every asset: one iotpro_asset_info with asset=<name>, profile=<type>;
every telemetry_value/_timestamp series of that asset_id carries the same asset and
profile. Prints the number of hostile names (quote, backslash, newline, non-ASCII)
checked; exit 0 when all match and at least one hostile name was seen, else 1.
"""
import argparse
import json
import os
import ssl
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_truth import parse_metrics  # noqa: E402


def rest(ctx, url, body=None, token=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body else None)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        return json.loads(r.read().decode("utf-8"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--api", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--metrics", required=True)
    ap.add_argument("--user", default="tenant@thingsboard.org")
    ap.add_argument("--password", default="tenant")
    a = ap.parse_args()
    ctx = ssl.create_default_context(cafile=a.ca)
    tok = rest(ctx, a.api + "/api/auth/login", {"username": a.user, "password": a.password})["token"]
    assets, page = {}, 0
    while True:
        p = rest(ctx, f"{a.api}/api/tenant/assets?pageSize=1000&page={page}", token=tok)
        for x in p["data"]:
            assets[x["id"]["id"]] = (x["name"], x.get("type", ""))
        if not p.get("hasNext"):
            break
        page += 1
    with urllib.request.urlopen(a.metrics, timeout=10) as r:
        samples = parse_metrics(r.read().decode("utf-8"))
    info, bad = {}, []
    for name, lab, _ in samples:
        if name == "iotpro_asset_info":
            if lab["asset_id"] in info:
                bad.append(f"two asset_info for {lab['asset_id']}")
            info[lab["asset_id"]] = (lab.get("asset"), lab.get("profile"))
    for name, lab, _ in samples:
        if name in ("iotpro_telemetry_value", "iotpro_telemetry_timestamp_seconds"):
            want = assets.get(lab["asset_id"])
            if want is None:
                bad.append(f"{name} for unknown asset {lab['asset_id']}")
            elif (lab.get("asset"), lab.get("profile")) != want:
                bad.append(f"{name} {lab['asset_id']}: {lab.get('asset')!r} != {want[0]!r}")
    hostile = 0
    for aid, want in assets.items():
        if info.get(aid) != want:
            bad.append(f"asset_info {aid}: {info.get(aid)!r} != {want!r}")
        if any(c in want[0] for c in '"\\\n') or any(ord(c) > 127 for c in want[0]):
            hostile += 1
    for aid in info:
        if aid not in assets:
            bad.append(f"asset_info for unknown asset {aid}")
    print(f"assets={len(assets)} hostile_names={hostile} mismatches={len(bad)}")
    for b in bad[:10]:
        print("  " + b)
    return 0 if not bad and hostile > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
