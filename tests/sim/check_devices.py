"""check_devices.py -- devices in iotpro-sim through an independent client (stdlib +
python3-websockets): the device listings of PE and CE (and CE's 400 for /api/user/devices),
the Device JSON, device attributes over REST, ENTITY_DATA for DEVICE (entityType,
deviceType, singleEntity, entityList), connectivity attributes (active flips after
/fault/quiet and the inactivity timeout, back on activity), /fault/set-attr pushes, /truth
and /stats for devices, the subscription limit counting device subscriptions.
Env: SIM_PORT SIM_CTL SIM_CA. The sim runs with --assets 12 --devices 30 --rate 20
--inactivity-timeout 1.5 (a PE tenant admin)."""
import asyncio, json, os, re, time, urllib.error
import websockets
from simclient import Sim, check, done

sim = Sim(int(os.environ["SIM_PORT"]), int(os.environ["SIM_CTL"]), os.environ["SIM_CA"])
NDEV, NASSET, TIMEOUT = 30, 12, 1.5
OTHER = "0b0c0d0e-1111-11ef-8000-000000000001"
DEVICE_FIELDS = {"id", "createdTime", "tenantId", "customerId", "name", "type", "label", "deviceProfileId",
                 "firmwareId", "softwareId", "externalId", "version", "additionalInfo", "deviceData"}
tok = sim.login()["token"]


def get(path):
    return sim.http("GET", path, token=tok)[:2]


# --- REST listings ----------------------------------------------------------------------
s, b = get(f"/api/user/devices?pageSize=100&page=0")
devs = b["data"] if s == 200 else []
check("PE /api/user/devices lists every device", s == 200 and b["totalElements"] == NDEV and len(devs) == NDEV
      and b["totalPages"] == 1 and b["hasNext"] is False, (s, b if s != 200 else b["totalElements"]))
check("Device JSON: ThingsBoard's fields plus PE's ownerId", all(set(d) == DEVICE_FIELDS | {"ownerId"} for d in devs),
      devs and sorted(devs[0]))
d0 = devs[0] if devs else {}
check("Device JSON: DEVICE id, DEVICE_PROFILE, default deviceData, null firmware/software",
      d0.get("id", {}).get("entityType") == "DEVICE" and d0["deviceProfileId"]["entityType"] == "DEVICE_PROFILE"
      and d0["deviceData"] == {"configuration": {"type": "DEFAULT"}, "transportConfiguration": {"type": "DEFAULT"}}
      and d0["firmwareId"] is None and d0["softwareId"] is None and d0["customerId"]["entityType"] == "CUSTOMER"
      and isinstance(d0["createdTime"], int) and isinstance(d0["label"], str), d0)
check("some device names are non-ASCII UTF-8 (seed 1: 2 of 30)", sum(not d["name"].isascii() for d in devs) >= 1)
types = {d["type"] for d in devs}
check("device profiles are default, Tracker and Meter", types == {"default", "Tracker", "Meter"}, types)
profile_ids = {}
for d in devs:
    profile_ids.setdefault(d["type"], set()).add(d["deviceProfileId"]["id"])
check("one deviceProfileId per profile name", all(len(v) == 1 for v in profile_ids.values()), profile_ids)
assets = get("/api/user/assets?pageSize=100&page=0")[1]["data"]
asset_ids = {a["id"]["id"] for a in assets}
dev_ids = [d["id"]["id"] for d in devs]
check("device ids are unique and never asset ids", len(set(dev_ids)) == NDEV and not (set(dev_ids) & asset_ids))
check("the asset listing holds no device", len(assets) == NASSET and all(a["id"]["entityType"] == "ASSET" for a in assets))
s, b = get("/api/user/devices?pageSize=100&page=0&type=Tracker")
check("type= filters by device profile name", s == 200 and b["totalElements"] == sum(d["type"] == "Tracker" for d in devs)
      and all(d["type"] == "Tracker" for d in b["data"]), b if s != 200 else b["totalElements"])
