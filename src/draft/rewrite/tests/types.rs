//! Before/after cases of the types phase ([`super`]).

use crate::draft::rewrite::testing::*;

#[test]
fn renames_exceptions_file_wide() {
    assert_codemod(
        r#"import requests


def fetch(url: str) -> str:
    try:
        response = requests.get(url, timeout=5)
        response.raise_for_status()
    except requests.HTTPError as error:
        return str(error)
    return response.text


def status(response: requests.Response) -> int:
    return response.status_code
"#,
        r#"import httpx
from _async_bridge import http_client, run_sync, shared_ssl_context


async def fetch_async(url: str) -> str:
    try:
        async with http_client(
            follow_redirects=True, timeout=30.0, verify=shared_ssl_context()
        ) as client:
            response = await client.get(url, timeout=5)
        response.raise_for_status()
    except httpx.HTTPStatusError as error:
        return str(error)
    return response.text


def fetch(url: str) -> str:
    """Sync wrapper of `fetch_async`, kept for existing callers."""
    return run_sync(fetch_async(url), "fetch_async")


def status(response: httpx.Response) -> int:
    return response.status_code
"#,
    );
}

#[test]
fn renames_only_in_converted_functions_when_requests_stays() {
    assert_codemod(
        r#"import requests


def fetch(url: str) -> str:
    try:
        return requests.get(url, timeout=5).text
    except requests.HTTPError:
        return ""


def fetch_unverified(url: str) -> str:
    try:
        return requests.get(url, timeout=5, verify=False).text
    except requests.HTTPError:
        return ""
"#,
        r#"import httpx
import requests
from _async_bridge import http_client, run_sync, shared_ssl_context


async def fetch_async(url: str) -> str:
    try:
        async with http_client(
            follow_redirects=True, timeout=30.0, verify=shared_ssl_context()
        ) as client:
            return (await client.get(url, timeout=5)).text
    except httpx.HTTPStatusError:
        return ""


def fetch(url: str) -> str:
    """Sync wrapper of `fetch_async`, kept for existing callers."""
    return run_sync(fetch_async(url), "fetch_async")


def fetch_unverified(url: str) -> str:
    try:
        return requests.get(url, timeout=5, verify=False).text
    except requests.HTTPError:
        return ""
"#,
    );
}
