"""Runtime helpers added by refactor-async when it converted this package to async.

The converted code calls these instead of inlining them so that the rewrite stays
small and reviewable: blocking wrappers that keep the old function names need a
safe way to drive a coroutine, and loops that became concurrent must keep the
error and ordering behaviour of the sequential code they replaced; blocking calls
run in threads of an executor of its own, as large as the gathers' limit. This
file needs only the standard library (and httpx for `http_client`) and supports
Python 3.8+.
"""

# Written by refactor-async, which keeps only the helpers a change uses: the
# repository's linters and formatters leave it as it is.
# ruff: noqa
# fmt: off

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import contextvars
import functools
import importlib
import inspect
import locale
import os
import ssl
import subprocess
import sys
import threading
import weakref
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    IO,
    Iterable,
    Iterator,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
    cast,
    overload,
)

import httpx

if TYPE_CHECKING:
    # Only for the type checker (typing has it from 3.10 on): run_in_thread checks
    # the arguments it passes on as asyncio.to_thread does.
    from typing_extensions import ParamSpec

    P = ParamSpec("P")

__all__ = [
    "T", "Turn", "run_sync", "run_in_thread", "run_in_affine_thread",
    "gather_bounded", "gather_until_failure", "for_each_bounded", "for_each_spaced",
    "gather_all", "collect", "shared_ssl_context", "http_client", "run_process",
    "process_output", "process_status", "AsyncProcess", "open_process",
    "iterate_in_thread", "to_thread_cached", "remember",
]

# refactor-async sets this to True when the package requires Python >= 3.11, so
# that failures surface through asyncio.TaskGroup's well-tested cancellation.
USE_TASK_GROUP = False
# refactor-async writes the gathers' limit (`rewrite.concurrency`) here: every
# gathered call that runs in a thread must get one, which asyncio's default executor
# (min(32, cpus + 4) threads, six on two cores) would silently cap.
THREADS = 8

T = TypeVar("T")
T1 = TypeVar("T1")
T2 = TypeVar("T2")
T3 = TypeVar("T3")
T4 = TypeVar("T4")
T5 = TypeVar("T5")
Turn = Callable[[], Awaitable[None]]

_local = threading.local()
# Every loop made here, so the ones whose thread has ended and the rest at exit get
# closed instead of leaking their selector and sockets. Guarded by _lock.
_loops: dict[threading.Thread, asyncio.AbstractEventLoop] = {}
_lock = threading.Lock()


def _close(loop: asyncio.AbstractEventLoop) -> None:
    # Called at exit and for dead threads' loops: it must never raise.
    with contextlib.suppress(Exception):
        if not loop.is_running() and not loop.is_closed():
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()


@atexit.register
def _close_all() -> None:
    with _lock:
        loops = list(_loops.values())
        _loops.clear()
    for loop in loops:
        _close(loop)


def _thread_loop() -> asyncio.AbstractEventLoop:
    # One loop per thread, kept between calls: an httpx.AsyncClient (or any lock,
    # future or connection pool) made during one call is bound to the loop it first
    # ran on, so asyncio.run's fresh loop per call would break the next call.
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = _local.loop = asyncio.new_event_loop()
        with _lock:
            dead = [t for t in _loops if not t.is_alive()]
            stale = [_loops.pop(t) for t in dead]
            _loops[threading.current_thread()] = loop
        for old in stale:  # outside the lock: async generator cleanup may call back in
            _close(old)
    return loop


class _ClientPool:
    """The async HTTP clients that one call of a wrapper, or one gather, shares.

    One client per set of options, made on first use and closed when the scope
    ends: the requests of a batch reuse connections (at most as many as run at
    once) instead of each opening its own, and no client outlives its event loop.
    """

    def __init__(self) -> None:
        self._clients: list[tuple[dict[str, Any], Any]] = []

    def shared(self, options: dict[str, Any], make: Callable[[], T]) -> T:
        for known, existing in self._clients:
            if known == options:
                return cast(T, existing)
        made = make()
        self._clients.append((options, made))
        return made

    async def aclose(self) -> None:
        for _, client in reversed(self._clients):
            await client.aclose()
        self._clients.clear()


_client_pool: contextvars.ContextVar[_ClientPool | None] = contextvars.ContextVar(
    "_async_bridge_client_pool", default=None
)


@contextlib.asynccontextmanager
async def _sharing_clients() -> AsyncIterator[None]:
    # Within: this task and the tasks it starts share clients; an outer scope wins.
    if _client_pool.get() is not None:
        yield
        return
    pool = _ClientPool()
    token = _client_pool.set(pool)
    try:
        yield
    finally:
        _client_pool.reset(token)
        await pool.aclose()


