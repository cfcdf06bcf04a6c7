"""Time pagecheck.check_manifest over a manifest of N pages (default 16).

Each page costs one request to the latency server and one snapshot file read.
Usage: python3 thread_batch.py PROJECT_DIR [--latency 0.05] [--size 16]
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "examples" / "bench"))
import benchlib  # noqa: E402


def page_body(i: int) -> bytes:
    return f"<html><body>page {i}</body></html>".encode()


def make_app(size: int) -> benchlib.App:
    def app(req: benchlib.Request) -> benchlib.Response:
        name = req.path.rsplit("/", 1)[-1]
        if not req.path.startswith("/pages/") or not name.isdigit() or int(name) >= size:
            return benchlib.Response(404, b"not found", content_type="text/plain")
        return benchlib.Response(200, page_body(int(name)), content_type="text/html")

    return app


def main() -> int:
    args = benchlib.parse_args(__doc__ or "", default_size=16)
    benchlib.add_project_to_path(args.project_dir)
    check_manifest = benchlib.resolve("pagecheck.check", "check_manifest")
    with benchlib.LatencyServer(make_app(args.size), args.latency) as server, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        entries = []
        for i in range(args.size):
            # Every third snapshot is out of date.
            (root / f"{i}.html").write_bytes(b"stale" if i % 3 == 0 else page_body(i))
            entries.append({"name": f"page-{i}", "url": f"{server.url}/pages/{i}", "snapshot": f"{i}.html"})
        manifest = root / "manifest.json"
        manifest.write_text(json.dumps(entries), encoding="utf-8")
        seconds, summary = benchlib.timed(check_manifest, manifest)
        ok = (
            [c.name for c in summary.checks] == [e["name"] for e in entries]
            and summary.changed == [f"page-{i}" for i in range(0, args.size, 3)]
        )
        return benchlib.report(seconds, server, ok, pages=args.size)


if __name__ == "__main__":
    raise SystemExit(main())
