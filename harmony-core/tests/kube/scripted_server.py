#!/usr/bin/env python3
"""An HTTPS server that answers as scripted, for the Kubernetes transport's
tests of what a real API server will not do on demand: 429 and 503 with
Retry-After, a 401 until credentials change, a stream cut mid-line, a hang.
Conformance with the real API server is tested against the test cluster.

Usage: scripted_server.py CERT KEY CA PORT_FILE OWNER_PID
Listens on 127.0.0.1 (port chosen by the kernel, written to PORT_FILE) and
asks for a client certificate signed by CA (optional). Exits when OWNER_PID
(the test) is gone, so a crashed test leaves nothing behind.
"""
import http.server
import json
import os
import ssl
import sys
import threading
import time

cert, key, ca, port_file, owner = sys.argv[1:6]
counts = {}
lock = threading.Lock()


def bump(name):
    with lock:
        counts[name] = counts.get(name, 0) + 1
        return counts[name]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, headers=None):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def peer_cn(self):
        peer = self.connection.getpeercert()
        if not peer:
            return ""
        for rdn in peer.get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    return v
        return ""

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        path = self.path
        n = bump(path)
        if path == "/echo":
            self.send(200, json.dumps({
                "method": self.command, "body": body,
                "user_agent": self.headers.get("User-Agent", ""),
                "authorization": self.headers.get("Authorization", ""),
                "content_type": self.headers.get("Content-Type", ""),
                "client_cn": self.peer_cn(), "count": n,
                "connection": id(self.connection)}))
        elif path.startswith("/busy-then-ok"):
            # Two 429s with Retry-After: 1, then success.
            if n <= 2:
                self.send(429, json.dumps({"kind": "Status", "reason": "TooManyRequests", "message": "slow down"}),
                          {"Retry-After": "1"})
            else:
                self.send(200, json.dumps({"attempt": n}))
        elif path == "/always-503":
            self.send(503, json.dumps({"kind": "Status", "reason": "ServiceUnavailable", "message": "down"}))
        elif path == "/counted":
            self.send(200, json.dumps({"count": n}))
        elif path == "/token":
            # Only the second credential is accepted.
            if self.headers.get("Authorization") == "Bearer second":
                self.send(200, json.dumps({"ok": True}))
            else:
                self.send(401, json.dumps({"kind": "Status", "reason": "Unauthorized", "message": "Unauthorized"}))
        elif path == "/stream":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in [b'{"n":1}\n{"n"', b':2}\n', b'{"n":3}\n']:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
                time.sleep(0.05)
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/endless":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for i in range(600):  # bounded: at most a minute
                    chunk = b'{"n":%d}\n' % i
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                    time.sleep(0.1)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
        elif path == "/api":
            self.send(200, json.dumps({"kind": "APIGroupDiscoveryList", "items": [{"metadata": {"name": ""}, "versions": [
                {"version": "v1", "resources": [{"resource": "configmaps", "scope": "Namespaced",
                 "responseKind": {"group": "", "version": "v1", "kind": "ConfigMap"}, "verbs": ["get", "list", "watch"]}]}]}]}))
        elif path == "/apis":
            self.send(200, json.dumps({"kind": "APIGroupDiscoveryList", "items": []}))
        elif path.startswith("/api/v1/namespaces/w/configmaps"):
            # A watch whose version is too old: the first watch answers 410 in
            # an ERROR event; the relist then has a newer version to watch from.
            if "watch=1" in path:
                n = bump("watch")
                if n == 1:
                    lines = [{"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired",
                                                          "message": "too old resource version: 10 (15)"}}]
                elif "resourceVersion=20" in path:
                    lines = [{"type": "BOOKMARK", "object": {"kind": "ConfigMap", "metadata": {"resourceVersion": "21"}}},
                             {"type": "ADDED", "object": {"metadata": {"name": "after", "resourceVersion": "22"}}}]
                else:
                    lines = [{"type": "ERROR", "object": {"kind": "Status", "code": 500, "message": "watched from " + path}}]
                data = "".join(json.dumps(line) + "\n" for line in lines).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            else:
                n = bump("list")
                items = [{"metadata": {"name": "first"}}] + ([{"metadata": {"name": "second"}}] if n > 1 else [])
                self.send(200, json.dumps({"kind": "ConfigMapList", "metadata": {"resourceVersion": "10" if n == 1 else "20"},
                                           "items": items}))
        elif path == "/hang":
            time.sleep(10)
            self.send(200, "{}")
        else:
            self.send(404, json.dumps({"kind": "Status", "reason": "NotFound", "message": "no " + path}))

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = handle_any


context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
context.load_verify_locations(ca)
context.verify_mode = ssl.CERT_OPTIONAL
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
server.socket = context.wrap_socket(server.socket, server_side=True)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)

def watch_parent():
    while True:
        try:
            os.kill(int(owner), 0)
        except ProcessLookupError:
            os._exit(0)
        time.sleep(0.2)


threading.Thread(target=watch_parent, daemon=True).start()
server.serve_forever()
