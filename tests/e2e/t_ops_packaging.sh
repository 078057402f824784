#!/usr/bin/env bash
# Packaging checks for deploy/: the hardened systemd unit (systemd-analyze verify and
# security score), the environment file, the FROM-scratch Dockerfile (no Docker engine
# here: the image's file system is rebuilt in a directory and the binary is run in it
# with chroot as uid 65534), one listen port everywhere, and the exit codes the unit
# relies on.
source "$(dirname "$0")/../lib.sh"
D=$TOP/deploy
UNIT=$D/systemd/iotpro_exporter.service
STATIC=$BUILD/iotpro_exporter          # stripped static binary made by ./build.sh

# --- systemd unit -------------------------------------------------------------------
check "unit: required hardening and restart settings" "$PY" - "$UNIT" <<'PY'
import sys
want = {
    "DynamicUser": "yes", "NoNewPrivileges": "yes", "CapabilityBoundingSet": "",
    "AmbientCapabilities": "", "ProtectSystem": "strict", "ProtectHome": "yes",
    "PrivateTmp": "yes", "PrivateDevices": "yes", "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes",
    "ProtectClock": "yes", "ProtectHostname": "yes", "RestrictNamespaces": "yes",
    "RestrictRealtime": "yes", "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes",
    "SystemCallArchitectures": "native", "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "Restart": "on-failure", "EnvironmentFile": "-/etc/default/iotpro_exporter",
    "LoadCredential": "password:/etc/iotpro_exporter/password",
}
kv = {}
for line in open(sys.argv[1]):
    line = line.strip()
    if line and not line.startswith(("#", ";", "[")) and "=" in line:
        k, v = line.split("=", 1)
        kv.setdefault(k, []).append(v)
bad = [f"{k}={kv.get(k)}" for k, v in want.items() if kv.get(k, [None])[0] != v]
if "@system-service" not in kv.get("SystemCallFilter", []): bad.append("SystemCallFilter")
if not kv.get("UMask") or not kv.get("RestartSec"): bad.append("UMask/RestartSec")
if set(kv.get("RestartPreventExitStatus", [""])[0].split()) != {"2", "3"}: bad.append("RestartPreventExitStatus")
if "--iotpro.password-file=${CREDENTIALS_DIRECTORY}/password" not in kv.get("ExecStart", [""])[0]: bad.append("ExecStart")
print(bad) if bad else None
sys.exit(1 if bad else 0)
PY

