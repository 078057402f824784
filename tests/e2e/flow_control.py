#!/usr/bin/python3
"""flow_control.py -- the exporter against ThingsBoard's flow control, one scenario a run.

    flow_control.py SCENARIO        (environment from tests/e2e/e2e_common.sh)

Each scenario switches a condition on in the simulator, lifts it, and then requires
/metrics to equal the simulator's *current* truth within a stated bound. All the while
a watcher scrapes /metrics (and then the simulator's /sessions) every 0.5 s and checks
that health never lies: whenever the simulator shows a subscription of the session
whose data page it has not sent, iotpro_up must be 0 and iotpro_subscriptions_pending
must not be 0 (the metrics are read first, so a page sent in between cannot make a
false alarm). Prints ok / not ok lines.

Scenarios:
  resub      a resubscription (errorCode 34) while the server reads nothing for 15 s,
             at fleet size (FLOW_ASSETS, default 50 000 assets x 4 keys): every command
             must still go out exactly once, in order
  updates    the per-session update limit with a window longer than the burst
             (3000 messages per 30 s, a 6 s burst of 1000 updates/s)
  sublimit   the subscription rate limit refuses 2 of 3 commands; the deadline resends
             them once the limit is lifted
  queue      the server's send queue overflows: close 1008 "Max pending updates limit
             reached!", reconnect at the normal backoff (not the cap)
  reorder    premature and swapped updates, missed-update replays
  ce         ThingsBoard CE: /api/user/assets answers 400, the tenant listing is used
  ce_customer  the same for a customer user: /api/customer/{customerId}/assets
"""
import os
import re
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import Setup, get, total, val, wait_until  # noqa: E402

S = Setup()
FAILED = 0
DEADLINE = float(os.environ.get("FLOW_SUB_TIMEOUT_S", "5"))
QUIET_RESTORE = 50  # the update rate t_flow_control.sh starts the large fleet with


def ok(name):
    print(f"ok - {name}", flush=True)


def fail(name, why=""):
    global FAILED
    FAILED += 1
    print(f"not ok - {name}" + (f": {why}"[:900] if why else ""), flush=True)


def check(name, cond, why=""):
    (ok if cond else lambda n: fail(n, why))(name)
    return cond


def health(timeout=10):
    """{name: value} of the unlabelled iotpro_* samples, found in the text without parsing
    the telemetry (a 200k-series body takes seconds to parse in Python)."""
    text = get(S.exp + "/metrics", timeout)[1]
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r"^(iotpro_[a-z_]+) (\S+)$", text, re.M)}


def sim_sessions():
    """[(session_id, [(cmd_id, entities, has_data)])] of the authenticated sessions."""
    out = []
    for line in S.sim_ctl("/sessions").splitlines():
        parts = line.split()
        if len(parts) < 3 or parts[0] != "session":
            continue
        cmds = []
        for p in parts[3:]:
            if not p.startswith("cmd="):
                continue
            f = p[4:].split(":")
            cmds.append((int(f[0]), int(f[1]) if len(f) > 1 else 0, len(f) < 3 or f[2] == "data"))
        out.append((parts[1], cmds))
    return out


