#!/usr/bin/python3
"""device_truth.py -- are the exporter's device, connectivity and attribute families
exactly the simulator's ground truth?

    device_truth.py --metrics URL --ctl URL --api URL --ca FILE --user U --password P
                    --keys k1,k2 [--attr-keys a,b] [--kinds ASSET,DEVICE]
                    [--profiles P1,P2] [--wait SECONDS]

The entities come from the simulator's REST listings (/api/tenant/assets and
/api/tenant/devices, which PE and CE both serve to a tenant admin): those of --kinds
whose profile is in --profiles (all when none) are "expected". Then, against /truth:
  - device telemetry of the expected devices: compare_truth's exact comparison on
    iotpro_device_telemetry_* (device_id in place of asset_id); asset telemetry of the
    expected assets the same way on iotpro_telemetry_*; nothing for other entities;
  - iotpro_device_info: one sample per expected device, with its name, profile, label;
  - attr:active -> iotpro_device_active (true 1, false 0); attr:lastActivityTime ->
    iotpro_device_last_activity_timestamp_seconds (ms / 1000), for every expected device;
  - attr:<k> for k in --attr-keys, every expected entity: a number as
    iotpro_attribute_value{<id label>, key}, a string as iotpro_attribute_info{<id
    label>, key, value} 1; no attribute series beyond those.
Exit 0 when equal, 1 when not (the first differences on stderr), 2 on a fetch error.
"""
import argparse
import json
import ssl
import sys
import urllib.request

import compare_truth as ct


