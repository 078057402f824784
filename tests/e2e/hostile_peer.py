#!/usr/bin/python3
"""hostile_peer.py -- a ThingsBoard-shaped TLS server that turns hostile on purpose, for
t_hostile_ws.sh (loopback only, every loop bounded).

    hostile_peer.py --certs DIR --port-file F --results F [--mode api|tls-garbage]
                    [--ws SCENARIO,...] [--login SCENARIO,...] [--assets SCENARIO,...]
                    [--hs SCENARIO,...] [--log-rest] [--max-seconds S]

mode api: HTTPS with REST (login, refresh, one page of assets) and /api/ws. The n-th
login, asset listing and WebSocket connection get the n-th scenario of their list (after
the list: normal behaviour). Every WebSocket connection first gets a valid data page
(so the client's backoff resets), then its hostile bytes; the client's reaction (close
code it sent, or EOF/reset) is written to --results as one JSON line per scenario.
Scenarios that need no disconnect end with a normal close 1000 from the peer after 2 s.

--hs: handshake rejections (websocket-tls-reliability.md 6 item 2). The n-th WebSocket
upgrade request gets the n-th answer of the list instead of a valid 101 (after the list:
the --ws behaviour); each is logged as {"kind": "hs", "scenario": ...} once sent. The
301 points at a listener on 127.0.0.2 (another host) that logs {"kind": "redirect_hit"}
for any connection it gets. --hs-list prints the scenario names. --log-rest logs each
REST request as {"kind": "rest", "path": ...} (login and refresh show up there).

mode tls-garbage: a plain TCP listener whose n-th connection gets: plain HTTP, 100 KB of
random bytes, a TLS record header claiming 2^14+1 bytes, a 64 KB "certificate" record.

The asset is ASSET_ID; its data page carries temperature=21.5 and device_id=HOSTILE-1.
"""
import argparse
import base64
import hashlib
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time

ASSET_ID = "0b9f8a1e-7c2d-4e5f-9a1b-2c3d4e5f6a7b"
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MIB = 1024 * 1024


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(scope="TENANT_ADMIN", life=3600):
    now = int(time.time())
    head = b64u(b'{"alg":"HS512"}')
    body = b64u(json.dumps({"sub": "tenant@thingsboard.org", "userId": "5f2c7d40-0b1a-11ef-9a3b-8d1c6a0e5b11",
                            "scopes": [scope], "sessionId": "0d5f6a2e-8a51-4b0e-a3a0-4f0d3c1b2a99",
                            "exp": now + life, "iat": now, "iss": "thingsboard.io",
                            "tenantId": "784f394c-42b6-435a-983c-b7beff2784f9",
                            "customerId": "13814000-1dd2-11b2-8080-808080808080"}).encode())
    return f"{head}.{body}.{b64u(os.urandom(64))}"


def frame(op, payload, fin=True, rsv=0, mask=False, length=None):
    b0 = (0x80 if fin else 0) | (rsv << 4) | op
    n = len(payload) if length is None else length
    m = 0x80 if mask else 0
    if n < 126:
        h = struct.pack("!BB", b0, m | n)
    elif n < 65536:
        h = struct.pack("!BBH", b0, m | 126, n)
    else:
        h = struct.pack("!BBQ", b0, m | 127, n)
    if mask:
        key = os.urandom(4)
        payload = bytes(c ^ key[i % 4] for i, c in enumerate(payload))
        h += key
    return h + payload


def data_page(cmd_id):
    ts = int(time.time() * 1000)
    ent = {"entityId": {"entityType": "ASSET", "id": ASSET_ID},
           "latest": {"TIME_SERIES": {"temperature": {"ts": ts, "value": "21.5"},
                                      "device_id": {"ts": ts, "value": "HOSTILE-1"}}},
           "timeseries": {}, "aggLatest": {}}
    return json.dumps({"cmdId": cmd_id, "errorCode": 0, "errorMsg": None,
                       "data": {"data": [ent], "totalPages": 1, "totalElements": 1, "hasNext": False},
                       "update": None, "allowedEntities": 10000, "cmdUpdateType": "ENTITY_DATA"})


