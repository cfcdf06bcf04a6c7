from __future__ import annotations

from linkcheck import broken_links, check_links, fetch_status

from .conftest import PAGES


def test_fetch_status(server: str) -> None:
    status = fetch_status(f"{server}/link/2")
    assert (status.status, status.size) == (200, 3)


def test_check_links_keeps_order(server: str) -> None:
    urls = [f"{server}{path}" for path in PAGES]
    statuses = check_links(urls)
    assert [s.url for s in statuses] == urls
    assert [s.size for s in statuses] == [len(body) for body in PAGES.values()]


def test_broken_links(server: str) -> None:
    urls = [f"{server}/link/0", f"{server}/gone", f"{server}/link/5", f"{server}/missing"]
    assert broken_links(urls) == [f"{server}/gone", f"{server}/missing"]


def test_no_links(server: str) -> None:
    assert check_links([]) == []
