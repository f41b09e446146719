import hashlib
import io

import pytest
from django.core.files.storage import default_storage
from django.db import DatabaseError, transaction
from PIL import Image

from cases.errors import Conflict, InvalidInput, NotAllowed
from cases.models import AuditEvent, Evidence, EvidenceFile, Technique
from cases.services.evidence import Upload, record_evidence, retract_evidence
from tests.factories import AccountFactory, CaseFactory, raw_update
from tests.services.review_support import run_concurrently

pytestmark = pytest.mark.django_db


def png_bytes(colour=(200, 30, 30), size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def case(team_a):
    return CaseFactory(team=team_a)


def test_screenshot_hash_matches_the_bytes_on_disk(case, moderator):
    content = png_bytes()
    evidence = record_evidence(
        case=case, kind="screenshot", captured_by=moderator, files=[Upload("screenshot", "shot.png", content)]
    )
    stored = evidence.files.get()
    with default_storage.open(stored.file.name, "rb") as handle:
        on_disk = handle.read()
    assert hashlib.sha256(on_disk).hexdigest() == stored.sha256 == hashlib.sha256(content).hexdigest()
    assert stored.content_type == "image/png" and stored.size == len(content)
    assert len(stored.phash) == 16
    assert "shot" not in stored.file.name  # stored under a random name, not the user's


def test_file_names_from_the_user_never_reach_the_disk(case, moderator):
    evidence = record_evidence(
        case=case,
        kind="screenshot",
        captured_by=moderator,
        files=[Upload("screenshot", "../../etc/passwd<script>.png", png_bytes())],
    )
    stored = evidence.files.get()
    assert stored.file.name.startswith("evidence/") and ".." not in stored.file.name
    assert stored.original_name == "../../etc/passwd<script>.png"  # kept as data, escaped when shown


def test_a_screenshot_that_is_not_an_image_is_refused_and_nothing_is_stored(case, moderator):
    with pytest.raises(InvalidInput, match="not a PNG, JPEG or WebP"):
        record_evidence(
            case=case,
            kind="screenshot",
            captured_by=moderator,
            files=[Upload("screenshot", "x.png", b"<svg onload=alert(1)>")],
        )
    assert not Evidence.objects.exists() and not EvidenceFile.objects.exists()


def test_an_svg_is_not_an_accepted_image(case, moderator):
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    with pytest.raises(InvalidInput):
        record_evidence(
            case=case, kind="screenshot", captured_by=moderator, files=[Upload("screenshot", "a.svg", svg)]
        )


def test_oversized_files_are_refused(case, moderator, settings):
    settings.EVIDENCE_MAX_FILE_BYTES = 1024
    with pytest.raises(InvalidInput, match="larger than"):
        record_evidence(
            case=case,
            kind="page_capture",
            captured_by=moderator,
            files=[Upload("page_capture", "p.html", b"x" * 2048)],
        )


def test_repost_records_its_similarity_to_the_source(case, moderator):
    evidence = record_evidence(
        case=case,
        kind="repost",
        captured_by=moderator,
        captured_text="We must secure the border NOW! https://t.co/x",
        source_text="We must secure the border now!",
        source_author="@SpeakerJohnson",
    )
    assert evidence.copy_similarity == 1.0


def test_kinds_require_their_content(case, moderator):
    with pytest.raises(InvalidInput):
        record_evidence(case=case, kind="link", captured_by=moderator)
    with pytest.raises(InvalidInput):
        record_evidence(case=case, kind="screenshot", captured_by=moderator)


def test_evidence_about_another_teams_account_is_refused(case, moderator, team_b):
    with pytest.raises(InvalidInput, match="No such account"):
        record_evidence(
            case=case,
            kind="note",
            captured_by=moderator,
            captured_text="n",
            account=AccountFactory(team=team_b),
        )


def test_outsiders_cannot_record_evidence(case, outsider):
    with pytest.raises(NotAllowed):
        record_evidence(case=case, kind="note", captured_by=outsider, captured_text="n")


def test_content_hash_covers_what_the_item_asserts(case, moderator):
    technique = Technique.objects.get(procedure_code="0.9.4")
    one = record_evidence(
        case=case, kind="note", captured_by=moderator, captured_text="a", techniques=[technique]
    )
    two = record_evidence(
        case=case, kind="note", captured_by=moderator, captured_text="b", techniques=[technique]
    )
    assert len(one.content_sha256) == 64 and one.content_sha256 != two.content_sha256
    assert list(one.techniques.all()) == [technique]


def test_evidence_cannot_be_edited_through_the_model_or_a_queryset(case, moderator):
    evidence = record_evidence(case=case, kind="note", captured_by=moderator, captured_text="original")
    evidence.captured_text = "edited"
    with pytest.raises(TypeError):
        evidence.save()
    with pytest.raises(TypeError):
        Evidence.objects.filter(pk=evidence.pk).update(captured_text="edited")


def test_the_database_refuses_to_edit_evidence_or_its_files(case, moderator):
    evidence = record_evidence(
        case=case,
        kind="screenshot",
        captured_by=moderator,
        files=[Upload("screenshot", "s.png", png_bytes())],
    )
    with pytest.raises(DatabaseError), transaction.atomic():
        raw_update(Evidence, evidence.pk, captured_text="edited")
    with pytest.raises(DatabaseError), transaction.atomic():
        raw_update(EvidenceFile, evidence.files.get().pk, sha256="0" * 64)
    evidence.refresh_from_db()
    assert evidence.captured_text == ""


def test_retraction_keeps_the_original(case, moderator, lead):
    original = record_evidence(case=case, kind="note", captured_by=moderator, captured_text="wrong account")
    original_hash = original.content_sha256
    retraction = retract_evidence(evidence=original, retracted_by=lead, reason="Mistyped handle")
    original.refresh_from_db()
    assert original.captured_text == "wrong account" and original.content_sha256 == original_hash
    assert original.is_retracted and retraction.retracts == original
    assert retraction.kind == "retraction" and retraction.captured_text == "Mistyped handle"
    assert list(Evidence.objects.filter(case=case).active()) == []
    case.refresh_from_db()
    assert case.evidence_count == 0
    with pytest.raises(Conflict):
        retract_evidence(evidence=original, retracted_by=lead, reason="again")
    event = AuditEvent.objects.get(verb="evidence.retracted")
    assert event.user == lead and event.data["retracts"] == original.pk


def test_retraction_needs_a_reason(case, moderator):
    original = record_evidence(case=case, kind="note", captured_by=moderator, captured_text="n")
    with pytest.raises(InvalidInput):
        retract_evidence(evidence=original, retracted_by=moderator, reason=" ")


@pytest.mark.parametrize(
    "field, value",
    [
        ("url", "javascript:alert(document.domain)"),
        ("url", "JavaScript:alert(1)"),
        ("url", "data:text/html,<script>alert(1)</script>"),
        ("url", "vbscript:msgbox(1)"),
        ("url", "//evil.example/path"),
        ("url", "http://[::1/unclosed-bracket"),
        ("url", "https://user@/no-host"),
        ("source_url", "javascript:alert(1)"),
        ("source_url", "file:///etc/passwd"),
    ],
)
def test_evidence_links_must_be_web_addresses(case, moderator, field, value):
    links = {"url": "https://x.com/a", field: value}
    with pytest.raises(InvalidInput) as caught:
        record_evidence(case=case, kind="link", captured_by=moderator, **links)
    assert field in caught.value.fields
    assert not Evidence.objects.exists() and not AuditEvent.objects.filter(verb="evidence.recorded").exists()


def test_http_and_https_links_are_kept_as_written(case, moderator):
    evidence = record_evidence(
        case=case,
        kind="repost",
        captured_by=moderator,
        captured_text="copied",
        url="HTTPS://x.com/someone/status/1?s=20",
        source_url="http://example.org/post",
    )
    assert evidence.url == "HTTPS://x.com/someone/status/1?s=20"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_retractions_make_one_and_a_conflict(team_a, moderator, lead):
    case = CaseFactory(team=team_a)
    original = record_evidence(case=case, kind="note", captured_by=moderator, captured_text="n")

    results, errors = run_concurrently(
        [
            lambda i=i: retract_evidence(evidence=original, retracted_by=lead, reason=f"twice {i}")
            for i in range(8)
        ]
    )

    assert len([r for r in results if r is not None]) == 1
    assert len(errors) == 7 and all(isinstance(e, Conflict) for e in errors), errors
    assert Evidence.objects.filter(retracts=original).count() == 1
    case.refresh_from_db()
    assert case.evidence_count == 0
