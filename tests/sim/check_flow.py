"""check_flow.py -- ThingsBoard's flow control in iotpro-sim, seen from an independent
client: the per-session update limiter (errorCode 34), the session queue (1008), the
subscription rate limit, no-read, reordering, and exact /stats counts.
The sim runs with --assets 40 --rate 0 --send-timeout 20. Env: SIM_PORT SIM_CTL SIM_CA."""
import asyncio, json, os, socket, struct, time
import websockets
from simclient import Sim, RawWS, check, done, subscribe_cmd

sim = Sim(int(os.environ["SIM_PORT"]), int(os.environ["SIM_CTL"]), os.environ["SIM_CA"])
tok = sim.login()["token"]
auth = {"cmdId": 0, "token": tok}
ASSETS = [a["id"]["id"] for a in sim.http("GET", "/api/tenant/assets?pageSize=40&page=0&sortProperty=createdTime&sortOrder=ASC", token=tok)[1]["data"]]
NOTICE = '{"subscriptionId":%d, "errorCode":34, "errorMsg":"Too many updates!"}'


def update(i, key="temperature"):
    sim.control(f"/update?id={ASSETS[i]}&key={key}")


async def drain(ws, quiet=0.4):
    """Every message until none arrives for `quiet` seconds."""
    out = []
    while True:
        try:
            out.append(await asyncio.wait_for(ws.recv(), quiet))
        except asyncio.TimeoutError:
            return out


def ts_values(m):
    """TIME_SERIES values with a timestamp in a data page or update (/stats values_sent)."""
    d = json.loads(m)
    ents = (d.get("data") or {}).get("data") or d.get("update") or []
    return sum(1 for e in ents for v in ((e.get("latest") or {}).get("TIME_SERIES") or {}).values()
               if v.get("ts"))


def stats_delta(before):
    now = sim.stats()
    return {k: now[k] - before.get(k, 0) for k in now}


async def update_limiter():
    sim.control("/fault/update-limit?spec=4:1.5")
    st0 = sim.stats()
    async with websockets.connect(sim.wss_url(), ssl=sim.ctx, max_size=None) as ws:
        await ws.send(json.dumps({"authCmd": auth, "cmds": [subscribe_cmd(7, page_size=5)]}))
        got = [await asyncio.wait_for(ws.recv(), 5)]  # the data page: 1 of 4 tokens
        t_page = time.monotonic()
        for _ in range(6):
            update(0)
        burst = await drain(ws)
        got += burst
        notices = [m for m in burst if '"errorCode":34' in m]
        upd = [m for m in burst if '"update":[' in m]
        check("update limit 4:1.5: the page takes a token, 3 of 6 updates pass", len(upd) == 3, len(upd))
        check("one errorCode 34 notice per episode, exactly ThingsBoard's text with the cmdId",
              notices == [NOTICE % 7], notices)
        check("the notice comes after the updates that passed", burst and burst[-1] == NOTICE % 7, burst[-1:])
        await asyncio.sleep(max(0, t_page + 0.75 - time.monotonic()))
        update(0)
        mid = await drain(ws, 0.3)
        got += mid
        check("intervally refill: nothing comes back in the middle of the period (same episode: no notice)",
              mid == [], mid)
        await asyncio.sleep(max(0, t_page + 1.75 - time.monotonic()))
        for _ in range(5):
            update(1)
        after = await drain(ws)
        got += after
        check("after the period all 4 tokens are back at once: 4 pass, then a new episode's notice",
              sum('"update":[' in m for m in after) == 4 and after[-1] == NOTICE % 7, after[-2:])
        # data pages are gated too: refused inside the episode, silently
        await ws.send(json.dumps({"cmds": [subscribe_cmd(8, page_size=3)]}))
        late = await drain(ws, 0.3)
        check("a data page over the limit is dropped (same episode: no notice)", late == [], late)
        # next period: 4 updates pass (episode over), then a page is refused with a notice
        await asyncio.sleep(max(0, t_page + 3.15 - time.monotonic()))
        for _ in range(4):
            update(4)  # covered by cmd 7 only
        await ws.send(json.dumps({"cmds": [subscribe_cmd(9, page_size=3)]}))
        late = await drain(ws)
        got += late
        check("a message that passes ends the episode; the next refused page's notice names its cmdId",
              sum('"update":[' in m for m in late) == 4 and late[-1] == NOTICE % 9 and not any('"cmdId":9' in m for m in late),
              late[-2:])
        sessions = sim.control("/sessions")
        check("/sessions: the dropped page shows as cmd=8:3:dropped, the sent one as cmd=7:5:data",
              " cmd=8:3:dropped" in sessions and " cmd=7:5:data" in sessions, sessions)
        d = stats_delta(st0)
        check("stats: msgs_sent == text messages received", d["msgs_sent"] == len(got), (d["msgs_sent"], len(got)))
        check("stats: bytes_sent == payload bytes received",
              d["bytes_sent"] == sum(len(m.encode()) for m in got), (d["bytes_sent"], sum(len(m.encode()) for m in got)))
        check("stats: values_sent == TIME_SERIES values with a timestamp received",
              0 < d["values_sent"] == sum(map(ts_values, got)), (d["values_sent"], sum(map(ts_values, got))))
        check("stats: updates_sent, data_pages, notices_34, updates_dropped exact",
              (d["updates_sent"], d["data_pages"], d["notices_34"], d["updates_dropped"]) ==
              (sum('"update":[' in m for m in got), 1, 3, 3 + 1 + 1 + 1 + 1), d)
    sim.control("/reset")


