"""Adversaries write the bios, posts, captured pages and file names the moderators read. Seed all
of them with script, event handlers, ``javascript:`` URLs, SVG, CSS tricks and bidi overrides,
open every page that shows them in Chromium, and fail if a dialog opens, a script runs, the
Content-Security-Policy is violated or a request leaves for another host (the ``page`` fixture
watches all of that)."""

import datetime
import re

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from playwright.sync_api import expect

from cases.models import AccountKind, BrandRole, EvidenceFile, EvidenceKind, Role
from cases.services.accounts import create_media_brand, create_post
from cases.services.cases import add_account_to_case
from cases.services.evidence import Upload, record_evidence, retract_evidence
from cases.services.queues import create_queue_from_case
from cases.services.suggestions import upsert_suggestion
from tests.e2e.conftest import SCREENSHOTS, VIEWPORT
from tests.factories import (
    AccountFactory,
    ActorFactory,
    CaseFactory,
    MembershipFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser]

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
JS_URL = "javascript:alert(1)"
# Evidence services refuse non-web links outright (tests/services/test_evidence.py), so evidence
# carries a web address whose path and query are the attack.
EVIL_HTTP_URL = 'https://evil.example/"><script>alert(5)</script>?q=<img src=x onerror=alert(6)>'
CSS = "</style><style>body{display:none}</style>"
RTL = "invoice\u202egpj.exe"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
CAPTURE = (
    "<!doctype html><html><head><title>Bild</title>"
    '<meta http-equiv="refresh" content="0;url=https://evil.example/refresh">'
    '<link rel="stylesheet" href="https://evil.example/x.css">'
    "<style>h1{color:#d00} body{background:url(https://evil.example/bg.png)}</style></head>"
    f"<body><h1>Energiepreise: Die Wahrheit</h1><p>{IMG}</p>"
    "<script>document.body.setAttribute('data-pwned', '1'); alert(3)</script>"
    '<img src="https://evil.example/pixel.gif"><a href="javascript:alert(4)">click</a>'
    '<form action="https://evil.example/post"><input name=q></form></body></html>'
).encode()


@pytest.fixture
def hostile(transactional_db):
    team = TeamFactory(slug="hostile", name="Hostile content")
    moderator = MembershipFactory(team=team, role=Role.MODERATOR, user=UserFactory(username="reader")).user
    case = CaseFactory(team=team, title=f"Case {SCRIPT} {IMG}", summary=f"{CSS} {SCRIPT} {RTL}")
    suspect = AccountFactory(
        team=team,
        handle="evil\u202ehandle",
        display_name=f"{IMG} {RTL}",
        bio=f"{CSS}\n{SCRIPT}\n{JS_URL}",
        profile_url=JS_URL,
        external_id=SCRIPT,
        language=SCRIPT[:20],
    )
    # An SVG on disk as if it had slipped past the avatar service (which decodes and refuses it):
    # the page must still never serve it. The row needs a hash to satisfy the database.
    suspect.avatar_phash = "0" * 16
    suspect.avatar.save("avatar.svg", ContentFile(SVG), save=True)
    source_account = AccountFactory(team=team, handle="realoutlet", kind=AccountKind.REFERENCE)
    source = create_post(account=source_account, text=f"Real text {SCRIPT} with words")
    create_post(
        account=suspect,
        text=f"Copied {SCRIPT} with words {IMG}",
        url=JS_URL,
        links=[JS_URL, "https://evil.example/<script>", "data:text/html,<script>alert(1)</script>"],
        copied_from=source,
        copy_similarity=0.8,
        posted_at=timezone.now(),
    )
    for n in range(6):  # a second page of posts, fetched with htmx
        create_post(
            account=suspect,
            text=f"{n} {IMG} {CSS} {RTL}",
            posted_at=timezone.now() - datetime.timedelta(days=n + 1),
        )
    add_account_to_case(case=case, account=suspect, added_by=moderator)
    lookalike = AccountFactory(team=team, handle="lookalike", display_name=SCRIPT)
    upsert_suggestion(
        team=team,
        account_a=suspect,
        account_b=lookalike,
        score=0.9,
        signals=[{"signal": SCRIPT, "score": 0.9, "detail": f"{IMG} {CSS}"}, "<b>not even a dict</b>"],
    )
    create_media_brand(
        team=team,
        name=f"Brand {SCRIPT}",
        impersonates=IMG,
        domains=["evil.example", "<script>.example"],
        accounts=[(suspect, BrandRole.RUNS)],
    )
    ActorFactory(team=team, name=f"Actor {SCRIPT}")
    evidence = {
        "note": record_evidence(
            case=case,
            kind=EvidenceKind.NOTE,
            captured_by=moderator,
            account=suspect,
            title=IMG,
            captured_text=f"{SCRIPT}\n{CSS}\n{RTL}",
        ),
        "link": record_evidence(
            case=case,
            kind=EvidenceKind.LINK,
            captured_by=moderator,
            account=suspect,
            url=EVIL_HTTP_URL,
            title=SCRIPT,
        ),
        "repost": record_evidence(
            case=case,
            kind=EvidenceKind.REPOST,
            captured_by=moderator,
            account=suspect,
            captured_text=f"Copy {SCRIPT}",
            source_text=f"Source {SCRIPT}",
            source_author=IMG,
            source_url=EVIL_HTTP_URL,
            persona=SCRIPT,
        ),
        "screenshot": record_evidence(
            case=case,
            kind=EvidenceKind.SCREENSHOT,
            captured_by=moderator,
            account=suspect,
            files=[Upload(EvidenceFile.Role.SCREENSHOT, f"{IMG}{RTL}.png", _png())],
        ),
        "capture": record_evidence(
            case=case,
            kind=EvidenceKind.PAGE_CAPTURE,
            captured_by=moderator,
            account=suspect,
            url="https://evil.example/page",
            files=[Upload(EvidenceFile.Role.PAGE_CAPTURE, f"{SCRIPT}.html", CAPTURE)],
        ),
    }
    retract_evidence(evidence=evidence["note"], retracted_by=moderator, reason=f"{SCRIPT} {IMG}")
    queue = create_queue_from_case(case=case, name=f"Queue {SCRIPT}", created_by=None)
    return {"moderator": moderator, "case": case, "queue": queue, "evidence": evidence, "suspect": suspect}


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 40), (30, 60, 200)).save(out, format="PNG")
    return out.getvalue()


