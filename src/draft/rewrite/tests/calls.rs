//! Before/after cases of the calls phase ([`super`]).

use crate::draft::rewrite::testing::*;

#[test]
fn awaits_converted_functions_and_parenthesises_attribute_access() {
    assert_codemod(
        r#"import requests


def fetch(url: str) -> requests.Response:
    return requests.get(url, timeout=5)


def length(url: str) -> int:
    return len(fetch(url).text)
"#,
        r#"import httpx
from _async_bridge import http_client, run_sync, shared_ssl_context


async def fetch_async(url: str) -> httpx.Response:
    async with http_client(
        follow_redirects=True, timeout=30.0, verify=shared_ssl_context()
    ) as client:
        return await client.get(url, timeout=5)


def fetch(url: str) -> httpx.Response:
    """Sync wrapper of `fetch_async`, kept for existing callers."""
    return run_sync(fetch_async(url), "fetch_async")


async def length_async(url: str) -> int:
    return len((await fetch_async(url)).text)


def length(url: str) -> int:
    """Sync wrapper of `length_async`, kept for existing callers."""
    return run_sync(length_async(url), "length_async")
"#,
    );
}

#[test]
fn blocking_helper_runs_in_a_thread() {
    assert_codemod(
        r#"import time
from pathlib import Path


def read_config(path: str) -> str:
    return Path(path).read_text()


def wait_and_read(path: str) -> str:
    time.sleep(1)
    return read_config(path)
"#,
        r#"import asyncio
from pathlib import Path
from _async_bridge import run_in_thread, run_sync


def read_config(path: str) -> str:
    return Path(path).read_text()


async def wait_and_read_async(path: str) -> str:
    await asyncio.sleep(1)
    return await run_in_thread(read_config, path)


def wait_and_read(path: str) -> str:
    """Sync wrapper of `wait_and_read_async`, kept for existing callers."""
    return run_sync(wait_and_read_async(path), "wait_and_read_async")
"#,
    );
}

#[test]
fn for_over_async_generator_becomes_async_for() {
    assert_codemod(
        r#"import time
from typing import Iterator


def ticks(n: int) -> Iterator[int]:
    for i in range(n):
        time.sleep(0.1)
        yield i


def total(n: int) -> int:
    result = 0
    for tick in ticks(n):
        result += tick
    return result


def all_ticks(n: int) -> list[int]:
    return list(ticks(n))
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


async def total_async(n: int) -> int:
    result = 0
    async for tick in ticks_async(n):
        result += tick
    return result


def total(n: int) -> int:
    """Sync wrapper of `total_async`, kept for existing callers."""
    return run_sync(total_async(n), "total_async")


async def all_ticks_async(n: int) -> list[int]:
    return [item async for item in ticks_async(n)]


def all_ticks(n: int) -> list[int]:
    """Sync wrapper of `all_ticks_async`, kept for existing callers."""
    return run_sync(all_ticks_async(n), "all_ticks_async")
"#,
    );
}

#[test]
fn refuses_async_generator_passed_on() {
    assert_refused(
        r#"import time
from typing import Iterator


def ticks(n: int) -> Iterator[int]:
    for i in range(n):
        time.sleep(0.1)
        yield i


def total(n: int) -> int:
    return sum(ticks(n))
"#,
        r#"app.py:12: `app.ticks` becomes an async generator; only `for`, comprehensions, `list()` and `yield from` over it are converted"#,
    );
}

#[test]
fn thread_call_gets_the_catalog_timeout() {
    assert_codemod(
        r#"import time
import urllib.request


def fetch_after(url: str, delay: float) -> bytes:
    time.sleep(delay)
    response = urllib.request.urlopen(url)
    return bytes(response.status)
"#,
        r#"import asyncio
import urllib.request
from _async_bridge import run_in_thread, run_sync


async def fetch_after_async(url: str, delay: float) -> bytes:
    await asyncio.sleep(delay)
    response = await run_in_thread(urllib.request.urlopen, url, timeout=30.0)
    return bytes(response.status)


def fetch_after(url: str, delay: float) -> bytes:
    """Sync wrapper of `fetch_after_async`, kept for existing callers."""
    return run_sync(fetch_after_async(url, delay), "fetch_after_async")
"#,
    );
}

