"""tsan_load.py -- the load of t_tsan_ingest.sh: concurrent scrapers while the asset set
changes (rediscoveries see it) and the config file is rewritten and reloaded (SIGHUP):
key list, metric mapping and series switches.

    tsan_load.py --seconds S --scrapers N --conf FILE --keys A,B,... --alt-keys A,...

Every scraper thread loops over GET /metrics (half of them asking for OpenMetrics),
/-/ready, /-/healthy and / until the time is up; meanwhile the main thread adds,
renames and removes simulator assets and swaps the config file's key list with a
SIGHUP every few seconds. Prints what was done as `name value` lines and exits 1 if any
/metrics answer was not a whole 200 body (a 503 from --web.max-requests cannot happen:
there are fewer scrapers than its default).

Environment (tests/e2e/e2e_common.sh): EXP_URL, SIM_CTL, EXP_PID.
"""
import argparse
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import Setup, get  # noqa: E402

OPENMETRICS = "application/openmetrics-text; version=1.0.0"


def scraper(S, n, end, out, lock):
    got = {"scrapes": 0, "bad": 0, "other": 0}
    first_bad = None
    i = 0
    while time.monotonic() < end:
        i += 1
        try:
            if i % 4:
                req = urllib.request.Request(S.exp + "/metrics")
                if n % 2:
                    req.add_header("Accept", OPENMETRICS)
                with urllib.request.urlopen(req, timeout=120) as r:
                    body = r.read().decode("utf-8", "replace")
                    whole = body.rstrip().endswith("# EOF") if n % 2 else "iotpro_up " in body
                    if r.status == 200 and whole:
                        got["scrapes"] += 1
                    else:
                        got["bad"] += 1
                        first_bad = first_bad or f"status {r.status}, {len(body)} bytes"
            else:
                path = ("/-/ready", "/-/healthy", "/")[i % 3]
                try:
                    get(S.exp + path, 30)
                except urllib.error.HTTPError as e:
                    # not ready while a reload resubscribes: a true answer
                    if e.code != 503 or path != "/-/ready":
                        raise
                got["other"] += 1
        except Exception as e:  # noqa: BLE001
            got["bad"] += 1
            first_bad = first_bad or repr(e)
    with lock:
        for k, v in got.items():
            out[k] = out.get(k, 0) + v
        if first_bad and "first_bad" not in out:
            out["first_bad"] = first_bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=40)
    ap.add_argument("--scrapers", type=int, default=20)
    ap.add_argument("--conf", required=True)
    ap.add_argument("--keys", required=True)
    ap.add_argument("--alt-keys", required=True)
    a = ap.parse_args()
    S = Setup()
    end = time.monotonic() + a.seconds
    out, lock = {}, threading.Lock()
    threads = [threading.Thread(target=scraper, args=(S, n, end, out, lock)) for n in range(a.scrapers)]
    for t in threads:
        t.start()

    added, churn, reloads, step = [], 0, 0, 0
    while time.monotonic() < end:
        step += 1
        # the asset set changes between rediscoveries: new, renamed and removed assets
        ids = S.sim_ctl("/assets/add?n=3").split()
        added += ids
        if ids:
            S.sim_ctl(f"/assets/rename?id={ids[0]}&name=renamed-{step}")
        if len(added) > 6:
            S.sim_ctl(f"/assets/remove?id={added.pop(0)}")
        churn += 1
        if step % 2 == 0:
            keys = a.alt_keys if reloads % 2 == 0 else a.keys
            # the metric mapping and the series switches swap too: renders running
            # on the scraper threads keep the snapshot they started with
            mapping = ("metric.temperature.name = temperature_celsius\n"
                       "metric.temperature.scale = 0.1\nmetric.device_id.map = A:1\n"
                       "metric.device_id.name = tracker_state\nmetric.device_id.map-default = 0\n"
                       if reloads % 2 == 0 else
                       "metrics.timestamps = false\nmetrics.asset-info-fields = site\n"
                       "metric.battery.name = battery_percent\n")
            with open(a.conf + ".new", "w") as f:
                f.write(f"iotpro.keys = {keys}\niotpro.rediscover-interval = 10s\n{mapping}")
            os.replace(a.conf + ".new", a.conf)
            os.kill(S.pid, signal.SIGHUP)
            reloads += 1
        time.sleep(2.5)
    for t in threads:
        t.join()
    out.update(churn=churn, reloads_sent=reloads)
    for k, v in sorted(out.items()):
        print(k, v)
    return 1 if out.get("bad", 0) else 0


if __name__ == "__main__":
    sys.exit(main())
