#!/usr/bin/python3
"""soak_driver.py MINUTES -- the loop of tests/e2e/soak.sh (environment as for e2elib).

Every SOAK_SAMPLE s: RSS (VmRSS), open fds and threads of the exporter, and its
iotpro_up. Every SOAK_FAULT_EVERY s: a fault drawn at random (seed SOAK_SEED, printed)
from close codes, TCP RST and FIN at the proxy, truncation mid TLS record and mid frame,
half-open stall, errorCode 34, token expiry at reconnect, REST failures, an asset added
and one removed, and ThingsBoard's flow control: the per-session update limit, the
subscription rate limit with a resubscription, a server that stops reading during one,
a send-queue overflow (1008) of a frozen consumer, and reordered updates. Flow-control
conditions are lifted after SOAK_HOLD s (default 8); recovery is counted from then.
Scrapes /metrics once a second throughout. At the end: the sample table (one row per
sample, or per minute when longer than 60 rows), a flatness verdict (mean RSS of the
last third within SOAK_RSS_TOLERANCE % of the first third, after a warm-up of one
sixth; fds and threads of the last third no higher than the first third's max + 2),
every fault followed by recovery, and /metrics == truth.
"""
import os
import random
import signal
import sys
import threading
import time

from e2elib import Setup, fd_count, proc_status, thread_count, total, val, wait_until

S = Setup()
MIN = float(sys.argv[1]) if len(sys.argv) > 1 else 10
SAMPLE = float(os.environ.get("SOAK_SAMPLE", "5"))
EVERY = float(os.environ.get("SOAK_FAULT_EVERY", "20"))
TOL = float(os.environ.get("SOAK_RSS_TOLERANCE", "5"))
RATE = 500
HOLD = float(os.environ.get("SOAK_HOLD", "8"))
SEED = int(os.environ.get("SOAK_SEED", str(int(time.time()))))
FAILED = []


def ok(name, cond, why=""):
    print(("ok - " if cond else "not ok - ") + name + ("" if cond else ": " + why), flush=True)
    if not cond:
        FAILED.append(name)


def faults():
    removed = []

    def assets():
        S.sim_ctl("/assets/add?n=1")
        ids = sorted({l.split("\t")[0] for l in S.sim_ctl("/truth").splitlines() if l})
        if len(ids) > 10:
            S.sim_ctl(f"/assets/remove?id={ids[len(removed) % len(ids)]}")
            removed.append(1)
    return [
        ("close 1001", lambda: S.sim_ctl("/fault/close?code=1001")),
        ("proxy RST", lambda: S.proxy_ctl("/rst")),
        ("close 1011", lambda: S.sim_ctl("/fault/close?code=1011")),
        ("cut mid TLS record", lambda: S.proxy_ctl("/cut-record")),
        ("errorCode 34", lambda: S.sim_ctl("/fault/send?what=error34")),
        ("close 4500", lambda: S.sim_ctl("/fault/close?code=4500")),
        ("drop mid frame", lambda: S.sim_ctl("/fault/drop-mid-frame")),
        ("token expired + 1007", lambda: (S.sim_ctl("/fault/expire-tokens"),
                                          S.sim_ctl("/fault/close?code=1007&reason=JWT%20Token%20expired"))),
        ("half-open stall", lambda: S.sim_ctl("/fault/stall")),
        ("REST 503 x2", lambda: S.sim_ctl("/fault/fail-rest?n=2&status=503")),
        ("proxy FIN", lambda: S.proxy_ctl("/close")),
        ("assets +1 -1", assets),
        ("close 1012", lambda: S.sim_ctl("/fault/close?code=1012")),
        # ThingsBoard's flow control (held for HOLD s, then lifted by /reset)
        ("update limit 300:10", lambda: S.sim_ctl("/fault/update-limit?spec=300:10")),
        ("sub limit + resubscribe", lambda: (S.sim_ctl("/fault/sub-limit?spec=500:60"),
                                             S.sim_ctl("/fault/send?what=error34"))),
        ("no-read 6 s + resubscribe", lambda: (S.sim_ctl("/fault/no-read?seconds=6"),
                                               S.sim_ctl("/fault/send?what=error34"))),
        ("queue overflow 1008", queue_overflow),
        ("reorder", lambda: S.sim_ctl("/fault/reorder?on=1")),
    ]


def queue_overflow():
    # a consumer frozen while the server's (shortened) queue fills
    S.sim_ctl("/fault/queue-limit?n=5")
    os.kill(S.pid, signal.SIGSTOP)
    try:
        S.sim_ctl("/rate?n=20000")
        wait_until(lambda: S.sim_stats().get("queue_closes", 0) > queue_overflow.seen, 10, 0.1)
    finally:
        os.kill(S.pid, signal.SIGCONT)
        S.sim_ctl(f"/rate?n={RATE}")
        S.sim_ctl("/fault/queue-limit?n=1000")
    queue_overflow.seen = S.sim_stats().get("queue_closes", 0)


queue_overflow.seen = 0
HELD = {"update limit 300:10", "sub limit + resubscribe", "no-read 6 s + resubscribe", "reorder"}


