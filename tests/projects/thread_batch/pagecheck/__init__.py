"""Compare stored snapshots of web pages with what their servers serve now."""

from pagecheck.check import Check, Page, Summary, check_all, check_manifest, load_manifest

__all__ = ["Check", "Page", "Summary", "check_all", "check_manifest", "load_manifest"]
