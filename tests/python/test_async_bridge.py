"""Tests for src/draft/async_bridge.py, the runtime refactor-async adds to a package.

The module is loaded from its source path; `bridge` runs each async test once with
USE_TASK_GROUP False (tasks + gather) and once True (asyncio.TaskGroup), the value
the tool writes for packages that require Python >= 3.11.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import importlib.util
import inspect
import os
import pathlib
import random
import signal
import subprocess
import sys
import threading
import time
import warnings
from types import ModuleType
from typing import Any, AsyncIterator, Callable, List, Set

import pytest

SOURCE = pathlib.Path(__file__).resolve().parents[2] / "src" / "draft" / "async_bridge.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_async_bridge", SOURCE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MODULE = load()
TIMEOUT = 5  # a deadlock fails the test instead of hanging the suite


@pytest.fixture(autouse=True)
def no_asyncio_complaints(caplog: pytest.LogCaptureFixture) -> Any:
    """Tasks destroyed while pending or failures nobody retrieved get logged, not raised."""
    yield
    gc.collect()
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []


@pytest.fixture(params=[False, True], ids=["gather", "taskgroup"])
def bridge(request: Any, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setattr(MODULE, "USE_TASK_GROUP", request.param)
    return MODULE


def closed(coros: List[Any]) -> bool:
    return all(inspect.getcoroutinestate(c) == inspect.CORO_CLOSED for c in coros)


class Sleeper:
    """Coroutines that sleep until cancelled, then need a while to clean up."""

    def __init__(self) -> None:
        self.started: Set[int] = set()
        self.cancelled: Set[int] = set()
        self.cleaned: Set[int] = set()
        self.all_started = asyncio.Event()
        self.expect = 0

    async def sleep(self, i: int) -> None:
        self.started.add(i)
        if len(self.started) == self.expect:
            self.all_started.set()
        try:
            await asyncio.sleep(3)  # long enough to count as "until cancelled"
        except asyncio.CancelledError:
            self.cancelled.add(i)
            await asyncio.sleep(0.01)  # cleanup that must be awaited, not abandoned
            self.cleaned.add(i)
            raise


async def fail_after(delay: float, error: BaseException) -> None:
    await asyncio.sleep(delay)
    raise error


# gather_bounded


@pytest.mark.asyncio
async def test_gather_bounded_returns_results_in_input_order(bridge: ModuleType) -> None:
    rng = random.Random(7)
    delays = [rng.uniform(0, 0.02) for _ in range(30)]
    finish_order: List[int] = []

    async def work(i: int) -> int:
        await asyncio.sleep(delays[i])
        finish_order.append(i)
        return i * 10

    result = await asyncio.wait_for(bridge.gather_bounded((work(i) for i in range(30)), 6), TIMEOUT)
    assert result == [i * 10 for i in range(30)]
    assert finish_order != sorted(finish_order), "the delays should have reordered completion"


@pytest.mark.asyncio
async def test_gather_bounded_peak_concurrency_reaches_but_never_exceeds_limit(bridge: ModuleType) -> None:
    running = peak = 0

    async def work() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.005)
        running -= 1

    await asyncio.wait_for(bridge.gather_bounded([work() for _ in range(20)], 4), TIMEOUT)
    assert peak == 4


@pytest.mark.asyncio
async def test_gather_bounded_first_failure_by_time_wins_and_the_rest_are_cancelled(bridge: ModuleType) -> None:
    s = Sleeper()

    async def cleanup_fails() -> None:
        try:
            await asyncio.sleep(3)
        except asyncio.CancelledError:
            raise KeyError("failed while being cancelled, after the first failure") from None

    aws = [s.sleep(0), cleanup_fails(), s.sleep(2), fail_after(0.01, ValueError("first")), s.sleep(4)]
    with pytest.raises(ValueError, match="first") as info:
        await asyncio.wait_for(bridge.gather_bounded(aws, 5), TIMEOUT)
    assert type(info.value) is ValueError  # its own type, never an ExceptionGroup
    assert s.cancelled == s.cleaned == {0, 2, 4}
    assert closed(aws)


@pytest.mark.asyncio
async def test_gather_bounded_failure_leaves_no_unstarted_coroutine(bridge: ModuleType) -> None:
    s = Sleeper()
    aws = [fail_after(0.01, OSError("boom")), s.sleep(1), s.sleep(2), s.sleep(3)]
    with pytest.raises(OSError, match="boom"):
        await asyncio.wait_for(bridge.gather_bounded(aws, 2), TIMEOUT)
    assert s.started == s.cancelled == s.cleaned == {1}
    assert closed(aws), "items that never started would warn 'never awaited'"


@pytest.mark.asyncio
async def test_gather_bounded_caller_cancellation_cancels_and_awaits_children(bridge: ModuleType) -> None:
    s = Sleeper()
    s.expect = 3
    aws = [s.sleep(i) for i in range(6)]
    outer = asyncio.ensure_future(bridge.gather_bounded(aws, 3))
    await asyncio.wait_for(s.all_started.wait(), TIMEOUT)
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    assert s.started == s.cancelled == s.cleaned == {0, 1, 2}
    assert closed(aws)


@pytest.mark.asyncio
async def test_gather_bounded_rejects_a_limit_below_one_without_warnings(bridge: ModuleType) -> None:
    aws = [asyncio.sleep(0), asyncio.sleep(0)]
    with pytest.raises(ValueError, match="limit"):
        await asyncio.wait_for(bridge.gather_bounded(aws, 0), TIMEOUT)
    assert closed(aws)


@pytest.mark.asyncio
async def test_gather_bounded_of_nothing_is_an_empty_list(bridge: ModuleType) -> None:
    assert await bridge.gather_bounded([], 3) == []


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.TaskGroup is 3.11+")
def test_use_task_group_selects_asyncio_task_group(monkeypatch: pytest.MonkeyPatch) -> None:
    made: List[object] = []

    class Spy(asyncio.TaskGroup):
        def __init__(self) -> None:
            super().__init__()
            made.append(self)

    monkeypatch.setattr(asyncio, "TaskGroup", Spy)
    for flag in (False, True):
        monkeypatch.setattr(MODULE, "USE_TASK_GROUP", flag)
        assert asyncio.run(MODULE.gather_bounded([asyncio.sleep(0, result=1)], 2)) == [1]
        assert len(made) == int(flag)


# run_in_thread


@pytest.mark.asyncio
async def test_run_in_thread_returns_the_result_and_raises_the_error() -> None:
    assert await MODULE.run_in_thread(divmod, 7, 2) == (3, 1)
    assert await MODULE.run_in_thread(int, "ff", base=16) == 255
    with pytest.raises(ZeroDivisionError):
        await MODULE.run_in_thread(divmod, 1, 0)


@pytest.mark.asyncio
async def test_run_in_thread_uses_threads_of_its_own_as_many_as_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(MODULE, "THREADS", 12)
    monkeypatch.setattr(MODULE._owned, "_pool", None)
    barrier = threading.Barrier(12, timeout=TIMEOUT)
    names: Set[str] = set()

    def meet() -> None:
        # Only returns once 12 threads wait here at once: the default executor of a
        # small machine (cpus + 4) would never get there.
        names.add(threading.current_thread().name)
        barrier.wait()

    await asyncio.wait_for(asyncio.gather(*(MODULE.run_in_thread(meet) for _ in range(12))), TIMEOUT)
    assert len(names) == 12 and all(n.startswith("async_bridge") for n in names)
    executor = MODULE._owned._pool
    assert executor is not None and executor._max_workers == 12
    executor.shutdown(wait=True)


@pytest.mark.asyncio
async def test_run_in_thread_copies_context_variables() -> None:
    import contextvars

    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    var.set("caller's")
    assert await MODULE.run_in_thread(var.get) == "caller's"


def test_run_in_thread_from_its_own_thread_does_not_wait_for_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    # A thread of the pool runs blocking code that drives a coroutine of its own
    # (a sync wrapper), which runs blocking work in a thread again: with one thread
    # in the pool, that must not wait for the pool.
    monkeypatch.setattr(MODULE, "THREADS", 1)
    monkeypatch.setattr(MODULE._owned, "_pool", None)

    def inner() -> str:
        return threading.current_thread().name

    def outer() -> str:
        return str(MODULE.run_sync(MODULE.run_in_thread(inner), "outer_async"))

    async def main() -> str:
        return str(await asyncio.wait_for(MODULE.run_in_thread(outer), TIMEOUT))

    assert not asyncio.run(main()).startswith("async_bridge")
    MODULE._owned._pool.shutdown(wait=True)


# gather_until_failure


@pytest.mark.asyncio
async def test_gather_until_failure_returns_every_result_in_order(bridge: ModuleType) -> None:
    async def value(i: int) -> int:
        await asyncio.sleep(0.01 * (5 - i))
        return i

    results, error = await asyncio.wait_for(bridge.gather_until_failure([value(i) for i in range(5)], 2), TIMEOUT)
    assert (results, error) == ([0, 1, 2, 3, 4], None)


@pytest.mark.asyncio
async def test_gather_until_failure_keeps_what_came_before_the_first_failure_in_order(bridge: ModuleType) -> None:
    started: List[int] = []
    s = Sleeper()

    async def item(i: int) -> int:
        started.append(i)
        if i == 3:
            await asyncio.sleep(0.01)
            raise KeyError("three")  # the first failure, while 1 is still on its way
        if i == 1:
            await asyncio.sleep(0.05)
        if i >= 4:
            await s.sleep(i)
        return i

    results, error = await asyncio.wait_for(bridge.gather_until_failure([item(i) for i in range(8)], 5), TIMEOUT)
    assert results == [0, 1, 2] and isinstance(error, KeyError)
    # 0 and 2 freed their slots for 5 and 6; once 3 failed, 7 never started.
    assert sorted(started) == [0, 1, 2, 3, 4, 5, 6]
    assert s.cancelled == s.cleaned == {4, 5, 6}


@pytest.mark.asyncio
async def test_gather_until_failure_caller_cancellation_cancels_and_awaits_children(bridge: ModuleType) -> None:
    s = Sleeper()
    s.expect = 2
    outer = asyncio.ensure_future(bridge.gather_until_failure([s.sleep(i) for i in range(4)], 2))
    await asyncio.wait_for(s.all_started.wait(), TIMEOUT)
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    assert s.started == s.cancelled == s.cleaned == {0, 1}


# for_each_bounded


@pytest.mark.asyncio
async def test_for_each_bounded_tail_runs_in_index_order(bridge: ModuleType) -> None:
    count, limit = 12, 4
    starts: List[int] = []
    first_parts: List[int] = []
    tails: List[int] = []
    running = peak = 0

    async def body(i: int, turn: Callable[[], Any]) -> None:
        nonlocal running, peak
        starts.append(i)
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.003 * (count - i))  # later items finish their first part sooner
        first_parts.append(i)
        running -= 1
        await turn()
        tails.append(i)

    await asyncio.wait_for(bridge.for_each_bounded(count, body, limit), TIMEOUT)
    assert starts == list(range(count))
    assert first_parts != sorted(first_parts), "later items should have overtaken earlier ones"
    assert tails == list(range(count))
    assert peak == limit


@pytest.mark.asyncio
async def test_for_each_bounded_body_may_return_without_its_turn(bridge: ModuleType) -> None:
    done: Set[int] = set()
    tails: List[int] = []

    async def body(i: int, turn: Callable[[], Any]) -> None:
        await asyncio.sleep(0.02 if i % 2 else 0.001)  # skipped items are the slow ones
        if i % 2:
            done.add(i)
            return  # was `continue` in the loop
        await turn()
        assert done >= set(range(i)), f"item {i} ran its tail before earlier items finished"
        tails.append(i)
        done.add(i)

    await asyncio.wait_for(bridge.for_each_bounded(9, body, 2), TIMEOUT)
    assert tails == [0, 2, 4, 6, 8]


@pytest.mark.asyncio
async def test_for_each_bounded_with_limit_one(bridge: ModuleType) -> None:
    events: List[str] = []

    async def body(i: int, turn: Callable[[], Any]) -> None:
        events.append(f"start {i}")
        await asyncio.sleep(0.001)
        await turn()
        events.append(f"tail {i}")

    await asyncio.wait_for(bridge.for_each_bounded(4, body, 1), TIMEOUT)
    assert [e for e in events if e.startswith("tail")] == [f"tail {i}" for i in range(4)]
    assert events.index("start 1") > events.index("start 0")


@pytest.mark.asyncio
async def test_for_each_bounded_calling_turn_twice_does_not_free_extra_slots(bridge: ModuleType) -> None:
    running = peak = 0

    async def body(i: int, turn: Callable[[], Any]) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001 * (i % 3 + 1))
        running -= 1
        await turn()
        await turn()

    await asyncio.wait_for(bridge.for_each_bounded(15, body, 2), TIMEOUT)
    assert peak == 2


@pytest.mark.asyncio
async def test_for_each_bounded_zero_count_and_bad_limit(bridge: ModuleType) -> None:
    calls: List[int] = []

    async def body(i: int, turn: Callable[[], Any]) -> None:
        calls.append(i)

    await bridge.for_each_bounded(0, body, 3)
    with pytest.raises(ValueError, match="limit"):
        await asyncio.wait_for(bridge.for_each_bounded(3, body, 0), TIMEOUT)
    assert calls == []


@pytest.mark.asyncio
async def test_for_each_bounded_a_body_cancelled_alone_does_not_hang_the_rest(bridge: ModuleType) -> None:
    tails: List[int] = []

    async def body(i: int, turn: Callable[[], Any]) -> None:
        if i == 0:
            raise asyncio.CancelledError  # as when it awaits a task someone else cancelled
        await turn()
        tails.append(i)

    # gather passes the CancelledError on at once; TaskGroup lets the others finish
    # first. Either way item 1 must not wait for item 0 forever (a TimeoutError).
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(bridge.for_each_bounded(3, body, 1), TIMEOUT)
    if bridge.USE_TASK_GROUP:
        assert tails == [1, 2]


@pytest.mark.asyncio
async def test_for_each_bounded_failure_stops_later_tails_and_cancels_the_rest(bridge: ModuleType) -> None:
    s = Sleeper()
    tails: List[int] = []
    waiting: Set[int] = set()

    async def body(i: int, turn: Callable[[], Any]) -> None:
        if i == 2:
            await fail_after(0.03, LookupError("item 2"))
        elif i == 3:
            await asyncio.sleep(0.001)  # done long before item 2 fails, then waits its turn
        elif i >= 4:
            await s.sleep(i)
        waiting.add(i)
        await turn()
        tails.append(i)

    with pytest.raises(LookupError, match="item 2") as info:
        await asyncio.wait_for(bridge.for_each_bounded(6, body, 4), TIMEOUT)
    assert type(info.value) is LookupError
    assert 3 in waiting
    assert tails == [0, 1], "nothing after the failed item may run its in-order part"
    assert s.started == s.cancelled == s.cleaned == {4, 5}


@pytest.mark.asyncio
async def test_for_each_bounded_caller_cancellation_cancels_and_awaits_bodies(bridge: ModuleType) -> None:
    s = Sleeper()
    s.expect = 3
    tails: List[int] = []

    async def body(i: int, turn: Callable[[], Any]) -> None:
        await s.sleep(i)
        await turn()
        tails.append(i)

    outer = asyncio.ensure_future(bridge.for_each_bounded(5, body, 3))
    await asyncio.wait_for(s.all_started.wait(), TIMEOUT)
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    assert s.started == s.cancelled == s.cleaned == {0, 1, 2}
    assert tails == []


# for_each_spaced


@pytest.mark.asyncio
async def test_for_each_spaced_counts_from_each_items_first_wait(bridge: ModuleType) -> None:
    # Each body does blocking set-up (as building a client does) before it sends:
    # the sends, not the calls, must be the interval apart.
    interval, setup = 0.05, 0.04
    sends: List[float] = []
    tails: List[int] = []
    loop = asyncio.get_running_loop()

    async def body(i: int, turn: Callable[[], Any]) -> None:
        time.sleep(setup if i == 0 else 0.0)
        sends.append(loop.time())
        await asyncio.sleep(0.03)
        await turn()
        tails.append(i)

    await asyncio.wait_for(bridge.for_each_spaced(5, body, interval, 3), TIMEOUT)
    gaps = [b - a for a, b in zip(sends, sends[1:])]
    assert min(gaps) >= interval * 0.99, gaps
    assert tails == list(range(5))


@pytest.mark.asyncio
async def test_for_each_spaced_caller_cancellation_cancels_and_awaits_bodies(bridge: ModuleType) -> None:
    s = Sleeper()
    s.expect = 2

    async def body(i: int, turn: Callable[[], Any]) -> None:
        await s.sleep(i)
        await turn()

    outer = asyncio.ensure_future(bridge.for_each_spaced(5, body, 0.01, 2))
    await asyncio.wait_for(s.all_started.wait(), TIMEOUT)
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    assert s.started == s.cancelled == s.cleaned == {0, 1}


# run_sync


async def add(a: int, b: int) -> int:
    await asyncio.sleep(0)
    return a + b


async def current_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def test_run_sync_returns_the_result() -> None:
    assert MODULE.run_sync(add(2, 3), "add") == 5


def test_run_sync_raises_the_coroutine_exception() -> None:
    with pytest.raises(KeyError, match="missing"):
        MODULE.run_sync(fail_after(0, KeyError("missing")), "fail_after")


@pytest.mark.asyncio
async def test_run_sync_inside_a_running_loop_blocks_and_returns_the_result() -> None:
    # A notebook cell, or async code calling a sync function that became a wrapper.
    here = asyncio.get_running_loop()
    assert MODULE.run_sync(add(1, 1), "add_async") == 2
    elsewhere = MODULE.run_sync(current_loop(), "current_loop")
    assert elsewhere is not here and elsewhere.is_running()
    assert MODULE.run_sync(current_loop(), "current_loop") is elsewhere, "one loop thread, kept"


@pytest.mark.asyncio
async def test_run_sync_inside_a_running_loop_raises_the_coroutine_exception() -> None:
    with pytest.raises(KeyError, match="missing"):
        MODULE.run_sync(fail_after(0, KeyError("missing")), "fail_after")


@pytest.mark.asyncio
async def test_run_sync_inside_a_running_loop_keeps_clients_on_their_loop() -> None:
    client = Client()
    MODULE.run_sync(client.open(), "open")
    assert MODULE.run_sync(client.get(), "get") == 42


@pytest.mark.asyncio
async def test_run_sync_nested_on_the_loop_thread_runs_one_level_further() -> None:
    # The coroutine a wrapper runs calls another wrapper from async code: it must
    # not wait on the loop it runs on.
    async def outer() -> tuple[asyncio.AbstractEventLoop, asyncio.AbstractEventLoop]:
        inner = MODULE.run_sync(current_loop(), "current_loop")
        return asyncio.get_running_loop(), inner

    level1, level2 = MODULE.run_sync(outer(), "outer")
    assert level1 is not level2 and level1 is not asyncio.get_running_loop()


REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("REQUEST_ID", default="none")


async def request_id() -> str:
    await asyncio.sleep(0)
    return REQUEST_ID.get()


@pytest.mark.asyncio
async def test_run_sync_inside_a_running_loop_sees_the_callers_context() -> None:
    token = REQUEST_ID.set("r-17")
    try:
        assert MODULE.run_sync(request_id(), "request_id") == "r-17"
    finally:
        REQUEST_ID.reset(token)


def test_run_sync_inside_a_running_loop_cancels_the_coroutine_on_ctrl_c() -> None:
    cleaned: List[str] = []

    async def victim() -> None:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cleaned.append("cancelled")
            raise

    async def caller() -> None:
        # A real SIGINT while the caller blocks in the wrapper, as Ctrl-C would send.
        threading.Timer(0.2, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT)).start()
        MODULE.run_sync(victim(), "victim")

    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(KeyboardInterrupt):
            loop.run_until_complete(caller())
    finally:
        loop.close()
    assert cleaned == ["cancelled"], "the coroutine unwound before the wrapper raised"


class Client:
    """Like an httpx.AsyncClient kept in an attribute: bound to its first loop."""

    async def open(self) -> None:
        self.reply: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def get(self) -> int:
        asyncio.get_running_loop().call_soon(self.reply.set_result, 42)
        return await self.reply  # "attached to a different loop" on a fresh loop


def test_run_sync_keeps_one_loop_per_thread_across_calls() -> None:
    client = Client()
    MODULE.run_sync(client.open(), "open")
    assert MODULE.run_sync(client.get(), "get") == 42


def test_run_sync_replaces_a_loop_someone_closed() -> None:
    first = MODULE.run_sync(current_loop(), "current_loop")
    first.close()
    second = MODULE.run_sync(current_loop(), "current_loop")
    assert second is not first and not second.is_closed()


def test_run_sync_gives_each_thread_its_own_loop_and_closes_dead_threads_loops() -> None:
    main = MODULE.run_sync(current_loop(), "current_loop")
    barrier = threading.Barrier(2)
    seen: dict = {}

    def worker(name: str) -> None:
        first = MODULE.run_sync(current_loop(), "current_loop")
        barrier.wait(TIMEOUT)  # both threads alive at once
        seen[name] = (first, MODULE.run_sync(current_loop(), "current_loop"))

    threads = [threading.Thread(target=worker, args=(n,)) for n in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    (a1, a2), (b1, b2) = seen["a"], seen["b"]
    assert a1 is a2 and b1 is b2
    assert len({id(main), id(a1), id(b1)}) == 3

    later = threading.Thread(target=MODULE.run_sync, args=(add(0, 0), "add"))
    later.start()
    later.join(TIMEOUT)
    assert a1.is_closed() and b1.is_closed(), "a new thread's first call closes loops of dead threads"
    assert not main.is_closed()


def test_run_sync_cancels_the_task_when_interrupted() -> None:
    cleaned: List[str] = []

    def interrupt() -> None:
        raise KeyboardInterrupt

    async def victim() -> None:
        asyncio.get_running_loop().call_soon(interrupt)  # like Ctrl-C while the loop waits
        try:
            await asyncio.sleep(2)
        except asyncio.CancelledError:
            cleaned.append("cancelled")
            raise
        cleaned.append("slept on")

    with pytest.raises(KeyboardInterrupt):
        MODULE.run_sync(victim(), "victim")
    assert cleaned == ["cancelled"]
    assert MODULE.run_sync(add(1, 1), "add") == 2


def test_loops_are_finalised_at_exit() -> None:
    script = """