async def _sharing_clients_in(coro: Coroutine[Any, Any, T]) -> T:
    async with _sharing_clients():
        return await coro


def run_sync(coro: Coroutine[Any, Any, T], async_name: str) -> T:
    """Run `coro` to completion for a blocking wrapper and return its result.

    Works wherever the sync original worked: with no loop running in this thread,
    on this thread's own loop; with one running (a notebook, async code calling a
    sync function), on a dedicated loop thread while the caller blocks, as the
    original blocked. `async_name` is the coroutine function's name, for messages.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return _run_on_loop_thread(coro, async_name)
    loop = _thread_loop()
    task = loop.create_task(_sharing_clients_in(coro))
    try:
        return loop.run_until_complete(task)
    except BaseException:
        # Ctrl-C can stop the loop mid-task: let the coroutine unwind its finally
        # blocks and context managers now rather than leave it pending forever.
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                loop.run_until_complete(task)
        raise


class _LoopThread:
    """An event loop running forever in a daemon thread of its own.

    Kept for the whole process, like a thread's own loop: a client made by one
    wrapper call is bound to this loop, and the next call runs here again.
    """

    def __init__(self, depth: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self._run, name=f"async_bridge-loop-{depth}", daemon=True
        )
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def stop(self) -> None:
        # At exit: let the loop finish its callbacks, then close it.
        with contextlib.suppress(Exception):
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(1.0)
            if not self.thread.is_alive():
                self.loop.close()


# One loop thread per nesting level: a wrapper called by code that already runs on
# the loop thread of level n runs on level n + 1, never waiting on its own loop.
_loop_threads: list[_LoopThread] = []


@atexit.register
def _stop_loop_threads() -> None:
    with _lock:
        threads = list(_loop_threads)
        _loop_threads.clear()
    for runner in reversed(threads):
        runner.stop()


def _loop_thread_for_caller() -> _LoopThread:
    current = threading.current_thread()
    with _lock:
        depth = next(
            (i + 1 for i, r in enumerate(_loop_threads) if r.thread is current), 0
        )
        while len(_loop_threads) <= depth:
            _loop_threads.append(_LoopThread(len(_loop_threads)))
        return _loop_threads[depth]


def _run_on_loop_thread(coro: Coroutine[Any, Any, T], async_name: str) -> T:
    # The caller's loop cannot run the coroutine while the caller blocks it, so the
    # coroutine runs on a loop thread, in a copy of the caller's context (as
    # create_task would have copied it), and the caller waits for its outcome.
    runner = _loop_thread_for_caller()
    context = contextvars.copy_context()
    outcome: concurrent.futures.Future[T] = concurrent.futures.Future()
    started: list[asyncio.Task[T]] = []
    finished = threading.Event()

    def settle(task: asyncio.Task[T]) -> None:
        if task.cancelled():
            outcome.cancel()
        elif task.exception() is not None:
            outcome.set_exception(cast(BaseException, task.exception()))
        else:
            outcome.set_result(task.result())
        finished.set()

    def start() -> None:
        task = context.run(runner.loop.create_task, _sharing_clients_in(coro))
        task.set_name(f"{async_name} (for its blocking wrapper)")
        task.add_done_callback(settle)
        started.append(task)

    runner.loop.call_soon_threadsafe(start)
    try:
        return outcome.result()
    except BaseException:
        # Ctrl-C while waiting: cancel the coroutine and let it unwind on its loop
        # (a second Ctrl-C stops the wait), then raise as the original would.
        if not finished.is_set():
            runner.loop.call_soon_threadsafe(_cancel_all, started)
            finished.wait()
        raise


def _cancel_all(tasks: list[asyncio.Task[T]]) -> None:
    for task in tasks:
        task.cancel()


class _Executor:
    """A thread pool of this module's own, made on first use, and again in a forked
    child, which inherits the object but none of its threads."""

    def __init__(self, workers: Callable[[], int], name: str) -> None:
        self._workers = workers
        self._name = name
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._pid = 0
        self._inside = threading.local()

    def _mark(self) -> None:
        self._inside.active = True

    def running_here(self) -> bool:
        """Whether the calling thread is one of this pool's."""
        return bool(getattr(self._inside, "active", False))

    def pool(self) -> concurrent.futures.ThreadPoolExecutor:
        with _lock:
            if self._pool is None or self._pid != os.getpid():
                self._pool = concurrent.futures.ThreadPoolExecutor(
                    max_workers=self._workers(),
                    thread_name_prefix=self._name,
                    initializer=self._mark,
                )
                self._pid = os.getpid()
            return self._pool


