//! Before/after cases of the gathers phase ([`super`]).

use crate::draft::rewrite::testing::*;

#[test]
fn comprehension_becomes_gather_bounded() {
    assert_codemod(
        r#"import time


def slow(x: int) -> int:
    if x:
        time.sleep(0.1)
    return x


def all_slow(xs: list[int]) -> list[int]:
    return [slow(x) for x in xs]
"#,
        r#"import asyncio
from _async_bridge import gather_bounded, run_sync


async def slow_async(x: int) -> int:
    if x:
        await asyncio.sleep(0.1)
    return x


def slow(x: int) -> int:
    """Sync wrapper of `slow_async`, kept for existing callers."""
    return run_sync(slow_async(x), "slow_async")


async def all_slow_async(xs: list[int]) -> list[int]:
    return await gather_bounded([slow_async(x) for x in xs], limit=8)


def all_slow(xs: list[int]) -> list[int]:
    """Sync wrapper of `all_slow_async`, kept for existing callers."""
    return run_sync(all_slow_async(xs), "all_slow_async")
"#,
    );
}

#[test]
fn loop_becomes_bounded_gather() {
    assert_codemod(
        r#"import time


def slow(x: int) -> int:
    if x:
        time.sleep(0.1)
    return x


def squares(xs: list[int]) -> list[int]:
    out = []
    for x in xs:
        value = slow(x)
        out.append(value * value)
    return out
"#,
        r#"import asyncio
from _async_bridge import Turn, for_each_bounded, run_sync


async def slow_async(x: int) -> int:
    if x:
        await asyncio.sleep(0.1)
    return x


def slow(x: int) -> int:
    """Sync wrapper of `slow_async`, kept for existing callers."""
    return run_sync(slow_async(x), "slow_async")


async def squares_async(xs: list[int]) -> list[int]:
    out = []
    _x_items = list(xs)

    async def _each_x(_index: int, _turn: Turn) -> None:
        x = _x_items[_index]
        value = await slow_async(x)
        await _turn()
        out.append(value * value)

    await for_each_bounded(len(_x_items), _each_x, limit=8)
    return out


def squares(xs: list[int]) -> list[int]:
    """Sync wrapper of `squares_async`, kept for existing callers."""
    return run_sync(squares_async(xs), "squares_async")
"#,
    );
}

#[test]
fn loop_variable_used_after_stays_sequential() {
    assert_codemod(
        r#"import time


def slow(x: int) -> int:
    if x:
        time.sleep(0.1)
    return x


def squares(xs: list[int]) -> list[int]:
    out = []
    for x in xs:
        value = slow(x)
        out.append(value)
    print(value)
    return out
"#,
        r#"import asyncio
from _async_bridge import run_sync


async def slow_async(x: int) -> int:
    if x:
        await asyncio.sleep(0.1)
    return x


def slow(x: int) -> int:
    """Sync wrapper of `slow_async`, kept for existing callers."""
    return run_sync(slow_async(x), "slow_async")


async def squares_async(xs: list[int]) -> list[int]:
    out = []
    for x in xs:
        value = await slow_async(x)
        out.append(value)
    print(value)
    return out


def squares(xs: list[int]) -> list[int]:
    """Sync wrapper of `squares_async`, kept for existing callers."""
    return run_sync(squares_async(xs), "squares_async")
"#,
    );
    // The analysis sees the last `value` read after the loop: no gather is planned.
}

