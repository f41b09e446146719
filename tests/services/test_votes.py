"""Attribution votes: one per voter per case, blind until you vote, safe under concurrent clicks."""

import pytest
from django.http import Http404

from cases.errors import Conflict, InvalidInput, NotAllowed
from cases.models import AttributionVote, CaseStatus
from cases.review_selectors import get_vote_tally_for_user, get_votes_for_lead
from cases.services.evidence import record_evidence, retract_evidence
from cases.services.votes import cast_vote
from tests.factories import ActorFactory, CaseFactory
from tests.services.review_support import (
    NewEvents,
    case_with_accounts,
    free_connections,
    member,
    run_concurrently,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(team_a, lead):
    return case_with_accounts(team_a, lead, accounts=1)


@pytest.fixture
def spamouflage(team_a):
    return ActorFactory(team=team_a, name="Spamouflage")


@pytest.fixture
def haienergy(team_a):
    return ActorFactory(team=team_a, name="HaiEnergy")


def vote(case, user, actor, confidence="moderate", **kwargs):
    return cast_vote(
        case=case, voter=user, actor=actor, confidence=confidence, rationale="copy-paste", **kwargs
    )


def test_cast_vote_records_the_vote_and_one_event(case, moderator, spamouflage):
    note = record_evidence(case=case, kind="note", captured_by=moderator, captured_text="office hours")
    with NewEvents() as new:
        cast = cast_vote(
            case=case,
            voter=moderator,
            actor=spamouflage,
            confidence="high",
            rationale=" Same posts as 2019 ",
            cited_evidence=[note],
        )
    assert (cast.actor, cast.confidence, cast.rationale) == (spamouflage, "high", "Same posts as 2019")
    assert list(cast.cited_evidence.all()) == [note]
    [event] = new.events
    assert (event.verb, event.user, event.target_id) == ("vote.cast", moderator, str(cast.pk))
    assert event.data == {
        "case": case.pk,
        "actor": spamouflage.pk,
        "confidence": "high",
        "rationale": "Same posts as 2019",
        "cited_evidence": [note.pk],
        "status": ["open", "in_review"],
    }


def test_a_second_vote_changes_the_first_and_records_old_and_new(case, moderator, spamouflage, haienergy):
    first = vote(case, moderator, spamouflage, "low")
    with NewEvents() as new:
        second = vote(case, moderator, haienergy, "high")
    assert first.pk == second.pk and AttributionVote.objects.count() == 1
    [event] = new.events
    assert event.verb == "vote.changed"
    assert event.data == {
        "case": case.pk,
        "actor": [spamouflage.pk, haienergy.pk],
        "confidence": ["low", "high"],
    }


def test_the_same_vote_again_writes_nothing(case, moderator, spamouflage):
    vote(case, moderator, spamouflage)
    with NewEvents() as new:
        vote(case, moderator, spamouflage)
    assert new.events == []


def test_a_vote_needs_a_rationale(case, moderator, spamouflage):
    with pytest.raises(InvalidInput) as err:
        cast_vote(case=case, voter=moderator, actor=spamouflage, confidence="high", rationale="  ")
    assert err.value.fields == {"rationale": ["This field is required."]}


def test_confidence_must_be_known(case, moderator, spamouflage):
    with pytest.raises(InvalidInput):
        vote(case, moderator, spamouflage, "certain")


def test_another_teams_actor_is_no_such_actor(case, team_b, moderator):
    with pytest.raises(InvalidInput, match=r"^No such actor\.$"):
        vote(case, moderator, ActorFactory(team=team_b))


def test_cited_evidence_must_be_on_the_case_and_standing(case, team_a, moderator, spamouflage):
    elsewhere = record_evidence(
        case=CaseFactory(team=team_a), kind="note", captured_by=moderator, captured_text="n"
    )
    with pytest.raises(InvalidInput, match=r"^No such evidence on this case\.$"):
        vote(case, moderator, spamouflage, cited_evidence=[elsewhere])
    mistaken = record_evidence(case=case, kind="note", captured_by=moderator, captured_text="wrong account")
    retract_evidence(evidence=mistaken, retracted_by=moderator, reason="typo")
    with pytest.raises(InvalidInput, match="retracted"):
        vote(case, moderator, spamouflage, cited_evidence=[mistaken])
    assert not AttributionVote.objects.exists()


@pytest.mark.parametrize("status", [CaseStatus.DECIDED, CaseStatus.CLOSED])
def test_votes_cannot_change_once_the_case_is_settled(case, moderator, spamouflage, haienergy, status):
    vote(case, moderator, spamouflage)
    case.status = status
    case.save()
    with pytest.raises(Conflict):
        vote(case, moderator, haienergy)
    assert AttributionVote.objects.get().actor == spamouflage


def test_outsiders_and_the_system_cannot_vote(case, outsider, spamouflage):
    for voter in (outsider, None):
        with pytest.raises(NotAllowed):
            vote(case, voter, spamouflage)


# --- the tally ---------------------------------------------------------------------------------


def test_the_tally_is_hidden_until_the_user_has_voted(case, team_a, moderator, spamouflage, haienergy):
    for actor, confidence in [(spamouflage, "high"), (spamouflage, "low"), (haienergy, "moderate")]:
        vote(case, member(team_a), actor, confidence)

    before = get_vote_tally_for_user(case=case, user=moderator)
    assert before.hidden is True
    assert (before.vote_count, before.actors, before.votes, before.my_vote) == (3, (), (), None)

    vote(case, moderator, haienergy, "high")
    after = get_vote_tally_for_user(case=case, user=moderator)
    assert after.hidden is False and after.my_vote.actor == haienergy
    # Weights: low 1, moderate 2, high 3. HaiEnergy 2+3=5, Spamouflage 3+1=4.
    assert [(t.actor, t.votes, t.score) for t in after.actors] == [(haienergy, 2, 5), (spamouflage, 2, 4)]
    assert after.leading.share == pytest.approx(5 / 9)
    assert after.votes == ()  # rationales are for the lead's page
    assert after.quorum_met  # the team's default quorum is 3


def test_once_decided_the_tally_is_shown_to_everyone(case, team_a, moderator, spamouflage):
    vote(case, member(team_a), spamouflage)
    case.status = CaseStatus.DECIDED
    case.save()
    assert get_vote_tally_for_user(case=case, user=moderator).hidden is False


def test_leads_see_every_vote_with_its_rationale_and_moderators_do_not(
    case, team_a, lead, moderator, spamouflage
):
    vote(case, member(team_a), spamouflage)
    full = get_votes_for_lead(case=case, user=lead)
    assert [v.rationale for v in full.votes] == ["copy-paste"]
    with pytest.raises(NotAllowed):
        get_votes_for_lead(case=case, user=moderator)


def test_tallies_are_404_for_other_teams(case, outsider):
    with pytest.raises(Http404):
        get_vote_tally_for_user(case=case, user=outsider)


# --- under load (PostgreSQL) -------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_hundred_identical_concurrent_votes_make_one_row_and_no_error(team_a, lead, moderator):
    case = case_with_accounts(team_a, lead, accounts=1)
    actor = ActorFactory(team=team_a)
    threads = min(100, free_connections())

    results, errors = run_concurrently(
        [lambda: cast_vote(case=case, voter=moderator, actor=actor, confidence="high", rationale="r")] * 100,
        threads=threads,
    )

    assert errors == []
    assert AttributionVote.objects.filter(case=case).count() == 1
    assert {r.pk for r in results} == {AttributionVote.objects.get().pk}
    print(f"100 votes on {threads} threads: 1 row, 0 errors")
