"""Time accounts.client.summarise_all over N accounts (default 8).

Each account costs four requests: signing in (in `AccountClient.__init__`), its
owner (a cached property, read twice), its balance (a property) and its payments.
Usage: python3 init_property.py PROJECT_DIR [--latency 0.05] [--size 8]
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "examples" / "bench"))
import benchlib  # noqa: E402


def app(req: benchlib.Request) -> benchlib.Response:
    if req.method == "POST" and req.path == "/auth/token":
        body = req.json()
        if body["secret"] != f"pw-{body['account']}":
            return benchlib.Response(401, {"error": "bad secret"})
        return benchlib.Response(200, {"token": f"tok-{body['account']}"})
    parts = req.path.split("/")
    if len(parts) != 4 or parts[1] != "accounts":
        return benchlib.Response(404, {"error": "not found"})
    account, what = parts[2], parts[3]
    if req.headers.get("Authorization") != f"Bearer tok-{account}":
        return benchlib.Response(401, {"error": "signed out"})
    number = int(account.rsplit("-", 1)[1])
    figures = {
        "balance": {"balance": number * 10},
        "profile": {"owner": f"Owner {number}"},
        "payments": {"payments": [{"amount": 1}] * number},
    }
    return benchlib.Response(200, figures[what])


def main() -> int:
    args = benchlib.parse_args(__doc__ or "", default_size=8)
    benchlib.add_project_to_path(args.project_dir)
    mod = importlib.import_module("accounts.client")
    secrets = {f"acct-{i}": f"pw-acct-{i}" for i in range(args.size)}
    with benchlib.LatencyServer(app, args.latency) as server:
        # A warm-up account, untimed: the first request of a process pays one-off
        # set-up (imports, the SSL context), the same for either version.
        benchlib.call(mod.summarise_all, server.url, {"acct-0": "pw-acct-0"})
        server.count = 0
        seconds, summaries = benchlib.timed(mod.summarise_all, server.url, secrets)
        expected = [(f"Owner {i}", i * 10, i) for i in range(args.size)]
        ok = [(s.owner, s.balance, s.payments) for s in summaries] == expected and server.count == 4 * args.size
        return benchlib.report(seconds, server, ok, accounts=args.size)


if __name__ == "__main__":
    raise SystemExit(main())
