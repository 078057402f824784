"""flood_reader.py -- minimal WebSocket reader for measuring iotpro-sim's flood mode.

Logs in over REST, opens wss://.../api/ws by hand on a raw TLS socket (so the client
costs little more than OpenSSL's decryption), subscribes one page of assets, answers
nothing and reads for SECONDS, then prints "bytes N seconds S". The message count comes
from the simulator's /stats (flood_msgs).

usage: /usr/bin/python3 flood_reader.py HOST PORT CAFILE SECONDS [PAGESIZE]
"""
import base64, json, os, socket, ssl, sys, time, urllib.request

host, port, ca, secs = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
page = int(sys.argv[5]) if len(sys.argv) > 5 else 100
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
mask = os.urandom(4)
frame = bytes([0x81, 0xFE]) + len(cmd).to_bytes(2, "big") + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(cmd))
s.sendall(frame)
total = len(rest)
t0 = time.monotonic()
while time.monotonic() - t0 < secs:
    d = s.recv(1 << 20)
    if not d:
        break
    total += len(d)
print(f"bytes {total} seconds {time.monotonic() - t0:.3f}")
