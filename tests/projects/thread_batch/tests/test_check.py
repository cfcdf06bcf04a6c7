from __future__ import annotations

import asyncio
import json
import urllib.error
from pathlib import Path
from typing import Any

import pytest

from pagecheck import Page, check_all, check_manifest, load_manifest

from .conftest import PAGES


def write_snapshots(tmp_path: Path, server: str, changed: set[int]) -> list[Page]:
    pages = []
    for i in range(len(PAGES)):
        snapshot = tmp_path / f"page{i}.html"
        body = PAGES[f"/page/{i}"]
        snapshot.write_bytes(b"old" if i in changed else body)
        pages.append(Page(name=f"p{i}", url=f"{server}/page/{i}", snapshot=snapshot))
    return pages


def test_check_all_keeps_order_and_finds_changes(tmp_path: Path, server: str) -> None:
    pages = write_snapshots(tmp_path, server, changed={1, 4})
    summary = check_all(pages)
    assert [c.name for c in summary.checks] == [p.name for p in pages]
    assert summary.changed == ["p1", "p4"]
    assert summary.total_bytes == sum(len(b) for b in PAGES.values())


def test_check_all_of_nothing(server: str) -> None:
    assert check_all([]).checks == []


def test_a_missing_page_fails_the_check(tmp_path: Path, server: str) -> None:
    pages = write_snapshots(tmp_path, server, changed=set())
    pages.append(Page(name="gone", url=f"{server}/missing", snapshot=pages[0].snapshot))
    with pytest.raises(urllib.error.HTTPError):
        check_all(pages)


def test_a_missing_snapshot_fails_the_check(tmp_path: Path, server: str) -> None:
    pages = [Page(name="x", url=f"{server}/page/0", snapshot=tmp_path / "absent.html")]
    with pytest.raises(FileNotFoundError):
        check_all(pages)


def test_check_manifest(tmp_path: Path, server: str) -> None:
    pages = write_snapshots(tmp_path, server, changed={0})
    manifest = tmp_path / "manifest.json"
    entries = [{"name": p.name, "url": p.url, "snapshot": p.snapshot.name} for p in pages]
    manifest.write_text(json.dumps(entries), encoding="utf-8")
    assert load_manifest(manifest) == pages
    summary = check_manifest(manifest)
    assert summary.changed == ["p0"]
    assert len(summary.checks) == len(PAGES)


def test_check_all_called_from_async_code(tmp_path: Path, server: str) -> None:
    # A notebook cell or an async handler calling the sync API: it blocks and returns.
    pages = write_snapshots(tmp_path, server, changed={2})

    async def cell() -> list[str]:
        return check_all(pages).changed

    assert asyncio.run(cell()) == ["p2"]


def test_check_all_called_where_an_event_loop_already_runs(tmp_path: Path, server: str) -> None:
    # A notebook cell runs inside the notebook's event loop; its code is not part of
    # this repository, so it reaches the sync API as it is.
    pages = write_snapshots(tmp_path, server, changed={3})
    scope: dict[str, Any] = {"check_all": check_all}
    exec("async def cell(pages):\n    return check_all(pages).changed\n", scope)
    assert asyncio.run(scope["cell"](pages)) == ["p3"]
