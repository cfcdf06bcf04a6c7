"""Time catalog.fetch_items over N items (default 48), each one request through
the service's own session (a requests.Session subclass adding the root URL and a
bearer token). Usage: python3 session_subclass.py PROJECT_DIR [--latency 0.05] [--size 48]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "examples" / "bench"))
import benchlib  # noqa: E402

TOKEN = "bench-token"


def app(req: benchlib.Request) -> benchlib.Response:
    if req.headers.get("Authorization") != f"Bearer {TOKEN}":
        return benchlib.Response(401, {"message": "unauthorized"})
    parts = req.path.strip("/").split("/")
    if len(parts) != 3 or parts[:2] != ["v1", "items"] or not parts[2].isdigit():
        return benchlib.Response(404, {"message": "not found"})
    n = int(parts[2])
    return benchlib.Response(200, {"id": n, "name": f"item {n}", "price": n / 2})


def main() -> int:
    args = benchlib.parse_args(__doc__ or "", default_size=48)
    benchlib.add_project_to_path(args.project_dir)
    fetch_items = benchlib.resolve("catalog.client", "fetch_items")
    ids = list(range(args.size))
    with benchlib.LatencyServer(app, args.latency) as server:
        seconds, items = benchlib.timed(fetch_items, f"{server.url}/v1/", TOKEN, ids)
        ok = [item.id for item in items] == ids and all(item.name == f"item {item.id}" for item in items)
        return benchlib.report(seconds, server, ok, items=args.size)


if __name__ == "__main__":
    raise SystemExit(main())
