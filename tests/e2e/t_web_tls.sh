#!/usr/bin/env bash
# t_web_tls.sh -- --web.config.file end to end: HTTPS through the BearSSL front and
# basic auth, against real peers.
#   - curl: the right CA and password (hashes made by htpasswd -B and python3-bcrypt at
#     test time), the wrong CA, plain HTTP to the TLS port, wrong password, unknown
#     user, no credentials (401 with WWW-Authenticate, counted as code="401", no
#     revealing body), /-/healthy and /-/ready behind the same rules, extra headers;
#   - timing: an unknown user costs what a wrong password costs (cost-10 hashes);
#   - openssl s_client: TLS 1.2 with an ECDHE+AEAD suite only; TLS 1.3-only and
#     CBC-only clients are refused;
#   - SIGHUP to RequireAndVerifyClientCert: no client certificate, one from another CA
#     refused, the right one admitted; a bad file on SIGHUP keeps the old config and
#     iotpro_config_last_reload_successful drops to 0;
#   - the certificate files replaced on disk (EC -> RSA): new connections get the new
#     one without a signal;
#   - a real Prometheus scraping with scheme https, tls_config and basic_auth: up == 1
#     and the simulator's series;
#   - bad input at start-up exits 2 naming the problem; promtool check web-config
#     agrees with our parser on valid and invalid files.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/e2e_common.sh"
e2e_need web_tls "${EXP_CONFIG:-release}"
for tool in htpasswd openssl promtool prometheus; do
    command -v $tool >/dev/null || { fail "web_tls needs $tool" "tests/deps.sh installs it"; finish; }
done
"$PY" -c 'import bcrypt' 2>/dev/null || { fail "web_tls needs python3-bcrypt" "tests/deps.sh installs it"; finish; }

W=$TEST_TMP/web
mkdir -p "$W"
cp "$CERTS/server.pem" "$W/cert.pem"
cp "$CERTS/server.key" "$W/key.pem"
# client certificates: one from our CA, one from an unrelated CA
client_cert() { # name ca
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/$1.key" 2>/dev/null
    openssl req -new -key "$W/$1.key" -subj "/CN=$1" -out "$W/$1.csr" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >"$W/$1.ext"
    openssl x509 -req -in "$W/$1.csr" -CA "$CERTS/$2.pem" -CAkey "$CERTS/$2.key" -CAcreateserial \
        -CAserial "$W/$2.srl" -days 30 -sha256 -extfile "$W/$1.ext" -out "$W/$1.pem" 2>/dev/null
}
client_cert client ca
client_cert stranger other-ca

H_PROM=$(htpasswd -nbB -C 5 prom 'pr0m s3cret' | cut -d: -f2-)
H_PY=$("$PY" -c 'import bcrypt; print(bcrypt.hashpw("pässwörd".encode(), bcrypt.gensalt(5)).decode())')
H_SLOW=$(htpasswd -nbB -C 10 slow 'slow-pass' | cut -d: -f2-)
users() {
    cat <<Y
basic_auth_users:
  prom: $H_PROM
  "py user": '$H_PY'
  slow: $H_SLOW
Y
}
{
    echo "tls_server_config:"
    echo "  cert_file: $W/cert.pem"
    echo "  key_file: $W/key.pem"
    echo "http_server_config:"
    echo "  headers:"
    echo "    X-Frame-Options: deny"
    echo "    Strict-Transport-Security: max-age=3600"
    users
} >"$W/web.yml"

e2e_start_sim --assets 50 --rate 20 || { fail "simulator starts"; finish; }
mkdir -p "$W/run"   # the exporter's TMPDIR: where its private socket directory goes
TMPDIR=$W/run e2e_start_exporter --web.config.file="$W/web.yml" || { fail "exporter listens" "$(exp_log_tail)"; finish; }
EXP_URL=https://localhost:$EXP_PORT
AUTH=(-u 'prom:pr0m s3cret')
sget() { curl -sS --max-time 10 --cacert "$CERTS/ca.pem" "$@"; }
metrics_text() { sget "${AUTH[@]}" "$EXP_URL/metrics"; }
code() { sget -o /dev/null -w '%{http_code}' "$@" 2>/dev/null; }
e2e_wait_up 30 || fail "iotpro_up becomes 1 over https" "$(exp_log_tail)"
sockdir=$(ls -d "$W"/run/iotpro_exporter.* 2>/dev/null)
check "civetweb's socket is in a 0700 directory ($sockdir)" test -S "$sockdir/http.sock" -a "$(stat -c %a "$sockdir")" = 700

