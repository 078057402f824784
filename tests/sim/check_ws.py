"""check_ws.py -- /api/ws of iotpro-sim through python3-websockets (an independent client):
authCmd + ENTITY_DATA, the initial data page, one-entity updates with only changed keys,
number forms, error shapes, unsubscribe, close codes 1007/1008/1009, ground truth.
Env: SIM_PORT SIM_CTL SIM_CA. The sim runs with --assets 60 --rate 0."""
import asyncio, json, os, re, struct, time
import websockets
from simclient import Sim, RawWS, check, done, subscribe_cmd

sim = Sim(int(os.environ["SIM_PORT"]), int(os.environ["SIM_CTL"]), os.environ["SIM_CA"])
TS_KEYS = ("device_id", "temperature", "battery", "odometer", "door_open", "telemetry_param_latitude")


def closed_code(e):
    r = getattr(e, "rcvd", None)
    return (r.code, r.reason) if r is not None else (e.code, e.reason)


async def recv_json(ws, timeout=5):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def quiet(ws, seconds):
    """True if nothing arrives for `seconds`."""
    try:
        m = await asyncio.wait_for(ws.recv(), seconds)
        return m
    except asyncio.TimeoutError:
        return None


async def expect_close(first, timeout=15, path="/api/ws", send_bytes=None):
    t0 = time.monotonic()
    try:
        async with websockets.connect(sim.wss_url(path), ssl=sim.ctx, max_size=None) as ws:
            if first is not None:
                await ws.send(first if send_bytes is None else send_bytes)
            await asyncio.wait_for(ws.recv(), timeout)
            return None, None, 0
    except websockets.exceptions.ConnectionClosed as e:
        c, r = closed_code(e)
        return c, r, time.monotonic() - t0


