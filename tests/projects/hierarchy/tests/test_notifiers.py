from __future__ import annotations

from notify.notifiers import ChatNotifier, MemoryNotifier, Notifier, WebhookNotifier, dispatch


def test_dispatch_sends_through_every_notifier(server, url) -> None:  # type: ignore[no-untyped-def]
    memory = MemoryNotifier()
    notifiers: list[Notifier] = [
        WebhookNotifier(f"{url}/hooks/a"),
        ChatNotifier(url, "ops", "s3cret"),
        memory,
        ChatNotifier(url, "dev", "wrong"),
    ]
    deliveries = dispatch(notifiers, "deploy done")
    assert [d.notifier for d in deliveries] == ["webhook:" + f"{url}/hooks/a", "chat:ops", "memory", "chat:dev"]
    assert [d.accepted for d in deliveries] == [True, True, True, False]
    assert memory.sent == ["deploy done"]
    assert sorted(path for path, _ in server.posts) == ["/channels/dev/messages", "/channels/ops/messages", "/hooks/a"]


def test_each_notifier_sends_on_its_own(server, url) -> None:  # type: ignore[no-untyped-def]
    assert WebhookNotifier(f"{url}/hooks/b").send("hi") is True
    assert ChatNotifier(url, "ops", "s3cret").send("hi") is True
    memory = MemoryNotifier()
    assert memory.send("hi") is True
    assert memory.sent == ["hi"]
    assert server.posts[0] == ("/hooks/b", {"text": "hi"})


def test_dispatch_of_nothing() -> None:
    assert dispatch([], "x") == []
