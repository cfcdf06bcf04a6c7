"""A session bound to one service (its root URL and token) and the batch reads made with it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

# Seconds a single request may take.
TIMEOUT = 10.0


class CatalogSession(requests.Session):
    """Every request goes to the service's root with its bearer token."""

    def __init__(self, root: str, token: str) -> None:
        super().__init__()
        self.root = root.rstrip("/")
        self.headers["Authorization"] = f"Bearer {token}"
        self.headers["Accept"] = "application/json"

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        path = url.decode() if isinstance(url, bytes) else url
        return super().request(method, self.root + path, *args, **kwargs)


@dataclass(frozen=True)
class Item:
    id: int
    name: str
    price: float

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Item:
        return cls(int(data["id"]), str(data["name"]), float(data["price"]))


def fetch_items(root: str, token: str, ids: list[int]) -> list[Item]:
    """The items with these ids, in order; an HTTP error for a missing one."""
    items: list[Item] = []
    with CatalogSession(root, token) as session:
        for item_id in ids:
            response = session.get(f"/items/{item_id}", params={"fields": "all"}, timeout=TIMEOUT)
            response.raise_for_status()
            items.append(Item.from_json(response.json()))
    return items
