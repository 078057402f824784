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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# Labels whose values are data, not a closed set: dropped from the record.
OPEN_LABELS = {"asset_id", "asset", "profile", "key", "value", "version", "revision"}
# Families whose labels are all data (asset_info also carries assetDetails fields): one
# non-zero sample says all there is, so the rest of a million-series body is skipped.
OPEN_FAMILIES = {"iotpro_telemetry_value", "iotpro_telemetry_timestamp_seconds",
                 "iotpro_telemetry_info", "iotpro_asset_info"}


def seen_keys(body):
    """{'family{label="v",...}'} for every non-zero sample of a text or OpenMetrics body.
    Lines that do not parse (a body cut short, a hostile test's garbage) are skipped."""
    from compare_truth import parse_metrics  # here: compare_truth imports this module
    out = set()
    for line in body.splitlines():
        name = line.partition("{")[0].partition(" ")[0]
        if not line or line.startswith("#") or name in out:
            continue
        try:
            samples = parse_metrics(line)
            v = float(samples[0][2])
        except (ValueError, IndexError):
            continue
        if v == 0 or math.isnan(v):
            continue
        keep = [] if name in OPEN_FAMILIES else \
            sorted(f'{k}="{x}"' for k, x in samples[0][1].items() if k not in OPEN_LABELS)
        out.add(name + ("{" + ",".join(keep) + "}" if keep else ""))
    return out


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
