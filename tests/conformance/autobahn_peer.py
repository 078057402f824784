#!/usr/bin/python3
"""autobahn_peer.py -- a project-owned stand-in for Autobahn|Testsuite's fuzzingserver.

The official suite needs Python 2 (see websocket-tls-reliability.md 2.1), so this peer
replays the *semantics* of the Autobahn client cases of categories 1-7 and 10 (9 on
request) with raw frame writes on a stdlib asyncio server, over ws:// or wss://, and
grades each run the way Autobahn does: "behavior" (the frames the testee sent back,
compared with the expected ones) and "behaviorClose" (who closed first, and with which
code). It speaks the fuzzingserver's testee protocol:

    GET /getCaseCount            -> one text message with the count, then close 1000
    GET /runCase?case=N&agent=A  -> case N (1-based, in the order of --list)
    GET /updateReports?agent=A   -> close 1000; the peer prints the table and exits

Every frame the testee sends must be masked (checked). --chop N writes every raw
frame byte string in pieces of at most N bytes, each flushed separately, to check that
results do not depend on TCP chopping. Results go to stdout as
"CASE <id> <behavior> <close> <detail>" lines plus a final table, and to --json.

Choices documented here (RFC 6455 allows them, Autobahn grades them):
- 2.10/2.11 (ten pings in a row): a pong for every ping is OK; answering only the
  latest one is graded NON-STRICT ("answer only the latest ping", RFC 6455 5.5.3).
- a "fail" case where the testee failed before echoing the frames that preceded the bad
  one, or failed only after the rest of the message arrived (6.4.x), is NON-STRICT, as in
  Autobahn (python-websockets' documented results); t_autobahn.sh accepts NON-STRICT
  only for 2.10/2.11.
- 7.3.1 (empty close): an empty close or 1000 in reply are both OK.
- 7.13.x (codes 5000, 65535): INFORMATIONAL; our testee answers 1002.
- 7.7.14-16 are not Autobahn ids: codes 1012-1014, registered after Autobahn's cases.
"""
import argparse
import asyncio
import base64
import hashlib
import json
import os
import ssl
import struct
import sys
import time
import urllib.parse

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
WAIT = 2.0  # seconds to wait for the testee's reaction


def frame(op, payload=b"", fin=True, rsv=0, ext=None):
    """One unmasked server frame; ext forces a 16/64-bit length form."""
    b0 = (0x80 if fin else 0) | (rsv << 4) | op
    n = len(payload)
    if ext == 64 or n > 0xFFFF:
        h = bytes([b0, 127]) + struct.pack(">Q", n)
    elif ext == 16 or n > 125:
        h = bytes([b0, 126]) + struct.pack(">H", n)
    else:
        h = bytes([b0, n])
    return h + payload


def close_frame(code=None, reason=b""):
    return frame(8, b"" if code is None else struct.pack(">H", code) + reason)


# ---------------------------------------------------------------- case definitions
# A case: id, desc, actions, expect (frames the testee must send back, in order:
# ("msg", op, payload) or ("pong", payload)), mode, codes.
#   mode "echo": after the actions and the expected frames, the peer closes (1000) and
#                wants a close reply with a code in `codes`.
#   mode "fail": the testee must close first, with a code in `codes`.
#   mode "peer_close": the actions end with our close; the reply code must be in codes
#                (None = an empty close body).
# actions: ("send", bytes, chop or None), ("sleep", s), ("assert_closed",) (fail fast:
# the testee's close must already have arrived).
CASES = []


def case(cid, desc, actions, expect=(), mode="echo", codes=(1000,), info=False,
         nonstrict=None):
    CASES.append(dict(id=cid, desc=desc, actions=list(actions), expect=list(expect),
                      mode=mode, codes=list(codes), info=info, nonstrict=nonstrict))


def send(data, chop=None):
    return ("send", data, chop)


def cat1():
    for sub, op in ((1, 1), (2, 2)):
        lens = [0, 125, 126, 127, 128, 65535, 65536]
        for i, n in enumerate(lens):
            p = (b"*" if op == 1 else b"\xfe") * n
            case("1.%d.%d" % (sub, i + 1), "%s message, %d bytes" % ("text" if op == 1 else "binary", n),
                 [send(frame(op, p))], [("msg", op, p)])
        p = (b"*" if op == 1 else b"\xfe") * 65536
        case("1.%d.8" % sub, "64 KiB message in 997-byte chops", [send(frame(op, p), 997)],
             [("msg", op, p)])


