from __future__ import annotations

import pytest

from ratecard.pricing import PricingError, Shipment, exchange_rate, quote_all

from .conftest import Carrier


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    exchange_rate.cache_clear()


def test_quotes_in_order(carrier: Carrier) -> None:
    shipments = [
        Shipment("FR", "DE", 10.0, "USD"),
        Shipment("DE", "DE", 1.5, "EUR"),
        Shipment("IT", "UK", 2.0, "GBP"),
    ]
    quotes = quote_all(shipments, carrier.url)
    assert [q.shipment for q in quotes] == shipments
    assert [q.price for q in quotes] == [45.0, 3.0, 4.8]


def test_a_second_batch_hits_the_cache(carrier: Carrier) -> None:
    shipments = [Shipment("FR", "DE", 1.0, "USD"), Shipment("FR", "IT", 1.0, "GBP")]
    first = quote_all(shipments, carrier.url)
    misses = exchange_rate.cache_info().misses
    second = quote_all(shipments, carrier.url)
    assert first == second
    info = exchange_rate.cache_info()
    assert (misses, info.misses, info.hits) == (2, 2, 2)
    rate_requests = [p for p in carrier.paths if p.startswith("/rates/")]
    assert sorted(rate_requests) == ["/rates/GBP", "/rates/USD"]


def test_cached_rate_is_a_number(carrier: Carrier) -> None:
    assert exchange_rate(carrier.url, "USD") == 1.5
    assert exchange_rate(carrier.url, "USD") == 1.5
    assert exchange_rate.cache_info().hits == 1


def test_unknown_route_fails(carrier: Carrier) -> None:
    with pytest.raises(PricingError):
        quote_all([Shipment("FR", "nowhere", 1.0, "EUR")], carrier.url)


def test_each_rate_is_fetched_once_per_batch(carrier: Carrier) -> None:
    shipments = [Shipment("FR", f"D{i}", 1.0, ["USD", "GBP"][i % 2]) for i in range(8)]
    quotes = quote_all(shipments, carrier.url)
    assert [q.price for q in quotes] == [4.5, 2.4] * 4
    rate_requests = [p for p in carrier.paths if p.startswith("/rates/")]
    assert sorted(rate_requests) == ["/rates/GBP", "/rates/USD"]
    assert exchange_rate.cache_info().hits == 6
