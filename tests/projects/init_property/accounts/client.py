"""A client that signs in when it is made, and reads one account's figures."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import requests


@dataclass
class Summary:
    """What `summarise_all` reports for one account."""

    account: str
    owner: str
    balance: int
    payments: int


class AccountClient:
    """A signed-in session on one account."""

    def __init__(self, base_url: str, account: str, secret: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.account = account
        response = requests.post(
            f"{self.base_url}/auth/token", json={"account": account, "secret": secret}, timeout=10
        )
        response.raise_for_status()
        self.token: str = response.json()["token"]
        self.profile_reads = 0

    @property
    def label(self) -> str:
        """How the account is shown (no I/O)."""
        return f"{self.account}@{self.base_url}"

    @property
    def balance(self) -> int:
        """The balance now: asked of the server on every read."""
        response = requests.get(self._url("balance"), headers=self._headers(), timeout=10)
        response.raise_for_status()
        return int(response.json()["balance"])

    @cached_property
    def owner(self) -> str:
        """The owner's name: asked once per client, then remembered."""
        self.profile_reads += 1
        response = requests.get(self._url("profile"), headers=self._headers(), timeout=10)
        response.raise_for_status()
        return str(response.json()["owner"])

    def payments(self) -> list[dict[str, Any]]:
        """The account's recent payments."""
        response = requests.get(self._url("payments"), headers=self._headers(), timeout=10)
        response.raise_for_status()
        return list(response.json()["payments"])

    def _url(self, what: str) -> str:
        return f"{self.base_url}/accounts/{self.account}/{what}"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def summarise_all(base_url: str, secrets: dict[str, str]) -> list[Summary]:
    """Sign in to every account and summarise it, in the order given."""
    summaries: list[Summary] = []
    for account, secret in secrets.items():
        client = AccountClient(base_url, account, secret)
        owner = client.owner
        summary = Summary(f"{client.owner} ({client.label})", owner, client.balance, len(client.payments()))
        summaries.append(summary)
    return summaries
