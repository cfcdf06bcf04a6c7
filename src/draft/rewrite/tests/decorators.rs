//! Before/after cases of the decorators phase ([`super`]).

use crate::draft::rewrite::testing::*;

#[test]
fn refuses_a_wrapper_that_never_calls_the_function() {
    assert_refused(
        r#"import functools
import time
from typing import Any, Callable


def skip(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return None

    return wrapper


@skip
def pause(seconds: float) -> None:
    time.sleep(seconds)
"#,
        r#"app.py:8: the decorator's wrapper never calls `func`"#,
    );
}

#[test]
fn wraps_wrapper_gains_an_async_twin() {
    assert_codemod(
        r#"import functools
import time
from typing import Any, Callable


def retry(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except OSError:
            time.sleep(1)
            return func(*args, **kwargs)

    return wrapper


@retry
def pause(seconds: float) -> None:
    time.sleep(seconds)
"#,
        r#"import asyncio
import functools
import inspect
import time
from typing import Any, Callable, cast
from _async_bridge import run_sync


def retry(func: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return await cast(Any, func)(*args, **kwargs)
            except OSError:
                await asyncio.sleep(1)
                return await cast(Any, func)(*args, **kwargs)

        return cast("Callable[..., Any]", async_wrapper)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except OSError:
            time.sleep(1)
            return func(*args, **kwargs)

    return wrapper


@retry
async def pause_async(seconds: float) -> None:
    await asyncio.sleep(seconds)


def pause(seconds: float) -> None:
    """Sync wrapper of `pause_async`, kept for existing callers."""
    run_sync(pause_async(seconds), "pause_async")
"#,
    );
}

#[test]
fn refuses_wraps_without_the_wrapped_name() {
    assert_refused(
        r#"import functools
import time
from typing import Any, Callable


def logged(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(getattr(func, "__wrapped__", func))
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


@logged
def pause(seconds: float) -> None:
    time.sleep(seconds)
"#,
        r#"app.py:8: `wraps(...)` does not name the wrapped function"#,
    );
}

#[test]
fn registering_decorator_stays_on_a_sync_shell() {
    assert_codemod(
        r#"import time
from typing import Any, Callable

COMMANDS: dict[str, Callable[..., Any]] = {}


def command(func: Callable[..., Any]) -> Callable[..., Any]:
    COMMANDS[func.__name__] = func
    return func


def _pause(seconds: float) -> None:
    time.sleep(seconds)


@command
def pause_all(items: list[float]) -> None:
    """Pause once per item."""
    for seconds in items:
        _pause(seconds)
"#,
        r#"import asyncio
from typing import Any, Callable
from _async_bridge import run_sync

COMMANDS: dict[str, Callable[..., Any]] = {}


def command(func: Callable[..., Any]) -> Callable[..., Any]:
    COMMANDS[func.__name__] = func
    return func


async def _pause(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def pause_all_async(items: list[float]) -> None:
    """Pause once per item."""
    for seconds in items:
        await _pause(seconds)


@command
def pause_all(items: list[float]) -> None:
    """Pause once per item."""
    run_sync(pause_all_async(items), "pause_all_async")
"#,
    );
}

#[test]
fn generator_based_context_manager_is_refused() {
    assert_refused(
        r#"import contextlib
import time
from collections.abc import Iterator


def _pause(seconds: float) -> None:
    time.sleep(seconds)


@contextlib.contextmanager
def paused(seconds: float) -> Iterator[None]:
    _pause(seconds)
    yield
    _pause(seconds)
"#,
        "decorator `@contextlib.contextmanager` relies on the function being a generator",
    );
}

#[test]
fn lru_cached_function_stays_sync_and_takes_turns_in_a_thread() {
    assert_codemod(
        r#"import functools
import time


@functools.lru_cache(maxsize=8)
def rate(currency: str) -> float:
    time.sleep(0.1)
    return 1.5


def total(currencies: list[str]) -> float:
    time.sleep(0.1)
    return sum(rate(c) for c in currencies) + rate("EUR")
"#,
        r#"import asyncio
import functools
import time
from _async_bridge import run_sync, to_thread_cached


@functools.lru_cache(maxsize=8)
def rate(currency: str) -> float:
    time.sleep(0.1)
    return 1.5


async def total_async(currencies: list[str]) -> float:
    await asyncio.sleep(0.1)
    return sum([await to_thread_cached(rate, c) for c in currencies]) + await to_thread_cached(rate, "EUR")


def total(currencies: list[str]) -> float:
    """Sync wrapper of `total_async`, kept for existing callers."""
    return run_sync(total_async(currencies), "total_async")
"#,
    );
}

#[test]
fn repository_memoiser_keeps_the_function_sync() {
    let plans = plans_of(&[(
        "app.py",
        r#"import functools
import time
from typing import Any, Callable


def memoize(func: Callable[..., Any]) -> Callable[..., Any]:
    cache: dict[Any, Any] = {}

    @functools.wraps(func)
    def wrapper(*args: Any) -> Any:
        if args not in cache:
            cache[args] = func(*args)
        return cache[args]

    return wrapper


@memoize
def rate(currency: str) -> float:
    time.sleep(0.1)
    return 1.5


def total(currencies: list[str]) -> float:
    time.sleep(0.1)
    return rate("EUR")
"#,
    )]);
    assert!(plans.iter().all(|p| p.functions.iter().all(|f| f.qualname != "app.rate")), "{plans:#?}");
    assert!(plans.iter().any(|p| p.kept_sync.iter().any(|k| k.function == "app.rate")), "{plans:#?}");
}
