#!/usr/bin/python3
"""compare_truth.py -- is the exporter's /metrics exactly the simulator's ground truth?

    compare_truth.py --metrics http://127.0.0.1:P/metrics --ctl http://127.0.0.1:C
                     --keys k1,k2,... [--wait SECONDS] [--expect-name ID=NAME ...]
                     [--absent ID ...] [--quiet]

Truth is the simulator's /truth ("asset_id<TAB>key<TAB>ts<TAB>value" lines, with \\t \\n
\\\\ escaped). For every (asset_id, key) whose key is in --keys:
  - numbers and booleans (true = 1, false = 0) must appear as
    iotpro_telemetry_value{asset_id, key} with exactly that value (compared as floats),
  - any other value must appear as iotpro_telemetry_info{asset_id, key, value} 1,
  - both kinds must have iotpro_telemetry_timestamp_seconds{asset_id, key} == ts / 1000
    (compared in whole milliseconds).
Nothing extra: no telemetry series for a pair the truth lacks, no second info value.
--expect-name: every series of that asset carries asset="NAME" (also iotpro_asset_info).
--absent: no series at all (telemetry or asset_info) mention that asset id.

With --wait the comparison is repeated (every 0.5 s) until it holds or the time is up;
the last difference is printed. Exit 0 when equal, 1 when not, 2 on a fetch error.
"""
import argparse
import re
import sys
import time
import urllib.request

import scrapes

NUM = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$")


def fetch(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        body = r.read().decode("utf-8", "replace")
    scrapes.record(url, body)  # for metric_coverage.sh
    return body


def unescape_truth(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            out.append({"t": "\t", "n": "\n", "\\": "\\"}.get(n, n))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_truth(text, keys):
    """{(id, key): (ts_ms, kind, value)}; kind 'num' (float) or 'str'."""
    t = {}
    for line in text.splitlines():
        if not line:
            continue
        parts = line.split("\t")
        if len(parts) != 4:
            raise ValueError(f"bad truth line: {line!r}")
        aid, key, ts, val = parts
        if key not in keys:
            continue
        val = unescape_truth(val)
        if val in ("true", "false"):
            t[(aid, key)] = (int(ts), "num", 1.0 if val == "true" else 0.0)
        elif NUM.match(val):
            t[(aid, key)] = (int(ts), "num", float(val))
        else:
            t[(aid, key)] = (int(ts), "str", val)
    return t


LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def unescape_label(s):
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "\\": "\\", '"': '"'}.get(m.group(1), "\\" + m.group(1)), s)


