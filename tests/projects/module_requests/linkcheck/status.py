"""Each link is fetched with a module-level `requests.get`, one after another."""

from __future__ import annotations

from dataclasses import dataclass

import requests

# Seconds one request may take.
TIMEOUT = 10.0


@dataclass
class LinkStatus:
    url: str
    status: int
    size: int


def fetch_status(url: str) -> LinkStatus:
    """The status of one link and the size of what it served."""
    response = requests.get(url, timeout=TIMEOUT)
    return LinkStatus(url=url, status=response.status_code, size=len(response.content))


def check_links(urls: list[str]) -> list[LinkStatus]:
    """The status of every link, in the order given."""
    statuses = []
    for url in urls:
        statuses.append(fetch_status(url))
    return statuses


def broken_links(urls: list[str]) -> list[str]:
    """The links that answer with an error status."""
    return [s.url for s in check_links(urls) if s.status >= 400]
