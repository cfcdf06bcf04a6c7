//! Before/after cases of the functions phase ([`super`]).

use crate::draft::rewrite::testing::*;

#[test]
fn generator_annotation_drops_return_type() {
    assert_codemod(
        r#"import time
from collections.abc import Generator


def ticks(n: int) -> Generator[int, None, None]:
    for i in range(n):
        time.sleep(0.1)
        yield i
"#,
        r#"import asyncio
from collections.abc import AsyncGenerator, Generator
from _async_bridge import collect, run_sync


async def ticks_async(n: int) -> AsyncGenerator[int, None]:
    for i in range(n):
        await asyncio.sleep(0.1)
        yield i


def ticks(n: int) -> Generator[int, None, None]:
    """Sync wrapper of `ticks_async`, kept for existing callers."""
    yield from run_sync(collect(ticks_async(n)), "ticks_async")
"#,
    );
}

#[test]
fn generator_becomes_async_generator() {
    assert_codemod(
        r#"import time
from typing import Iterator


def ticks(n: int) -> Iterator[int]:
    for i in range(n):
        time.sleep(0.1)
        yield i
"#,
        r#"import asyncio
from typing import AsyncIterator, Iterator
from _async_bridge import collect, run_sync


async def ticks_async(n: int) -> AsyncIterator[int]:
    for i in range(n):
        await asyncio.sleep(0.1)
        yield i


def ticks(n: int) -> Iterator[int]:
    """Sync wrapper of `ticks_async`, kept for existing callers."""
    yield from run_sync(collect(ticks_async(n)), "ticks_async")
"#,
    );
}

#[test]
fn private_helper_needs_no_wrapper() {
    assert_codemod(
        r#"import time


def _pause(seconds: float) -> None:
    time.sleep(seconds)


def pause_twice(seconds: float) -> None:
    _pause(seconds)
    _pause(seconds)
"#,
        r#"import asyncio
from _async_bridge import run_sync


async def _pause(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def pause_twice_async(seconds: float) -> None:
    await _pause(seconds)
    await _pause(seconds)


def pause_twice(seconds: float) -> None:
    """Sync wrapper of `pause_twice_async`, kept for existing callers."""
    run_sync(pause_twice_async(seconds), "pause_twice_async")
"#,
    );
}

#[test]
fn refuses_generator_returning_a_value() {
    assert_refused(
        r#"import time
from typing import Generator


def ticks(n: int) -> Generator[int, None, str]:
    for i in range(n):
        time.sleep(0.1)
        yield i
    return "done"
"#,
        r#"app.py:9: a generator that returns a value cannot become an async generator"#,
    );
}

#[test]
fn static_and_class_methods_keep_their_decorators() {
    assert_codemod(
        r#"import time


class Clock:
    @staticmethod
    def tick(seconds: float) -> None:
        time.sleep(seconds)

    @classmethod
    def tock(cls, seconds: float, *, twice: bool = False) -> None:
        time.sleep(seconds)
"#,
        r#"import asyncio
from _async_bridge import run_sync


class Clock:
    @staticmethod
    async def tick_async(seconds: float) -> None:
        await asyncio.sleep(seconds)

    @staticmethod
    def tick(seconds: float) -> None:
        """Sync wrapper of `tick_async`, kept for existing callers."""
        run_sync(Clock.tick_async(seconds), "tick_async")

    @classmethod
    async def tock_async(cls, seconds: float, *, twice: bool = False) -> None:
        await asyncio.sleep(seconds)

    @classmethod
    def tock(cls, seconds: float, *, twice: bool = False) -> None:
        """Sync wrapper of `tock_async`, kept for existing callers."""
        run_sync(cls.tock_async(seconds, twice=twice), "tock_async")
"#,
    );
}

const STORE: &str = r#"import time


class Store:
    def _load(self, key: str) -> str:
        time.sleep(0.1)
        return key
"#;

const STORE_TEST: &str = r#"import pytest

from app import Store


@pytest.fixture
def store() -> Store:
    return Store()


def test_load(store: Store) -> None:
    assert store._load("a") == "a"
"#;

/// A test reaching a method without a sync wrapper through a fixture awaits it;
/// pytest-asyncio's auto mode needs no mark, its strict mode does.
#[test]
fn test_through_a_fixture_becomes_async_in_the_project_asyncio_mode() {
    let auto = "[tool.pytest.ini_options]\nasyncio_mode = \"auto\"\n";
    for (pyproject, mark) in [(auto, ""), ("[project]\nname = \"app\"\n", "@pytest.mark.asyncio\n")] {
        let files = [("app.py", STORE), ("test_app.py", STORE_TEST), ("pyproject.toml", pyproject)];
        let changed = codemod(&files).unwrap_or_else(|r| panic!("refused: {r:#?}")).changed;
        let want = format!(
            "{}{mark}async def test_load(store: Store) -> None:\n    assert await store._load(\"a\") == \"a\"\n",
            &STORE_TEST[..STORE_TEST.find("def test_load").unwrap()]
        );
        assert_eq!(changed.get("test_app.py").map(String::as_str), Some(want.as_str()), "{changed:#?}");
    }
}
