"""Time sitewalk.crawl.crawl over a site of N pages (default 60), at most 40 visited.

Each page links to three further pages and back to the start: the walk must visit
the same pages in the same order as a breadth-first walk, each once, 40 at most.
Usage: python3 work_queue.py PROJECT_DIR [--latency 0.05] [--size 60]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "examples" / "bench"))
import benchlib  # noqa: E402

MAX_PAGES = 40


def links_of(n: int, size: int) -> list[str]:
    return [f"/doc/{k}" for k in (3 * n + 1, 3 * n + 2, 3 * n + 3) if k < size] + ["/doc/0"]


def expected(size: int) -> list[str]:
    order, frontier, seen = [], ["/doc/0"], {"/doc/0"}
    while frontier and len(order) < MAX_PAGES:
        path = frontier.pop(0)
        order.append(path)
        for link in links_of(int(path.rsplit("/", 1)[1]), size):
            if link not in seen:
                seen.add(link)
                frontier.append(link)
    return order


def main() -> int:
    args = benchlib.parse_args(__doc__ or "", default_size=60)
    benchlib.add_project_to_path(args.project_dir)
    crawl = benchlib.resolve("sitewalk.crawl", "crawl")

    def app(req: benchlib.Request) -> benchlib.Response:
        n = int(req.path.rsplit("/", 1)[1])
        return benchlib.Response(200, {"title": f"Doc {n}", "links": links_of(n, args.size)})

    with benchlib.LatencyServer(app, args.latency) as server:
        seconds, pages = benchlib.timed(crawl, server.url, "/doc/0", MAX_PAGES)
        want = expected(args.size)
        ok = [p.path for p in pages] == want and server.count == len(want) <= MAX_PAGES
        return benchlib.report(seconds, server, ok, pages=len(pages))


if __name__ == "__main__":
    raise SystemExit(main())
