"""Account outcomes: set in bulk on a decided case, with the policy basis, by leads only; one audit
event per call; the outcomes table as a lead and a moderator read it."""

import pytest
from django.http import Http404

from cases.errors import Conflict, InvalidInput, NotAllowed
from cases.lead_review_selectors import list_outcome_rows
from cases.models import AccountOutcome, AuditEvent
from cases.services.adjudication import adjudicate_account
from cases.services.case_status import close_case
from cases.services.decisions import decide_attribution, reopen_case
from cases.services.outcomes import set_account_outcomes
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def decided_case(lead_case, lead, actors):
    decide_attribution(
        case=lead_case, lead=lead, actor=actors[0], confidence="high", rationale="Two reviewers agree"
    )
    return lead_case


def test_a_lead_sets_outcomes_in_bulk(decided_case, lead):
    s0, s1 = decided_case.suspects[:2]
    rows = set_account_outcomes(
        case=decided_case, accounts=[s0, s1], outcome="removed", policy_basis=" CIB policy 4.2 ", set_by=lead
    )
    assert [(r.account, r.outcome, r.policy_basis, r.set_by) for r in rows] == [
        (s0, "removed", "CIB policy 4.2", lead),
        (s1, "removed", "CIB policy 4.2", lead),
    ]
    event = AuditEvent.objects.get(verb="case.outcomes_set")
    assert event.target_id == str(decided_case.pk)
    assert event.data["accounts"] == {str(s0.pk): [None, "removed"], str(s1.pk): [None, "removed"]}

    # Change one, keep one: only the change is recorded; still one row per account.
    set_account_outcomes(
        case=decided_case, accounts=[s0], outcome="removed", policy_basis="CIB policy 4.2", set_by=lead
    )
    assert (
        AuditEvent.objects.filter(verb="case.outcomes_set").count() == 1
    )  # nothing changed, nothing recorded
    set_account_outcomes(
        case=decided_case, accounts=[s1, s0], outcome="escalated", policy_basis="Law enf.", set_by=lead
    )
    assert AccountOutcome.objects.count() == 2
    last = AuditEvent.objects.filter(verb="case.outcomes_set").order_by("-pk").first()
    assert last.data["accounts"] == {
        str(s0.pk): ["removed", "escalated"],
        str(s1.pk): ["removed", "escalated"],
    }


def test_no_action_may_stand_without_a_policy_basis_others_may_not(decided_case, lead):
    s0 = decided_case.suspects[0]
    set_account_outcomes(case=decided_case, accounts=[s0], outcome="no_action", policy_basis="", set_by=lead)
    for outcome in ("removed", "labeled", "escalated"):
        with pytest.raises(InvalidInput) as exc:
            set_account_outcomes(
                case=decided_case, accounts=[s0], outcome=outcome, policy_basis="  ", set_by=lead
            )
        assert "policy_basis" in exc.value.fields
    with pytest.raises(InvalidInput):
        set_account_outcomes(
            case=decided_case, accounts=[s0], outcome="banned", policy_basis="x", set_by=lead
        )
    with pytest.raises(InvalidInput):
        set_account_outcomes(case=decided_case, accounts=[], outcome="removed", policy_basis="x", set_by=lead)


def test_outcomes_need_a_decided_case(lead_case, lead, actors):
    s0 = lead_case.suspects[0]
    with pytest.raises(Conflict, match="decided"):
        set_account_outcomes(case=lead_case, accounts=[s0], outcome="removed", policy_basis="x", set_by=lead)
    decide_attribution(case=lead_case, lead=lead, actor=actors[0], confidence="high", rationale="r")
    reopen_case(case=lead_case, lead=lead, reason="new evidence")
    with pytest.raises(Conflict):
        set_account_outcomes(case=lead_case, accounts=[s0], outcome="removed", policy_basis="x", set_by=lead)
    assert not AccountOutcome.objects.exists()


def test_a_closed_case_with_a_standing_decision_takes_outcomes(decided_case, lead):
    close_case(case=decided_case, lead=lead, reason="done")
    set_account_outcomes(
        case=decided_case,
        accounts=[decided_case.suspects[0]],
        outcome="labeled",
        policy_basis="x",
        set_by=lead,
    )
    assert AccountOutcome.objects.get().outcome == "labeled"


def test_accounts_not_on_the_case_refuse_the_whole_call(decided_case, lead, team_a, team_b):
    for stranger in (AccountFactory(team=team_a), AccountFactory(team=team_b)):
        with pytest.raises(InvalidInput, match="not on this case"):
            set_account_outcomes(
                case=decided_case,
                accounts=[decided_case.suspects[0], stranger],
                outcome="removed",
                policy_basis="x",
                set_by=lead,
            )
    assert not AccountOutcome.objects.exists()


def test_moderators_and_outsiders_may_not_set_outcomes(decided_case, moderator, outsider_lead):
    for user in (moderator, outsider_lead):
        with pytest.raises(NotAllowed):
            set_account_outcomes(
                case=decided_case,
                accounts=[decided_case.suspects[0]],
                outcome="removed",
                policy_basis="x",
                set_by=user,
            )
    assert not AccountOutcome.objects.exists()


def test_outcome_rows_show_the_final_verdict(decided_case, lead, moderator, outsider):
    s0, s1, _s2, s3 = decided_case.suspects
    set_account_outcomes(case=decided_case, accounts=[s0], outcome="removed", policy_basis="CIB", set_by=lead)
    rows = {row.link.account: row for row in list_outcome_rows(case=decided_case, user=lead)}
    assert len(rows) == 5
    assert (rows[s0].final_verdict, rows[s0].outcome.outcome, rows[s0].label_count) == (
        "inauthentic",
        "removed",
        3,
    )
    assert (rows[s1].final_verdict, rows[s1].adjudicated) == ("inauthentic", False)  # majority 2 of 3
    assert (rows[s3].final_verdict, rows[s3].outcome, rows[s3].label_count) == (None, None, 0)
    # A moderator may read the table once the case is decided; an outsider never.
    assert len(list_outcome_rows(case=decided_case, user=moderator)) == 5
    with pytest.raises(Http404):
        list_outcome_rows(case=decided_case, user=outsider)


def test_an_adjudication_overrides_the_majority(lead_case, lead, actors):
    adjudicate_account(
        case=lead_case, account=lead_case.suspects[1], lead=lead, verdict="authentic", reason="real"
    )
    rows = {row.link.account: row for row in list_outcome_rows(case=lead_case, user=lead)}
    assert (rows[lead_case.suspects[1]].final_verdict, rows[lead_case.suspects[1]].adjudicated) == (
        "authentic",
        True,
    )


def test_moderators_do_not_read_outcomes_before_the_decision(lead_case, moderator):
    with pytest.raises(NotAllowed):
        list_outcome_rows(case=lead_case, user=moderator)
