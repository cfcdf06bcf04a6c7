"""Quote shipments: a tariff per route from the carrier API, converted with the
day's exchange rate, which is fetched once per currency and cached."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import requests

API = "https://carrier.example.com"
TIMEOUT = 10.0


@dataclass(frozen=True)
class Shipment:
    origin: str
    destination: str
    kilograms: float
    currency: str


@dataclass(frozen=True)
class Quote:
    shipment: Shipment
    price: float


class PricingError(Exception):
    """The carrier API refused a request."""


@functools.lru_cache(maxsize=64)
def exchange_rate(api: str, currency: str) -> float:
    """EUR → `currency`, fetched once per API and currency."""
    response = requests.get(f"{api}/rates/{currency}", timeout=TIMEOUT)
    if response.status_code != 200:
        raise PricingError(f"no rate for {currency}")
    return float(response.json()["rate"])


def tariff(api: str, origin: str, destination: str) -> float:
    """The route's price per kilogram, in EUR."""
    response = requests.get(f"{api}/tariffs/{origin}/{destination}", timeout=TIMEOUT)
    if response.status_code != 200:
        raise PricingError(f"no tariff from {origin} to {destination}")
    return float(response.json()["per_kg"])


def quote(api: str, shipment: Shipment) -> Quote:
    """One shipment's price in its currency."""
    per_kg = tariff(api, shipment.origin, shipment.destination)
    rate = exchange_rate(api, shipment.currency)
    return Quote(shipment, round(per_kg * shipment.kilograms * rate, 2))


def quote_all(shipments: list[Shipment], api: str = API) -> list[Quote]:
    """Every shipment's quote, in the order given."""
    quotes = []
    for shipment in shipments:
        quotes.append(quote(api, shipment))
    return quotes
