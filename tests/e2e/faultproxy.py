#!/usr/bin/python3
"""faultproxy.py -- a user-space TCP fault proxy for the end-to-end tests (loopback only).

    faultproxy.py --listen PORT --target HOST:PORT --control PORT [--port-file F]
    faultproxy.py --self-test            prints ok/not ok lines and exits

Every accepted client connection gets its own upstream connection to --target; bytes
are relayed both ways. "down" is target -> client (what the exporter receives), "up" is
client -> target. Faults are switched at run time through a plain-HTTP control port
(GET, query parameters, text/plain answers); each applies to the open connections and
to new ones until /reset:

    /stats                       conns_total, conns_open, bytes_up, bytes_down, cuts, rsts, refused
    /reset                       clear every fault (open connections keep running)
    /latency?ms=M                delay every chunk M ms (both directions)
    /chop?n=N                    write at most N bytes per send (downstream and upstream)
    /blackhole?on=1|0            half-open: stop forwarding both ways, keep sockets open
    /cut?after=N                 deliver N more downstream bytes per open connection, then
                                 close both sides abruptly (RST); new connections unaffected
    /cut-record                  on each open connection: forward the header and half the
                                 payload of the next TLS record going down, then RST both
                                 sides (a truncation in the middle of a TLS record)
    /rst                         RST every open connection now
    /refuse?seconds=S            close the listening socket for S seconds (connect() gets
                                 ECONNREFUSED), then listen on the same port again
    /reset-new?seconds=S         for S seconds new connections are accepted and reset at once
    /close                       FIN every open connection now (orderly TCP close)

All loops are bounded: the proxy stops by itself after --max-seconds (default 3600).
"""
import argparse
import asyncio
import socket
import struct
import sys
import time
import urllib.parse


class Faults:
    def __init__(self):
        self.reset()

    def reset(self):
        self.latency_ms = 0
        self.chop = 0
        self.blackhole = False
        self.reset_until = 0.0


