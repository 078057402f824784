"""check_rest.py -- REST behaviour of iotpro-sim against the reference document
(login, errors, tokens, paging, attributes, faults). Env: SIM_PORT SIM_CTL SIM_CA."""
import os, time
from simclient import Sim, check, done, jwt_claims

sim = Sim(int(os.environ["SIM_PORT"]), int(os.environ["SIM_CTL"]), os.environ["SIM_CA"])
N = int(os.environ.get("SIM_ASSETS", "25"))

# --- login ---------------------------------------------------------------------------
s, b, h = sim.http("POST", "/api/auth/login", {"username": "tenant@thingsboard.org", "password": "tenant"})
check("login 200 with token and refreshToken", s == 200 and set(b) == {"token", "refreshToken"}, b)
tok, rtok = b["token"], b["refreshToken"]
check("login content type json", h.get("Content-Type", "").startswith("application/json"))
c = jwt_claims(tok)
hdr = jwt_claims("x." + tok.split(".")[0] + ".y")
check("jwt header alg HS512", hdr == {"alg": "HS512"}, hdr)
check("access claims", c["sub"] == "tenant@thingsboard.org" and c["scopes"] == ["TENANT_ADMIN"]
      and c["iss"] == "thingsboard.io" and c["exp"] - c["iat"] == 9000 and "sessionId" in c
      and c["customerId"] == "13814000-1dd2-11b2-8080-808080808080" and c["enabled"] is True, c)
rc = jwt_claims(rtok)
check("refresh claims", rc["scopes"] == ["REFRESH_TOKEN"] and rc["exp"] - rc["iat"] == 604800 and "jti" in rc, rc)

s, b, _ = sim.http("POST", "/api/auth/login", {"username": "tenant@thingsboard.org", "password": "wrong"})
check("bad password 401 errorCode 10", s == 401 and b.get("errorCode") == 10 and b.get("status") == 401
      and b.get("message") == "Invalid username or password" and isinstance(b.get("timestamp"), int), b)
s, b, _ = sim.http("POST", "/api/auth/login", {"username": "nobody@example.com", "password": "tenant"})
check("unknown user 401 same body", s == 401 and b.get("message") == "Invalid username or password", b)
s, b, _ = sim.http("POST", "/api/auth/login", b"not json")
check("body not JSON: Authentication failed / 10", s == 401 and b.get("message") == "Authentication failed" and b["errorCode"] == 10, b)
s, b, _ = sim.http("GET", "/api/auth/login")
check("GET login: method not supported / 10", s == 401 and b.get("message") == "Authentication method not supported", b)

# --- authenticated calls --------------------------------------------------------------
s, b, _ = sim.http("GET", "/api/user/assets?pageSize=5&page=0")
check("no X-Authorization: 401 Authentication failed", s == 401 and b["errorCode"] == 10 and b["message"] == "Authentication failed", b)
s, b, _ = sim.http("GET", "/api/user/assets?pageSize=5&page=0", token="garbage")
check("malformed token: 401 errorCode 10", s == 401 and b["errorCode"] == 10, b)
forged = tok[:-4] + ("AAAA" if not tok.endswith("AAAA") else "BBBB")
s, b, _ = sim.http("GET", "/api/user/assets?pageSize=5&page=0", token=forged)
check("bad signature: 401 Token has expired / 11", s == 401 and b["errorCode"] == 11 and b["message"] == "Token has expired", b)

# --- paging -------------------------------------------------------------------------
ids, pages = [], []
page = 0
while True:
    s, b, _ = sim.http("GET", f"/api/user/assets?pageSize=7&page={page}", token=tok)
    assert s == 200, (s, b)
    pages.append(b)
    ids += [a["id"]["id"] for a in b["data"]]
    if not b["hasNext"]:
        break
    page += 1
check("paging PageData fields", all(set(p) == {"data", "totalPages", "totalElements", "hasNext"} for p in pages))
check("paging totals", pages[0]["totalElements"] == N and pages[0]["totalPages"] == (N + 6) // 7 and len(pages) == (N + 6) // 7,
      [(p["totalElements"], p["totalPages"]) for p in pages])
