"""A local accounts API: tokens for known secrets, figures for signed-in accounts."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

SECRETS = {"alice": "a-pass", "bob": "b-pass"}


class Api(ThreadingHTTPServer):
    hits: list[str]


class Handler(BaseHTTPRequestHandler):
    server: Api

    def log_message(self, format: str, *args: object) -> None:
        pass

    def reply(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        self.server.hits.append(self.path)
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        if SECRETS.get(body["account"]) != body["secret"]:
            return self.reply(401, {"error": "bad secret"})
        self.reply(200, {"token": f"tok-{body['account']}"})

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        _, _, account, what = self.path.split("/")
        if self.headers.get("Authorization") != f"Bearer tok-{account}":
            return self.reply(401, {"error": "signed out"})
        figures = {
            "balance": {"balance": len(account) * 100},
            "profile": {"owner": account.title()},
            "payments": {"payments": [{"amount": 1}] * len(account)},
        }
        self.reply(200, figures[what])


@pytest.fixture
def api() -> Iterator[Api]:
    srv = Api(("127.0.0.1", 0), Handler)
    srv.hits = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def url(api: Api) -> str:
    return f"http://127.0.0.1:{api.server_address[1]}"
