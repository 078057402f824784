#!/usr/bin/env bash
# t_tls.sh -- transport/conn + transport/tls against openssl s_server and raw peers:
# every TLS failure gets its own classified reason, and no HTTP byte is ever sent
# before the certificate has been checked.
source "$(dirname "$0")/../lib.sh"

PROBE=$BIN/tls_probe
need_built tls_probe "$PROBE"   # built by the Makefile: a failure under ./build.sh test
if ! command -v openssl >/dev/null; then skip tls "openssl not installed"; finish; fi
certs
C=$CERTS
REQ='GET / HTTP/1.0\r\n\r\n'
# s_server ends a connection when its stdin hits EOF: give it a FIFO that never does.
mkfifo "$TEST_TMP/stdin.fifo"
exec {HOLD_FD}<>"$TEST_TMP/stdin.fifo"

# s_server NAME ARGS... : starts openssl s_server (one connection), sets PORT and SLOG.
# Without -www it prints whatever application data it receives, so the log shows
# whether our client sent an HTTP request.
s_server() {
    local name=$1; shift
    PORT=$(free_port)
    SLOG=$TEST_TMP/s_server.$name.log
    # not `spawn`: an explicit redirection is needed on the `&` command itself, else
    # bash gives background jobs /dev/null as stdin
    openssl s_server -accept "127.0.0.1:$PORT" -naccept 1 "$@" <&"$HOLD_FD" >"$SLOG" 2>&1 &
    _pids+=($!)
    wait_for 5 grep -qs ACCEPT "$SLOG"
}

# probe_expect NAME WANT_REASON WANT_CODE ARGS...: runs the probe, checks the result.
probe_expect() {
    local name=$1 reason=$2 code=$3; shift 3
    OUT=$("$PROBE" "$@" 2>&1)
    local line; line="$(grep '^result=' <<<"$OUT") "
    if [[ "$line" == *"reason=$reason "* ]] && { [ -z "$code" ] || [[ "$line" == *"code=$code "* ]]; }; then
        ok "$name ($reason)"
    else
        fail "$name" "want reason=$reason code=$code, got: $OUT"
    fi
}

no_http_sent() { # NAME : the s_server log holds no request bytes
    if grep -q 'GET /' "$SLOG"; then fail "$1: no HTTP bytes sent" "server saw a request"; else ok "$1: no HTTP bytes sent"; fi
}

# 1. Good certificate: the request reaches the server (positive control for the
#    "no HTTP bytes" checks below), and -www answers then closes with close_notify.
s_server good -cert "$C/server.pem" -key "$C/server.key"
probe_expect "good certificate" none "" --ca "$C/ca.pem" --send "$REQ" --timeout 1500 localhost "$PORT"
wait_for 3 grep -q 'GET / HTTP/1.0' "$SLOG"
check "good certificate: request arrives" grep -q 'GET / HTTP/1.0' "$SLOG"

s_server www -cert "$C/server.pem" -key "$C/server.key" -www
OUT=$("$PROBE" --ca "$C/ca.pem" --send "$REQ" --timeout 3000 localhost "$PORT")
if grep -q 'end=closed' <<<"$OUT" && grep -Eq 'received=[1-9]' <<<"$OUT"; then
    ok "response read, clean close_notify is reported as closed"
else fail "clean close" "$OUT"; fi

s_server rsa -cert "$C/rsa-server.pem" -key "$C/rsa-server.key" -www
probe_expect "ECDHE_RSA server certificate" none "" --ca "$C/ca.pem" --timeout 3000 localhost "$PORT"

# 2. Each failure, with its own reason, and nothing sent.
s_server unknown -cert "$C/untrusted.pem" -key "$C/untrusted.key"
probe_expect "unknown CA" tls_unknown_ca 62 --ca "$C/ca.pem" --send "$REQ" localhost "$PORT"
no_http_sent "unknown CA"

s_server wrongname -cert "$C/wrongname.pem" -key "$C/wrongname.key"
probe_expect "wrong host name" tls_bad_name 56 --ca "$C/ca.pem" --send "$REQ" localhost "$PORT"
no_http_sent "wrong host name"

if [ -f "$C/expired.pem" ] && [ -f "$C/future.pem" ]; then
    s_server expired -cert "$C/expired.pem" -key "$C/expired.key"
    probe_expect "expired certificate" tls_expired 54 --ca "$C/ca.pem" --send "$REQ" localhost "$PORT"
    no_http_sent "expired certificate"
    s_server future -cert "$C/future.pem" -key "$C/future.key"
    probe_expect "not-yet-valid certificate" tls_expired 54 --ca "$C/ca.pem" --send "$REQ" localhost "$PORT"
    no_http_sent "not-yet-valid certificate"
else
    skip "expired/future certificates" "faketime missing when the test PKI was made"
fi

s_server clock -cert "$C/server.pem" -key "$C/server.key"
probe_expect "local clock at 1970" tls_cert_time 54 --ca "$C/ca.pem" --pin-time 0 --send "$REQ" localhost "$PORT"
no_http_sent "local clock at 1970"

s_server tls13 -cert "$C/server.pem" -key "$C/server.key" -tls1_3
probe_expect "TLS 1.3-only server" tls_protocol_version 326 --ca "$C/ca.pem" --send "$REQ" localhost "$PORT"
no_http_sent "TLS 1.3-only server"

