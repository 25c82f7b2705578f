#!/usr/bin/env python3
"""Raw HTTP/1.1 over a socket, for what curl will not send: framing attacks,
half-closed clients, endless chunked uploads. Used by t_scheduler_hardening.sh.

  rawhttp.py PORT send FILE          send FILE's bytes, print all that comes back
  rawhttp.py PORT endless HEADERFILE send the headers, then chunks until an answer
                                     comes; print it and how many bytes were sent
  rawhttp.py PORT halfclose N FILE   N clients at once send FILE and shut down their
                                     writing side; print how many got an HTTP answer
  rawhttp.py PORTFILE failing N      a stand-in scheduler that answers every request 503,
                                     prints each request's Idempotency-Key, exits after N
"""
import socket
import sys
import threading
import time


def read_all(s, timeout=10):
    s.settimeout(timeout)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except socket.timeout:
        out += b"<timeout>"
    except OSError as e:
        out += ("<%s>" % e).encode()
    return out


def failing(portfile, n):
    import http.server

    class H(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            print("%s %s" % (self.path, self.headers.get("Idempotency-Key")), flush=True)
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "22")
            self.end_headers()
            self.wfile.write(b'{"detail":"down today"}'[:22])

        def log_message(self, *a):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), H)
    with open(portfile, "w") as f:
        f.write(str(srv.server_address[1]))
    for _ in range(n):
        srv.handle_request()


def main():
    if sys.argv[2] == "failing":
        return failing(sys.argv[1], int(sys.argv[3]))
    port, mode = int(sys.argv[1]), sys.argv[2]
    if mode == "send":
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(open(sys.argv[3], "rb").read())
        sys.stdout.buffer.write(read_all(s))
    elif mode == "endless":
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(open(sys.argv[3], "rb").read())
        s.setblocking(False)
        chunk, sent, got, t0 = b"1000\r\n" + b"x" * 4096 + b"\r\n", 0, b"", time.time()
        while time.time() - t0 < 20 and b"\r\n\r\n" not in got:
            try:
                got += s.recv(65536)
            except BlockingIOError:
                pass
            except OSError:
                break
            try:
                sent += s.send(chunk)
            except BlockingIOError:
                time.sleep(0.001)
            except OSError:
                break
        s.setblocking(True)
        got += read_all(s, 5)
        print(got.split(b"\r\n")[0].decode(errors="replace"))
        print("sent %d" % sent)
    elif mode == "halfclose":
        n, data, answered = int(sys.argv[3]), open(sys.argv[4], "rb").read(), []

        def one():
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            answered.append(read_all(s).startswith(b"HTTP/1.1 2"))

        ts = [threading.Thread(target=one) for _ in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        print(sum(answered))


main()