def cat2():
    case("2.1", "ping, no payload", [send(frame(9))], [("pong", b"")])
    case("2.2", "ping, text payload", [send(frame(9, b"Hello, world!"))], [("pong", b"Hello, world!")])
    bp = b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"
    case("2.3", "ping, binary payload", [send(frame(9, bp))], [("pong", bp)])
    case("2.4", "ping, 125 bytes", [send(frame(9, b"\xfe" * 125))], [("pong", b"\xfe" * 125)])
    case("2.5", "ping, 126 bytes", [send(frame(9, b"\xfe" * 126))], [], "fail", (1002,))
    case("2.6", "ping, 125 bytes, octet-wise", [send(frame(9, b"\xfe" * 125), 1)],
         [("pong", b"\xfe" * 125)])
    case("2.7", "unsolicited pong, no payload", [send(frame(10))], [])
    case("2.8", "unsolicited pong with payload", [send(frame(10, b"unsolicited pong payload"))], [])
    case("2.9", "unsolicited pong, then ping", [send(frame(10, b"unsolicited pong payload")),
                                                send(frame(9, b"ping payload"))],
         [("pong", b"ping payload")])
    pings = [b"payload-%d" % i for i in range(10)]
    case("2.10", "10 pings", [send(b"".join(frame(9, p) for p in pings))],
         [("pong", p) for p in pings], nonstrict=[("pong", pings[-1])])
    case("2.11", "10 pings, octet-wise", [send(frame(9, p), 1) for p in pings],
         [("pong", p) for p in pings], nonstrict=[("pong", pings[-1])])


def cat3():
    case("3.1", "text with RSV=1", [send(frame(1, b"Hello, world!", rsv=1))], [], "fail", (1002,))
    for n, (rsv, chop) in enumerate(((2, None), (3, "frame"), (4, 1)), start=2):
        acts = [frame(1, b"small text"), frame(1, b"small text", rsv=rsv), frame(9)]
        if chop is None:
            a = [send(b"".join(acts))]
        elif chop == "frame":
            a = [send(f) for f in acts]
        else:
            a = [send(f, 1) for f in acts]
        case("3.%d" % n, "text, text with RSV=%d, ping" % rsv, a,
             [("msg", 1, b"small text")], "fail", (1002,))
    case("3.5", "binary with RSV=5", [send(frame(2, bytes(range(8)), rsv=5))], [], "fail", (1002,))
    case("3.6", "ping with RSV=6", [send(frame(9, b"Hello, world!", rsv=6))], [], "fail", (1002,))
    case("3.7", "close with RSV=7", [send(b"\xf8\x02\x03\xe8")], [], "fail", (1002,))


def cat4():
    for sub, ops in ((1, (3, 4, 5, 6, 7)), (2, (11, 12, 13, 14, 15))):
        case("4.%d.1" % sub, "opcode %d" % ops[0], [send(frame(ops[0]))], [], "fail", (1002,))
        case("4.%d.2" % sub, "opcode %d with payload" % ops[1],
             [send(frame(ops[1], b"reserved opcode payload"))], [], "fail", (1002,))
        for k, (op, chop) in enumerate(((ops[2], None), (ops[3], "frame"), (ops[4], 1)), start=3):
            fs = [frame(1, b"Hello, world!"), frame(op, b"" if k == 3 else b"reserved opcode payload"),
                  frame(9)]
            a = [send(b"".join(fs))] if chop is None else [send(f, 1 if chop == 1 else None) for f in fs]
            case("4.%d.%d" % (sub, k), "text, opcode %d, ping" % op, a,
                 [("msg", 1, b"Hello, world!")], "fail", (1002,))


