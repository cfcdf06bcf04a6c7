"""Report the status of many links, one request each."""

from linkcheck.status import LinkStatus, broken_links, check_links, fetch_status

__all__ = ["LinkStatus", "broken_links", "check_links", "fetch_status"]
