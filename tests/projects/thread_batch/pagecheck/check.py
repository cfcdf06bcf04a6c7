"""Check every page of a manifest: read its stored snapshot, fetch the page and
compare the two. Everything blocks: files through pathlib, pages through urllib."""

from __future__ import annotations

import hashlib
import json
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

#: Seconds a page may take to answer.
TIMEOUT = 10.0


@dataclass(frozen=True)
class Page:
    """A page to watch: where it lives and where its last snapshot is stored."""

    name: str
    url: str
    snapshot: Path


@dataclass(frozen=True)
class Check:
    """What one page's check found."""

    name: str
    changed: bool
    size: int


@dataclass
class Summary:
    """Every page's check, in manifest order."""

    checks: list[Check] = field(default_factory=list)

    @property
    def changed(self) -> list[str]:
        return [c.name for c in self.checks if c.changed]

    @property
    def total_bytes(self) -> int:
        return sum(c.size for c in self.checks)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_manifest(path: Path) -> list[Page]:
    """Pages listed in a JSON manifest; snapshot paths are relative to it."""
    entries = json.loads(path.read_text(encoding="utf-8"))
    return [
        Page(name=str(e["name"]), url=str(e["url"]), snapshot=path.parent / str(e["snapshot"]))
        for e in entries
    ]


def fetch_body(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
        body: bytes = response.read()
    return body


def check_page(page: Page) -> Check:
    """Compare a page's stored snapshot with the page as served now."""
    stored = page.snapshot.read_bytes()
    served = fetch_body(page.url)
    return Check(name=page.name, changed=digest(stored) != digest(served), size=len(served))


def check_all(pages: list[Page]) -> Summary:
    """Check every page, keeping the manifest's order."""
    checks = []
    for page in pages:
        checks.append(check_page(page))
    return Summary(checks)


def check_manifest(path: Path) -> Summary:
    return check_all(load_manifest(path))
