"""The bookmarklet in a real Chromium: take it from the settings page, run its code on a local
page that imitates a platform profile (served by this test on another port), complete the capture
window it opens, and find the evidence in the database."""

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from cases.models import CaptureMethod, Evidence, Role
from tests.capture.conftest import png_bytes
from tests.e2e.conftest import SCREENSHOTS
from tests.factories import CaseFactory, MembershipFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser]

PROFILE = b"""<!doctype html><html><head><meta charset="utf-8">
<title>Atlanta Online (@AtlantaOnline)</title></head><body><h1>Atlanta Online</h1>
<p id="bio">Your trusted source for Atlanta news.</p>
<article><p id="post">Energy prices: the truth they hide from you</p></article></body></html>"""


class _Profile(BaseHTTPRequestHandler):
    def do_GET(self):
        # The profile, and an empty answer for anything else (the browser asks for /favicon.ico).
        body = PROFILE if self.path.startswith("/AtlantaOnline") else b""
        self.send_response(200 if body else 204)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def platform_page():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Profile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/AtlantaOnline?s=20"
    server.shutdown()
    server.server_close()


@pytest.fixture
def investigator(transactional_db):
    team = TeamFactory(slug="capture", name="Capture team")
    user = MembershipFactory(team=team, role=Role.MODERATOR, user=UserFactory(username="amira")).user
    case = CaseFactory(team=team, title="Spamouflage copy-paste network")
    CaseFactory(team=team, title="Doppelganger brands")
    return user, case


def test_the_bookmarklet_captures_the_page_it_runs_on(
    page, log_in, live_server, platform_page, investigator, tmp_path
):
    user, case = investigator
    log_in(user)
    page.goto("/settings/capture/")
    code = page.get_by_test_id("bookmarklet").get_attribute("href")
    assert code.startswith("javascript:") and live_server.url in code
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "capture-settings.png"), full_page=True, caret="initial")

    page.goto(platform_page)
    page.evaluate(
        """() => { const range = document.createRange();
                   range.selectNodeContents(document.getElementById('post'));
                   const selection = window.getSelection();
                   selection.removeAllRanges(); selection.addRange(range); }"""
    )
    problems = []
    with page.context.expect_page() as opened:
        page.evaluate(code[len("javascript:") :])
    window = opened.value
    window.on("console", lambda m: m.type == "error" and problems.append(m.text))
    window.on("pageerror", lambda e: problems.append(str(e)))
    window.wait_for_load_state()
    assert window.url.startswith(f"{live_server.url}/capture/?url=")

    expect(window.get_by_label("Page URL")).to_have_value(platform_page)
    expect(window.get_by_label("Title")).to_have_value("Atlanta Online (@AtlantaOnline)")
    expect(window.get_by_label("Selected text")).to_have_value("Energy prices: the truth they hide from you")
    window.get_by_label("Case").select_option(label=f"{case.title} · Capture team")
    window.get_by_label("Research persona used").fill("sock-puppet-7")
    shot = tmp_path / "shot.png"
    shot.write_bytes(png_bytes())
    window.get_by_label("Screenshot (PNG or JPEG, optional)").set_input_files(str(shot))
    window.screenshot(path=str(SCREENSHOTS / "capture-window.png"), full_page=True, caret="initial")
    window.get_by_role("button", name="Capture").click()

    expect(window.get_by_test_id("capture-done")).to_contain_text("Captured")
    window.screenshot(path=str(SCREENSHOTS / "capture-done.png"), full_page=True, caret="initial")
    evidence = Evidence.objects.get(case=case)
    assert evidence.capture_method == CaptureMethod.BOOKMARKLET
    assert evidence.url == platform_page and evidence.title == "Atlanta Online (@AtlantaOnline)"
    assert evidence.captured_text == "Energy prices: the truth they hide from you"
    assert evidence.persona == "sock-puppet-7" and evidence.captured_by == user
    assert evidence.files.get().sha256 == hashlib.sha256(png_bytes()).hexdigest()
    expect(window.get_by_role("link", name=f"evidence #{evidence.pk}")).to_be_visible()
    assert not problems, problems

    # Back in the app: the evidence page shows the chain of custody, the report the signed manifest.
    page.goto(f"/evidence/{evidence.pk}/")
    chain = page.locator(".custody-chain li")
    expect(chain.first).to_contain_text("Captured")
    expect(chain.first).to_contain_text("Bookmarklet")
    expect(chain.last).to_contain_text("Viewed")
    page.screenshot(path=str(SCREENSHOTS / "capture-evidence-custody.png"), full_page=True, caret="initial")
    page.goto(f"/cases/{case.pk}/report/")
    manifest = page.get_by_test_id("manifest")
    expect(manifest).to_contain_text(evidence.files.get().sha256)
    manifest.screenshot(path=str(SCREENSHOTS / "capture-report-manifest.png"), caret="initial")