def update_msg(cmd_id, ents):
    return json.dumps({"cmdId": cmd_id, "errorCode": 0, "errorMsg": None, "data": None, "update": ents,
                       "allowedEntities": 10000, "cmdUpdateType": "ENTITY_DATA"})


# --- what each WebSocket scenario sends after the valid page, and what the client must do
# expect: set of close codes the client must send; "any" = no close needed (the peer
# closes 1000 after 2 s and the client must answer it).
def ws_scenarios():
    big_ents = [{"entityId": {"entityType": "ASSET", "id": "00000000-0000-4000-8000-%012d" % i},
                 "latest": {"TIME_SERIES": {"temperature": {"ts": 1, "value": "1"}}}} for i in range(60000)]
    return {
        # frame header announcing 64 MiB (limit 16 MiB) then 1 MiB of it
        "oversize_frame": (lambda c: [frame(1, b" " * MIB, length=64 * MIB)], {1009}),
        # 64-bit length 2^62
        "len64_huge": (lambda c: [frame(1, b"", length=1 << 62)], {1009, 1002}),
        # 64-bit length with the top bit set (RFC 6455 5.2: MUST be 0)
        "len64_topbit": (lambda c: [struct.pack("!BBQ", 0x81, 127, (1 << 63) | 10) + b"x" * 10], {1002}),
        # non-minimal 16-bit length for a 5-byte payload
        "nonminimal16": (lambda c: [struct.pack("!BBH", 0x81, 126, 5) + b"hello"], {1002}),
        # endless continuation: 60 KiB fragments until the client gives up (cap 40 MiB sent)
        "endless_continuation": (lambda c: [frame(1, b" " * 61440, fin=False)] +
                                 [frame(0, b" " * 61440, fin=False)] * 700, {1009}),
        # server frames must not be masked
        "masked_frame": (lambda c: [frame(1, data_page(c).encode(), mask=True)], {1002}),
        "rsv1_set": (lambda c: [frame(1, b"{}", rsv=4)], {1002}),
        "reserved_opcode": (lambda c: [frame(3, b"x")], {1002}),
        "ping_126": (lambda c: [frame(9, b"p" * 126)], {1002}),
        "fragmented_ping": (lambda c: [frame(9, b"p", fin=False)], {1002}),
        "close_1byte": (lambda c: [frame(8, b"\x03")], {1002}),
        "continuation_without_start": (lambda c: [frame(0, b"x")], {1002}),
        "invalid_utf8": (lambda c: [frame(1, b'{"cmdId":1,"errorMsg":"\xc3\x28"}')], {1007}),
        "invalid_utf8_split": (lambda c: [frame(1, b'{"cmdId":1,"x":"\xe2\x82', fin=False),
                                          frame(0, b'\x28"}')], {1007}),
        # JSON abuse: counted as parse errors, connection may stay
        # 10 000 levels (the reference's case) and 100 000 levels (200 KB): the client must
        # stay responsive (it answers the peer's close within 3 s)
        "nested_json": (lambda c: [frame(1, b'{"cmdId":%d,"update":' % c + b"[" * 10000 + b"]" * 10000 + b"}")],
                        "any"),
        "nested_json_100k": (lambda c: [frame(1, b'{"cmdId":%d,"update":' % c + b"[" * 100000 + b"]" * 100000 +
                                              b"}")], "any"),
        "nested_objects": (lambda c: [frame(1, b'{"cmdId":%d,"update":' % c + b'{"a":' * 20000 + b"1" +
                                            b"}" * 20000 + b"}")], "any"),
        "truncated_json": (lambda c: [frame(1, b'{"cmdId":%d,"data":{"data":[' % c)], "any"),
        "not_json": (lambda c: [frame(1, b"\x00\x01 this is not json")], "any"),
        "huge_json_update": (lambda c: [frame(1, update_msg(c, big_ents).encode())], "any"),
        "long_string_value": (lambda c: [frame(1, update_msg(c, [{"entityId": {"entityType": "ASSET", "id": ASSET_ID},
                              "latest": {"TIME_SERIES": {"device_id": {"ts": int(time.time() * 1000) - 1,
                                                                       "value": "S" * (2 * MIB)}}}}]).encode())],
                              "any"),
        # 20 000 pings of 125 bytes while the peer does not read (pongs pile up client-side)
        "ping_flood": (lambda c: [frame(9, b"p" * 125)] * 20000, "any"),
    }


