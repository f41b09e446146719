"""GET /api/cases/{id}/export/: the case with its accounts, labels, evidence (with hashes), votes and
decision, as nested JSON or one CSV row per account."""

import csv
import hashlib
import io
import json

import pytest
from django.utils import timezone

from cases.models import AttributionDecision, AttributionVote, CaseStatus, Label, Technique
from cases.services.cases import add_account_to_case
from cases.services.evidence import Upload, record_evidence, retract_evidence
from tests.api.conftest import error_of, png_bytes, token_client
from tests.factories import AccountFactory, ActorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewed(world_a, moderator, lead, admin_user):
    """World A's case with labels by two reviewers, two votes, a retraction and a decision."""
    case, account = world_a.case, world_a.account
    twin = case.case_accounts.exclude(account=account).get().account
    technique = Technique.objects.get(procedure_code="0.1.1")
    mine = Label.objects.create(
        case=case, account=account, annotator=moderator, verdict="inauthentic", note="copy"
    )
    mine.techniques.set([technique])
    Label.objects.create(case=case, account=account, annotator=lead, verdict="unsure")
    Label.objects.create(case=case, account=twin, annotator=lead, verdict="authentic")
    actor = ActorFactory(team=world_a.team, name="Spamouflage", country="China")
    vote = AttributionVote.objects.create(
        case=case, voter=lead, actor=actor, confidence="high", rationale="Same infrastructure"
    )
    vote.cited_evidence.set([world_a.evidence])
    AttributionVote.objects.create(
        case=case, voter=admin_user, actor=actor, confidence="low", rationale="Maybe"
    )
    page = record_evidence(
        case=case,
        kind="note",
        captured_by=moderator,
        account=account,
        captured_text="Posts at 9:00 Beijing time",
    )
    retract_evidence(evidence=page, retracted_by=moderator, reason="Wrong time zone")
    AttributionDecision.objects.create(
        case=case,
        actor=actor,
        confidence="high",
        rationale="Quorum agrees",
        decided_by=lead,
        decided_at=timezone.now(),
    )
    return world_a


def _json(response) -> dict:
    assert response.status_code == 200, response.content
    return json.loads(b"".join(response.streaming_content))