async def main():
    tok = sim.login()["token"]
    auth = {"cmdId": 0, "token": tok}
    url = sim.wss_url()

    # --- subscribe: the initial data page -------------------------------------------
    async with websockets.connect(url, ssl=sim.ctx, max_size=None) as ws:
        await ws.send(json.dumps({"authCmd": auth, "cmds": [subscribe_cmd(1, page_size=50, keys=TS_KEYS)]}))
        m = await recv_json(ws)
        check("data page: every EntityDataUpdate field present",
              set(m) == {"cmdId", "errorCode", "errorMsg", "data", "update", "allowedEntities", "cmdUpdateType"}, list(m))
        check("data page: cmdId 1, errorCode 0, update null, ENTITY_DATA",
              m["cmdId"] == 1 and m["errorCode"] == 0 and m["errorMsg"] is None and m["update"] is None
              and m["cmdUpdateType"] == "ENTITY_DATA" and m["allowedEntities"] == 10000, {k: m[k] for k in m if k != "data"})
        page = m["data"]
        check("data page: PageData totals", page["totalElements"] == 60 and page["totalPages"] == 2 and page["hasNext"] is True
              and len(page["data"]) == 50, {k: page[k] for k in page if k != "data"})
        e = page["data"][0]
        check("EntityData shape with PE readAttrs/readTs", set(e) == {"entityId", "latest", "timeseries", "aggLatest", "readAttrs", "readTs"}
              and e["entityId"]["entityType"] == "ASSET" and e["timeseries"] == {} and e["aggLatest"] == {}, list(e))
        check("latest grouped by key type", set(e["latest"]) <= {"TIME_SERIES", "SERVER_ATTRIBUTE", "ENTITY_FIELD"}
              and set(e["latest"]["TIME_SERIES"]) == set(TS_KEYS) and "name" in e["latest"]["ENTITY_FIELD"], e["latest"].keys())
        vals = [(eid["entityId"]["id"], k, v) for eid in page["data"] for t in eid["latest"].values() for k, v in t.items()]
        check("every value is a string with a ts", all(isinstance(v["value"], str) and isinstance(v["ts"], int) for _, _, v in vals))
        missing = [(a, k) for a, k, v in vals if v["ts"] == 0]
        check("missing keys as ts 0 and value \"\"", missing and all(v["value"] == "" for _, _, v in vals if v["ts"] == 0), len(missing))
        now_ms = time.time() * 1000
        ef = [v["ts"] for eid in page["data"] for v in eid["latest"]["ENTITY_FIELD"].values()]
        check("ENTITY_FIELD ts is the server's now", all(abs(t - now_ms) < 10000 for t in ef))
        details = [eid["latest"].get("SERVER_ATTRIBUTE", {}).get("assetDetails") for eid in page["data"]]
        check("assetDetails arrives as a JSON string (or ts 0 when absent)",
              all(d["ts"] == 0 or isinstance(json.loads(d["value"]), dict) for d in details)
              and any(d["ts"] == 0 for d in details) and any(d["ts"] > 0 for d in details))
        nums = [v["value"] for a, k, v in vals if k in ("temperature", "odometer") and v["ts"]]
        check("page numbers in SQL form: no '.0', no exponent", nums and not any(re.search(r"\.0$|E", n) for n in nums), nums[:5])
        check("page numbers: some whole values like \"25\"", any(re.fullmatch(r"-?\d+", n) for n in nums), nums[:10])
        baseline = {(a, k): v for a, k, v in vals}

        # --- no acknowledgement for authCmd, nothing without changes -------------------
        check("no message after the data page while nothing changes", await quiet(ws, 1.0) is None)

        # --- updates -------------------------------------------------------------------
        sim.control("/rate?n=300")
        updates = []
        t_end = time.monotonic() + 2.5
        while time.monotonic() < t_end:
            updates.append(await recv_json(ws))
        sim.control("/rate?n=0")
        while True:  # drain
            r = await quiet(ws, 0.5)
            if r is None:
                break
            updates.append(json.loads(r))
        check("updates arrive at the steady rate", len(updates) > 200, len(updates))
        shape_ok = all(u["data"] is None and u["cmdId"] == 1 and u["errorCode"] == 0 and len(u["update"]) == 1
                       and u["update"][0]["timeseries"] is None and u["update"][0]["aggLatest"] is None
                       and u["cmdUpdateType"] == "ENTITY_DATA" for u in updates)
        check("update shape: data null, one entity, timeseries/aggLatest null", shape_ok)
        only_changed = all(list(u["update"][0]["latest"]) == ["TIME_SERIES"] and 1 <= len(u["update"][0]["latest"]["TIME_SERIES"]) <= 2
                           for u in updates)
        check("updates carry only the changed keys of one key type", only_changed)
        upd_nums = [v["value"] for u in updates for k, v in u["update"][0]["latest"]["TIME_SERIES"].items()
                    if k in ("temperature", "odometer", "telemetry_param_latitude")]
        check("update numbers in Java form: whole doubles end in .0", any(n.endswith(".0") for n in upd_nums), upd_nums[:10])
        check("update numbers in Java form: large doubles as 1.2345E7", any(re.fullmatch(r"\d\.\d+E\d+", n) for n in upd_nums), upd_nums[:10])
        last = dict(baseline)
        newer = True
        for u in updates:
            aid = u["update"][0]["entityId"]["id"]
            for k, v in u["update"][0]["latest"]["TIME_SERIES"].items():
                newer &= v["ts"] > last[(aid, k)]["ts"]
                last[(aid, k)] = v
        check("every update is newer than what the client had", newer)

        # --- ground truth equals what the client saw -------------------------------------
        truth = sim.truth("?scope=subscribed")
        mism = []
        for (aid, k), v in last.items():
            if k in ("name", "type"):
                continue
            t = truth.get((aid, k))
            if v["ts"] == 0:
                if t is not None:
                    mism.append((aid, k, "truth has a value for a missing key"))
                continue
            if t is None or t[0] != v["ts"]:
                mism.append((aid, k, v, t))
                continue
            try:
                same = float(t[1]) == float(v["value"])
            except ValueError:
                same = t[1] == v["value"]
            if not same:
                mism.append((aid, k, v, t))
        check("/truth matches the client's last values exactly", not mism and len(truth) > 100, mism[:3])

        # --- error replies ---------------------------------------------------------------
        await ws.send(json.dumps({"cmds": [dict(subscribe_cmd(2), bogus=1)]}))
        m = await recv_json(ws)
        check("unknown command field: Failed to parse the payload, subscriptionId 1",
              m == {"subscriptionId": 1, "errorCode": 2, "errorMsg": "Failed to parse the payload", "data": None, "latestValues": {}}, m)
        await ws.send(json.dumps({"tsSubCmds": [], "historyCmds": [], "attrSubCmds": []}))
        m = await recv_json(ws)
        check("legacy wrapper on /api/ws: Failed to parse the payload", m.get("subscriptionId") == 1 and m.get("errorMsg") == "Failed to parse the payload", m)
        await ws.send(json.dumps({"cmds": [subscribe_cmd(-5)]}))
        m = await recv_json(ws)
        check("negative cmdId: legacy shape, errorCode 2", m.get("subscriptionId") == -5 and m.get("errorCode") == 2
              and m.get("errorMsg") == "Cmd id is negative value!", m)
        await ws.send(json.dumps({"cmds": [{"cmdId": 7, "type": "ENTITY_DATA"}]}))
        m = await recv_json(ws)
        check("no query: Query is empty!", m.get("subscriptionId") == 7 and m.get("errorMsg") == "Query is empty!", m)
        await ws.send(json.dumps({"cmds": [subscribe_cmd(8, latest_values=False)]}))
        m = await recv_json(ws)
        check("latestCmd without query.latestValues: errorCode 1 for that cmdId",
              m.get("subscriptionId") == 8 and m.get("errorCode") == 1 and "getLatestValues" in m.get("errorMsg", ""), m)
        await ws.send(json.dumps({"authCmd": auth, "cmds": [subscribe_cmd(3, page_size=5, page=1, keys=("battery",), details=False)]}))
        m = await recv_json(ws)
        check("second subscription (authCmd ignored once authenticated)", m.get("cmdId") == 3 and len(m["data"]["data"]) == 5
              and m["data"]["data"][0]["entityId"]["id"] == page["data"][5]["entityId"]["id"], m.get("cmdId"))

        # --- unsubscribe -------------------------------------------------------------
        await ws.send(json.dumps({"cmds": [{"cmdId": 1, "type": "ENTITY_DATA_UNSUBSCRIBE"}]}))
        check("unsubscribe has no reply", await quiet(ws, 0.7) is None)
        sim.control("/rate?n=300")
        got = []
        t_end = time.monotonic() + 1.5
        while time.monotonic() < t_end:
            r = await quiet(ws, 0.2)
            if r:
                got.append(json.loads(r))
        sim.control("/rate?n=0")
        check("after unsubscribe only the other cmdId gets updates", got and all(u.get("cmdId") == 3 for u in got),
              {u.get("cmdId") for u in got})
        # deleted key: {"ts":0,"value":""}
        while await quiet(ws, 0.5) is not None:
            pass
        aid = page["data"][5]["entityId"]["id"]
        sim.control(f"/delete?id={aid}&key=battery")
        m = await recv_json(ws)
        v = m["update"][0]["latest"]["TIME_SERIES"]["battery"] if m.get("update") else None
        check("deleted key pushed as ts 0, value \"\"", v == {"ts": 0, "value": ""}, m)

    # --- four concurrent clients --------------------------------------------------------
    async def one(i):
        async with websockets.connect(url, ssl=sim.ctx) as w:
            await w.send(json.dumps({"authCmd": auth, "cmds": [subscribe_cmd(10 + i, page_size=10, page=i % 6)]}))
            d = await recv_json(w)
            return d["cmdId"] == 10 + i and len(d["data"]["data"]) == 10
    res = await asyncio.gather(*(one(i) for i in range(6)))
    check("six concurrent sessions each get their page", all(res), res)

    # --- closes -------------------------------------------------------------------------
    code, reason, _ = await expect_close(json.dumps({"authCmd": {"cmdId": 0, "token": tok[:-3] + "abc"}}))
    check("bad signature: close 1007 JWT Token expired", (code, reason) == (1007, "JWT Token expired"), (code, reason))
    code, reason, _ = await expect_close(json.dumps({"authCmd": {"cmdId": 0, "token": "not-a-jwt"}}))
    check("malformed token: close 1007 Invalid JWT token", code == 1007 and reason.startswith("Invalid JWT token"), (code, reason))
    code, reason, _ = await expect_close(json.dumps({"authCmd": {"cmdId": 0, "token": "Bearer " + tok}}))
    check("'Bearer ' prefix in authCmd is rejected with 1007", code == 1007, (code, reason))
    code, reason, _ = await expect_close(json.dumps({"cmds": [subscribe_cmd(1)]}))
    check("first message without authCmd: 1008 Auth cmd is missing", (code, reason) == (1008, "Auth cmd is missing"), (code, reason))
    code, reason, _ = await expect_close("hello")
    check("unparseable first message: 1007 echoing the payload", code == 1007 and "hello" in reason and len(reason.encode()) <= 123, (code, reason))
    code, reason, _ = await expect_close(None, path="/api/ws/")
    check("path /api/ws/: 1007 Unknown session type", (code, reason) == (1007, "Unknown session type"), (code, reason))
    big = json.dumps({"authCmd": auth, "cmds": [], "pad": "x" * 40000})
    code, reason, _ = await expect_close(big)
    check("client message over 32 KiB: close 1009", code == 1009, (code, reason))
    sized = json.dumps({"authCmd": auth, "cmds": [subscribe_cmd(1, page_size=1)]})
    sized = sized[:-1] + " " * (32768 - len(sized) - 1) + "}"
    async with websockets.connect(url, ssl=sim.ctx, max_size=None) as ws:
        await ws.send(sized)
        m = await recv_json(ws)
        check("a 32768-byte message is still accepted", m.get("cmdId") == 1, len(sized))
    code, reason, secs = await expect_close(None, timeout=25)
    check("no authCmd within 10 s: close 1008, no reason", code == 1008 and reason == "" and 9.5 <= secs <= 14, (code, reason, secs))
    st = sim.stats()
    check("stats count sessions and auth", st["ws_connects"] >= 15 and st["ws_auth_ok"] >= 8 and st["ws_auth_failed"] >= 5
          and st["subscriptions"] >= 8 and st["unsubscribes"] >= 1, st)

asyncio.run(main())
done()
