"""Profiles of users, read from a directory service's REST API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

TIMEOUT = 10.0


class DirectoryError(RuntimeError):
    """The directory answered with an error."""


@dataclass(frozen=True)
class Profile:
    login: str
    name: str
    teams: list[str]
    keys: list[str]


class DirectoryClient:
    """A client of one directory service, sharing one connection pool."""

    def __init__(self, base_url: str, timeout: float = TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()

    def __enter__(self) -> DirectoryClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    def _get(self, path: str) -> Any:
        response = self._session.get(f"{self.base_url}{path}", timeout=self.timeout)
        if response.status_code != 200:
            raise DirectoryError(f"GET {path}: HTTP {response.status_code}")
        return response.json()

    def get_user(self, login: str) -> dict[str, Any]:
        user: dict[str, Any] = self._get(f"/users/{login}")
        return user

    def get_teams(self, login: str) -> list[str]:
        return [str(team["slug"]) for team in self._get(f"/users/{login}/teams")]

    def get_keys(self, login: str) -> list[str]:
        return [str(key["fingerprint"]) for key in self._get(f"/users/{login}/keys")]


def fetch_profile(client: DirectoryClient, login: str) -> Profile:
    """One user's profile: their record, teams and keys."""
    user = client.get_user(login)
    teams = client.get_teams(login)
    keys = client.get_keys(login)
    return Profile(login=login, name=str(user["name"]), teams=sorted(teams), keys=keys)


def fetch_profiles(base_url: str, logins: list[str]) -> dict[str, Profile]:
    """Every listed user's profile, by login, in the order given."""
    profiles: dict[str, Profile] = {}
    with DirectoryClient(base_url) as client:
        for login in logins:
            profile = fetch_profile(client, login)
            profiles[login] = profile
    return profiles
