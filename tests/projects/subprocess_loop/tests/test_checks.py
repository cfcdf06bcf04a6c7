from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from runner import checks

UPPER = "import sys; print(sys.argv[1].upper())"
PICKY = "import sys; word = sys.argv[1]; print(word); sys.exit(3 if word.startswith('x') else 0)"
WHERE = "import os; print(os.getcwd(), os.environ['CHECK_ITEM'])"


def test_check_one_returns_first_line() -> None:
    assert checks.check_one("abc", UPPER) == "ABC"


def test_check_one_raises_with_the_fields_of_the_failure() -> None:
    with pytest.raises(subprocess.CalledProcessError) as info:
        checks.check_one("xyz", PICKY)
    assert info.value.returncode == 3
    assert info.value.output == "xyz\n"
    assert info.value.stderr is None


def test_check_one_runs_in_workdir_with_env(tmp_path: Path) -> None:
    assert checks.check_one("it", WHERE, tmp_path) == f"{tmp_path} it"


def test_check_one_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "CHECK_TIMEOUT", 0.2)
    with pytest.raises(subprocess.TimeoutExpired):
        checks.check_one("slow", "import time; time.sleep(5)")


def test_check_all_keeps_order_and_failures() -> None:
    result = checks.check_all(["a", "xb", "c"], PICKY)
    assert list(result.verdicts) == ["a", "c"]
    assert result.verdicts == {"a": "a", "c": "c"}
    assert result.failed == {"xb": 3}


def test_statuses() -> None:
    assert checks.statuses(["a", "xb"], PICKY) == [0, 3]


def test_require_all_raises_on_first_rejection() -> None:
    checks.require_all(["a", "b"], PICKY)
    with pytest.raises(subprocess.CalledProcessError) as info:
        checks.require_all(["a", "xb"], PICKY)
    assert info.value.returncode == 3
    assert info.value.output is None


def test_check_all_records_the_complaints_of_rejected_inputs() -> None:
    noisy = "import sys; print(sys.argv[1]); print('no ' + sys.argv[1], file=sys.stderr); sys.exit(len(sys.argv[1]) - 1)"
    result = checks.check_all(["a", "bc", "d"], noisy)
    assert result.verdicts == {"a": "a", "d": "d"}
    assert result.failed == {"bc": 1}
    assert result.complaints == {"bc": "no bc"}


def test_diagnose_keeps_output_errors_and_status(tmp_path: Path) -> None:
    here = "import os, sys; print(os.getcwd()); print(sys.argv[1], file=sys.stderr); sys.exit(4)"
    assert checks.diagnose("x", here, tmp_path) == (str(tmp_path), "x", 4)
    assert checks.diagnose("ab", PICKY) == ("ab", "", 0)
    assert checks.diagnose("xy", PICKY) == ("xy", "", 3)


def test_diagnose_times_out_without_killing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "CHECK_TIMEOUT", 0.2)
    with pytest.raises(subprocess.TimeoutExpired):
        checks.diagnose("slow", "import time; time.sleep(1)")