# Sized when made: THREADS as it is then.
_owned = _Executor(lambda: THREADS, "async_bridge")
# The one thread of all thread-bound work (see run_in_affine_thread).
_affine = _Executor(lambda: 1, "async_bridge-affine")


async def run_in_thread(
    func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
) -> T:
    """`asyncio.to_thread` on this module's executor of THREADS threads.

    Context variables are copied into the thread as asyncio.to_thread does. Called
    from one of those threads (blocking code that drives a coroutine of its own),
    it uses the running loop's default executor instead: waiting for a free thread
    of the same pool could wait forever.
    """
    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, func, *args, **kwargs)
    nested = _owned.running_here()
    return await loop.run_in_executor(None if nested else _owned.pool(), call)


async def run_in_affine_thread(
    func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
) -> T:
    """run_in_thread on the one thread that all thread-bound work shares.

    A `sqlite3` connection (and each cursor it makes) may only be used on the
    thread that made it: its construction, its methods, its context manager's exit
    and its close all run here, one at a time, as aiosqlite runs a connection's
    work on one thread. Called from that thread, it runs `func` there directly.
    """
    if _affine.running_here():
        return func(*args, **kwargs)
    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, func, *args, **kwargs)
    return await loop.run_in_executor(_affine.pool(), call)


if sys.version_info >= (3, 11):

    async def _run_in_task_group(coros: list[Coroutine[Any, Any, T]]) -> list[T]:
        tasks: list[asyncio.Task[T]] = []
        failure: BaseException | None = None
        try:
            async with asyncio.TaskGroup() as group:
                tasks.extend(group.create_task(coro) for coro in coros)
        except BaseExceptionGroup as errors:
            # The replaced sequential code caught plain exception types, so hand it
            # the first child's own exception rather than a group.
            leaves = list(errors.exceptions)
            real = [e for e in leaves if not isinstance(e, asyncio.CancelledError)]
            failure = (real or leaves)[0]
        if failure is not None:
            raise failure  # outside `except`, so its context stays the child's own
        return [task.result() for task in tasks]


async def _run_all(coros: list[Coroutine[Any, Any, T]]) -> list[T]:
    # All-or-nothing like the sequential code: the first failure (by time) wins and
    # nothing is left running behind the caller's back, on failure or cancellation.
    # The coroutines share their HTTP clients (see http_client).
    if not coros:
        return []
    async with _sharing_clients():
        return await _run_tasks(coros)


async def _run_tasks(coros: list[Coroutine[Any, Any, T]]) -> list[T]:
    if sys.version_info >= (3, 11) and USE_TASK_GROUP:
        return await _run_in_task_group(coros)
    tasks = [asyncio.create_task(coro) for coro in coros]
    try:
        # Shielded so that each task is cancelled exactly once, below: gather would
        # pass the caller's cancellation on, and a second one cuts cleanup short.
        return list(await asyncio.shield(asyncio.gather(*tasks)))
    finally:
        for task in tasks:
            task.cancel()
        pending = [task for task in tasks if not task.done()]
        if pending:
            await asyncio.wait(pending)


def _close_unstarted(aws: Iterable[object]) -> None:
    # A coroutine that never got to run warns "never awaited" when collected, which
    # would blame the caller for what was only a limit error or an early failure.
    for aw in aws:
        if inspect.iscoroutine(aw):
            if inspect.getcoroutinestate(aw) == inspect.CORO_CREATED:
                aw.close()


def _check_limit(limit: int, aws: Iterable[object] = ()) -> None:
    if limit < 1:
        _close_unstarted(aws)
        raise ValueError(f"limit must be at least 1, got {limit}")


async def gather_bounded(aws: Iterable[Awaitable[T]], limit: int) -> list[T]:
    """Await all of `aws`, at most `limit` at once; results come in input order."""
    items = list(aws)
    _check_limit(limit, items)
    semaphore = asyncio.Semaphore(limit)

    async def bounded(aw: Awaitable[T]) -> T:
        await semaphore.acquire()
        try:
            result = await aw
        except asyncio.CancelledError:
            semaphore.release()
            raise
        # A failure keeps its slot so that nothing new starts while the rest are
        # being cancelled: the sequential code would have stopped there.
        semaphore.release()
        return result

    try:
        return await _run_all([bounded(aw) for aw in items])
    finally:
        _close_unstarted(items)