check("paging covers every asset once", len(ids) == N and len(set(ids)) == N)
check("default order is by id", ids == sorted(ids))
a = pages[0]["data"][0]
check("asset shape", a["id"]["entityType"] == "ASSET" and a["tenantId"]["entityType"] == "TENANT"
      and a["assetProfileId"]["entityType"] == "ASSET_PROFILE" and "externalId" in a and a["externalId"] is None
      and isinstance(a["createdTime"], int) and "ownerId" in a and "label" in a and "version" in a, a)
s, b, _ = sim.http("GET", f"/api/user/assets?pageSize={N}&page=0&sortProperty=createdTime&sortOrder=DESC", token=tok)
check("sortOrder DESC reverses", [x["id"]["id"] for x in b["data"]] == ids[::-1])
ct = [x["createdTime"] for x in b["data"]]
check("createdTime DESC ordered", ct == sorted(ct, reverse=True))
s, b, _ = sim.http("GET", "/api/user/assets?pageSize=5&page=0&sortProperty=createdTime&sortOrder=UP", token=tok)
check("bad sortOrder 400 errorCode 31", s == 400 and b["errorCode"] == 31, b)
s, b, _ = sim.http("GET", "/api/user/assets?page=0", token=tok)
check("missing pageSize 400 errorCode 31", s == 400 and b["errorCode"] == 31, b)
s, b, _ = sim.http("GET", "/api/user/assets?pageSize=0&page=0", token=tok)
check("pageSize 0 400", s == 400, b)
all_assets = sim.http("GET", f"/api/user/assets?pageSize={N}&page=0", token=tok)[1]["data"]
t0 = all_assets[0]["type"]
s, b, _ = sim.http("GET", f"/api/user/assets?pageSize={N}&page=0&type=" + t0.replace(" ", "%20"), token=tok)
check("type filter", b["totalElements"] == sum(1 for x in all_assets if x["type"] == t0) and all(x["type"] == t0 for x in b["data"]), b["totalElements"])
s, b, _ = sim.http("GET", f"/api/user/assets?pageSize={N}&page=0&textSearch=STATION", token=tok)
check("textSearch is a case-insensitive substring", b["totalElements"] == sum(1 for x in all_assets if "station" in x["name"].lower()), b["totalElements"])

# --- attributes and keys ------------------------------------------------------------
kinds = set()
for a in all_assets:
    aid = a["id"]["id"]
    s, b, _ = sim.http("GET", f"/api/plugins/telemetry/ASSET/{aid}/values/attributes/SERVER_SCOPE", token=tok)
    assert s == 200 and isinstance(b, list), (s, b)
    for attr in b:
        assert set(attr) == {"lastUpdateTs", "key", "value"}, attr
    d = [x for x in b if x["key"] == "assetDetails"]
    if not d:
        kinds.add("absent")
    elif isinstance(d[0]["value"], dict):
        kinds.add("object")
    elif isinstance(d[0]["value"], str):
        import json
        kinds.add("string" if isinstance(json.loads(d[0]["value"]), dict) else "bad")
check("assetDetails as object, string holding JSON, and absent", kinds == {"absent", "object", "string"}, kinds)
aid = all_assets[0]["id"]["id"]
s, b, _ = sim.http("GET", f"/api/plugins/telemetry/ASSET/{aid}/values/attributes/SERVER_SCOPE?keys=nonexistent", token=tok)
check("unknown attribute key gives []", s == 200 and b == [], b)
s, b, _ = sim.http("GET", f"/api/plugins/telemetry/ASSET/{aid}/keys/timeseries", token=tok)
check("keys/timeseries is a string array with device_id", s == 200 and "device_id" in b and all(isinstance(k, str) for k in b), b)
s, b, _ = sim.http("GET", "/api/plugins/telemetry/ASSET/00000000-0000-1000-8000-000000000000/values/attributes/SERVER_SCOPE", token=tok)
check("unknown asset: 404 plain text", s == 404 and b == "Asset with requested id wasn't found!", (s, b))
names = "".join(x["name"] for x in sim.http("GET", "/api/user/assets?pageSize=400&page=0", token=tok)[1]["data"])
if N >= 400:
    check("names exercise escaping", '"' in names and "\\" in names and "\n" in names and any(ord(ch) > 127 for ch in names))

