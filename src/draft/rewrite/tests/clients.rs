//! Before/after cases of the clients phase ([`super`]).

use crate::draft::rewrite::testing::*;

#[test]
fn close_becomes_aclose_with_a_wrapper() {
    assert_codemod(
        r#"import requests


class Api:
    def __init__(self) -> None:
        self.session = requests.Session()

    def get(self, path: str) -> bytes:
        return self.session.get(path).content

    def close(self) -> None:
        self.session.close()
"#,
        r#"import httpx
from _async_bridge import run_sync, shared_ssl_context


class Api:
    def __init__(self) -> None:
        self.session = httpx.AsyncClient(follow_redirects=True, timeout=30.0, verify=shared_ssl_context())

    async def get_async(self, path: str) -> bytes:
        return (await self.session.get(path, timeout=30.0)).content

    def get(self, path: str) -> bytes:
        """Sync wrapper of `get_async`, kept for existing callers."""
        return run_sync(self.get_async(path), "get_async")

    async def aclose(self) -> None:
        await self.session.aclose()

    def close(self) -> None:
        """Sync wrapper of `aclose`, kept for existing callers."""
        run_sync(self.aclose(), "aclose")

    async def __aenter__(self) -> "Api":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
"#,
    );
}

#[test]
fn refuses_call_outside_simple_statement() {
    assert_refused(
        r#"import requests


def post(urls: list[str]) -> list[int]:
    if requests.post(urls[0], timeout=5).ok:
        return [1]
    return []
"#,
        r#"app.py:5: `requests.post` is not in a simple statement to wrap in `async with`"#,
    );
}

#[test]
fn refuses_dunder_closing_the_client() {
    assert_refused(
        r#"import requests


class Api:
    def __init__(self) -> None:
        self.session = requests.Session()

    def get(self, path: str) -> bytes:
        return self.session.get(path).content

    def __del__(self) -> None:
        self.session.close()
"#,
        r#"app.py:12: `__del__` closes the client and cannot be async"#,
    );
}

#[test]
fn refuses_statement_sharing_its_line() {
    assert_refused(
        r#"import requests


def post(url: str) -> int:
    x = 1; return requests.post(url, timeout=5).status_code
"#,
        r#"app.py:5: the statement shares its line with other code"#,
    );
}

#[test]
fn refuses_statement_with_multiline_string() {
    assert_refused(
        r#"import requests


def post(url: str) -> int:
    return requests.post(url, data="""a
b""", timeout=5).status_code
"#,
        r#"app.py:5: the statement holds a multi-line string; re-indenting it would change the string"#,
    );
}

#[test]
fn with_owner_becomes_async_with() {
    assert_codemod(
        r#"import requests


class Api:
    def __init__(self) -> None:
        self.session = requests.Session()

    def __enter__(self) -> "Api":
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def get(self, path: str) -> bytes:
        return self.session.get(path).content


def fetch(path: str) -> bytes:
    with Api() as api:
        return api.get(path)
"#,
        r#"import httpx
from _async_bridge import run_sync, shared_ssl_context


class Api:
    def __init__(self) -> None:
        self.session = httpx.AsyncClient(follow_redirects=True, timeout=30.0, verify=shared_ssl_context())

    def __enter__(self) -> "Api":
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    async def get_async(self, path: str) -> bytes:
        return (await self.session.get(path, timeout=30.0)).content

    def get(self, path: str) -> bytes:
        """Sync wrapper of `get_async`, kept for existing callers."""
        return run_sync(self.get_async(path), "get_async")

    async def aclose(self) -> None:
        """Close the async client."""
        await self.session.aclose()

    async def __aenter__(self) -> "Api":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


async def fetch_async(path: str) -> bytes:
    async with Api() as api:
        return await api.get_async(path)


def fetch(path: str) -> bytes:
    """Sync wrapper of `fetch_async`, kept for existing callers."""
    return run_sync(fetch_async(path), "fetch_async")
"#,
    );
}

#[test]
fn refuses_converted_method_closing_the_client() {
    assert_refused(
        r#"import requests


class Api:
    def __init__(self) -> None:
        self.session = requests.Session()

    def get_once(self, path: str) -> bytes:
        content = self.session.get(path).content
        self.session.close()
        return content
"#,
        r#"app.py:10: a converted method closes the client"#,
    );
}
