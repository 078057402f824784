#!/usr/bin/python3
"""Checks for deploy/grafana/iotpro-dashboard.json, used by t_ops_rules.sh and
t_ops_dashboard_live.sh. Prints tests/lib.sh result lines (ok / not ok / skip).

  ops_dashboard.py structure DASHBOARD          structure: variables, panels, data source
  ops_dashboard.py parse DASHBOARD TMPDIR       every PromQL expression parses (promtool)
  ops_dashboard.py live DASHBOARD PROM_URL JOB  every expression returns data from a live
                                                Prometheus; the Geomap join places assets

Template variables are substituted before PromQL sees an expression: $job by the job
name (parse: "iotpro"), $profile/$asset/$key (multi-value, "All") by ".*",
$__rate_interval and $__interval by 1m, $__range by 5m. A variable the dashboard does
not define is an error.
"""
import json
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request

failed = False


def ok(name):
    print(f"ok - {name}", flush=True)


def fail(name, why=""):
    global failed
    failed = True
    why = why.replace("\n", " ")[:400]
    print(f"not ok - {name}{': ' + why if why else ''}", flush=True)


def check(name, cond, why=""):
    if cond:
        ok(name)
    else:
        fail(name, why)
    return cond


BUILTIN = {"__rate_interval": "1m", "__interval": "1m", "__range": "5m",
           "__range_s": "300", "__interval_ms": "60000"}
VAR_RE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")


def substitute(expr, defined, job):
    """Replaces Grafana variables; returns (expr, unknown variable names)."""
    unknown = []

    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in BUILTIN:
            return BUILTIN[name]
        if name == "job":
            return job
        if name in defined:
            return ".*"
        unknown.append(name)
        return m.group(0)

    return VAR_RE.sub(repl, expr), unknown


def all_panels(dash):
    for p in dash.get("panels", []):
        yield p
        for q in p.get("panels", []) or []:  # collapsed rows keep their panels inside
            yield q


def variables(dash):
    return {v["name"]: v for v in dash.get("templating", {}).get("list", [])}


def var_query(v):
    q = v.get("query")
    if isinstance(q, dict):
        q = q.get("query", "")
    return q or ""


def expressions(dash, job):
    """Yields (name, substituted expr, unknown vars, target, panel) for every target."""
    defined = set(variables(dash))
    for p in all_panels(dash):
        for t in p.get("targets", []) or []:
            if "expr" not in t:
                continue
            e, unknown = substitute(t["expr"], defined, job)
            yield f"{p.get('title', '?')} [{t.get('refId', '?')}]", e, unknown, t, p


LABEL_VALUES = re.compile(r"^\s*label_values\((.*),\s*(\w+)\s*\)\s*$", re.S)


def variable_selectors(dash, job):
    """Yields (variable name, substituted selector, label) for label_values() variables."""
    defined = set(variables(dash))
    for name, v in variables(dash).items():
        if v.get("type") != "query":
            continue
        m = LABEL_VALUES.match(var_query(v))
        if not m:
            yield name, None, None
            continue
        sel, _ = substitute(m.group(1), defined, job)
        yield name, sel, m.group(2)


