"""Time ratecard.quote_all over N shipments (default 16) in three currencies.

Each shipment costs one tariff request; each currency one rate request, cached
after the first. Usage: python3 cached_fetch.py PROJECT_DIR [--latency 0.05] [--size 16]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "examples" / "bench"))
import benchlib  # noqa: E402

CURRENCIES = ["USD", "GBP", "JPY"]


def make_app() -> benchlib.App:
    def app(req: benchlib.Request) -> benchlib.Response:
        parts = req.path.strip("/").split("/")
        if parts[0] == "rates":
            return benchlib.Response(200, {"rate": 1.0 + CURRENCIES.index(parts[1])})
        if parts[0] == "tariffs" and len(parts) == 3:
            return benchlib.Response(200, {"per_kg": 2.0})
        return benchlib.Response(404, {"error": "not found"})

    return app


def main() -> int:
    args = benchlib.parse_args(__doc__ or "", default_size=16)
    benchlib.add_project_to_path(args.project_dir)
    pricing = __import__("ratecard.pricing", fromlist=["pricing"])
    shipments = [
        pricing.Shipment("FR", f"D{i:02d}", 1.0, CURRENCIES[i % len(CURRENCIES)]) for i in range(args.size)
    ]
    with benchlib.LatencyServer(make_app(), args.latency) as server:
        seconds, quotes = benchlib.timed(pricing.quote_all, shipments, server.url)
        expected = [2.0 * (1.0 + CURRENCIES.index(s.currency)) for s in shipments]
        again = pricing.quote_all(shipments, server.url)
        ok = (
            [q.price for q in quotes] == expected
            and again == quotes
            and pricing.exchange_rate.cache_info().hits >= args.size
        )
        return benchlib.report(seconds, server, ok, shipments=args.size)


if __name__ == "__main__":
    raise SystemExit(main())
