"""Notifiers deliver one message each; `dispatch` sends a message through all of them."""

from __future__ import annotations

import abc
from dataclasses import dataclass

import requests


@dataclass
class Delivery:
    """What one notifier did with the message."""

    notifier: str
    accepted: bool


class Notifier(abc.ABC):
    """Something that delivers a text message somewhere."""

    label = "notifier"

    @abc.abstractmethod
    def send(self, message: str) -> bool:
        """Deliver `message`; whether the other side accepted it."""


class WebhookNotifier(Notifier):
    """Posts the message as JSON to a webhook URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.label = f"webhook:{url}"

    def send(self, message: str) -> bool:
        response = requests.post(self.url, json={"text": message}, timeout=10)
        response.raise_for_status()
        return bool(response.json().get("ok", False))


class ChatNotifier(Notifier):
    """Posts the message to a chat channel with a bearer token."""

    def __init__(self, base_url: str, channel: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.channel = channel
        self.token = token
        self.label = f"chat:{channel}"

    def send(self, message: str) -> bool:
        response = requests.post(
            f"{self.base_url}/channels/{self.channel}/messages",
            json={"body": message},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        return response.status_code == 201


class MemoryNotifier(Notifier):
    """Keeps the messages in a list (for tests and dry runs)."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.label = "memory"

    def send(self, message: str) -> bool:
        self.sent.append(message)
        return True


def dispatch(notifiers: list[Notifier], message: str) -> list[Delivery]:
    """Send `message` through every notifier, in order; one delivery each."""
    deliveries: list[Delivery] = []
    for notifier in notifiers:
        accepted = notifier.send(message)
        deliveries.append(Delivery(notifier.label, accepted))
    return deliveries