# --- the handshake rejection table: name -> function(accept value, redirect port) -> bytes
def _hs_status(line, extra=""):
    body = "<html><body>%s</body></html>" % line
    return (f"HTTP/1.1 {line}\r\nContent-Type: text/html\r\nContent-Length: {len(body)}\r\n"
            f"{extra}\r\n{body}").encode()


def _hs_101(acc, upgrade="Upgrade: websocket\r\n", connection="Connection: Upgrade\r\n",
            accept=None, extra=""):
    accept = f"Sec-WebSocket-Accept: {acc}\r\n" if accept is None else accept
    return ("HTTP/1.1 101 Switching Protocols\r\n" + upgrade + connection + accept + extra +
            "\r\n").encode()


def hs_scenarios():
    return {
        "s200": lambda acc, rp: _hs_status("200 OK"),
        "s301": lambda acc, rp: _hs_status("301 Moved Permanently",
                                           f"Location: https://127.0.0.2:{rp}/api/ws\r\n"),
        "s400": lambda acc, rp: _hs_status("400 Bad Request"),
        "s401": lambda acc, rp: _hs_status("401 Unauthorized"),
        "s403": lambda acc, rp: _hs_status("403 Forbidden"),
        "s404": lambda acc, rp: _hs_status("404 Not Found"),
        "s426": lambda acc, rp: _hs_status("426 Upgrade Required",
                                           "Sec-WebSocket-Version: 13\r\n"),
        "s500": lambda acc, rp: _hs_status("500 Internal Server Error"),
        "s502": lambda acc, rp: _hs_status("502 Bad Gateway"),
        "s503": lambda acc, rp: _hs_status("503 Service Unavailable", "Retry-After: 1\r\n"),
        "no_upgrade": lambda acc, rp: _hs_101(acc, upgrade=""),
        "bad_upgrade": lambda acc, rp: _hs_101(acc, upgrade="Upgrade: h2c\r\n"),
        "no_connection": lambda acc, rp: _hs_101(acc, connection=""),
        "bad_connection": lambda acc, rp: _hs_101(acc, connection="Connection: keep-alive\r\n"),
        "no_accept": lambda acc, rp: _hs_101(acc, accept=""),
        "dup_accept": lambda acc, rp: _hs_101(acc, accept=f"Sec-WebSocket-Accept: {acc}\r\n" * 2),
        "bad_accept": lambda acc, rp: _hs_101(acc, accept="Sec-WebSocket-Accept: "
                                              + base64.b64encode(os.urandom(20)).decode() + "\r\n"),
        # base64 is case-sensitive: the right value with its case flipped is wrong
        "accept_case": lambda acc, rp: _hs_101(acc, accept=f"Sec-WebSocket-Accept: {acc.swapcase()}\r\n"),
        "ext_deflate": lambda acc, rp: _hs_101(acc, extra="Sec-WebSocket-Extensions: permessage-deflate\r\n"),
        "subprotocol": lambda acc, rp: _hs_101(acc, extra="Sec-WebSocket-Protocol: mqtt\r\n"),
        "long_status": lambda acc, rp: ("HTTP/1.1 101 " + "S" * 9000 + "\r\nUpgrade: websocket\r\n"
                                        "Connection: Upgrade\r\n" f"Sec-WebSocket-Accept: {acc}\r\n\r\n").encode(),
        "many_headers": lambda acc, rp: _hs_101(acc, extra="".join(f"X-Pad-{i}: {i}\r\n" for i in range(70))),
    }


