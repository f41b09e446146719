"""The hostile corpus (tests/fixtures/hostile/) through every way in, without a browser: malformed
input is refused with a message that says why and costs nothing else of the request; what is
stored is exactly what was sent; files come back only as opaque downloads or re-encoded pixels;
every answer carries the strict Content-Security-Policy. The pages that show all of it are
tests/e2e/test_hostile_corpus_pages.py."""

import io
import json

import pytest
from PIL import Image

from cases.models import Account, Evidence, EvidenceFile, Job, JobKind, MediaBrand, Post
from cases.services.imports import import_bundle, import_indicator_files
from tests.factories import AccountFactory, ActorFactory, CaseFactory
from tests.security.hostile import (
    HOSTILE,
    api_client,
    blob,
    corpus,
    fixture_bytes,
    invalid_utf8_file_name,
    is_strict_csp,
    long_file_name,
    markup,
    one_mb_line,
    page_client,
    raw_multipart,
    seed_api,
    seed_capture,
    seed_forms,
    sha256,
    upload,
)

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NUL = corpus()["nul"]["text"]
HOMO = corpus()["homoglyphs"]
URLS = corpus()["urls"]
BIDI = corpus()["bidi"]


def _reasons(result) -> dict[int, str]:
    return {r["line"]: r["reason"] for r in result["rejected"]["reasons"]}


# --- bundles --------------------------------------------------------------------------------------


def test_a_jsonl_bundle_rejects_each_bad_line_by_number_and_imports_every_other_line(
    team_a, moderator, tmp_path
):
    # The corpus file, then a 1 MiB single line (too long), then one more good line.
    bundle = tmp_path / "hostile.jsonl"
    long_line = json.dumps(
        {"type": "post", "platform": "x", "account": "AtlantaOnline", "text": one_mb_line()}
    )
    last = json.dumps(
        {"type": "account", "platform": "x", "handle": "after_the_long_line", "bio": BIDI["zero_width"]}
    )
    bundle.write_bytes(fixture_bytes("bundle-bad-lines.jsonl") + long_line.encode() + b"\n" + last.encode())

    result = import_bundle(team=team_a, source=bundle, user=moderator)

    reasons = _reasons(result)
    assert sorted(reasons) == [3, 4, 5, 6, 7, 9, 10, 11, 13, 14, 16]
    assert "must be an http or https URL, not 'javascript:" in reasons[3]
    assert reasons[4] == "the line is not valid UTF-8"
    assert reasons[5].startswith("not valid JSON (Invalid control character")  # a raw NUL byte
    assert reasons[6] == "contains a NUL character"  # NUL as a \u0000 escape
    assert "not 'data:text/html" in reasons[7]
    assert reasons[16] == "the line is longer than 1,000,000 bytes"
    assert result["accounts"]["created"] == 3 and result["posts"]["created"] == 2
    assert result["media_brands"]["created"] == 1

    # Stored exactly as sent: markup, bidi controls and homoglyphs are characters, not mangled.
    real = Account.objects.get(team=team_a, handle="AtlantaOnline")
    twin = Account.objects.get(team=team_a, handle=HOMO["cyrillic_a"])
    assert real.pk != twin.pk and real.handle_normalized != twin.handle_normalized
    assert real.bio == blob()
    assert real.display_name == markup()["img_onerror"] + BIDI["rtl_override_text"]
    assert (
        twin.bio == f"{markup()['css_close_style']}\n{markup()['htmx_attrs']}\n{BIDI['isolates_and_marks']}"
    )
    assert Post.objects.get(account=real, external_id="p1").text == f"{blob()}\n{BIDI['rtl_override_text']}"
    assert Account.objects.get(team=team_a, handle="after_the_long_line").bio == BIDI["zero_width"]
    brand = MediaBrand.objects.get(team=team_a)
    assert brand.name == f"Bild {markup()['script']}" and brand.description == blob()
    assert not Account.objects.filter(
        handle_normalized__in=["jsprofile", "badbytes", "rawnul", "escnul"]
    ).exists()