def main():
    end = time.monotonic() + MIN * 60
    samples = []   # (t, rss_kb, fds, threads, up)
    fault_log = []  # (t, name, recovered_after or None)
    stop = threading.Event()
    scrape_errs = [0, 0]

    def scraper():
        while not stop.is_set():
            try:
                S.metrics(timeout=5)
                scrape_errs[0] += 1
            except Exception:  # noqa: BLE001
                scrape_errs[1] += 1
            time.sleep(1)
    th = threading.Thread(target=scraper, daemon=True)
    th.start()
    rot = faults()
    rng = random.Random(SEED)
    print(f"# soak seed {SEED} (SOAK_SEED)", flush=True)
    t0 = time.monotonic()
    next_sample, next_fault, k = t0, t0 + EVERY, 0
    pending = None   # (name, t_injected, connects before)
    while time.monotonic() < end:
        now = time.monotonic()
        if not S.alive():
            ok("soak: exporter alive", False, f"died after {now - t0:.0f}s")
            break
        if now >= next_sample:
            try:
                up = val(S.metrics(), "iotpro_up")
            except Exception:  # noqa: BLE001
                up = None
            samples.append((now - t0, proc_status(S.pid, "VmRSS"), fd_count(S.pid), thread_count(S.pid), up))
            next_sample += SAMPLE
        if pending and pending[0] in HELD and now - pending[1] >= HOLD:
            S.sim_ctl("/reset")  # lifted: recovery counts from here
            pending = (pending[0] + " (lifted)", now, pending[2])
        if pending and pending[0] not in HELD:
            name, ti, c0 = pending
            try:
                m = S.metrics()
                if val(m, "iotpro_up") == 1 and (c0 is None or total(m, "iotpro_ws_connects_total") > c0):
                    fault_log.append((ti - t0, name, now - ti))
                    pending = None
            except Exception:  # noqa: BLE001
                pass
            if pending and now - ti > EVERY * 3 + 60:
                fault_log.append((ti - t0, name, None))
                pending = None
        if now >= next_fault and pending is None and end - now > EVERY:
            S.sim_ctl("/reset")
            S.proxy_ctl("/reset")
            S.sim_ctl("/fault/expire-tokens?clear=1")
            name, fn = rot[rng.randrange(len(rot))]
            k += 1
            try:
                c0 = total(S.metrics(), "iotpro_ws_connects_total")
            except Exception:  # noqa: BLE001
                c0 = None
            no_reconnect = name in ("errorCode 34", "REST 503 x2", "assets +1 -1") or name in HELD
            fn()
            pending = (name, time.monotonic(), None if no_reconnect else c0)
            next_fault = time.monotonic() + EVERY
        time.sleep(0.2)
    stop.set()
    S.sim_ctl("/reset")
    S.proxy_ctl("/reset")
    S.sim_ctl("/fault/expire-tokens?clear=1")

    # table
    rows = samples
    if len(rows) > 60:
        step = max(1, int(60 / SAMPLE))
        rows = samples[::step]
    print(f"# soak {MIN:g} min: {len(samples)} samples every {SAMPLE:g}s, {len(fault_log)} faults, "
          f"{scrape_errs[0]} scrapes ({scrape_errs[1]} failed)")
    print("#   t(s)   RSS(KiB)  fds  threads  up")
    for t, rss, fds, thr, up in rows:
        print(f"# {t:6.0f} {rss or 0:10d} {fds or 0:4d} {thr or 0:8d}  {up}")
    print("# faults: t(s)  fault  recovered after")
    for t, name, rec in fault_log:
        print(f"#   {t:6.0f}  {name:<22} {'%.1fs' % rec if rec is not None else 'NOT RECOVERED'}")
    # verdicts
    ok("soak: every fault followed by recovery", all(r is not None for _, _, r in fault_log) and fault_log,
       f"{[n for _, n, r in fault_log if r is None]}")
    usable = [s for s in samples if s[1]]
    warm = len(usable) // 6
    body = usable[warm:]
    if len(body) >= 6:
        third = len(body) // 3
        first, last = body[:third], body[-third:]
        mean = lambda xs: sum(xs) / len(xs)
        r1, r3 = mean([s[1] for s in first]), mean([s[1] for s in last])
        drift = (r3 - r1) / r1 * 100
        print(f"# RSS first third {r1:.0f} KiB, last third {r3:.0f} KiB: {drift:+.2f}% (tolerance {TOL:g}%)")
        ok(f"soak: RSS flat (last third {drift:+.2f}% vs first third)", abs(drift) <= TOL or r3 <= r1,
           f"{r1:.0f} -> {r3:.0f} KiB")
        f1, f3 = max(s[2] for s in first), max(s[2] for s in last)
        ok(f"soak: open fds flat (max {f1} -> {f3})", f3 <= f1 + 2, f"{f1} -> {f3}")
        h1, h3 = max(s[3] for s in first), max(s[3] for s in last)
        ok(f"soak: threads flat (max {h1} -> {h3})", h3 <= h1 + 2, f"{h1} -> {h3}")
    else:
        ok("soak: enough samples for a flatness verdict", False, f"{len(body)} samples; run longer")
    ok("soak: scrapes answered", scrape_errs[1] <= max(2, scrape_errs[0] // 100), f"{scrape_errs}")
    wait_until(lambda: val(S.metrics(), "iotpro_up") == 1, 60)
    S.sim_ctl("/rate?n=0")
    diff = S.compare(wait=30)
    S.sim_ctl(f"/rate?n={RATE}")
    ok("soak: /metrics == truth at the end", not diff, f"{len(diff)} diffs, e.g. {diff[:2]}")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
