//! Before/after cases of the statements phase ([`super`]).

use crate::draft::rewrite::testing::*;

#[test]
fn generator_expression_in_an_eager_call_becomes_a_list() {
    assert_codemod(
        r#"import time


def slow(x: int) -> int:
    time.sleep(0.1)
    return x


def total(xs: list[int]) -> int:
    return sum(slow(x) for x in xs)
"#,
        r#"import asyncio
from _async_bridge import run_sync


async def slow_async(x: int) -> int:
    await asyncio.sleep(0.1)
    return x


def slow(x: int) -> int:
    """Sync wrapper of `slow_async`, kept for existing callers."""
    return run_sync(slow_async(x), "slow_async")


async def total_async(xs: list[int]) -> int:
    return sum([await slow_async(x) for x in xs])


def total(xs: list[int]) -> int:
    """Sync wrapper of `total_async`, kept for existing callers."""
    return run_sync(total_async(xs), "total_async")
"#,
    );
}

#[test]
fn refuses_await_in_a_lazy_generator_expression() {
    assert_refused(
        r#"import time
from typing import Iterable


def slow(x: int) -> int:
    time.sleep(0.1)
    return x


def lazy(xs: list[int]) -> Iterable[int]:
    values = (slow(x) for x in xs)
    return values
"#,
        r#"app.py:11: an awaited call inside a generator expression"#,
    );
}

#[test]
fn yield_from_becomes_a_loop() {
    assert_codemod(
        r#"import time
from typing import Iterator


def ticks(n: int) -> Iterator[int]:
    time.sleep(0.1)
    yield from range(n)
"#,
        r#"import asyncio
from typing import AsyncIterator, Iterator
from _async_bridge import collect, run_sync


async def ticks_async(n: int) -> AsyncIterator[int]:
    await asyncio.sleep(0.1)
    for item in range(n):
        yield item


def ticks(n: int) -> Iterator[int]:
    """Sync wrapper of `ticks_async`, kept for existing callers."""
    yield from run_sync(collect(ticks_async(n)), "ticks_async")
"#,
    );
}
