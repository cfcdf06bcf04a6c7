"""Time tickers.feed.fetch_quotes over N symbols (default 16).

The feed allows one request every INTERVAL seconds: the bench checks that the
requests reached the server at least half that interval apart, and every symbol once.
Usage: python3 throttled.py PROJECT_DIR [--latency 0.05] [--size 16]
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "examples" / "bench"))
import benchlib  # noqa: E402

arrivals: list[float] = []
lock = threading.Lock()


def app(req: benchlib.Request) -> benchlib.Response:
    symbol = req.path.rsplit("/", 1)[-1]
    return benchlib.Response(200, {"price": float(len(symbol)), "currency": "EUR"})


def main() -> int:
    args = benchlib.parse_args(__doc__ or "", default_size=16)
    benchlib.add_project_to_path(args.project_dir)
    fetch_quotes = benchlib.resolve("tickers.feed", "fetch_quotes")
    interval = float(benchlib.resolve("tickers.feed", "INTERVAL"))
    symbols = [f"S{i:02d}" for i in range(args.size)]

    def recorded(req: benchlib.Request) -> benchlib.Response:
        with lock:
            arrivals.append(time.monotonic())
        return app(req)

    with benchlib.LatencyServer(recorded, args.latency) as server:
        seconds, quotes = benchlib.timed(fetch_quotes, server.url, symbols)
        times = sorted(arrivals)
        gaps = [b - a for a, b in zip(times, times[1:])]
        ok = [q.symbol for q in quotes] == symbols and server.count == args.size
        ok = ok and len(times) == args.size and min(gaps) >= 0.5 * interval
        return benchlib.report(seconds, server, ok, symbols=args.size, min_gap=f"{min(gaps):.4f}")


if __name__ == "__main__":
    raise SystemExit(main())