check "right CA and password: 200" test "$(code "${AUTH[@]}" "$EXP_URL/metrics")" = 200
check "python3-bcrypt user (UTF-8 password): 200" test "$(code -u 'py user:pässwörd' "$EXP_URL/metrics")" = 200
has_series() { metrics_text | grep -q '^iotpro_telemetry_value{'; }
check "telemetry series served over https" has_series
out=$(curl -sS --max-time 5 --cacert "$CERTS/other-ca.pem" "${AUTH[@]}" "$EXP_URL/metrics" 2>&1); rc=$?
check "wrong CA: curl refuses (rc $rc)" test "$rc" = 60
out=$(curl -sS --max-time 5 "http://127.0.0.1:$EXP_PORT/metrics" 2>&1); rc=$?
check "plain HTTP on the TLS port gets no answer (rc $rc)" test "$rc" -ne 0 -a -z "$(echo "$out" | grep -i iotpro_)"

before=$(metric 'iotpro_web_responses_total{code="401"}')
hdr=$(sget -D - -o "$TEST_TMP/body401" -u 'prom:wrong' "$EXP_URL/metrics")
check "wrong password: 401" grep -q '^HTTP/1.1 401' <<<"$hdr"
check "401 carries WWW-Authenticate: Basic realm=\"iotpro_exporter\"" grep -qi '^WWW-Authenticate: Basic realm="iotpro_exporter"' <<<"$hdr"
check "401 body reveals nothing" test "$(cat "$TEST_TMP/body401")" = "Unauthorized."
check "unknown user: 401" test "$(code -u 'mallory:pr0m s3cret' "$EXP_URL/metrics")" = 401
check "no credentials: 401" test "$(code "$EXP_URL/metrics")" = 401
check "/-/healthy without credentials: 401" test "$(code "$EXP_URL/-/healthy")" = 401
check "/-/ready without credentials: 401" test "$(code "$EXP_URL/-/ready")" = 401
check "/ without credentials: 401" test "$(code "$EXP_URL/")" = 401
check "/-/healthy with credentials: 200" test "$(code "${AUTH[@]}" "$EXP_URL/-/healthy")" = 200
check "/-/ready with credentials: 200" test "$(code "${AUTH[@]}" "$EXP_URL/-/ready")" = 200
after=$(metric 'iotpro_web_responses_total{code="401"}')
check "the six 401s are counted ($before -> $after)" test "$((after - before))" = 6
hdr=$(sget -D - -o /dev/null "${AUTH[@]}" "$EXP_URL/metrics")
check "http_server_config.headers sent (X-Frame-Options)" grep -qi '^X-Frame-Options: deny' <<<"$hdr"
check "http_server_config.headers sent (Strict-Transport-Security)" grep -qi '^Strict-Transport-Security: max-age=3600' <<<"$hdr"
check "exporter log holds no hash or password" bash -c "! grep -qF -e '$H_PROM' -e 'pr0m s3cret' -e 'slow-pass' '$EXP_LOG'"

# Timing: with cost-10 hashes (~60 ms each) the wrong password and the unknown user
# must both do the bcrypt: interleaved samples, medians within 40% of each other
# (the machine is shared), both well above a cached request's.
t_ms() { sget -o /dev/null -w '%{time_total}\n' -u "$1" "$EXP_URL/-/healthy"; }
: >"$TEST_TMP/t_fast"; : >"$TEST_TMP/t_wrong"; : >"$TEST_TMP/t_unknown"
for i in $(seq 11); do
    t_ms 'prom:pr0m s3cret' >>"$TEST_TMP/t_fast"
    t_ms 'slow:nope' >>"$TEST_TMP/t_wrong"
    t_ms 'nobody:nope' >>"$TEST_TMP/t_unknown"
done
med() { sort -n "$1" | sed -n 6p | awk '{printf "%d", $1 * 1000}'; }
fast=$(med "$TEST_TMP/t_fast"); wrong=$(med "$TEST_TMP/t_wrong"); unknown=$(med "$TEST_TMP/t_unknown")
check "unknown user costs what a wrong password costs (wrong ${wrong} ms, unknown ${unknown} ms, cached right ${fast} ms)" \
    "$PY" -c "import sys; w, u, f = $wrong, $unknown, $fast; sys.exit(0 if w > f + 20 and u > f + 20 and 0.6 < u / w < 1.67 else 1)"

