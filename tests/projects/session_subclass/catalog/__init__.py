"""Read items from a catalogue service through an authenticated session."""

from catalog.client import CatalogSession, Item, fetch_items

__all__ = ["CatalogSession", "Item", "fetch_items"]