# --- refresh ------------------------------------------------------------------------
s, b, _ = sim.http("POST", "/api/auth/token", {"refreshToken": rtok})
check("refresh gives a new pair", s == 200 and set(b) == {"token", "refreshToken"} and jwt_claims(b["token"])["sessionId"] != c["sessionId"], b)
s, b, _ = sim.http("POST", "/api/auth/token", {"refreshToken": tok})
check("access token as refresh token: 500 errorCode 2", s == 500 and b["errorCode"] == 2, b)
s, b, _ = sim.http("POST", "/api/auth/token", b"")
check("refresh without body: 401 Authentication failed", s == 401 and b["message"] == "Authentication failed", b)
sim.control("/fault/reject-refresh?on=1")
s, b, _ = sim.http("POST", "/api/auth/token", {"refreshToken": rtok})
check("rejected refresh: 401 Token is outdated / 10", s == 401 and b["errorCode"] == 10 and b["message"] == "Token is outdated", b)
sim.control("/fault/reject-refresh?on=0")

# --- expiry -------------------------------------------------------------------------
sim.control("/fault/expire-tokens?lifetime=2")
s, b, _ = sim.http("GET", "/api/user/assets?pageSize=1&page=0", token=tok)
check("expired token: 401 Token has expired / 11", s == 401 and b["errorCode"] == 11 and b["message"] == "Token has expired", b)
s, b, _ = sim.http("POST", "/api/auth/token", {"refreshToken": rtok})
check("refresh still works after access expiry", s == 200, b)
short = b["token"]
cs = jwt_claims(short)
check("fault lifetime applies to new tokens", cs["exp"] - cs["iat"] == 2, cs)
s, _, _ = sim.http("GET", "/api/user/assets?pageSize=1&page=0", token=short)
check("new short token works", s == 200)
time.sleep(3.1)
s, b, _ = sim.http("GET", "/api/user/assets?pageSize=1&page=0", token=short)
check("short token expires by its exp", s == 401 and b["errorCode"] == 11, b)
sim.control("/fault/expire-tokens?clear=1")
tok = sim.login()["token"]
check("after clear tokens live 9000 s", jwt_claims(tok)["exp"] - jwt_claims(tok)["iat"] == 9000)

# --- REST faults -----------------------------------------------------------------------
sim.control("/fault/fail-rest?n=2&status=429")
r = [sim.http("GET", "/api/user/assets?pageSize=1&page=0", token=tok) for _ in range(3)]
check("fail-rest 429 errorCode 33 twice, then OK", r[0][0] == 429 and r[0][1]["errorCode"] == 33
      and r[0][1]["message"] == "Too many requests for current tenant!" and r[1][0] == 429 and r[2][0] == 200,
      [x[0] for x in r])
check("429 has no Retry-After", r[0][2].get("Retry-After") is None)
sim.control("/fault/fail-rest?n=1&status=503")
s, b, _ = sim.http("GET", "/api/user/assets?pageSize=1&page=0", token=tok)
check("fail-rest 503", s == 503, s)
sim.control("/fault/delay-rest?ms=700")
t = time.monotonic()
s, _, _ = sim.http("GET", "/api/user/assets?pageSize=1&page=0", token=tok)
check("delay-rest holds the reply", s == 200 and time.monotonic() - t >= 0.65, time.monotonic() - t)
sim.control("/fault/delay-rest?ms=0")
st = sim.stats()
check("stats count logins", st["logins_ok"] >= 2 and st["logins_failed"] >= 4 and st["refreshes"] >= 2, st)
done()
