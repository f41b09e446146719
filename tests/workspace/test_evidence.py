"""Attaching, reading, retracting and serving evidence through HTTP."""

import hashlib
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from cases.models import AuditEvent, Evidence, EvidenceFile, EvidenceKind, MediaBrand
from cases.services.accounts import create_media_brand
from cases.services.evidence import Upload, record_evidence, retract_evidence
from cases.similarity.text import copy_similarity
from tests.workspace.conftest import html, png_bytes

pytestmark = pytest.mark.django_db

CAPTURE = (
    b"<!doctype html><html><head><style>body{color:red}</style></head>"
    b"<body><h1>Bild</h1><script>alert(1)</script><img src=https://evil.example/x.png></body></html>"
)


def _attach(client, case, data, files=None, **headers):
    payload = dict(data)
    payload.update(files or {})
    return client.post(reverse("frontend:evidence-new", args=[case.pk]), payload, headers=headers)


@pytest.fixture
def account(case_a):
    return case_a.case_accounts.first().account


# --- attaching ------------------------------------------------------------------------------------


def test_evidence_page_renders_the_form_for_every_kind(mod_client, case_a):
    page = html(mod_client.get(reverse("frontend:evidence-new", args=[case_a.pk]), {"account": "suspect_1"}))
    for kind in ("repost", "media_brand", "screenshot", "page_capture", "link", "note"):
        assert f'id="ev-kind-{kind}"' in page
    assert 'enctype="multipart/form-data"' in page
    assert 'value="suspect_1"' in page
    assert 'id="ev-tech-options"' in page


def test_a_repost_is_stored_with_its_similarity_and_shown_side_by_side(
    mod_client, case_a, account, moderator
):
    copied, source = (
        "Seniors on Medicare now pay no more than $35!!",
        "Seniors on Medicare now pay no more than $35.",
    )
    response = _attach(
        mod_client,
        case_a,
        {
            "kind": "repost",
            "account": f"@{account.handle}",
            "url": "hxxps://x[.]com/suspect/status/1",
            "captured_text": copied,
            "source_text": source,
            "source_author": "Chuck Schumer (@SenSchumer)",
            "source_url": "https://x.com/SenSchumer/status/9",
            "techniques": ["5.4.2"],
            "next": reverse("frontend:case-detail", args=[case_a.pk]),
        },
    )
    evidence = Evidence.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:case-detail", args=[case_a.pk])
    assert (evidence.kind, evidence.account, evidence.captured_by) == (
        EvidenceKind.REPOST,
        account,
        moderator,
    )
    assert evidence.url == "https://x.com/suspect/status/1", "a defanged URL is refanged"
    assert evidence.copy_similarity == copy_similarity(copied, source)
    assert list(evidence.techniques.values_list("procedure_code", flat=True)) == ["5.4.2"]

    page = html(mod_client.get(reverse("frontend:evidence-detail", args=[evidence.pk])))
    assert "<mark>Seniors on Medicare now pay no more than $35!!</mark>" in page
    assert "Chuck Schumer (@SenSchumer)" in page
    assert evidence.content_sha256 in page


def test_a_screenshot_upload_is_hashed_and_the_hash_is_shown(mod_client, case_a, account):
    content = png_bytes()
    response = _attach(
        mod_client,
        case_a,
        {"kind": "screenshot", "account": account.handle, "title": "Profile page"},
        {"screenshot_file": SimpleUploadedFile("profile.png", content, content_type="image/png")},
    )
    assert response.status_code == 302
    stored = EvidenceFile.objects.get()
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert stored.original_name == "profile.png"
    assert "profile" not in stored.file.name, "stored under a random name"
    page = html(mod_client.get(reverse("frontend:evidence-detail", args=[stored.evidence_id])))
    assert f"Evidence #{stored.evidence_id} recorded (screenshot), SHA-256" in page
    assert stored.sha256 in page
    assert reverse("frontend:evidence-file-image", args=[stored.pk]) in page


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("fake.png", b"<html><script>alert(1)</script></html>"),
    ],
)
def test_a_screenshot_that_is_not_a_png_jpeg_or_webp_is_refused(mod_client, case_a, name, content):
    response = _attach(
        mod_client,
        case_a,
        {"kind": "screenshot"},
        {"screenshot_file": SimpleUploadedFile(name, content, content_type="image/png")},
    )
    assert response.status_code == 200
    assert "not a PNG, JPEG or WebP image" in html(response)
    assert not Evidence.objects.exists()


