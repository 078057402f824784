#!/usr/bin/env bash
# t_web_abuse.sh -- the web layer alone (tests/e2e/web_fixture.c, ASan build when
# present) under correct and hostile use: exposition checked by promtool and a strict
# parser, exact paths and methods, hostile URIs and bytes, 100 concurrent scrapes,
# slowloris, a 10,000-request burst, fd count back to baseline, clean SIGTERM; the
# streamed body: chunked over HTTP/1.1, Content-Length over HTTP/1.0, two scrapes on one
# kept-alive curl connection, a body-limit abort that curl sees as incomplete.
# After every attack the server must still answer correctly.
source "$(dirname "$0")/../lib.sh"

FIX=${WEB_FIXTURE:-}
if [ -z "$FIX" ]; then
    for c in "$BUILD/asan/bin/web_fixture" "$BUILD/host/bin/web_fixture"; do
        [ -x "$c" ] && { FIX=$c; break; }
    done
fi
if [ -z "$FIX" ] || [ ! -x "$FIX" ]; then
    unbuilt web_fixture "not built (make host asan)"   # a failure under ./build.sh test
    finish
fi
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-}"

TIMEOUT_MS=2000
"$FIX" --max-requests 40 --timeout-ms $TIMEOUT_MS --ready 0 >"$TEST_TMP/fx.out" 2>"$TEST_TMP/fx.err" &
FXPID=$!
_pids+=("$FXPID")
for _ in $(seq 100); do grep -q '^port ' "$TEST_TMP/fx.out" && break; sleep 0.05; done
PORT=$(awk '/^port /{print $2}' "$TEST_TMP/fx.out")
if [ -z "$PORT" ]; then
    fail web_fixture_start "$(head -5 "$TEST_TMP/fx.err")"
    finish
fi
ok web_fixture_start

cat >"$TEST_TMP/client.py" <<'EOF'
import os, socket, sys, threading, time, random

PORT = int(os.environ["PORT"])

# An exception in a worker thread would only print a traceback and let the process
# exit 0 with checks missing; remember it so the client exits non-zero (an exception in
# the main thread already does).
thread_errors = []
def _thread_excepthook(args):
    thread_errors.append(f"{args.thread.name}: {args.exc_type.__name__}: {args.exc_value}")
    threading.__excepthook__(args)
threading.excepthook = _thread_excepthook

def raw(data, timeout=10.0, read=True):
    """Sends bytes, returns the whole response (until close)."""
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    try:
        s.sendall(data)
        if not read:
            return b""
        out = b""
        while True:
            try:
                b = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not b:
                break
            out += b
        return out
    finally:
        s.close()

def dechunk(b):
    """Decodes a chunked body; returns (body, complete)."""
    out, i = b"", 0
    while True:
        j = b.find(b"\r\n", i)
        if j < 0:
            return out, False
        try:
            n = int(b[i:j].split(b";")[0], 16)
        except ValueError:
            return out, False
        if n == 0:
            return out, b[j + 2:j + 4] == b"\r\n"
        if len(b) < j + 2 + n + 2:
            return out + b[j + 2:j + 2 + n], False
        out += b[j + 2:j + 2 + n]
        i = j + 2 + n + 2

def req(method, path, headers=None, timeout=10.0, version="1.1"):
    """One request on its own connection; a chunked body comes back decoded, and
    hdrs["complete"] says whether it ended with the last chunk."""
    h = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    r = raw(f"{method} {path} HTTP/{version}\r\nHost: x\r\n{h}Connection: close\r\n\r\n".encode(), timeout)
    head, _, body = r.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except Exception:
        status = 0
    hdrs = {}
    for l in lines[1:]:
        if ":" in l:
            k, v = l.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
    if hdrs.get("transfer-encoding") == "chunked" and method != "HEAD":
        body, hdrs["complete"] = dechunk(body)
    return status, hdrs, body

def alive():
    s, _, b = req("GET", "/-/healthy")
    return s == 200 and b == b"Healthy.\n"

def check(name, cond, why=""):
    print(("ok - " if cond else "not ok - ") + name + ("" if cond else (": " + why)))
    sys.stdout.flush()
    return cond