async def sub_limit():
    sim.control("/fault/sub-limit?spec=7:60&scope=tenant")
    st0 = sim.stats()
    async with websockets.connect(sim.wss_url(), ssl=sim.ctx, max_size=None) as ws:
        # 5 entities x (TIME_SERIES + SERVER_ATTRIBUTE) = 10 subscriptions; 7 tokens
        await ws.send(json.dumps({"authCmd": auth, "cmds": [subscribe_cmd(11, page_size=5)]}))
        m = json.loads(await asyncio.wait_for(ws.recv(), 5))
        check("sub limit: reply in the legacy shape, errorCode 2, 'per tenant'",
              set(m) == {"subscriptionId", "errorCode", "errorMsg", "data", "latestValues"} and m["errorCode"] == 2
              and m["errorMsg"] == "Exceeded rate limit for WS subscriptions per tenant" and m["data"] is None
              and m["latestValues"] == {}, m)
        check("sub limit: subscriptionId is an internal number, not the cmdId", m["subscriptionId"] == 100007, m["subscriptionId"])
        check("sub limit: the data page never comes", await drain(ws, 1.0) == [])
        check("/sessions shows cmd=11:5:nodata", " cmd=11:5:nodata" in sim.control("/sessions"), sim.control("/sessions"))
        # live: entities 0-2 fully, entity 3 time series only, entity 4 nothing
        update(0)
        update(3)
        sim.control(f"/update?id={ASSETS[3]}&key=assetDetails&value=%7B%7D")
        update(4)
        ups = [json.loads(x) for x in await drain(ws)]
        ids = [(u["update"][0]["entityId"]["id"], list(u["update"][0]["latest"])) for u in ups if u.get("update")]
        check("sub limit: subscriptions made before the limit stay live (updates with cmdId 11, no page)",
              ids == [(ASSETS[0], ["TIME_SERIES"]), (ASSETS[3], ["TIME_SERIES"])] and all(u["cmdId"] == 11 for u in ups), ids)
        await ws.send(json.dumps({"cmds": [subscribe_cmd(12, page_size=2)]}))
        check("sub limit: a second refused command within 15 s gets no reply (deduplicated) and no page",
              await drain(ws, 1.0) == [])
        d = stats_delta(st0)
        check("stats: subs_refused 2, sub_limit_replies 1", (d["subs_refused"], d["sub_limit_replies"]) == (2, 1), d)
    sim.control("/fault/sub-limit?spec=1:60&scope=user")
    async with websockets.connect(sim.wss_url(), ssl=sim.ctx, max_size=None) as ws:
        await ws.send(json.dumps({"authCmd": auth, "cmds": [subscribe_cmd(13, page_size=2, details=False)]}))
        m = json.loads(await asyncio.wait_for(ws.recv(), 5))
        check("sub limit per user: 'per user' reply, subscriptionId 100001",
              (m.get("errorMsg"), m.get("subscriptionId")) == ("Exceeded rate limit for WS subscriptions per user", 100001), m)
    sim.control("/reset")
    async with websockets.connect(sim.wss_url(), ssl=sim.ctx, max_size=None) as ws:
        await ws.send(json.dumps({"authCmd": auth, "cmds": [subscribe_cmd(14, page_size=5)]}))
        m = json.loads(await asyncio.wait_for(ws.recv(), 5))
        check("/reset lifts the subscription limit: data page", m.get("cmdId") == 14 and m.get("data"), m)


