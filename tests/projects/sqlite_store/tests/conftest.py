from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

PRICES = {f"sku{i}": 1.5 * (i + 1) for i in range(6)}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        sku = self.path.rsplit("/", 1)[-1]
        if not self.path.startswith("/price/") or sku not in PRICES:
            self.send_error(404)
            return
        body = json.dumps({"price": PRICES[sku]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