s, b = get("/api/user/devices?pageSize=100&page=0&textSearch=METER")
check("textSearch is a case-insensitive name substring", s == 200 and b["totalElements"] == sum("meter" in d["name"].lower() for d in devs), s)
s, b = get("/api/user/devices?pageSize=7&page=4&sortProperty=createdTime&sortOrder=DESC")
check("paging and sorting: the last page", s == 200 and len(b["data"]) == 2 and b["hasNext"] is False and b["totalPages"] == 5
      and [d["id"]["id"] for d in b["data"]] == dev_ids[1::-1], s)
s, b = get("/api/user/devices?page=0")
check("missing pageSize is 400, errorCode 31", s == 400 and b.get("errorCode") == 31, (s, b))
s, b = get("/api/tenant/devices?pageSize=100&page=0")
check("PE also lists at /api/tenant/devices (tenant admin)", s == 200 and b["totalElements"] == NDEV, s)
s, b = get(f"/api/customer/{OTHER}/devices?pageSize=5&page=0")
check("a customer's device listing is empty (nothing assigned)", s == 200 and b["data"] == [] and b["totalElements"] == 0, (s, b))
s, b = get("/api/customer/not-a-uuid/devices?pageSize=5&page=0")
check("a malformed customer id is 400 'Invalid UUID string', errorCode 31",
      s == 400 and b.get("message") == "Invalid UUID string: not-a-uuid" and b.get("errorCode") == 31, (s, b))
s, b = sim.http("GET", "/api/user/devices?pageSize=5&page=0")[:2]
check("the device listing needs a token (401)", s == 401, s)

sim.control("/fault/edition?ce=1")
s, b = get("/api/user/devices?pageSize=5&page=0")
check("CE: /api/user/devices is 400 'Invalid UUID string: devices', errorCode 31",
      s == 400 and b.get("message") == "Invalid UUID string: devices" and b.get("errorCode") == 31, (s, b))
s, b = get("/api/tenant/devices?pageSize=100&page=0")
check("CE: /api/tenant/devices lists them, without PE's ownerId",
      s == 200 and b["totalElements"] == NDEV and all(set(d) == DEVICE_FIELDS for d in b["data"]), s)
sim.control("/reset")
check("/reset: back to PE", get("/api/user/devices?pageSize=1&page=0")[0] == 200)

# --- REST attributes ---------------------------------------------------------------------
D = dev_ids[3]
s, b = get(f"/api/plugins/telemetry/DEVICE/{D}/values/attributes/SERVER_SCOPE")
attrs = {a["key"]: a for a in b} if s == 200 else {}
check("device attributes: active (boolean), lastActivityTime and lastConnectTime (ms numbers)",
      attrs.get("active", {}).get("value") is True and isinstance(attrs.get("lastActivityTime", {}).get("value"), int)
      and isinstance(attrs.get("lastConnectTime", {}).get("value"), int) and "assetDetails" not in attrs, b)
s, b = get(f"/api/plugins/telemetry/DEVICE/{D}/values/attributes/SERVER_SCOPE?keys=active,lastActivityTime")
check("keys= selects exact attribute names", s == 200 and sorted(a["key"] for a in b) == ["active", "lastActivityTime"], b)
s, b = get(f"/api/plugins/telemetry/DEVICE/{D}/keys/attributes/SERVER_SCOPE")
check("keys/attributes names the device's attributes", s == 200 and "active" in b and "lastActivityTime" in b, b)
s, b = get(f"/api/plugins/telemetry/DEVICE/{next(iter(asset_ids))}/values/attributes/SERVER_SCOPE")
check("an asset id under DEVICE is 404 'Device with requested id wasn't found!'",
      s == 404 and b == "Device with requested id wasn't found!", (s, b))
fw = cap = 0
for i in dev_ids + list(asset_ids):
    kind = "DEVICE" if i in dev_ids else "ASSET"
    keys = {a["key"]: a["value"] for a in get(f"/api/plugins/telemetry/{kind}/{i}/values/attributes?keys=firmware,capacity")[1]}
    fw += isinstance(keys.get("firmware"), str) and re.fullmatch(r"\d+\.\d+\.\d+", keys["firmware"]) is not None
    cap += isinstance(keys.get("capacity"), (int, float))
