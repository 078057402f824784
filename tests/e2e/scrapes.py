"""scrapes.py -- what the end-to-end tests saw on /metrics, for metric_coverage.sh.

Every e2e scrape helper (e2e_common.sh metrics_text, e2elib.get, compare_truth.fetch)
hands the body of each /metrics it fetched to record(). When tests/run.sh set
IOTPRO_SCRAPE_DIR, the non-zero samples are reduced to their family and closed-set
labels (the per-asset labels and the build labels are dropped, so a body of a million
series is a few dozen lines) and appended, once each, to IOTPRO_SCRAPE_DIR/<test>.seen,
where <test> is IOTPRO_TEST_NAME (set by run.sh) or "manual".

    ... | scrapes.py record      the same from a shell helper (body on stdin)
"""
import math
import os
import sys

# Labels whose values are data, not a closed set: dropped from the record.
OPEN_LABELS = {"asset_id", "asset", "profile", "key", "value", "version", "revision"}
# Families whose every label is data (asset_info also carries assetDetails fields).
OPEN_FAMILIES = {"iotpro_asset_info"}


def seen_keys(body):
    """{'family{label="v",...}'} for every non-zero sample of a text or OpenMetrics body."""
    out = set()
    for line in body.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, val = line.rpartition(" ")
        try:
            v = float(val)
        except ValueError:
            continue
        if v == 0 or math.isnan(v):
            continue
        name, _, labels = head.partition("{")
        keep = []
        if labels and name not in OPEN_FAMILIES:
            for part in split_labels(labels.rstrip("}")):
                k, _, lv = part.partition("=")
                if k not in OPEN_LABELS:
                    keep.append(f"{k}={lv}")
        out.add(name + ("{" + ",".join(sorted(keep)) + "}" if keep else ""))
    return out


def split_labels(s):
    """a="x",b="y,z" -> ['a="x"', 'b="y,z"'] (commas and escapes inside quotes kept)."""
    parts, cur, quoted, esc = [], [], False, False
    for ch in s:
        if esc:
            esc = False
        elif ch == "\\":
            esc = True
        elif ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    if cur:
        parts.append("".join(cur))
    return parts


_written = set()


def record(url, body):
    d = os.environ.get("IOTPRO_SCRAPE_DIR")
    if not d or not url.split("?")[0].endswith("/metrics"):
        return
    path = os.path.join(d, os.environ.get("IOTPRO_TEST_NAME", "manual") + ".seen")
    try:
        if not _written:
            with open(path) as f:
                _written.update(f.read().split("\n"))
    except OSError:
        pass
    new = seen_keys(body) - _written
    if not new:
        return
    _written.update(new)
    try:
        os.makedirs(d, exist_ok=True)
        with open(path, "a") as f:  # O_APPEND: whole lines from concurrent writers
            f.write("".join(k + "\n" for k in sorted(new)))
    except OSError:
        pass


if __name__ == "__main__":
    if sys.argv[1:] != ["record"]:
        raise SystemExit(__doc__)
    record("/metrics", sys.stdin.read())