async def gather_until_failure(
    aws: Iterable[Awaitable[T]], limit: int
) -> tuple[list[T], Exception | None]:
    """Await `aws`, at most `limit` at once, failing as a loop awaiting each in turn.

    Returns the results before the first of `aws` (in input order) that raised,
    with its exception, else every result and None. Once one has failed, none after
    it starts and those running are cancelled, while those before it finish: the
    loop this replaces made those requests and handled their results, then raised.
    """
    items = list(aws)
    _check_limit(limit, items)
    semaphore = asyncio.Semaphore(limit)
    results: dict[int, T] = {}
    errors: dict[int, Exception] = {}
    tasks: list[asyncio.Future[None]] = []

    def first_failure() -> int:
        return min(errors, default=len(items))

    async def run(i: int, aw: Awaitable[T]) -> None:
        async with semaphore:
            if i > first_failure():
                return
            try:
                results[i] = await aw
            except Exception as exc:
                errors[i] = exc
                for later in tasks[i + 1 :]:
                    later.cancel()

    async with _sharing_clients():
        tasks.extend(asyncio.ensure_future(run(i, aw)) for i, aw in enumerate(items))
        try:
            if tasks:
                await asyncio.wait(tasks)
        finally:
            for task in tasks:
                task.cancel()
            pending = [task for task in tasks if not task.done()]
            if pending:
                await asyncio.wait(pending)
            _close_unstarted(items)
    end = first_failure()
    return [results[i] for i in range(end)], errors.get(end)


async def for_each_bounded(
    count: int, body: Callable[[int, Turn], Awaitable[None]], limit: int
) -> None:
    """Run body(i, turn) for i in range(count), at most `limit` before their turn.

    Each body awaits `turn()` once its slow part is done; what follows then runs in
    index order, as it did in the sequential loop this replaces.
    """
    _check_limit(limit)
    if count <= 0:
        return
    semaphore = asyncio.Semaphore(limit)
    holding = [False] * count
    finished = [False] * count
    # ready[i] is set once items 0..i-1 have all finished; ready[count] is unused.
    ready = [asyncio.Event() for _ in range(count + 1)]
    ready[0].set()
    first_unfinished = 0

    def release(i: int) -> None:
        if holding[i]:
            holding[i] = False
            semaphore.release()

    def make_turn(i: int) -> Turn:
        async def turn() -> None:
            # Waiting for earlier items must not keep later ones from starting.
            release(i)
            await ready[i].wait()

        return turn

    def finish(i: int) -> None:
        nonlocal first_unfinished
        release(i)
        finished[i] = True
        while first_unfinished < count and finished[first_unfinished]:
            first_unfinished += 1
            ready[first_unfinished].set()

    async def item(i: int) -> None:
        await semaphore.acquire()
        holding[i] = True
        try:
            await body(i, make_turn(i))
        except asyncio.CancelledError:
            # Counts as finished so that successors cannot hang if it was cancelled
            # alone (asyncio.TaskGroup lets the others go on then).
            finish(i)
            raise
        # A failure neither frees its slot nor counts as finished: the sequential loop
        # would have stopped there, so no later item may start or run its in-order
        # part. They are all being cancelled instead.
        finish(i)

    await _run_all([item(i) for i in range(count)])


# Per running loop: the lock of each cached call in flight, with how many wait on it.
_cached_calls: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[Any, tuple[asyncio.Lock, int]]
] = weakref.WeakKeyDictionary()


