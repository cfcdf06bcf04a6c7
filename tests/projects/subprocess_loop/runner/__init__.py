"""Run a checker command over many inputs and collect what it prints."""

from runner.checks import CheckResult, check_all, check_one, command_for

__all__ = ["CheckResult", "check_all", "check_one", "command_for"]
