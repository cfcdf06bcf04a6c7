"""Fetch prices over HTTP and keep them in a sqlite database."""

from pricecache.store import PriceStore, fetch_price, refresh

__all__ = ["PriceStore", "fetch_price", "refresh"]
