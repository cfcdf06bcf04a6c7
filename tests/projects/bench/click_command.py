"""Time the `stockcheck` click command over N product codes (default 16).

Each product costs one API call. Usage: python3 click_command.py PROJECT_DIR [--latency 0.05] [--size 16]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "examples" / "bench"))
import benchlib  # noqa: E402


def make_app() -> benchlib.App:
    def app(req: benchlib.Request) -> benchlib.Response:
        code = req.path.rsplit("/", 1)[-1]
        if not req.path.startswith("/stock/"):
            return benchlib.Response(404, {"message": "Not Found"})
        return benchlib.Response(200, {"available": len(code), "location": "north"})

    return app


def main() -> int:
    args = benchlib.parse_args(__doc__ or "", default_size=16)
    benchlib.add_project_to_path(args.project_dir)
    check = benchlib.resolve("stockcheck.cli", "check")
    from click.testing import CliRunner

    codes = [f"P-{i:03d}" for i in range(args.size)]
    with benchlib.LatencyServer(make_app(), args.latency) as server:
        runner = CliRunner()
        seconds, result = benchlib.timed(runner.invoke, check, [*codes, "--api", server.url])
        lines = result.stdout.splitlines()
        ok = result.exit_code == 0 and lines == [f"{c}: 5 at north" for c in codes]
        return benchlib.report(seconds, server, ok, products=args.size)


if __name__ == "__main__":
    raise SystemExit(main())
