"""POST /api/captures/: what the extension sends becomes evidence (and an account on the case),
with the server's SHA-256 equal to the browser's; every refused capture is a clear 4xx in the
one error shape and stores nothing — no row, no file."""

import pytest
from rest_framework.test import APIClient

from cases.models import Account, AccountSource, CaptureMethod, Evidence, EvidenceKind
from cases.services.cases import add_account_to_case
from tests.api.conftest import error_of, session_client, token_client
from tests.capture.conftest import (
    PAGE_HTML,
    capture_body,
    image_bytes,
    png_bytes,
    sha,
    stored_state,
    upload,
)
from tests.factories import AccountFactory, CaseFactory

pytestmark = pytest.mark.django_db
URL = "/api/captures/"


def _post(client, body):
    return client.post(URL, body, format="multipart")


def test_a_page_capture_stores_both_files_with_the_browsers_hashes(case_a, moderator):
    shot = png_bytes()
    response = _post(token_client(moderator), capture_body(case_a, shot=shot))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["case"] == {"id": case_a.pk, "title": case_a.title}
    assert body["account"] is None
    [item] = body["evidence"]
    assert item["kind"] == "page_capture"
    assert item["app_url"].endswith(f"/evidence/{item['id']}/")
    by_role = {f["role"]: f for f in item["files"]}
    assert by_role["screenshot"]["sha256"] == sha(shot) and by_role["screenshot"]["size"] == len(shot)
    assert by_role["page_capture"]["sha256"] == sha(PAGE_HTML)
    evidence = Evidence.objects.get(pk=item["id"])
    assert evidence.capture_method == CaptureMethod.EXTENSION
    assert evidence.captured_by == moderator
    assert evidence.persona == "sock-puppet-7"
    assert evidence.user_agent.startswith("Mozilla/5.0")
    assert evidence.captured_at.isoformat() == "2026-11-28T10:00:00+00:00"
    assert evidence.captured_text == "Copied words"
    stored = {f.role: f for f in evidence.files.all()}
    assert stored["screenshot"].file.read() == shot
    # A perceptual hash for every screenshot, so similar images can be found later.
    assert (
        len(stored["screenshot"].phash) == 16 and by_role["screenshot"]["phash"] == stored["screenshot"].phash
    )
    assert stored["page_capture"].content_type == "text/html"
    assert not stored["screenshot"].file.name.endswith("shot.png")  # random names on disk


def test_flag_account_creates_the_account_and_puts_it_on_the_case(case_a, moderator):
    body = capture_body(
        case_a,
        action="account",
        url="https://mobile.twitter.com/AtlantaOnline?s=20",
        platform="x",
        handle="AtlantaOnline",
    )
    response = _post(token_client(moderator), body)
    assert response.status_code == 201, response.json()
    account = Account.objects.get(team=case_a.team, handle_normalized="atlantaonline")
    assert response.json()["account"] == {
        "id": account.pk,
        "platform": "x",
        "handle": "AtlantaOnline",
        "created": True,
    }
    assert account.source == AccountSource.CAPTURE
    assert case_a.case_accounts.filter(account=account).exists()
    assert Evidence.objects.get(pk=response.json()["evidence"][0]["id"]).account == account

    # Again, on an account the team knows and the case has: no new account, no second link.
    again = _post(
        token_client(moderator),
        {**body, **capture_body(case_a, action="account", platform="x", handle="atlantaonline")},
    )
    assert again.status_code == 201, again.json()
    assert again.json()["account"]["created"] is False
    assert Account.objects.filter(team=case_a.team).count() == 1
    assert case_a.case_accounts.count() == 1


def test_flag_account_on_a_known_account_adds_it_to_the_case(case_a, moderator):
    known = AccountFactory(team=case_a.team, platform="telegram", handle="durov")
    body = capture_body(
        case_a, action="account", url="https://t.me/s/durov", platform="telegram", handle="durov"
    )
    response = _post(token_client(moderator), body)
    assert response.status_code == 201, response.json()
    assert response.json()["account"] == {
        "id": known.pk,
        "platform": "telegram",
        "handle": "durov",
        "created": False,
    }
    assert case_a.case_accounts.filter(account=known).exists()


