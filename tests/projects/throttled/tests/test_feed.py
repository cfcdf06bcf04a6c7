from __future__ import annotations

import pytest

from tests.conftest import FeedServer
from tickers.feed import INTERVAL, FeedError, Quote, fetch_quotes

SYMBOLS = ["ACME", "BOLT", "CORE", "DYN", "EPIC", "FLUX", "GRID", "HALO"]


def test_quotes_come_in_the_order_given(server: FeedServer) -> None:
    quotes = fetch_quotes(server.url, ["BOLT", "AB"])
    assert quotes == [Quote("BOLT", 42.0, "EUR"), Quote("AB", 21.0, "EUR")]


def test_every_symbol_is_asked_once(server: FeedServer) -> None:
    fetch_quotes(server.url, SYMBOLS)
    assert sorted(path for _, path in server.arrivals) == sorted(f"/quotes/{s}" for s in SYMBOLS)


def test_requests_arrive_at_least_the_interval_apart(server: FeedServer) -> None:
    fetch_quotes(server.url, SYMBOLS)
    times = sorted(at for at, _ in server.arrivals)
    assert len(times) == len(SYMBOLS)
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    # Half the interval: a loaded machine delays arrivals, never brings them closer
    # than the client sent them, but the clock of the server thread may lag a little.
    assert min(gaps) >= 0.5 * INTERVAL, gaps


def test_an_unknown_symbol_is_an_error(server: FeedServer) -> None:
    with pytest.raises(FeedError):
        fetch_quotes(server.url, ["ACME", "NOPE"])