#[test]
fn loop_with_else_stays_sequential() {
    assert_codemod(
        r#"import time


def slow(x: int) -> int:
    if x:
        time.sleep(0.1)
    return x


def squares(xs: list[int]) -> list[int]:
    out = []
    for x in xs:
        out.append(slow(x))
    else:
        out.append(0)
    return out
"#,
        r#"import asyncio
from _async_bridge import run_sync


async def slow_async(x: int) -> int:
    if x:
        await asyncio.sleep(0.1)
    return x


def slow(x: int) -> int:
    """Sync wrapper of `slow_async`, kept for existing callers."""
    return run_sync(slow_async(x), "slow_async")


async def squares_async(xs: list[int]) -> list[int]:
    out = []
    for x in xs:
        out.append(await slow_async(x))
    else:
        out.append(0)
    return out


def squares(xs: list[int]) -> list[int]:
    """Sync wrapper of `squares_async`, kept for existing callers."""
    return run_sync(squares_async(xs), "squares_async")
"#,
    );
    assert_note(
        r#"import time


def slow(x: int) -> int:
    if x:
        time.sleep(0.1)
    return x


def squares(xs: list[int]) -> list[int]:
    out = []
    for x in xs:
        out.append(slow(x))
    else:
        out.append(0)
    return out
"#,
        r#"app.py:12: loop kept sequential: it has an `else:` clause"#,
    );
}

#[test]
fn comprehension_awaiting_in_its_condition_stays_sequential() {
    assert_codemod(
        r#"import time


def slow(x: int) -> int:
    if x:
        time.sleep(0.1)
    return x


def positive(xs: list[int]) -> list[int]:
    return [slow(x) for x in xs if slow(x) > 0]
"#,
        r#"import asyncio
from _async_bridge import run_sync


async def slow_async(x: int) -> int:
    if x:
        await asyncio.sleep(0.1)
    return x


def slow(x: int) -> int:
    """Sync wrapper of `slow_async`, kept for existing callers."""
    return run_sync(slow_async(x), "slow_async")


async def positive_async(xs: list[int]) -> list[int]:
    return [await slow_async(x) for x in xs if await slow_async(x) > 0]


def positive(xs: list[int]) -> list[int]:
    """Sync wrapper of `positive_async`, kept for existing callers."""
    return run_sync(positive_async(xs), "positive_async")
"#,
    );
    assert_note(
        r#"import time


def slow(x: int) -> int:
    if x:
        time.sleep(0.1)
    return x


def positive(xs: list[int]) -> list[int]:
    return [slow(x) for x in xs if slow(x) > 0]
"#,
        r#"app.py:11: comprehension kept sequential: it awaits in more than its element"#,
    );
}

#[test]
fn loop_declaring_global_stays_sequential() {
    assert_codemod(
        r#"import time

TOTAL = 0


def slow(x: int) -> int:
    if x:
        time.sleep(0.1)
    return x


def add_all(xs: list[int]) -> list[int]:
    out = []
    for x in xs:
        global TOTAL
        out.append(slow(x))
    return out
"#,
        r#"import asyncio
from _async_bridge import run_sync

TOTAL = 0


async def slow_async(x: int) -> int:
    if x:
        await asyncio.sleep(0.1)
    return x


def slow(x: int) -> int:
    """Sync wrapper of `slow_async`, kept for existing callers."""
    return run_sync(slow_async(x), "slow_async")


async def add_all_async(xs: list[int]) -> list[int]:
    out = []
    for x in xs:
        global TOTAL
        out.append(await slow_async(x))
    return out


def add_all(xs: list[int]) -> list[int]:
    """Sync wrapper of `add_all_async`, kept for existing callers."""
    return run_sync(add_all_async(xs), "add_all_async")
"#,
    );
    assert_note(
        r#"import time

TOTAL = 0


def slow(x: int) -> int:
    if x:
        time.sleep(0.1)
    return x


def add_all(xs: list[int]) -> list[int]:
    out = []
    for x in xs:
        global TOTAL
        out.append(slow(x))
    return out
"#,
        r#"app.py:14: loop kept sequential: it declares `global` or `nonlocal` names"#,
    );
}

#[test]
fn loop_target_read_after_the_loop_stays_sequential() {
    assert_no_gather(
        r#"import time


def slow(x: int) -> int:
    if x:
        time.sleep(0.1)
    return x


def last(xs: list[int]) -> int:
    out = []
    for x in xs:
        out.append(slow(x))
    return x
"#,
    );
}

