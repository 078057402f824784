"""simclient.py -- an independent client for testing iotpro-sim (not our C client).

Uses only Debian's python3 stdlib plus python3-websockets 10.4 (run with /usr/bin/python3).
RawWS is a deliberately small hand-written WebSocket reader on a TLS socket for the cases
websockets hides: seeing server pings, not answering them, oversize messages.
Every check prints one line of the ok / not ok protocol that tests/run.sh counts.
"""
import base64, json, os, socket, ssl, struct, sys, time, urllib.error, urllib.request

FAILED = 0


def check(name, cond, detail=""):
    global FAILED
    if cond:
        print(f"ok - {name}", flush=True)
    else:
        FAILED = 1
        print(f"not ok - {name}{': ' + str(detail) if detail else ''}", flush=True)
    return cond


def done():
    sys.exit(FAILED)


class Sim:
    def __init__(self, port, ctl, ca, host="localhost"):
        self.host, self.port, self.ctl, self.ca = host, port, ctl, ca
        self.ctx = ssl.create_default_context(cafile=ca) if ca else None
        self.scheme = "https" if ca else "http"

    def http(self, method, path, body=None, token=None, raw=False):
        """Returns (status, parsed JSON or text, headers)."""
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        req = urllib.request.Request(f"{self.scheme}://{self.host}:{self.port}{path}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("X-Authorization", "Bearer " + token)
        try:
            r = urllib.request.urlopen(req, context=self.ctx, timeout=30)
            status, text, hdrs = r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            status, text, hdrs = e.code, e.read(), e.headers
        text = text.decode("utf-8")
        if raw:
            return status, text, hdrs
        try:
            return status, json.loads(text), hdrs
        except ValueError:
            return status, text, hdrs

    def login(self, user="tenant@thingsboard.org", password="tenant"):
        s, b, _ = self.http("POST", "/api/auth/login", {"username": user, "password": password})
        assert s == 200, (s, b)
        return b

    def control(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ctl}{path}", timeout=30) as r:
            return r.read().decode("utf-8")

    def stats(self):
        return {l.split()[0]: int(l.split()[1]) for l in self.control("/stats").splitlines()}

    def truth(self, q=""):
        rows = {}
        for line in self.control("/truth" + q).splitlines():
            aid, key, ts, val = line.split("\t", 3)
            rows[(aid, key)] = (int(ts), val.replace("\\t", "\t").replace("\\n", "\n").replace("\\\\", "\\"))
        return rows

    def wss_url(self, path="/api/ws"):
        return f"{'wss' if self.ca else 'ws'}://{self.host}:{self.port}{path}"


def jwt_claims(tok):
    part = tok.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def subscribe_cmd(cmd_id, page_size=10, page=0, keys=("temperature", "battery", "device_id"),
                  details=True, dynamic=False, latest_values=True, extra=None):
    ks = [{"type": "TIME_SERIES", "key": k} for k in keys]
    if details:
        ks.append({"type": "SERVER_ATTRIBUTE", "key": "assetDetails"})
    query = {"entityFilter": {"type": "entityType", "entityType": "ASSET"},
             "pageLink": {"pageSize": page_size, "page": page, "dynamic": dynamic,
                          "sortOrder": {"key": {"type": "ENTITY_FIELD", "key": "createdTime"}, "direction": "ASC"}},
             "entityFields": [{"type": "ENTITY_FIELD", "key": "name"}, {"type": "ENTITY_FIELD", "key": "type"}]}
    if latest_values:
        query["latestValues"] = []
    cmd = {"cmdId": cmd_id, "type": "ENTITY_DATA", "query": query, "latestCmd": {"keys": ks}}
    if extra:
        cmd.update(extra)
    return cmd


class RawWS:
    """Blocking WebSocket client on a (TLS) socket: enough framing for tests."""

    def __init__(self, sim, path="/api/ws", rcvbuf=None):
        if rcvbuf:
            # set before connect, so the window the server sees stays small
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            s.settimeout(30)
            s.connect((sim.host, sim.port))
        else:
            s = socket.create_connection((sim.host, sim.port), timeout=30)
        self.s = sim.ctx.wrap_socket(s, server_hostname=sim.host) if sim.ctx else s
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((f"GET {path} HTTP/1.1\r\nHost: {sim.host}:{sim.port}\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            d = self.s.recv(4096)
            if not d:
                raise EOFError("no handshake response")
            self.buf += d
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        self.status = int(head.split()[1])

    def send(self, opcode, payload):
        if isinstance(payload, str):
            payload = payload.encode()
        mask = os.urandom(4)
        n = len(payload)
        hdr = bytes([0x80 | opcode])
        if n < 126:
            hdr += bytes([0x80 | n])
        elif n < 65536:
            hdr += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            hdr += bytes([0x80 | 127]) + struct.pack(">Q", n)
        self.s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _need(self, n, deadline):
        while len(self.buf) < n:
            self.s.settimeout(max(0.01, deadline - time.monotonic()))
            d = self.s.recv(1 << 16)
            if not d:
                raise EOFError("connection closed")
            self.buf += d

    def recv_frame(self, timeout=10):
        """Returns (opcode, payload); raises socket.timeout / EOFError."""
        deadline = time.monotonic() + timeout
        self._need(2, deadline)
        op, ln = self.buf[0] & 0x0F, self.buf[1] & 0x7F
        at = 2
        if ln == 126:
            self._need(4, deadline)
            ln, at = struct.unpack(">H", self.buf[2:4])[0], 4
        elif ln == 127:
            self._need(10, deadline)
            ln, at = struct.unpack(">Q", self.buf[2:10])[0], 10
        self._need(at + ln, deadline)
        payload, self.buf = self.buf[at:at + ln], self.buf[at + ln:]
        return op, payload

    def wait_close(self, timeout=20, pong=True):
        """Reads until a close frame; answers pings if pong. Returns (code, reason, seconds)."""
        t0 = time.monotonic()
        while True:
            op, p = self.recv_frame(timeout - (time.monotonic() - t0))
            if op == 8:
                code = struct.unpack(">H", p[:2])[0] if len(p) >= 2 else 1005
                return code, p[2:].decode("utf-8", "replace"), time.monotonic() - t0
            if op == 9 and pong:
                self.send(0xA, p)

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass
