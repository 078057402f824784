"""check_edition.py -- asset (and, for the customer, device) listings of a Community
Edition server versus a Professional Edition one. Argument: "customer" (sim started with --edition ce --customer) or "tenant"
(sim started as PE with a tenant admin; /fault/edition switches it to CE and back).
Env: SIM_PORT SIM_CTL SIM_CA."""
import os, sys
from simclient import Sim, check, done, jwt_claims

sim = Sim(int(os.environ["SIM_PORT"]), int(os.environ["SIM_CTL"]), os.environ["SIM_CA"])
who = sys.argv[1]
tok = sim.login()["token"]
cid = jwt_claims(tok)["customerId"]
OTHER = "0b0c0d0e-1111-11ef-8000-000000000001"


def ce_user_assets():
    s, b, _ = sim.http("GET", "/api/user/assets?pageSize=5&page=0", token=tok)
    check(f"{who}: CE /api/user/assets is 400 'Invalid UUID string: assets', errorCode 31",
          s == 400 and isinstance(b, dict) and b.get("message") == "Invalid UUID string: assets"
          and b.get("errorCode") == 31 and b.get("status") == 400 and isinstance(b.get("timestamp"), int), (s, b))


if who == "customer":
    ce_user_assets()
    s, b, _ = sim.http("GET", "/api/tenant/assets?pageSize=5&page=0", token=tok)
    check("customer: /api/tenant/assets is 403, errorCode 20",
          s == 403 and b.get("errorCode") == 20 and b.get("message") == "You don't have permission to perform this operation!", (s, b))
    s, b, _ = sim.http("GET", f"/api/customer/{cid}/assets?pageSize=100&page=0", token=tok)
    check("customer: /api/customer/{own customerId}/assets lists the assets",
          s == 200 and b["totalElements"] == 30 and len(b["data"]) == 30
          and all(a["customerId"]["id"] == cid for a in b["data"]), (s, b if s != 200 else b["totalElements"]))
    s, b, _ = sim.http("GET", f"/api/customer/{cid}/assets?pageSize=7&page=4&sortProperty=createdTime&sortOrder=DESC", token=tok)
    check("customer: paging and sorting on the customer endpoint", s == 200 and len(b["data"]) == 2 and b["hasNext"] is False, s)
    s, b, _ = sim.http("GET", f"/api/customer/{OTHER}/assets?pageSize=5&page=0", token=tok)
    check("customer: another customer's id is 403, errorCode 20", s == 403 and b.get("errorCode") == 20, (s, b))
    s, b, _ = sim.http("GET", "/api/customer/not-a-uuid/assets?pageSize=5&page=0", token=tok)
    check("customer: a malformed customer id is 400, errorCode 31",
          s == 400 and b.get("errorCode") == 31 and b.get("message") == "Invalid UUID string: not-a-uuid", (s, b))
    s, b, _ = sim.http("GET", f"/api/customer/{cid}/assets?pageSize=5&page=0")
    check("customer: the customer endpoint needs a token (401)", s == 401, s)
    # devices (the sim runs with --devices 4): the same rules
    s, b, _ = sim.http("GET", "/api/user/devices?pageSize=5&page=0", token=tok)
    check("customer: CE /api/user/devices is 400 'Invalid UUID string: devices', errorCode 31",
          s == 400 and b.get("message") == "Invalid UUID string: devices" and b.get("errorCode") == 31, (s, b))
    s, b, _ = sim.http("GET", "/api/tenant/devices?pageSize=5&page=0", token=tok)
    check("customer: /api/tenant/devices is 403, errorCode 20", s == 403 and b.get("errorCode") == 20, (s, b))
    s, b, _ = sim.http("GET", f"/api/customer/{cid}/devices?pageSize=100&page=0", token=tok)
    check("customer: /api/customer/{own customerId}/devices lists the devices, CE shape (no ownerId)",
          s == 200 and b["totalElements"] == 4 and all(d["customerId"]["id"] == cid and d["id"]["entityType"] == "DEVICE"
                                                       and "ownerId" not in d for d in b["data"]), (s, b))
    s, b, _ = sim.http("GET", f"/api/customer/{OTHER}/devices?pageSize=5&page=0", token=tok)
    check("customer: another customer's devices are 403, errorCode 20", s == 403 and b.get("errorCode") == 20, (s, b))
else:
    s, b, _ = sim.http("GET", "/api/user/assets?pageSize=5&page=0", token=tok)
    check("tenant: PE has /api/user/assets", s == 200 and b["totalElements"] == 30, s)
    sim.control("/fault/edition?ce=1")
    ce_user_assets()
    s, b, _ = sim.http("GET", "/api/tenant/assets?pageSize=100&page=0", token=tok)
    check("tenant: CE lists at /api/tenant/assets", s == 200 and b["totalElements"] == 30, s)
    s, b, _ = sim.http("GET", f"/api/customer/{OTHER}/assets?pageSize=5&page=0", token=tok)
    check("tenant: a customer's listing is empty (no asset is assigned)", s == 200 and b["data"] == [] and b["totalElements"] == 0, (s, b))
    sim.control("/reset")
    s, b, _ = sim.http("GET", "/api/user/assets?pageSize=5&page=0", token=tok)
    check("tenant: /reset goes back to the start-up edition (PE)", s == 200, s)
done()