class Conn:
    """One client connection and its upstream connection."""

    def __init__(self, proxy, cr, cw):
        self.proxy = proxy
        self.cr, self.cw = cr, cw
        self.ur = self.uw = None
        self.cut_after = None     # downstream bytes still allowed before a cut
        self.cut_record = False   # cut inside the next downstream TLS record
        self.tls_buf = b""        # downstream bytes not yet split into records (cut_record)
        self.dead = False
        self.tasks = []

    def _rst(self, w):
        try:
            sock = w.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            w.transport.abort()
        except Exception:
            pass

    def kill(self, rst=True):
        if self.dead:
            return
        self.dead = True
        for w in (self.cw, self.uw):
            if w is None:
                continue
            if rst:
                self._rst(w)
            else:
                try:
                    w.close()
                except Exception:
                    pass
        for t in self.tasks:
            if t is not asyncio.current_task():
                t.cancel()
        self.proxy.conns.discard(self)

    async def _send(self, w, data):
        f = self.proxy.faults
        step = f.chop if f.chop > 0 else len(data)
        for i in range(0, len(data), max(step, 1)):
            if self.dead:
                return
            w.write(data[i:i + step])
            await w.drain()
            if f.chop > 0:
                await asyncio.sleep(0)

    async def pump(self, r, w, down):
        f = self.proxy.faults
        try:
            while not self.dead:
                data = await r.read(65536)
                if not data:
                    # orderly close from this side: pass the FIN on
                    try:
                        w.write_eof()
                    except Exception:
                        pass
                    return
                while f.blackhole and not self.dead:
                    await asyncio.sleep(0.05)   # hold the bytes; nothing flows
                if f.latency_ms:
                    await asyncio.sleep(f.latency_ms / 1000.0)
                if down:
                    data, stop = self._down_filter(data)
                    self.proxy.stats["bytes_down"] += len(data)
                    if data:
                        await self._send(w, data)
                    if stop:
                        self.proxy.stats["cuts"] += 1
                        await asyncio.sleep(0.05)
                        self.kill(rst=True)
                        return
                else:
                    self.proxy.stats["bytes_up"] += len(data)
                    await self._send(w, data)
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            self.kill(rst=True)
        except asyncio.CancelledError:
            pass

    def _down_filter(self, data):
        """Applies a pending cut to downstream bytes: (bytes to send, stop after)."""
        if self.cut_after is not None:
            if len(data) >= self.cut_after:
                return data[:self.cut_after], True
            self.cut_after -= len(data)
            return data, False
        if self.cut_record:
            # Walk TLS records (5-byte header: type, version, length). Forward whole
            # records; the first record that starts after arming is cut in half.
            buf = self.tls_buf + data
            if len(buf) < 5:
                self.tls_buf = buf
                return b"", False
            ln = struct.unpack(">H", buf[3:5])[0]
            half = 5 + max(1, ln // 2)
            if len(buf) >= half:
                self.tls_buf = b""
                return buf[:half], True
            self.tls_buf = buf
            return b"", False
        return data, False


class Proxy:
    def __init__(self, target):
        self.target = target
        self.server = None
        self.port = 0
        self.faults = Faults()
        self.conns = set()
        self.stats = dict(conns_total=0, conns_open=0, bytes_up=0, bytes_down=0,
                          cuts=0, rsts=0, refused=0)

    async def handle(self, cr, cw):
        c = Conn(self, cr, cw)
        if time.monotonic() < self.faults.reset_until:
            self.stats["refused"] += 1
            c.kill(rst=True)
            return
        self.stats["conns_total"] += 1
        try:
            c.ur, c.uw = await asyncio.wait_for(asyncio.open_connection(*self.target), 5)
        except (OSError, asyncio.TimeoutError):
            c.kill(rst=True)
            return
        self.conns.add(c)
        c.tasks = [asyncio.ensure_future(c.pump(cr, c.uw, False)),
                   asyncio.ensure_future(c.pump(c.ur, cw, True))]
        await asyncio.gather(*c.tasks, return_exceptions=True)
        c.kill(rst=False)

    def control(self, path, q):
        f = self.faults
        arg = lambda k, d=0: float(q.get(k, [d])[0])
        if path == "/stats":
            self.stats["conns_open"] = len(self.conns)
            return "".join(f"{k} {v}\n" for k, v in self.stats.items())
        if path == "/reset":
            f.reset()
            for c in self.conns:
                c.cut_after, c.cut_record = None, False
            return "reset\n"
        if path == "/latency":
            f.latency_ms = int(arg("ms"))
            return f"latency {f.latency_ms} ms\n"
        if path == "/chop":
            f.chop = int(arg("n"))
            return f"chop {f.chop}\n"
        if path == "/blackhole":
            f.blackhole = arg("on", 1) != 0
            return f"blackhole {int(f.blackhole)}\n"
        if path == "/cut":
            n = int(arg("after"))
            for c in self.conns:
                c.cut_after = n
            return f"cut after {n} bytes on {len(self.conns)} connections\n"
        if path == "/cut-record":
            for c in self.conns:
                c.cut_record = True
            return f"cut mid-record on {len(self.conns)} connections\n"
        if path in ("/rst", "/close"):
            n = len(self.conns)
            for c in list(self.conns):
                c.kill(rst=path == "/rst")
            self.stats["rsts" if path == "/rst" else "cuts"] += n
            return f"{path[1:]} {n} connections\n"
        if path == "/reset-new":
            s = arg("seconds", 5)
            f.reset_until = time.monotonic() + s
            return f"resetting new connections for {s} s\n"
        if path == "/refuse":
            s = arg("seconds", 5)
            asyncio.ensure_future(self.refuse(s))
            return f"refusing for {s} s\n"
        return None

    async def listen(self, port):
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", port, reuse_address=True)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def refuse(self, seconds):
        if self.server is None:
            return
        srv, self.server = self.server, None
        srv.close()
        self.stats["refused"] += 1
        await asyncio.sleep(seconds)
        for _ in range(50):
            try:
                await self.listen(self.port)
                return
            except OSError:
                await asyncio.sleep(0.1)

    async def handle_ctl(self, r, w):
        try:
            line = (await asyncio.wait_for(r.readline(), 5)).decode("latin-1")
            while True:   # skip headers
                h = await asyncio.wait_for(r.readline(), 5)
                if h in (b"\r\n", b"\n", b""):
                    break
            parts = line.split()
            u = urllib.parse.urlsplit(parts[1] if len(parts) > 1 else "/")
            body = self.control(u.path, urllib.parse.parse_qs(u.query))
            status = "200 OK" if body is not None else "404 Not Found"
            body = (body if body is not None else "unknown path\n").encode()
            w.write(f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: "
                    f"{len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
            await w.drain()
        except Exception:
            pass
        finally:
            w.close()


async def serve(listen, target, control, port_file, max_seconds):
    p = Proxy(target)
    lp = await p.listen(listen)
    s2 = await asyncio.start_server(p.handle_ctl, "127.0.0.1", control)
    cp = s2.sockets[0].getsockname()[1]
    if port_file:
        with open(port_file, "w") as fh:
            fh.write(f"proxy_port={lp}\ncontrol_port={cp}\n")
    print(f"faultproxy: 127.0.0.1:{lp} -> {target[0]}:{target[1]}, control 127.0.0.1:{cp}",
          file=sys.stderr, flush=True)
    await asyncio.sleep(max_seconds)


# ------------------------------------------------------------------ self test -------

async def _self_test():
    results = []

    def check(name, cond, why=""):
        results.append(cond)
        print(("ok - " if cond else "not ok - ") + "faultproxy " + name + ("" if cond else ": " + why),
              flush=True)

    # Upstream: a server that sends 'size' bytes of a known pattern on "S<size>\n", echoes
    # anything else, and fakes TLS records on "T\n".
    async def upstream(r, w):
        try:
            while True:
                line = await r.readline()
                if not line:
                    break
                if line.startswith(b"S"):
                    n = int(line[1:])
                    w.write(bytes(i % 251 for i in range(n)))
                elif line.startswith(b"T"):
                    for ln in (100, 300, 1000):
                        w.write(b"\x17\x03\x03" + struct.pack(">H", ln) + b"R" * ln)
                else:
                    w.write(line)
                await w.drain()
        except Exception:
            pass
        finally:
            w.close()

    up = await asyncio.start_server(upstream, "127.0.0.1", 0)
    up_port = up.sockets[0].getsockname()[1]
    p = Proxy(("127.0.0.1", up_port))
    pport = await p.listen(0)
    cs = await asyncio.start_server(p.handle_ctl, "127.0.0.1", 0)
    cport = cs.sockets[0].getsockname()[1]

    async def ctl(path):
        r, w = await asyncio.open_connection("127.0.0.1", cport)
        w.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        data = await asyncio.wait_for(r.read(), 5)
        w.close()
        return data.split(b"\r\n\r\n", 1)[1].decode()

    async def read_n(r, n, t=5.0):
        buf = b""
        end = time.monotonic() + t
        while len(buf) < n and time.monotonic() < end:
            try:
                d = await asyncio.wait_for(r.read(n - len(buf)), max(0.01, end - time.monotonic()))
            except asyncio.TimeoutError:
                break
            if not d:
                break
            buf += d
        return buf

    async def read_to_eof(r, t=5.0):
        """(bytes, how): how is 'eof', 'reset' or 'timeout'."""
        buf = b""
        end = time.monotonic() + t
        while time.monotonic() < end:
            try:
                d = await asyncio.wait_for(r.read(65536), max(0.01, end - time.monotonic()))
            except asyncio.TimeoutError:
                return buf, "timeout"
            except (ConnectionResetError, OSError):
                return buf, "reset"
            if not d:
                return buf, "eof"
            buf += d
        return buf, "timeout"

    pattern = lambda n: bytes(i % 251 for i in range(n))

    # 1. pass-through, both directions, 1 MiB down
    r, w = await asyncio.open_connection("127.0.0.1", pport)
    w.write(b"hello\n")
    check("echo passes through", await read_n(r, 6) == b"hello\n")
    w.write(b"S1048576\n")
    got = await read_n(r, 1048576, 10)
    check("1 MiB downstream intact", got == pattern(1048576), f"got {len(got)} bytes")
    w.close()

    # 2. chop=1 still delivers everything, in order
    await ctl("/chop?n=1")
    r, w = await asyncio.open_connection("127.0.0.1", pport)
    w.write(b"S3000\n")
    got = await read_n(r, 3000, 10)
    check("chop=1 delivers intact", got == pattern(3000), f"got {len(got)}")
    w.close()
    await ctl("/reset")

    # 3. latency
    await ctl("/latency?ms=300")
    r, w = await asyncio.open_connection("127.0.0.1", pport)
    t0 = time.monotonic()
    w.write(b"ping\n")
    got = await read_n(r, 5)
    dt = time.monotonic() - t0
    check("latency 300 ms each way", got == b"ping\n" and 0.55 <= dt < 3, f"{dt:.2f}s")
    w.close()
    await ctl("/reset")

    # 4. blackhole: nothing flows, socket stays open; lifting it releases held bytes
    r, w = await asyncio.open_connection("127.0.0.1", pport)
    w.write(b"a\n")
    await read_n(r, 2)
    await ctl("/blackhole?on=1")
    w.write(b"held\n")
    got, how = await read_to_eof(r, 1.0)
    check("blackhole holds data, socket open", got == b"" and how == "timeout", f"{got!r} {how}")
    await ctl("/blackhole?on=0")
    check("blackhole lifted releases data", await read_n(r, 5) == b"held\n")
    w.close()

    # 5. cut after N bytes
    r, w = await asyncio.open_connection("127.0.0.1", pport)
    w.write(b"x\n")
    await read_n(r, 2)
    await ctl("/cut?after=1000")
    w.write(b"S5000\n")
    got, how = await read_to_eof(r, 5)
    check("cut after 1000 bytes", got == pattern(1000) and how in ("eof", "reset"),
          f"{len(got)} bytes, {how}")
    w.close()

    # 6. cut in the middle of a TLS record
    r, w = await asyncio.open_connection("127.0.0.1", pport)
    w.write(b"y\n")
    await read_n(r, 2)
    await ctl("/cut-record")
    w.write(b"T\n")
    got, how = await read_to_eof(r, 5)
    want = b"\x17\x03\x03" + struct.pack(">H", 100) + b"R" * 50
    check("cut mid TLS record", got == want and how in ("eof", "reset"), f"{got[:12]!r}.. {len(got)} {how}")
    w.close()

    # 7. RST
    r, w = await asyncio.open_connection("127.0.0.1", pport)
    w.write(b"z\n")
    await read_n(r, 2)
    await ctl("/rst")
    got, how = await read_to_eof(r, 3)
    check("rst resets the client", how == "reset", how)
    w.close()

    # 8. reset-new: new connections die at once
    await ctl("/reset-new?seconds=1")
    r, w = await asyncio.open_connection("127.0.0.1", pport)
    w.write(b"q\n")
    got, how = await read_to_eof(r, 3)
    check("reset-new resets new connections", got == b"" and how in ("reset", "eof"), f"{got!r} {how}")
    w.close()
    await asyncio.sleep(1.1)
    # 9. refuse: connect() is refused, then the port listens again
    await ctl("/refuse?seconds=1")
    await asyncio.sleep(0.1)
    try:
        r, w = await asyncio.open_connection("127.0.0.1", pport)
        w.close()
        refused = False
    except ConnectionRefusedError:
        refused = True
    check("refuse makes connect() fail with ECONNREFUSED", refused)
    await asyncio.sleep(1.3)
    r, w = await asyncio.open_connection("127.0.0.1", pport)
    w.write(b"back\n")
    check("connections work after refuse ends", await read_n(r, 5) == b"back\n")
    w.close()

    st = await ctl("/stats")
    check("stats counts connections", "conns_total" in st and "refused 2" in st, st.replace("\n", " "))
    for s in (p.server, cs, up):
        if s:
            s.close()
    return all(results)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, default=0)
    ap.add_argument("--target")
    ap.add_argument("--control", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--max-seconds", type=float, default=3600)
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    if a.self_test:
        ok = asyncio.run(asyncio.wait_for(_self_test(), 60))
        sys.exit(0 if ok else 1)
    host, port = a.target.rsplit(":", 1)
    try:
        asyncio.run(serve(a.listen, (host, int(port)), a.control, a.port_file, a.max_seconds))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