def _still_standing(page) -> None:
    """The page rendered: the CSS trick did not hide it and no markup was interpreted."""
    expect(page.locator("body")).to_be_visible()
    expect(page.locator(".topbar")).to_be_visible()
    assert page.locator("main script").count() == 0
    assert page.locator("main img[src='x']").count() == 0
    assert page.locator("a[href^='javascript:'], a[href^='data:']").count() == 0
    assert page.evaluate("document.body.getAttribute('data-pwned')") is None


def test_hostile_content_is_shown_as_text_everywhere(page, log_in, screenshot, hostile):
    case, evidence, suspect = hostile["case"], hostile["evidence"], hostile["suspect"]
    log_in(hostile["moderator"])

    page.goto("/")
    expect(page.get_by_role("link", name=f"Case {SCRIPT}")).to_be_visible()
    _still_standing(page)

    page.goto("/work/")
    expect(page.locator(".queue-name")).to_have_text(f"Queue {SCRIPT}")
    _still_standing(page)
    page.get_by_role("button", name=re.compile("Claim next")).first.click()
    expect(page).to_have_url(re.compile(r"/work/assignments/\d+/$"))

    # The review screen: profile, posts, the copy beside its source, brands, evidence, suggestions.
    expect(page.locator(".profile-name")).to_contain_text(f"{IMG} invoice[U+202E]gpj.exe")
    expect(page.locator(".bio")).to_contain_text(CSS)
    expect(page.locator(".profile-link .ext-link")).to_have_count(0)
    expect(page.locator(".profile-link")).to_contain_text("javascript:alert(1)")
    expect(page.locator(".copy-pair").first).to_contain_text(f"Copied {SCRIPT} with words")
    expect(page.locator(".copy-pair mark").first).to_be_visible()
    expect(page.locator(".brand-list")).to_contain_text(f"Brand {SCRIPT}")
    expect(page.locator(".brand-list")).to_contain_text("evil[.]example")
    expect(page.locator("[data-suggestion]")).to_contain_text(f"{IMG} {CSS}")
    avatar = page.locator("img.avatar")
    expect(avatar).to_be_visible()
    # The SVG avatar is never served: the view draws a plain PNG tile instead.
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=avatar.element_handle())
    assert page.evaluate("(img) => img.naturalWidth", avatar.element_handle()) == 48
    _still_standing(page)
    screenshot("hostile-review", full_page=False)

    page.get_by_role("link", name="Older →").click()  # htmx swaps in the second page of posts
    expect(page.locator("#posts")).to_contain_text("invoice[U+202E]gpj.exe")
    _still_standing(page)

    page.keyboard.press("t")
    page.keyboard.type(IMG)
    expect(page.locator("#lbl-tech-options")).to_contain_text(f"Matches for “{IMG}”")
    page.keyboard.press("Escape")

    page.locator("[data-suggestion] [data-action='dismiss']").click()
    expect(page.locator("[data-suggestion]")).to_contain_text("Dismissed")
    _still_standing(page)

    # An SVG "screenshot" is refused, and the refusal is shown in the dialog.
    page.keyboard.press("e")
    dialog = page.get_by_role("dialog", name=re.compile("Attach evidence"))
    dialog.locator("label.seg", has_text="Screenshot").click()
    dialog.locator("#ev-screenshot").set_input_files(
        files=[{"name": f"{IMG}.svg", "mimeType": "image/svg+xml", "buffer": SVG}]
    )
    dialog.get_by_role("button", name="Record evidence").click()
    expect(dialog.get_by_role("alert")).to_contain_text("not a PNG, JPEG or WebP image")
    page.keyboard.press("Escape")

    # The case page: accounts, evidence (with the retraction), coverage, the vote form.
    page.goto(f"/cases/{case.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Case {SCRIPT} {IMG}")
    expect(page.locator(".summary-card")).to_contain_text(CSS)
    expect(page.locator("tr.is-retracted")).to_contain_text(IMG)
    expect(page.locator("#vote-actor")).to_contain_text(f"Actor {SCRIPT}")
    _still_standing(page)
    screenshot("hostile-case")

    page.goto(f"/cases/{case.pk}/evidence/new/")
    _still_standing(page)

    for name in ("note", "link", "repost", "screenshot"):
        page.goto(f"/evidence/{evidence[name].pk}/")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        _still_standing(page)
    expect(page.locator(".file-name")).to_have_text(f"{IMG}invoice[U+202E]gpj.exe.png")
    expect(page.locator("img.ev-image")).to_be_visible()

    page.goto(f"/evidence/{evidence['capture'].pk}/")
    source = page.locator(".capture-source")
    expect(source).to_contain_text("<script>document.body.setAttribute('data-pwned', '1'); alert(3)</script>")
    expect(page.locator("iframe")).to_have_count(0)
    _still_standing(page)
    screenshot("hostile-capture-source")
    assert suspect.pk


