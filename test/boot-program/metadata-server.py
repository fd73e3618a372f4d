"""A stand-in for Vultr's metadata service, run inside a test network namespace.

usage: metadata-server.py ADDRESS PORT FILE  (serves FILE at /v1.json)
"""
import http.server
import sys

address, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        if self.path != "/v1.json":
            self.send_error(404)
            return
        with open(path, "rb") as f:
            body = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.HTTPServer((address, port), Handler).serve_forever()