s_server tls10 -cert "$C/server.pem" -key "$C/server.key" -tls1 -cipher 'DEFAULT@SECLEVEL=0'
probe_expect "TLS 1.0-only server" tls_handshake_failure 296 --ca "$C/ca.pem" --send "$REQ" localhost "$PORT"
no_http_sent "TLS 1.0-only server"

s_server cbc -cert "$C/server.pem" -key "$C/server.key" -tls1_2 -cipher 'ECDHE-ECDSA-AES128-SHA'
probe_expect "CBC-only TLS 1.2 server" tls_handshake_failure 296 --ca "$C/ca.pem" --send "$REQ" localhost "$PORT"
no_http_sent "CBC-only TLS 1.2 server"

# 3. Plain HTTP on the TLS port: the raw peer records what we sent (a ClientHello only).
PORT_LOG=$TEST_TMP/raw.log
spawn "$PY" "$TOP/tests/tls/https_peer.py" --raw --log "$PORT_LOG" >"$TEST_TMP/raw.port"
wait_for 5 test -s "$TEST_TMP/raw.port"
probe_expect "plain HTTP on the TLS port" tls_not_tls "" --ca "$C/ca.pem" --send "$REQ" localhost "$(cat "$TEST_TMP/raw.port")"
wait_for 5 grep -q '^raw ' "$PORT_LOG"
if grep -q '^raw [1-9][0-9]* bytes http=no' "$PORT_LOG"; then ok "plain HTTP port: only a ClientHello was sent"
else fail "plain HTTP port: only a ClientHello was sent" "$(cat "$PORT_LOG")"; fi

# 4. Configuration errors: refuse, with a clear message.
probe_expect "IP-literal host refused" tls_config "" --ca "$C/ca.pem" 127.0.0.1 443
OUT=$("$PROBE" --ca "$TEST_TMP/missing.pem" localhost 1; echo "exit=$?")
if grep -q 'result=ca_error code=-601' <<<"$OUT" && grep -q 'exit=2' <<<"$OUT"; then ok "missing CA file refused"; else fail "missing CA file" "$OUT"; fi
: >"$TEST_TMP/empty.pem"
OUT=$("$PROBE" --ca "$TEST_TMP/empty.pem" localhost 1; echo "exit=$?")
if grep -q 'result=ca_error code=-602' <<<"$OUT" && grep -q 'exit=2' <<<"$OUT"; then ok "empty CA file refused"; else fail "empty CA file" "$OUT"; fi
OUT=$("$PROBE" --ca "$C/server.key" localhost 1; echo "exit=$?")
if grep -q 'result=ca_error code=-603' <<<"$OUT"; then ok "key-only PEM refused (no certificates)"; else fail "key-only PEM" "$OUT"; fi
head -c 3000 /dev/urandom >"$TEST_TMP/junk.pem"
OUT=$("$PROBE" --ca "$TEST_TMP/junk.pem" localhost 1; echo "exit=$?")
if grep -q 'result=ca_error' <<<"$OUT"; then ok "random bytes as CA file refused"; else fail "junk CA file" "$OUT"; fi

# 5. The system bundle loads (>= 50 anchors) and does not trust the test CA.
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    s_server sysbundle -cert "$C/server.pem" -key "$C/server.key"
    OUT=$("$PROBE" --send "$REQ" localhost "$PORT")
    n=$(sed -n 's/^anchors=\([0-9]*\).*/\1/p' <<<"$OUT")
    if [ "${n:-0}" -ge 50 ] && grep -q 'reason=tls_unknown_ca' <<<"$OUT"; then
        ok "system CA bundle: $n anchors, test CA not trusted"
    else fail "system CA bundle" "$OUT"; fi
else
    skip "system CA bundle" "no /etc/ssl/certs/ca-certificates.crt"
fi

# 6. TCP-level failures and the handshake deadline.
DEAD=$(free_port)
probe_expect "connection refused" refused "" --ca "$C/ca.pem" localhost "$DEAD"
# A listener that never speaks: the kernel completes the TCP handshake, no ServerHello.
HOLD_PORT=$(free_port)
spawn "$PY" -c "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1',$HOLD_PORT)); s.listen(8); time.sleep(60)"
wait_for 5 "$PY" -c "import socket; socket.create_connection(('127.0.0.1',$HOLD_PORT)).close()"
t0=$(date +%s%N)
probe_expect "silent server: handshake deadline" timeout "" --ca "$C/ca.pem" --timeout 1000 localhost "$HOLD_PORT"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if [ "$ms" -ge 900 ] && [ "$ms" -lt 2500 ]; then ok "handshake deadline honoured (${ms} ms for 1000)"; else fail "handshake deadline" "${ms} ms"; fi
grep -q 'stage=tls' <<<"$OUT" && ok "deadline blamed on stage tls" || fail "deadline stage" "$OUT"

OUT=$("$PROBE" --ca "$C/ca.pem" --timeout 3000 no-such-host.invalid 443)
if grep -Eq 'stage=dns reason=(dns|dns_temporary|timeout) ' <<<"$OUT"; then ok "unresolvable host: stage dns"; else fail "dns failure" "$OUT"; fi

finish