def test_a_csv_bundle_rejects_bad_records_by_line_and_imports_the_rest(team_a, moderator):
    result = import_bundle(team=team_a, source=HOSTILE / "bundle-bad-lines.csv", user=moderator)

    reasons = _reasons(result)
    # Line numbers are physical lines: the first record's bio spans two.
    assert reasons == {
        4: "the record is not valid UTF-8",
        5: "'profile_url' is not a URL (it contains spaces or control characters)",
        6: "contains a NUL character",
        8: "'url' must be an http or https URL, not 'javascript:window.__pwned=1;alert(5)'",
    }
    twin = Account.objects.get(team=team_a, handle=HOMO["cyrillic_o"])
    assert twin.display_name == markup()["script"]
    assert twin.bio == f"{markup()['css_close_style']}\n{markup()['img_onerror']}"
    assert Post.objects.get(account=twin, external_id="c1").text == blob()


def test_a_bundle_that_is_not_utf8_is_refused_with_a_message_on_every_upload_path(team_a, moderator):
    latin1 = b"type,platform,handle,bio\n" + b"account,x,caf\xe9,\xe9\xe9\xe9\xe9\xe9\xe9\n" * 40
    # The API: a 400 in the API's error shape, nothing queued.
    response = api_client(moderator).post(
        "/api/imports/bundle/", {"team": team_a.pk, "file": upload("latin1.csv", latin1)}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "latin1.csv: The file is not UTF-8 text."
    # The import page: the form again, with the reason, and the file name shown as text.
    page = page_client(moderator).post(
        "/imports/",
        {"team": team_a.slug, "kind": "bundle", "files": upload(markup()["img_onerror"] + ".csv", latin1)},
    )
    assert page.status_code == 200
    body = page.content.decode()
    assert "The file is not UTF-8 text." in body
    assert "<img src=x onerror" not in body and "&lt;img src=x onerror" in body
    assert not Job.objects.filter(kind=JobKind.IMPORT_BUNDLE).exists()


@pytest.mark.parametrize("kind", ["bundle", "indicators"])
def test_a_file_name_that_is_not_utf8_is_a_clear_refusal_not_a_server_error(team_a, moderator, kind):
    """Django cannot read a part header that is not UTF-8 and drops the part: the upload is
    refused as missing, with the form's message, and nothing is queued. (The import page answered
    this with a 500 until its file field treated "no file" as missing.)"""
    content = fixture_bytes("bundle-bad-lines.jsonl" if kind == "bundle" else "indicators-hostile.csv")
    field = "file" if kind == "bundle" else "files"
    body, content_type = raw_multipart({"team": str(team_a.pk)}, [(field, invalid_utf8_file_name(), content)])
    response = api_client(moderator).generic("POST", f"/api/imports/{kind}/", body, content_type=content_type)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"][field][0] in (
        "No file was submitted.",
        "This field is required.",
    )

    body, content_type = raw_multipart(
        {"team": team_a.slug, "kind": kind}, [("files", invalid_utf8_file_name(), content)]
    )
    page = page_client(moderator).generic("POST", "/imports/", body, content_type=content_type)
    assert page.status_code == 200
    assert "This field is required." in page.content.decode()
    assert not Job.objects.exists()


