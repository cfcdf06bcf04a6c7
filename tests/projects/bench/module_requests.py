"""Time linkcheck.check_links over N links (default 32) on the latency server.

Each link costs one request. Prints the connections the server accepted: the
converted batch shares one client, so at most as many as run at once.
Usage: python3 module_requests.py PROJECT_DIR [--latency 0.05] [--size 32]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "examples" / "bench"))
import benchlib  # noqa: E402


def make_app(size: int) -> benchlib.App:
    def app(req: benchlib.Request) -> benchlib.Response:
        name = req.path.rsplit("/", 1)[-1]
        if not req.path.startswith("/links/") or not name.isdigit() or int(name) >= size:
            return benchlib.Response(404, b"not found", content_type="text/plain")
        return benchlib.Response(200, b"x" * (int(name) + 1), content_type="text/plain")

    return app


def main() -> int:
    args = benchlib.parse_args(__doc__ or "", default_size=32)
    benchlib.add_project_to_path(args.project_dir)
    check_links = benchlib.resolve("linkcheck.status", "check_links")
    with benchlib.LatencyServer(make_app(args.size), args.latency) as server:
        urls = [f"{server.url}/links/{i}" for i in range(args.size)]
        seconds, statuses = benchlib.timed(check_links, urls)
        ok = [s.url for s in statuses] == urls and [s.size for s in statuses] == [i + 1 for i in range(args.size)]
        return benchlib.report(seconds, server, ok, links=args.size)


if __name__ == "__main__":
    raise SystemExit(main())
