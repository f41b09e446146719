"""Attribution decisions: leads only, quorum, four eyes, and a history that survives reopening."""

import pytest

from cases.errors import Conflict, InvalidInput, NotAllowed
from cases.models import AttributionDecision, CaseStatus
from cases.review_selectors import get_vote_tally_for_user
from cases.services.decisions import decide_attribution, reopen_case
from cases.services.votes import cast_vote
from tests.factories import ActorFactory
from tests.services.review_support import NewEvents, case_with_accounts, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(team_a, lead):
    team_a.attribution_quorum = 3
    team_a.save()
    return case_with_accounts(team_a, lead, accounts=1)


@pytest.fixture
def spamouflage(team_a):
    return ActorFactory(team=team_a, name="Spamouflage")


@pytest.fixture
def haienergy(team_a):
    return ActorFactory(team=team_a, name="HaiEnergy")


def vote(case, user, actor, confidence="moderate"):
    return cast_vote(case=case, voter=user, actor=actor, confidence=confidence, rationale="r")


def decide(case, lead, actor, rationale="Office-hours posting and copy-paste match 2019 takedown"):
    return decide_attribution(case=case, lead=lead, actor=actor, confidence="high", rationale=rationale)


def test_a_lead_decides_once_quorum_and_four_eyes_hold(case, team_a, lead, spamouflage, haienergy):
    vote(case, member(team_a), spamouflage)
    vote(case, member(team_a), spamouflage)
    vote(case, member(team_a), haienergy)
    with NewEvents() as new:
        decision = decide(case, lead, spamouflage)
    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED
    assert (decision.actor, decision.decided_by, decision.withdrawn_at) == (spamouflage, lead, None)
    [event] = new.events
    assert (event.verb, event.user, event.target_id) == ("case.decided", lead, str(decision.pk))
    assert event.data["status"] == ["in_review", "decided"]
    assert (event.data["votes"], event.data["supporting_votes"], event.data["quorum"]) == (3, 2, 3)


def test_the_decision_needs_the_quorum(case, team_a, lead, spamouflage):
    vote(case, member(team_a), spamouflage)
    vote(case, member(team_a), spamouflage)
    with pytest.raises(Conflict, match="needs 3 votes; the case has 2"):
        decide(case, lead, spamouflage)
    assert not AttributionDecision.objects.exists()
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW


def test_four_eyes_a_leads_own_vote_cannot_be_the_only_one_for_the_actor(
    case, team_a, lead, spamouflage, haienergy
):
    vote(case, lead, spamouflage, "high")
    vote(case, member(team_a), haienergy)
    vote(case, member(team_a), haienergy)
    with pytest.raises(Conflict, match="Four eyes"):
        decide(case, lead, spamouflage)
    vote(case, member(team_a), spamouflage)
    assert decide(case, lead, spamouflage).actor == spamouflage


def test_four_eyes_no_decision_for_an_actor_nobody_voted_for(case, team_a, lead, spamouflage, haienergy):
    for _ in range(3):
        vote(case, member(team_a), spamouflage)
    with pytest.raises(Conflict, match="No reviewer voted for HaiEnergy"):
        decide(case, lead, haienergy)


def test_another_lead_may_decide_on_a_leads_vote(case, team_a, lead, spamouflage):
    """The rule is about the deciding lead: a vote by someone else — a lead too — counts."""
    vote(case, lead, spamouflage)
    vote(case, member(team_a), spamouflage)
    vote(case, member(team_a), spamouflage)
    other_lead = member(team_a, "lead")
    assert decide(case, other_lead, spamouflage).decided_by == other_lead


def test_the_decision_needs_a_rationale_and_a_known_actor(case, team_a, team_b, lead, spamouflage):
    for _ in range(3):
        vote(case, member(team_a), spamouflage)
    with pytest.raises(InvalidInput) as err:
        decide(case, lead, spamouflage, rationale=" ")
    assert err.value.fields == {"rationale": ["This field is required."]}
    with pytest.raises(InvalidInput, match=r"^No such actor\.$"):
        decide(case, lead, ActorFactory(team=team_b))


def test_moderators_and_outsiders_cannot_decide_or_reopen(
    case, team_a, moderator, outsider, lead, spamouflage
):
    for _ in range(3):
        vote(case, member(team_a), spamouflage)
    for user in (moderator, outsider, None):
        with pytest.raises(NotAllowed):
            decide(case, user, spamouflage)
    decide(case, lead, spamouflage)
    for user in (moderator, outsider):
        with pytest.raises(NotAllowed):
            reopen_case(case=case, lead=user, reason="new evidence")


def test_a_decided_case_cannot_be_decided_again(case, team_a, lead, spamouflage):
    for _ in range(3):
        vote(case, member(team_a), spamouflage)
    decide(case, lead, spamouflage)
    with pytest.raises(Conflict, match="already decided"):
        decide(case, lead, spamouflage)


def test_an_open_case_without_votes_cannot_be_decided(case, lead, spamouflage):
    case.team.attribution_quorum = 0
    case.team.save()
    with pytest.raises(Conflict):
        decide(case, lead, spamouflage)


# --- reopening ---------------------------------------------------------------------------------


def test_reopen_needs_a_reason(case, team_a, lead, spamouflage):
    for _ in range(3):
        vote(case, member(team_a), spamouflage)
    decide(case, lead, spamouflage)
    with pytest.raises(InvalidInput) as err:
        reopen_case(case=case, lead=lead, reason="  ")
    assert err.value.fields == {"reason": ["This field is required."]}
    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED


def test_reopen_withdraws_the_decision_and_keeps_the_history(case, team_a, lead, spamouflage, haienergy):
    voters = [member(team_a) for _ in range(3)]
    for user in voters:
        vote(case, user, spamouflage)
    first = decide(case, lead, spamouflage)

    with NewEvents() as new:
        reopen_case(case=case, lead=lead, reason="Infrastructure points at a PR firm")
    assert case.status == CaseStatus.IN_REVIEW
    first.refresh_from_db()
    assert first.withdrawn_at is not None and first.withdrawn_reason == "Infrastructure points at a PR firm"
    [event] = new.events
    assert event.verb == "case.reopened"
    assert event.data == {
        "status": ["decided", "in_review"],
        "reason": "Infrastructure points at a PR firm",
        "withdrawn_decision": first.pk,
    }

    # Votes can change again; a new decision joins the history instead of replacing it.
    vote(case, voters[0], haienergy)
    vote(case, voters[1], haienergy)
    second = decide(case, lead, haienergy)
    history = list(AttributionDecision.objects.filter(case=case).order_by("decided_at", "id"))
    assert history == [first, second]
    assert [d.withdrawn_at is None for d in history] == [False, True]


def test_only_a_decided_or_closed_case_reopens(case, lead):
    with pytest.raises(Conflict):
        reopen_case(case=case, lead=lead, reason="why not")


def test_after_a_decision_every_member_sees_the_tally(case, team_a, lead, moderator, spamouflage):
    for _ in range(3):
        vote(case, member(team_a), spamouflage)
    assert get_vote_tally_for_user(case=case, user=moderator).hidden
    decide(case, lead, spamouflage)
    assert not get_vote_tally_for_user(case=case, user=moderator).hidden
