"""A local carrier API for the tests, counting the requests it answers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

RATES = {"EUR": 1.0, "USD": 1.5, "GBP": 0.8}


class Carrier(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.paths: list[str] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Carrier

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.paths.append(self.path)
        parts = self.path.strip("/").split("/")
        if parts[0] == "rates" and parts[1] in RATES:
            self._send(200, {"rate": RATES[parts[1]]})
        elif parts[0] == "tariffs" and len(parts) == 3 and parts[2] != "nowhere":
            self._send(200, {"per_kg": 2.0 if parts[1] == parts[2] else 3.0})
        else:
            self._send(404, {"error": "not found"})

    def _send(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def carrier() -> Iterator[Carrier]:
    server = Carrier()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
