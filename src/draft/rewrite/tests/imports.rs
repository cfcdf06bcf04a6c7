//! Before/after cases of the imports phase ([`super`]).

use crate::draft::rewrite::testing::*;

#[test]
fn names_join_an_existing_from_import() {
    assert_codemod(
        r#"import time
from typing import Iterator, Optional


def ticks(n: int, start: Optional[int] = None) -> Iterator[int]:
    for i in range(start or 0, n):
        time.sleep(0.1)
        yield i
"#,
        r#"import asyncio
from typing import AsyncIterator, Iterator, Optional
from _async_bridge import collect, run_sync


async def ticks_async(n: int, start: Optional[int] = None) -> AsyncIterator[int]:
    for i in range(start or 0, n):
        await asyncio.sleep(0.1)
        yield i


def ticks(n: int, start: Optional[int] = None) -> Iterator[int]:
    """Sync wrapper of `ticks_async`, kept for existing callers."""
    yield from run_sync(collect(ticks_async(n, start)), "ticks_async")
"#,
    );
}

#[test]
fn imported_function_is_imported_under_its_async_name() {
    let net = "import time\n\n\ndef pause(seconds: float) -> None:\n    time.sleep(seconds)\n";
    let app = "from pkg.net import pause\n\n\ndef pause_twice() -> None:\n    pause(1.0)\n    pause(1.0)\n";
    let drafted = codemod(&[("pkg/__init__.py", ""), ("pkg/net.py", net), ("pkg/app.py", app)]).unwrap();
    assert_eq!(
        drafted.changed["pkg/app.py"],
        "from pkg.net import pause_async\nfrom pkg._async_bridge import run_sync\n\n\nasync def pause_twice_async() -> None:\n    await pause_async(1.0)\n    await pause_async(1.0)\n\n\ndef pause_twice() -> None:\n    \"\"\"Sync wrapper of `pause_twice_async`, kept for existing callers.\"\"\"\n    run_sync(pause_twice_async(), \"pause_twice_async\")\n",
    );
}

#[test]
fn optional_requests_import_stays_and_no_httpx_import_is_needed_for_a_statement_client() {
    assert_codemod(
        r#"import logging
import os

log = logging.getLogger(__name__)

try:
    import requests
except ImportError:
    log.error("needs requests")


def fetch(url: str) -> bytes:
    return requests.get(url, timeout=5).content
"#,
        r#"import logging
import os
from _async_bridge import http_client, run_sync, shared_ssl_context

log = logging.getLogger(__name__)

try:
    import requests
except ImportError:
    log.error("needs requests")


async def fetch_async(url: str) -> bytes:
    async with http_client(
        follow_redirects=True, timeout=30.0, verify=shared_ssl_context()
    ) as client:
        return (await client.get(url, timeout=5)).content


def fetch(url: str) -> bytes:
    """Sync wrapper of `fetch_async`, kept for existing callers."""
    return run_sync(fetch_async(url), "fetch_async")
"#,
    );
}

#[test]
fn type_checking_import_does_not_count_as_imported() {
    assert_codemod(
        r#"from typing import TYPE_CHECKING

import requests

if TYPE_CHECKING:
    import httpx


def fetch(url: str) -> bytes:
    try:
        return requests.get(url, timeout=5).content
    except requests.HTTPError:
        return b""
"#,
        r#"from typing import TYPE_CHECKING

import httpx
from _async_bridge import http_client, run_sync, shared_ssl_context

if TYPE_CHECKING:
    import httpx


async def fetch_async(url: str) -> bytes:
    try:
        async with http_client(
            follow_redirects=True, timeout=30.0, verify=shared_ssl_context()
        ) as client:
            return (await client.get(url, timeout=5)).content
    except httpx.HTTPStatusError:
        return b""


def fetch(url: str) -> bytes:
    """Sync wrapper of `fetch_async`, kept for existing callers."""
    return run_sync(fetch_async(url), "fetch_async")
"#,
    );
}

/// A parameter named like the module is not a use of it: the import goes once
/// the module's own uses are rewritten; a module-level use keeps it.
#[test]
fn a_parameter_named_like_a_dropped_module_does_not_keep_its_import() {
    assert_codemod(
        r#"import time


def wait(time: float) -> None:
    print(time)
    time_left = time
    del time_left


def pause() -> None:
    time.sleep(0.1)
"#,
        r#"import asyncio
from _async_bridge import run_sync


def wait(time: float) -> None:
    print(time)
    time_left = time
    del time_left


async def pause_async() -> None:
    await asyncio.sleep(0.1)


def pause() -> None:
    """Sync wrapper of `pause_async`, kept for existing callers."""
    run_sync(pause_async(), "pause_async")
"#,
    );
    assert_codemod(
        "import time\n\nSTARTED = time.time()\n\n\ndef pause() -> None:\n    time.sleep(0.1)\n",
        "import asyncio\nimport time\nfrom _async_bridge import run_sync\n\nSTARTED = time.time()\n\n\nasync def pause_async() -> None:\n    await asyncio.sleep(0.1)\n\n\ndef pause() -> None:\n    \"\"\"Sync wrapper of `pause_async`, kept for existing callers.\"\"\"\n    run_sync(pause_async(), \"pause_async\")\n",
    );
}

#[test]
fn a_long_from_import_is_written_one_name_per_line() {
    let short = super::from_import("pkg._async_bridge", &["run_sync"], "\n");
    assert_eq!(short, "from pkg._async_bridge import run_sync\n");
    let names = ["Turn", "for_each_bounded", "http_client", "run_sync", "shared_ssl_context"];
    let long = super::from_import("linkcheck._async_bridge", &names, "\n");
    assert_eq!(
        long,
        "from linkcheck._async_bridge import (\n    Turn,\n    for_each_bounded,\n    http_client,\n    run_sync,\n    shared_ssl_context,\n)\n"
    );
}

/// A name imported from a module the rewrite may leave unused goes once unused;
/// the statement goes when none is used.
#[test]
fn from_imports_the_rewrite_left_unused_lose_those_names() {
    assert_codemod(
        r#"from subprocess import PIPE, Popen
from time import sleep


def run(cmd: list[str]) -> bytes:
    proc = Popen(cmd, stdout=PIPE)
    out, _ = proc.communicate(timeout=5)
    sleep(0.1)
    return out
"#,
        r#"from subprocess import PIPE
import asyncio
from _async_bridge import open_process, run_sync


async def run_async(cmd: list[str]) -> bytes:
    proc = await open_process(cmd, stdout=PIPE)
    out, _ = await proc.communicate(timeout=5)
    await asyncio.sleep(0.1)
    return out


def run(cmd: list[str]) -> bytes:
    """Sync wrapper of `run_async`, kept for existing callers."""
    return run_sync(run_async(cmd), "run_async")
"#,
    );
}
