#!/usr/bin/env bash
# t_conn_pending.sh -- transport/conn: bytes that have left the socket -- read ahead with
# an earlier record, or pulled into the TLS engine by a conn_write() -- are reported by
# conn_pending() even though the socket no longer polls readable (missing them caused a
# 20 s WebSocket freeze and a 15 s login delay).
source "$(dirname "$0")/../lib.sh"

PROBE=$BIN/conn_pending_probe
need_built conn_pending "$PROBE"   # built by the Makefile: a failure under ./build.sh test
certs
"$PY" "$TOP/tests/tls/conn_pending_peer.py" "$CERTS/server.pem" "$CERTS/server.key" >"$TEST_TMP/port" &
_pids+=($!)
wait_for 10 test -s "$TEST_TMP/port" || { fail "peer starts"; finish; }
OUT=$("$PROBE" --ca "$CERTS/ca.pem" localhost "$(head -1 "$TEST_TMP/port")" 2>&1)
echo "# $OUT"
has() { [[ " $OUT " == *" $1 "* ]]; }
check "first record read" has first=AAAAAAAAAA
check "one recv took both records: socket not readable" has socket_readable_before_write=0
check "conn_pending reports the record read ahead" has pending_before_write=1
check "after the write: socket still not readable" has socket_readable=0
check "conn_pending still reports the stranded bytes" has pending_after_write=1
check "conn_read returns them without poll" has second=BBBBBBBBBB
check "nothing pending once drained" has pending_after_drain=0
finish