def t_basic():
    s, h, b = req("GET", "/metrics")
    check("metrics_200", s == 200, str(s))
    check("metrics_content_type", h.get("content-type") == "text/plain; version=0.0.4; charset=utf-8", h.get("content-type", ""))
    check("metrics_chunked", h.get("transfer-encoding") == "chunked" and h.get("complete") is True
          and "content-length" not in h, repr(h))
    s10, h10, b10 = req("GET", "/metrics", version="1.0")
    check("metrics_http10_content_length", s10 == 200 and "transfer-encoding" not in h10
          and int(h10.get("content-length", -1)) == len(b10) and b"iotpro_up" in b10, repr(h10))
    check("no_cors_headers", not any(k.startswith("access-control") for k in h))
    open(os.environ["TEST_TMP"] + "/metrics.txt", "wb").write(b)
    s, h, b2 = req("GET", "/metrics", {"Accept": "application/openmetrics-text;version=1.0.0;q=0.9,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"})
    check("openmetrics_negotiated", s == 200 and h.get("content-type") == "application/openmetrics-text; version=1.0.0; charset=utf-8", h.get("content-type", ""))
    check("openmetrics_eof", b2.endswith(b"# EOF\n") and b2.count(b"# EOF") == 1)
    open(os.environ["TEST_TMP"] + "/metrics.om", "wb").write(b2)
    s, h, b3 = req("HEAD", "/metrics")
    check("head_metrics", s == 200 and b3 == b"" and h.get("transfer-encoding") == "chunked", repr(h))
    for m in ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"]:
        s, h, _ = req(m, "/metrics", {"Origin": "http://evil", "Access-Control-Request-Method": "GET"})
        check(f"method_{m}_405", s == 405 and h.get("allow") == "GET, HEAD", f"{s} {h.get('allow')}")
    # methods civetweb does not know are refused by civetweb itself, before our hook
    for m in ["TRACE", "BREW", "get"]:
        s, h, _ = req(m, "/metrics")
        check(f"method_{m}_refused", 400 <= s < 500, str(s))
    for p in ["/metrics/", "/metricsx", "/metrics/../metrics", "/x/../metrics", "/%2e%2e/metrics",
              "/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/index.html", "/-/", "//", "/metrics%00", "/%6detrics",
              "/metrics;x", "/METRICS"]:
        s, _, b = req("GET", p)
        check(f"path_404 {p}", s in (400, 404) and b"root:" not in b, str(s))
    s, _, b = req("GET", "/")
    check("landing", s == 200 and b"/metrics" in b and b"0.0.0-fixture" in b and b"<b>" not in b)
    check("healthy", alive())
    s, _, _ = req("GET", "/-/ready")
    check("ready_503_before_subscribed", s == 503, str(s))

def t_parsers():
    try:
        from prometheus_client.parser import text_string_to_metric_families
        from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
    except ImportError:
        print("skip - strict_parsers: python3-prometheus-client not installed")
        return
    want = ["Truck 1", "quote \" inside", "back\\slash", "new\nline", "brace } and {", "hash # x",
            "eq = sign", "emoji \U0001F69A", "bad \ufffd\ufffd utf8", "", "Mdina \u0126al", "\\n not a newline"]
    for name, parse, path in (("text", text_string_to_metric_families, "metrics.txt"),
                              ("openmetrics", om_parse, "metrics.om")):
        text = open(os.environ["TEST_TMP"] + "/" + path, encoding="utf-8").read()
        try:
            fams = {f.name: f for f in parse(text)}
        except Exception as e:
            check(f"strict_parse_{name}", False, repr(e))
            continue
        check(f"strict_parse_{name}", "iotpro_telemetry_value" in fams and "iotpro_up" in fams)
        got = sorted({s.labels["asset"] for s in fams["iotpro_telemetry_value"].samples})
        check(f"label_roundtrip_{name}", got == sorted(want), repr(got))
        info = fams.get("iotpro_telemetry") if name == "openmetrics" else fams.get("iotpro_telemetry_info")
        vals = sorted({s.labels["value"] for s in info.samples}) if info else []
        check(f"info_value_roundtrip_{name}", vals == sorted(want), repr(vals))
        ws = fams.get("iotpro_ws_connects")
        check(f"counter_type_{name}", ws is not None and ws.type == "counter", repr(ws and ws.type))

