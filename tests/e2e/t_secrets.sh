#!/usr/bin/env bash
# Secrets never leak: the exporter runs at --log.level=debug through a login, token
# refreshes (3 s tokens), a 1007 reconnect, a rejected refresh (-> fresh login), REST
# errors, a --config.check and a wrong-password run; everything it printed (stderr,
# stdout, in logfmt and json) and served (/metrics, /, /-/ready, /-/healthy, a 404) is
# searched for the password, the wrong password, and any JWT (header "eyJ", or a long
# base64url run as a signature would be) and "Bearer ".
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/e2e_common.sh"
e2e_need secrets release

PASS='Pa55-w0rd-7f3a9c-SECRET'
WRONG='Wr0ng-pa55-1b2c3d-SECRET'
out=$TEST_TMP/served
mkdir -p "$out"

if ! e2e_start_sim --assets 5 --rate 5 --password "$PASS" --token-lifetime 3; then
    fail "secrets: sim starts" "$(tail -3 "$SIM_LOG")"; finish
fi
EXP_PASSWORD=$PASS
if ! { e2e_start_exporter && e2e_wait_up 30; }; then
    fail "secrets: exporter up" "$(exp_log_tail)"; finish
fi
# refreshes happen on their own (3 s tokens)
if wait_for 20 bash -c "[ \"\$(curl -s http://127.0.0.1:$SIM_CTL/stats | awk '\$1==\"refreshes\"{print \$2}')\" -ge 2 ]"; then
    ok "secrets: token refreshes happened"
else
    fail "secrets: token refreshes happened" "sim refreshes=$(sim_stat refreshes)"
fi
# a 1007 reconnect with every token expired server-side
c0=$(metric iotpro_ws_connects_total)
sim_ctl /fault/expire-tokens >/dev/null
sim_ctl '/fault/close?code=1007&reason=JWT%20Token%20expired' >/dev/null
check "secrets: reconnected after 1007" wait_for 20 metric_ge iotpro_ws_connects_total $((${c0%.*} + 1))
# rejected refresh -> fresh login; and a failing REST call
l0=$(sim_stat logins_ok)
sim_ctl '/fault/reject-refresh?on=1' >/dev/null
sim_ctl '/fault/fail-rest?n=1&status=500' >/dev/null
check "secrets: fresh login after a rejected refresh" wait_for 20 bash -c \
    "[ \"\$(curl -s http://127.0.0.1:$SIM_CTL/stats | awk '\$1==\"logins_ok\"{print \$2}')\" -gt $l0 ]"
sim_ctl /reset >/dev/null
e2e_wait_up 20 || true
for p in /metrics / /-/ready /-/healthy /no-such-page; do
    curl -s -i --max-time 10 "$EXP_URL$p" >"$out/$(echo "$p" | tr -c 'a-z\n' _).txt"
done
curl -s -i --max-time 10 -H 'Accept: application/openmetrics-text' "$EXP_URL/metrics" >"$out/openmetrics.txt"
e2e_stop_exporter 5
cp "$EXP_LOG" "$out/debug-logfmt.log"; cat "$EXP_LOG.stdout" >>"$out/debug-logfmt.log" 2>/dev/null
grep -q 'logging in' "$out/debug-logfmt.log" && grep -q 'websocket' "$out/debug-logfmt.log"
check "secrets: debug log covers login and the WebSocket (so the search means something)" [ $? = 0 ]
grep -qi 'refresh' "$out/debug-logfmt.log" || echo "# note: no log line mentions a token refresh, even at debug"
[ "$(wc -l <"$out/debug-logfmt.log")" -ge 10 ]
check "secrets: debug log is not empty" [ $? = 0 ]

# the same in json format, briefly
if e2e_start_exporter --log.format=json && e2e_wait_up 30; then
    sleep 4   # at least one refresh with 3 s tokens
    curl -s --max-time 10 "$EXP_URL/metrics" >"$out/metrics-json-run.txt"
fi
e2e_stop_exporter 5
cp "$EXP_LOG" "$out/debug-json.log"

# wrong password: exactly one login attempt, exit 3, and no secret in what it printed
f0=$(sim_stat logins_failed)
EXP_PASSWORD=$WRONG
e2e_start_exporter >/dev/null
for ((i = 0; i < 100; i++)); do kill -0 "$EXP_PID" 2>/dev/null || break; sleep 0.1; done
curl -s --max-time 5 "$EXP_URL/metrics" >"$out/metrics-wrong.txt" 2>/dev/null
e2e_stop_exporter 5
check "secrets: wrong password exits with status 3" [ "$EXP_RC" = 3 ]
[ "$EXP_RC" = 3 ] || echo "# exit status $EXP_RC: $(exp_log_tail 4)"
f1=$(sim_stat logins_failed)
check "secrets: wrong password = exactly one login attempt" [ "$((f1 - f0))" = 1 ]
cp "$EXP_LOG" "$out/wrong-password.log"

# --config.check with a password file prints the configuration without the secret
printf '%s\n' "$PASS" >"$TEST_TMP/pw"; chmod 600 "$TEST_TMP/pw"
"$EXP_BIN" --config.check --iotpro.url="https://localhost:$SIM_PORT" --iotpro.username=u \
    --iotpro.password-file="$TEST_TMP/pw" --tls.ca-file="$CERTS/ca.pem" >"$out/config-check.txt" 2>&1
IOTPRO_PASSWORD=$PASS "$EXP_BIN" --config.check --iotpro.url="https://localhost:$SIM_PORT" \
    --iotpro.username=u --tls.ca-file="$CERTS/ca.pem" >>"$out/config-check.txt" 2>&1
IOTPRO_PASSWORD=$PASS "$EXP_BIN" --iotpro.url="https://localhost:$SIM_PORT" --iotpro.username=u \
    --iotpro.password="$WRONG" >"$out/password-flag.txt" 2>&1   # must be refused, not echoed
check "secrets: --iotpro.password on the command line is refused (exit 2)" [ $? = 2 ]

# the search
"$PY" - "$out" "$PASS" "$WRONG" <<'PYEOF'
import os, re, sys
d, secrets = sys.argv[1], sys.argv[2:]
jwt = re.compile(rb"eyJ[A-Za-z0-9_-]{6,}")
b64run = re.compile(rb"[A-Za-z0-9_-]{40,}")
bad = []
files = sorted(os.listdir(d))
for f in files:
    data = open(os.path.join(d, f), "rb").read()
    for s in secrets:
        if s.encode() in data:
            bad.append(f"{f}: contains a password")
    for m in jwt.finditer(data):
        bad.append(f"{f}: JWT-like text {m.group()[:12]!r}...")
    for m in b64run.finditer(data):
        t = m.group()
        # a signature/payload/refresh token: mixed case and digits; metric and label
        # names are lower case, UUIDs have hyphens every few characters
        if re.search(rb"[A-Z]", t) and re.search(rb"[a-z]", t) and re.search(rb"[0-9]", t):
            bad.append(f"{f}: token-like base64url run {t[:12]!r}... ({len(t)} chars)")
    if re.search(rb"Bearer\s+\S", data):
        bad.append(f"{f}: 'Bearer <something>'")
print(f"# searched {len(files)} files ({sum(os.path.getsize(os.path.join(d, f)) for f in files)} bytes)")
for b in bad[:10]:
    print("#   " + b)
print(("ok" if not bad else "not ok") + " - secrets: no password, JWT or refresh token in logs, pages or errors"
      + ("" if not bad else f": {len(bad)} findings"))
sys.exit(1 if bad else 0)
PYEOF
[ $? = 0 ] || _failed=1
finish
