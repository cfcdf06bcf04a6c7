use super::*;

fn change(path: &str, old: &str, new: &str) -> FileChange {
    FileChange { path: path.to_string(), old: Some(old.to_string()), new: Some(new.to_string()) }
}

#[test]
fn names_compare_as_pep_503_normalises_them() {
    assert_eq!(normalise("Pytest_Asyncio"), "pytest-asyncio");
    assert_eq!(normalise("zope.interface"), "zope-interface");
    assert_eq!(normalise("a__-.b"), "a-b");
    assert_eq!(text::requirement_name("HTTPX[http2]>=0.24; python_version>='3.8'"), "httpx");
    assert_eq!(text::requirement_name(" httpx == 0.27.0"), "httpx");
}

#[test]
fn a_draft_needs_what_its_new_imports_bring_and_not_what_was_imported_before() {
    let runtime = change("pkg/api.py", "import requests\n", "import asyncio\n\nimport httpx\n");
    let already = change("pkg/other.py", "import httpx\n", "import asyncio\nimport httpx\n");
    let local = change("pkg/third.py", "", "from . import httpx\nfrom pkg import _async_bridge\n");
    assert_eq!(needs(std::slice::from_ref(&runtime)), vec![Need { requirement: mappings::HTTPX, tests_only: false }]);
    assert!(needs(&[already, local]).is_empty());

    let test = change(
        "tests/test_api.py",
        "def test_a():\n    pass\n",
        "import pytest\n\n@pytest.mark.asyncio\nasync def test_a():\n    pass\n",
    );
    assert_eq!(needs(&[test]), vec![Need { requirement: PYTEST_ASYNCIO, tests_only: true }]);
    // Auto mode: an async test without the mark.
    let auto = change("test_api.py", "def test_a():\n    pass\n", "async def test_a():\n    pass\n");
    assert_eq!(needs(&[auto]).len(), 1);
    // Async tests before the draft: nothing new.
    let before = change("tests/test_b.py", "async def test_b():\n    pass\n", "async def test_b():\n    await x()\n");
    assert!(needs(&[before]).is_empty());
    // An async helper that is not a test, outside the tests: nothing.
    let helper = change("pkg/run.py", "def test_b():\n    pass\n", "async def test_b():\n    pass\n");
    assert!(needs(&[helper]).is_empty());
    // httpx in a test file only is a test need; in both, a runtime one.
    let test_httpx = change("tests/test_c.py", "import requests\n", "import httpx\n");
    assert_eq!(needs(std::slice::from_ref(&test_httpx)), vec![Need { requirement: mappings::HTTPX, tests_only: true }]);
    assert_eq!(needs(&[test_httpx, runtime]), vec![Need { requirement: mappings::HTTPX, tests_only: false }]);
}

#[test]
fn test_files_follow_pytests_conventions() {
    for path in ["tests/test_a.py", "test/unit/helpers.py", "pkg/test_a.py", "pkg/a_test.py", "conftest.py"] {
        assert!(is_test_file(path), "{path}");
    }
    for path in ["pkg/a.py", "pkg/testing.py", "contest.py", "latest/a.py"] {
        assert!(!is_test_file(path), "{path}");
    }
}

#[test]
fn floors_follow_the_neighbours() {
    let style = Style::of(["requests>=2", "click"].into_iter(), '"');
    assert_eq!(style.requirement("httpx", "0.27"), "httpx>=0.27");
    let style = Style::of(["requests", "click", "rich>=13"].into_iter(), '"');
    assert_eq!(style.requirement("httpx", "0.27"), "httpx");
    let style = Style::of(["requests >= 2"].into_iter(), '"');
    assert_eq!(style.requirement("httpx", "0.27"), "httpx >= 0.27");
    assert_eq!(Style::of(std::iter::empty(), '"').requirement("httpx", "0.27"), "httpx");
}
