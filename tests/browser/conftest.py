"""Browser tests: Debian's Chromium driven by Playwright's sync API, pages checked with axe-core.

    def test_queue_is_accessible(page, assert_accessible, ...):
        page.goto("/referrals/")          # relative to live_server.url
        assert_accessible(page)

Fixtures:
  browser            one Chromium for the session (never downloaded: Debian's, from PATH)
  make_page          make_page(base_url=None) → a Page in a fresh context, closed after the test
  browser_problems   the CSP violations and script errors those pages reported (a list)
  page               make_page(base_url=live_server.url): needs pytest-django and a database
  assert_accessible  assert_accessible(page, *, selector=None, disable=()) runs axe-core and fails
                     on every serious or critical violation

Every page made here also fails its test if the browser reports a Content Security Policy
violation or an uncaught script error: both are bugs a user would meet.
"""

import json
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an asyncio event loop in the test thread, and Django refuses ORM
# calls from a thread with a running loop (SynchronousOnlyOperation). The tests are not async
# code: tell Django so.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
AXE_PATH = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
FAILING_IMPACTS = {"serious", "critical"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = shutil.which("chromium")
    if executable is None:
        message = (
            "Chromium is not installed: `apt-get install -y chromium` "
            "(browser tests use Debian's Chromium; Playwright must not download one)"
        )
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def browser_problems() -> list[str]:
    """CSP violations and uncaught script errors seen by this test's pages. make_page fails the
    test at teardown if any are left; a test that provokes one on purpose clears the list."""
    return []


@pytest.fixture
def make_page(browser: Any, browser_problems: list[str]) -> Iterator[Callable[..., Any]]:
    contexts: list[Any] = []
    problems = browser_problems

    def _make_page(base_url: str | None = None) -> Any:
        options: dict[str, Any] = {"locale": "en-GB", "timezone_id": "Europe/London"}
        if base_url:
            options["base_url"] = base_url
        context = browser.new_context(**options)
        contexts.append(context)
        new_page = context.new_page()

        def on_console(message: Any) -> None:
            if message.type == "error" and "Content Security Policy" in message.text:
                problems.append(f"CSP violation on {new_page.url}: {message.text}")

        new_page.on("console", on_console)
        new_page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        return new_page

    yield _make_page

    for context in contexts:
        context.close()
    if problems:
        pytest.fail("the browser reported:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture
def page(make_page: Callable[..., Any], live_server: Any) -> Any:
    # live_server must be a declared argument, not looked up with getfixturevalue:
    # pytest-django grants the test transactional database access, and the live server's
    # settings, only when "live_server" is among the test's fixture names. Fixtures resolve
    # lazily, so tests that use only make_page still run without pytest-django.
    return make_page(base_url=live_server.url)


_axe_source: str | None = None


def _axe() -> str:
    global _axe_source
    if _axe_source is None:
        if not AXE_PATH.exists():
            pytest.fail(f"{AXE_PATH} is missing: run `npm ci` first", pytrace=False)
        _axe_source = AXE_PATH.read_text(encoding="utf-8")
    return _axe_source


def _describe(violation: dict[str, Any]) -> str:
    lines = [f"{violation['id']} ({violation['impact']}): {violation['help']}"]
    for node in violation["nodes"]:
        lines.append(f"    at {' '.join(json.dumps(t) for t in node['target'])}")
    lines.append(f"    see {violation['helpUrl']}")
    return "\n".join(lines)


def check_accessible(
    page: Any, *, selector: str | None = None, disable: Sequence[str] = ()
) -> None:
    """Run axe-core on the page (or the part `selector` matches) and raise AssertionError
    listing every serious or critical violation."""
    # page.evaluate goes through the DevTools protocol, which the page's Content Security
    # Policy does not govern; a <script> tag would be refused for want of a nonce.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe())
    results = page.evaluate(
        """async ([selector, tags, disable]) => {
            const rules = Object.fromEntries(disable.map((id) => [id, { enabled: false }]));
            return await axe.run(selector ? document.querySelector(selector) : document, {
                runOnly: { type: "tag", values: tags },
                rules,
                resultTypes: ["violations"],
            });
        }""",
        [selector, AXE_TAGS, list(disable)],
    )
    failing = [v for v in results["violations"] if v["impact"] in FAILING_IMPACTS]
    if failing:
        raise AssertionError(
            f"{len(failing)} serious or critical accessibility violation(s) on {page.url}:\n"
            + "\n".join(_describe(v) for v in failing)
        )


@pytest.fixture
def assert_accessible() -> Callable[..., None]:
    return check_accessible
