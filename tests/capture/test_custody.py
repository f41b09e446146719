"""The chain of custody: every view, download, export and retraction of an evidence item is an
append-only custody event, and the capture's who/when/how/persona stay on the evidence row."""

import hashlib
import json
import re

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from cases import signing
from cases.models import CustodyAction, CustodyEvent, Evidence
from cases.services.evidence import Upload, record_evidence, retract_evidence
from tests.api.conftest import token_client
from tests.capture.conftest import png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(case_a, moderator):
    return record_evidence(
        case=case_a,
        kind="screenshot",
        captured_by=moderator,
        capture_method="extension",
        persona="sock-puppet-7",
        url="https://x.com/AtlantaOnline",
        files=[Upload("screenshot", "shot.png", png_bytes())],
    )


def _chain(evidence):
    return list(CustodyEvent.objects.filter(evidence=evidence).values_list("action", "user__username"))


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_viewing_the_evidence_page_is_one_custody_event(item, lead):
    client = _browser(lead)
    page = client.get(f"/evidence/{item.pk}/")
    assert page.status_code == 200
    assert _chain(item) == [("viewed", "lead-a")]
    assert CustodyEvent.objects.get(evidence=item).detail == {"via": "app"}
    html = page.content.decode()
    assert "Chain of custody" in html and "sock-puppet-7" in html
    client.get(f"/evidence/{item.pk}/")
    assert _chain(item) == [("viewed", "lead-a"), ("viewed", "lead-a")]


def test_downloading_a_file_records_which_bytes_were_handed_out(item, lead):
    file = item.files.get()
    response = _browser(lead).get(f"/evidence/files/{file.pk}/download/")
    assert response.status_code == 200
    event = CustodyEvent.objects.get(evidence=item)
    assert (event.action, event.user, event.detail) == (
        CustodyAction.DOWNLOADED,
        lead,
        {"file": file.pk, "role": "screenshot", "sha256": file.sha256},
    )


def test_an_outsider_gets_a_404_and_leaves_no_trace(item, outsider):
    client = _browser(outsider)
    assert client.get(f"/evidence/{item.pk}/").status_code == 404
    assert client.get(f"/evidence/files/{item.files.get().pk}/download/").status_code == 404
    assert not CustodyEvent.objects.exists()


def test_every_export_is_an_event_on_every_item(item, case_a, moderator, lead):
    note = record_evidence(case=case_a, kind="note", captured_by=moderator, captured_text="Posts at 9:00")
    client = token_client(lead)
    for fmt in ("json", "csv"):
        response = client.get(f"/api/cases/{case_a.pk}/export/?format={fmt}")
        assert response.status_code == 200
        b"".join(response.streaming_content)
    assert client.get(f"/api/cases/{case_a.pk}/manifest/").status_code == 200
    for evidence in (item, note):
        events = CustodyEvent.objects.filter(evidence=evidence).order_by("pk")
        assert [(e.action, e.detail["format"]) for e in events] == [
            ("exported", "json"),
            ("exported", "csv"),
            ("exported", "manifest"),
        ]


def test_an_outsiders_export_attempt_records_nothing(item, case_a, outsider):
    client = token_client(outsider)
    assert client.get(f"/api/cases/{case_a.pk}/export/").status_code == 404
    assert client.get(f"/api/cases/{case_a.pk}/manifest/").status_code == 404
    assert not CustodyEvent.objects.exists()


def test_a_retraction_is_an_event_on_the_original(item, lead):
    retraction = retract_evidence(evidence=item, retracted_by=lead, reason="Wrong account")
    event = CustodyEvent.objects.get(evidence=item)
    assert event.action == CustodyAction.RETRACTED and event.user == lead
    assert event.detail == {"retraction": retraction.pk, "reason": "Wrong account"}


def test_the_capture_itself_is_on_the_evidence_row(item, moderator):
    stored = Evidence.objects.get(pk=item.pk)
    assert (stored.captured_by, stored.capture_method, stored.persona) == (
        moderator,
        "extension",
        "sock-puppet-7",
    )
    assert stored.captured_at is not None


def test_custody_events_cannot_be_changed(item, lead):
    event = CustodyEvent.objects.create(evidence=item, action=CustodyAction.VIEWED, user=lead)
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        CustodyEvent.objects.filter(pk=event.pk).update(action="exported")
    with pytest.raises(TypeError):
        CustodyEvent.objects.filter(pk=event.pk).delete()
    # The database itself refuses an UPDATE, whatever code path sends it.
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE cases_custodyevent SET action = 'exported' WHERE id = %s", [event.pk])
    assert CustodyEvent.objects.get(pk=event.pk).action == "viewed"


def test_reading_an_item_through_the_api_is_a_view(item, lead, outsider):
    assert token_client(outsider).get(f"/api/evidence/{item.pk}/").status_code == 404
    response = token_client(lead).get(f"/api/evidence/{item.pk}/")
    assert response.status_code == 200 and response.json()["id"] == item.pk
    event = CustodyEvent.objects.get(evidence=item)
    assert (event.action, event.user, event.detail) == ("viewed", lead, {"via": "api"})


def test_the_printable_report_is_an_export_and_shows_the_signed_manifest(item, case_a, lead):
    page = _browser(lead).get(f"/cases/{case_a.pk}/report/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Signed evidence manifest" in html
    assert item.files.get().sha256 in html
    assert _chain(item) == [("exported", "lead-a")]
    assert CustodyEvent.objects.get(evidence=item).detail == {"format": "report"}
    assert signing.server_public_key().raw_base64 in html
    # The page carries the very manifest it summarises, and that manifest verifies.
    embedded = re.search(r'<script id="signed-manifest" type="application/json">(.*?)</script>', html, re.S)
    signed = json.loads(embedded.group(1))
    assert signing.verify(signed).key_id == signing.server_public_key().key_id
    assert hashlib.sha256(signing.canonical_json(signed["manifest"])).hexdigest() in html


def test_hostile_capture_metadata_is_shown_as_text(case_a, moderator, lead):
    hostile = record_evidence(
        case=case_a,
        kind="link",
        captured_by=moderator,
        capture_method="extension",
        url="https://x.com/a",
        persona="<script>alert(1)</script>",
        user_agent='<img src=x onerror="alert(2)">',
    )
    html = _browser(lead).get(f"/evidence/{hostile.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
