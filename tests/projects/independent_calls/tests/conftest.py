from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


def directory_answer(path: str) -> tuple[int, Any]:
    parts = path.strip("/").split("/")
    if len(parts) < 2 or parts[0] != "users" or parts[1] == "ghost":
        return 404, {"message": "not found"}
    login = parts[1]
    if len(parts) == 2:
        return 200, {"login": login, "name": login.title()}
    if parts[2] == "teams":
        return 200, [{"slug": f"{login}-b"}, {"slug": f"{login}-a"}]
    if parts[2] == "keys":
        return 200, [{"fingerprint": f"SHA256:{login}"}]
    return 404, {"message": "not found"}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        status, body = directory_answer(self.path)
        self.server.paths.append(self.path)  # type: ignore[attr-defined]
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.paths = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def base_url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"
