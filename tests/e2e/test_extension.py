"""The browser extension (frontend/extension/) in a real Chromium: options checked against the
server, then on a page that imitates an X profile, flag the account, capture the page and add a
selection as repost evidence into a demo case; the server stored what the extension hashed. Then
the outbox: a capture made while the server is unreachable waits and is sent on Retry, and one the
server refuses (another team's case) is shown with the server's message and kept, not retried.

How the test drives the extension, and why:

* **The platform page.** Chromium resolves ``x.com`` to a small HTTP server of the test
  (``--host-resolver-rules=MAP x.com 127.0.0.1:PORT``), so the tab's URL is a real
  ``http://x.com/NAME`` and the extension's production URL rules parse it; there is no test-only
  mapping in the extension, and nothing leaves the machine.
* **The toolbar click.** The DevTools protocol's ``Extensions.triggerAction`` clicks the
  extension's toolbar button on that tab, which grants ``activeTab`` exactly as a user's click does
  (``captureVisibleTab`` needs it). Playwright cannot reach the native popup bubble, so the test
  then opens the same ``popup.html`` in a popup window aimed at the tab, which is what the
  extension itself does from its context menu (``popup.html?tab=ID``), and clicks its buttons.
* **The server's origin.** The options page asks for host access to the server with
  ``permissions.request``; a headless browser cannot click "Allow" on that prompt. The test loads a
  copy of the extension whose manifest already lists the live server's host in
  ``host_permissions`` (what "Allow" would grant); every file of the code is the original, and the
  options page still makes its (then silently granted) request and checks the token.
"""

import hashlib
import io
import json
import shutil
import socket
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.db import connections
from PIL import Image
from playwright.sync_api import expect

from cases.demo import seed_demo
from cases.models import Account, Case, CaseAccount, Evidence, EvidenceFile, Role, Team
from cases.services.tokens import create_token
from tests.conftest import CHROMIUM
from tests.e2e.conftest import CHROMIUM_ARGS, SCREENSHOTS, VIEWPORT
from tests.e2e.test_moderator_day import ensure_kill_chain
from tests.factories import CaseFactory, MembershipFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser]