async def to_thread_cached(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`await run_in_thread(func, ...)` for a function under a cache (lru_cache).

    Concurrent calls with the same arguments take turns: the first runs `func`, the
    next find its result in the cache, as the sequential code's later calls did, so
    the function does its work once per key, not once per concurrent caller.
    """
    try:
        key: Any = (func, args, frozenset(kwargs.items()))
        hash(key)
    except TypeError:
        # Unhashable arguments: the cache raises on them itself, as it did before.
        return await run_in_thread(func, *args, **kwargs)
    calls = _cached_calls.setdefault(asyncio.get_running_loop(), {})
    lock, users = calls.get(key, (asyncio.Lock(), 0))
    calls[key] = (lock, users + 1)
    try:
        async with lock:
            return await run_in_thread(func, *args, **kwargs)
    finally:
        lock, users = calls[key]
        if users == 1:
            del calls[key]
        else:
            calls[key] = (lock, users - 1)


async def for_each_spaced(
    count: int,
    body: Callable[[int, Turn], Awaitable[None]],
    interval: float,
    limit: int,
) -> None:
    """for_each_bounded whose items start in index order, at least `interval` apart.

    Replaces a loop that slept `interval` on every item to respect a rate limit:
    what the remote side limits is how often work starts, and item i+1 still starts
    no earlier than `interval` seconds after item i did, while the slow parts
    overlap (at most `limit` at once).

    An item counts as started once it first waits on something, not when it is
    called: what it does before (building a client, loading certificates) delays
    its request, and timed from the call the next request could follow at once.
    """
    _check_limit(limit)
    loop = asyncio.get_running_loop()
    started = [asyncio.Event() for _ in range(max(count, 0))]
    last_start = [0.0]

    async def spaced(i: int, turn: Turn) -> None:
        if i > 0:
            await started[i - 1].wait()
            delay = last_start[0] + interval - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        work = asyncio.ensure_future(body(i, turn))
        try:
            # Lets the body run up to its first wait (tasks start in FIFO order).
            await asyncio.sleep(0)
        except BaseException:
            work.cancel()
            await asyncio.wait([work])
            raise
        last_start[0] = loop.time()
        started[i].set()
        await work

    await for_each_bounded(count, spaced, limit)


@overload
async def gather_all(a1: Awaitable[T1], a2: Awaitable[T2], /) -> tuple[T1, T2]: ...
@overload
async def gather_all(
    a1: Awaitable[T1], a2: Awaitable[T2], a3: Awaitable[T3], /
) -> tuple[T1, T2, T3]: ...
@overload
async def gather_all(
    a1: Awaitable[T1], a2: Awaitable[T2], a3: Awaitable[T3], a4: Awaitable[T4], /
) -> tuple[T1, T2, T3, T4]: ...
@overload
async def gather_all(
    a1: Awaitable[T1],
    a2: Awaitable[T2],
    a3: Awaitable[T3],
    a4: Awaitable[T4],
    a5: Awaitable[T5],
    /,
) -> tuple[T1, T2, T3, T4, T5]: ...
@overload
async def gather_all(*aws: Awaitable[Any]) -> tuple[Any, ...]: ...


async def gather_all(*aws: Awaitable[Any]) -> tuple[Any, ...]:
    """Await independent calls together; their results in argument order.

    Replaces consecutive statements that each waited on one of them. Like those,
    it is all-or-nothing: the first failure is raised and the other calls are
    cancelled and awaited, never left running behind the caller's back.
    """

    async def run(aw: Awaitable[Any]) -> Any:
        return await aw

    try:
        return tuple(await _run_all([run(aw) for aw in aws]))
    finally:
        _close_unstarted(aws)


async def collect(agen: AsyncIterable[T]) -> list[T]:
    """Gather an async iterable into a list, for blocking wrappers of generators."""
    return [item async for item in agen]


def remember(cache: dict[str, Any], name: str, value: T) -> T:
    """Store `value` in a `functools.cached_property` cache (the instance's
    `__dict__`) for the property's async method, and return what the cache holds.

    The first value stored wins: the method awaited twice at once on one object
    may fetch twice (as two threads reading the property may), never after that.
    """
    return cast(T, cache.setdefault(name, value))


_ssl_context: ssl.SSLContext | None = None


def shared_ssl_context() -> ssl.SSLContext:
    """httpx's default SSL context, built once and shared by every client made here.

    Building one loads the CA bundle, tens of milliseconds of CPU: a client made per
    call (`async with httpx.AsyncClient() as client`) would otherwise pay that on
    every request and serialise concurrent requests behind it.
    """
    global _ssl_context
    if _ssl_context is None:
        # Imported here so that this module needs httpx only where it is used.
        _ssl_context = importlib.import_module("httpx").create_ssl_context()
    assert _ssl_context is not None
    return _ssl_context


@contextlib.asynccontextmanager
async def http_client(**options: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An `httpx.AsyncClient` with `options` for the requests of one statement.

    Inside a wrapper's call or a gather, the client the batch shares (one per set
    of options, closed when the batch ends); elsewhere one of its own, closed after
    the statement, as `requests.get` closes its session.
    """
    pool = _client_pool.get()
    if pool is not None:
        yield pool.shared(options, lambda: httpx.AsyncClient(**options))
        return
    async with httpx.AsyncClient(**options) as client:
        yield client


_Arg = Union[str, bytes, "os.PathLike[str]"]
_Command = Union[_Arg, Sequence[_Arg]]
_Path = Union[str, "os.PathLike[str]"]


def _text_codec(
    text: bool | None,
    universal_newlines: bool | None,
    encoding: str | None,
    errors: str | None,
) -> str | None:
    # subprocess works in text mode when any of these is given, in the locale's
    # encoding unless told; None means bytes.
    if text or universal_newlines or encoding or errors:
        return encoding or locale.getpreferredencoding(False)
    return None


def _encoded(
    data: bytes | str | None, codec: str | None, errors: str | None
) -> bytes | None:
    if isinstance(data, str):
        codec = codec or locale.getpreferredencoding(False)
        return data.encode(codec, errors or "strict")
    return data


def _decoded(raw: bytes | None, codec: str | None, errors: str | None) -> Any:
    # Text mode reads with universal newlines, as subprocess does.
    if raw is None or codec is None:
        return raw
    decoded = raw.decode(codec, errors or "strict")
    return decoded.replace("\r\n", "\n").replace("\r", "\n")


async def _start_process(
    args: _Command, shell: bool, streams: dict[str, Any]
) -> asyncio.subprocess.Process:
    # The command as subprocess runs it, with or without a shell.
    argv = [args] if isinstance(args, (str, bytes, os.PathLike)) else list(args)
    if shell and isinstance(args, (str, bytes)):
        # asyncio hands the command to Popen(shell=True), as subprocess does.
        return await asyncio.create_subprocess_shell(args, **streams)
    if shell and os.name == "posix":
        # subprocess runs the command, then its arguments, with /bin/sh -c.
        return await asyncio.create_subprocess_exec("/bin/sh", "-c", *argv, **streams)
    if shell:
        return await asyncio.create_subprocess_shell(
            subprocess.list2cmdline([os.fspath(a) for a in argv]), **streams
        )
    return await asyncio.create_subprocess_exec(*argv, **streams)


# Overloads as typeshed gives subprocess.run: text output is `str`, the rest `bytes`,
# so converted code type-checks exactly as the call it replaced.
@overload
async def run_process(
    args: _Command,
    *,
    input: bytes | str | None = None,
    capture_output: bool = False,
    stdout: int | None = None,
    stderr: int | None = None,
    text: Literal[True],
    universal_newlines: bool | None = None,
    encoding: str | None = None,
    errors: str | None = None,
    check: bool = False,
    timeout: float | None = None,  # noqa: ASYNC109
    cwd: _Path | None = None,
    env: Mapping[str, str] | None = None,
    shell: bool = False,
) -> subprocess.CompletedProcess[str]: ...
@overload
async def run_process(
    args: _Command,
    *,
    input: bytes | str | None = None,
    capture_output: bool = False,
    stdout: int | None = None,
    stderr: int | None = None,
    text: bool | None = None,
    universal_newlines: Literal[True],
    encoding: str | None = None,
    errors: str | None = None,
    check: bool = False,
    timeout: float | None = None,  # noqa: ASYNC109
    cwd: _Path | None = None,
    env: Mapping[str, str] | None = None,
    shell: bool = False,
) -> subprocess.CompletedProcess[str]: ...
@overload
async def run_process(
    args: _Command,
    *,
    input: bytes | str | None = None,
    capture_output: bool = False,
    stdout: int | None = None,
    stderr: int | None = None,
    text: bool | None = None,
    universal_newlines: bool | None = None,
    encoding: str,
    errors: str | None = None,
    check: bool = False,
    timeout: float | None = None,  # noqa: ASYNC109
    cwd: _Path | None = None,
    env: Mapping[str, str] | None = None,
    shell: bool = False,
) -> subprocess.CompletedProcess[str]: ...
@overload
async def run_process(
    args: _Command,
    *,
    input: bytes | str | None = None,
    capture_output: bool = False,
    stdout: int | None = None,
    stderr: int | None = None,
    text: bool | None = None,
    universal_newlines: bool | None = None,
    encoding: str | None = None,
    errors: str,
    check: bool = False,
    timeout: float | None = None,  # noqa: ASYNC109
    cwd: _Path | None = None,
    env: Mapping[str, str] | None = None,
    shell: bool = False,
) -> subprocess.CompletedProcess[str]: ...
@overload
async def run_process(
    args: _Command,
    *,
    input: bytes | None = None,
    capture_output: bool = False,
    stdout: int | None = None,
    stderr: int | None = None,
    text: Literal[False] | None = None,
    universal_newlines: Literal[False] | None = None,
    encoding: None = None,
    errors: None = None,
    check: bool = False,
    timeout: float | None = None,  # noqa: ASYNC109
    cwd: _Path | None = None,
    env: Mapping[str, str] | None = None,
    shell: bool = False,
) -> subprocess.CompletedProcess[bytes]: ...


async def run_process(
    args: _Command,
    *,
    input: bytes | str | None = None,
    capture_output: bool = False,
    stdout: int | None = None,
    stderr: int | None = None,
    text: bool | None = None,
    universal_newlines: bool | None = None,
    encoding: str | None = None,
    errors: str | None = None,
    check: bool = False,
    # The same keyword as subprocess.run, whose calls this replaces one for one.
    timeout: float | None = None,  # noqa: ASYNC109
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    shell: bool = False,
) -> subprocess.CompletedProcess[Any]:
    """`subprocess.run` on asyncio's subprocess support.

    Same arguments, result and exceptions as the call it replaces: output decoded
    as text when asked, `TimeoutExpired` after killing the process, and
    `CalledProcessError` with `check=True`. Cancelling the caller kills the process.
    """
    if capture_output:
        if stdout is not None or stderr is not None:
            raise ValueError(
                "stdout and stderr arguments may not be used with capture_output."
            )
        stdout = stderr = subprocess.PIPE
    codec = _text_codec(text, universal_newlines, encoding, errors)
    data = _encoded(input, codec, errors)
    streams: dict[str, Any] = {
        "stdin": subprocess.PIPE if data is not None else None,
        "stdout": stdout,
        "stderr": stderr,
        "cwd": cwd,
        "env": env,
    }
    process = await _start_process(args, shell, streams)
    try:
        out, err = await asyncio.wait_for(process.communicate(data), timeout)
    except asyncio.TimeoutError:
        process.kill()
        out, err = await process.communicate()
        raise subprocess.TimeoutExpired(
            args, timeout or 0.0, output=out, stderr=err
        ) from None
    except BaseException:
        # Cancelled: the process must not outlive the code that started it.
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise

    returncode = process.returncode
    if returncode is None:
        returncode = await process.wait()
    result: subprocess.CompletedProcess[Any] = subprocess.CompletedProcess(
        args, returncode, _decoded(out, codec, errors), _decoded(err, codec, errors)
    )
    if check and returncode:
        raise subprocess.CalledProcessError(
            returncode, args, result.stdout, result.stderr
        )
    return result


# Overloads rather than a type variable: a type variable would also be solved from
# where the value goes (`int(await process_output(...))`), and fail.
@overload
async def process_output(run: Awaitable[subprocess.CompletedProcess[str]]) -> str: ...
@overload
async def process_output(
    run: Awaitable[subprocess.CompletedProcess[bytes]],
) -> bytes: ...


async def process_output(run: Awaitable[subprocess.CompletedProcess[Any]]) -> Any:
    """`subprocess.check_output`'s value: what `run_process` captured on stdout.

    The rewrite passes `stdout=PIPE, check=True`, so a failing command raises
    `CalledProcessError` with its output, as `check_output` does.
    """
    return (await run).stdout


async def process_status(run: Awaitable[subprocess.CompletedProcess[Any]]) -> int:
    """The value of `subprocess.call` and `check_call`: `run_process`'s exit status."""
    return (await run).returncode


_Stream = Union[int, IO[Any], None]
_Output = Tuple[Optional[bytes], Optional[bytes]]


class AsyncProcess:
    """A `subprocess.Popen` on asyncio's subprocess support, made by `open_process`.

    It has the parts of Popen that code waiting for a child process uses, with
    Popen's meaning: `args`, `pid`, `returncode`, `poll()`, `kill()`,
    `terminate()`, `send_signal()`, and, awaited, `wait()` and `communicate()`.
    A timeout raises `TimeoutExpired` and leaves the process running; calling
    `communicate()` again then loses no output. Cancelling the caller of `wait()`
    or `communicate()`, or of the `async with` block, kills the process: it never
    outlives the code that started it.

    `returncode` and `poll()` give the exit status the event loop has seen: code
    polling for it must await something between polls (it does when it sleeps).
    """

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        args: _Command,
        codec: str | None,
        errors: str | None,
    ) -> None:
        self.args = args
        self._process = process
        self._codec = codec
        self._errors = errors
        # The one exchange with the process, which every communicate() call awaits.
        self._communication: asyncio.Task[_Output] | None = None

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def returncode(self) -> int | Any:  # as typeshed types Popen.returncode
        return self._process.returncode

    def poll(self) -> int | None:
        return self._process.returncode

    def send_signal(self, sig: int) -> None:
        # Popen does nothing once the process has ended.
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.send_signal(sig)

    def terminate(self) -> None:
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.terminate()

    def kill(self) -> None:
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()

    async def wait(self, timeout: float | None = None) -> int:  # noqa: ASYNC109
        """`Popen.wait`: the exit status.

        `TimeoutExpired` leaves the process running."""
        try:
            return await asyncio.wait_for(self._process.wait(), timeout)
        except asyncio.TimeoutError:
            raise subprocess.TimeoutExpired(self.args, timeout or 0.0) from None
        except asyncio.CancelledError:
            self.kill()
            raise

    async def communicate(
        self,
        input: bytes | str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> tuple[Any, Any]:
        """`Popen.communicate`: send `input`, read stdout and stderr to their end,
        wait for the process. `TimeoutExpired` leaves the process running and the
        exchange going, so a later call returns everything it read."""
        if self._communication is None:
            data = _encoded(input, self._codec, self._errors)
            self._communication = asyncio.ensure_future(self._exchange(data))
        elif input:
            raise ValueError("Cannot send input after starting communication")
        task = self._communication
        try:
            out, err = await asyncio.wait_for(asyncio.shield(task), timeout)
        except asyncio.TimeoutError:
            raise subprocess.TimeoutExpired(self.args, timeout or 0.0) from None
        except asyncio.CancelledError:
            self.kill()
            # The exchange ends with the process; a second cancellation stops
            # waiting for it.
            with contextlib.suppress(BaseException):
                await task
            raise
        return self._decoded(out), self._decoded(err)

    def _decoded(self, raw: bytes | None) -> Any:
        return _decoded(raw, self._codec, self._errors)

    async def _exchange(self, data: bytes | None) -> _Output:
        process = self._process

        async def feed(stdin: asyncio.StreamWriter | None) -> None:
            # Input written while the output is read, so that neither side blocks.
            if stdin is None:
                return
            try:
                if data:
                    stdin.write(data)
                    await stdin.drain()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the process stopped reading: Popen ignores it too
            finally:
                stdin.close()

        async def read(stream: asyncio.StreamReader | None) -> bytes | None:
            return None if stream is None else await stream.read()

        _, out, err = await asyncio.gather(
            feed(process.stdin), read(process.stdout), read(process.stderr)
        )
        await process.wait()
        return out, err

    async def __aenter__(self) -> AsyncProcess:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, *_: object) -> None:
        # As Popen's `with`: close stdin, wait for the process; unless the block was
        # cancelled, which kills it instead.
        if self._process.stdin is not None:
            self._process.stdin.close()
        if kind is not None and issubclass(kind, asyncio.CancelledError):
            self.kill()
        await self.wait()


