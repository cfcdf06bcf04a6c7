"""Each input is checked by a child process; its first output line is the verdict."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

# Seconds one check may take before it is abandoned.
CHECK_TIMEOUT = 10.0


@dataclass
class CheckResult:
    """What the checker said about each input, and which inputs it rejected."""

    verdicts: dict[str, str] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    # What the checker wrote on stderr about each rejected input.
    complaints: dict[str, str] = field(default_factory=dict)


def command_for(item: str, script: str) -> list[str]:
    """The checker's command line for one input: the script run by this Python."""
    return [sys.executable, "-c", script, item]


def check_one(item: str, script: str, workdir: Path | None = None) -> str:
    """The checker's verdict on one input; CalledProcessError when it fails."""
    env = dict(os.environ, CHECK_ITEM=item)
    output = subprocess.check_output(
        command_for(item, script),
        stderr=subprocess.DEVNULL,
        text=True,
        timeout=CHECK_TIMEOUT,
        cwd=workdir,
        env=env,
    )
    return output.strip().splitlines()[0] if output.strip() else ""


def exit_status(item: str, script: str) -> int:
    """The checker's exit status for one input, without its output."""
    return subprocess.call(command_for(item, script), stdout=subprocess.DEVNULL, timeout=CHECK_TIMEOUT)


def diagnose(item: str, script: str, workdir: Path | None = None) -> tuple[str, str, int]:
    """What the checker printed and wrote on stderr for one input, and its exit status."""
    proc = subprocess.Popen(
        command_for(item, script), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=workdir
    )
    out, err = proc.communicate(timeout=CHECK_TIMEOUT)
    return out.strip(), err.strip(), proc.returncode


def check_all(items: list[str], script: str, workdir: Path | None = None) -> CheckResult:
    """Check every input; inputs the checker rejects are recorded with its status,
    and checked again with stderr captured to record its complaint."""
    result = CheckResult()
    for item in items:
        try:
            result.verdicts[item] = check_one(item, script, workdir)
        except subprocess.CalledProcessError as err:
            result.failed[item] = err.returncode
            result.complaints[item] = diagnose(item, script, workdir)[1]
    return result


def statuses(items: list[str], script: str) -> list[int]:
    """The checker's exit status for every input, in order."""
    return [exit_status(item, script) for item in items]


def require_all(items: list[str], script: str) -> None:
    """Raise CalledProcessError at the first input the checker rejects."""
    for item in items:
        subprocess.check_call(command_for(item, script), stdout=subprocess.DEVNULL, timeout=CHECK_TIMEOUT)
