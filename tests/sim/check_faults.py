"""check_faults.py -- keep-alive timing and fault injection of iotpro-sim, seen from an
independent client. The sim runs with --assets 20 --rate 0 --ping-interval 0.5
--pong-timeout 1.5 --auth-timeout 2 --dynamic-interval 1 (a 20x faster clock for
ThingsBoard's 10 s / 30 s / 10 s / 60 s). Env: SIM_PORT SIM_CTL SIM_CA."""
import asyncio, json, os, socket, ssl, time
import websockets
from simclient import Sim, RawWS, check, done, subscribe_cmd

sim = Sim(int(os.environ["SIM_PORT"]), int(os.environ["SIM_CTL"]), os.environ["SIM_CA"])
tok = sim.login()["token"]
auth = {"cmdId": 0, "token": tok}


def raw_subscribed(cmd_id=1, page_size=5):
    w = RawWS(sim)
    w.send(1, json.dumps({"authCmd": auth, "cmds": [subscribe_cmd(cmd_id, page_size=page_size)]}))
    op, p = w.recv_frame()
    assert op == 1 and json.loads(p)["cmdId"] == cmd_id, (op, p[:100])
    return w


# --- pings: answered keeps the session, unanswered closes 4500 ----------------------------
w = raw_subscribed()
pings, t0, alive = 0, time.monotonic(), True
try:
    while time.monotonic() - t0 < 3.5:
        op, p = w.recv_frame(timeout=3.5 - (time.monotonic() - t0))
        if op == 9:
            pings += 1
            check("server ping has an empty payload", p == b"", p) if pings == 1 else None
            w.send(0xA, p)
        elif op == 8:
            alive = False
            break
except socket.timeout:
    pass
# A ping goes out at a tick when the last pong is >= one interval old; a pong that lands
# a few ms after the ping makes the next tick skip, so one ping per one or two intervals.
check("pings every one or two intervals; answering them keeps the session past the pong timeout",
      alive and pings >= 3, (alive, pings))
w.close()

w = raw_subscribed()
code, reason, secs = w.wait_close(timeout=6, pong=False)
check("no pongs: close 4500 'Closing session due to ping timeout'", (code, reason) == (4500, "Closing session due to ping timeout"), (code, reason))
check("4500 comes after pong timeout, within one more interval", 1.4 <= secs <= 2.6, secs)
w.close()

w = raw_subscribed()
t0 = time.monotonic()
closed = None
while time.monotonic() - t0 < 4 and closed is None:
    w.send(1, json.dumps({"cmds": [{"cmdId": 99, "type": "ENTITY_DATA_UNSUBSCRIBE"}]}))  # text is no keep-alive
    try:
        op, p = w.recv_frame(timeout=0.3)
        if op == 8:
            closed = int.from_bytes(p[:2], "big")
    except socket.timeout:
        pass
check("text messages do not count as keep-alive", closed == 4500, closed)
w.close()

w = RawWS(sim)
code, reason, secs = w.wait_close(timeout=6)
check("auth timeout (2 s here): 1008", code == 1008 and 1.8 <= secs <= 3.5, (code, secs))
w.close()