def cat5():
    case("5.1", "ping in 2 fragments", [send(frame(9, b"fragment1", False) + frame(0, b"fragment2"))],
         [], "fail", (1002,))
    case("5.2", "pong in 2 fragments", [send(frame(10, b"fragment1", False) + frame(0, b"fragment2"))],
         [], "fail", (1002,))
    fs = [frame(1, b"fragment1", False), frame(0, b"fragment2")]
    for n, chop in ((3, None), (4, "frame"), (5, 1)):
        a = [send(b"".join(fs))] if chop is None else [send(f, 1 if chop == 1 else None) for f in fs]
        case("5.%d" % n, "text in 2 fragments (%s)" % (chop or "one chop"), a,
             [("msg", 1, b"fragment1fragment2")])
    fs = [frame(1, b"fragment1", False), frame(9, b"ping payload"), frame(0, b"fragment2")]
    for n, chop in ((6, None), (7, "frame"), (8, 1)):
        a = [send(b"".join(fs))] if chop is None else [send(f, 1 if chop == 1 else None) for f in fs]
        case("5.%d" % n, "text in 2 fragments, ping between (%s)" % (chop or "one chop"), a,
             [("pong", b"ping payload"), ("msg", 1, b"fragment1fragment2")])
    for n0, fin in ((9, True), (12, False)):
        fs = [frame(0, b"non-continuation payload", fin), frame(1, b"Hello, world!")]
        for k, chop in enumerate((None, "frame", 1)):
            a = [send(b"".join(fs))] if chop is None else [send(f, 1 if chop == 1 else None) for f in fs]
            case("5.%d" % (n0 + k), "continuation FIN=%d with nothing to continue, then text (%s)"
                 % (fin, chop or "one chop"), a, [], "fail", (1002,))
    case("5.15", "text in 2 fragments, then continuation FIN=0 with nothing to continue",
         [send(frame(1, b"fragment1", False) + frame(0, b"fragment2") +
               frame(0, b"fragment3", False) + frame(1, b"fragment4"))],
         [("msg", 1, b"fragment1fragment2")], "fail", (1002,))
    for n, fin in ((16, False), (17, True)):
        one = frame(0, b"fragment1", fin) + frame(1, b"fragment2", False) + frame(0, b"fragment3")
        case("5.%d" % n, "2x: continuation FIN=%d with nothing to continue, then 2-fragment text"
             % fin, [send(one + one)], [], "fail", (1002,))
    case("5.18", "text in 2 fragments, both with the text opcode",
         [send(frame(1, b"fragment1", False) + frame(1, b"fragment2"))], [], "fail", (1002,))
    for n, chop in ((19, None), (20, "frame")):
        parts = [frame(1, b"fragment1", False), frame(0, b"fragment2", False),
                 frame(9, b"pongme 1!"), None,
                 frame(0, b"fragment3", False), frame(0, b"fragment4", False),
                 frame(9, b"pongme 2!"), None, frame(0, b"fragment5")]
        a = []
        for p in parts:
            a.append(("sleep", 0.5) if p is None else send(p, 1 if chop else None))
        case("5.%d" % n, "5-fragment text over 1 s with 2 pings between (%s)" % (chop or "one chop"),
             a, [("pong", b"pongme 1!"), ("pong", b"pongme 2!"),
                 ("msg", 1, b"fragment1fragment2fragment3fragment4fragment5")])