# TLS policy, seen by openssl
s_client() { timeout 10 openssl s_client -connect "127.0.0.1:$EXP_PORT" -servername localhost -CAfile "$CERTS/ca.pem" "$@" </dev/null 2>&1; }
out=$(s_client -brief)
check "TLS 1.2 with ECDHE_ECDSA+AES-GCM for the EC key" grep -Eq 'Protocol version: TLSv1.2|Ciphersuite: ECDHE-ECDSA-AES128-GCM-SHA256' <<<"$out"
check "TLS 1.3-only client refused" bash -c "! grep -q 'Protocol version: TLSv1.3' <<<\"\$(timeout 10 openssl s_client -brief -connect 127.0.0.1:$EXP_PORT -tls1_3 </dev/null 2>&1)\""
out=$(s_client -brief -tls1_2 -cipher 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA')
check "CBC-only client refused" bash -c "! grep -q 'Ciphersuite:' <<<'$out'"
out=$(s_client -brief -tls1_2 -cipher 'ECDHE-ECDSA-CHACHA20-POLY1305')
check "ChaCha20-Poly1305 offered" grep -q 'Ciphersuite: ECDHE-ECDSA-CHACHA20-POLY1305' <<<"$out"

# SIGHUP to client certificates
{
    echo "tls_server_config:"
    echo "  cert_file: $W/cert.pem"
    echo "  key_file: $W/key.pem"
    echo "  client_auth_type: RequireAndVerifyClientCert"
    echo "  client_ca_file: $CERTS/ca.pem"
    echo "  min_version: TLS12"
    users
} >"$W/web.yml.new"
mv "$W/web.yml.new" "$W/web.yml"
kill -HUP "$EXP_PID"
CC=(--cert "$W/client.pem" --key "$W/client.key")
metrics_text() { sget "${CC[@]}" "${AUTH[@]}" "$EXP_URL/metrics"; }
no_cert_refused() { [ "$(code "${AUTH[@]}" "$EXP_URL/-/healthy")" = 000 ]; }
wait_for 10 no_cert_refused \
    && ok "SIGHUP: no client certificate is now refused" || fail "SIGHUP: no client certificate is now refused" "$(exp_log_tail)"
check "a client certificate from another CA is refused" test "$(code --cert "$W/stranger.pem" --key "$W/stranger.key" "${AUTH[@]}" "$EXP_URL/-/healthy")" = 000
check "the right client certificate and password: 200" test "$(code "${CC[@]}" "${AUTH[@]}" "$EXP_URL/-/healthy")" = 200
check "the right client certificate, no password: 401" test "$(code "${CC[@]}" "$EXP_URL/-/healthy")" = 401
check "iotpro_config_last_reload_successful 1" test "$(metric iotpro_config_last_reload_successful)" = 1

cp "$W/web.yml" "$W/web.yml.good"
printf 'tls_server_config:\n  cert_file: %s\n  key_file: %s\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: %s\n  bogus_field: 1\n' \
    "$W/cert.pem" "$W/key.pem" "$CERTS/ca.pem" >"$W/web.yml"
kill -HUP "$EXP_PID"
wait_for 10 metric_eq iotpro_config_last_reload_successful 0 \
    && ok "bad file on SIGHUP: iotpro_config_last_reload_successful drops to 0" \
    || fail "bad file on SIGHUP: iotpro_config_last_reload_successful drops to 0"
check "the reload error names the line" grep -q 'line 6: unknown field .*bogus_field.* in tls_server_config' "$EXP_LOG"
check "old config still in force: client certificate and password still work" test "$(code "${CC[@]}" "${AUTH[@]}" "$EXP_URL/metrics")" = 200
check "old config still in force: users unchanged (wrong password 401)" test "$(code "${CC[@]}" -u prom:x "$EXP_URL/metrics")" = 401
cp "$W/web.yml.good" "$W/web.yml"
kill -HUP "$EXP_PID"
wait_for 10 metric_eq iotpro_config_last_reload_successful 1 && ok "a good file on SIGHUP again: 1" || fail "a good file on SIGHUP again: 1"

# The certificate files change on disk (EC -> RSA key): picked up without a signal.
cp "$CERTS/rsa-server.pem" "$W/cert.pem.new"; cp "$CERTS/rsa-server.key" "$W/key.pem.new"
mv "$W/key.pem.new" "$W/key.pem"; mv "$W/cert.pem.new" "$W/cert.pem"
rsa_now() { s_client -brief -cert "$W/client.pem" -key "$W/client.key" | grep -q 'Ciphersuite: ECDHE-RSA-'; }
wait_for 15 rsa_now \
    && ok "replaced certificate files are reloaded (ECDHE_RSA now)" || fail "replaced certificate files are reloaded (ECDHE_RSA now)" "$(exp_log_tail)"
check "the reload is logged" grep -q 'TLS certificate files changed: reloaded' "$EXP_LOG"
check "scrapes still work after the reload" test "$(code "${CC[@]}" "${AUTH[@]}" "$EXP_URL/metrics")" = 200

# A real Prometheus: scheme https, tls_config with a client certificate, basic_auth.
PP=$(free_port)
mkdir -p "$TEST_TMP/prom"
cat >"$TEST_TMP/prom/prometheus.yml" <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: iotpro_tls
    scheme: https
    tls_config:
      ca_file: $CERTS/ca.pem
      cert_file: $W/client.pem
      key_file: $W/client.key
      server_name: localhost
    basic_auth:
      username: prom
      password: 'pr0m s3cret'
    static_configs:
      - targets: ['127.0.0.1:$EXP_PORT']
YML
spawn prometheus --config.file="$TEST_TMP/prom/prometheus.yml" --storage.tsdb.path="$TEST_TMP/prom/data" \
    --web.listen-address="127.0.0.1:$PP" >"$TEST_TMP/prom/log" 2>&1
PROM_URL=http://127.0.0.1:$PP
if wait_port "$PP" 20 && wait_for 20 curl -sf "$PROM_URL/-/ready" -o /dev/null; then
    ok "prometheus starts"
    pq() { curl -s "$PROM_URL/api/v1/query" --data-urlencode "query=$1" | "$PY" -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'; }
    prom_up() { [ "$(pq 'up{job="iotpro_tls"}')" = 1 ]; }
    wait_for 30 prom_up \
        && ok "Prometheus scrapes over TLS with basic auth: up == 1" \
        || fail "Prometheus scrapes over TLS with basic auth: up == 1" "$(curl -s "$PROM_URL/api/v1/targets" | head -c 600)"
    n=$(pq 'count(iotpro_telemetry_value{job="iotpro_tls"})')
    check "the telemetry series reach Prometheus ($n)" test "${n:-0}" -gt 0
else
    fail "prometheus starts" "$(tail -n 5 "$TEST_TMP/prom/log")"
fi
e2e_stop_exporter 5
check "clean stop (exit $EXP_RC)" test "$EXP_RC" = 0
check "the private socket directory was made in TMPDIR and is gone" test -z "$(ls -A "$W/run")"

# Start-up errors: exit 2 and the problem named.
startup() { # expect-substring file
    local out rc
    out=$(IOTPRO_PASSWORD=x "$EXP_BIN" --iotpro.url="https://localhost:1" --iotpro.username=u \
          --tls.ca-file="$CERTS/ca.pem" --web.config.file="$2" --config.check 2>&1); rc=$?
    if [ "$rc" = 2 ] && grep -qF -- "$1" <<<"$out"; then ok "start-up: $1 (exit 2)"
    else fail "start-up: $1 (exit 2)" "rc=$rc: $out"; fi
}
bad() { printf '%s\n' "$@" >"$W/bad.yml"; }
bad "tls_server_config:" "  cert_file: $CERTS/server.pem" "  key_file: $W/missing.key"
startup "key_file $W/missing.key: No such file or directory" "$W/bad.yml"
bad "tls_server_config:" "  cert_file: $CERTS/server.pem" "  key_file: $W"
startup "not a regular file" "$W/bad.yml"
bad "tls_server_config:" "  cert_file: $CERTS/server.pem" "  key_file: $CERTS/other-ca.key"
startup "the private key does not match the certificate" "$W/bad.yml"
bad "basic_auth_users:" "  u: \$2y\$05\$tooshort"
startup 'not a bcrypt hash (must be 60 characters)' "$W/bad.yml"
bad "basic_auth_users:" "  '': $H_PROM"
startup "line 2: basic_auth_users: empty user name" "$W/bad.yml"
bad "tls_server_config:" "  cert_file: $CERTS/server.pem" "  key_file: $CERTS/server.key" "  min_version: TLS13"
startup "line 4: min_version: TLS13 is not available" "$W/bad.yml"
startup "--web.config.file $W/none.yml: No such file or directory" "$W/none.yml"

# promtool check web-config and our parser agree (exit status) on each file.
agree() { # name file
    local p o
    promtool check web-config "$2" >/dev/null 2>&1; p=$?
    IOTPRO_PASSWORD=x "$EXP_BIN" --iotpro.url="https://localhost:1" --iotpro.username=u \
        --tls.ca-file="$CERTS/ca.pem" --web.config.file="$2" --config.check >/dev/null 2>&1; o=$?
    if [ $((p == 0)) = $((o == 0)) ]; then ok "promtool agrees: $1 (promtool $p, ours $o)"
    else fail "promtool agrees: $1" "promtool $p, ours $o"; fi
}
# Where we refuse on purpose what promtool accepts (our TLS policy): promtool 0,
# ours 2.
differ() { # name file
    local p o
    promtool check web-config "$2" >/dev/null 2>&1; p=$?
    IOTPRO_PASSWORD=x "$EXP_BIN" --iotpro.url="https://localhost:1" --iotpro.username=u \
        --tls.ca-file="$CERTS/ca.pem" --web.config.file="$2" --config.check >/dev/null 2>&1; o=$?
    if [ "$p" = 0 ] && [ "$o" = 2 ]; then ok "refused by our policy, accepted by promtool: $1"
    else fail "refused by our policy, accepted by promtool: $1" "promtool $p, ours $o"; fi
}
T="tls_server_config:|  cert_file: $CERTS/server.pem|  key_file: $CERTS/server.key"
case_file() { tr '|' '\n' <<<"$2" >"$W/agree_$1.yml"; agree "$1" "$W/agree_$1.yml"; }
case_file valid_tls_users "$T|basic_auth_users:|  prom: $H_PROM"
case_file valid_users_only "basic_auth_users:|  prom: '$H_PROM'|  other: $H_SLOW"
case_file valid_mtls "$T|  client_auth_type: RequireAndVerifyClientCert|  client_ca_file: $CERTS/ca.pem"
case_file valid_suites "$T|  cipher_suites:|  - TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384|  - TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256|  prefer_server_cipher_suites: true|  min_version: TLS12|  max_version: TLS13"
case_file valid_headers "http_server_config:|  http2: false|  headers:|    X-Frame-Options: sameorigin|    Content-Security-Policy: default-src 'self'"
case_file valid_rsa "tls_server_config:|  cert_file: $CERTS/rsa-server.pem|  key_file: $CERTS/rsa-server.key"
case_file valid_empty ""
case_file bad_top_field "tls_server_config:|  cert_file: $CERTS/server.pem|  key_file: $CERTS/server.key|web_server: 1"
case_file bad_tls_field "$T|  cert_files: x"
case_file bad_http_field "http_server_config:|  compression: true"
case_file bad_no_key "tls_server_config:|  cert_file: $CERTS/server.pem"
case_file bad_key_mismatch "tls_server_config:|  cert_file: $CERTS/server.pem|  key_file: $CERTS/rsa-server.key"
case_file bad_missing_cert "tls_server_config:|  cert_file: $W/nope.pem|  key_file: $CERTS/server.key"
case_file bad_header_name "http_server_config:|  headers:|    Server: x"
case_file bad_frame_options "http_server_config:|  headers:|    X-Frame-Options: allow"
case_file bad_ca_without_auth "$T|  client_ca_file: $CERTS/ca.pem"
case_file bad_client_auth "$T|  client_auth_type: Sometimes"
case_file bad_min_version "$T|  min_version: SSL30"
case_file bad_suite_name "$T|  cipher_suites: [TLS_NOT_A_SUITE]"
case_file bad_suite_alias "$T|  cipher_suites: [TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305]"
case_file bad_hash "basic_auth_users:|  u: not-a-hash"
case_file bad_yaml "tls_server_config:|  cert_file: [unclosed"
tr '|' '\n' <<<"$T|  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA]" >"$W/differ_cbc.yml"
differ "a CBC suite" "$W/differ_cbc.yml"
tr '|' '\n' <<<"$T|  min_version: TLS13" >"$W/differ_tls13.yml"
differ "min_version TLS13" "$W/differ_tls13.yml"
finish
