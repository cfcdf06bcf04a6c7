"""Time runner.check_all over N inputs (default 16), each checked by a child
process that waits four times --latency before it prints its verdict (a command
that takes time, well above the cost of starting a Python process, which the
conversion does not remove). The checker rejects the inputs ending in 0, 4 or
8, which check_all checks again through subprocess.Popen and communicate() to
record the checker's complaint.

Usage: python3 subprocess_loop.py PROJECT_DIR [--latency 0.05] [--size 16]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "examples" / "bench"))
import benchlib  # noqa: E402


def main() -> int:
    args = benchlib.parse_args(__doc__ or "", default_size=16)
    benchlib.add_project_to_path(args.project_dir)
    check_all = benchlib.resolve("runner.checks", "check_all")
    script = (
        f"import sys, time; time.sleep({4 * args.latency}); word = sys.argv[1]; print(word[::-1])\n"
        "if word.endswith(('0', '4', '8')): sys.exit('rejected ' + word)"
    )
    items = [f"item-{i:02d}" for i in range(args.size)]
    rejected = [i for i in items if i.endswith(("0", "4", "8"))]
    seconds, result = benchlib.timed(check_all, items, script)
    ok = list(result.verdicts) == [i for i in items if i not in rejected]
    ok = ok and all(result.verdicts[i] == i[::-1] for i in result.verdicts)
    ok = ok and result.failed == {i: 1 for i in rejected}
    ok = ok and result.complaints == {i: f"rejected {i}" for i in rejected}
    print(f"items={args.size}")
    print(f"ok={int(ok)}")
    print(f"seconds={seconds:.4f}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