class Watcher(threading.Thread):
    """Scrapes every 0.5 s; records scrapes where health said more than the truth."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.lies, self.scrapes, self.down_scrapes, self.errors = [], 0, 0, 0

    def run(self):
        while not self.stop.is_set():
            try:
                m = health(timeout=5)
                sess = sim_sessions()
            except Exception:  # noqa: BLE001 -- a scrape during a restart
                self.errors += 1
                time.sleep(0.5)
                continue
            self.scrapes += 1
            up = m.get("iotpro_up")
            pend = m.get("iotpro_subscriptions_pending")
            if up == 0:
                self.down_scrapes += 1
            missing = sum(1 for _, cmds in sess for c in cmds if not c[2])
            if up == 1 and (missing or pend):
                self.lies.append(f"t={time.strftime('%X')} up=1 pending={pend} sim_without_data={missing}")
            time.sleep(0.5)

    def done(self, name):
        # a quick recovery may leave few scrapes in the window: watch a little longer
        wait_until(lambda: self.scrapes > 3, 15, 0.25)
        self.stop.set()
        self.join(5)
        check(f"{name}: health never said up while a subscription lacked its data "
              f"({self.scrapes} scrapes, {self.down_scrapes} with iotpro_up 0)",
              not self.lies and self.scrapes > 3, "; ".join(self.lies[:5]) or "too few scrapes")


def wait_truth(name, bound, quiet=False, restore=QUIET_RESTORE):
    """With quiet, the simulator stops saving values first: one comparison takes a
    while (seconds on a large fleet or a loaded machine), and a value saved between
    reading /truth and /metrics shows the exporter "ahead" of the truth, so it could
    differ for ever; the rate (restore) is set again afterwards."""
    if quiet:
        S.sim_ctl("/rate?n=0")
    t0 = time.monotonic()
    errs = S.compare(wait=bound)
    took = time.monotonic() - t0
    check(f"{name}: /metrics equals the simulator's current truth within {bound:.0f} s "
          f"(took {took:.1f} s)", not errs, "; ".join(errs[:5]))
    if quiet:
        S.sim_ctl(f"/rate?n={restore}")
    return not errs


def wait_up(name, bound):
    t = wait_until(lambda: health().get("iotpro_up") == 1, bound, 0.25)
    check(f"{name}: iotpro_up 1 within {bound:.0f} s" + (f" ({t:.1f} s)" if t is not None else ""),
          t is not None)
    return t


def ready_code():
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(S.exp + "/-/ready", timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def stat(name):
    return S.sim_stats().get(name, 0)


def counter(m, name, **labels):
    v = val(m, name, **labels)
    return 0 if v is None else v


# ---------------------------------------------------------------------------- scenarios

def scen_resub():
    name = "resub"
    if not wait_up(name, 240):
        return
    wait_truth(f"{name} baseline", 60, quiet=True)
    w = Watcher()
    w.start()
    # The notice makes the exporter resubscribe everything once the episode is over
    # (a message arrives) and its delay has passed; the server stops reading first, so
    # the unsubscribes and subscribes (several MB) cannot be written in one go.
    before = health()
    lifted = time.monotonic() + 15
    S.sim_ctl("/fault/no-read?seconds=15")
    S.sim_ctl("/fault/send?what=error34")
    t = wait_until(lambda: re.search(r'^iotpro_subscription_resends_total\{reason="too_many_updates"\} [1-9]',
                                     get(S.exp + "/metrics")[1], re.M), 40, 0.5)
    check(f"{name}: the exporter resubscribed while the server was not reading", t is not None)
    n_cmds = sum(len(c) for _, c in sim_sessions())
    t = wait_until(lambda: health().get("iotpro_up") == 1, 120, 0.5)
    since = time.monotonic() - lifted
    check(f"{name}: iotpro_up 1 again {since:.0f} s after the server reads again (bound 120 s)",
          t is not None and since <= 120)
    wait_truth(name, max(10, 120 - since), quiet=True)
    w.done(name)
    m = health()
    check(f"{name}: ready and up at the end", m.get("iotpro_up") == 1 and ready_code() == 200)
    check(f"{name}: no reconnect was needed",
          m.get("iotpro_ws_connects_total") == before.get("iotpro_ws_connects_total"))
    sess = sim_sessions()
    cmds = [c for _, cc in sess for c in cc]
    assets = int(os.environ.get("FLOW_ASSETS", "50000"))
    check(f"{name}: the server holds every asset once ({sum(c[1] for c in cmds)} of {assets} "
          f"in {len(cmds)} commands, {n_cmds} mid-way)",
          sum(c[1] for c in cmds) == assets and all(c[2] for c in cmds))


def scen_updates():
    name = "updates"
    if not wait_up(name, 60):
        return
    wait_truth(f"{name} baseline", 30, quiet=True, restore=20)
    w = Watcher()
    w.start()
    S.sim_ctl("/fault/update-limit?spec=3000:30")
    S.sim_ctl("/rate?n=1000")
    time.sleep(6)
    S.sim_ctl("/rate?n=20")  # lifted: the burst is over (the window still runs)
    dropped = stat("updates_dropped")
    check(f"{name}: the server dropped messages ({dropped})", dropped > 0)
    # not quiet: the errorCode-34 episode ends only when some other message arrives,
    # and the resubscription that brings the truth back waits for that
    wait_truth(name, 120)
    w.done(name)
    m = S.metrics()
    notices = stat("notices_34")
    check(f"{name}: errorCode 34 replies counted as the server sent them ({notices})",
          notices > 0 and counter(m, "iotpro_ws_error_replies_total", kind="too_many_updates") == notices)
    check(f"{name}: resubscribed after the episode",
          counter(m, "iotpro_subscription_resends_total", reason="too_many_updates") > 0)
    check(f"{name}: no reconnect", total(m, "iotpro_ws_connects_total") == 1)
    check(f"{name}: up and ready at the end", val(m, "iotpro_up") == 1 and ready_code() == 200)


def scen_sublimit():
    name = "sublimit"
    # started with the limit on (t_flow_sublimit.sh): 2 of 3 commands are refused
    t = wait_until(lambda: stat("subs_refused") >= 1, 30, 0.25)
    check(f"{name}: the server refused subscriptions", t is not None)
    w = Watcher()
    w.start()
    time.sleep(DEADLINE * 2 + 2)
    m = S.metrics()
    check(f"{name}: while refused, iotpro_up is 0, /-/ready is 503 and pending > 0",
          val(m, "iotpro_up") == 0 and ready_code() == 503 and
          counter(m, "iotpro_subscriptions_pending") > 0)
    replies = stat("sub_limit_replies")
    check(f"{name}: the rate-limit replies are counted as sent ({replies})",
          replies > 0 and counter(m, "iotpro_ws_error_replies_total", kind="subscription_rate_limit") == replies)
    check(f"{name}: refused commands are resent after the deadline",
          counter(m, "iotpro_subscription_resends_total", reason="data_timeout") > 0)
    S.sim_ctl("/fault/sub-limit?off=1")
    wait_truth(name, DEADLINE * 2 + 60, quiet=True, restore=20)
    w.done(name)
    m = S.metrics()
    check(f"{name}: up and ready after the limit is lifted",
          val(m, "iotpro_up") == 1 and ready_code() == 200 and counter(m, "iotpro_subscriptions_pending") == 0)


def scen_queue():
    name = "queue"
    if not wait_up(name, 60):
        return
    w = Watcher()
    w.start()
    # A slow consumer: the exporter is frozen (SIGSTOP) while a burst comes, so the
    # socket buffers fill and the server's queue overflows.
    S.sim_ctl("/fault/queue-limit?n=5")
    os.kill(S.pid, signal.SIGSTOP)
    try:
        S.sim_ctl("/rate?n=5000")
        t = wait_until(lambda: stat("queue_closes") > 0, 30, 0.1)
    finally:
        os.kill(S.pid, signal.SIGCONT)
    check(f"{name}: the server closed with 1008 on queue overflow", t is not None)
    S.sim_ctl("/fault/queue-limit?n=1000")  # lifted (ThingsBoard's default)
    S.sim_ctl("/rate?n=20")
    t0 = time.monotonic()
    t = wait_until(lambda: counter(S.metrics(), "iotpro_ws_connects_total") >= 2, 30, 0.25)
    check(f"{name}: reconnected at the normal backoff (within 15 s, not the 60 s cap)"
          + (f" ({time.monotonic() - t0:.1f} s)" if t is not None else ""), t is not None and t <= 15)
    m = S.metrics()
    check(f"{name}: the close is counted as queue_1008, not limit_1008",
          counter(m, "iotpro_ws_disconnects_total", reason="queue_1008") >= 1 and
          counter(m, "iotpro_ws_disconnects_total", reason="limit_1008") == 0)
    wait_truth(name, 60, quiet=True, restore=20)
    w.done(name)


def counts_match(name):
    """After the traffic stops: what the exporter says it received is exactly what the
    simulator says it sent (one session, no reconnect)."""
    S.sim_ctl("/rate?n=0")
    want = {}

    def same():
        st, m = S.sim_stats(), S.metrics()
        want.update(sent=st.get("msgs_sent"), bytes=st.get("bytes_sent"),
                    got=total(m, "iotpro_ws_messages_received_total"),
                    got_bytes=total(m, "iotpro_ws_bytes_received_total"))
        return want["sent"] == want["got"] and want["bytes"] == want["got_bytes"]
    t = wait_until(same, 10, 0.5)
    check(f"{name}: messages and bytes received equal the simulator's sent counts "
          f"({want.get('got')}/{want.get('sent')} messages, {want.get('got_bytes')}/{want.get('bytes')} bytes)",
          t is not None)


def scen_reorder():
    name = "reorder"
    S.sim_ctl("/fault/reorder?on=1")
    if not wait_up(name, 60):
        return
    w = Watcher()
    w.start()
    time.sleep(8)  # premature, swapped and replayed updates flow
    S.sim_ctl("/rate?n=0")
    wait_truth(name, 30)
    w.done(name)
    counts_match(name)


def scen_ce():
    name = sys.argv[1]  # ce, or ce_customer
    if not wait_up(name, 60):
        return
    wait_truth(name, 30, quiet=True, restore=20)
    m = S.metrics()
    check(f"{name}: the CE listing found every asset",
          val(m, "iotpro_assets") == stat("assets"))
    counts_match(name)
    # any other error reply is logged and counted, and changes nothing else
    S.sim_ctl("/fault/send?what=error")
    t = wait_until(lambda: counter(S.metrics(), "iotpro_ws_error_replies_total", kind="other") == 1, 10, 0.2)
    m = S.metrics()
    check(f"{name}: an errorCode-1 reply is counted as kind=other, and the exporter stays up",
          t is not None and val(m, "iotpro_up") == 1 and total(m, "iotpro_ws_connects_total") == 1)
    # values no one can use (an escape without UTF-8, an empty key): counted, nothing else
    S.sim_ctl("/fault/send?what=bad-values")
    t = wait_until(lambda: val(S.metrics(), "iotpro_telemetry_values_rejected_total") == 2, 10, 0.2)
    m = S.metrics()
    check(f"{name}: both unusable values are counted in iotpro_telemetry_values_rejected_total",
          t is not None and val(m, "iotpro_up") == 1 and val(m, "iotpro_parse_errors_total") == 0,
          f"rejected={val(m, 'iotpro_telemetry_values_rejected_total')}")


SCENARIOS = {"resub": scen_resub, "updates": scen_updates, "sublimit": scen_sublimit,
             "queue": scen_queue, "reorder": scen_reorder, "ce": scen_ce, "ce_customer": scen_ce}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in SCENARIOS:
        raise SystemExit(__doc__)
    SCENARIOS[sys.argv[1]]()
    if not S.alive():
        fail(f"{sys.argv[1]}: the exporter is still running")
    sys.exit(1 if FAILED else 0)
