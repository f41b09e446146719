"""The bookmarklet (built on the settings page from a fixed template, only the app's origin put
in) and its capture window: a session, CSRF-protected form calling the capture service."""

import json
import re

import pytest
from django.test import Client

from cases.models import CaptureMethod, Evidence
from frontend.capture import bookmarklet_for
from tests.capture.conftest import png_bytes, stored_state, upload
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


def _browser(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def test_the_bookmarklet_holds_only_the_origin_and_no_token(moderator):
    page = _browser(moderator).get("/settings/capture/")
    assert page.status_code == 200
    html = page.content.decode()
    code = bookmarklet_for("http://testserver")
    assert code.startswith('javascript:(function(){var o="http://testserver",')
    assert "%" not in code  # browsers percent-decode a javascript: URL before running it
    # Rendered escaped in the attribute: the quotes around the origin as entities.
    assert 'href="javascript:(function(){var o=&quot;http://testserver&quot;,' in html
    assert "Bearer" not in code and "token" not in code.lower()


def test_the_origin_is_a_json_string_literal_that_cannot_break_out():
    code = bookmarklet_for('http://evil"};alert(1);//</script>')
    literal = code.split("var o=", 1)[1].split(",d=document", 1)[0]
    assert json.loads(literal) == 'http://evil"};alert(1);//</script>'
    assert "</script>" not in code


def test_the_capture_window_is_prefilled_from_the_query_string(moderator, case_a):
    other_team_case = CaseFactory(title="Not yours")
    response = _browser(moderator).get(
        "/capture/",
        {"url": "https://x.com/AtlantaOnline", "title": "<b>Atlanta</b>", "selection": "Copied words"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="https://x.com/AtlantaOnline"' in html
    assert "&lt;b&gt;Atlanta&lt;/b&gt;" in html and "<b>Atlanta</b>" not in html
    assert case_a.title in html and other_team_case.title not in html


def test_the_capture_window_needs_a_login(case_a):
    response = Client().get("/capture/?url=https://x.com/a")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_capture_window_stores_a_bookmarklet_capture(moderator, case_a):
    client = _browser(moderator, HTTP_USER_AGENT="Mozilla/5.0 Firefox/133")
    response = client.post(
        "/capture/",
        {
            "case": case_a.pk,
            "action": "account",
            "url": "https://www.instagram.com/natgeo/",
            "title": "natgeo",
            "persona": "researcher-3",
            "screenshot": upload("s.png", png_bytes()),
        },
    )
    assert response.status_code == 200
    assert "Captured" in response.content.decode()
    evidence = Evidence.objects.get()
    assert evidence.capture_method == CaptureMethod.BOOKMARKLET
    assert evidence.persona == "researcher-3" and evidence.user_agent == "Mozilla/5.0 Firefox/133"
    assert evidence.account.handle == "natgeo" and evidence.kind == "screenshot"
    assert case_a.case_accounts.filter(account=evidence.account).exists()


def test_a_refused_capture_shows_the_reason_and_stores_nothing(moderator, case_a):
    before = stored_state()
    response = _browser(moderator).post(
        "/capture/",
        {
            "case": case_a.pk,
            "action": "page",
            "url": "javascript:alert(1)",
            "screenshot": upload("s.png", b"x"),
        },
    )
    assert response.status_code == 200
    assert "Only http and https pages can be captured" in response.content.decode()
    assert stored_state() == before


def test_the_capture_form_needs_csrf(moderator, case_a):
    client = _browser(moderator, enforce_csrf_checks=True)
    response = client.post("/capture/", {"case": case_a.pk, "url": "https://x.com/a"})
    assert response.status_code == 403
    assert not Evidence.objects.exists()


def test_another_teams_case_cannot_be_chosen(moderator, outsider, case_a, team_b):
    CaseFactory(team=team_b, title="Team B's own case")
    response = _browser(outsider).post(
        "/capture/", {"case": case_a.pk, "url": "https://x.com/a", "action": "page"}
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not Evidence.objects.exists()


def test_closed_cases_are_not_offered(moderator, case_a):
    closed = CaseFactory(team=case_a.team, title="Closed one", status="closed")
    html = _browser(moderator).get("/capture/").content.decode()
    assert closed.title not in html and case_a.title in html


def test_capture_pages_have_the_strict_csp_and_nothing_inline(moderator, case_a):
    client = _browser(moderator)
    pages = {
        "settings": client.get("/settings/capture/"),
        "window": client.get("/capture/?url=https://x.com/a&title=t"),
        "done": client.post("/capture/", {"case": case_a.pk, "action": "page", "url": "https://x.com/a"}),
    }
    assert "Captured" in pages["done"].content.decode()
    for name, response in pages.items():
        assert response.status_code == 200, name
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy, name
        html = response.content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"{name}: inline <script>"
        assert not re.search(r"\sstyle\s*=", html) and "<style" not in html, name
        assert not re.search(r"\son[a-z]+\s*=", html), f"{name}: inline event handler"
    # The one javascript: URL the app renders is the bookmarklet, our own code.
    assert pages["settings"].content.decode().count('href="javascript:') == 1
    assert 'href="javascript:' not in pages["window"].content.decode()


def test_the_public_key_download_is_pem(client, db):
    response = client.get("/settings/signing-key.pem")
    assert response.status_code == 200
    assert response.content.startswith(b"-----BEGIN PUBLIC KEY-----")
    assert b"PRIVATE" not in response.content