async def no_read():
    async with websockets.connect(sim.wss_url(), ssl=sim.ctx, max_size=None, compression=None) as ws:
        await ws.send(json.dumps({"authCmd": auth, "cmds": [subscribe_cmd(21, page_size=5)]}))
        await asyncio.wait_for(ws.recv(), 5)
        # cheap for the server to parse (an authCmd on an open session is ignored)
        cmds = json.dumps({"authCmd": {"cmdId": 0, "token": "x" * 30000}})
        nmsg = 400  # ~13 MB: more than the kernel buffers hold
        sent = [0]

        async def sender():
            for _ in range(nmsg):
                await ws.send(cmds)
                sent[0] += 1

        sim.control("/fault/no-read?seconds=2.5")
        t0 = time.monotonic()
        sim.control("/rate?n=100")
        task = asyncio.ensure_future(sender())
        n_upd = 0
        while time.monotonic() - t0 < 2.0:
            try:
                m = await asyncio.wait_for(ws.recv(), 0.5)
                n_upd += '"update":[' in m
            except asyncio.TimeoutError:
                pass
        stuck = sent[0]
        check("no-read: the client's sends block (buffers full)", not task.done() and stuck < nmsg, (stuck, nmsg))
        check("no-read: updates keep arriving meanwhile", n_upd >= 50, n_upd)
        try:
            await asyncio.wait_for(task, 6)
        except asyncio.TimeoutError:
            pass
        t_done = time.monotonic() - t0
        sim.control("/rate?n=0")
        check("no-read ends: the server reads again and the sends complete", task.done() and sent[0] == nmsg and t_done < 6,
              (sent[0], round(t_done, 2)))
        await drain(ws, 0.3)
        update(0)
        m = json.loads(await asyncio.wait_for(ws.recv(), 5))
        check("no-read: the session is still healthy", m.get("cmdId") == 21 and m.get("update"), m)


