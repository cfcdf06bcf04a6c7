from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

SIZE = 30


def links_of(n: int) -> list[str]:
    """Each page links to three further pages, back to the start, and to itself."""
    further = [f"/doc/{k}" for k in (3 * n + 1, 3 * n + 2, 3 * n + 3) if k < SIZE]
    return [*further, "/doc/0", f"/doc/{n}"]


class SiteServer(ThreadingHTTPServer):
    """A small site of SIZE pages; it records every path asked for."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.paths: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: SiteServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.paths.append(self.path)
        parts = self.path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "doc" and parts[1].isdigit() and int(parts[1]) < SIZE:
            n = int(parts[1])
            status, body = 200, {"title": f"Doc {n}", "links": links_of(n)}
        else:
            status, body = 404, {"message": "not found"}
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def expected_walk(max_pages: int) -> list[str]:
    """The paths a breadth-first walk from /doc/0 visits, in order."""
    order, frontier, seen = [], ["/doc/0"], {"/doc/0"}
    while frontier and len(order) < max_pages:
        path = frontier.pop(0)
        order.append(path)
        for link in links_of(int(path.rsplit("/", 1)[1])):
            if link not in seen:
                seen.add(link)
                frontier.append(link)
    return order


@pytest.fixture
def server() -> Iterator[SiteServer]:
    srv = SiteServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
