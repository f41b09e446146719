"""Evidence over the API: files with their SHA-256, decoded before anything is stored, never
updated, withdrawn only by a retraction."""

import hashlib

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from cases.models import Evidence, EvidenceFile, EvidenceKind
from tests.api.conftest import error_of, png_bytes

pytestmark = pytest.mark.django_db


def _screenshot(name: str, content: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def test_a_png_screenshot_is_stored_with_the_sha256_of_its_bytes(world_a, mod_api):
    content = png_bytes(colour=(10, 200, 90))
    response = mod_api.post(
        "/api/evidence/",
        {
            "case": world_a.case.pk,
            "kind": "screenshot",
            "account": world_a.account.pk,
            "title": "Profile page",
            "techniques": ["0.1.1", "0.1.2"],
            "file": _screenshot("profile.png", content),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    (stored,) = body["files"]
    assert stored["sha256"] == hashlib.sha256(content).hexdigest()
    assert stored["role"] == "screenshot" and stored["content_type"] == "image/png"
    assert stored["size"] == len(content) and stored["original_name"] == "profile.png"
    assert body["techniques"] == ["0.1.1", "0.1.2"]
    assert body["capture_method"] == "api" and body["captured_by"]["username"] == "mod-a"
    assert len(body["content_sha256"]) == 64
    row = EvidenceFile.objects.get(pk=stored["id"])
    with default_storage.open(row.file.name, "rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == stored["sha256"]


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        (
            "logo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "image/svg+xml",
        ),
        ("shot.png", b"<html><script>alert(1)</script></html>", "image/png"),
        ("shot.png", b"GIF89a" + b"\x00" * 20, "image/png"),
    ],
)
def test_an_svg_or_html_as_a_screenshot_is_refused_and_nothing_is_stored(
    name, content, content_type, world_a, mod_api
):
    evidence_before, files_before = Evidence.objects.count(), EvidenceFile.objects.count()
    stored_before = set(_stored_files())
    response = mod_api.post(
        "/api/evidence/",
        {"case": world_a.case.pk, "kind": "screenshot", "file": _screenshot(name, content, content_type)},
        format="multipart",
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid"
    assert Evidence.objects.count() == evidence_before and EvidenceFile.objects.count() == files_before
    assert set(_stored_files()) == stored_before


def _stored_files() -> list[str]:
    found = []

    def walk(path):
        if not default_storage.exists(path):
            return
        folders, files = default_storage.listdir(path)
        found.extend(f"{path}/{f}" for f in files)
        for folder in folders:
            walk(f"{path}/{folder}")

    walk("evidence")
    return found


def test_a_screenshot_without_a_file_is_refused(world_a, mod_api):
    response = mod_api.post("/api/evidence/", {"case": world_a.case.pk, "kind": "screenshot"}, format="json")
    assert response.status_code == 400


def test_a_note_can_be_sent_as_json(world_a, mod_api):
    response = mod_api.post(
        "/api/evidence/",
        {
            "case": world_a.case.pk,
            "kind": "note",
            "captured_text": "Same avatar as 31 others",
            "techniques": [],
        },
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["files"] == [] and response.json()["kind"] == "note"


def test_a_page_capture_keeps_its_html_as_an_attachment_of_the_record(world_a, mod_api):
    page = b"<html><body>bild.pics</body></html>"
    response = mod_api.post(
        "/api/evidence/",
        {
            "case": world_a.case.pk,
            "kind": "page_capture",
            "url": "https://bild.pics/a",
            "file": SimpleUploadedFile("page.html", page, content_type="text/html"),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    (stored,) = response.json()["files"]
    assert stored["role"] == "page_capture" and stored["sha256"] == hashlib.sha256(page).hexdigest()


def test_a_file_larger_than_the_evidence_limit_is_refused(world_a, mod_api, settings):
    settings.EVIDENCE_MAX_FILE_BYTES = 100
    response = mod_api.post(
        "/api/evidence/",
        {
            "case": world_a.case.pk,
            "kind": "screenshot",
            "file": _screenshot("big.png", png_bytes(size=(400, 400))),
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert "larger than" in error_of(response)["message"]


def test_a_retraction_cannot_be_created_directly(world_a, mod_api):
    response = mod_api.post(
        "/api/evidence/", {"case": world_a.case.pk, "kind": "retraction", "captured_text": "x"}, format="json"
    )
    assert response.status_code == 400
    assert "kind" in error_of(response)["fields"]


@pytest.mark.parametrize("method", ["put", "patch"])
def test_evidence_is_never_updated(method, world_a, mod_api):
    response = getattr(mod_api, method)(
        f"/api/evidence/{world_a.evidence.pk}/",
        {"title": "changed", "captured_text": "changed"},
        format="json",
    )
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert mod_api.delete(f"/api/evidence/{world_a.evidence.pk}/").status_code == 405
    unchanged = Evidence.objects.get(pk=world_a.evidence.pk)
    assert unchanged.title == world_a.evidence.title
    assert unchanged.content_sha256 == world_a.evidence.content_sha256


def test_retracting_records_a_new_item_and_leaves_the_original(world_a, mod_api):
    original_hash = world_a.evidence.content_sha256
    response = mod_api.post(
        f"/api/evidence/{world_a.evidence.pk}/retract/", {"reason": "Wrong account"}, format="json"
    )
    assert response.status_code == 201
    retraction = response.json()
    assert retraction["kind"] == "retraction" and retraction["retracts"] == world_a.evidence.pk
    original = mod_api.get(f"/api/evidence/{world_a.evidence.pk}/").json()
    assert original["retracted_by"] == retraction["id"] and original["content_sha256"] == original_hash
    assert mod_api.get("/api/evidence/?is_retracted=true").json()["results"][0]["id"] == world_a.evidence.pk
    again = mod_api.post(f"/api/evidence/{world_a.evidence.pk}/retract/", {"reason": "again"}, format="json")
    assert again.status_code == 409
    no_reason = mod_api.post(f"/api/evidence/{retraction['id']}/retract/", {}, format="json")
    assert no_reason.status_code == 400 and "reason" in error_of(no_reason)["fields"]


def test_server_owned_evidence_fields_in_the_body_are_ignored(world_a, world_b, mod_api, lead):
    response = mod_api.post(
        "/api/evidence/",
        {
            "case": world_a.case.pk,
            "kind": "note",
            "captured_text": "A note",
            "captured_by": lead.pk,
            "captured_at": "2001-01-01T00:00:00Z",
            "created_at": "2001-01-01T00:00:00Z",
            "capture_method": "import",
            "content_sha256": "0" * 64,
            "copy_similarity": 1.0,
            "retracts": world_a.evidence.pk,
            "retracted_by": world_a.evidence.pk,
            "team": world_b.team.pk,
            "files": [{"role": "screenshot", "sha256": "0" * 64}],
            "id": 424242,
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["captured_by"]["username"] == "mod-a"
    assert not body["captured_at"].startswith("2001") and not body["created_at"].startswith("2001")
    assert body["capture_method"] == "api"
    assert body["content_sha256"] != "0" * 64 and body["copy_similarity"] is None
    assert body["retracts"] is None and body["retracted_by"] is None and body["files"] == []
    assert body["id"] != 424242
    assert Evidence.objects.get(pk=body["id"]).case.team == world_a.team
    assert not Evidence.objects.filter(kind=EvidenceKind.RETRACTION).exists()


def test_another_teams_account_cannot_be_named_in_evidence(world_a, world_b, mod_api):
    response = mod_api.post(
        "/api/evidence/",
        {"case": world_a.case.pk, "kind": "note", "captured_text": "x", "account": world_b.account.pk},
        format="json",
    )
    assert response.status_code == 400
    assert "account" in error_of(response)["fields"]


def test_evidence_is_filtered_by_case_kind_and_account(world_a, mod_api):
    mod_api.post(
        "/api/evidence/", {"case": world_a.case.pk, "kind": "note", "captured_text": "n"}, format="json"
    )
    assert mod_api.get(f"/api/evidence/?case={world_a.case.pk}").json()["count"] == 2
    assert [e["kind"] for e in mod_api.get("/api/evidence/?kind=note").json()["results"]] == ["note"]
    by_account = mod_api.get(f"/api/evidence/?account={world_a.account.pk}").json()["results"]
    assert [e["id"] for e in by_account] == [world_a.evidence.pk]


@pytest.mark.parametrize("code", ["1.1\x00", "x" * 21, 7])
def test_a_technique_code_that_cannot_exist_is_a_400_on_every_database(code, world_a, mod_api):
    # A NUL in a lookup is an error in PostgreSQL, not a miss: it is refused before the query.
    for body, fmt in (
        ({"case": world_a.case.pk, "kind": "note", "captured_text": "x", "techniques": [code]}, "json"),
        (
            {"case": world_a.case.pk, "kind": "note", "captured_text": "x", "techniques": str(code)},
            "multipart",
        ),
    ):
        response = mod_api.post("/api/evidence/", body, format=fmt)
        assert response.status_code == 400, (fmt, response.content)
        assert any(name.startswith("techniques") for name in error_of(response)["fields"])
    assert not Evidence.objects.filter(kind=EvidenceKind.NOTE).exists()