# (payload, valid) pairs in the spirit of Markus Kuhn's UTF-8 decoder stress test
UTF8_CASES = [
    ("6.5.1", b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", True),
    ("6.7.1", b"\x00", True), ("6.7.2", b"\xc2\x80", True), ("6.7.3", b"\xe0\xa0\x80", True),
    ("6.7.4", b"\xf0\x90\x80\x80", True),
    ("6.8.1", b"\xf8\x88\x80\x80\x80", False), ("6.8.2", b"\xfc\x84\x80\x80\x80\x80", False),
    ("6.9.1", b"\x7f", True), ("6.9.2", b"\xdf\xbf", True), ("6.9.3", b"\xef\xbf\xbf", True),
    ("6.9.4", b"\xf4\x8f\xbf\xbf", True),
    ("6.10.1", b"\xf7\xbf\xbf\xbf", False), ("6.10.2", b"\xfb\xbf\xbf\xbf\xbf", False),
    ("6.10.3", b"\xfd\xbf\xbf\xbf\xbf\xbf", False),
    ("6.11.1", b"\xed\x9f\xbf", True), ("6.11.2", b"\xee\x80\x80", True),
    ("6.11.3", b"\xef\xbf\xbd", True), ("6.11.4", b"\xf4\x8f\xbf\xbf", True),
    ("6.11.5", b"\xf4\x90\x80\x80", False),
    ("6.12.1", b"\x80", False), ("6.12.2", b"\xbf", False), ("6.12.3", b"\x80\xbf", False),
    ("6.12.4", b"\x80\xbf\x80", False), ("6.12.5", b"\x80\xbf\x80\xbf", False),
    ("6.12.6", b"\x80\xbf\x80\xbf\x80", False), ("6.12.7", b"\x80\xbf\x80\xbf\x80\xbf", False),
    ("6.12.8", bytes(range(0x80, 0xc0)), False),
    ("6.13.1", b"".join(bytes([c, 0x20]) for c in range(0xc0, 0xe0)), False),
    ("6.13.2", b"".join(bytes([c, 0x20]) for c in range(0xe0, 0xf0)), False),
    ("6.13.3", b"".join(bytes([c, 0x20]) for c in range(0xf0, 0xf8)), False),
    ("6.13.4", b"".join(bytes([c, 0x20]) for c in range(0xf8, 0xfc)), False),
    ("6.13.5", b"".join(bytes([c, 0x20]) for c in range(0xfc, 0xfe)), False),
    ("6.14.1", b"\xc0", False), ("6.14.2", b"\xe0\x80", False), ("6.14.3", b"\xf0\x80\x80", False),
    ("6.14.4", b"\xf8\x80\x80\x80", False), ("6.14.5", b"\xfc\x80\x80\x80\x80", False),
    ("6.14.6", b"\xdf", False), ("6.14.7", b"\xef\xbf", False), ("6.14.8", b"\xf7\xbf\xbf", False),
    ("6.14.9", b"\xfb\xbf\xbf\xbf", False), ("6.14.10", b"\xfd\xbf\xbf\xbf\xbf", False),
    ("6.15.1", b"\xc0\xe0\x80\xf0\x80\x80\xf8\x80\x80\x80\xfc\x80\x80\x80\x80\xdf\xef\xbf"
               b"\xf7\xbf\xbf\xfb\xbf\xbf\xbf\xfd\xbf\xbf\xbf\xbf", False),
    ("6.16.1", b"\xfe", False), ("6.16.2", b"\xff", False), ("6.16.3", b"\xfe\xfe\xff\xff", False),
    ("6.17.1", b"\xc0\xaf", False), ("6.17.2", b"\xe0\x80\xaf", False),
    ("6.17.3", b"\xf0\x80\x80\xaf", False), ("6.17.4", b"\xf8\x80\x80\x80\xaf", False),
    ("6.17.5", b"\xfc\x80\x80\x80\x80\xaf", False),
    ("6.18.1", b"\xc1\xbf", False), ("6.18.2", b"\xe0\x9f\xbf", False),
    ("6.18.3", b"\xf0\x8f\xbf\xbf", False), ("6.18.4", b"\xf8\x87\xbf\xbf\xbf", False),
    ("6.18.5", b"\xfc\x83\xbf\xbf\xbf\xbf", False),
    ("6.19.1", b"\xc0\x80", False), ("6.19.2", b"\xe0\x80\x80", False),
    ("6.19.3", b"\xf0\x80\x80\x80", False), ("6.19.4", b"\xf8\x80\x80\x80\x80", False),
    ("6.19.5", b"\xfc\x80\x80\x80\x80\x80", False),
    ("6.20.1", b"\xed\xa0\x80", False), ("6.20.2", b"\xed\xad\xbf", False),
    ("6.20.3", b"\xed\xae\x80", False), ("6.20.4", b"\xed\xaf\xbf", False),
    ("6.20.5", b"\xed\xb0\x80", False), ("6.20.6", b"\xed\xbe\x80", False),
    ("6.20.7", b"\xed\xbf\xbf", False),
    ("6.21.1", b"\xed\xa0\x80\xed\xb0\x80", False), ("6.21.2", b"\xed\xa0\x80\xed\xbf\xbf", False),
    ("6.21.3", b"\xed\xad\xbf\xed\xb0\x80", False), ("6.21.4", b"\xed\xad\xbf\xed\xbf\xbf", False),
    ("6.21.5", b"\xed\xae\x80\xed\xb0\x80", False), ("6.21.6", b"\xed\xae\x80\xed\xbf\xbf", False),
    ("6.21.7", b"\xed\xaf\xbf\xed\xb0\x80", False), ("6.21.8", b"\xed\xaf\xbf\xed\xbf\xbf", False),
    ("6.22.1", b"\xef\xbf\xbe", True), ("6.22.2", b"\xef\xbf\xbf", True),
    ("6.22.3", b"\xef\xb7\x90", True), ("6.22.4", b"\xf0\x9f\xbf\xbe", True),
    ("6.22.5", b"\xf4\x8f\xbf\xbe", True),
    ("6.23.1", b"\xef\xbf\xb9", True), ("6.23.2", b"\xef\xbf\xba", True),
    ("6.23.3", b"\xef\xbf\xbb", True), ("6.23.4", b"\xef\xbf\xbc", True),
    ("6.23.5", b"\xef\xbf\xbd", True), ("6.23.6", b"\xef\xbf\xbe\xef\xbf\xbf", True),
]


def cat6():
    case("6.1.1", "empty text", [send(frame(1))], [("msg", 1, b"")])
    case("6.1.2", "3 empty fragments", [send(frame(1, b"", False) + frame(0, b"", False) + frame(0))],
         [("msg", 1, b"")])
    case("6.1.3", "empty, 'middle frame payload', empty",
         [send(frame(1, b"", False) + frame(0, b"middle frame payload", False) + frame(0))],
         [("msg", 1, b"middle frame payload")])
    hello = "Hello-µ@ßöäüàá-UTF-8!!".encode()
    case("6.2.1", "valid UTF-8 in one fragment", [send(frame(1, hello))], [("msg", 1, hello)])
    case("6.2.2", "valid UTF-8 in 2 fragments split on a code point",
         [send(frame(1, hello[:7], False) + frame(0, hello[7:]))], [("msg", 1, hello)])
    fs = b"".join(frame(1 if i == 0 else 0, hello[i:i + 1], i == len(hello) - 1) for i in range(len(hello)))
    case("6.2.3", "valid UTF-8 in 1-octet fragments", [send(fs)], [("msg", 1, hello)])
    k = "\u03ba\u1f79\u03c3\u03bc\u03b5".encode()
    fs = b"".join(frame(1 if i == 0 else 0, k[i:i + 1], i == len(k) - 1) for i in range(len(k)))
    case("6.2.4", "valid UTF-8 in 1-octet fragments (kosme)", [send(fs)], [("msg", 1, k)])
    bad = k + b"\xed\xa0\x80" + b"edited"
    case("6.3.1", "invalid UTF-8 in one fragment", [send(frame(1, bad))], [], "fail", (1007,))
    fs = b"".join(frame(1 if i == 0 else 0, bad[i:i + 1], i == len(bad) - 1) for i in range(len(bad)))
    case("6.3.2", "invalid UTF-8 in 1-octet fragments", [send(fs)], [], "fail", (1007,))
    # 6.4.x fail fast: the testee must close before the rest is sent
    p1, p2, p3 = k, b"\xf4\x90\x80\x80", b"edited"
    case("6.4.1", "fail fast: invalid code point in the 2nd fragment",
         [send(frame(1, p1, False)), ("sleep", 0.5), send(frame(0, p2, False)), ("sleep", 0.5),
          ("assert_closed",), send(frame(0, p3))], [], "fail", (1007,))
    case("6.4.2", "fail fast: invalid byte inside the 2nd fragment",
         [send(frame(1, p1 + b"\xf4", False)), ("sleep", 0.5), send(frame(0, b"\x90" + p2[2:] + p3, False)),
          ("sleep", 0.5), ("assert_closed",), send(frame(0))], [], "fail", (1007,))
    whole = frame(1, p1 + p2 + p3)
    cut = 2 + len(p1)
    case("6.4.3", "fail fast: one frame, sent in 3 chops",
         [send(whole[:cut]), ("sleep", 0.5), send(whole[cut:cut + 4]), ("sleep", 0.5),
          ("assert_closed",), send(whole[cut + 4:])], [], "fail", (1007,))
    case("6.4.4", "fail fast: one frame, invalid byte alone in a chop",
         [send(whole[:cut]), ("sleep", 0.5), send(whole[cut:cut + 2]), ("sleep", 0.5),
          ("assert_closed",), send(whole[cut + 2:])], [], "fail", (1007,))
    for i in range(1, len(k) + 1):
        p = k[:i]
        ok = i in (2, 5, 7, 9, 11)
        case("6.6.%d" % i, "kosme prefix of %d bytes" % i, [send(frame(1, p))],
             [("msg", 1, p)] if ok else [], "echo" if ok else "fail", (1000,) if ok else (1007,))
    for cid, p, ok in UTF8_CASES:
        case(cid, "%s UTF-8 %s" % ("valid" if ok else "invalid", p[:12].hex()), [send(frame(1, p))],
             [("msg", 1, p)] if ok else [], "echo" if ok else "fail", (1000,) if ok else (1007,))
        if not ok:  # also as 1-octet fragments: the failure must not depend on framing
            fs = b"".join(frame(1 if i == 0 else 0, p[i:i + 1], i == len(p) - 1) for i in range(len(p)))
            case(cid + "f", "same, 1-octet fragments", [send(fs)], [], "fail", (1007,))


def cat7():
    case("7.1.1", "text, then close", [send(frame(1, b"Hello World!"))], [("msg", 1, b"Hello World!")])
    case("7.1.2", "close twice", [send(close_frame(1000) + close_frame(1000))], [], "peer_close", (1000,))
    case("7.1.3", "close, then ping", [send(close_frame(1000) + frame(9, b"Hello World!"))], [],
         "peer_close", (1000,))
    case("7.1.4", "close, then text", [send(close_frame(1000) + frame(1, b"Hello World!"))], [],
         "peer_close", (1000,))
    case("7.1.5", "text fragment, close, text fragment",
         [send(frame(1, b"fragment1", False) + close_frame(1000) + frame(0, b"fragment2"))], [],
         "peer_close", (1000,))
    big = b"BAsd7&jh23" * 26214  # 262140 bytes
    case("7.1.6", "256 KiB text, close, ping", [send(frame(1, big) + close_frame(1000) + frame(9, b"Hello World!"))],
         [("msg", 1, big)], "peer_close", (1000,), info=True)
    case("7.3.1", "close, empty body", [send(close_frame())], [], "peer_close", (None, 1000))
    case("7.3.2", "close, 1-byte body", [send(frame(8, b"\x03"))], [], "fail", (1002,))
    case("7.3.3", "close 1000, no reason", [send(close_frame(1000))], [], "peer_close", (1000,))
    case("7.3.4", "close 1000, reason", [send(close_frame(1000, b"Hello World!"))], [], "peer_close", (1000,))
    case("7.3.5", "close 1000, 123-byte reason", [send(close_frame(1000, b"*" * 123))], [],
         "peer_close", (1000,))
    case("7.3.6", "close 1000, 124-byte reason", [send(close_frame(1000, b"*" * 124))], [], "fail", (1002,))
    case("7.5.1", "close reason not UTF-8",
         [send(close_frame(1000, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"))], [],
         "fail", (1002, 1007))
    valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999, 1012, 1013, 1014]
    for i, c in enumerate(valid, start=1):
        case("7.7.%d" % i, "close with valid code %d" % c, [send(close_frame(c))], [], "peer_close", (c,))
    for i, c in enumerate([0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999], start=1):
        case("7.9.%d" % i, "close with invalid code %d" % c, [send(close_frame(c))], [], "fail", (1002,))
    for i, c in enumerate([5000, 65535], start=1):
        case("7.13.%d" % i, "close with code %d" % c, [send(close_frame(c))], [], "fail", (1002,), info=True)


def cat9():
    for sub, op in ((1, 1), (2, 2)):
        for i, n in enumerate([65536, 262144, 1 << 20, 4 << 20, 8 << 20, 16 << 20], start=1):
            p = (b"*" if op == 1 else b"\xfe") * n
            case("9.%d.%d" % (sub, i), "%s message of %d bytes" % ("text" if op == 1 else "binary", n),
                 [send(frame(op, p))], [("msg", op, p)])


def cat10():
    p = b"*" * 65536
    fs = b"".join(frame(1 if i == 0 else 0, p[i:i + 1300], i + 1300 >= len(p)) for i in range(0, len(p), 1300))
    case("10.1.1", "64 KiB text in 1300-byte frames", [send(fs)], [("msg", 1, p)])


# ---------------------------------------------------------------- the server
class Conn:
    def __init__(self, reader, writer, chop):
        self.r, self.w, self.chop = reader, writer, chop
        self.frames = []          # ("msg", op, payload) / ("pong", payload)
        self.close_code = "none"  # testee's close: "none" (not yet), None (empty), int
        self.close_at = None
        self.eof = False
        self.errors = []
        self.got = asyncio.Event()

    async def write(self, data, chop=None):
        c = self.chop or chop
        if not c:
            self.w.write(data)
            await self.w.drain()
            return
        for i in range(0, len(data), c):
            self.w.write(data[i:i + c])
            await self.w.drain()

    async def read_loop(self):
        msg_op, parts = None, []
        try:
            while True:
                h = await self.r.readexactly(2)
                op, fin, masked, n = h[0] & 15, h[0] >> 7, h[1] >> 7, h[1] & 127
                if h[0] & 0x70:
                    self.errors.append("testee set RSV bits")
                if not masked:
                    self.errors.append("testee frame not masked")
                if n == 126:
                    n = struct.unpack(">H", await self.r.readexactly(2))[0]
                elif n == 127:
                    n = struct.unpack(">Q", await self.r.readexactly(8))[0]
                key = await self.r.readexactly(4) if masked else b"\0\0\0\0"
                data = await self.r.readexactly(n)
                if masked:
                    data = bytes(b ^ key[i & 3] for i, b in enumerate(data)) if n < 4096 else \
                        (int.from_bytes(data, "big") ^ int.from_bytes((key * (n // 4 + 1))[:n], "big")).to_bytes(n, "big")
                if self.close_code != "none":
                    self.errors.append("testee sent a frame after its close")
                if op == 8:
                    self.close_code = struct.unpack(">H", data[:2])[0] if len(data) >= 2 else None
                    self.close_at = time.monotonic()
                elif op == 10:
                    self.frames.append(("pong", data))
                elif op == 9:
                    self.errors.append("testee sent a ping")
                elif op in (1, 2) or op == 0:
                    if op != 0:
                        msg_op, parts = op, []
                    parts.append(data)
                    if fin:
                        self.frames.append(("msg", msg_op, b"".join(parts)))
                else:
                    self.errors.append("testee sent opcode %d" % op)
                self.got.set()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError, OSError):
            self.eof = True
            self.got.set()

    async def wait(self, pred, timeout=WAIT):
        end = time.monotonic() + timeout
        while not pred() and not self.eof:
            left = end - time.monotonic()
            if left <= 0:
                return pred()
            self.got.clear()
            try:
                await asyncio.wait_for(self.got.wait(), left)
            except asyncio.TimeoutError:
                pass
        return pred()


def short(x):
    s = repr(x)
    return s if len(s) < 60 else s[:57] + "..."


async def run_case(c, cs, conn):
    reader_task = asyncio.ensure_future(conn.read_loop())
    detail = []
    behavior = "OK"
    for a in cs["actions"]:
        if a[0] == "send":
            if conn.close_code != "none" and cs["mode"] == "fail":
                break  # the testee already failed the connection: stop, as Autobahn does
            try:
                await conn.write(a[1], a[2])
            except (ConnectionError, OSError):
                break
        elif a[0] == "sleep":
            await asyncio.sleep(a[1])
        elif a[0] == "assert_closed":
            if conn.close_code == "none":
                behavior = "NON-STRICT"  # Autobahn's grade for a late failure
                detail.append("not fail-fast: no close before the rest of the message")
    exp = cs["expect"]
    if cs["mode"] == "echo":
        await conn.wait(lambda: len(conn.frames) >= len(exp) or conn.close_code != "none")
        if conn.close_code == "none" and not conn.eof:
            await conn.write(close_frame(1000))
    await conn.wait(lambda: conn.close_code != "none")
    if cs["mode"] == "fail" and conn.close_code != "none":
        try:
            await conn.write(close_frame(conn.close_code if isinstance(conn.close_code, int) else 1000))
        except (ConnectionError, OSError):
            pass
    await asyncio.sleep(0.02)
    # grade behaviour
    if conn.frames != exp:
        if cs["nonstrict"] is not None and conn.frames == cs["nonstrict"]:
            behavior = "NON-STRICT" if behavior == "OK" else behavior
            detail.append("answered only the latest ping")
        elif cs["mode"] == "fail" and conn.frames == exp[:len(conn.frames)]:
            behavior = "NON-STRICT" if behavior == "OK" else behavior
            detail.append("failed before echoing %d earlier frame(s)" % (len(exp) - len(conn.frames)))
        elif cs["info"]:
            behavior = "INFORMATIONAL"
        else:
            behavior = "FAILED"
            detail.append("got %s, expected %s" % (short(conn.frames), short(exp)))
    if conn.errors:
        behavior = "FAILED"
        detail.extend(conn.errors[:3])
    # grade close
    if conn.close_code == "none":
        close = "UNCLEAN"
        detail.append("no close frame from the testee")
    elif conn.close_code in cs["codes"]:
        close = "OK"
    else:
        close = "WRONG CODE"
        detail.append("close code %s, expected %s" % (conn.close_code, cs["codes"]))
    if cs["info"] and close != "OK":
        close = "INFORMATIONAL"
    try:
        conn.w.close()
    except Exception:
        pass
    reader_task.cancel()
    return behavior, close, "; ".join(detail)


async def handshake(reader, writer):
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    hdrs = {}
    for ln in lines[1:]:
        if ":" in ln:
            k, v = ln.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
    key = hdrs.get("sec-websocket-key", "")
    problems = []
    if method != "GET" or hdrs.get("upgrade", "").lower() != "websocket" or \
            "upgrade" not in [t.strip().lower() for t in hdrs.get("connection", "").split(",")] or \
            hdrs.get("sec-websocket-version") != "13" or len(base64.b64decode(key or "")) != 16 or \
            "host" not in hdrs:
        problems.append("bad opening handshake: %r" % head[:300])
    acc = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
    writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Accept: %s\r\n\r\n" % acc).encode())
    await writer.drain()
    return target, key, problems


class Server:
    def __init__(self, cases, chop, done):
        self.cases, self.chop, self.done = cases, chop, done
        self.results = {}
        self.keys = set()

    async def handle(self, reader, writer):
        sock = writer.get_extra_info("socket")
        if sock is not None:
            import socket
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            target, key, problems = await handshake(reader, writer)
        except Exception as e:  # noqa: BLE001 - any handshake trouble ends this connection
            print("# handshake failed: %r" % e, flush=True)
            writer.close()
            return
        if key in self.keys:
            problems.append("Sec-WebSocket-Key reused")
        self.keys.add(key)
        url = urllib.parse.urlparse(target)
        q = urllib.parse.parse_qs(url.query)
        conn = Conn(reader, writer, self.chop)
        if url.path == "/getCaseCount":
            await conn.write(frame(1, str(len(self.cases)).encode()) + close_frame(1000))
            await asyncio.sleep(0.05)
            writer.close()
        elif url.path == "/runCase":
            n = int(q["case"][0])
            cs = self.cases[n - 1]
            b, c, d = await run_case(n, cs, conn)
            if problems:
                b, d = "FAILED", "; ".join(problems + [d])
            self.results[cs["id"]] = (b, c, d, cs["desc"])
        elif url.path == "/updateReports":
            await conn.write(close_frame(1000))
            await asyncio.sleep(0.05)
            writer.close()
            self.done.set()
        else:
            writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--chop", type=int, default=0)
    ap.add_argument("--cats", default="1,2,3,4,5,6,7,10")
    ap.add_argument("--json")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    gens = {"1": cat1, "2": cat2, "3": cat3, "4": cat4, "5": cat5, "6": cat6, "7": cat7,
            "9": cat9, "10": cat10}
    for c in a.cats.split(","):
        gens[c]()
    if a.list:
        for i, cs in enumerate(CASES, 1):
            print(i, cs["id"], cs["desc"])
        return 0
    ctx = None
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
    done = asyncio.Event()
    srv = Server(CASES, a.chop, done)
    server = await asyncio.start_server(srv.handle, "127.0.0.1", a.port, ssl=ctx, limit=1 << 26)
    print("# listening on %d (%s), %d cases" % (a.port, "wss" if ctx else "ws", len(CASES)), flush=True)
    await done.wait()
    server.close()
    print("%-9s %-14s %-14s %s" % ("case", "behavior", "close", "description / detail"))
    for cs in CASES:
        b, c, d, desc = srv.results.get(cs["id"], ("MISSING", "MISSING", "never run", cs["desc"]))
        print("CASE %-9s %-14s %-14s %s%s" % (cs["id"], b, c, desc, (" -- " + d) if d else ""))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({k: list(v) for k, v in srv.results.items()}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
