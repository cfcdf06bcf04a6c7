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
