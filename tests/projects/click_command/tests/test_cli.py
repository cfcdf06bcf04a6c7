from __future__ import annotations

import json

from click.testing import CliRunner

from stockcheck.cli import StockError, check, fetch_stock


def test_prints_each_product_in_order(api: str) -> None:
    result = CliRunner().invoke(check, ["C-3", "A-1", "B-2", "--api", api])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "C-3: 40 at north",
        "A-1: 12 at north",
        "B-2: 3 at south (low)",
    ]
    assert "1 product(s) low on stock" in result.stderr


def test_json_output(api: str) -> None:
    result = CliRunner().invoke(check, ["A-1", "B-2", "--api", api, "--as-json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "A-1": {"available": 12, "location": "north"},
        "B-2": {"available": 3, "location": "south"},
    }


def test_unknown_product_fails(api: str) -> None:
    result = CliRunner().invoke(check, ["A-1", "Z-9", "--api", api])
    assert result.exit_code == 1
    assert isinstance(result.exception, StockError)


def test_codes_are_required() -> None:
    result = CliRunner().invoke(check, [])
    assert result.exit_code == 2


def test_fetch_stock(api: str) -> None:
    stock = fetch_stock(api, "B-2")
    assert (stock.code, stock.available, stock.low) == ("B-2", 3, True)
