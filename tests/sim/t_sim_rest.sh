#!/usr/bin/env bash
# iotpro-sim REST: login and its 401 bodies, JWT claims, refresh, expiry (errorCode 11),
# paging of /api/user/assets, attribute shapes, 2FA scope, REST faults.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/simlib.sh"
need_sim

if start_sim --assets 25 --rate 0; then ok "sim starts (25 assets)"; else fail "sim starts" "$(tail -3 "$TEST_TMP/sim.log")"; finish; fi
SIM_ASSETS=25 sim_py check_rest.py

# Names that need escaping only show up over enough assets: check them on a bigger tenant.
kill "$SIM_PID" 2>/dev/null
start_sim --assets 1000 --rate 0 || fail "sim starts (1000 assets)"
tok=$("$PY" - "$SIM_PORT" "$CERTS/ca.pem" <<'PYEOF'
import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
r = urllib.request.Request(f"https://localhost:{sys.argv[1]}/api/auth/login", data=b'{"username":"tenant@thingsboard.org","password":"tenant"}')
print(json.load(urllib.request.urlopen(r, context=ctx))["token"])
PYEOF
)
body=$(curl -sS --cacert "$CERTS/ca.pem" -H "X-Authorization: Bearer $tok" "https://localhost:$SIM_PORT/api/user/assets?pageSize=400&page=0")
check "names with escaped quotes" grep -q '\\"North\\"' <<<"$body"
check "names with escaped backslashes" grep -q ' \\\\ ' <<<"$body"
check "names with escaped newlines" grep -q 'line one\\nline two' <<<"$body"
check "names with non-ASCII UTF-8" grep -q 'Kühlhaus' <<<"$body"

# 2FA: login answers {"token","scope"} and no refresh token.
kill "$SIM_PID" 2>/dev/null
start_sim --assets 5 --rate 0 --mfa verify || fail "sim starts (2FA)"
mfa=$(curl -sS --cacert "$CERTS/ca.pem" -d '{"username":"tenant@thingsboard.org","password":"tenant"}' "https://localhost:$SIM_PORT/api/auth/login")
check "2FA login carries scope PRE_VERIFICATION_TOKEN" grep -q '"scope":"PRE_VERIFICATION_TOKEN"' <<<"$mfa"
if grep -q refreshToken <<<"$mfa"; then fail "2FA login has no refreshToken" "$mfa"; else ok "2FA login has no refreshToken"; fi
finish
