"""The `stockcheck` command: ask the warehouse API for each product's stock."""

from __future__ import annotations

import json
from dataclasses import dataclass

import click
import requests

DEFAULT_API = "https://warehouse.example.com/api"


@dataclass
class Stock:
    code: str
    available: int
    location: str

    @property
    def low(self) -> bool:
        return self.available < 5


class StockError(Exception):
    """The warehouse API did not answer for a product."""


def fetch_stock(api: str, code: str, timeout: float = 10.0) -> Stock:
    """One product's stock, from `GET {api}/stock/{code}`."""
    response = requests.get(f"{api}/stock/{code}", timeout=timeout)
    if response.status_code == 404:
        raise StockError(f"unknown product {code}")
    response.raise_for_status()
    body = response.json()
    return Stock(code=code, available=int(body["available"]), location=str(body["location"]))


def render(stock: Stock) -> str:
    flag = " (low)" if stock.low else ""
    return f"{stock.code}: {stock.available} at {stock.location}{flag}"


@click.command()
@click.argument("codes", nargs=-1, required=True)
@click.option("--api", default=DEFAULT_API, show_default=True, help="Warehouse API base URL.")
@click.option("--as-json", is_flag=True, help="Print one JSON object instead of lines.")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds per request.")
def check(codes: tuple[str, ...], api: str, as_json: bool, timeout: float) -> None:
    """Print the stock of each product CODE."""
    results = []
    for code in codes:
        stock = fetch_stock(api, code, timeout)
        results.append(stock)
    if as_json:
        payload = {s.code: {"available": s.available, "location": s.location} for s in results}
        click.echo(json.dumps(payload, sort_keys=True))
        return
    for stock in results:
        click.echo(render(stock))
    low = sum(1 for s in results if s.low)
    if low:
        click.echo(f"{low} product(s) low on stock", err=True)


if __name__ == "__main__":
    check()
