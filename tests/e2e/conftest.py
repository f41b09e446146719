"""Browser fixtures: the system Chromium driven by Playwright, never a downloaded browser.

The ``page`` fixture fails its test if the page logged a console error, raised, opened a
dialog, violated the Content-Security-Policy, or reached for any host but the live server.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from tests.conftest import CHROMIUM

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
VIEWPORT = {"width": 1366, "height": 768}
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# Reports CSP violations to the test. Added through the DevTools protocol, so the page's own
# CSP (no inline script) does not apply to it.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__reportCspViolation(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
});
"""


@pytest.fixture(scope="package")
def browser():
    """One Chromium for the browser tests, stopped when they are done.

    Package-scoped rather than session-scoped on purpose: while Playwright's sync API is
    running, the main thread counts as "inside an event loop", and Django refuses ORM calls
    there unless DJANGO_ALLOW_ASYNC_UNSAFE is set. Scoping the browser (and that variable)
    to this package keeps the rest of the suite under Django's normal guard.
    """
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def open_watched_page(browser, base_url: str):
    """A fresh browser context at 1366 by 768, and a page in it that records everything that
    should not happen into the returned list."""
    problems: list[str] = []
    context = browser.new_context(viewport=VIEWPORT, base_url=base_url)
    page = context.new_page()
    page.set_default_timeout(10_000)

    page.expose_function("__reportCspViolation", lambda text: problems.append(f"CSP violation: {text}"))
    page.add_init_script(REPORT_CSP_VIOLATIONS)

    def on_console(message):
        if message.type == "error":
            problems.append(f"console error: {message.text}")

    def on_dialog(dialog):
        problems.append(f"dialog ({dialog.type}): {dialog.message}")
        dialog.dismiss()

    def on_request(request):
        host = urlsplit(request.url).hostname
        if request.url.startswith(("http://", "https://", "ws://", "wss://")) and host not in LOCAL_HOSTS:
            problems.append(f"request to another host: {request.url}")

    def on_request_failed(request):
        # ERR_ABORTED is the page cancelling its own request: htmx replacing a search that
        # typing made stale, or a navigation leaving a poll behind. Anything else is a failure.
        if "ERR_ABORTED" not in (request.failure or ""):
            problems.append(f"request failed: {request.url} ({request.failure})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("dialog", on_dialog)
    page.on("request", on_request)
    page.on("requestfailed", on_request_failed)
    page.on(
        "response",
        lambda response: (
            response.status >= 500 and problems.append(f"server error {response.status}: {response.url}")
        ),
    )
    return context, page, problems


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context at 1366 by 768 that records everything that should not happen."""
    context, page, problems = open_watched_page(browser, live_server.url)

    yield page

    context.close()
    assert not problems, "the browser reported problems:\n" + "\n".join(problems)


@pytest.fixture
def another_page(browser, live_server):
    """Opens more pages, each in its own browser context (another user, another session), with
    the same checks as ``page``."""
    opened = []

    def open_page():
        context, page, problems = open_watched_page(browser, live_server.url)
        opened.append((context, problems))
        return page

    yield open_page

    for context, _ in opened:
        context.close()
    problems = [problem for _, found in opened for problem in found]
    assert not problems, "the browser reported problems:\n" + "\n".join(problems)


@pytest.fixture
def screenshot(page):
    """Saves a screenshot of the page under ``screenshots/`` (git-ignored) for a human to look at."""
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(name: str, *, full_page: bool = True) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        # caret="initial": hiding the text caret makes Playwright inject a style, which the
        # page's Content-Security-Policy rightly refuses (and the test would report).
        page.screenshot(path=str(path), full_page=full_page, caret="initial")
        return path

    return take


@pytest.fixture
def log_in(page, live_server):
    """Signs a user in by session cookie, for tests whose subject is not the login form.
    ``log_in(user)`` signs in ``page``; ``log_in(user, other_page)`` another page's context."""
    from django.test import Client

    def sign_in(user, into=None) -> None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        (into or page).context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
        )

    return sign_in
