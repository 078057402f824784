"""TLS peer for t_conn_pending.sh: after the handshake, sends two application records
back to back, then waits for one byte and closes. Prints its port on stdout."""
import socket, ssl, sys, time

cert, key = sys.argv[1], sys.argv[2]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
print(srv.getsockname()[1], flush=True)
raw, _ = srv.accept()
c = ctx.wrap_socket(raw, server_side=True)
c.sendall(b"AAAAAAAAAA")   # one record
c.sendall(b"BBBBBBBBBB")   # a second record
c.settimeout(5)
try:
    c.recv(1)
except Exception:
    pass
time.sleep(0.2)
c.close()
