"""metric_coverage.py -- every documented metric was driven by some test.

    metric_coverage.py README.md SCRAPE_DIR FULL_SCRAPE

README.md's metric tables (section "Metrics") name each family and, for a labelled
family, its closed set of label values ("`reason` = close_1000, close_1001, ...").
SCRAPE_DIR holds what the e2e tests saw on /metrics (tests/e2e/scrapes.py: one
`family{label="value"}` line per non-zero sample, one file per test). FULL_SCRAPE is
one /metrics body of an idle exporter, where every health family is pre-initialised.

Checks, one result line each:
  - the documented families and label values are exactly those the exporter exposes
    (FULL_SCRAPE; the telemetry families need data, so only their documentation counts);
  - every (family, label value) was non-zero in at least one scrape of some test, or is
    listed, with its reason, under README.md's "Metrics no test drives" -- and a listed
    one must not have been driven (then the list is wrong).
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_truth import parse_metrics  # noqa: E402

FAILED = False


def result(good, name, why=""):
    global FAILED
    print(("ok - " if good else "not ok - ") + name + ("" if good or not why else ": " + why))
    FAILED |= not good


def section(text, title):
    m = re.search(r"^(#+) " + re.escape(title) + r"\s*$", text, re.M)
    if not m:
        raise SystemExit(f"README.md has no section {title!r}")
    end = re.search(r"^#{1,%d} " % len(m.group(1)), text[m.end():], re.M)
    return text[m.end():m.end() + end.start() if end else len(text)]


def documented(readme):
    """{family: (label, [values]) or None}, from the tables of the Metrics section."""
    fams = {}
    for table in re.split(r"\n\s*\n", section(readme, "Metrics")):
        rows = [r for r in table.splitlines() if r.startswith("|")]
        if len(rows) < 3:
            continue
        head = [c.strip() for c in rows[0].strip("|").split("|")]
        if "family" not in head or "labels" not in head:
            continue
        fi, li = head.index("family"), head.index("labels")
        for row in rows[2:]:
            cells = [c.strip() for c in row.strip("|").split("|")]
            closed = None
            m = re.match(r"`(\w+)` = (.*)", cells[li])
            if m:
                values = re.sub(r"\([^()]*\)", "", m.group(2))
                closed = (m.group(1), [v.strip().split()[0] for v in values.split(",") if v.strip()])
            for name in re.findall(r"`((?:iotpro|process)_\w+)`", cells[fi]):
                fams[name] = closed
    return fams


def exceptions(readme):
    """{'family' or 'family{label="v"}': reason} from "Metrics no test drives"."""
    out = {}
    for m in re.finditer(r"^- `(\w+(?:\{\w+=\"[^\"]*\"\})?)`[:,]? (.+)$",
                         section(readme, "Metrics no test drives"), re.M):
        out[m.group(1)] = m.group(2)
    return out


def exposed(body):
    """{family: {label: {values}}} of a /metrics body (open labels included)."""
    out = {}
    for name, labels, _ in parse_metrics(body):
        fam = out.setdefault(name, {})
        for k, v in labels.items():
            fam.setdefault(k, set()).add(v)
    return out


def seen(scrape_dir):
    """{key: first test that saw it} from the recorded scrapes."""
    out = {}
    for f in sorted(os.listdir(scrape_dir)):
        if f.endswith(".seen"):
            with open(os.path.join(scrape_dir, f)) as fh:
                for k in fh.read().split():
                    out.setdefault(k, f[:-5])
    return out


def main(readme_path, scrape_dir, full_path):
    readme = open(readme_path).read()
    docs, exc = documented(readme), exceptions(readme)
    full = exposed(open(full_path).read())
    telemetry = {"iotpro_telemetry_value", "iotpro_telemetry_timestamp_seconds",
                 "iotpro_telemetry_info", "iotpro_asset_info", "iotpro_device_telemetry_value",
                 "iotpro_device_telemetry_timestamp_seconds", "iotpro_device_telemetry_info",
                 "iotpro_device_info", "iotpro_device_active",
                 "iotpro_device_last_activity_timestamp_seconds", "iotpro_attribute_value",
                 "iotpro_attribute_info"}

    # 1. documented == exposed
    undocumented = sorted(set(full) - set(docs))
    result(not undocumented, "every exposed family is documented in README.md", str(undocumented))
    for fam, closed in sorted(docs.items()):
        if fam in telemetry:
            continue
        if fam not in full:
            result(False, f"{fam} is exposed by an idle exporter", "documented but absent")
            continue
        if closed:
            label, values = closed
            have = full[fam].get(label, set())
            result(have == set(values), f"{fam}{{{label}}}: documented values are the exposed ones",
                   f"README {sorted(values)}, exporter {sorted(have)}")

    # 2. every (family, value) driven, or listed with its reason
    got = seen(scrape_dir)
    for key in sorted(exc):
        fam = key.partition("{")[0]
        result(fam in docs, f"README's not-driven entry {key} names a documented family")
    for fam, closed in sorted(docs.items()):
        keys = [f'{fam}{{{closed[0]}="{v}"}}' for v in closed[1]] if closed else [fam]
        for key in keys:
            label_pat = key[len(fam):]
            # recorded keys keep closed-set labels only: no commas inside their values
            by = next((t for k, t in got.items()
                       if k.partition("{")[0] == fam and
                       (not label_pat or label_pat.strip("{}") in k.partition("{")[2].rstrip("}").split(","))),
                      None)
            if key in exc:
                result(by is None, f"{key}: not driven, as README says ({exc[key]})",
                       f"but {by} drove it: drop it from README's list")
            else:
                result(by is not None, f"{key} driven to non-zero" + (f" (by {by})" if by else ""),
                       "no e2e test drove it: add a scenario, or list it under README's "
                       "\"Metrics no test drives\" with the reason")
    return 1 if FAILED else 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    sys.exit(main(*sys.argv[1:]))