async def aio():
    url = sim.wss_url()
    # --- close with a given code -----------------------------------------------------------
    async with websockets.connect(url, ssl=sim.ctx) as ws:
        await ws.send(json.dumps({"authCmd": auth, "cmds": [subscribe_cmd(1, page_size=5)]}))
        await ws.recv()
        sim.control("/fault/close?code=1011&reason=Session%20not%20found!")
        try:
            await asyncio.wait_for(ws.recv(), 5)
            check("fault close 1011", False, "no close")
        except websockets.exceptions.ConnectionClosed as e:
            check("fault close delivers code and reason", (e.rcvd.code, e.rcvd.reason) == (1011, "Session not found!"), e)

    # --- errorCode 34, then the session goes on ----------------------------------------------
    async with websockets.connect(url, ssl=sim.ctx) as ws:
        await ws.send(json.dumps({"authCmd": auth, "cmds": [subscribe_cmd(4, page_size=5)]}))
        await ws.recv()
        sim.control("/fault/send?what=error34")
        m = json.loads(await asyncio.wait_for(ws.recv(), 5))
        check("errorCode 34 'Too many updates!' in the legacy shape", m.get("subscriptionId") == 4 and m.get("errorCode") == 34
              and m.get("errorMsg") == "Too many updates!", m)
        sim.control("/rate?n=50")
        m = json.loads(await asyncio.wait_for(ws.recv(), 5))
        sim.control("/rate?n=0")
        check("session stays open after errorCode 34", m.get("cmdId") == 4 and m.get("update"), m)

    # --- malformed frames: the client fails the connection ---------------------------------
    async with websockets.connect(url, ssl=sim.ctx) as ws:
        await ws.send(json.dumps({"authCmd": auth, "cmds": [subscribe_cmd(1, page_size=2)]}))
        await ws.recv()
        sim.control("/fault/send?what=bad-utf8")
        try:
            await asyncio.wait_for(ws.recv(), 5)
            check("invalid UTF-8 text makes the client close 1007", False)
        except websockets.exceptions.ConnectionClosed as e:
            check("invalid UTF-8 text makes the client close 1007", e.sent is not None and e.sent.code == 1007, e)
    async with websockets.connect(url, ssl=sim.ctx) as ws:
        await ws.send(json.dumps({"authCmd": auth, "cmds": [subscribe_cmd(1, page_size=2)]}))
        await ws.recv()
        sim.control("/fault/send?what=bad-json")
        m = await asyncio.wait_for(ws.recv(), 5)
        try:
            json.loads(m)
            check("malformed JSON arrives as a text message", False, m)
        except ValueError:
            check("malformed JSON arrives as a text message", True)
    async with websockets.connect(url, ssl=sim.ctx, max_size=1 << 20) as ws:
        await ws.send(json.dumps({"authCmd": auth, "cmds": [subscribe_cmd(1, page_size=2)]}))
        await ws.recv()
        sim.control("/fault/send?what=oversize&size=4000000")
        try:
            await asyncio.wait_for(ws.recv(), 5)
            check("oversized frame makes the client close 1009", False)
        except websockets.exceptions.ConnectionClosed as e:
            check("oversized frame makes the client close 1009", e.sent is not None and e.sent.code == 1009, e)

    # --- drop in the middle of a frame --------------------------------------------------------
    async with websockets.connect(url, ssl=sim.ctx) as ws:
        await ws.send(json.dumps({"authCmd": auth, "cmds": [subscribe_cmd(1, page_size=5)]}))
        await ws.recv()
        sim.control("/fault/drop-mid-frame")
        sim.control("/rate?n=50")
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        except websockets.exceptions.ConnectionClosed as e:
            check("drop mid-frame: connection lost without a close frame (1006)", e.rcvd is None and e.code == 1006, e)
        except asyncio.TimeoutError:
            check("drop mid-frame: connection lost without a close frame (1006)", False, "timeout")
        sim.control("/rate?n=0")

    # --- dynamic page link: added and removed assets -------------------------------------------
    async with websockets.connect(url, ssl=sim.ctx) as ws:
        await ws.send(json.dumps({"authCmd": auth, "cmds": [subscribe_cmd(5, page_size=100, dynamic=True)]}))
        m = json.loads(await ws.recv())
        n0 = m["data"]["totalElements"]
        new_ids = sim.control("/assets/add?n=2&type=Water%20tank").split()
        m = json.loads(await asyncio.wait_for(ws.recv(), 4))
        ids = [e["entityId"]["id"] for e in (m.get("data") or {}).get("data", [])]
        check("dynamic: a new data page when assets are added", m.get("data") and m["data"]["totalElements"] == n0 + 2
              and set(new_ids) <= set(ids), {k: m[k] for k in m if k != "data"})
        sim.control(f"/assets/remove?id={new_ids[0]}")
        m = json.loads(await asyncio.wait_for(ws.recv(), 4))
        check("dynamic: a new data page when an asset is removed", m.get("data") and m["data"]["totalElements"] == n0 + 1, m.get("data", {}) and m["data"]["totalElements"])
        sim.control(f"/assets/rename?id={new_ids[1]}&name=Renamed%20%22tank%22")
        s, b, _ = sim.http("GET", "/api/user/assets?pageSize=100&page=0&textSearch=renamed", token=tok)
        check("rename shows in REST", s == 200 and [a["name"] for a in b["data"]] == ['Renamed "tank"'], b)

    # --- expiry does not touch an open socket; a new one is refused --------------------------
    async with websockets.connect(url, ssl=sim.ctx) as ws:
        await ws.send(json.dumps({"authCmd": auth, "cmds": [subscribe_cmd(1, page_size=3)]}))
        await ws.recv()
        sim.control("/fault/expire-tokens")
        try:
            async with websockets.connect(url, ssl=sim.ctx) as ws2:
                await ws2.send(json.dumps({"authCmd": auth}))
                await asyncio.wait_for(ws2.recv(), 5)
        except websockets.exceptions.ConnectionClosed as e:
            check("expired token on reconnect: 1007 JWT Token expired", (e.rcvd.code, e.rcvd.reason) == (1007, "JWT Token expired"), e)
        sim.control("/rate?n=50")
        m = json.loads(await asyncio.wait_for(ws.recv(), 5))
        sim.control("/rate?n=0")
        check("the open session keeps receiving after token expiry", m.get("update") is not None, m)
        sim.control("/fault/expire-tokens?clear=1")