def redirect_target(port_holder, log):
    """Listens on 127.0.0.2 (another host than the peer) and logs every connection: the
    exporter must never follow the 301 there."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.2", 0))
    ls.listen(4)
    port_holder.append(ls.getsockname()[1])

    def run():
        while True:
            c, _ = ls.accept()
            log(kind="redirect_hit")
            c.close()
    threading.Thread(target=run, daemon=True).start()


def http_response(status, body, ctype="application/json", extra=""):
    if isinstance(body, str):
        body = body.encode()
    return (f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n{extra}\r\n").encode() + body


REST_SCENARIOS = {
    "html502": lambda: http_response("502 Bad Gateway", "<html><body><h1>502 Bad Gateway</h1></body></html>",
                                     "text/html"),
    "bogus_chunk": lambda: (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"FFFFFFFFFFFFFFFFFFFF\r\n{\"token\":\"x\"}\r\n0\r\n\r\n"),
    "bad_chunk_hex": lambda: (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                              b"zz\r\n{}\r\n0\r\n\r\n"),
    "short_body": lambda: (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
                           b"{\"token\":\"abc\""),
    "nested": lambda: http_response("200 OK", "[" * 10000 + "]" * 10000),
    "huge_body": None,   # streamed: 100 MB of a JSON array (over the 64 MiB body limit)
    # 1 000 000 array elements, and the document never ends (a parse error, not a page)
    "million_array": lambda: http_response("200 OK", '{"hasNext":false,"data":[' + ",".join(["{}"] * 1000000)),
    "invalid_utf8": lambda: http_response("200 OK", b'{"data":[{"name":"\xff\xfe"}],"hasNext":false}'),
}


class Peer:
    def __init__(self, a):
        self.a = a
        self.ws_list = [s for s in a.ws.split(",") if s]
        self.login_list = [s for s in a.login.split(",") if s]
        self.assets_list = [s for s in a.assets.split(",") if s]
        self.hs_list = [s for s in a.hs.split(",") if s]
        self.n_ws = self.n_login = self.n_assets = self.n_hs = 0
        self.hs = hs_scenarios()
        self.redirect_port = []
        self.lock = threading.Lock()
        self.scen = ws_scenarios()
        self.results = open(a.results, "a", buffering=1)
        if self.hs_list:
            redirect_target(self.redirect_port, self.log)

    def log(self, **kw):
        kw["t"] = round(time.time(), 3)
        with self.lock:
            self.results.write(json.dumps(kw) + "\n")

    # --- HTTP (blocking socket, own buffer so nothing is lost on a timeout)
    def read_request(self, c):
        line = c.readline()
        if not line:
            return None
        headers = {}
        for _ in range(100):
            h = c.readline()
            if h in (b"\r\n", b"\n", b""):
                break
            k, _, v = h.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0") or 0)
        body = c.read(n) if n else b""
        parts = line.decode("latin-1").split()
        return parts[0], parts[1], headers, body

    def serve_conn(self, s):
        s.settimeout(30)
        c = BufSock(s)
        try:
            while True:
                req = self.read_request(c)
                if req is None:
                    return
                method, path, headers, body = req
                if self.a.log_rest and headers.get("upgrade", "").lower() != "websocket":
                    self.log(kind="rest", method=method, path=path.split("?")[0])
                if headers.get("upgrade", "").lower() == "websocket":
                    self.websocket(s, c.buf, headers)
                    return
                if path.startswith("/api/auth/login"):
                    with self.lock:
                        i = self.n_login
                        self.n_login += 1
                    sc = self.login_list[i] if i < len(self.login_list) else None
                    if sc:
                        self.log(kind="login", scenario=sc)
                        self.rest_hostile(s, sc)
                        return
                    s.sendall(http_response("200 OK", json.dumps({"token": jwt(), "refreshToken": jwt("REFRESH_TOKEN", 604800)})))
                elif path.startswith("/api/auth/token"):
                    s.sendall(http_response("200 OK", json.dumps({"token": jwt(), "refreshToken": jwt("REFRESH_TOKEN", 604800)})))
                elif "/assets" in path:
                    with self.lock:
                        i = self.n_assets
                        self.n_assets += 1
                    sc = self.assets_list[i] if i < len(self.assets_list) else None
                    if sc:
                        self.log(kind="assets", scenario=sc)
                        self.rest_hostile(s, sc)
                        return
                    s.sendall(http_response("200 OK", json.dumps({
                        "data": [{"id": {"entityType": "ASSET", "id": ASSET_ID}, "name": "Hostile asset",
                                  "type": "Hostile", "label": None, "createdTime": 1,
                                  "additionalInfo": None}],
                        "totalPages": 1, "totalElements": 1, "hasNext": False})))
                elif "/values/attributes" in path:
                    s.sendall(http_response("200 OK", "[]"))
                else:
                    s.sendall(http_response("404 Not Found", '{"status":404,"message":"no","errorCode":32}'))
        except (OSError, ValueError):
            return

    def rest_hostile(self, s, sc):
        """Sends a hostile REST answer; the connection is closed afterwards."""
        if sc == "huge_body":
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n[")
            chunk = b"0," * 32768
            sent = 1
            try:
                while sent < 104857600 - len(chunk):
                    s.sendall(chunk)
                    sent += len(chunk)
            except OSError:
                pass
            self.log(kind="rest_sent", scenario=sc, bytes=sent)
            return
        s.sendall(REST_SCENARIOS[sc]())

    # --- WebSocket (non-blocking after the upgrade: send hostile bytes while reading)
    def reject_upgrade(self, s, sc, acc):
        """Answers the upgrade with handshake scenario sc, then waits (bounded) for the
        client to hang up: it must not send a single frame."""
        req_t = round(time.time(), 3)
        s.sendall(self.hs[sc](acc, self.redirect_port[0]))
        s.settimeout(5)
        got = b""
        try:
            while len(got) < 65536:
                d = s.recv(4096)
                if not d:
                    break
                got += d
        except (OSError, ssl.SSLError):
            pass
        self.log(kind="hs", scenario=sc, client_sent=len(got), req_t=req_t)

    def websocket(self, s, leftover, headers):
        key = headers.get("sec-websocket-key", "").encode()
        acc = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
        with self.lock:
            i = self.n_hs
            self.n_hs += 1
        if i < len(self.hs_list):
            self.reject_upgrade(s, self.hs_list[i], acc)
            return
        s.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Accept: {acc}\r\n\r\n").encode())
        with self.lock:
            i = self.n_ws
            self.n_ws += 1
        sc = self.ws_list[i] if i < len(self.ws_list) else None
        io = WsIO(s, leftover)
        cmd = None
        seen = []
        end = time.monotonic() + 10
        while cmd is None and time.monotonic() < end and not io.eof:
            for op, payload in io.pump(0.2):
                seen.append(payload[:300].decode("utf-8", "replace") if op == 1 else f"op{op}")
                if op == 1:
                    try:
                        j = json.loads(payload)
                    except ValueError:
                        continue
                    for c in j.get("cmds") or []:
                        if c.get("type") == "ENTITY_DATA" and "query" in c:
                            cmd = c.get("cmdId", 1)
                            break
                elif op == 9:
                    io.queue(frame(10, payload))
        if cmd is None:
            self.log(kind="ws", scenario=sc, error="no ENTITY_DATA command", received=seen[:4], eof=io.eof)
            return
        io.queue(frame(1, data_page(cmd).encode()))
        if sc is None:
            self.log(kind="ws", scenario="normal")
            end = time.monotonic() + self.a.max_seconds
            nxt = 0.0
            while time.monotonic() < end and not io.eof and io.close_code is None:
                if time.monotonic() >= nxt:
                    io.queue(frame(9, b""))
                    nxt = time.monotonic() + 1
                for op, payload in io.pump(0.2):
                    if op == 9:
                        io.queue(frame(10, payload))
            return
        # let the page be applied first
        t_end = time.monotonic() + 0.3
        while time.monotonic() < t_end and not io.eof:
            io.pump(0.05)
        gen, expect = self.scen[sc]
        t0 = time.monotonic()
        io.paused_until = t0 + (3.0 if sc == "ping_flood" else 0)
        for chunk in gen(cmd):
            io.queue(chunk)
        wait = 2.0 if expect == "any" else 8.0
        while time.monotonic() - t0 < wait + 20 and not io.eof and io.close_code is None:
            io.pump(0.1)
            if not io.out and time.monotonic() - t0 > wait and time.monotonic() > io.paused_until:
                break
        how = "close" if io.close_code is not None else ("eof" if io.eof else "timeout")
        code = io.close_code
        if how == "timeout" and expect == "any":
            # the client saw nothing fatal: end the connection normally
            io.out = bytearray()
            io.queue(frame(8, struct.pack("!H", 1000)))
            e2 = time.monotonic() + 3
            while time.monotonic() < e2 and not io.eof and io.close_code is None:
                io.pump(0.1)
            if io.close_code is not None:
                code, how = io.close_code, "answered_close"
        self.log(kind="ws", scenario=sc, expect=sorted(expect) if expect != "any" else "any",
                 client_close=code, how=how, bytes_sent=io.sent, data_after_close=io.data_after_close,
                 react_s=round((io.close_at or time.monotonic()) - t0, 3))

    def run_api(self, ctx, lsock):
        end = time.monotonic() + self.a.max_seconds
        lsock.settimeout(1)
        while time.monotonic() < end:
            try:
                c, _ = lsock.accept()
            except socket.timeout:
                continue
            threading.Thread(target=self.tls_conn, args=(ctx, c), daemon=True).start()

    def tls_conn(self, ctx, c):
        try:
            s = ctx.wrap_socket(c, server_side=True)
        except (OSError, ssl.SSLError):
            c.close()
            return
        try:
            self.serve_conn(s)
        finally:
            try:
                s.close()
            except OSError:
                pass


class BufSock:
    """Blocking reads with a buffer: readline() and read(n)."""

    def __init__(self, s):
        self.s = s
        self.buf = b""

    def _more(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError
        self.buf += d

    def readline(self, limit=65536):
        try:
            while b"\n" not in self.buf and len(self.buf) < limit:
                self._more()
        except EOFError:
            out, self.buf = self.buf, b""
            return out
        i = self.buf.find(b"\n") + 1 or len(self.buf)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read(self, n):
        try:
            while len(self.buf) < n:
                self._more()
        except EOFError:
            pass
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


class WsIO:
    """Non-blocking WebSocket peer I/O over a (TLS) socket: queue() output, pump() moves
    bytes both ways for up to `t` seconds and returns the client's complete frames.
    Records the client's close code and whether it sent data after its close."""

    def __init__(self, s, leftover=b""):
        self.s = s
        s.setblocking(False)
        self.inb = bytearray(leftover)
        self.out = bytearray()
        self.sent = 0
        self.eof = False
        self.close_code = None
        self.close_at = None
        self.data_after_close = False
        self.paused_until = 0.0

    def queue(self, b):
        self.out += b

    def pump(self, t):
        import select
        frames = []
        end = time.monotonic() + t
        while True:
            reading = time.monotonic() >= self.paused_until
            want_w = bool(self.out)
            rl = [self.s] if reading else []
            r, w, _ = select.select(rl, [self.s] if want_w else [], [], max(0.0, min(0.05, end - time.monotonic())))
            if reading and (r or self.s.pending()):
                try:
                    d = self.s.recv(262144)
                    if not d:
                        self.eof = True
                    else:
                        self.inb += d
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                    pass
                except (OSError, ssl.SSLError):
                    self.eof = True
            if w and self.out:
                try:
                    n = self.s.send(self.out[:262144])
                    del self.out[:n]
                    self.sent += n
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                    pass
                except (OSError, ssl.SSLError):
                    self.eof = True
                    self.out = bytearray()
            frames += self._parse()
            if self.eof or time.monotonic() >= end:
                return frames

    def _parse(self):
        out = []
        while len(self.inb) >= 2:
            b = self.inb
            n = b[1] & 127
            pos = 2
            if n == 126:
                if len(b) < 4:
                    break
                n = struct.unpack("!H", b[2:4])[0]
                pos = 4
            elif n == 127:
                if len(b) < 10:
                    break
                n = struct.unpack("!Q", b[2:10])[0]
                pos = 10
            masked = b[1] & 128
            if len(b) < pos + (4 if masked else 0) + n:
                break
            key = bytes(b[pos:pos + 4]) if masked else b"\0\0\0\0"
            pos += 4 if masked else 0
            p = bytes(c ^ key[i % 4] for i, c in enumerate(b[pos:pos + n]))
            op = b[0] & 15
            del self.inb[:pos + n]
            if self.close_code is not None and op in (0, 1, 2):
                self.data_after_close = True
            if op == 8 and self.close_code is None:
                self.close_code = struct.unpack("!H", p[:2])[0] if len(p) >= 2 else 1005
                self.close_at = time.monotonic()
            out.append((op, p))
        return out


