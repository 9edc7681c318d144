#!/usr/bin/env python3
"""A webhook receiver for tests/test_notify.sh: records every POST as one
JSON line (path, the X-Jobring-* headers, the status it answered, the
body) in LOG; answers 500 while the file FAIL exists, 200 otherwise.
Writes its port to PORTFILE once listening.
Usage: receiver.py LOG FAIL PORTFILE"""
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log_path, fail_path, port_path = sys.argv[1:4]
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode()
        status = 500 if os.path.exists(fail_path) else 200
        rec = {"path": self.path, "status": status, "body": body,
               "delivery": self.headers.get("X-Jobring-Delivery"),
               "signature": self.headers.get("X-Jobring-Signature"),
               "event": self.headers.get("X-Jobring-Event")}
        with lock, open(log_path, "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(port_path + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_path + ".tmp", port_path)
server.serve_forever()