async def reorder():
    sim.control("/fault/reorder?on=1")
    async with websockets.connect(sim.wss_url(), ssl=sim.ctx, max_size=None) as ws:
        await ws.send(json.dumps({"authCmd": auth, "cmds": [subscribe_cmd(31, page_size=10, details=False)]}))
        first = json.loads(await asyncio.wait_for(ws.recv(), 5))
        page = json.loads(await asyncio.wait_for(ws.recv(), 5))
        check("reorder: an update of cmdId 31 arrives before its data page",
              first.get("cmdId") == 31 and first.get("update") and page.get("data"), (first.get("update") is not None, page.get("data") is not None))
        have = {(e["entityId"]["id"], k): v["ts"] for e in page["data"]["data"] for k, v in e["latest"]["TIME_SERIES"].items()}
        pre = first["update"][0]
        pk = [(pre["entityId"]["id"], k, v["ts"]) for k, v in pre["latest"]["TIME_SERIES"].items()]
        check("reorder: the premature update is newer than the page's value", all(ts > have[(a, k)] for a, k, ts in pk), pk)
        missed = [json.loads(x) for x in await drain(ws, 0.5)]
        newer = [(u["update"][0]["entityId"]["id"], k, v["ts"]) for u in missed for k, v in u["update"][0]["latest"]["TIME_SERIES"].items()]
        check("reorder: one or two missed updates after the page, newer than it",
              1 <= len(missed) <= 2 and all(ts > have[(a, k)] for a, k, ts in newer), newer)
        # the steady generator swaps pairs now and then
        sim.control("/rate?n=100")
        t0, seq = time.monotonic(), []
        while time.monotonic() - t0 < 2.0:
            seq.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
        sim.control("/rate?n=0")
        seq += [json.loads(x) for x in await drain(ws, 0.5)]
        ts_seq = [max(v["ts"] for v in u["update"][0]["latest"]["TIME_SERIES"].values()) for u in seq]
        swaps = sum(1 for a, b in zip(ts_seq, ts_seq[1:]) if b < a - 4)
        check("reorder: updates swapped in the steady stream (ts going back > 4 ms)", swaps >= 3, (swaps, len(seq)))
        # newest ts wins: the client's view equals the ground truth
        for u in [first] + missed + seq:
            e = u["update"][0]
            for k, v in e["latest"]["TIME_SERIES"].items():
                have[(e["entityId"]["id"], k)] = max(have[(e["entityId"]["id"], k)], v["ts"])
        truth = sim.truth("?scope=subscribed")
        bad = [(a, k) for (a, k), ts in have.items() if ts and truth.get((a, k), (None,))[0] != ts]
        check("reorder: newest ts per asset and key equals /truth", not bad, bad[:5])
    sim.control("/reset")
    async with websockets.connect(sim.wss_url(), ssl=sim.ctx, max_size=None) as ws:
        await ws.send(json.dumps({"authCmd": auth, "cmds": [subscribe_cmd(32, page_size=10)]}))
        m = json.loads(await asyncio.wait_for(ws.recv(), 5))
        check("/reset ends reordering: the data page comes first", m.get("data") is not None and await drain(ws, 0.5) == [], m.get("update"))


def queue_close():
    sim.control("/fault/queue-limit?n=20")
    st0 = sim.stats()
    w = RawWS(sim, rcvbuf=4096)
    w.send(1, json.dumps({"authCmd": auth, "cmds": [subscribe_cmd(41, page_size=5)]}))
    op, p = w.recv_frame()
    sim.control("/rate?n=3000")
    t0 = time.monotonic()
    while time.monotonic() - t0 < 8 and sim.stats()["queue_closes"] == st0["queue_closes"]:
        time.sleep(0.1)  # the client reads nothing
    secs = time.monotonic() - t0
    sim.control("/rate?n=0")
    frames, close = 0, None
    try:
        while close is None:
            op, p = w.recv_frame(timeout=5)
            if op == 8:
                close = (struct.unpack(">H", p[:2])[0], p[2:].decode())
            elif op == 1:
                frames += 1
    except (socket.timeout, EOFError, OSError) as e:
        close = close or repr(e)
    w.close()
    check("queue: a client that stops reading is closed 1008 'Max pending updates limit reached!'",
          close == (1008, "Max pending updates limit reached!"), (close, round(secs, 1)))
    d = stats_delta(st0)
    check("queue: queue_closes counted; every message queued before the close was delivered",
          d["queue_closes"] == 1 and d["msgs_sent"] == frames + 1, (d["queue_closes"], d["msgs_sent"], frames))
    sim.control("/reset")


asyncio.run(update_limiter())
asyncio.run(sub_limit())
asyncio.run(no_read())
asyncio.run(reorder())
queue_close()
done()
