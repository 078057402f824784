#!/usr/bin/python3
"""HTTPS test peer for tests/tls/t_http.sh and t_tls.sh.

  https_peer.py --cert C --key K --log FILE [--plain] [--raw]

Prints the listening port on stdout, then serves until killed. python3's http.server
(ThreadingHTTPServer, HTTP/1.1 keep-alive) wrapped in ssl, with paths that misbehave
on purpose. The log gets one line per TCP connection ("conn") and per request
("req METHOD PATH auth=yes|no"), so tests can count connections and requests.

--raw: no HTTP server at all; records every byte received on each connection
("raw N bytes http=yes|no") and answers like a plain HTTP server would (400). Used
to prove the client sends no HTTP bytes when TLS fails.
"""
import argparse
import socket
import socketserver
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG_LOCK = threading.Lock()
LOG = None


def log(line):
    with LOG_LOCK:
        with open(LOG, "a") as f:
            f.write(line + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10

    def setup(self):
        super().setup()
        log("conn")

    def log_message(self, fmt, *args):  # keep stderr quiet
        pass

    def send_raw(self, data):
        self.wfile.write(data)
        self.wfile.flush()

    def do_GET(self):
        self.handle_any()

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.req_body = self.rfile.read(n) if n else b""
        self.handle_any()

    def handle_any(self):
        auth = "yes" if self.headers.get("X-Authorization") else "no"
        log("req %s %s auth=%s" % (self.command, self.path, auth))
        p = self.path.split("?")[0]
        if p == "/cl":
            self.send_raw(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello")
        elif p == "/echo":
            b = getattr(self, "req_body", b"")
            self.send_raw(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(b) + b)
        elif p == "/chunked":
            self.send_raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for part in (b"hel", b"lo wor", b"ld"):
                self.send_raw(b"%x\r\n%s\r\n" % (len(part), part))
                time.sleep(0.02)
            self.send_raw(b"0\r\n\r\n")
        elif p == "/close":
            self.send_raw(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye")
            self.close_connection = True
        elif p == "/dribble":
            # one byte every 100 ms, forever-ish (~40 s): only a deadline ends it
            msg = b"HTTP/1.1 200 OK\r\nContent-Length: 400\r\n\r\n" + b"x" * 400
            try:
                for i in range(len(msg)):
                    self.send_raw(msg[i:i + 1])
                    time.sleep(0.1)
            except OSError:
                pass
            self.close_connection = True
        elif p == "/big":
            n = 2 * 1024 * 1024
            self.send_raw(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n)
            try:
                self.send_raw(b"a" * n)
            except OSError:
                pass
        elif p == "/bigchunked":
            self.send_raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            try:
                for _ in range(64):
                    self.send_raw(b"8000\r\n" + b"b" * 0x8000 + b"\r\n")
                self.send_raw(b"0\r\n\r\n")
            except OSError:
                pass
        elif p == "/badchunk":
            self.send_raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n")
            self.close_connection = True
        elif p == "/idleclose":
            # keep-alive promised, then the server drops the idle connection (a load
            # balancer's idle timeout) before the client's next request
            self.send_raw(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nidle")
            time.sleep(0.2)
            self.close_connection = True
        elif p == "/drop":
            # request read, connection closed without a byte of response
            log("drop")
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.close_connection = True
        elif p == "/redirect":
            self.send_raw(b"HTTP/1.1 302 Found\r\nLocation: http://evil.example/steal\r\nContent-Length: 0\r\n\r\n")
        elif p == "/truncate":
            # announce 100 bytes, send 10, then drop TCP without TLS close_notify
            self.send_raw(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.close_connection = True
        else:
            self.send_raw(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")


class TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    ctx = None

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.ctx is None:
            return sock, addr
        sock.settimeout(10)
        try:
            return self.ctx.wrap_socket(sock, server_side=True), addr
        except (ssl.SSLError, OSError) as e:
            log("tls_error %s" % type(e).__name__)
            sock.close()
            raise OSError("handshake failed")


class RawHandler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(3)
        got = b""
        try:
            while len(got) < 65536:
                d = self.request.recv(4096)
                if not d:
                    break
                got += d
                if len(got) >= 5:  # a ClientHello, or a request line
                    break
            time.sleep(0.3)
            self.request.settimeout(0.3)
            try:
                while True:
                    d = self.request.recv(4096)
                    if not d:
                        break
                    got += d
            except OSError:
                pass
        except OSError:
            pass
        http = any(got.startswith(m) for m in (b"GET ", b"POST ", b"HEAD ", b"PUT "))
        log("raw %d bytes http=%s" % (len(got), "yes" if http else "no"))
        try:
            self.request.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\nConnection: close\r\n\r\nBad Request")
        except OSError:
            pass


def main():
    global LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--log", required=True)
    ap.add_argument("--plain", action="store_true")
    ap.add_argument("--raw", action="store_true")
    a = ap.parse_args()
    LOG = a.log
    open(LOG, "w").close()
    if a.raw:
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), RawHandler)
        srv.daemon_threads = True
    else:
        srv = TLSServer(("127.0.0.1", 0), Handler)
        if not a.plain:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(a.cert, a.key)
            ctx.sni_callback = lambda sock, name, c: log("sni %s" % name)
            srv.ctx = ctx
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