def test_indicator_files_keep_their_text_and_a_bad_one_is_refused_by_name(team_a, lead):
    result = import_indicator_files(
        team=team_a,
        files=[HOSTILE / "indicators-hostile.csv", HOSTILE / "indicators-bad-utf8.csv"],
        user=lead,
    )

    imported, refused = result["files"]
    assert imported["status"] == "imported" and imported["evidence"]["created"] == 1
    assert refused == {
        "file": "indicators-bad-utf8.csv",
        "status": "refused",
        "reason": "The file is not UTF-8 text.",
    }
    evidence = Evidence.objects.get(kind="indicator")
    # The whole file is kept byte for byte as the attachment, and its rows as text.
    assert evidence.files.get().file.read() == fixture_bytes("indicators-hostile.csv")
    assert markup()["htmx_attrs"] in evidence.captured_text
    assert BIDI["rtl_override_text"] in evidence.captured_text
    # The API refuses the bad file before anything is queued, naming it.
    response = api_client(lead).post(
        "/api/imports/indicators/",
        {"team": team_a.pk, "files": [upload("bad.csv", fixture_bytes("indicators-bad-utf8.csv"))]},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "bad.csv: The file is not UTF-8 text."


# --- the API --------------------------------------------------------------------------------------


def test_the_api_stores_every_text_field_exactly_as_sent(team_a, moderator, lead):
    seeded = seed_api(team=team_a, moderator=moderator, lead=lead)

    account = seeded.accounts[0]
    assert account.handle == HOMO["mixed"] and account.bio == blob()
    assert account.display_name == f"{markup()['img_onerror']} {BIDI['rtl_override_text']}"
    assert account.profile_url == URLS["http_no_space"]
    post = account.posts.get()
    assert post.text == f"{blob()}\n{BIDI['rtl_override_text']}"
    assert post.links[:2] == [URLS["javascript"], URLS["data_html"]]  # stored; never made links
    note = Evidence.objects.get(pk=seeded.evidence[0])
    # The 1 MiB single line, stored whole.
    assert note.captured_text == one_mb_line() and len(note.captured_text.encode()) >= 1024 * 1024
    assert seeded.case.summary.endswith(BIDI["rtl_override_text"])
    label = seeded.case.labels.get()
    assert label.note == blob()
    # The API answers with the same characters it stored.
    api = api_client(moderator)
    assert api.get(f"/api/accounts/{account.pk}/").json()["bio"] == blob()


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/accounts/", {"platform": "x", "handle": "a", "bio": NUL}),
        ("/api/accounts/", {"platform": "x", "handle": "a", "profile_url": URLS["javascript"]}),
        ("/api/accounts/", {"platform": "x", "handle": "a", "profile_url": URLS["data_html"]}),
        ("/api/accounts/", {"platform": "x", "handle": "a", "profile_url": URLS["vbscript"]}),
        ("/api/cases/", {"title": NUL}),
        ("/api/actors/", {"name": NUL}),
    ],
)
def test_the_api_refuses_nul_surrogates_and_script_urls_with_a_400(team_a, lead, url, body):
    before = (Account.objects.count(), Evidence.objects.count())
    response = api_client(lead).post(url, {"team": team_a.pk, **body}, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] in ("invalid", "parse_error") and error["message"]
    assert (Account.objects.count(), Evidence.objects.count()) == before


def test_the_api_refuses_a_lone_surrogate_with_a_400(team_a, lead):
    body = json.dumps({"team": team_a.pk, "platform": "x", "handle": "a", "bio": "lone \ud800 surrogate"})
    response = api_client(lead).generic("POST", "/api/accounts/", body, content_type="application/json")
    assert response.status_code == 400
    assert "invalid Unicode" in response.json()["error"]["message"]
    assert not Account.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("url", URLS["javascript"]),
        ("url", URLS["data_html"]),
        ("url", URLS["protocol_relative"]),
        ("captured_text", one_mb_line() * 2),  # over the 1,000,000-character bound
        ("captured_text", NUL),
    ],
)
def test_evidence_over_the_api_refuses_script_urls_nul_and_the_1mb_line(team_a, moderator, field, value):
    case = CaseFactory(team=team_a)
    response = api_client(moderator).post(
        "/api/evidence/",
        {"case": case.pk, "kind": "link", "url": "https://ok.example/", field: value},
        format="json",
    )
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Evidence.objects.exists()


# --- uploaded files -------------------------------------------------------------------------------


