from __future__ import annotations

import pytest
import requests

from accounts.client import AccountClient, Summary, summarise_all


def test_summarise_all_in_order(api, url) -> None:  # type: ignore[no-untyped-def]
    summaries = summarise_all(url, {"bob": "b-pass", "alice": "a-pass"})
    assert summaries == [
        Summary("Bob (bob@" + url + ")", "Bob", 300, 3),
        Summary("Alice (alice@" + url + ")", "Alice", 500, 5),
    ]
    # The owner is asked once per client although it is read twice.
    assert api.hits.count("/accounts/bob/profile") == 1
    assert api.hits.count("/accounts/alice/profile") == 1


def test_client_signs_in_when_made(api, url) -> None:  # type: ignore[no-untyped-def]
    client = AccountClient(url, "alice", "a-pass")
    assert client.token == "tok-alice"
    assert api.hits == ["/auth/token"]


def test_properties(api, url) -> None:  # type: ignore[no-untyped-def]
    client = AccountClient(url, "bob", "b-pass")
    assert client.balance == 300
    assert client.balance == 300
    assert client.owner == "Bob"
    assert client.owner == "Bob"
    assert client.profile_reads == 1
    assert client.label == f"bob@{url}"
    assert len(client.payments()) == 3
    assert api.hits.count("/accounts/bob/balance") == 2


def test_a_wrong_secret_fails_construction(api, url) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(requests.HTTPError):
        AccountClient(url, "bob", "nope")