# ------------------------------------------------------------------ structure
def structure(path):
    try:
        dash = json.load(open(path, encoding="utf-8"))
    except (OSError, ValueError) as e:
        fail("dashboard is valid JSON", str(e))
        return
    ok("dashboard is valid JSON")
    check("dashboard schemaVersion >= 38", dash.get("schemaVersion", 0) >= 38,
          f"schemaVersion {dash.get('schemaVersion')}")
    check("dashboard has a fixed uid and a title", bool(dash.get("uid")) and bool(dash.get("title")))

    vs = variables(dash)
    ds_var = vs.get("datasource", {})
    inputs = [i for i in dash.get("__inputs", []) if i.get("pluginId") == "prometheus"]
    has_ds_var = ds_var.get("type") == "datasource" and ds_var.get("query") == "prometheus"
    check("data source is a variable (datasource variable or __inputs)", has_ds_var or inputs)
    ds_ref = "${datasource}" if has_ds_var else "${%s}" % (inputs[0]["name"] if inputs else "DS_PROMETHEUS")

    bad = []
    for p in all_panels(dash):
        if p.get("type") == "row":
            continue
        for obj in [p] + list(p.get("targets", []) or []):
            d = obj.get("datasource")
            uid = d.get("uid") if isinstance(d, dict) else d
            if uid != ds_ref:
                bad.append(f"{p.get('title')}: {d}")
    check("every panel and query uses the data source variable", not bad, "; ".join(bad[:5]))

    want = {
        "profile": r"label_values\(iotpro_asset_info(\{[^}]*\})?,\s*profile\)",
        "asset": r"label_values\(iotpro_asset_info\{[^}]*profile=~\"\$profile\"[^}]*\},\s*asset\)",
        "key": r"label_values\(iotpro_\w+(\{[^}]*\})?,\s*key\)",
    }
    for name, rx in want.items():
        v = vs.get(name)
        check(f"template variable ${name}", v is not None and re.search(rx, var_query(v)),
              f"query {var_query(v) if v else 'missing'!r}")
        if v is not None:
            check(f"template variable ${name} is multi-value with All = .*",
                  v.get("multi") and v.get("includeAll") and v.get("allValue") == ".*")

    ids = [p.get("id") for p in all_panels(dash)]
    check("panel ids are unique", len(ids) == len(set(ids)), str(ids))
    overlaps = []
    boxes = [(p.get("title"), p["gridPos"]) for p in all_panels(dash) if "gridPos" in p]
    for i, (ta, a) in enumerate(boxes):
        for tb, b in boxes[i + 1:]:
            if (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
                    and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]):
                overlaps.append(f"{ta} / {tb}")
    check("panels do not overlap", not overlaps, "; ".join(overlaps[:5]))
    check("panels fit the 24-column grid", all(g["x"] + g["w"] <= 24 for _, g in boxes))

    exprs = [e for _, e, _, _, _ in expressions(dash, "iotpro")]
    joined = "\n".join(exprs)
    health = {
        "iotpro_up": r"\biotpro_up\{",
        "connects rate": r"rate\(iotpro_ws_connects_total\{",
        "disconnects by reason": r"by \(reason\) \(rate\(iotpro_ws_disconnects_total\{",
        "message rate 5m": r"rate\(iotpro_ws_messages_received_total\{[^}]*\}\[5m\]\)",
        "token expiry countdown": r"iotpro_token_expiry_timestamp_seconds\{[^}]*\} - time\(\)",
        "series dropped": r"iotpro_series_dropped_total\{",
    }
    for name, rx in health.items():
        check(f"health panel: {name}", re.search(rx, joined), rx)
    check("telemetry per profile (by profile)", re.search(r"by \([^)]*profile[^)]*\) \(iotpro_telemetry_value", joined))
    check("telemetry per asset uses $asset", any("iotpro_telemetry_value" in t["expr"] and "$asset" in t["expr"]
                                                 for _, _, _, t, _ in expressions(dash, "iotpro")))
    check("a join with iotpro_asset_info on asset_id (group_left)",
          re.search(r"\* on\(asset_id\) group_left\([^)]*\)[^\n]*iotpro_asset_info", joined))

    geos = [p for p in all_panels(dash) if p.get("type") == "geomap"]
    if not check("a Geomap panel", geos):
        return
    g = geos[0]
    ts = g.get("targets", [])
    lat = [t for t in ts if 'key="telemetry_param_latitude"' in t.get("expr", "")]
    lon = [t for t in ts if 'key="telemetry_param_longitude"' in t.get("expr", "")]
    check("geomap queries latitude and longitude", lat and lon)
    check("geomap queries are instant, table format",
          all(t.get("instant") and t.get("format") == "table" for t in lat + lon))
    check("geomap queries keep asset_id", all(re.search(r"by \([^)]*asset_id", t["expr"]) for t in lat + lon))
    tr = g.get("transformations", [])
    join = [x for x in tr if x.get("id") == "joinByField" and x.get("options", {}).get("byField") == "asset_id"]
    check("geomap joins by field asset_id", join)
    renames = {}
    for x in tr:
        renames.update(x.get("options", {}).get("renameByName", {}) or {})
    layers = g.get("options", {}).get("layers", [])
    loc = layers[0].get("location", {}) if layers else {}
    lat_field = renames.get(f"Value #{lat[0]['refId']}") if lat else None
    lon_field = renames.get(f"Value #{lon[0]['refId']}") if lon else None
    check("geomap layer uses the joined latitude/longitude fields",
          loc.get("mode") == "coords" and loc.get("latitude") == lat_field and loc.get("longitude") == lon_field
          and lat_field and lon_field, f"location {loc}, renames {renames}")