@pytest.mark.parametrize("as_name", ["evil.svg", "evil.png", long_file_name()])
def test_an_svg_is_refused_as_an_image_on_every_path(team_a, moderator, as_name):
    svg = fixture_bytes("evil.svg")
    case = CaseFactory(team=team_a)
    api = api_client(moderator)
    response = api.post(
        "/api/evidence/",
        {"case": str(case.pk), "kind": "screenshot", "file": upload(as_name, svg, "image/svg+xml")},
        format="multipart",
    )
    assert (
        response.status_code == 400 and "not a PNG, JPEG or WebP image" in response.json()["error"]["message"]
    )
    page = page_client(moderator).post(
        f"/cases/{case.pk}/evidence/new/",
        {"kind": "screenshot", "screenshot_file": upload(as_name, svg, "image/svg+xml")},
    )
    assert page.status_code == 200 and "not a PNG, JPEG or WebP image" in page.content.decode()
    capture = api.post(
        "/api/captures/",
        {
            "case": case.pk,
            "url": "https://x.com/a/status/1",
            "screenshot": upload(as_name, svg, "image/svg+xml"),
            "screenshot_sha256": sha256(svg),
        },
        format="multipart",
    )
    assert capture.status_code in (400, 415) and "not an image" in capture.json()["error"]["message"]
    assert not Evidence.objects.exists() and not EvidenceFile.objects.exists()


def test_uploaded_files_are_kept_exactly_and_served_only_as_downloads_or_reencoded_pixels(
    team_a, moderator, lead
):
    seeded = seed_api(team=team_a, moderator=moderator, lead=lead)
    seed_capture(seeded=seeded, moderator=moderator)
    seed_forms(seeded=seeded, moderator=moderator, lead=lead)
    polyglot = fixture_bytes("polyglot.png")
    files = EvidenceFile.objects.filter(evidence__case=seeded.case).select_related("evidence")
    assert files.count() >= 6
    client = page_client(moderator)
    for stored in files:
        # Kept byte for byte under a random name: the hash stands in a report.
        content = stored.file.read()
        assert sha256(content) == stored.sha256
        assert stored.file.name.startswith("evidence/") and stored.original_name not in stored.file.name

        download = client.get(f"/evidence/files/{stored.pk}/download/")
        assert download.status_code == 200
        assert download["Content-Type"] == "application/octet-stream"
        assert download["Content-Disposition"].startswith("attachment;")
        assert download["X-Content-Type-Options"] == "nosniff"
        assert is_strict_csp(download["Content-Security-Policy"])
        assert b"".join(download.streaming_content) == content

        image = client.get(f"/evidence/files/{stored.pk}/image/")
        if stored.role not in ("screenshot", "logo"):
            assert image.status_code == 404
            continue
        assert image.status_code == 200
        assert image["Content-Type"] == "image/png"
        assert image["Content-Disposition"].startswith("attachment;")
        assert image["X-Content-Type-Options"] == "nosniff"
        assert is_strict_csp(image["Content-Security-Policy"])
        # Pixels we drew: not the upload's bytes, no trailing HTML, and a PNG that decodes.
        # Pixels we drew: the polyglot's trailing HTML and text chunk are gone; every one decodes.
        if content == polyglot:
            assert image.content != content
        assert b"<script" not in image.content and b"<html" not in image.content
        with Image.open(io.BytesIO(image.content)) as decoded:
            assert decoded.format == "PNG"
            decoded.load()
    assert files.filter(sha256=sha256(polyglot)).count() == 3  # API, and both captures
    # The original name is kept for the record, never used on disk or in a download's name.
    names = set(files.values_list("original_name", flat=True))
    assert "script>.png" in names  # Django keeps only the last path segment of a name
    assert any(name.startswith("A" * 200) for name in names)
    assert all(len(name) <= 255 for name in names)


