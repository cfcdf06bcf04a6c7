"""Time profiles.directory.fetch_profiles over N users (default 12).

Each user costs three independent reads (record, teams, keys).
Usage: python3 independent_calls.py PROJECT_DIR [--latency 0.05] [--size 12]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "examples" / "bench"))
import benchlib  # noqa: E402


def app(req: benchlib.Request) -> benchlib.Response:
    parts = req.path.strip("/").split("/")
    if len(parts) < 2 or parts[0] != "users":
        return benchlib.Response(404, {"message": "not found"})
    login = parts[1]
    if len(parts) == 2:
        return benchlib.Response(200, {"login": login, "name": login.title()})
    if parts[2] == "teams":
        return benchlib.Response(200, [{"slug": f"{login}-team"}])
    if parts[2] == "keys":
        return benchlib.Response(200, [{"fingerprint": f"SHA256:{login}"}])
    return benchlib.Response(404, {"message": "not found"})


def main() -> int:
    args = benchlib.parse_args(__doc__ or "", default_size=12)
    benchlib.add_project_to_path(args.project_dir)
    fetch_profiles = benchlib.resolve("profiles.directory", "fetch_profiles")
    logins = [f"user{i:02d}" for i in range(args.size)]
    with benchlib.LatencyServer(app, args.latency) as server:
        seconds, profiles = benchlib.timed(fetch_profiles, server.url, logins)
        ok = list(profiles) == logins and all(p.teams == [f"{p.login}-team"] for p in profiles.values())
        ok = ok and server.count == 3 * args.size
        return benchlib.report(seconds, server, ok, users=args.size)


if __name__ == "__main__":
    raise SystemExit(main())