check("firmware (\"x.y.z\") and capacity (a number) on most assets and devices",
      fw >= 0.7 * (NDEV + NASSET) and cap >= 0.7 * (NDEV + NASSET) and fw < NDEV + NASSET + 1, (fw, cap))


# --- WebSocket ---------------------------------------------------------------------------
def cmd(cmd_id, flt, keys=("temperature", "battery"), attrs=("active", "lastActivityTime", "firmware", "capacity"), size=100):
    ks = [{"type": "TIME_SERIES", "key": k} for k in keys] + [{"type": "SERVER_ATTRIBUTE", "key": k} for k in attrs]
    return {"cmdId": cmd_id, "type": "ENTITY_DATA",
            "query": {"entityFilter": flt, "pageLink": {"pageSize": size, "page": 0},
                      "entityFields": [{"type": "ENTITY_FIELD", "key": "name"}, {"type": "ENTITY_FIELD", "key": "type"}],
                      "latestValues": []},
            "latestCmd": {"keys": ks}}


class Reader:
    def __init__(self, ws):
        self.ws, self.msgs = ws, []
        self.task = asyncio.ensure_future(self.run())

    async def run(self):
        try:
            async for m in self.ws:
                self.msgs.append(json.loads(m))
        except websockets.exceptions.ConnectionClosed:
            pass

    async def wait(self, pred, timeout):
        t0, seen = time.monotonic(), 0
        while time.monotonic() - t0 < timeout:
            while seen < len(self.msgs):
                seen += 1
                if pred(self.msgs[seen - 1]):
                    return self.msgs[seen - 1], time.monotonic() - t0
            await asyncio.sleep(0.02)
        return None, time.monotonic() - t0


def attr_update(m, cmd_id, dev, key, value=None):
    for e in (m.get("update") or []) if m.get("cmdId") == cmd_id else []:
        v = e["latest"].get("SERVER_ATTRIBUTE", {}).get(key)
        if e["entityId"]["id"] == dev and v is not None and (value is None or v["value"] == value):
            return v
    return None