def parse_metrics(text):
    """List of (name, {labels}, value_str)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if "{" in line:
            name, rest = line.split("{", 1)
            close = _label_end(rest)
            lab, val = rest[:close], rest[close + 1:].strip()
            labels = {}
            pos = 0
            while pos < len(lab):
                m = LABEL.match(lab, pos)
                if not m:
                    raise ValueError(f"bad labels in {line!r}")
                labels[m.group(1)] = unescape_label(m.group(2))
                pos = m.end()
        else:
            name, val = line.split(None, 1)
            labels = {}
        out.append((name, labels, val.split()[0]))
    return out


def _label_end(rest):
    """Index of the '}' closing a label set (skipping quoted values)."""
    inq = esc = False
    for i, c in enumerate(rest):
        if esc:
            esc = False
        elif c == "\\":
            esc = True
        elif c == '"':
            inq = not inq
        elif c == "}" and not inq:
            return i
    raise ValueError("unterminated label set")


def compare(truth, samples, expect_names, absent):
    errs = []
    vals, infos, tss = {}, {}, {}
    names = {}
    for name, lb, v in samples:
        aid = lb.get("asset_id")
        if name in ("iotpro_telemetry_value", "iotpro_telemetry_timestamp_seconds", "iotpro_telemetry_info",
                    "iotpro_asset_info") and aid is not None:
            if aid in absent:
                errs.append(f"removed asset {aid} still has {name}{{key={lb.get('key')}}}")
            if "asset" in lb:
                names.setdefault(aid, set()).add(lb["asset"])
        if name == "iotpro_telemetry_value":
            k = (aid, lb.get("key"))
            if k in vals:
                errs.append(f"duplicate value series {k}")
            vals[k] = float(v)
        elif name == "iotpro_telemetry_timestamp_seconds":
            tss[(aid, lb.get("key"))] = float(v)
        elif name == "iotpro_telemetry_info":
            infos.setdefault((aid, lb.get("key")), []).append((lb.get("value"), v))
    for k, (ts, kind, val) in sorted(truth.items()):
        if kind == "num":
            if k not in vals:
                errs.append(f"missing value {k} (truth {val!r})")
            elif vals[k] != val:
                errs.append(f"wrong value {k}: exporter {vals[k]!r}, truth {val!r}")
            if k in infos:
                errs.append(f"numeric {k} also exported as info {infos[k]}")
        else:
            got = infos.get(k)
            if not got:
                errs.append(f"missing info {k} (truth {val!r})")
            elif len(got) != 1 or got[0][0] != val or float(got[0][1]) != 1.0:
                errs.append(f"wrong info {k}: exporter {got}, truth {val!r}")
            if k in vals:
                errs.append(f"string {k} also exported as value {vals[k]}")
        if k not in tss:
            errs.append(f"missing timestamp {k} (truth {ts})")
        elif round(tss[k] * 1000) != ts:
            errs.append(f"wrong timestamp {k}: exporter {tss[k]!r}, truth {ts / 1000!r}")
    for k in sorted(set(vals) | set(infos) | set(tss)):
        if k not in truth:
            errs.append(f"extra series {k} (not in truth)")
    for aid, want in expect_names.items():
        got = names.get(aid)
        if got != {want}:
            errs.append(f"asset {aid}: names {sorted(got) if got else 'none'}, want {want!r}")
    return errs


def self_test():
    """The comparison must notice each kind of difference (run by the e2e scripts)."""
    truth = ("A\tt\t1700000000123\t25\nA\tdevice_id\t1700000000000\tDEV-\\\\x\\tq\n"
             "A\tdoor\t1700000000001\ttrue\nA\tother\t5\t1\n")
    good = ('# HELP x\niotpro_telemetry_value{asset_id="A",asset="n",profile="p",key="t"} 25.0\n'
            'iotpro_telemetry_timestamp_seconds{asset_id="A",asset="n",profile="p",key="t"} 1700000000.123\n'
            'iotpro_telemetry_info{asset_id="A",key="device_id",value="DEV-\\\\x\tq"} 1\n'
            'iotpro_telemetry_timestamp_seconds{asset_id="A",asset="n",profile="p",key="device_id"} 1700000000\n'
            'iotpro_telemetry_value{asset_id="A",asset="n",profile="p",key="door"} 1\n'
            'iotpro_telemetry_timestamp_seconds{asset_id="A",asset="n",profile="p",key="door"} 1.700000000001e9\n'
            'iotpro_asset_info{asset_id="A",asset="n",profile="p"} 1\n')
    keys = {"t", "device_id", "door"}
    t = parse_truth(truth, keys)
    cases = [
        ("equal", good, {}, set(), 0),
        ("wrong value", good.replace("} 25.0", "} 25.5"), {}, set(), 1),
        ("wrong ts", good.replace("1700000000.123", "1700000000.124"), {}, set(), 1),
        ("missing", "\n".join(good.split("\n")[3:]), {}, set(), 2),
        ("extra", good + 'iotpro_telemetry_value{asset_id="B",key="t"} 1\n', {}, set(), 1),
        ("wrong info", good.replace("DEV-", "DEW-"), {}, set(), 1),
        ("bool", good.replace('key="door"} 1\n', 'key="door"} 0\n'), {}, set(), 1),
        ("name ok", good, {"A": "n"}, set(), 0),
        ("name wrong", good, {"A": "m"}, set(), 1),
        ("absent", good, {}, {"A"}, 7),
    ]
    bad = 0
    for name, text, names, absent, nerr in cases:
        errs = compare(t, parse_metrics(text), names, absent)
        if len(errs) != nerr:
            bad += 1
            print(f"not ok - compare_truth self-test {name}: {len(errs)} errors, want {nerr}: {errs}")
    if not bad:
        print("ok - compare_truth self-test (10 cases)")
    return 1 if bad else 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    ap = argparse.ArgumentParser()
    ap.add_argument("--metrics", required=True)
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--keys", required=True)
    ap.add_argument("--wait", type=float, default=0)
    ap.add_argument("--expect-name", action="append", default=[])
    ap.add_argument("--absent", action="append", default=[])
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    keys = set(a.keys.split(","))
    expect = dict(x.split("=", 1) for x in a.expect_name)
    def attempt():
        truth = parse_truth(fetch(a.ctl.rstrip("/") + "/truth"), keys)
        errs = compare(truth, parse_metrics(fetch(a.metrics)), expect, set(a.absent))
        if not truth:
            errs.append("truth is empty for these keys (nothing to compare)")
        return errs, None if a.quiet else f"{len(truth)} (asset, key) pairs match"

    return until_equal("compare_truth", a.wait, attempt)


def until_equal(name, wait, attempt):
    """Calls attempt() -> (differences, summary) every 0.5 s until it finds none or
    `wait` seconds pass. Returns 0 when equal (the summary printed unless None), 1 when
    not (the first differences on stderr), 2 when fetching or parsing kept failing."""
    end = time.monotonic() + wait
    while True:
        try:
            errs, summary = attempt()
        except Exception as e:  # noqa: BLE001 -- report any fetch/parse failure
            if time.monotonic() < end:
                time.sleep(0.5)
                continue
            print(f"{name}: fetch/parse failed: {e}", file=sys.stderr)
            return 2
        if not errs:
            if summary is not None:
                print(f"{name}: {summary}")
            return 0
        if time.monotonic() >= end:
            print(f"{name}: {len(errs)} differences; first:", file=sys.stderr)
            for e in errs[:8]:
                print("  " + e, file=sys.stderr)
            return 1
        time.sleep(0.5)

if __name__ == "__main__":
    sys.exit(main())
