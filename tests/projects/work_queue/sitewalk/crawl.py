"""Walk a documentation site breadth-first, following the links of each page."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import requests

TIMEOUT = 10.0


class CrawlError(RuntimeError):
    """The site answered with an error."""


@dataclass(frozen=True)
class Page:
    path: str
    title: str
    links: list[str]


def fetch_page(base_url: str, path: str) -> Page:
    """One page of the site, with the paths it links to."""
    response = requests.get(f"{base_url}{path}", timeout=TIMEOUT)
    if response.status_code != 200:
        raise CrawlError(f"GET {path}: HTTP {response.status_code}")
    body = response.json()
    return Page(path=path, title=str(body["title"]), links=[str(link) for link in body["links"]])


def crawl(base_url: str, start: str, max_pages: int) -> list[Page]:
    """The pages reachable from `start`, nearest first, at most `max_pages` of them."""
    queue = deque([start])
    seen = {start}
    pages: list[Page] = []
    while queue:
        path = queue.popleft()
        page = fetch_page(base_url, path)
        pages.append(page)
        if len(pages) >= max_pages:
            break
        for link in page.links:
            if link not in seen:
                seen.add(link)
                queue.append(link)
    return pages
