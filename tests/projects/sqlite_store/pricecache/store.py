"""Each price is fetched, then saved through one sqlite connection."""

from __future__ import annotations

import sqlite3

import requests

TIMEOUT = 10.0


class PriceStore:
    """Prices by SKU in a sqlite file; the connection is made by the constructor."""

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path)
        self.conn.execute("CREATE TABLE IF NOT EXISTS prices (sku TEXT PRIMARY KEY, price REAL)")

    def save(self, sku: str, price: float) -> None:
        self.conn.execute("INSERT OR REPLACE INTO prices VALUES (?, ?)", (sku, price))
        self.conn.commit()

    def price(self, sku: str) -> float | None:
        row = self.conn.execute("SELECT price FROM prices WHERE sku = ?", (sku,)).fetchone()
        return None if row is None else float(row[0])

    def close(self) -> None:
        self.conn.close()


def fetch_price(base_url: str, sku: str) -> float:
    """The current price of one SKU."""
    response = requests.get(f"{base_url}/price/{sku}", timeout=TIMEOUT)
    response.raise_for_status()
    return float(response.json()["price"])


def refresh(base_url: str, skus: list[str], db_path: str) -> dict[str, float]:
    """Fetch every SKU's price and store it; the prices by SKU, in input order."""
    store = PriceStore(db_path)
    try:
        prices: dict[str, float] = {}
        for sku in skus:
            price = fetch_price(base_url, sku)
            store.save(sku, price)
            prices[sku] = price
        return prices
    finally:
        store.close()