EXTENSION = Path(__file__).resolve().parents[2] / "frontend" / "extension"
HANDLE = "Suspect_Capt01"
# A hostile page: markup in its title and text must reach the popup as text, never as HTML.
PROFILE_TITLE = '<img src=x onerror="document.title=1"> Suspect Capt (@Suspect_Capt01) / X'
COPIED_POST = "Breaking: the senator admits everything. Share before they delete it!"
PROFILE_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{PROFILE_TITLE.replace("<", "&lt;")}</title>
<style>body {{ font: 16px sans-serif; margin: 2em; }}
.post {{ border: 1px solid #ccc; padding: 1em; }}</style>
</head><body>
<h1>Suspect Capt <small>@{HANDLE}</small></h1>
<p class="bio">Patriot. Mom. Truth-teller. &lt;script&gt;alert(1)&lt;/script&gt;</p>
<p>Joined March 2023 · 12 Following · 4,811 Followers</p>
<article class="post"><p id="post">{COPIED_POST}</p></article>
</body></html>
""".encode()


class ProfileHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        path = urlsplit(self.path).path.strip("/")
        if path == "favicon.ico":  # asked for by the browser; none here, without a 404 in the console
            self.send_response(204)
            self.end_headers()
            return
        if path != HANDLE:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PROFILE_PAGE)))
        self.end_headers()
        self.wfile.write(PROFILE_PAGE)

    def log_message(self, *args):
        pass


@pytest.fixture
def profile_site():
    """The imitation platform on a loopback port; Chromium is told that x.com lives there."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), ProfileHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def demo_setup(transactional_db):
    ensure_kill_chain()
    seed_demo()
    user = get_user_model().objects.get(username="moderator1")
    team = Team.objects.get(memberships__user=user)
    case = Case.objects.filter(team=team).order_by("pk").first()
    _, secret = create_token(user=user, name="browser extension")
    return {"user": user, "team": team, "case": case, "token": secret}


@pytest.fixture
def small_setup(transactional_db):
    """One team with one moderator, one case and an API token (no demo data: faster)."""
    team = TeamFactory(slug="capture-team", name="Capture team")
    user = MembershipFactory(team=team, role=Role.MODERATOR, user=UserFactory(username="capturer")).user
    case = CaseFactory(team=team, title="Telegram channels")
    _, secret = create_token(user=user, name="browser extension")
    return {"user": user, "team": team, "case": case, "token": secret}


@contextmanager
def chromium_with(browser_type, extension_dir: Path, profile_dir: Path, *extra_args: str):
    """Chromium with an unpacked extension; yields (context, service worker, extension id, cdp).

    Extensions need a persistent context, which is a browser of its own; it is launched through the
    Playwright that the package's ``browser`` fixture runs (a second sync Playwright cannot start
    in the same thread).
    """
    context = browser_type.launch_persistent_context(
        str(profile_dir),
        executable_path=CHROMIUM,
        headless=True,
        viewport=VIEWPORT,
        args=[
            *CHROMIUM_ARGS,
            f"--disable-extensions-except={extension_dir}",
            f"--load-extension={extension_dir}",
            *extra_args,
        ],
    )
    try:
        context.set_default_timeout(15_000)
        worker = (
            context.service_workers[0] if context.service_workers else context.wait_for_event("serviceworker")
        )
        yield context, worker, urlsplit(worker.url).hostname, context.browser.new_browser_cdp_session()
    finally:
        context.close()


@pytest.fixture
def extension(browser, tmp_path, live_server, profile_site):
    """Chromium with the extension, x.com served by profile_site, the live server's host granted."""
    copy = tmp_path / "extension"
    shutil.copytree(EXTENSION, copy, ignore=shutil.ignore_patterns("tests", "package.json"))
    manifest = json.loads((copy / "manifest.json").read_text())
    # What "Allow" on the options page's prompt grants: the server's host, and pageCapture for
    # the tests that tick "Also save pages as MHTML archives".
    manifest["host_permissions"] = [f"http://{urlsplit(live_server.url).hostname}/*"]
    manifest["permissions"].append("pageCapture")
    (copy / "manifest.json").write_text(json.dumps(manifest))

    with chromium_with(
        browser.browser_type,
        copy,
        tmp_path / "profile",
        "--enable-unsafe-extension-debugging",  # lets CDP press the toolbar button
        f"--host-resolver-rules=MAP x.com 127.0.0.1:{profile_site}",
    ) as launched:
        try:
            yield launched
        finally:
            # The ORM calls made while Playwright's loop ran opened their own connection; close
            # it here, or the test database cannot be dropped at the end of the run.
            connections.close_all()


def test_the_extension_installs_cleanly_in_chromium(browser, tmp_path):
    """The folder as shipped: no install warning or manifest error, only "Display notifications"
    asked for at install (the server's host and pageCapture are optional), and both suggested
    shortcuts taken (Chromium silently drops reserved ones, e.g. Alt+Shift+C)."""
    with chromium_with(browser.browser_type, EXTENSION, tmp_path / "profile") as (
        context,
        worker,
        extension_id,
        _,
    ):
        shortcuts = worker.evaluate(
            "async () => (await chrome.commands.getAll()).map((command) => [command.name, command.shortcut])"
        )
        assert dict(shortcuts) == {"capture-page": "Alt+Shift+S", "_execute_action": "Alt+Shift+K"}
        page = context.new_page()
        page.goto("chrome://extensions")
        info = page.evaluate(
            """async (id) => (await chrome.developerPrivate.getExtensionsInfo({ includeDisabled: true }))
                .find((item) => item.id === id)""",
            extension_id,
        )
        assert info["name"] == "OSINT Annotator capture"
        assert info["installWarnings"] == []
        assert info["manifestErrors"] == []
        messages = [item["message"] for item in info["permissions"]["simplePermissions"]]
        assert messages == ["Display notifications"]
        assert info["permissions"]["runtimeHostPermissions"]["hosts"] == []


def watch(page, problems: list[str]):
    page.on(
        "console", lambda message: message.type == "error" and problems.append(f"console: {message.text}")
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    return page


def set_options(context, extension_id, server_url, token, problems, *, mhtml=False):
    options = watch(context.new_page(), problems)
    options.goto(f"chrome-extension://{extension_id}/options.html")
    # A wrong token is refused with the server's message, and nothing is saved.
    options.fill("#server", server_url)
    options.fill("#token", "oa_wrong-token-0123456789")
    options.click("#save")
    expect(options.locator("#status")).to_have_text("Not saved: Invalid token.")
    expect(options.locator("#current")).to_have_text("Not set up yet.")
    # Chromium logs the refused request (401) to the console; that refusal was the point.
    problems[:] = [problem for problem in problems if "status of 401" not in problem]

    options.fill("#token", token)
    if mhtml:
        options.check("#mhtml")
    options.click("#save")
    expect(options.locator("#status")).to_contain_text("Saved. The token works: 1 team(s).")
    pages = "MHTML archives" if mhtml else "HTML"
    expect(options.locator("#current")).to_contain_text(f"Connected to {server_url} with token {token[:8]}")
    expect(options.locator("#current")).to_contain_text(f"pages saved as {pages}")
    if mhtml:
        options.screenshot(path=str(SCREENSHOTS / "extension-options.png"))
    assert options.input_value("#token") == "", "the token is not left in the form"
    options.close()


def open_profile(context, profile_site_port, problems, *, select_post=False):
    page = watch(context.pages[0] if context.pages else context.new_page(), problems)
    page.goto(f"http://x.com/{HANDLE}?s=20")
    expect(page.locator("h1")).to_contain_text("Suspect Capt")
    if select_post:
        page.evaluate(
            """() => { const range = document.createRange();
                range.selectNodeContents(document.getElementById('post'));
                const selection = window.getSelection();
                selection.removeAllRanges(); selection.addRange(range); }"""
        )
    page.bring_to_front()
    return page


def press_toolbar_button(cdp, extension_id, page_url):
    """Clicks the extension's toolbar button on the tab showing page_url (grants activeTab)."""
    targets = cdp.send("Target.getTargets", {"filter": [{}]})["targetInfos"]
    tab = next(t for t in targets if t["type"] == "tab" and t["url"] == page_url)
    cdp.send("Extensions.triggerAction", {"id": extension_id, "targetId": tab["targetId"]})


def open_popup_window(context, worker, page_url, problems):
    """popup.html in a popup window aimed at the tab, as the extension's context menu opens it."""
    tab_id = worker.evaluate(
        "async (url) => (await chrome.tabs.query({ url })).map((tab) => tab.id)[0]", page_url
    )
    assert tab_id, "the profile tab is visible to the extension"
    with context.expect_page() as opened:
        worker.evaluate(
            """(tabId) => chrome.windows.create({
                url: chrome.runtime.getURL(`popup.html?tab=${tabId}`),
                type: "popup", width: 440, height: 900 })""",
            tab_id,
        )
    popup = watch(opened.value, problems)
    popup.wait_for_load_state()
    return popup, tab_id


def stored_bytes(evidence_file: EvidenceFile) -> bytes:
    with evidence_file.file.open("rb") as handle:
        return handle.read()


def extension_history(worker) -> list[dict]:
    return worker.evaluate("async () => (await chrome.storage.local.get('history')).history || []")


def test_flag_account_capture_page_and_repost_into_a_demo_case(
    extension, demo_setup, live_server, profile_site
):
    context, worker, extension_id, cdp = extension
    problems: list[str] = []
    SCREENSHOTS.mkdir(exist_ok=True)
    case = demo_setup["case"]
    set_options(context, extension_id, live_server.url, demo_setup["token"], problems, mhtml=True)

    profile = open_profile(context, profile_site, problems, select_post=True)
    press_toolbar_button(cdp, extension_id, profile.url)
    popup, _ = open_popup_window(context, worker, profile.url, problems)

    # What the popup shows about the hostile page is text.
    expect(popup.locator("#page-title")).to_have_text(PROFILE_TITLE)
    assert popup.locator("img").count() == 0
    expect(popup.locator("#page-account")).to_have_text(f"Account: x @{HANDLE}")
    expect(popup.locator("#selection")).to_have_text(COPIED_POST)
    # The case picker lists the team's cases, recently updated first, and searches on the server.
    expect(popup.locator(f"#case option[value='{case.pk}']")).to_have_count(1)
    popup.fill("#case-search", case.title[:12])
    expect(popup.locator("#case optgroup[label='Matching cases']")).to_have_count(1)
    popup.select_option("#case", str(case.pk))
    popup.fill("#persona", "sock-puppet 7 (Jane R.)")

    popup.click("#do-account")
    result = popup.locator("#result")
    expect(result).to_have_class("result sent")
    expect(result).to_contain_text(f"Captured into “{case.title}”. Account x @{HANDLE} added to the case.")
    popup.screenshot(path=str(SCREENSHOTS / "extension-popup-flagged.png"))

    popup.click("#do-page")
    expect(result).to_contain_text(f"Captured into “{case.title}”.")
    expect(result).not_to_contain_text("Account")

    popup.fill("#source-url", "https://x.com/RealSenator/status/1790000000000000001")
    popup.click("#do-repost")
    expect(result).to_contain_text(f"Captured into “{case.title}”.")
    expect(popup.locator("#history li")).to_have_count(3)
    expect(popup.locator("#outbox-empty")).to_be_visible()
    popup.screenshot(path=str(SCREENSHOTS / "extension-popup.png"), full_page=True)

    # The account: parsed from the URL, created by the capture, on the case.
    account = Account.objects.get(team=demo_setup["team"], platform="x", handle_normalized=HANDLE.lower())
    assert account.handle == HANDLE
    assert account.source == "capture"
    assert CaseAccount.objects.filter(case=case, account=account).exists()

    # Three evidence items, newest first, as the extension reported them.
    history = extension_history(worker)
    assert [entry["summary"]["action"] for entry in history] == ["repost", "page", "account"]
    evidence_ids = [entry["response"]["evidence"][0]["id"] for entry in history]
    items = {item.pk: item for item in Evidence.objects.filter(pk__in=evidence_ids).prefetch_related("files")}
    assert len(items) == 3
    flagged = items[evidence_ids[2]]
    assert flagged.account_id == account.pk
    assert flagged.url == f"http://x.com/{HANDLE}?s=20"
    assert flagged.title == PROFILE_TITLE
    assert flagged.persona == "sock-puppet 7 (Jane R.)"
    assert flagged.capture_method == "extension"
    assert "Chrome" in flagged.user_agent
    assert flagged.captured_by == demo_setup["user"]
    repost = items[evidence_ids[0]]
    assert repost.captured_text.strip() == COPIED_POST
    assert repost.source_url == "https://x.com/RealSenator/status/1790000000000000001"

    # Every stored file: the server's SHA-256 equals the one the extension computed before upload,
    # and equals the SHA-256 of the bytes on disk.
    for entry in history:
        item = items[entry["response"]["evidence"][0]["id"]]
        sent = {file["field"]: file for file in entry["summary"]["files"]}
        stored = {f.role: f for f in item.files.all()}
        assert set(stored) == {"screenshot", "page_capture"}
        for field, role in (("screenshot", "screenshot"), ("page", "page_capture")):
            content = stored_bytes(stored[role])
            assert stored[role].sha256 == sent[field]["sha256"], f"{field} of {entry['summary']['action']}"
            assert hashlib.sha256(content).hexdigest() == sent[field]["sha256"]
            assert stored[role].size == sent[field]["size"] == len(content)
        if entry["summary"]["action"] == "account":
            (SCREENSHOTS / "extension-captured-tab.png").write_bytes(stored_bytes(stored["screenshot"]))
        screenshot = Image.open(io.BytesIO(stored_bytes(stored["screenshot"])))
        assert screenshot.format == "PNG"
        assert screenshot.size == (VIEWPORT["width"], VIEWPORT["height"])
        page = stored_bytes(stored["page_capture"])
        # Chromium's pageCapture: an MHTML archive of the profile page.
        assert sent["page"]["name"] == "page.mhtml"
        assert page.startswith(b"From: <Saved by Blink>")
        assert b"Suspect Capt" in page

    # The evidence link in the popup leads to the evidence in the app.
    link = popup.locator("#history a").first
    assert link.get_attribute("href").startswith(live_server.url)
    assert not problems, "\n".join(problems)


def test_outbox_keeps_unsent_captures_and_shows_refusals(extension, small_setup, live_server, profile_site):
    context, worker, extension_id, cdp = extension
    problems: list[str] = []
    SCREENSHOTS.mkdir(exist_ok=True)
    case = small_setup["case"]
    set_options(context, extension_id, live_server.url, small_setup["token"], problems)
    other_team_case = CaseFactory(team=TeamFactory(slug="other-team"), title="Another team's case")
    before = Evidence.objects.count()

    # The server becomes unreachable: the address now names a loopback port nothing listens on.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    worker.evaluate(
        """async ([url, caseId]) => { const { settings } = await chrome.storage.local.get('settings');
            await chrome.storage.local.set({ settings: { ...settings, serverUrl: url },
              recentCases: [{ id: caseId, title: "Another team's case", team: 0 }] }); }""",
        [f"http://localhost:{dead_port}", other_team_case.pk],
    )
    profile = open_profile(context, profile_site, problems)
    press_toolbar_button(cdp, extension_id, profile.url)
    popup, _ = open_popup_window(context, worker, profile.url, problems)
    expect(popup.locator("#case-status")).to_contain_text("could not be reached")
    popup.select_option("#case", str(other_team_case.pk))
    popup.click("#do-page")
    result = popup.locator("#result")
    expect(result).to_have_class("result waiting")
    expect(result).to_contain_text("Kept in the outbox")
    entry = popup.locator("#outbox li")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("waiting, next try")
    expect(entry).to_contain_text("could not be reached")
    alarm = worker.evaluate("async () => (await chrome.alarms.get('outbox-retry')) || null")
    assert alarm is not None, "a retry is scheduled"
    assert worker.evaluate("async () => chrome.action.getBadgeText({})") == "1"

    # The server is back; Retry sends it; the server refuses another team's case (404) and the
    # refusal stays in the outbox with the server's message, not retried on its own.
    worker.evaluate(
        """async (url) => { const { settings } = await chrome.storage.local.get('settings');
            await chrome.storage.local.set({ settings: { ...settings, serverUrl: url } }); }""",
        live_server.url,
    )
    entry.get_by_role("button", name="Retry").click()
    expect(entry).to_contain_text("refused by the server (HTTP 404)")
    assert worker.evaluate("async () => (await chrome.alarms.get('outbox-retry')) || null") is None
    state = worker.evaluate("async () => (await chrome.storage.local.get('outbox')).outbox")
    assert [item["state"] for item in state] == ["rejected"]
    assert state[0]["attempts"] == 2
    assert Evidence.objects.count() == before, "nothing stored for a refused capture"
    popup.screenshot(path=str(SCREENSHOTS / "extension-outbox.png"), full_page=True)

    entry.get_by_role("button", name="Discard").click()
    expect(popup.locator("#outbox li")).to_have_count(0)
    expect(popup.locator("#outbox-empty")).to_be_visible()

    # The refused one is gone; a capture into the team's own case goes straight through, with
    # the page as HTML (MHTML archives were not asked for in the options).
    popup.reload()
    popup.select_option("#case", str(case.pk))
    popup.click("#do-page")
    expect(result).to_have_class("result sent")
    assert Evidence.objects.count() == before + 1
    [entry] = extension_history(worker)
    item = Evidence.objects.get(pk=entry["response"]["evidence"][0]["id"])
    page_file = item.files.get(role="page_capture")
    sent = {file["field"]: file for file in entry["summary"]["files"]}
    assert sent["page"]["name"] == "page.html"
    assert page_file.sha256 == sent["page"]["sha256"] == hashlib.sha256(stored_bytes(page_file)).hexdigest()
    html = stored_bytes(page_file).decode()
    assert html.startswith("<!DOCTYPE html>")
    assert COPIED_POST in html
    assert worker.evaluate("async () => chrome.action.getBadgeText({})") == ""
    # Chromium logs each refused connection to the console; those were the point of this test.
    problems = [p for p in problems if "net::ERR_CONNECTION_REFUSED" not in p]
    assert not problems, "\n".join(problems)