if command -v systemd-analyze >/dev/null; then
    # verify insists that ExecStart's binary exists: point it at a real one
    bin=/bin/true; [ -x "$STATIC" ] && bin=$STATIC
    sed "s|/usr/local/bin/iotpro_exporter|$bin|" "$UNIT" >"$TEST_TMP/iotpro_exporter.service"
    out=$(cd "$TEST_TMP" && systemd-analyze verify ./iotpro_exporter.service 2>&1)
    check "unit: systemd-analyze verify" test $? -eq 0 -a -z "$out" || echo "$out"
    score=$(cd "$TEST_TMP" && systemd-analyze security --offline=yes ./iotpro_exporter.service 2>/dev/null |
            sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    if [ -n "$score" ]; then
        check "unit: systemd-analyze security exposure $score <= 2.0" \
            awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'
    else
        skip "unit: security score" "systemd-analyze security --offline not supported"
    fi
else
    skip "unit: systemd-analyze verify" "systemd-analyze not installed"
fi

check "default file: only KEY=value lines, ARGS and IOTPRO_USERNAME set" "$PY" - "$D/systemd/iotpro_exporter.default" <<'PY'
import re, sys
keys = set()
for line in open(sys.argv[1]):
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    m = re.match(r'^([A-Z_][A-Z0-9_]*)=(.*)$', line)
    if not m:
        print("bad line:", line); sys.exit(1)
    keys.add(m.group(1))
sys.exit(0 if {"ARGS", "IOTPRO_USERNAME"} <= keys and "IOTPRO_PASSWORD" not in keys else 1)
PY

# --- one port everywhere ---------------------------------------------------------------
port=$(sed -n 's/^EXPOSE \([0-9]*\).*/\1/p' "$D/docker/Dockerfile")
check "port $port: in 9100-9999" test -n "$port" -a "${port:-0}" -ge 9100 -a "${port:-0}" -le 9999
check "port $port: Docker CMD" \
    grep -q -- "--web.listen-address=:$port\"" "$D/docker/Dockerfile"
check "port $port: env file" grep -q -- "--web.listen-address=:$port" "$D/systemd/iotpro_exporter.default"
check "port $port: prometheus.yml target" grep -q "localhost:$port\"" "$D/prometheus/prometheus.yml"

# --- Dockerfile ---------------------------------------------------------------------------
DF=$D/docker/Dockerfile
check "Dockerfile: final stage FROM scratch" test "$(grep '^FROM ' "$DF" | tail -1 | awk '{print $2}')" = scratch
check "Dockerfile: copies build/iotpro_exporter and the CA bundle" \
    grep -q '^COPY build/iotpro_exporter ' "$DF"
check "Dockerfile: CA bundle at /etc/ssl/certs/ca-certificates.crt" \
    grep -q '^COPY .* /etc/ssl/certs/ca-certificates.crt$' "$DF"
check "Dockerfile: USER 65534, exec-form ENTRYPOINT" \
    bash -c "grep -q '^USER 65534' '$DF' && grep -q '^ENTRYPOINT \[\"/' '$DF'"
check "Dockerfile: context filter keeps the binary" grep -qx '!build/iotpro_exporter' "$D/docker/Dockerfile.dockerignore"

if [ ! -x "$STATIC" ]; then
    unbuilt "docker: scratch root" "build/iotpro_exporter not built (./build.sh)"
else
    check "docker: build/iotpro_exporter is statically linked" bash -c "file -b '$STATIC' | grep -Eq 'statically linked|static-pie linked'"
    if [ "$(id -u)" = 0 ] && command -v chroot >/dev/null; then
        # the image's whole file system: the binary, the CA bundle, nothing else
        root=$TEST_TMP/rootfs
        mkdir -p "$root/bin" "$root/etc/ssl/certs"
        cp "$STATIC" "$root/bin/iotpro_exporter"
        cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/" 2>/dev/null || : >"$root/etc/ssl/certs/ca-certificates.crt"
        out=$(chroot --userspec=65534:65534 "$root" /bin/iotpro_exporter --version 2>&1)
        check "docker: --version runs in an empty root as uid 65534" test $? -eq 0 || echo "$out"
        # HTTPS in the image: /tmp as the Dockerfile makes it, web.yml and certificates
        # mounted; the exporter serves /-/healthy over TLS with basic auth (its upstream
        # is unreachable here, which does not matter to the web side)
        if grep -q -- '--chown=65534:65534 /empty /tmp' "$DF" && command -v htpasswd >/dev/null; then
            certs
            mkdir -p "$root/tmp" "$root/etc/iotpro_exporter/web"
            chown 65534:65534 "$root/tmp"
            cp "$CERTS/server.pem" "$CERTS/server.key" "$CERTS/ca.pem" "$root/etc/iotpro_exporter/web/"
            chmod 0644 "$root/etc/iotpro_exporter/web/"*
            printf 'tls_server_config:\n  cert_file: /etc/iotpro_exporter/web/server.pem\n  key_file: /etc/iotpro_exporter/web/server.key\nbasic_auth_users:\n  prom: %s\n' \
                "$(htpasswd -nbB -C 5 prom pw | cut -d: -f2-)" >"$root/etc/iotpro_exporter/web/web.yml"
            hp=$(free_port)
            IOTPRO_PASSWORD=x spawn chroot --userspec=65534:65534 "$root" /bin/iotpro_exporter \
                --iotpro.url=https://localhost:1 --iotpro.username=u \
                --tls.ca-file=/etc/iotpro_exporter/web/ca.pem --web.listen-address=127.0.0.1:$hp \
                --web.config.file=/etc/iotpro_exporter/web/web.yml 2>"$TEST_TMP/chroot.log"
            wait_port "$hp" 10
            code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CERTS/ca.pem" -u prom:pw "https://localhost:$hp/-/healthy")
            check "docker: HTTPS with basic auth from the scratch image's /tmp ($code)" test "$code" = 200 \
                || head -5 "$TEST_TMP/chroot.log"
        else
            fail "docker: HTTPS from the scratch image" "the Dockerfile makes no /tmp for uid 65534, or htpasswd is missing"
        fi
    else
        skip "docker: scratch root" "needs root and chroot"
    fi
fi

# --- exit codes the unit depends on --------------------------------------------------------
if [ -x "$EXPORTER" ] && "$EXPORTER" --help >/dev/null 2>&1; then
    "$EXPORTER" --no-such-flag >/dev/null 2>&1
    rc=$?
    check "exporter: invalid configuration exits 2 (RestartPreventExitStatus)" test "$rc" -eq 2
    help=$("$EXPORTER" --help 2>&1)
    if grep -Eq '[0-9]{4}' <<<"$(grep -A2 -- '--web.listen-address' <<<"$help")"; then
        check "exporter: default listen port is $port" bash -c "grep -A2 -- '--web.listen-address' <<<\"\$1\" | grep -q ':$port'" _ "$help"
    else
        skip "exporter: default listen port" "--help does not show the default"
    fi
elif [ -x "$EXPORTER" ]; then
    fail "exporter: exit codes" "$EXPORTER --help fails"   # built but broken
else
    unbuilt "exporter: exit codes" "exporter not built ($EXPORTER)"
fi
finish
