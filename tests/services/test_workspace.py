"""The workspace's compound actions: the label stands even when "next" finds nothing; a refused
step of a one-transaction action leaves nothing behind; each underlying service writes its event."""

import pytest

from cases.errors import Conflict, InvalidInput
from cases.models import (
    Actor,
    AssignmentState,
    AttributionVote,
    EvidenceFile,
    Label,
    MediaBrand,
)
from cases.services.evidence import Upload
from cases.services.queues import claim_next_item, create_queue_from_case, set_queue_active
from cases.services.workspace import (
    cast_vote_for_new_actor,
    record_new_brand_evidence,
    skip_and_claim_next,
    submit_label_and_claim_next,
)
from tests.services.review_support import NewEvents, case_with_accounts, technique

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue(team_a, lead):
    return create_queue_from_case(
        case=case_with_accounts(team_a, lead, accounts=2), name="Q", created_by=lead
    )


def test_submit_label_and_claim_next_completes_and_hands_out_the_next_item(queue, moderator):
    lease = claim_next_item(queue=queue, user=moderator)
    with NewEvents() as new:
        label, step = submit_label_and_claim_next(
            assignment=lease, annotator=moderator, verdict="inauthentic", techniques=[technique("0.9.4")]
        )
    assert label.verdict == "inauthentic"
    assert lease.state == AssignmentState.COMPLETED
    assert step.assignment is not None and step.assignment.item_id != lease.item_id
    assert new.verbs == ["label.submitted", "queue.item_claimed"]


def test_the_label_stands_when_nothing_is_left_or_the_queue_was_paused(queue, moderator, lead):
    first = claim_next_item(queue=queue, user=moderator)
    _, step = submit_label_and_claim_next(assignment=first, annotator=moderator, verdict="authentic")
    set_queue_active(queue=queue, is_active=False, set_by=lead)
    _, paused = submit_label_and_claim_next(assignment=step.assignment, annotator=moderator, verdict="unsure")
    assert paused.assignment is None and "paused" in paused.reason
    assert Label.objects.filter(annotator=moderator).count() == 2

    single = create_queue_from_case(
        case=case_with_accounts(queue.team, lead, accounts=1), name="Again", created_by=lead
    )
    lease = claim_next_item(queue=single, user=lead)
    _, empty = submit_label_and_claim_next(assignment=lease, annotator=lead, verdict="unsure")
    assert empty.assignment is None
    assert empty.reason == "Nothing is left for you in “Again”."


def test_skip_and_claim_next_needs_a_reason_and_then_moves_on(queue, moderator):
    lease = claim_next_item(queue=queue, user=moderator)
    with pytest.raises(InvalidInput):
        skip_and_claim_next(assignment=lease, user=moderator, reason=" ")
    step = skip_and_claim_next(assignment=lease, user=moderator, reason="Conflict of interest")
    assert step.assignment is not None and step.assignment.item_id != lease.item_id


def test_a_new_brand_and_its_evidence_are_recorded_together(team_a, moderator, lead):
    case = case_with_accounts(team_a, lead, accounts=1)
    account = case.case_accounts.get().account
    with NewEvents() as new:
        evidence = record_new_brand_evidence(
            case=case,
            captured_by=moderator,
            name="Bild (clone)",
            impersonates="Bild",
            domains=["bild.pics"],
            account=account,
        )
    assert evidence.brand.name == "Bild (clone)"
    assert evidence.title == "Bild (clone)"
    assert list(evidence.brand.accounts.all()) == [account]
    assert new.verbs == ["media_brand.created", "evidence.recorded"]


def test_a_refused_logo_leaves_no_brand_behind(team_a, moderator, lead):
    case = case_with_accounts(team_a, lead, accounts=1)
    with NewEvents() as new, pytest.raises(InvalidInput):
        record_new_brand_evidence(
            case=case,
            captured_by=moderator,
            name="Bild (clone)",
            files=[Upload(EvidenceFile.Role.LOGO, "logo.png", b"<svg/>")],
        )
    assert not MediaBrand.objects.exists()
    assert new.verbs == []


def test_a_taken_brand_name_is_a_conflict(team_a, moderator, lead):
    case = case_with_accounts(team_a, lead, accounts=1)
    record_new_brand_evidence(case=case, captured_by=moderator, name="RRN")
    with pytest.raises(Conflict):
        record_new_brand_evidence(case=case, captured_by=moderator, name="RRN")


def test_a_vote_for_a_new_actor_creates_both(team_a, moderator, lead):
    case = case_with_accounts(team_a, lead, accounts=1)
    with NewEvents() as new:
        vote = cast_vote_for_new_actor(
            case=case,
            voter=moderator,
            actor_name="Storm-1376",
            actor_country="China",
            confidence="moderate",
            rationale="Same infrastructure",
        )
    assert (vote.actor.name, vote.actor.country, vote.actor.created_by) == ("Storm-1376", "China", moderator)
    assert new.verbs == ["actor.created", "vote.cast"]


def test_a_refused_vote_leaves_no_new_actor_behind(team_a, moderator, lead):
    case = case_with_accounts(team_a, lead, accounts=1)
    with pytest.raises(InvalidInput):
        cast_vote_for_new_actor(
            case=case, voter=moderator, actor_name="Ghost", confidence="low", rationale=""
        )
    assert not Actor.objects.filter(name="Ghost").exists()
    assert not AttributionVote.objects.exists()