#[test]
fn name_reused_by_an_earlier_loop_is_still_gathered() {
    assert_codemod(
        r#"import time


def slow(x: int) -> int:
    if x:
        time.sleep(0.1)
    return x


def squares(xs: list[int], ys: list[int]) -> list[int]:
    for value in ys:
        print(value)
    out = []
    for x in xs:
        value = slow(x)
        out.append(value * value)
    return out
"#,
        r#"import asyncio
from _async_bridge import Turn, for_each_bounded, run_sync


async def slow_async(x: int) -> int:
    if x:
        await asyncio.sleep(0.1)
    return x


def slow(x: int) -> int:
    """Sync wrapper of `slow_async`, kept for existing callers."""
    return run_sync(slow_async(x), "slow_async")


async def squares_async(xs: list[int], ys: list[int]) -> list[int]:
    for value in ys:
        print(value)
    out = []
    _x_items = list(xs)

    async def _each_x(_index: int, _turn: Turn) -> None:
        x = _x_items[_index]
        value = await slow_async(x)
        await _turn()
        out.append(value * value)

    await for_each_bounded(len(_x_items), _each_x, limit=8)
    return out


def squares(xs: list[int], ys: list[int]) -> list[int]:
    """Sync wrapper of `squares_async`, kept for existing callers."""
    return run_sync(squares_async(xs, ys), "squares_async")
"#,
    );
}

#[test]
fn accumulator_read_in_the_body_stays_sequential() {
    assert_no_gather(
        r#"import time


def slow(x: int) -> int:
    if x:
        time.sleep(0.1)
    return x


def total(xs: list[int]) -> int:
    total = 0
    for x in xs:
        total = total + slow(x)
    return total
"#,
    );
}

#[test]
fn name_assigned_again_after_the_loop_is_still_gathered() {
    assert_codemod(
        r#"import time


def slow(x: int) -> int:
    if x:
        time.sleep(0.1)
    return x


def squares(xs: list[int]) -> list[int]:
    out = []
    for x in xs:
        value = slow(x)
        out.append(value * value)
    value = 0
    return out + [value]
"#,
        r#"import asyncio
from _async_bridge import Turn, for_each_bounded, run_sync


async def slow_async(x: int) -> int:
    if x:
        await asyncio.sleep(0.1)
    return x


def slow(x: int) -> int:
    """Sync wrapper of `slow_async`, kept for existing callers."""
    return run_sync(slow_async(x), "slow_async")


async def squares_async(xs: list[int]) -> list[int]:
    out = []
    _x_items = list(xs)

    async def _each_x(_index: int, _turn: Turn) -> None:
        x = _x_items[_index]
        value = await slow_async(x)
        await _turn()
        out.append(value * value)

    await for_each_bounded(len(_x_items), _each_x, limit=8)
    value = 0
    return out + [value]


def squares(xs: list[int]) -> list[int]:
    """Sync wrapper of `squares_async`, kept for existing callers."""
    return run_sync(squares_async(xs), "squares_async")
"#,
    );
}

#[test]
fn name_shared_with_an_outer_loop_stays_sequential() {
    assert_no_gather(
        r#"import time


def slow(x: int) -> int:
    if x:
        time.sleep(0.1)
    return x


def grid(rows: list[list[int]]) -> list[int]:
    out = []
    value = 0
    for row in rows:
        out.append(value)
        for x in row:
            value = slow(x)
            out.append(value)
    return out
"#,
    );
}

#[test]
fn accumulator_read_after_the_loop_stays_sequential() {
    // An accumulator is no dependence between items, but the per-item function
    // would need `nonlocal total`: the drafter declines it.
    assert_note(
        r#"import time


def slow(x: int) -> int:
    if x:
        time.sleep(0.1)
    return x


def total(xs: list[int]) -> int:
    total = 0
    for x in xs:
        total += slow(x)
    return total
"#,
        r#"app.py:12: loop kept sequential: `total` is assigned in the loop and used outside it"#,
    );
}

