#!/usr/bin/python3
"""web_tls_hostile.py -- hostile clients against the exporter's HTTPS port.

    web_tls_hostile.py --port P --ca CA.pem --user U --password PW --timeout-ms T

Prints "ok - name" / "not ok - name: why" lines. Steps:
  - 100 concurrent TLS scrapers (one connection each, basic auth): every one gets a
    200 with a complete chunked body;
  - slowloris before the handshake: 50 connections that send nothing and 50 that
    send half a ClientHello; a real scrape succeeds at once while they hang, and the
    server closes them at its handshake deadline; then 200 idle ones: past the front's
    128 the excess is closed at accept (iotpro_limit_hits_total{limit="tls_connections"},
    checked by the caller), and a real scrape works once they time out;
  - slowloris after the handshake: request headers one byte every 300 ms; the server
    closes the connection within its request timeout (+ slack);
  - garbage on the TLS port (plain HTTP, random bytes, a ClientHello cut short,
    SSLv2-style hello, a TLS 1.3-only hello): each closed without a crash, and a real
    scrape works after each.
"""
import argparse
import base64
import os
import random
import select
import socket
import ssl
import sys
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--ca", required=True)
ap.add_argument("--user", required=True)
ap.add_argument("--password", required=True)
ap.add_argument("--timeout-ms", type=int, default=2000)
a = ap.parse_args()

AUTH = base64.b64encode(f"{a.user}:{a.password}".encode()).decode()
failed = False


def check(name, cond, why=""):
    global failed
    print(("ok - " if cond else "not ok - ") + name + ("" if cond else ": " + why), flush=True)
    failed |= not cond
    return cond


def ctx():
    c = ssl.create_default_context(cafile=a.ca)
    c.check_hostname = True
    return c


def scrape(path="/metrics", timeout=30):
    """One authenticated GET over TLS; returns (status, complete)."""
    raw = socket.create_connection(("127.0.0.1", a.port), timeout=timeout)
    s = ctx().wrap_socket(raw, server_hostname="localhost")
    try:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic {AUTH}\r\n"
                  "Connection: close\r\n\r\n".encode())
        out = b""
        while True:
            try:
                b = s.recv(65536)
            except (ssl.SSLError, ConnectionResetError):
                break
            if not b:
                break
            out += b
    finally:
        s.close()
    head, _, body = out.partition(b"\r\n\r\n")
    try:
        status = int(head.split(b" ")[1])
    except Exception:
        return 0, False
    complete = body.endswith(b"0\r\n\r\n") if b"chunked" in head.lower() else True
    return status, complete


def t_concurrent():
    res = []
    lock = threading.Lock()

    def one():
        try:
            r = scrape()
        except Exception as e:  # noqa: BLE001 -- any failure is a finding
            r = (0, repr(e))
        with lock:
            res.append(r)

    th = [threading.Thread(target=one) for _ in range(100)]
    t0 = time.time()
    for t in th:
        t.start()
    for t in th:
        t.join(120)
    good = sum(1 for s, c in res if s == 200 and c is True)
    check(f"100 concurrent TLS scrapers: {good}/100 complete 200s in {time.time() - t0:.1f}s",
          good == 100, repr([r for r in res if r != (200, True)][:5]))


def hold(n, payload):
    """n connections sending payload and then nothing: [(socket, opened_at)]."""
    socks = []
    for _ in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", a.port), timeout=5)
            t = time.time()
            if payload:
                s.sendall(payload)
            socks.append((s, t))
        except OSError:
            pass
    return socks


def closed_at(s, limit):
    """Waits until the server closes s (recv returns b"" or reset): the time, or None."""
    t0 = time.time()
    s.settimeout(0.2)
    while time.time() - t0 < limit:
        try:
            if s.recv(4096) == b"":
                return time.time()
        except socket.timeout:
            continue
        except OSError:
            return time.time()
    return None


def closed_by_server(s, limit):
    t = closed_at(s, limit)
    return None if t is None else 0