#[test]
fn client_only_keyword_runs_in_a_thread() {
    assert_codemod(
        r#"import time

import requests


def fetch(url: str) -> bytes:
    time.sleep(1)
    return requests.get(url, verify=False, timeout=5).content
"#,
        r#"import asyncio

import requests
from _async_bridge import run_in_thread, run_sync


async def fetch_async(url: str) -> bytes:
    await asyncio.sleep(1)
    return (await run_in_thread(requests.get, url, verify=False, timeout=5)).content


def fetch(url: str) -> bytes:
    """Sync wrapper of `fetch_async`, kept for existing callers."""
    return run_sync(fetch_async(url), "fetch_async")
"#,
    );
}

#[test]
fn refuses_blocking_function_passed_to_a_builtin() {
    assert_refused(
        r#"import time
from pathlib import Path


def read_config(path: str) -> str:
    return Path(path).read_text()


def read_all(paths: list[str]) -> list[str]:
    time.sleep(1)
    return list(map(read_config, paths))
"#,
        r#"app.py:11: a blocking function is passed to a sync builtin"#,
    );
}

#[test]
fn refuses_blocking_generator_iterated_in_async_code() {
    assert_refused(
        r#"import time
from pathlib import Path
from typing import Iterator


def lines(path: str) -> Iterator[str]:
    with open(path) as f:
        yield from f


def count(path: str) -> int:
    time.sleep(1)
    total = 0
    for _ in lines(path):
        total += 1
    return total
"#,
        r#"app.py:14: a blocking generator is iterated in async code"#,
    );
}

#[test]
fn refuses_generator_expression_over_async_generator() {
    assert_refused(
        r#"import time
from typing import Iterator


def ticks(n: int) -> Iterator[int]:
    for i in range(n):
        time.sleep(0.1)
        yield i


def doubled(n: int) -> list[int]:
    return list(t * 2 for t in ticks(n))
"#,
        r#"app.py:12: a generator expression over an async generator would itself become async"#,
    );
}

/// Each Popen call of the planned functions with its line and why it runs in a
/// thread (None: native), as the plan says.
fn popen_calls(src: &str) -> Vec<(u32, String, Option<String>)> {
    let plans = plans_of(&[("app.py", src)]);
    let mut calls: Vec<(u32, String, Option<String>)> = plans
        .iter()
        .flat_map(|p| &p.calls)
        .filter(|c| c.api.starts_with("subprocess.Popen"))
        .map(|c| (c.line, c.api.clone(), c.why_thread.clone()))
        .collect();
    calls.sort();
    calls
}

/// The reason every call of a Popen local gives for staying in a thread, the
/// same for its constructor and its methods; None when they all go native.
fn popen_verdict(body: &str) -> Option<String> {
    let src =
        format!("import subprocess\nimport time\n\n\ndef job(cmd: list[str]) -> object:\n    time.sleep(1)\n{body}");
    let calls = popen_calls(&src);
    assert!(calls.len() >= 2, "the constructor and a method are planned: {calls:?}\n{src}");
    let verdicts: std::collections::BTreeSet<&Option<String>> = calls.iter().map(|(_, _, why)| why).collect();
    assert_eq!(verdicts.len(), 1, "every call of the local gets the same verdict: {calls:#?}");
    calls[0].2.clone()
}

