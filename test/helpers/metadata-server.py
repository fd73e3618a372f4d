"""A stand-in for Vultr's metadata service, run inside a test network namespace.

usage: metadata-server.py ADDRESS PORT FILE  (serves FILE at /v1.json)
"""
import http.server
import sys

address, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        if self.path == "/":
            # cloud-init's Vultr datasource probes the root before reading /v1.json.
            self.reply(b"v1\nv1.json\n", "text/plain")
        elif self.path == "/v1.json":
            with open(path, "rb") as f:
                self.reply(f.read(), "application/json")
        else:
            self.send_error(404)

    def reply(self, body, content_type):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.HTTPServer((address, port), Handler).serve_forever()
