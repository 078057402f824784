"""flood_reader.py -- minimal WebSocket reader for measuring iotpro-sim's flood mode.

Logs in over REST, opens wss://.../api/ws by hand on a raw TLS socket (so the client
costs little more than OpenSSL's decryption), subscribes one page of assets, answers
nothing and reads for SECONDS, then prints "bytes N seconds S". The message count comes
from the simulator's /stats (flood_msgs).

usage: /usr/bin/python3 flood_reader.py HOST PORT CAFILE SECONDS [PAGESIZE] [check]

With "check" it also parses every frame (each text message must be UTF-8 JSON) and,
one second in, sends a second ENTITY_DATA command so that its reply has to be queued
between flood frames; it then prints "frames N bad N reply_seen 0|1".
"""
import base64, json, os, socket, ssl, sys, time, urllib.request

host, port, ca, secs = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
page = int(sys.argv[5]) if len(sys.argv) > 5 else 100
check = len(sys.argv) > 6 and sys.argv[6] == "check"
ctx = ssl.create_default_context(cafile=ca)
req = urllib.request.Request(f"https://{host}:{port}/api/auth/login",
                             data=b'{"username":"tenant@thingsboard.org","password":"tenant"}')
tok = json.load(urllib.request.urlopen(req, context=ctx))["token"]
s = ctx.wrap_socket(socket.create_connection((host, port)), server_hostname=host)
key = base64.b64encode(os.urandom(16)).decode()
s.sendall((f"GET /api/ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(4096)
assert head.startswith(b"HTTP/1.1 101"), head
rest = head.split(b"\r\n\r\n", 1)[1]
cmd = json.dumps({"authCmd": {"cmdId": 0, "token": tok}, "cmds": [{"cmdId": 1, "type": "ENTITY_DATA",
       "query": {"entityFilter": {"type": "entityType", "entityType": "ASSET"},
                 "pageLink": {"pageSize": page, "page": 0}, "latestValues": []},
       "latestCmd": {"keys": [{"type": "TIME_SERIES", "key": "temperature"},
                              {"type": "TIME_SERIES", "key": "battery"}]}}]}).encode()


def masked(payload):
    mask = os.urandom(4)
    return (bytes([0x81, 0xFE]) + len(payload).to_bytes(2, "big") + mask
            + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def frames(buf):
    """Yields (opcode, payload) of the complete server frames at the head of buf; returns
    the unparsed rest through the generator's return value."""
    pos = 0
    while len(buf) - pos >= 2:
        op, ln = buf[pos] & 0x0F, buf[pos + 1] & 0x7F
        hdr = 2
        if ln == 126:
            if len(buf) - pos < 4:
                break
            ln, hdr = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
        elif ln == 127:
            if len(buf) - pos < 10:
                break
            ln, hdr = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
        if len(buf) - pos < hdr + ln:
            break
        yield op, buf[pos + hdr:pos + hdr + ln]
        pos += hdr + ln
    return pos


s.sendall(masked(cmd))
total = len(rest)
buf, nframes, bad, reply_seen, second_sent = bytearray(rest), 0, 0, 0, False
t0 = time.monotonic()
while time.monotonic() - t0 < secs:
    d = s.recv(1 << 20)
    if not d:
        break
    total += len(d)
    if not check:
        continue
    if not second_sent and time.monotonic() - t0 > 1:
        second = json.loads(cmd)
        second["cmds"][0]["cmdId"] = 2
        second["cmds"][0]["query"]["pageLink"]["page"] = 1
        del second["authCmd"]
        s.sendall(masked(json.dumps(second).encode()))
        second_sent = True
    buf += d
    gen = frames(buf)
    while True:
        try:
            op, payload = next(gen)
        except StopIteration as e:
            del buf[:e.value]
            break
        nframes += 1
        if op == 1:
            try:
                msg = json.loads(payload.decode("utf-8"))
                if msg.get("cmdId") == 2:
                    reply_seen = 1
            except (UnicodeDecodeError, ValueError):
                bad += 1
        elif op not in (2, 9, 10):
            bad += 1
print(f"bytes {total} seconds {time.monotonic() - t0:.3f}")
if check:
    print(f"frames {nframes} bad {bad} reply_seen {reply_seen}")
