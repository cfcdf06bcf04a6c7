from __future__ import annotations

from pathlib import Path

import pytest

from pricecache import PriceStore, refresh

from .conftest import PRICES


def test_refresh_fetches_and_stores_every_price(tmp_path: Path, server: str) -> None:
    db = str(tmp_path / "prices.db")
    prices = refresh(server, list(PRICES), db)
    assert prices == PRICES and list(prices) == list(PRICES)
    store = PriceStore(db)
    try:
        assert {sku: store.price(sku) for sku in PRICES} == PRICES
    finally:
        store.close()


def test_refresh_of_an_unknown_sku_fails(tmp_path: Path, server: str) -> None:
    with pytest.raises(Exception, match="404"):
        refresh(server, ["sku0", "nope"], str(tmp_path / "prices.db"))