# ------------------------------------------------------------------ parse
def parse(path, tmpdir):
    dash = json.load(open(path, encoding="utf-8"))
    n = 0
    items = [(n_, e, u) for n_, e, u, _, _ in expressions(dash, "iotpro")]
    for vname, sel, _ in variable_selectors(dash, "iotpro"):
        if sel is None:
            fail(f"variable ${vname} is label_values(selector, label)")
        else:
            items.append((f"variable ${vname}", sel, []))
    for name, expr, unknown in items:
        n += 1
        if unknown:
            fail(f"promql parses: {name}", f"undefined variable(s) {unknown}")
            continue
        rules = os.path.join(tmpdir, f"expr{n}.yml")
        with open(rules, "w") as f:
            json.dump({"groups": [{"name": "dashboard", "rules": [{"record": "dashboard:expr:check", "expr": expr}]}]}, f)
        r = subprocess.run(["promtool", "check", "rules", rules], capture_output=True, text=True)
        check(f"promql parses: {name}", r.returncode == 0, (r.stdout + r.stderr).strip() + f" | {expr}")
    check("dashboard has PromQL expressions", n >= 10, f"only {n}")


# ------------------------------------------------------------------ live
def query(url, expr):
    q = urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(f"{url}/api/v1/query?{q}", timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:  # 400 carries the parse error as JSON
        try:
            return json.load(e)
        except ValueError:
            return {"status": "error", "error": str(e)}
    except (OSError, ValueError) as e:
        return {"status": "error", "error": str(e)}


def live(path, url, job):
    dash = json.load(open(path, encoding="utf-8"))
    for name, expr, unknown, _, _ in expressions(dash, job):
        r = query(url, expr)
        if r.get("status") != "success":
            fail(f"dashboard_live: {name}", f"{r.get('errorType', '')} {r.get('error', '')} | {expr}")
            continue
        res = r["data"]["result"]
        check(f"dashboard_live: {name}", res and (r["data"]["resultType"] != "scalar"),
              f"no data | {expr}")
    for vname, sel, label in variable_selectors(dash, job):
        if sel is None:
            continue
        r = query(url, sel)
        vals = sorted({s["metric"].get(label) for s in r.get("data", {}).get("result", []) if label in s["metric"]})
        check(f"dashboard_live: variable ${vname} has values", r.get("status") == "success" and vals,
              f"{r.get('error', '')} no {label} values from {sel}")

    # The Geomap join, done here the way Grafana does it: rows keyed by asset_id.
    g = next(p for p in all_panels(dash) if p.get("type") == "geomap")
    cols = {}
    for t in g["targets"]:
        e, _ = substitute(t["expr"], set(variables(dash)), job)
        for s in query(url, e).get("data", {}).get("result", []):
            cols.setdefault(s["metric"].get("asset_id"), {})[t["refId"]] = float(s["value"][1])
    lat_ref = next(t["refId"] for t in g["targets"] if "telemetry_param_latitude" in t["expr"])
    lon_ref = next(t["refId"] for t in g["targets"] if "telemetry_param_longitude" in t["expr"])
    placed = [a for a, v in cols.items() if a and lat_ref in v and lon_ref in v]
    check("dashboard_live: geomap join places assets on asset_id", placed, f"rows {len(cols)}")
    bad = [a for a in placed if not (-90 <= cols[a][lat_ref] <= 90 and -180 <= cols[a][lon_ref] <= 180)]
    check("dashboard_live: geomap coordinates are in range", placed and not bad, f"{len(bad)} out of range")


def main(argv):
    if len(argv) >= 3 and argv[1] == "structure":
        structure(argv[2])
    elif len(argv) >= 4 and argv[1] == "parse":
        parse(argv[2], argv[3])
    elif len(argv) >= 5 and argv[1] == "live":
        live(argv[2], argv[3], argv[4])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