import asyncio, atexit, importlib.util, sys
state = {}
atexit.register(lambda: print("loop closed:", state["loop"].is_closed()))  # runs last
spec = importlib.util.spec_from_file_location("_async_bridge", sys.argv[1])
bridge = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bridge)

async def numbers():
    try:
        yield 1
        yield 2
    finally:
        print("generator finalised")

async def start():
    state["loop"] = asyncio.get_running_loop()
    state["gen"] = numbers()
    return await state["gen"].__anext__()

print(bridge.run_sync(start(), "start"))
"""
    run = subprocess.run([sys.executable, "-c", script, str(SOURCE)], capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout.splitlines() == ["1", "generator finalised", "loop closed: True"]


# collect


async def numbers(n: int) -> AsyncIterator[int]:
    for i in range(n):
        await asyncio.sleep(0)
        yield i


@pytest.mark.asyncio
async def test_collect() -> None:
    assert await MODULE.collect(numbers(4)) == [0, 1, 2, 3]
    assert await MODULE.collect(numbers(0)) == []


def test_collect_through_run_sync_like_a_generator_wrapper() -> None:
    assert list(iter(MODULE.run_sync(MODULE.collect(numbers(3)), "items_async"))) == [0, 1, 2]


# shared_ssl_context


def test_shared_ssl_context_is_built_once() -> None:
    pytest.importorskip("httpx")
    import ssl

    first = MODULE.shared_ssl_context()
    assert isinstance(first, ssl.SSLContext)
    assert MODULE.shared_ssl_context() is first


PY = sys.executable


@pytest.mark.asyncio
async def test_run_process_matches_subprocess_run() -> None:
    cmd = [PY, "-c", "import sys; d = sys.stdin.read(); print(d.upper()); print('e', file=sys.stderr)"]
    expected = await asyncio.to_thread(subprocess.run, cmd, input="hi", capture_output=True, text=True)
    got = await MODULE.run_process(cmd, input="hi", capture_output=True, text=True)
    assert (got.args, got.returncode, got.stdout, got.stderr) == (
        expected.args,
        expected.returncode,
        expected.stdout,
        expected.stderr,
    )
    raw = await MODULE.run_process([PY, "-c", "print('x')"], stdout=subprocess.PIPE)
    assert raw.stdout == b"x\n" and raw.stderr is None


@pytest.mark.asyncio
async def test_run_process_check_raises_called_process_error() -> None:
    cmd = [PY, "-c", "import sys; print('out'); sys.exit(3)"]
    assert (await MODULE.run_process(cmd, capture_output=True)).returncode == 3
    with pytest.raises(subprocess.CalledProcessError) as info:
        await MODULE.run_process(cmd, capture_output=True, text=True, check=True)
    assert info.value.returncode == 3 and info.value.output == "out\n"


@pytest.mark.asyncio
async def test_run_process_timeout_kills_and_raises_timeout_expired() -> None:
    started = asyncio.get_running_loop().time()
    with pytest.raises(subprocess.TimeoutExpired):
        await MODULE.run_process([PY, "-c", "import time; time.sleep(30)"], timeout=0.3)
    assert asyncio.get_running_loop().time() - started < 10


@pytest.mark.asyncio
async def test_run_process_cancellation_kills_the_process(tmp_path: pathlib.Path) -> None:
    marker = tmp_path / "pid"
    script = f"import os, time; open({str(marker)!r}, 'w').write(str(os.getpid())); time.sleep(30)"
    task = asyncio.ensure_future(MODULE.run_process([PY, "-c", script]))
    for _ in range(100):
        await asyncio.sleep(0.05)
        if marker.exists() and marker.read_text():
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    pid = int(marker.read_text())
    with pytest.raises(OSError):
        os.kill(pid, 0)  # gone (killed and reaped)


@pytest.mark.asyncio
async def test_run_process_rejects_capture_output_with_stdout() -> None:
    with pytest.raises(ValueError):
        await MODULE.run_process([PY, "-c", "pass"], capture_output=True, stdout=subprocess.PIPE)


@pytest.mark.asyncio
async def test_process_output_and_status_match_check_output_and_call() -> None:
    ok = [PY, "-c", "print('out')"]
    expected = await asyncio.to_thread(subprocess.check_output, ok, text=True)
    got = await MODULE.process_output(MODULE.run_process(ok, text=True, stdout=subprocess.PIPE, check=True))
    assert got == expected == "out\n"
    failing = [PY, "-c", "print('partial'); raise SystemExit(4)"]
    with pytest.raises(subprocess.CalledProcessError) as sync_info:
        await asyncio.to_thread(subprocess.check_output, failing)
    with pytest.raises(subprocess.CalledProcessError) as info:
        await MODULE.process_output(MODULE.run_process(failing, stdout=subprocess.PIPE, check=True))
    for field in ("returncode", "cmd", "output", "stderr"):
        assert getattr(info.value, field) == getattr(sync_info.value, field)
    assert await MODULE.process_status(MODULE.run_process(failing, stdout=subprocess.DEVNULL)) == 4
    with pytest.raises(subprocess.CalledProcessError) as info:
        await MODULE.process_status(MODULE.run_process(failing, stdout=subprocess.DEVNULL, check=True))
    assert (info.value.returncode, info.value.output, info.value.stderr) == (4, None, None)


def popen_result(cmd: Any, input: Any = None, **kwargs: Any) -> Any:
    with subprocess.Popen(cmd, **kwargs) as proc:
        out, err = proc.communicate(input, timeout=TIMEOUT)
    return out, err, proc.returncode


@pytest.mark.asyncio
async def test_open_process_communicate_matches_popen_in_bytes_and_text_mode() -> None:
    cmd = [PY, "-c", "import sys; d = sys.stdin.read(); print(d.upper()); print('e\\r\\nf', file=sys.stderr)"]
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    for mode, data in ({}, b"hi"), ({"text": True}, "hi"), ({"universal_newlines": True}, "hi"), ({"encoding": "utf-8"}, "hé"):
        expected = await asyncio.to_thread(popen_result, cmd, data, **pipes, **mode)
        proc = await MODULE.open_process(cmd, **pipes, **mode)
        assert proc.args == cmd and proc.pid > 0 and proc.returncode is None
        out, err = await proc.communicate(data, timeout=TIMEOUT)
        assert (out, err, proc.returncode) == expected
    assert isinstance(expected[0], str) and expected[1] == "e\nf\n"


@pytest.mark.asyncio
async def test_open_process_unpiped_streams_are_none_and_returncode_is_set() -> None:
    proc = await MODULE.open_process([PY, "-c", "print('x'); raise SystemExit(3)"], stdout=subprocess.DEVNULL)
    assert await proc.communicate() == (None, None)
    assert proc.returncode == 3 and proc.poll() == 3
    proc = await MODULE.open_process([PY, "-c", "raise SystemExit(4)"])
    assert await proc.wait(timeout=TIMEOUT) == 4 and proc.returncode == 4


@pytest.mark.asyncio
async def test_open_process_shell_runs_the_command_through_the_shell() -> None:
    proc = await MODULE.open_process("printf %s abc | wc -c", shell=True, stdout=subprocess.PIPE, text=True)
    out, _ = await proc.communicate()
    assert out.strip() == "3" and proc.returncode == 0
    expected = await asyncio.to_thread(popen_result, ["echo $0"], stdout=subprocess.PIPE, shell=True)
    proc = await MODULE.open_process(["echo $0"], stdout=subprocess.PIPE, shell=True)
    assert (*(await proc.communicate()), proc.returncode) == expected


@pytest.mark.asyncio
async def test_open_process_communicate_timeout_keeps_the_process_and_its_output() -> None:
    script = "import sys, time; print('early', flush=True); time.sleep(0.8); print('late')"
    proc = await MODULE.open_process([PY, "-c", script], stdout=subprocess.PIPE, text=True)
    with pytest.raises(subprocess.TimeoutExpired) as info:
        await proc.communicate(timeout=0.3)
    assert info.value.cmd == [PY, "-c", script]
    assert proc.returncode is None  # not killed
    with pytest.raises(ValueError):
        await proc.communicate("more input")
    out, err = await proc.communicate(timeout=TIMEOUT)
    assert (out, err, proc.returncode) == ("early\nlate\n", None, 0)
    assert await proc.communicate() == ("early\nlate\n", None)


@pytest.mark.asyncio
async def test_open_process_wait_timeout_keeps_the_process_then_kill_ends_it() -> None:
    proc = await MODULE.open_process([PY, "-c", "import time; time.sleep(30)"])
    with pytest.raises(subprocess.TimeoutExpired):
        await proc.wait(timeout=0.2)
    assert proc.poll() is None
    proc.kill()
    assert await proc.wait(timeout=TIMEOUT) == -9
    proc.kill()  # a no-op once it has ended, as with Popen
    proc.terminate()
    proc.send_signal(15)


@pytest.mark.asyncio
async def test_open_process_terminate_and_send_signal() -> None:
    for stop in (lambda p: p.terminate(), lambda p: p.send_signal(15)):
        proc = await MODULE.open_process([PY, "-c", "import time; time.sleep(30)"])
        stop(proc)
        assert await proc.wait(timeout=TIMEOUT) == -15


async def started_pid(marker: pathlib.Path) -> int:
    for _ in range(100):
        await asyncio.sleep(0.05)
        if marker.exists() and marker.read_text():
            break
    return int(marker.read_text())


def sleeper(marker: pathlib.Path) -> List[str]:
    script = f"import os, time; open({str(marker)!r}, 'w').write(str(os.getpid())); time.sleep(30)"
    return [PY, "-c", script]


@pytest.mark.asyncio
async def test_open_process_cancelling_communicate_or_wait_kills_the_process(tmp_path: pathlib.Path) -> None:
    for method in ("communicate", "wait"):
        marker = tmp_path / method
        proc = await MODULE.open_process(sleeper(marker), stdout=subprocess.PIPE)
        task = asyncio.ensure_future(getattr(proc, method)())
        pid = await started_pid(marker)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await proc.wait(timeout=TIMEOUT) == -9
        with pytest.raises(OSError):
            os.kill(pid, 0)  # gone (killed and reaped)


@pytest.mark.asyncio
async def test_open_process_async_with_closes_stdin_and_waits(tmp_path: pathlib.Path) -> None:
    cmd = [PY, "-c", "import sys; sys.exit(len(sys.stdin.read()))"]
    async with await MODULE.open_process(cmd, stdin=subprocess.PIPE) as proc:
        pass
    assert proc.returncode == 0
    marker = tmp_path / "pid"

    async def block() -> None:
        async with await MODULE.open_process(sleeper(marker)):
            await asyncio.sleep(30)

    task = asyncio.ensure_future(block())
    pid = await started_pid(marker)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(OSError):
        os.kill(pid, 0)


@pytest.mark.asyncio
async def test_open_process_large_input_and_output_do_not_block() -> None:
    cmd = [PY, "-c", "import sys; sys.stdout.write(sys.stdin.read() * 2)"]
    data = b"x" * 1_000_000
    proc = await MODULE.open_process(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out, _ = await proc.communicate(data, timeout=TIMEOUT)
    assert len(out) == 2_000_000 and proc.returncode == 0


@pytest.mark.asyncio
async def test_iterate_in_thread_is_lazy_and_stays_in_one_thread(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"abcdefghij")
    threads: set[int] = set()
    with path.open("rb") as f:

        def read() -> bytes:
            threads.add(threading.get_ident())
            return f.read(4)

        chunks = [chunk async for chunk in MODULE.iterate_in_thread(lambda: iter(read, b""))]
    assert chunks == [b"abcd", b"efgh", b"ij"]
    assert len(threads) == 1 and threading.get_ident() not in threads
    seen: list[int] = []
    async for n in MODULE.iterate_in_thread(lambda: (seen.append(i) or i for i in range(100))):
        if n == 2:
            break
    assert seen == [0, 1, 2]


@pytest.mark.asyncio
@pytest.mark.skipif(os.name != "posix", reason="the POSIX shell")
async def test_run_process_with_a_shell_matches_subprocess_run() -> None:
    for cmd in ["echo $0-$1 | tr a-z A-Z", ["echo $0-$1", "one", "two"]]:
        expected = await asyncio.to_thread(subprocess.run, cmd, shell=True, capture_output=True, text=True)
        got = await MODULE.run_process(cmd, shell=True, capture_output=True, text=True)
        assert (got.returncode, got.stdout) == (expected.returncode, expected.stdout)


# http_client


async def client_of(**options: Any) -> Any:
    async with MODULE.http_client(**options) as client:
        return client


@pytest.mark.asyncio
async def test_http_client_is_shared_within_a_gather_and_closed_after_it() -> None:
    clients = await MODULE.gather_bounded(
        [client_of(timeout=5.0), client_of(timeout=5.0), client_of(timeout=9.0)], limit=8
    )
    assert clients[0] is clients[1], "the same options share one client"
    assert clients[2] is not clients[0], "other options get a client of their own"
    assert all(c.is_closed for c in clients), "the batch's clients close with it"


@pytest.mark.asyncio
async def test_http_client_outside_a_batch_is_the_statements_own() -> None:
    first, second = await client_of(timeout=5.0), await client_of(timeout=5.0)
    assert first is not second and first.is_closed and second.is_closed


def test_http_client_is_shared_within_one_wrapper_call() -> None:
    async def two() -> tuple[Any, Any]:
        return await client_of(timeout=5.0), await client_of(timeout=5.0)

    first, second = MODULE.run_sync(two(), "two")
    assert first is second and first.is_closed
    again, _ = MODULE.run_sync(two(), "two")
    assert again is not first, "each call has its own, closed with it"


@pytest.mark.asyncio
async def test_nested_gathers_share_the_outer_batchs_client() -> None:
    async def inner() -> list[Any]:
        return await MODULE.gather_bounded([client_of(timeout=5.0), client_of(timeout=5.0)], limit=2)

    outer = await MODULE.gather_bounded([inner(), inner()], limit=2)
    assert len({id(c) for group in outer for c in group}) == 1


# run_in_affine_thread


@pytest.mark.asyncio
async def test_run_in_affine_thread_runs_all_thread_bound_work_on_one_thread() -> None:
    import sqlite3

    conn = await MODULE.run_in_affine_thread(sqlite3.connect, ":memory:")
    await MODULE.run_in_affine_thread(conn.execute, "CREATE TABLE t (x INTEGER)")
    await MODULE.gather_bounded(
        [MODULE.run_in_affine_thread(conn.execute, "INSERT INTO t VALUES (?)", (i,)) for i in range(20)], limit=8
    )
    rows = await MODULE.run_in_affine_thread(lambda: conn.execute("SELECT count(*) FROM t").fetchone())
    await MODULE.run_in_affine_thread(conn.close)
    assert rows == (20,)
    names = await MODULE.gather_bounded(
        [MODULE.run_in_affine_thread(lambda: threading.current_thread().name) for _ in range(4)], limit=4
    )
    assert len(set(names)) == 1 and names[0].startswith("async_bridge-affine")


def test_run_in_affine_thread_called_from_its_thread_runs_directly() -> None:
    def blocking() -> str:
        # Sync code on the affine thread driving a coroutine that offloads again.
        return MODULE.run_sync(MODULE.run_in_affine_thread(lambda: threading.current_thread().name), "x")

    async def outer() -> str:
        return await MODULE.run_in_affine_thread(blocking)

    assert MODULE.run_sync(outer(), "outer").startswith("async_bridge-affine")