#[test]
fn popen_locals_go_native_only_when_every_use_has_an_async_equivalent() {
    let native = [
        "    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)\n    out, err = proc.communicate(timeout=3)\n    return out, proc.returncode, proc.pid\n",
        "    with subprocess.Popen(cmd, stdin=subprocess.PIPE, text=True) as p:\n        p.communicate('x', 3)\n        return p.args\n",
        "    proc = subprocess.Popen(cmd, shell=True, cwd='.', env={})\n    if proc.poll() is None:\n        proc.send_signal(2)\n        proc.terminate()\n        proc.kill()\n    return proc.wait(timeout=1)\n",
    ];
    for body in native {
        assert_eq!(popen_verdict(body), None, "{body}");
    }
    let stays = [
        (
            "    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)\n    data = proc.stdout.read()\n    proc.wait()\n    return data\n",
            "`proc.stdout` (a pipe or setting of the live process) has no async equivalent",
        ),
        (
            "    proc = subprocess.Popen(cmd)\n    proc.wait()\n    return reap(proc)\n",
            "it is used other than through its methods and attributes (line 9)",
        ),
        (
            "    with subprocess.Popen(cmd) as proc:\n        proc.wait()\n    return proc.returncode\n",
            "it is used other than through its methods and attributes (line 9)",
        ),
        (
            "    proc = subprocess.Popen(cmd, preexec_fn=None)\n    return proc.wait()\n",
            "`preexec_fn=` (line 7) is not supported by `open_process`",
        ),
        (
            "    proc = subprocess.Popen(cmd, bufsize=0)\n    return proc.communicate()\n",
            "`bufsize=` (line 7) is not supported by `open_process`",
        ),
        (
            "    proc = subprocess.Popen(cmd)\n    proc.returncode = 0\n    return proc.wait()\n",
            "it is used other than through its methods and attributes (line 8)",
        ),
        (
            "    proc = subprocess.Popen(cmd)\n    proc.wait()\n    proc = subprocess.Popen(cmd)\n    return proc.wait()\n",
            "",
        ),
        (
            "    proc = subprocess.Popen(*cmd)\n    return proc.wait()\n",
            "only `subprocess.Popen(args, keyword=...)` is rewritten natively (line 7)",
        ),
        (
            "    proc = subprocess.Popen(cmd)\n    return proc.communicate(None, 1, 2)\n",
            "`proc.communicate(...)` at line 8 passes arguments `AsyncProcess.communicate` does not take as written",
        ),
        (
            "    proc = subprocess.Popen(cmd)\n    proc.wait()\n    return lambda: proc.wait()\n",
            "it is used other than through its methods and attributes (line 9)",
        ),
        (
            "    proc = subprocess.Popen(cmd)\n    proc.wait()\n    return proc.__exit__(None, None, None)\n",
            "`proc.__exit__()` has no async equivalent in `AsyncProcess`",
        ),
    ];
    for (body, why) in stays {
        if why.is_empty() {
            // Bound twice: no local the analysis follows, so the plain Popen reason.
            let verdict = popen_verdict(body).expect("a rebound process stays a Popen");
            assert!(verdict.contains("bound to a local name"), "{verdict}");
            continue;
        }
        let verdict = popen_verdict(body).unwrap_or_default();
        assert_eq!(verdict, format!("the process `proc` stays a `subprocess.Popen`: {why}"), "{body}");
    }
}

#[test]
fn annotated_popen_locals_stay_popen() {
    let calls = popen_calls(
        "import subprocess\nimport time\n\n\ndef job(cmd: list[str]) -> int:\n    time.sleep(1)\n    proc: subprocess.Popen[bytes] = subprocess.Popen(cmd)\n    return proc.wait()\n",
    );
    assert_eq!(calls.len(), 2);
    assert!(calls.iter().all(|(_, _, why)| why.as_deref().is_some_and(|w| w.contains("bound to a local name"))));
}

#[test]
fn http_client_locals_convert_only_when_entered_by_with_and_only_called() {
    let why = |body: &str| {
        let src = format!("import time\n\nimport requests\n\n\ndef job(u: str) -> object:\n    time.sleep(1)\n{body}");
        let plans = plans_of(&[("app.py", &src)]);
        let calls: Vec<_> = plans.iter().flat_map(|p| &p.calls).filter(|c| c.api == "requests.Session.get").collect();
        assert_eq!(calls.len(), 1, "{src}");
        calls[0].why_thread.clone()
    };
    assert_eq!(why("    with requests.Session() as s:\n        return s.get(u)\n"), None);
    assert_eq!(
        why("    s = requests.Session()\n    return s.get(u)\n").as_deref(),
        Some(
            "the client `s` is assigned, not opened by `with`: nothing would close the async client, so it stays sync"
        )
    );
    assert_eq!(
        why("    with requests.Session() as s:\n        s.headers\n        return s.get(u)\n").as_deref(),
        Some(
            "the client `s` has its attribute `headers` read, which the async client may not have or mean the same, so it stays sync"
        )
    );
}

#[test]
fn subprocess_with_unknown_keyword_runs_in_a_thread() {
    assert_codemod(
        r#"import subprocess
import time


def run(args: list[str]) -> int:
    time.sleep(1)
    return subprocess.run(args, start_new_session=True).returncode
"#,
        r#"import asyncio
import subprocess
from _async_bridge import run_in_thread, run_sync


async def run_async(args: list[str]) -> int:
    await asyncio.sleep(1)
    return (await run_in_thread(subprocess.run, args, start_new_session=True, timeout=30.0)).returncode


def run(args: list[str]) -> int:
    """Sync wrapper of `run_async`, kept for existing callers."""
    return run_sync(run_async(args), "run_async")
"#,
    );
}