def t_hostile():
    cases = {
        "slashes": b"GET /" + b"/" * 5000 + b"metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        "path_100k": b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        "dotdot_many": b"GET " + b"/%2e%2e" * 3000 + b"/metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        "dots_raw": b"GET " + b"/.." * 5000 + b"/ HTTP/1.1\r\nHost: x\r\n\r\n",
        "percent_junk": b"GET /%%%%%ff%fg%0%00%2 HTTP/1.1\r\nHost: x\r\n\r\n",
        "headers_17k": b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 17000 + b"\r\n\r\n",
        "many_headers": b"GET /metrics HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(2000)) + b"\r\n",
        "http10_no_host": b"GET /metrics HTTP/1.0\r\n\r\n",
        "pipelined": b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n" * 50,
        "no_version": b"GET /metrics\r\n\r\n",
        "bad_method": b"\x00\x01\x02 /metrics HTTP/1.1\r\n\r\n",
        "long_method": b"A" * 20000 + b" / HTTP/1.1\r\n\r\n",
        "nul_in_uri": b"GET /met\x00rics HTTP/1.1\r\nHost: x\r\n\r\n",
        "connect": b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: x\r\n\r\n",
        "absolute_uri": b"GET http://evil/metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        "content_length_huge": b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\nabc",
        "chunked_bogus": b"POST /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nx\r\n",
        # keep-alive is on: requests with a body must not reach civetweb's body discard
        # and keep-alive arithmetic (signed overflow on a huge Content-Length)
        "get_content_length_huge": b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\nabc",
        "get_chunked_body": b"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nx\r\n",
        "post_then_get_pipelined": b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
    }
    rnd = random.Random(7)
    cases["random_640k"] = bytes(rnd.getrandbits(8) for _ in range(640 * 1024))
    for name, data in cases.items():
        try:
            r = raw(data, timeout=10)
        except OSError as e:
            r = repr(e).encode()
        first = r.split(b"\r\n", 1)[0][:60]
        served_file = b"root:" in r
        # every answer is a 4xx/405/200-for-healthy, or a close; never a file, never 5xx
        bad = served_file or first.startswith(b"HTTP/1.1 5") and b"503" not in first
        check(f"hostile_{name}", not bad and alive(), repr(first))

def t_concurrent():
    res = []
    lock = threading.Lock()
    def one():
        try:
            s, h, b = req("GET", "/metrics", timeout=30)
            ok = (s == 200 and h.get("complete") and b.endswith(b"\n") and b"iotpro_up" in b) or s == 503
        except Exception as e:
            s, ok = repr(e), False
        with lock:
            res.append((s, ok))
    ts = [threading.Thread(target=one) for _ in range(100)]
    for t in ts: t.start()
    for t in ts: t.join()
    n200 = sum(1 for s, _ in res if s == 200)
    check("concurrent_100", len(res) == 100 and all(ok for _, ok in res) and n200 >= 40,
          f"{n200} x 200, others {[s for s, ok in res if s != 200][:5]}")
    check("alive_after_concurrent", alive())

def t_slowloris(nconn):
    socks = []
    for _ in range(nconn):
        try:
            s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
            socks.append(s)
        except OSError:
            break
    stop = threading.Event()
    def drip():
        msg = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
        i = 0
        while not stop.is_set() and i < len(msg):
            for s in socks:
                try: s.send(msg[i:i+1])
                except OSError: pass
            i += 1
            stop.wait(1.0)
    t = threading.Thread(target=drip); t.start()
    time.sleep(1.5)
    t0 = time.time()
    try:
        s, _, b = req("GET", "/metrics", timeout=20)
    except Exception as e:
        s, b = repr(e), b""
    dt = time.time() - t0
    limit = int(os.environ["TIMEOUT_MS"]) / 1000.0 + 4.0
    check("slowloris_fresh_scrape", s == 200 and b"iotpro_up" in b and dt <= limit, f"status {s} after {dt:.1f}s (limit {limit:.1f}s)")
    # clients that ask and never read
    lazy = []
    for _ in range(20):
        try:
            c = socket.create_connection(("127.0.0.1", PORT), timeout=5)
            c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            lazy.append(c)
        except OSError:
            pass
    time.sleep(0.5)
    check("non_reading_clients", alive())
    stop.set(); t.join()
    for s in socks + lazy: s.close()