def test_a_page_capture_is_stored_and_shown_as_escaped_source(mod_client, case_a):
    _attach(
        mod_client,
        case_a,
        {"kind": "page_capture", "url": "https://bild.pics/politik"},
        {"capture_file": SimpleUploadedFile("bild.html", CAPTURE, content_type="text/html")},
    )
    stored = EvidenceFile.objects.get()
    assert stored.content_type == "text/html"
    page = html(mod_client.get(reverse("frontend:evidence-detail", args=[stored.evidence_id])))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    assert "<iframe" not in page, "the preview is shown only when asked for"

    page = html(
        mod_client.get(reverse("frontend:evidence-detail", args=[stored.evidence_id]), {"view": "preview"})
    )
    frame = re.search(r"<iframe[^>]*>", page).group(0)
    assert " sandbox " in frame
    assert "allow-scripts" not in frame and "allow-same-origin" not in frame
    assert f'src="{reverse("frontend:evidence-file-preview", args=[stored.pk])}"' in frame


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"kind": "link"}, "Enter the URL."),
        ({"kind": "link", "url": "javascript:alert(1)"}, "Enter an http(s) address"),
        ({"kind": "note"}, "Write the note."),
        ({"kind": "repost", "captured_text": "copy"}, "Paste the source post&#x27;s text, to compare."),
        ({"kind": "screenshot"}, "Choose the screenshot image."),
        ({"kind": "page_capture"}, "Choose the saved page (HTML or MHTML)."),
        ({"kind": "media_brand"}, "Choose a known brand or name a new one."),
        (
            {"kind": "note", "captured_text": "x", "account": "@nobody"},
            "No account with that handle is on this case.",
        ),
        ({"kind": "tweet"}, "Select a valid choice."),
    ],
)
def test_an_invalid_evidence_form_comes_back_with_its_error(mod_client, case_a, data, error):
    response = _attach(mod_client, case_a, data)
    assert response.status_code == 200
    assert error in html(response)
    assert not Evidence.objects.exists()


def test_a_new_media_brand_is_created_with_its_domains_and_logo(mod_client, case_a, account, team_a):
    response = _attach(
        mod_client,
        case_a,
        {
            "kind": "media_brand",
            "account": account.handle,
            "brand_name": "Spiegel (clone)",
            "impersonates": "Der Spiegel",
            "domains": "spiegel[.]ltd\nspiegeli.live",
            "url": "https://spiegel.ltd/",
        },
        {"logo_file": SimpleUploadedFile("logo.png", png_bytes(), content_type="image/png")},
    )
    assert response.status_code == 302
    brand = MediaBrand.objects.get(team=team_a)
    assert (brand.name, brand.impersonates) == ("Spiegel (clone)", "Der Spiegel")
    assert sorted(brand.domains.values_list("domain", flat=True)) == ["spiegel.ltd", "spiegeli.live"]
    evidence = Evidence.objects.get()
    assert (evidence.brand, evidence.kind) == (brand, EvidenceKind.MEDIA_BRAND)
    assert evidence.files.get().role == EvidenceFile.Role.LOGO
    assert list(brand.accounts.all()) == [account]


def test_a_known_media_brand_can_be_chosen(mod_client, case_a, team_a):
    brand = create_media_brand(team=team_a, name="Bild (clone)", domains=["bild.pics"])
    response = _attach(
        mod_client, case_a, {"kind": "media_brand", "brand": brand.pk, "captured_text": "Same logo"}
    )
    assert response.status_code == 302
    assert Evidence.objects.get().brand == brand


def test_a_new_brand_whose_logo_is_refused_leaves_nothing_behind(mod_client, case_a, team_a):
    response = _attach(
        mod_client,
        case_a,
        {"kind": "media_brand", "brand_name": "Fake Outlet"},
        {"logo_file": SimpleUploadedFile("logo.png", b"not an image", content_type="image/png")},
    )
    assert response.status_code == 200
    assert "not a PNG, JPEG or WebP image" in html(response)
    assert not MediaBrand.objects.exists()
    assert not AuditEvent.objects.filter(verb="media_brand.created").exists()


def test_the_review_dialog_posts_with_htmx_and_gets_a_redirect_or_the_form_back(mod_client, case_a, account):
    url = reverse("frontend:evidence-new", args=[case_a.pk])
    bad = mod_client.post(
        url,
        {"kind": "note", "account": account.handle, "account_fixed": "1", "next": "/work/"},
        headers={"HX-Request": "true"},
    )
    body = html(bad)
    assert bad.status_code == 200
    assert body.lstrip().startswith('<form id="evidence-form"')
    assert "Write the note." in body
    assert f'About <span class="mono">@{account.handle}</span>' in body

    good = mod_client.post(
        url,
        {"kind": "note", "captured_text": "Same bio as 30 others", "next": "/work/"},
        headers={"HX-Request": "true"},
    )
    assert good.status_code == 204
    assert good["HX-Redirect"] == "/work/"