#[test]
fn appends_in_branches_wait_for_the_items_turn() {
    assert_codemod(
        r#"import time


def slow(x: int) -> int:
    if x:
        time.sleep(0.1)
    return x


def positives(xs: list[int]) -> list[int]:
    out = []
    for x in xs:
        if x > 0:
            out.append(slow(x))
        else:
            out.append(0)
    return out
"#,
        r#"import asyncio
from _async_bridge import Turn, for_each_bounded, run_sync


async def slow_async(x: int) -> int:
    if x:
        await asyncio.sleep(0.1)
    return x


def slow(x: int) -> int:
    """Sync wrapper of `slow_async`, kept for existing callers."""
    return run_sync(slow_async(x), "slow_async")


async def positives_async(xs: list[int]) -> list[int]:
    out = []
    _x_items = list(xs)

    async def _each_x(_index: int, _turn: Turn) -> None:
        x = _x_items[_index]
        if x > 0:
            _value = await slow_async(x)
            await _turn()
            out.append(_value)
        else:
            await _turn()
            out.append(0)

    await for_each_bounded(len(_x_items), _each_x, limit=8)
    return out


def positives(xs: list[int]) -> list[int]:
    """Sync wrapper of `positives_async`, kept for existing callers."""
    return run_sync(positives_async(xs), "positives_async")
"#,
    );
}

#[test]
fn seen_set_is_checked_and_filled_before_the_first_await() {
    // Items start in input order and run up to their first await one after
    // another, so each check sees exactly the items before it.
    assert_codemod(
        r#"import time


def slow(x: int) -> int:
    if x:
        time.sleep(0.1)
    return x


def unique(xs: list[int]) -> list[int]:
    seen = set()
    out = []
    for x in xs:
        if x in seen:
            continue
        seen.add(x)
        out.append(slow(x))
    return out
"#,
        r#"import asyncio
from _async_bridge import Turn, for_each_bounded, run_sync


async def slow_async(x: int) -> int:
    if x:
        await asyncio.sleep(0.1)
    return x


def slow(x: int) -> int:
    """Sync wrapper of `slow_async`, kept for existing callers."""
    return run_sync(slow_async(x), "slow_async")


async def unique_async(xs: list[int]) -> list[int]:
    seen = set()
    out = []
    _x_items = list(xs)

    async def _each_x(_index: int, _turn: Turn) -> None:
        x = _x_items[_index]
        if x in seen:
            await _turn()
            return
        seen.add(x)
        _value = await slow_async(x)
        await _turn()
        out.append(_value)

    await for_each_bounded(len(_x_items), _each_x, limit=8)
    return out


def unique(xs: list[int]) -> list[int]:
    """Sync wrapper of `unique_async`, kept for existing callers."""
    return run_sync(unique_async(xs), "unique_async")
"#,
    );
}

#[test]
fn last_await_in_a_nested_loop_stays_sequential() {
    assert_note(
        r#"import time


def slow(x: int) -> int:
    if x:
        time.sleep(0.1)
    return x


def grid(rows: list[list[int]]) -> list[int]:
    out = []
    for row in rows:
        first = slow(row[0])
        for x in row:
            out.append(first + slow(x))
    return out
"#,
        r#"app.py:12: loop kept sequential: its last await is inside a nested loop"#,
    );
}

