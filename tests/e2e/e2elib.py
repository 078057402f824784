"""e2elib.py -- small helpers for the reliability drivers (fault matrix, hostile input,
soak): HTTP GETs on loopback, /metrics parsing, simulator and proxy control, waits with
deadlines, and /proc sampling. Every wait is bounded by its timeout argument.

Environment (set by tests/e2e/e2e_common.sh): EXP_URL, SIM_CTL, PROXY_CTL, EXP_PID,
E2E_KEYS.
"""
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_truth  # noqa: E402
import scrapes  # noqa: E402


def env(name, default=None):
    v = os.environ.get(name, default)
    if v is None:
        raise SystemExit(f"{name} not set")
    return v


def get(url, timeout=10.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        st, body = r.status, r.read().decode("utf-8", "replace")
    scrapes.record(url, body)  # /metrics bodies, for metric_coverage.sh
    return st, body


class Setup:
    def __init__(self):
        self.exp = env("EXP_URL")
        self.sim = "http://127.0.0.1:" + env("SIM_CTL")
        pc = os.environ.get("PROXY_CTL")
        self.proxy = "http://127.0.0.1:" + pc if pc else None
        self.pid = int(env("EXP_PID"))
        self.keys = set(env("E2E_KEYS").split(","))

    # --- control endpoints
    def sim_ctl(self, path):
        return get(self.sim + path)[1]

    def proxy_ctl(self, path):
        return get(self.proxy + path)[1]

    def sim_stats(self):
        out = {}
        for line in self.sim_ctl("/stats").splitlines():
            k, _, v = line.partition(" ")
            try:
                out[k] = int(v)
            except ValueError:
                pass
        return out

    # --- exporter
    def samples(self, timeout=10.0):
        return compare_truth.parse_metrics(get(self.exp + "/metrics", timeout)[1])

    def metrics(self, timeout=10.0):
        """{name: {frozenset(labels.items()): float}}"""
        out = {}
        for name, lb, v in self.samples(timeout):
            try:
                out.setdefault(name, {})[frozenset(lb.items())] = float(v)
            except ValueError:
                pass
        return out

    def alive(self):
        try:
            os.kill(self.pid, 0)
        except OSError:
            return False
        # a zombie counts as dead
        try:
            with open(f"/proc/{self.pid}/status") as f:
                return "State:\tZ" not in f.read()
        except OSError:
            return False

    def compare(self, wait=10.0, expect_names=None, absent=()):
        end = time.monotonic() + wait
        errs = ["not compared"]
        while True:
            try:
                truth = compare_truth.parse_truth(get(self.sim + "/truth")[1], self.keys)
                errs = compare_truth.compare(truth, self.samples(), expect_names or {}, set(absent))
                if not truth:
                    errs.append("empty truth")
            except Exception as e:  # noqa: BLE001
                errs = [f"fetch failed: {e}"]
            if not errs or time.monotonic() >= end:
                return errs
            time.sleep(0.5)


def val(m, name, **labels):
    """One sample's value (labels must match those given; others ignored), or None."""
    for lb, v in m.get(name, {}).items():
        d = dict(lb)
        if all(d.get(k) == x for k, x in labels.items()):
            return v
    return None


def total(m, name):
    return sum(m.get(name, {}).values())


def wait_until(pred, timeout, step=0.1):
    """Polls pred() until true; returns seconds waited or None on timeout."""
    t0 = time.monotonic()
    end = t0 + timeout
    while True:
        try:
            if pred():
                return time.monotonic() - t0
        except Exception:  # noqa: BLE001 -- the exporter may be restarting
            pass
        if time.monotonic() >= end:
            return None
        time.sleep(step)


def proc_status(pid, field):
    """VmHWM, VmRSS... in kB, or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def thread_count(pid):
    return proc_status(pid, "Threads")
