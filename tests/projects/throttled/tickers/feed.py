"""Quotes from a market data API that allows one request every INTERVAL seconds."""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests

# The API's rate limit: requests must start at least this far apart.
INTERVAL = 0.05
TIMEOUT = 10.0


class FeedError(RuntimeError):
    """The feed answered with an error."""


@dataclass(frozen=True)
class Quote:
    symbol: str
    price: float
    currency: str


def fetch_quote(base_url: str, symbol: str) -> Quote:
    """The latest quote of one symbol."""
    response = requests.get(f"{base_url}/quotes/{symbol}", timeout=TIMEOUT)
    if response.status_code != 200:
        raise FeedError(f"{symbol}: HTTP {response.status_code}")
    body = response.json()
    return Quote(symbol=symbol, price=float(body["price"]), currency=str(body["currency"]))


def fetch_quotes(base_url: str, symbols: list[str]) -> list[Quote]:
    """The quotes of every symbol, in the order given, within the rate limit."""
    quotes: list[Quote] = []
    for symbol in symbols:
        quote = fetch_quote(base_url, symbol)
        quotes.append(quote)
        time.sleep(INTERVAL)
    return quotes
