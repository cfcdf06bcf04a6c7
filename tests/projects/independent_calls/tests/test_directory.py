from __future__ import annotations

from http.server import ThreadingHTTPServer

import pytest

from profiles.directory import DirectoryError, Profile, fetch_profiles


def test_profiles_come_in_the_order_given(base_url: str) -> None:
    profiles = fetch_profiles(base_url, ["bob", "ann"])
    assert list(profiles) == ["bob", "ann"]
    assert profiles["ann"] == Profile(
        login="ann", name="Ann", teams=["ann-a", "ann-b"], keys=["SHA256:ann"]
    )


def test_each_profile_reads_user_teams_and_keys(base_url: str, server: ThreadingHTTPServer) -> None:
    fetch_profiles(base_url, ["cy"])
    assert sorted(server.paths) == ["/users/cy", "/users/cy/keys", "/users/cy/teams"]  # type: ignore[attr-defined]


def test_a_missing_user_is_an_error(base_url: str) -> None:
    with pytest.raises(DirectoryError):
        fetch_profiles(base_url, ["ann", "ghost"])