def test_an_avatar_that_is_not_a_raster_image_is_never_served(team_a, moderator):
    from django.core.files.base import ContentFile

    account = AccountFactory(team=team_a, handle="svgavatar")
    account.avatar_phash = "0" * 16
    account.avatar.save("avatar.svg", ContentFile(fixture_bytes("evil.svg")), save=True)
    polyglot = AccountFactory(team=team_a, handle="pngavatar")
    polyglot.avatar_phash = "0" * 16
    polyglot.avatar.save("avatar.png", ContentFile(fixture_bytes("polyglot.png")), save=True)
    client = page_client(moderator)
    for who in (account, polyglot):
        response = client.get(f"/work/accounts/{who.pk}/avatar/")
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert b"<svg" not in response.content and b"<script" not in response.content
        with Image.open(io.BytesIO(response.content)) as decoded:
            assert decoded.format == "PNG"


def test_a_captured_page_is_previewed_only_under_a_sandbox_policy(team_a, moderator, lead):
    seeded = seed_api(team=team_a, moderator=moderator, lead=lead)
    stored = EvidenceFile.objects.get(evidence_id=seeded.evidence[3])
    response = page_client(moderator).get(f"/evidence/files/{stored.pk}/preview/")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert policy.startswith("sandbox;") and "default-src 'none'" in policy and "script-src" not in policy
    assert response["X-Content-Type-Options"] == "nosniff"


# --- the capture endpoint -------------------------------------------------------------------------


def test_a_capture_keeps_its_text_and_files_exactly_and_refuses_script_urls(team_a, moderator, lead):
    seeded = seed_api(team=team_a, moderator=moderator, lead=lead)
    seed_capture(seeded=seeded, moderator=moderator)
    page, repost = Evidence.objects.filter(pk__in=seeded.capture_ids).order_by("pk")
    assert page.title == markup()["script_breakout"]
    assert page.captured_text == f"{markup()['img_onerror']} {BIDI['rtl_override_text']}"
    assert page.persona == markup()["attribute_breakout"]
    stored_page = page.files.get(role="page_capture")
    assert stored_page.file.read().endswith(b"\xff\xfe invalid utf-8</body></html>")  # bytes as sent
    assert repost.source_text == f"Source {markup()['svg_onload']} words"
    assert repost.source_author == markup()["single_quote_breakout"]
    flagged = repost
    api = api_client(moderator)
    for url in (URLS["javascript"], URLS["data_html"], URLS["protocol_relative"]):
        response = api.post("/api/captures/", {"case": seeded.case.pk, "url": url}, format="multipart")
        assert response.status_code == 400, (url, response.content)
        assert "url" in response.json()["error"]["fields"]
    # A Cyrillic look-alike handle is no handle the platform allows: refused, never folded into
    # the real account.
    response = api.post(
        "/api/captures/",
        {
            "case": seeded.case.pk,
            "action": "account",
            "platform": "x",
            "handle": HOMO["cyrillic_o"],
            "url": f"https://x.com/{HOMO['cyrillic_o']}",
        },
        format="multipart",
    )
    assert response.status_code == 400 and "url" in response.json()["error"]["fields"]
    response = api.post(
        "/api/captures/", {"case": seeded.case.pk, "url": "https://x.com/a", "title": NUL}, format="multipart"
    )
    assert response.status_code == 400 and "title" in response.json()["error"]["fields"]
    assert Evidence.objects.filter(pk__gt=flagged.pk).count() == 0


# --- the HTML forms -------------------------------------------------------------------------------


def test_forms_store_text_exactly_as_typed(team_a, moderator, lead):
    seeded = seed_api(team=team_a, moderator=moderator, lead=lead)
    seed_forms(seeded=seeded, moderator=moderator, lead=lead)
    note = Evidence.objects.filter(case=seeded.case, kind="note", capture_method="manual").get()
    # Django's form fields strip leading and trailing white space (documented); the rest is kept.
    assert note.captured_text == blob().strip()
    assert note.title == markup()["details_ontoggle"]
    vote = seeded.case.votes.get()
    assert vote.rationale == blob().strip()


