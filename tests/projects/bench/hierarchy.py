"""Time notify.notifiers.dispatch over N notifiers (default 10): webhooks and chat
channels that POST to a local server, and in-memory ones that do no I/O.

Usage: python3 hierarchy.py PROJECT_DIR [--latency 0.05] [--size 10]
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "examples" / "bench"))
import benchlib  # noqa: E402


def app(req: benchlib.Request) -> benchlib.Response:
    if req.method != "POST":
        return benchlib.Response(405, {"error": "POST only"})
    if req.path.startswith("/channels/"):
        ok = req.headers.get("Authorization") == "Bearer t0ken"
        return benchlib.Response(201 if ok else 403, {})
    return benchlib.Response(200, {"ok": True})


def main() -> int:
    args = benchlib.parse_args(__doc__ or "", default_size=10)
    benchlib.add_project_to_path(args.project_dir)
    mod = importlib.import_module("notify.notifiers")
    with benchlib.LatencyServer(app, args.latency) as server:
        chosen = []
        for i in range(args.size):
            if i % 4 == 3:
                chosen.append(mod.MemoryNotifier())
            elif i % 2:
                chosen.append(mod.ChatNotifier(server.url, f"room{i}", "t0ken"))
            else:
                chosen.append(mod.WebhookNotifier(f"{server.url}/hooks/{i}"))
        # A warm-up delivery, untimed: the first request of a process pays one-off
        # set-up (imports, the SSL context), the same for either version.
        benchlib.call(mod.dispatch, [mod.WebhookNotifier(f"{server.url}/hooks/warm-up")], "warm-up")
        server.count = 0
        seconds, deliveries = benchlib.timed(mod.dispatch, chosen, "release 1.2 is out")
        memory = [n for n in chosen if isinstance(n, mod.MemoryNotifier)]
        ok = (
            [d.accepted for d in deliveries] == [True] * args.size
            and [d.notifier for d in deliveries] == [n.label for n in chosen]
            and all(n.sent == ["release 1.2 is out"] for n in memory)
            and server.count == args.size - len(memory)
        )
        return benchlib.report(seconds, server, ok, notifiers=args.size)


if __name__ == "__main__":
    raise SystemExit(main())