def test_next_never_leaves_the_site(mod_client, case_a):
    response = _attach(
        mod_client, case_a, {"kind": "note", "captured_text": "x", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("frontend:case-detail", args=[case_a.pk])


def test_evidence_pages_are_404_for_an_outsider(outsider_client, case_a, moderator):
    item = record_evidence(case=case_a, kind="note", captured_by=moderator, captured_text="x")
    assert outsider_client.get(reverse("frontend:evidence-new", args=[case_a.pk])).status_code == 404
    assert _attach(outsider_client, case_a, {"kind": "note", "captured_text": "x"}).status_code == 404
    assert outsider_client.get(reverse("frontend:evidence-detail", args=[item.pk])).status_code == 404
    response = outsider_client.post(reverse("frontend:evidence-retract", args=[item.pk]), {"reason": "x"})
    assert response.status_code == 404
    assert Evidence.objects.count() == 1


# --- retracting -------------------------------------------------------------------------------------


def test_retracting_needs_a_reason_and_keeps_the_original_visible(mod_client, case_a, moderator):
    item = record_evidence(case=case_a, kind="note", captured_by=moderator, captured_text="Same avatar")
    url = reverse("frontend:evidence-retract", args=[item.pk])

    response = mod_client.post(url, {"reason": ""}, follow=True)
    assert "Say why the evidence is retracted." in html(response)
    assert not Evidence.objects.filter(kind=EvidenceKind.RETRACTION).exists()

    case_url = reverse("frontend:case-detail", args=[case_a.pk])
    response = mod_client.post(url, {"reason": "Different avatar", "next": case_url}, follow=True)
    page = html(response)
    assert response.redirect_chain[-1][0] == case_url
    assert "retracted" in page
    row = re.search(r'<tr class="is-retracted">.*?</tr>', page, re.S).group(0)
    assert "Same avatar" in row
    assert "Different avatar" in page

    again = mod_client.post(url, {"reason": "twice"}, follow=True)
    assert "already retracted" in html(again)


def test_a_lead_and_a_moderator_both_may_retract(lead_client, case_a, moderator):
    item = record_evidence(case=case_a, kind="note", captured_by=moderator, captured_text="x")
    lead_client.post(reverse("frontend:evidence-retract", args=[item.pk]), {"reason": "wrong case"})
    assert Evidence.objects.filter(retracts=item).exists()


# --- serving files ----------------------------------------------------------------------------------


@pytest.fixture
def files(case_a, moderator):
    shot = record_evidence(
        case=case_a,
        kind="screenshot",
        captured_by=moderator,
        files=[Upload(EvidenceFile.Role.SCREENSHOT, "shot\u202egnp.exe", png_bytes())],
    )
    page = record_evidence(
        case=case_a,
        kind="page_capture",
        captured_by=moderator,
        files=[Upload(EvidenceFile.Role.PAGE_CAPTURE, "page.html", CAPTURE)],
    )
    mhtml = record_evidence(
        case=case_a,
        kind="page_capture",
        captured_by=moderator,
        files=[
            Upload(EvidenceFile.Role.PAGE_CAPTURE, "page.mhtml", b"From: <Saved>\r\nMIME-Version: 1.0\r\n")
        ],
    )
    return {"image": shot.files.get(), "html": page.files.get(), "mhtml": mhtml.files.get()}


@pytest.mark.parametrize("which", ["image", "html", "mhtml"])
def test_every_file_downloads_as_an_opaque_attachment(mod_client, files, which):
    stored = files[which]
    response = mod_client.get(reverse("frontend:evidence-file-download", args=[stored.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert f"evidence-{stored.evidence_id}-{stored.sha256[:12]}" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox;")
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == stored.sha256


def test_an_image_is_served_inline_only_re_encoded_as_png(mod_client, files):
    response = mod_client.get(reverse("frontend:evidence-file-image", args=[files["image"].pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")  # an <img> still shows it
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.format == "PNG"
    for other in ("html", "mhtml"):
        assert (
            mod_client.get(reverse("frontend:evidence-file-image", args=[files[other].pk])).status_code == 404
        )


def test_the_html_preview_is_sandboxed_and_may_only_be_framed_by_us(mod_client, files):
    response = mod_client.get(reverse("frontend:evidence-file-preview", args=[files["html"].pk]))
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == (
        "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
    )
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.content == CAPTURE
    for other in ("image", "mhtml"):
        assert (
            mod_client.get(reverse("frontend:evidence-file-preview", args=[files[other].pk])).status_code
            == 404
        )


def test_file_names_show_their_hidden_characters(mod_client, files):
    page = html(mod_client.get(reverse("frontend:evidence-detail", args=[files["image"].evidence_id])))
    assert "shot[U+202E]gnp.exe" in page
    assert "\u202e" not in page


@pytest.mark.parametrize("name", ["evidence-file-download", "evidence-file-image", "evidence-file-preview"])
def test_files_are_404_for_an_outsider(outsider_client, files, name):
    for stored in files.values():
        assert outsider_client.get(reverse(f"frontend:{name}", args=[stored.pk])).status_code == 404


def test_retracted_evidence_keeps_its_files_downloadable(mod_client, files, moderator):
    retract_evidence(evidence=files["image"].evidence, retracted_by=moderator, reason="wrong account")
    response = mod_client.get(reverse("frontend:evidence-file-download", args=[files["image"].pk]))
    assert response.status_code == 200