def t_burst(total, workers):
    counts = {}
    lock = threading.Lock()
    def w(n):
        for i in range(n):
            path = "/metrics" if i % 4 == 0 else "/-/healthy"
            try:
                s, _, _ = req("GET", path, timeout=30)
            except Exception:
                s = "exc"
            with lock:
                counts[s] = counts.get(s, 0) + 1
    ts = [threading.Thread(target=w, args=(total // workers,)) for _ in range(workers)]
    t0 = time.time()
    for t in ts: t.start()
    for t in ts: t.join()
    dt = time.time() - t0
    good = counts.get(200, 0) + counts.get(503, 0)
    check("burst_10000", good == total and counts.get(200, 0) >= total * 0.9, f"{counts} in {dt:.1f}s")
    check("alive_after_burst", alive())

what = sys.argv[1]
if what == "basic": t_basic()
elif what == "parsers": t_parsers()
elif what == "hostile": t_hostile()
elif what == "concurrent": t_concurrent()
elif what == "slowloris": t_slowloris(int(sys.argv[2]))
elif what == "burst": t_burst(10000, 20)
else: sys.exit(f"client.py: unknown part {what!r}")
if thread_errors:
    sys.exit("client.py: exception in a thread: " + "; ".join(thread_errors))
EOF
export PORT TEST_TMP TIMEOUT_MS
fds() { ls "/proc/$FXPID/fd" 2>/dev/null | wc -l; }
FD0=$(fds)

# client PART [args...]: one part of client.py. An exception ends a part early and
# drops its remaining checks, so a non-zero exit is a failure of its own.
client() {
    local rc
    "$PY" "$TEST_TMP/client.py" "$@" 2>"$TEST_TMP/client.$1.err"
    rc=$?
    sed 's/^/#   /' "$TEST_TMP/client.$1.err"
    [ "$rc" -eq 0 ] || fail "client_$1" "client.py $* exited $rc: $(tail -n 3 "$TEST_TMP/client.$1.err" | tr '\n' ' ')"
}

client basic
# Prometheus keeps its connection between requests: curl must reuse it for a second
# scrape after a complete chunked body.
if command -v curl >/dev/null; then
    curl -sv -o /dev/null -o /dev/null "http://127.0.0.1:$PORT/metrics" "http://127.0.0.1:$PORT/metrics" \
        >"$TEST_TMP/curl2.err" 2>&1
    n200=$(grep -c '^< HTTP/1.1 200' "$TEST_TMP/curl2.err")
    if [ "$n200" = 2 ] && grep -Eqi 're-?using existing connection' "$TEST_TMP/curl2.err"; then
        ok keep_alive_two_scrapes_one_connection
    else
        fail keep_alive_two_scrapes_one_connection "$n200 x 200; $(grep -Ei 'connect|left intact|closing' "$TEST_TMP/curl2.err" | head -4 | tr '\n' ' ')"
    fi
else
    skip keep_alive_two_scrapes_one_connection "curl not installed"
fi
if command -v promtool >/dev/null; then
    if promtool check metrics <"$TEST_TMP/metrics.txt" >"$TEST_TMP/promtool.out" 2>&1; then
        ok promtool_check_metrics
    else
        fail promtool_check_metrics "$(head -5 "$TEST_TMP/promtool.out")"
    fi
else
    skip promtool_check_metrics "promtool not installed"
fi
client parsers
client hostile
client concurrent
client slowloris 44   # workers (min(40+2, LIM_WEB_THREADS 16)) + 10 or more
client burst

# Connections from the attacks are gone again once civetweb's timeouts have run.
sleep $(( TIMEOUT_MS / 1000 + 2 ))
FD1=$(fds)
check fds_back_to_baseline test "$FD1" -le $((FD0 + 2))
[ "$FD1" -le $((FD0 + 2)) ] || echo "# fds before $FD0 after $FD1"

# A body over --max-body after the first chunk went out: the client must see an
# incomplete transfer (no last chunk), not a short but "complete" exposition.
"$FIX" --series 200000 --max-body 1000000 --timeout-ms $TIMEOUT_MS \
    >"$TEST_TMP/fx2.out" 2>"$TEST_TMP/fx2.err" &
FX2=$!
_pids+=("$FX2")
for _ in $(seq 100); do grep -q '^port ' "$TEST_TMP/fx2.out" && break; sleep 0.05; done
P2=$(awk '/^port /{print $2}' "$TEST_TMP/fx2.out")
if [ -n "$P2" ] && command -v curl >/dev/null; then
    curl -s -o "$TEST_TMP/limited.txt" "http://127.0.0.1:$P2/metrics"; rc=$?
    got=$(stat -c %s "$TEST_TMP/limited.txt" 2>/dev/null || echo 0)
    check "body_limit_abort_is_incomplete (curl rc $rc, $got bytes)" test "$rc" -ne 0 -a "$got" -gt 0 -a "$got" -le 1000000
    check body_limit_abort_logged grep -q 'metrics response aborted' "$TEST_TMP/fx2.err"
    kill -TERM "$FX2"; wait "$FX2"
    check "body_limit_fixture_clean_exit" test $? -eq 0
else
    skip body_limit_abort_is_incomplete "fixture did not start or no curl"
fi

kill -TERM "$FXPID"
t0=$(date +%s%N)
wait "$FXPID"; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "sigterm_clean_exit (${ms} ms)" test "$rc" -eq 0 -a "$ms" -lt 3000
if grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error" "$TEST_TMP/fx.err" "$TEST_TMP/fx2.err"; then
    fail sanitizers_clean "$(grep -m3 'ERROR\|runtime error' "$TEST_TMP/fx.err" "$TEST_TMP/fx2.err")"
else
    ok sanitizers_clean
fi
finish