def test_a_captured_page_previews_only_inside_a_sandbox(browser, live_server, hostile):
    """The preview frame runs nothing and fetches nothing. Chromium says so on the console — that
    is the proof, so this test watches the page itself and accepts exactly those messages, from
    exactly that frame."""
    from django.conf import settings
    from django.test import Client

    capture = hostile["evidence"]["capture"]
    stored = capture.files.get()
    preview_path = f"/evidence/files/{stored.pk}/preview/"
    client = Client()
    client.force_login(hostile["moderator"])
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    blocked: list[str] = []
    requests: list[str] = []

    def on_console(message):
        if message.type != "error":
            return
        where = message.location.get("url", "")
        if where.endswith(preview_path) and re.match(
            r"(Blocked script execution|Loading the (image|stylesheet|font|script) .* violates|"
            r"Refused to (load|apply|execute)|Blocked form submission|Not allowed to)",
            message.text,
        ):
            blocked.append(message.text)
        else:
            problems.append(f"console error at {where}: {message.text}")

    def on_dialog(dialog):
        problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    def on_request(request):
        requests.append(request.url)

    def on_request_failed(request):
        failures[request.url] = request.failure or ""

    def reached_the_network(route):
        escaped.append(route.request.url)
        route.abort()

    failures: dict[str, str] = {}
    escaped: list[str] = []
    outside = re.compile(r"^(https?|wss?)://(?!(localhost|127\.0\.0\.1|\[::1\])[:/])")
    context.route(outside, reached_the_network)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("dialog", on_dialog)
    page.on("request", on_request)
    page.on("requestfailed", on_request_failed)
    page.on(
        "framenavigated",
        lambda frame: (
            frame.url.startswith("http")
            and "evil" in frame.url
            and problems.append(f"a frame navigated to {frame.url}")
        ),
    )

    page.goto(f"/evidence/{capture.pk}/?view=preview")
    frame_element = page.locator("iframe.capture-frame")
    expect(frame_element).to_have_attribute("sandbox", "")
    frame = page.frame_locator("iframe.capture-frame")
    expect(frame.locator("h1")).to_have_text("Energiepreise: Die Wahrheit")
    expect(frame.locator("p")).to_have_text("")  # the <img onerror> is an element whose handler never ran
    expect(frame.locator("body")).not_to_have_attribute("data-pwned", "1")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "hostile-capture-preview.png"), caret="initial")
    context.close()

    assert not problems, "\n".join(problems)
    assert any(text.startswith("Blocked script execution") for text in blocked), blocked
    # Chromium announces the capture's outside loads, then its CSP refuses them before any
    # network layer sees them: the route that would catch a request leaving is never reached.
    assert not escaped, escaped
    for url in (u for u in requests if outside.match(u)):
        assert failures.get(url) == "csp", (url, failures.get(url))  # Chromium: blocked by CSP
    assert "https://evil.example/refresh" not in requests, "the meta refresh is blocked by the sandbox"