def rest_entities(api, ca, user, password):
    """{id: (kind, name, profile, label)} from the simulator's tenant listings."""
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False

    def call(path, body=None, token=None):
        req = urllib.request.Request(api + path, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json"})
        if token:
            req.add_header("X-Authorization", "Bearer " + token)
        with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
            return json.load(r)

    tok = call("/api/auth/login", {"username": user, "password": password})["token"]
    out = {}
    for kind, what in (("ASSET", "assets"), ("DEVICE", "devices")):
        page = 0
        while True:
            b = call(f"/api/tenant/{what}?pageSize=1000&page={page}", token=tok)
            for e in b["data"]:
                out[e["id"]["id"]] = (kind, e["name"], e["type"], e.get("label") or "")
            if not b["hasNext"]:
                break
            page += 1
    return out


def truth_lines(text):
    """[(id, key, ts, value)] of /truth, values unescaped."""
    out = []
    for line in text.splitlines():
        if line:
            i, k, ts, v = line.split("\t")
            out.append((i, k, int(ts), ct.unescape_truth(v)))
    return out


def as_num(v):
    if v in ("true", "false"):
        return 1.0 if v == "true" else 0.0
    return float(v) if ct.NUM.match(v) else None


RENAME = {"iotpro_device_telemetry_value": "iotpro_telemetry_value",
          "iotpro_device_telemetry_timestamp_seconds": "iotpro_telemetry_timestamp_seconds",
          "iotpro_device_telemetry_info": "iotpro_telemetry_info"}


def compare(ents, truth, samples, keys, attr_keys):
    errs = []
    devices = {i for i, e in ents.items() if e[0] == "DEVICE"}
    assets = {i for i, e in ents.items() if e[0] == "ASSET"}
    tel = {}
    for i, k, ts, v in truth:  # compare_truth's form: {(id, key): (ts, kind, value)}
        if not k.startswith("attr:") and k in keys:
            n = as_num(v)
            tel[(i, k)] = (ts, "num", n) if n is not None else (ts, "str", v)
    # devices: their families renamed to the asset ones, compared by compare_truth
    dev_t = {k: v for k, v in tel.items() if k[0] in devices}
    dev_s = [(RENAME[n], {("asset_id" if a == "device_id" else a): v for a, v in lb.items()}, val)
             for n, lb, val in samples if n in RENAME]
    errs += [f"device: {e}" for e in ct.compare(dev_t, dev_s, {}, set())]
    ast_t = {k: v for k, v in tel.items() if k[0] in assets}
    ast_s = [(n, lb, v) for n, lb, v in samples if n.startswith("iotpro_telemetry_")]
    errs += [f"asset: {e}" for e in ct.compare(ast_t, ast_s, {}, set())]
    # device_info
    info = {}
    for n, lb, v in samples:
        if n == "iotpro_device_info":
            if lb.get("device_id") in info:
                errs.append(f"duplicate iotpro_device_info {lb.get('device_id')}")
            info[lb.get("device_id")] = (lb.get("device"), lb.get("profile"), lb.get("label"), float(v))
    for d in devices:
        want = (ents[d][1], ents[d][2], ents[d][3], 1.0)
        if info.get(d) != want:
            errs.append(f"iotpro_device_info {d}: {info.get(d)}, want {want}")
    errs += [f"iotpro_device_info for an entity not expected: {d}" for d in set(info) - devices]
    if any(n == "iotpro_asset_info" and lb.get("asset_id") not in assets for n, lb, _ in samples):
        errs.append("iotpro_asset_info for an asset not expected")
    # connectivity and attributes
    want, got = {}, {}
    for i, k, ts, v in truth:
        if not k.startswith("attr:") or i not in ents:
            continue
        k = k[5:]
        idl = "device_id" if ents[i][0] == "DEVICE" else "asset_id"
        if ents[i][0] == "DEVICE" and k == "active":
            want[("iotpro_device_active", i)] = as_num(v)
        elif ents[i][0] == "DEVICE" and k == "lastActivityTime":
            want[("iotpro_device_last_activity_timestamp_seconds", i)] = int(v) / 1000.0
        elif k in attr_keys:
            n = as_num(v)
            if n is not None:
                want[("iotpro_attribute_value", idl, i, k)] = n
            else:
                want[("iotpro_attribute_info", idl, i, k, v)] = 1.0
    for n, lb, v in samples:
        if n in ("iotpro_device_active", "iotpro_device_last_activity_timestamp_seconds"):
            key = (n, lb.get("device_id"))
        elif n == "iotpro_attribute_value":
            idl = "device_id" if "device_id" in lb else "asset_id"
            key = (n, idl, lb.get(idl), lb.get("key"))
        elif n == "iotpro_attribute_info":
            idl = "device_id" if "device_id" in lb else "asset_id"
            key = (n, idl, lb.get(idl), lb.get("key"), lb.get("value"))
        else:
            continue
        if key in got:
            errs.append(f"duplicate {key}")
        got[key] = float(v)
    for k in sorted(set(want) | set(got), key=str):
        if k not in got:
            errs.append(f"missing {k} (truth {want[k]!r})")
        elif k not in want:
            errs.append(f"extra {k} = {got[k]!r}")
        elif abs(got[k] - want[k]) > 1e-9 * max(1.0, abs(want[k])):
            errs.append(f"wrong {k}: exporter {got[k]!r}, truth {want[k]!r}")
    return errs, len(dev_t) + len(ast_t) + len(want)


def main():
    ap = argparse.ArgumentParser()
    for a in ("--metrics", "--ctl", "--api", "--ca", "--user", "--password", "--keys"):
        ap.add_argument(a, required=True)
    ap.add_argument("--attr-keys", default="")
    ap.add_argument("--kinds", default="ASSET,DEVICE")
    ap.add_argument("--profiles", default="")
    ap.add_argument("--wait", type=float, default=0)
    a = ap.parse_args()
    keys = set(a.keys.split(","))
    attr_keys = set(filter(None, a.attr_keys.split(",")))
    kinds = set(a.kinds.split(","))
    profiles = set(filter(None, a.profiles.split(",")))
    def attempt():
        ents = {i: e for i, e in rest_entities(a.api, a.ca, a.user, a.password).items()
                if e[0] in kinds and (not profiles or e[2] in profiles)}
        truth = truth_lines(ct.fetch(a.ctl.rstrip("/") + "/truth"))
        errs, n = compare(ents, truth, ct.parse_metrics(ct.fetch(a.metrics)), keys, attr_keys)
        if not ents:
            errs.append("no entity expected (nothing to compare)")
        ndev = sum(e[0] == "DEVICE" for e in ents.values())
        return errs, f"{len(ents)} entities ({ndev} devices), {n} truth pairs match"

    return ct.until_equal("device_truth", a.wait, attempt)

if __name__ == "__main__":
    sys.exit(main())
