from __future__ import annotations

import pytest

from sitewalk.crawl import CrawlError, Page, crawl
from tests.conftest import SIZE, SiteServer, expected_walk


@pytest.mark.parametrize("max_pages", [1, 2, 5, 13, 14, 22, SIZE, SIZE + 10])
def test_the_walk_visits_the_same_pages_in_the_same_order(server: SiteServer, max_pages: int) -> None:
    pages = crawl(server.url, "/doc/0", max_pages)
    assert [p.path for p in pages] == expected_walk(max_pages)


@pytest.mark.parametrize("max_pages", [1, 4, 13, 20, SIZE])
def test_no_page_is_asked_twice_nor_beyond_the_limit(server: SiteServer, max_pages: int) -> None:
    pages = crawl(server.url, "/doc/0", max_pages)
    assert len(server.paths) == len(set(server.paths)) == len(pages) <= max_pages
    assert sorted(server.paths) == sorted(p.path for p in pages)


def test_a_page_has_its_title_and_links(server: SiteServer) -> None:
    [page] = crawl(server.url, "/doc/9", 1)
    assert page == Page(path="/doc/9", title="Doc 9", links=["/doc/28", "/doc/29", "/doc/0", "/doc/9"])


def test_a_broken_link_is_an_error(server: SiteServer) -> None:
    with pytest.raises(CrawlError):
        crawl(server.url, "/missing", 3)