#[test]
fn loop_that_sleeps_on_every_item_starts_its_items_apart() {
    let before = r#"import time


def slow(x: int) -> int:
    if x:
        time.sleep(0.1)
    return x


def paced(xs: list[int]) -> list[int]:
    out = []
    for x in xs:
        out.append(slow(x))
        time.sleep(1.0)
    return out
"#;
    let plans = plans_of(&[("app.py", before)]);
    let throttles: Vec<String> = plans
        .iter()
        .flat_map(|p| &p.throttles)
        .map(|t| format!("{}:{} {} {}", t.path, t.line, t.sleep_where(), t.does))
        .collect();
    assert_eq!(
        throttles,
        ["app.py:12 `time.sleep(1.0)` rate-limited: items start at least `1.0` s apart, at most 8 at once"]
    );
    assert!(plans.iter().all(|p| p.gathers.is_empty()));
    assert_codemod(
        before,
        r#"import asyncio
from _async_bridge import Turn, for_each_spaced, run_sync


async def slow_async(x: int) -> int:
    if x:
        await asyncio.sleep(0.1)
    return x


def slow(x: int) -> int:
    """Sync wrapper of `slow_async`, kept for existing callers."""
    return run_sync(slow_async(x), "slow_async")


async def paced_async(xs: list[int]) -> list[int]:
    out = []
    _x_items = list(xs)

    async def _each_x(_index: int, _turn: Turn) -> None:
        x = _x_items[_index]
        _value = await slow_async(x)
        await _turn()
        out.append(_value)

    await for_each_spaced(len(_x_items), _each_x, interval=1.0, limit=8)
    return out


def paced(xs: list[int]) -> list[int]:
    """Sync wrapper of `paced_async`, kept for existing callers."""
    return run_sync(paced_async(xs), "paced_async")
"#,
    );
}

#[test]
fn loop_whose_sleep_depends_on_the_item_stays_sequential() {
    let before = r#"import time


def slow(x: int) -> int:
    if x:
        time.sleep(0.1)
    return x


def paced(xs: list[int]) -> list[int]:
    out = []
    for x in xs:
        wait = slow(x)
        out.append(wait)
        time.sleep(wait)
    return out
"#;
    let plans = plans_of(&[("app.py", before)]);
    let does: Vec<&str> = plans.iter().flat_map(|p| &p.throttles).map(|t| t.does.as_str()).collect();
    assert_eq!(
        does,
        [
            "kept sequential (the interval `wait` is assigned in the loop: it depends on the item); its sleep becomes `await asyncio.sleep`"
        ]
    );
    assert!(plans.iter().flat_map(|p| &p.throttles).all(|t| t.interval.is_none()));
}

#[test]
fn loop_in_a_generator_becomes_bounded_gather() {
    // The generator yields once per batch; the loop over a batch's items does not.
    assert_codemod(
        r#"import time
from collections.abc import Iterator


def slow(x: int) -> int:
    if x:
        time.sleep(0.1)
    return x


def squares(batches: list[list[int]]) -> Iterator[list[int]]:
    for batch in batches:
        out = []
        for x in batch:
            out.append(slow(x))
        yield out
"#,
        r#"import asyncio
from collections.abc import AsyncIterator, Iterator
from _async_bridge import Turn, collect, for_each_bounded, run_sync


async def slow_async(x: int) -> int:
    if x:
        await asyncio.sleep(0.1)
    return x


def slow(x: int) -> int:
    """Sync wrapper of `slow_async`, kept for existing callers."""
    return run_sync(slow_async(x), "slow_async")


async def squares_async(batches: list[list[int]]) -> AsyncIterator[list[int]]:
    for batch in batches:
        out = []
        _x_items = list(batch)

        async def _each_x(_index: int, _turn: Turn) -> None:
            x = _x_items[_index]
            _value = await slow_async(x)
            await _turn()
            out.append(_value)

        await for_each_bounded(len(_x_items), _each_x, limit=8)
        yield out


def squares(batches: list[list[int]]) -> Iterator[list[int]]:
    """Sync wrapper of `squares_async`, kept for existing callers."""
    yield from run_sync(collect(squares_async(batches)), "squares_async")
"#,
    );
}

#[test]
fn name_an_item_reads_before_assigning_stays_sequential() {
    // `prev` is read only after the call, in item order, so the iterations are
    // independent; as a local of the per-item function it would be unbound.
    assert_note(
        r#"import time


def slow(x: int) -> int:
    if x:
        time.sleep(0.1)
    return x


def steps(xs: list[int]) -> list[int]:
    out = []
    prev = 0
    for x in xs:
        value = slow(x)
        out.append(value - prev)
        prev = value
    return out
"#,
        r#"app.py:13: loop kept sequential: `prev` is read in the loop before it is assigned there"#,
    );
}