def test_a_selection_becomes_repost_evidence_with_its_source(case_a, moderator):
    body = capture_body(
        case_a,
        action="repost",
        selection="Energy prices: the truth",
        source_url="https://www.bild.de/politik/artikel-1",
        source_text="Energy prices: the truth they hide",
        source_author="BILD",
        screenshot=None,
        screenshot_sha256=None,
    )
    response = _post(token_client(moderator), body)
    assert response.status_code == 201, response.json()
    evidence = Evidence.objects.get(pk=response.json()["evidence"][0]["id"])
    assert evidence.kind == EvidenceKind.REPOST
    assert evidence.source_url == "https://www.bild.de/politik/artikel-1"
    assert evidence.copy_similarity is not None and evidence.copy_similarity > 0.5
    assert [f.role for f in evidence.files.all()] == ["page_capture"]


def test_a_capture_without_files_is_a_link(case_a, moderator):
    body = {"case": case_a.pk, "url": "https://bild.pics/artikel", "title": "Bild (fake)"}
    response = _post(token_client(moderator), body)
    assert response.status_code == 201, response.json()
    assert response.json()["evidence"][0]["kind"] == EvidenceKind.LINK
    assert response.json()["evidence"][0]["files"] == []


def test_the_session_works_too_with_csrf(case_a, moderator):
    client = session_client(moderator)
    assert _post(client, capture_body(case_a)).status_code == 403  # no CSRF token
    assert Evidence.objects.count() == 0


# --- refused captures: a clear 4xx, the one error shape, nothing stored -------------------------


def _refused(client, body, status, code):
    before = stored_state()
    response = _post(client, body)
    assert response.status_code == status, response.content
    error = error_of(response)
    assert error["code"] == code, error
    assert stored_state() == before
    return error


def test_an_oversized_screenshot_is_a_413(case_a, moderator, settings):
    settings.CAPTURE_MAX_SCREENSHOT_BYTES = 1000
    shot = png_bytes(size=(400, 300))
    assert len(shot) > 1000
    error = _refused(token_client(moderator), capture_body(case_a, shot=shot), 413, "file_too_large")
    assert "limit is 1000 bytes" in error["message"] and "screenshot" in error["fields"]


def test_an_oversized_page_is_a_413(case_a, moderator, settings):
    settings.CAPTURE_MAX_PAGE_BYTES = 50
    _refused(token_client(moderator), capture_body(case_a), 413, "file_too_large")


def test_a_body_over_the_api_limit_is_a_413_before_it_is_read(case_a, moderator, settings):
    settings.API_MAX_BODY_BYTES = 2000
    _refused(
        token_client(moderator), capture_body(case_a, page_bytes=PAGE_HTML * 40), 413, "request_too_large"
    )


def test_a_hash_mismatch_is_refused(case_a, moderator):
    shot = png_bytes()
    error = _refused(
        token_client(moderator),
        capture_body(case_a, shot=shot, screenshot_sha256=sha(b"other")),
        400,
        "hash_mismatch",
    )
    assert sha(shot) in error["message"] and "screenshot_sha256" in error["fields"]


def test_a_page_hash_mismatch_is_refused(case_a, moderator):
    _refused(
        token_client(moderator), capture_body(case_a, page_sha256=sha(PAGE_HTML + b" ")), 400, "hash_mismatch"
    )


def test_a_screenshot_that_is_not_an_image_is_refused(case_a, moderator):
    fake = b"<html>not an image</html>"
    body = capture_body(case_a, screenshot=upload("shot.png", fake, "image/png"), screenshot_sha256=sha(fake))
    error = _refused(token_client(moderator), body, 400, "unsupported_file")
    assert "not an image" in error["message"]


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "WEBP"])
def test_a_screenshot_of_the_wrong_type_is_refused(case_a, moderator, fmt):
    data = image_bytes(fmt)
    body = capture_body(case_a, screenshot=upload("shot.png", data, "image/png"), screenshot_sha256=sha(data))
    error = _refused(token_client(moderator), body, 400, "unsupported_file")
    assert fmt in error["message"] and "PNG or JPEG" in error["message"]


def test_a_page_that_is_not_html_is_refused(case_a, moderator):
    data = png_bytes()
    body = capture_body(case_a, page=upload("page.html", data, "text/html"), page_sha256=sha(data))
    _refused(token_client(moderator), body, 400, "unsupported_file")