def _csv(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_json_export_holds_the_whole_case_with_hashes(reviewed, lead):
    response = token_client(lead).get(f"/api/cases/{reviewed.case.pk}/export/")
    assert response["Content-Type"] == "application/json"
    assert f'filename="case-{reviewed.case.pk}.json"' in response["Content-Disposition"]
    doc = _json(response)
    assert doc["format"] == "osint-annotator/case-export" and doc["version"] == 1
    assert doc["review_hidden"] is False and doc["exported_by"]["username"] == "lead-a"
    assert doc["case"]["title"] == reviewed.case.title and doc["case"]["team"]["slug"] == "team-a"

    accounts = {a["id"]: a for a in doc["accounts"]}
    assert set(accounts) == set(reviewed.case.case_accounts.values_list("account_id", flat=True))
    labels = accounts[reviewed.account.pk]["labels"]
    assert sorted(label["verdict"] for label in labels) == ["inauthentic", "unsure"]
    assert next(label for label in labels if label["verdict"] == "inauthentic")["techniques"] == ["0.1.1"]

    screenshot = next(e for e in doc["evidence"] if e["id"] == reviewed.evidence.pk)
    assert screenshot["content_sha256"] == reviewed.evidence.content_sha256
    stored = reviewed.evidence.files.get()
    assert screenshot["files"][0]["sha256"] == stored.sha256 == hashlib.sha256(png_bytes()).hexdigest()
    kinds = [e["kind"] for e in doc["evidence"]]
    assert kinds.count("retraction") == 1
    retracted = next(e for e in doc["evidence"] if e["kind"] == "note")
    assert retracted["retracted_by"] is not None

    assert doc["vote_count"] == 2 and len(doc["votes"]) == 2
    high = next(v for v in doc["votes"] if v["confidence"] == "high")
    assert high["actor"]["name"] == "Spamouflage" and high["cited_evidence"] == [reviewed.evidence.pk]
    assert doc["decision"]["actor"]["name"] == "Spamouflage" and doc["decision"]["withdrawn_at"] is None
    assert len(doc["decision_history"]) == 1


def test_csv_export_is_one_row_per_account_with_labels_summarised(reviewed, lead):
    response = token_client(lead).get(f"/api/cases/{reviewed.case.pk}/export/?format=csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = _csv(response)
    assert len(rows) == 2
    row = next(r for r in rows if r["account_id"] == str(reviewed.account.pk))
    assert (row["label_count"], row["inauthentic"], row["authentic"], row["unsure"]) == ("2", "1", "0", "1")
    assert row["techniques"] == "0.1.1" and row["my_verdict"] == "unsure"
    # Standing evidence only: the retracted note is not counted, the screenshot is.
    assert row["evidence_count"] == "1" and row["evidence_sha256"] == reviewed.evidence.content_sha256
    assert row["decision_actor"] == "Spamouflage" and row["decision_confidence"] == "high"


def test_a_moderator_sees_only_their_own_review_until_the_case_is_settled(reviewed, moderator):
    client = token_client(moderator)
    doc = _json(client.get(f"/api/cases/{reviewed.case.pk}/export/"))
    assert doc["review_hidden"] is True
    labels = [label for account in doc["accounts"] for label in account["labels"]]
    assert {label["annotator"]["username"] for label in labels} == {"mod-a"}
    assert next(a for a in doc["accounts"] if a["id"] == reviewed.account.pk)["label_count"] == 2
    assert doc["votes"] == [] and doc["vote_count"] == 2
    row = next(
        r
        for r in _csv(client.get(f"/api/cases/{reviewed.case.pk}/export/?format=csv"))
        if r["account_id"] == str(reviewed.account.pk)
    )
    assert (row["inauthentic"], row["unsure"], row["techniques"]) == ("", "", "")
    assert row["label_count"] == "2" and row["my_verdict"] == "inauthentic"

    reviewed.case.status = CaseStatus.DECIDED
    reviewed.case.save(update_fields=["status"])
    settled = _json(client.get(f"/api/cases/{reviewed.case.pk}/export/"))
    assert settled["review_hidden"] is False and len(settled["votes"]) == 2


def test_csv_cells_cannot_run_as_spreadsheet_formulas(world_a, lead):
    hostile = AccountFactory(team=world_a.team, handle="evil", display_name='=HYPERLINK("http://x","click")')
    add_account_to_case(case=world_a.case, account=hostile, added_by=lead, reason="+1 cmd|' /C calc'!A0")
    rows = _csv(token_client(lead).get(f"/api/cases/{world_a.case.pk}/export/?format=csv"))
    row = next(r for r in rows if r["account_id"] == str(hostile.pk))
    assert row["display_name"] == '\'=HYPERLINK("http://x","click")'
    assert row["reason"].startswith("'+")


def test_export_of_another_teams_case_is_404(world_a, world_b, outsider_api):
    for fmt in ("json", "csv"):
        response = outsider_api.get(f"/api/cases/{world_a.case.pk}/export/?format={fmt}")
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"


def test_an_unknown_format_is_a_400(world_a, lead_api):
    response = lead_api.get(f"/api/cases/{world_a.case.pk}/export/?format=pdf")
    assert response.status_code == 400 and "format" in error_of(response)["fields"]


def test_export_streams_in_a_bounded_number_of_queries(world_a, lead):
    from tests.api.conftest import count_queries

    client = token_client(lead)
    client.get("/api/teams/")

    def run():
        response = client.get(f"/api/cases/{world_a.case.pk}/export/")
        b"".join(response.streaming_content)

    small = count_queries(run)
    for i in range(20):
        account = AccountFactory(team=world_a.team, handle=f"bulk{i}")
        add_account_to_case(case=world_a.case, account=account, added_by=lead)
        record_evidence(
            case=world_a.case,
            kind="screenshot",
            captured_by=lead,
            account=account,
            files=[Upload("screenshot", "s.png", png_bytes())],
        )
    assert count_queries(run) == small
