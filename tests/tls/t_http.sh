#!/usr/bin/env bash
# t_http.sh -- transport/httpc over TLS (and plain TCP) against python3's http.server
# wrapped in ssl (tests/tls/https_peer.py): Content-Length and chunked bodies,
# keep-alive reuse counted on the server, redirects not followed, limits, malformed
# chunks, truncation, a dribbling server against the request deadline, and secrets
# kept out of every output.
source "$(dirname "$0")/../lib.sh"

HP=$BIN/http_probe
need_built http_probe "$HP"   # built by the Makefile: a failure under ./build.sh test
certs
C=$CERTS

# peer NAME ARGS... : starts the peer, sets PPORT and PLOG
peer() {
    local name=$1; shift
    PLOG=$TEST_TMP/peer.$name.log
    spawn "$PY" "$TOP/tests/tls/https_peer.py" --log "$PLOG" "$@" >"$TEST_TMP/peer.$name.port"
    wait_for 10 test -s "$TEST_TMP/peer.$name.port" || { fail "peer $name starts"; finish; }
    PPORT=$(head -1 "$TEST_TMP/peer.$name.port")
}

has() { grep -q -- "$2" <<<"$1"; }   # has TEXT PATTERN
expect() { # NAME TEXT PATTERN
    if has "$2" "$3"; then ok "$1"; else fail "$1" "want /$3/ in: $2"; fi
}

peer tls --cert "$C/server.pem" --key "$C/server.key"

# 1. Bodies, keep-alive reuse and connection counting.
OUT=$("$HP" --ca "$C/ca.pem" localhost "$PPORT" /cl /chunked /cl /redirect /close /cl)
expect "Content-Length body" "$OUT" '^req=1 result=ok status=200 body_len=5 reused=0 retried=0 keep_alive=1 .*body="hello"'
expect "chunked body, connection reused" "$OUT" '^req=2 result=ok status=200 body_len=11 reused=1 .*body="hello world"'
expect "third request reuses too" "$OUT" '^req=3 result=ok status=200 body_len=5 reused=1'
expect "302 returned, not followed" "$OUT" '^req=4 result=ok status=302 body_len=0 reused=1'
expect "Connection: close honoured" "$OUT" '^req=5 result=ok status=200 body_len=3 reused=1 retried=0 keep_alive=0'
expect "new connection after close" "$OUT" '^req=6 result=ok status=200 body_len=5 reused=0'
expect "client counted 2 connections" "$OUT" '^connects=2$'
n=$(grep -c '^conn$' "$PLOG"); [ "$n" = 2 ] && ok "server saw 2 connections for 6 requests" || fail "server connection count" "$n"
grep -q 'steal' "$PLOG" && fail "redirect target never requested" || ok "redirect target never requested"
grep -q '^sni localhost$' "$PLOG" && ok "SNI carries the host name" || fail "SNI" "$(cat "$PLOG")"

# 2. Bad responses: each its own error, and the next request still works.
OUT=$("$HP" --ca "$C/ca.pem" --max-body 65536 localhost "$PPORT" /badchunk /cl /big /bigchunked /truncate /cl)
expect "malformed chunk size" "$OUT" '^req=1 result=fail stage=http reason=http code=-510'
expect "recovers after a bad response" "$OUT" '^req=2 result=ok status=200'
expect "Content-Length over the body limit" "$OUT" '^req=3 result=fail stage=http reason=limit code=-512'
expect "chunked body over the limit" "$OUT" '^req=4 result=fail stage=http reason=limit code=-512'
expect "TLS truncation mid-body" "$OUT" '^req=5 result=fail stage=http reason=truncated code=-513'
expect "recovers after truncation" "$OUT" '^req=6 result=ok status=200'

# 3. A server that dribbles one byte every 100 ms: the 1500 ms deadline holds.
OUT=$("$HP" --ca "$C/ca.pem" --timeout 1500 localhost "$PPORT" /dribble)
expect "dribbling server hits the request deadline" "$OUT" '^req=1 result=fail stage=http reason=timeout'
ms=$(sed -n 's/.* ms=\([0-9]*\) .*/\1/p' <<<"$OUT")
if [ -n "$ms" ] && [ "$ms" -ge 1450 ] && [ "$ms" -le 2000 ]; then ok "deadline not stretched by trickling bytes (${ms} ms)"
else fail "deadline not stretched" "ms=$ms: $OUT"; fi

# 4. POST with a body and a secret header: echoed, and the secret appears nowhere.
SECRET="Bearer eyJhbGciOiJIUzUxMiJ9.c2VjcmV0LXRva2Vu.c2ln"
OUT=$("$HP" --ca "$C/ca.pem" --method POST --data '{"username":"u","password":"p"}' \
      --header "X-Authorization: $SECRET" localhost "$PPORT" /echo /badchunk /truncate 2>&1)
expect "POST body sent and echoed" "$OUT" '^req=1 result=ok status=200 body_len=31 .*body="{\\x22username'
grep -q 'req POST /echo auth=yes' "$PLOG" && ok "X-Authorization header delivered" || fail "auth header delivered"
if grep -qF "eyJhbGci" <<<"$OUT"; then fail "secret never printed" "$OUT"; else ok "secret never printed (errors included)"; fi

# 4b. Stale keep-alive: the server drops an idle kept-alive connection. The next
# request on it gets no byte back, so httpc retries once on a fresh connection; a
# server that drops every request gets exactly one retry, then an error.
mark=$(grep -c '^conn$' "$PLOG")
OUT=$("$HP" --ca "$C/ca.pem" --pause 600 localhost "$PPORT" /idleclose /cl /cl)
expect "stale keep-alive: first response" "$OUT" '^req=1 result=ok status=200 body_len=4 reused=0'
expect "stale keep-alive: retried on a fresh connection" "$OUT" '^req=2 result=ok status=200 body_len=5 reused=0 retried=1'
expect "stale keep-alive: the fresh connection is kept" "$OUT" '^req=3 result=ok status=200 body_len=5 reused=1 retried=0'
expect "stale keep-alive: 2 connections" "$OUT" '^connects=2$'
n=$(( $(grep -c '^conn$' "$PLOG") - mark )); [ "$n" = 2 ] && ok "server saw 2 connections (no extra retry)" || fail "server connections" "$n"
mark=$(grep -c '^drop$' "$PLOG")
OUT=$("$HP" --ca "$C/ca.pem" localhost "$PPORT" /cl /drop /cl)
expect "dropped request on a reused connection fails after one retry" "$OUT" '^req=2 result=fail stage=http reason=truncated'
n=$(( $(grep -c '^drop$' "$PLOG") - mark )); [ "$n" = 2 ] && ok "the dropped request was sent twice, not more" || fail "drop count" "$n"
expect "next request works after the failed retry" "$OUT" '^req=3 result=ok status=200 body_len=5 reused=0'

# 5. Plain HTTP (no TLS), same client.
peer plain --plain
OUT=$("$HP" --plain localhost "$PPORT" /cl /chunked)
expect "plain HTTP: keep-alive reuse" "$OUT" '^req=2 result=ok status=200 body_len=11 reused=1'

# 6. TLS client against the plain server: fails in the TLS stage, sends no request.
before=$(grep -c '^req ' "$PLOG")
OUT=$("$HP" --ca "$C/ca.pem" localhost "$PPORT" /cl)
expect "TLS to a plain HTTP server" "$OUT" 'stage=tls reason=tls_not_tls'
sleep 0.3
n=$(grep -c '^req ' "$PLOG"); [ "$n" = "$before" ] && ok "plain server got no request from the TLS client" || fail "no request" "$(cat "$PLOG")"

finish
