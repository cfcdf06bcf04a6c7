"""Time pricecache.refresh over N SKUs (default 32) on the latency server.

Each SKU costs one request, then one write through the store's sqlite connection.
Usage: python3 sqlite_store.py PROJECT_DIR [--latency 0.05] [--size 32]
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "examples" / "bench"))
import benchlib  # noqa: E402


def make_app(size: int) -> benchlib.App:
    def app(req: benchlib.Request) -> benchlib.Response:
        sku = req.path.rsplit("/", 1)[-1]
        if not req.path.startswith("/price/") or not sku.startswith("sku") or int(sku[3:]) >= size:
            return benchlib.Response(404, b"not found", content_type="text/plain")
        return benchlib.Response(200, {"price": int(sku[3:]) + 0.5})

    return app


def main() -> int:
    args = benchlib.parse_args(__doc__ or "", default_size=32)
    benchlib.add_project_to_path(args.project_dir)
    refresh = benchlib.resolve("pricecache.store", "refresh")
    skus = [f"sku{i}" for i in range(args.size)]
    with benchlib.LatencyServer(make_app(args.size), args.latency) as server, tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "prices.db")
        seconds, prices = benchlib.timed(refresh, server.url, skus, db)
        stored = dict(sqlite3.connect(db).execute("SELECT sku, price FROM prices").fetchall())
        want = {sku: i + 0.5 for i, sku in enumerate(skus)}
        ok = prices == want and list(prices) == skus and stored == want
        return benchlib.report(seconds, server, ok, skus=args.size)


if __name__ == "__main__":
    raise SystemExit(main())