def client_hello():
    """The first bytes a real client sends (a ClientHello record)."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    o = ctx().wrap_bio(inc, out, server_hostname="localhost")
    try:
        o.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def t_slowloris_handshake():
    hello = client_hello()
    # 100 held (below the front's 128): a real scrape gets through at once
    held = hold(50, b"") + hold(50, hello[: len(hello) // 2])
    try:
        st, _ = scrape("/-/healthy", timeout=10)
    except OSError as e:
        st = repr(e)
    check("a real scrape succeeds at once while 100 slow handshakes hang", st == 200, str(st))
    limit = a.timeout_ms / 1000 + 5
    lives = []
    for s, opened in held:
        t = closed_at(s, limit)
        lives.append(None if t is None else t - opened)
        s.close()
    done = [x for x in lives if x is not None]
    check(f"slow handshakes closed at the handshake deadline ({min(done, default=-1):.1f}-"
          f"{max(done, default=-1):.1f}s after connecting; deadline {a.timeout_ms / 1000:.0f}s)",
          len(done) == len(lives) and min(done) >= a.timeout_ms / 1000 * 0.8, repr(lives[:10]))
    # 200 held: past the bound, the excess is closed at accept; once the held ones
    # time out, a real scrape works again
    held = hold(200, b"")
    time.sleep(0.5)  # well before the handshake deadline: only refused ones are closed
    readable, _, _ = select.select([s for s, _ in held], [], [], 0)
    refused = 0
    for s in readable:
        try:
            if s.recv(1) == b"":
                refused += 1
        except OSError:
            refused += 1
    check(f"past 128 connections the front refuses the excess ({refused} of 200 closed at once)",
          60 <= refused <= 80, str(refused))
    time.sleep(a.timeout_ms / 1000 + 1)
    st, _ = scrape("/-/healthy")
    check("after the slow handshakes time out a real scrape works", st == 200, str(st))
    for s, _ in held:
        s.close()


def t_slowloris_headers():
    raw = socket.create_connection(("127.0.0.1", a.port), timeout=10)
    s = ctx().wrap_socket(raw, server_hostname="localhost")
    req = f"GET /metrics HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic {AUTH}\r\n\r\n".encode()
    t0 = time.time()
    closed = False
    for i in range(len(req)):
        try:
            s.sendall(req[i:i + 1])
        except OSError:
            closed = True
            break
        s.settimeout(0.3)
        try:
            if s.recv(4096) == b"":
                closed = True
                break
        except socket.timeout:
            pass
        except (OSError, ssl.SSLError):
            closed = True
            break
        if time.time() - t0 > a.timeout_ms / 1000 + 8:
            break
    took = time.time() - t0
    check(f"headers one byte per 300 ms over TLS: closed after {took:.1f}s",
          closed and took < a.timeout_ms / 1000 + 8, f"closed={closed}")
    s.close()


def t_garbage():
    rnd = random.Random(18)
    hello = client_hello()
    cases = {
        "plain HTTP": b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        "random bytes": bytes(rnd.randrange(256) for _ in range(4096)),
        "ClientHello cut short then close": hello[:40],
        "SSLv2 hello": bytes.fromhex("802b0103010012000000100000030000060000070000020000040000050000080000"),
        "record header with a huge length": b"\x16\x03\x03\xff\xff" + b"\x00" * 64,
        "ClientHello with flipped bytes": bytes(b ^ (0xff if i % 17 == 5 else 0) for i, b in enumerate(hello)),
        "alert before hello": b"\x15\x03\x03\x00\x02\x02\x28",
    }
    for name, data in cases.items():
        s = socket.create_connection(("127.0.0.1", a.port), timeout=10)
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            t = closed_by_server(s, 10)
        except OSError:
            t = 0
        finally:
            s.close()
        st, comp = scrape("/-/healthy")
        check(f"garbage ({name}): closed, then a real request works", t is not None and st == 200,
              f"closed after {t}, status {st}")
    # a client that offers only TLS 1.3
    c = ctx()
    c.minimum_version = ssl.TLSVersion.TLSv1_3
    try:
        raw = socket.create_connection(("127.0.0.1", a.port), timeout=10)
        c.wrap_socket(raw, server_hostname="localhost").close()
        refused = False
    except (ssl.SSLError, OSError):
        refused = True
    check("a TLS 1.3-only client is refused", refused)


t_concurrent()
t_slowloris_handshake()
t_slowloris_headers()
t_garbage()
t_concurrent()
sys.exit(1 if failed else 0)
