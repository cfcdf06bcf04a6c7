from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from catalog import client

TOKEN = "s3cret"


class Handler(BaseHTTPRequestHandler):
    seen: list[tuple[str, str | None]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        Handler.seen.append((self.path, self.headers.get("Authorization")))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.send_response(401)
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        parts = path.strip("/").split("/")
        if len(parts) != 3 or parts[:2] != ["api", "items"] or not parts[2].isdigit() or int(parts[2]) >= 100:
            self.send_response(404)
            self.end_headers()
            return
        n = int(parts[2])
        body = json.dumps({"id": n, "name": f"item {n}", "price": n * 1.5, "query": query}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def root() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Handler.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}/api/"
    server.shutdown()
    server.server_close()


def test_fetch_items_in_order_with_token(root: str) -> None:
    items = client.fetch_items(root, TOKEN, [3, 1, 2])
    assert [i.id for i in items] == [3, 1, 2]
    assert items[0] == client.Item(3, "item 3", 4.5)
    assert sorted(Handler.seen) == [(f"/api/items/{n}?fields=all", f"Bearer {TOKEN}") for n in (1, 2, 3)]


def test_fetch_items_raises_for_a_missing_item(root: str) -> None:
    with pytest.raises(Exception) as info:
        client.fetch_items(root, TOKEN, [1, 404])
    assert "404" in str(info.value)


def test_fetch_items_raises_for_a_bad_token(root: str) -> None:
    with pytest.raises(Exception) as info:
        client.fetch_items(root, "wrong", [1])
    assert "401" in str(info.value)


def test_session_prefixes_its_root(root: str) -> None:
    with client.CatalogSession(root, TOKEN) as session:
        assert session.get("/items/7", timeout=5).json()["name"] == "item 7"