def test_a_jpeg_screenshot_and_an_mhtml_page_are_accepted(case_a, moderator):
    jpeg = image_bytes("JPEG")
    mhtml = (
        b"From: <Saved by Blink>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/related;\r\n\r\n--x--\r\n"
    )
    body = capture_body(
        case_a,
        screenshot=upload("s.jpg", jpeg),
        screenshot_sha256=sha(jpeg),
        page=upload("p.mhtml", mhtml),
        page_sha256=sha(mhtml),
    )
    response = _post(token_client(moderator), body)
    assert response.status_code == 201, response.json()
    types = sorted(Evidence.objects.get().files.values_list("content_type", flat=True))
    assert types == ["image/jpeg", "multipart/related"]


def test_a_bad_token_is_a_401(case_a):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-real-token-at-all-0123456789")
    _refused(client, capture_body(case_a), 401, "authentication_failed")


def test_no_credentials_is_a_401(case_a):
    _refused(APIClient(), capture_body(case_a), 401, "not_authenticated")


def test_another_teams_case_is_a_404_like_a_missing_one(case_a, outsider):
    client = token_client(outsider)
    foreign = _refused(client, capture_body(case_a), 404, "not_found")
    missing = _refused(client, {**capture_body(case_a), "case": 987654321}, 404, "not_found")
    assert foreign == missing


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "ftp://x.com/a",
        "x.com/AtlantaOnline",
    ],
)
def test_only_http_and_https_urls_are_taken(case_a, moderator, url):
    error = _refused(token_client(moderator), capture_body(case_a, url=url), 400, "invalid")
    assert "Only http and https" in error["message"] and "url" in error["fields"]


def test_a_javascript_source_url_is_refused(case_a, moderator):
    body = capture_body(case_a, action="repost", source_url="javascript:alert(1)")
    error = _refused(token_client(moderator), body, 400, "invalid")
    assert "source_url" in error["fields"]


def test_a_file_without_its_hash_is_refused(case_a, moderator):
    error = _refused(token_client(moderator), capture_body(case_a, screenshot_sha256=None), 400, "invalid")
    assert error["fields"] == {"screenshot_sha256": ["Required when a screenshot is sent."]}


def test_a_malformed_hash_is_refused(case_a, moderator):
    error = _refused(token_client(moderator), capture_body(case_a, page_sha256="ABC"), 400, "invalid")
    assert "page_sha256" in error["fields"]


def test_flag_account_refuses_a_platform_or_handle_the_server_parses_differently(case_a, moderator):
    body = capture_body(
        case_a, action="account", url="https://x.com/AtlantaOnline", platform="x", handle="Someone"
    )
    error = _refused(token_client(moderator), body, 400, "invalid")
    assert "x/AtlantaOnline" in error["message"]
    body = capture_body(
        case_a, action="account", url="https://x.com/AtlantaOnline", platform="reddit", handle="AtlantaOnline"
    )
    _refused(token_client(moderator), body, 400, "invalid")


def test_flag_account_refuses_a_url_that_is_no_account(case_a, moderator):
    body = capture_body(
        case_a,
        action="account",
        url="https://example.com/AtlantaOnline",
        platform="x",
        handle="AtlantaOnline",
    )
    error = _refused(token_client(moderator), body, 400, "invalid")
    assert "not a profile or post" in error["message"]


def test_flag_account_on_a_closed_case_stores_nothing(case_a, moderator):
    case = CaseFactory(team=case_a.team, status="closed")
    body = capture_body(
        case, action="account", url="https://x.com/AtlantaOnline", platform="x", handle="AtlantaOnline"
    )
    _refused(token_client(moderator), body, 409, "conflict")


def test_a_repost_needs_the_selection(case_a, moderator):
    _refused(token_client(moderator), capture_body(case_a, action="repost", selection=""), 400, "invalid")


def test_a_capture_time_in_the_future_is_refused(case_a, moderator):
    _refused(
        token_client(moderator), capture_body(case_a, captured_at="2999-01-01T00:00:00Z"), 400, "invalid"
    )


def test_json_is_not_taken(case_a, moderator):
    response = token_client(moderator).post(URL, {"case": case_a.pk, "url": "https://x.com/a"}, format="json")
    assert response.status_code == 415 and error_of(response)["code"] == "unsupported_media_type"


def test_an_account_already_on_the_case_is_not_added_twice(case_a, moderator, lead):
    account = AccountFactory(team=case_a.team, platform="reddit", handle="spez")
    add_account_to_case(case=case_a, account=account, added_by=lead)
    body = capture_body(
        case_a, action="account", url="https://old.reddit.com/u/spez", platform="reddit", handle="spez"
    )
    response = _post(token_client(moderator), body)
    assert response.status_code == 201, response.json()
    assert case_a.case_accounts.filter(account=account).count() == 1