asyncio.run(aio())
tok = sim.login()["token"]
auth = {"cmdId": 0, "token": tok}

# --- stall: half-open -------------------------------------------------------------------------
w = raw_subscribed()
sim.control("/rate?n=100")
sim.control("/fault/stall")
time.sleep(0.3)
while True:  # drain what was already on the way
    try:
        w.recv_frame(timeout=0.3)
    except socket.timeout:
        break
got = None
try:
    got = w.recv_frame(timeout=3)
except socket.timeout:
    pass
check("stall: nothing at all arrives (no updates, no pings, no 4500), TCP stays open", got is None, got)
sim.control("/fault/stall?off=1")
op, p = w.recv_frame(timeout=3)
check("stall off: traffic resumes", op in (1, 9), op)
sim.control("/rate?n=0")
w.close()

# --- drop in the middle of a TLS record ---------------------------------------------------
w = raw_subscribed()
sim.control("/fault/drop-mid-record")
err = None
try:
    while True:
        op, p = w.recv_frame(timeout=5)
        if op == 8:
            err = "close frame"
            break
except (ssl.SSLError, EOFError, ConnectionError) as e:
    err = type(e).__name__
except socket.timeout:
    err = "timeout"
check("drop mid-TLS-record: a TLS-level error or EOF, no close frame", err in ("SSLError", "SSLEOFError", "EOFError", "ConnectionResetError"), err)
w.close()

# --- refuse connections for a while --------------------------------------------------------
sim.control("/fault/refuse?seconds=1.5")
try:
    socket.create_connection(("127.0.0.1", sim.port), timeout=2).close()
    refused = False
except ConnectionRefusedError:
    refused = True
check("refuse: connections are refused", refused)
time.sleep(2)
s, b, _ = sim.http("POST", "/api/auth/login", {"username": "tenant@thingsboard.org", "password": "tenant"})
check("refuse: the listener comes back", s == 200, s)
st = sim.stats()
check("stats: pings and pongs counted", st["pings_sent"] >= 5 and st["pongs_received"] >= 5, st)
done()