def test_a_nul_character_in_any_page_form_or_query_is_a_400_not_a_500(team_a, moderator, lead):
    """Pasted NUL characters reach raw ``request.POST`` reads (reasons, names, searches) that hand
    them to PostgreSQL, which cannot store them. Found by this corpus: each of these was a 500."""
    case = CaseFactory(team=team_a, lead=lead)
    account = AccountFactory(team=team_a, handle="nulcase")
    ActorFactory(team=team_a)
    from cases.services.cases import add_account_to_case

    add_account_to_case(case=case, account=account, added_by=lead)
    client = page_client(lead)
    client.raise_request_exception = False
    posts = [
        (f"/cases/{case.pk}/accounts/{account.pk}/adjudicate/", {"verdict": "inauthentic", "reason": NUL}),
        (f"/leads/{team_a.slug}/cases/bulk/", {"case": case.pk, "action": "create_queue", "queue_name": NUL}),
        (f"/leads/{team_a.slug}/cases/bulk/", {"case": case.pk, "action": "close", "reason": NUL}),
        (f"/leads/{team_a.slug}/filters/", {"name": NUL, "query": ""}),
        ("/settings/tokens/", {"name": NUL}),
        (f"/teams/{team_a.slug}/networks/create-case/", {"account": account.pk, "title": NUL}),
        (f"/cases/{case.pk}/decision/reopen/", {"reason": NUL}),
        (f"/cases/{case.pk}/evidence/new/", {"kind": "note", "captured_text": NUL}),
    ]
    gets = [f"/leads/{team_a.slug}/cases/?q=%00", "/work/techniques/?tq=a%00b", "/capture/?title=%00"]
    for url, data in posts:
        response = client.post(url, data)
        assert response.status_code == 400, (url, response.status_code)
        assert "NUL character" in response.content.decode()
        assert response["Content-Type"].startswith("text/plain")
        assert is_strict_csp(response["Content-Security-Policy"])
    for url in gets:
        response = client.get(url)
        assert response.status_code == 400, (url, response.status_code)
    assert case.evidence.count() == 0 and not case.queues.exists()


# --- every response -------------------------------------------------------------------------------


def test_every_page_and_api_answer_carries_the_strict_csp(team_a, moderator, lead):
    seeded = seed_api(team=team_a, moderator=moderator, lead=lead)
    seed_forms(seeded=seeded, moderator=moderator, lead=lead)
    case, account = seeded.case, seeded.accounts[0]
    client, api = page_client(lead), api_client(lead)
    pages = [
        "/",
        "/work/",
        "/imports/",
        f"/cases/{case.pk}/",
        f"/cases/{case.pk}/evidence/new/",
        f"/cases/{case.pk}/graph/",
        f"/cases/{case.pk}/report/",
        f"/cases/{case.pk}/agreement/",
        f"/cases/{case.pk}/decision/",
        f"/cases/{case.pk}/outcomes/",
        f"/cases/{case.pk}/timeline/",
        f"/teams/{team_a.slug}/networks/",
        f"/leads/{team_a.slug}/cases/",
        f"/leads/queues/{seeded.queue_id}/",
        *[f"/evidence/{pk}/" for pk in seeded.evidence],
        f"/work/accounts/{account.pk}/posts/",
        "/capture/?title=" + markup()["script"],
        "/cases/999999/",  # a 404 page too
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code in (200, 404), (url, response.status_code)
        assert is_strict_csp(response["Content-Security-Policy"]), (
            url,
            response.get("Content-Security-Policy"),
        )
        assert response["X-Content-Type-Options"] == "nosniff", url
    for url in [f"/api/accounts/{account.pk}/", f"/api/cases/{case.pk}/export/?format=json", "/api/nothing/"]:
        response = api.get(url)
        assert is_strict_csp(response["Content-Security-Policy"]), url
        assert response["X-Content-Type-Options"] == "nosniff", url
    export = api.get(f"/api/cases/{case.pk}/export/?format=csv")
    assert export["Content-Disposition"].startswith("attachment;")
    assert export["Content-Type"].startswith("text/csv")
    # CSV quoting is the only change: the reason comes back as typed.
    assert markup()["autofocus_onfocus"].replace('"', '""') in b"".join(export.streaming_content).decode()