async def open_process(
    args: _Command,
    *,
    stdin: _Stream = None,
    stdout: _Stream = None,
    stderr: _Stream = None,
    text: bool | None = None,
    universal_newlines: bool | None = None,
    encoding: str | None = None,
    errors: str | None = None,
    cwd: _Path | None = None,
    env: Mapping[str, str] | None = None,
    shell: bool = False,
) -> AsyncProcess:
    """`subprocess.Popen(args, ...)` on asyncio's subprocess support: the same
    arguments with the same meaning (the command with or without a shell, text
    mode), the started process as an `AsyncProcess`."""
    streams: dict[str, Any] = {
        "stdin": stdin,
        "stdout": stdout,
        "stderr": stderr,
        "cwd": cwd,
        "env": env,
    }
    process = await _start_process(args, shell, streams)
    codec = _text_codec(text, universal_newlines, encoding, errors)
    return AsyncProcess(process, args, codec, errors)


def _next_items(iterator: Iterator[T]) -> list[T]:
    # StopIteration cannot travel through a future: an empty list says "no more".
    for item in iterator:
        return [item]
    return []


async def iterate_in_thread(make: Callable[[], Iterable[T]]) -> AsyncIterator[T]:
    """Iterate `make()` item by item in one thread of its own, for `async for`.

    For a loop whose iteration blocks (`iter(lambda: f.read(n), b"")`, a cursor):
    items are made one at a time, as lazily as the sync loop made them, and all
    in the same thread, so objects made during the iteration stay in their thread.
    """
    loop = asyncio.get_running_loop()
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        iterator = await loop.run_in_executor(executor, lambda: iter(make()))
        while True:
            batch = await loop.run_in_executor(executor, _next_items, iterator)
            if not batch:
                return
            yield batch[0]
    finally:
        executor.shutdown(wait=False)