async def main():
    url = sim.wss_url()
    async with websockets.connect(url, ssl=sim.ctx, max_size=None) as ws:
        await ws.send(json.dumps({"authCmd": {"cmdId": 0, "token": tok},
                                  "cmds": [cmd(1, {"type": "entityType", "entityType": "DEVICE"})]}))
        r = Reader(ws)
        m, _ = await r.wait(lambda m: m.get("cmdId") == 1 and m.get("data"), 5)
        page = m["data"]["data"] if m else []
        check("entityType DEVICE: a data page with every device", m and m["data"]["totalElements"] == NDEV and len(page) == NDEV
              and all(e["entityId"]["entityType"] == "DEVICE" for e in page)
              and [e["entityId"]["id"] for e in page] == dev_ids, m and m["data"]["totalElements"])
        sa = [e["latest"].get("SERVER_ATTRIBUTE", {}) for e in page]
        check("page: active \"true\" and lastActivityTime as text with ts",
              sa and all(a["active"]["value"] == "true" and a["active"]["ts"] > 0 and re.fullmatch(r"\d{13}", a["lastActivityTime"]["value"])
                         for a in sa), sa[:1])
        check("page: firmware and capacity as strings, or ts 0 when absent",
              all(isinstance(a["firmware"]["value"], str) and (a["firmware"]["ts"] > 0) == (a["firmware"]["value"] != "") for a in sa))
        upd, _ = await r.wait(lambda m: m.get("cmdId") == 1 and m.get("update") and "TIME_SERIES" in m["update"][0]["latest"], 5)
        check("telemetry updates for devices", upd and upd["update"][0]["entityId"]["entityType"] == "DEVICE", upd)
        act, _ = await r.wait(lambda m: m.get("cmdId") == 1 and m.get("update")
                              and "lastActivityTime" in m["update"][0]["latest"].get("SERVER_ATTRIBUTE", {}), 5)
        check("activity pushes lastActivityTime alone, as a SERVER_ATTRIBUTE update",
              act and list(act["update"][0]["latest"]) == ["SERVER_ATTRIBUTE"]
              and list(act["update"][0]["latest"]["SERVER_ATTRIBUTE"]) == ["lastActivityTime"], act)

        # quiet -> inactive after the timeout, pushed; talking again -> active
        t_quiet = time.monotonic()
        sim.control(f"/fault/quiet?id={D}")
        m, t = await r.wait(lambda m: attr_update(m, 1, D, "active", "false"), TIMEOUT + 3)
        waited = time.monotonic() - t_quiet
        check("a quiet device goes active=false after the inactivity timeout, pushed", m is not None and 0.3 < waited < TIMEOUT + 2.5, (m, waited))
        truth = sim.truth(f"?id={D}")
        check("/truth: attr:active false and attr:inactivityAlarmTime for the quiet device",
              truth.get((D, "attr:active"), (0, ""))[1] == "false" and (D, "attr:inactivityAlarmTime") in truth, truth)
        st = sim.stats()
        check("/stats: devices and devices_active", st["devices"] == NDEV and st["devices_active"] == NDEV - 1, st)
        sim.control(f"/fault/quiet?id={D}&off=1")
        m, t = await r.wait(lambda m: attr_update(m, 1, D, "active", "true"), TIMEOUT + 2)
        check("talking again: active=true pushed", m is not None, t)
        check("/stats: devices_active back to all", sim.stats()["devices_active"] == NDEV)

        # set-attr pushes
        sim.control(f"/fault/set-attr?id={D}&key=firmware&value=9.9.9")
        m, _ = await r.wait(lambda m: attr_update(m, 1, D, "firmware", "9.9.9"), 3)
        check("/fault/set-attr pushes the new firmware", m is not None)
        check("/truth and REST show the new firmware", sim.truth(f"?id={D}").get((D, "attr:firmware"), (0, ""))[1] == "9.9.9"
              and {a["key"]: a["value"] for a in get(f"/api/plugins/telemetry/DEVICE/{D}/values/attributes?keys=firmware")[1]}.get("firmware") == "9.9.9")
        aid = assets[0]["id"]["id"]
        await ws.send(json.dumps({"cmds": [cmd(2, {"type": "singleEntity", "singleEntity": {"entityType": "ASSET", "id": aid}})]}))
        m, _ = await r.wait(lambda m: m.get("cmdId") == 2 and m.get("data"), 5)
        sim.control(f"/fault/set-attr?id={aid}&key=capacity&value=77.5")
        m, _ = await r.wait(lambda m: attr_update(m, 2, aid, "capacity", "77.5"), 3)
        check("/fault/set-attr on an asset pushes capacity", m is not None)
        try:
            sim.control(f"/fault/set-attr?id={aid}&key=capacity&value=nan")
            bad = None
        except urllib.error.HTTPError as e:
            bad = e.code
        check("/fault/set-attr refuses a capacity that is not a number (400)", bad == 400, bad)
        rows = sim.truth("?type=DEVICE")
        check("/truth?type=DEVICE: only device lines, attr: keys included",
              rows and {a for a, _ in rows} == set(dev_ids) and all((i, "attr:active") in rows for i in dev_ids)
              and not any(k == "active" for _, k in rows))
        rows = sim.truth("?type=ASSET")
        check("/truth?type=ASSET: only asset lines", rows and {a for a, _ in rows} <= asset_ids)
        n_attr = sum(1 for m in r.msgs if m.get("update") and "SERVER_ATTRIBUTE" in m["update"][0]["latest"])
        st = sim.stats()
        check("/stats attr_updates_sent counts at least what this client received", 0 < n_attr <= st["attr_updates_sent"], (n_attr, st["attr_updates_sent"]))

    async with websockets.connect(url, ssl=sim.ctx, max_size=None) as ws:
        r = Reader(ws)
        meters = [d for d in devs if d["type"] == "Meter"]
        await ws.send(json.dumps({"authCmd": {"cmdId": 0, "token": tok}, "cmds": [
            cmd(3, {"type": "deviceType", "deviceTypes": ["Meter"], "deviceNameFilter": ""}),
            cmd(4, {"type": "deviceType", "deviceType": "Tracker"}),
            cmd(5, {"type": "deviceType", "deviceTypes": ["Meter", "Tracker"], "deviceNameFilter": "meTER"}),
            cmd(6, {"type": "singleEntity", "singleEntity": {"entityType": "DEVICE", "id": D}}),
            cmd(7, {"type": "entityList", "entityType": "DEVICE", "entityList": [D, dev_ids[0], next(iter(asset_ids))]})]}))
        pages = {}
        for c in (3, 4, 5, 6, 7):
            m, _ = await r.wait(lambda m, c=c: m.get("cmdId") == c and m.get("data"), 5)
            pages[c] = [e["entityId"]["id"] for e in m["data"]["data"]] if m else None
        check("deviceType deviceTypes [Meter]", pages[3] == [d["id"]["id"] for d in meters], pages[3])
        check("deviceType with the deprecated single deviceType", pages[4] == [d["id"]["id"] for d in devs if d["type"] == "Tracker"], pages[4])
        check("deviceNameFilter: a case-insensitive prefix",
              pages[5] == [d["id"]["id"] for d in devs if d["type"] in ("Meter", "Tracker") and d["name"].lower().startswith("meter")], pages[5])
        check("singleEntity DEVICE", pages[6] == [D], pages[6])
        check("entityList DEVICE keeps device ids only", pages[7] == sorted([D, dev_ids[0]], key=dev_ids.index), pages[7])

    # the update limiter gates attribute updates; a share of quiet devices goes inactive
    n_quiet = int(sim.control("/fault/quiet?fraction=0.5").split()[0])
    t_quiet = time.monotonic()
    async with websockets.connect(url, ssl=sim.ctx, max_size=None) as ws:
        r = Reader(ws)
        await ws.send(json.dumps({"authCmd": {"cmdId": 0, "token": tok}, "cmds": [
            cmd(9, {"type": "singleEntity", "singleEntity": {"entityType": "DEVICE", "id": D}}, keys=(), attrs=("firmware",))]}))
        await r.wait(lambda m: m.get("cmdId") == 9 and m.get("data"), 5)
        sim.control("/fault/update-limit?spec=2:30")
        dropped = sim.stats()["updates_dropped"]
        for v in ("7.0.1", "7.0.2", "7.0.3"):
            sim.control(f"/fault/set-attr?id={D}&key=firmware&value={v}")
        m, _ = await r.wait(lambda m: m.get("errorCode") == 34, 3)
        got = [attr_update(x, 9, D, "firmware")["value"] for x in r.msgs if attr_update(x, 9, D, "firmware")]
        check("the update limiter refuses attribute updates too (errorCode 34, updates_dropped)",
              m is not None and got == ["7.0.1", "7.0.2"] and sim.stats()["updates_dropped"] == dropped + 1, (got, m))
        sim.control("/fault/update-limit?off=1")
    st, _ = None, 0
    while time.monotonic() - t_quiet < TIMEOUT + 3:
        st = sim.stats()
        if st["devices_active"] == NDEV - n_quiet:
            break
        await asyncio.sleep(0.1)
    check("/fault/quiet?fraction=0.5: that share of the devices goes inactive", 0 < n_quiet < NDEV
          and st["devices_active"] == NDEV - n_quiet, (n_quiet, st["devices_active"]))
    sim.control("/fault/quiet?off=1")

    # the subscription limit counts one subscription per device per key type
    sim.control("/fault/sub-limit?spec=40:60")
    async with websockets.connect(url, ssl=sim.ctx, max_size=None) as ws:
        r = Reader(ws)
        before = sim.stats()["subs_refused"]
        await ws.send(json.dumps({"authCmd": {"cmdId": 0, "token": tok},
                                  "cmds": [cmd(8, {"type": "entityType", "entityType": "DEVICE"})]}))
        m, _ = await r.wait(lambda m: m.get("errorCode") == 2, 5)
        check("sub-limit: 30 devices x 2 key types exceed 40 subscriptions; no data page",
              m is not None and "Exceeded rate limit for WS subscriptions" in m["errorMsg"]
              and not any(x.get("cmdId") == 8 and x.get("data") for x in r.msgs) and sim.stats()["subs_refused"] == before + 1, m)
    sim.control("/reset")


asyncio.get_event_loop().run_until_complete(main())
done()