def tls_garbage(a):
    kinds = ["plain_http", "random_100k", "record_too_long", "cert_64k"]
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    with open(a.port_file, "w") as fh:
        fh.write(f"port={ls.getsockname()[1]}\n")
    res = open(a.results, "a", buffering=1)
    n = 0
    end = time.monotonic() + a.max_seconds
    ls.settimeout(1)
    while time.monotonic() < end:
        try:
            c, _ = ls.accept()
        except socket.timeout:
            continue
        k = kinds[n % len(kinds)]
        n += 1
        c.settimeout(5)
        try:
            c.recv(4096)   # the ClientHello
            if k == "plain_http":
                c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\nConnection: close\r\n\r\nplain http\n")
            elif k == "random_100k":
                c.sendall(os.urandom(100000))
            elif k == "record_too_long":
                c.sendall(b"\x16\x03\x03" + struct.pack(">H", 16385) + os.urandom(16385))
            else:   # a handshake record stream carrying a 64 KB certificate message
                body = os.urandom(65536)
                msg = b"\x0b" + struct.pack(">I", len(body))[1:] + body
                for i in range(0, len(msg), 16384):
                    part = msg[i:i + 16384]
                    c.sendall(b"\x16\x03\x03" + struct.pack(">H", len(part)) + part)
            t0 = time.monotonic()
            how = "timeout"
            while time.monotonic() - t0 < 5:
                d = c.recv(65536)
                if not d:
                    how = "eof"
                    break
            res.write(json.dumps({"kind": "tls", "scenario": k, "how": how,
                                  "react_s": round(time.monotonic() - t0, 3)}) + "\n")
        except OSError as e:
            res.write(json.dumps({"kind": "tls", "scenario": k, "how": type(e).__name__}) + "\n")
        finally:
            c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--certs")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--mode", default="api")
    ap.add_argument("--ws", default="")
    ap.add_argument("--login", default="")
    ap.add_argument("--assets", default="")
    ap.add_argument("--max-seconds", type=float, default=600)
    ap.add_argument("--hs", default="")
    ap.add_argument("--log-rest", action="store_true")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--hs-list", action="store_true")
    a = ap.parse_args()
    if a.list:
        print(",".join(ws_scenarios()))
        return
    if a.hs_list:
        print(",".join(hs_scenarios()))
        return
    if a.mode == "tls-garbage":
        tls_garbage(a)
        return
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(a.certs, "server.pem"), os.path.join(a.certs, "server.key"))
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    with open(a.port_file, "w") as fh:
        fh.write(f"port={ls.getsockname()[1]}\n")
    Peer(a).run_api(ctx, ls)


if __name__ == "__main__":
    sys.exit(main())
