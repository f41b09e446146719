"""Similar-account suggestions: accept adds the other account, dismiss sticks unless the score
rises by a margin, and the engine's upsert never undoes a reviewer's choice."""

import pytest

from cases.errors import Conflict, InvalidInput, NotAllowed
from cases.models import AuditEvent, CaseAccount, CaseStatus, SimilaritySuggestion, SuggestionStatus
from cases.services.cases import add_account_to_case
from cases.services.suggestions import accept_suggestion, dismiss_suggestion, upsert_suggestion
from tests.factories import AccountFactory, CaseFactory
from tests.services.review_support import NewEvents

pytestmark = pytest.mark.django_db

SIGNALS = [
    {"signal": "copy_paste", "score": 0.93, "detail": "12 near-identical posts"},
    {"signal": "handle_shape", "score": 0.4, "detail": "handle shape name + 8 digits, like 31 others"},
]


@pytest.fixture
def pair(team_a):
    return AccountFactory(team=team_a, handle="jordanl61185831"), AccountFactory(
        team=team_a, handle="shannon81025511"
    )


@pytest.fixture
def suggestion(team_a, pair):
    return upsert_suggestion(team=team_a, account_a=pair[1], account_b=pair[0], score=0.8, signals=SIGNALS)


@pytest.fixture
def case(team_a, lead, pair):
    case = CaseFactory(team=team_a)
    add_account_to_case(case=case, account=pair[0], added_by=lead)
    return case


# --- accept ------------------------------------------------------------------------------------


def test_accept_adds_the_other_account_recording_the_suggestion(case, suggestion, pair, moderator):
    with NewEvents() as new:
        link = accept_suggestion(suggestion=suggestion, case=case, user=moderator)
    assert (link.account, link.suggestion, link.added_by) == (pair[1], suggestion, moderator)
    assert link.reason == (
        "Similar to @jordanl61185831 (score 0.80): 12 near-identical posts; "
        "handle shape name + 8 digits, like 31 others"
    )
    suggestion.refresh_from_db()
    assert (suggestion.status, suggestion.reviewed_by) == (SuggestionStatus.ACCEPTED, moderator)
    assert suggestion.reviewed_at is not None
    # The account joins through add_account_to_case, which writes its own event.
    assert new.verbs == ["case.account_added", "suggestion.accepted"]
    accepted = new.events[1]
    assert accepted.target_id == str(suggestion.pk) and accepted.user == moderator
    assert accepted.data == {
        "case": case.pk,
        "added_account": pair[1].pk,
        "status": ["new", "accepted"],
        "score": 0.8,
    }


def test_accept_with_both_accounts_on_the_case_only_marks_it_accepted(case, suggestion, pair, lead):
    add_account_to_case(case=case, account=pair[1], added_by=lead)
    with NewEvents() as new:
        link = accept_suggestion(suggestion=suggestion, case=case, user=lead)
    assert link.account == pair[1]
    assert CaseAccount.objects.filter(case=case).count() == 2
    assert new.verbs == ["suggestion.accepted"]
    assert SimilaritySuggestion.objects.get().status == SuggestionStatus.ACCEPTED


def test_accept_needs_one_of_the_pair_on_the_case(team_a, suggestion, moderator):
    with pytest.raises(InvalidInput, match="Neither account"):
        accept_suggestion(suggestion=suggestion, case=CaseFactory(team=team_a), user=moderator)
    assert SimilaritySuggestion.objects.get().status == SuggestionStatus.NEW


def test_another_teams_suggestion_is_no_such_suggestion(case, team_b, moderator):
    theirs = upsert_suggestion(
        team=team_b,
        account_a=AccountFactory(team=team_b),
        account_b=AccountFactory(team=team_b),
        score=0.9,
        signals=[],
    )
    with pytest.raises(InvalidInput, match=r"^No such suggestion\.$"):
        accept_suggestion(suggestion=theirs, case=case, user=moderator)


@pytest.mark.parametrize("status", [CaseStatus.DECIDED, CaseStatus.CLOSED])
def test_a_settled_case_takes_no_suggestions(case, suggestion, moderator, status):
    case.status = status
    case.save()
    with pytest.raises(Conflict):
        accept_suggestion(suggestion=suggestion, case=case, user=moderator)
    assert SimilaritySuggestion.objects.get().status == SuggestionStatus.NEW


def test_a_dismissed_suggestion_can_still_be_accepted(case, suggestion, moderator):
    dismiss_suggestion(suggestion=suggestion, user=moderator)
    accept_suggestion(suggestion=suggestion, case=case, user=moderator)
    suggestion.refresh_from_db()
    assert (suggestion.status, suggestion.dismissed_score) == (SuggestionStatus.ACCEPTED, None)


# --- dismiss -----------------------------------------------------------------------------------


def test_dismiss_records_the_score_reviewer_and_reason(suggestion, moderator):
    with NewEvents() as new:
        dismiss_suggestion(suggestion=suggestion, user=moderator, reason=" Shared name only ")
    assert suggestion.status == SuggestionStatus.DISMISSED
    suggestion.refresh_from_db()
    assert (suggestion.status, suggestion.dismissed_score, suggestion.reviewed_by) == (
        "dismissed",
        0.8,
        moderator,
    )
    [event] = new.events
    assert (event.verb, event.user, event.target_id) == (
        "suggestion.dismissed",
        moderator,
        str(suggestion.pk),
    )
    assert event.data == {
        "status": ["new", "dismissed"],
        "dismissed_score": 0.8,
        "reason": "Shared name only",
    }


def test_dismissing_twice_or_after_accepting_is_a_conflict(case, suggestion, moderator):
    dismiss_suggestion(suggestion=suggestion, user=moderator)
    with pytest.raises(Conflict, match="already dismissed"):
        dismiss_suggestion(suggestion=suggestion, user=moderator)
    accept_suggestion(suggestion=suggestion, case=case, user=moderator)
    with pytest.raises(Conflict, match="accepted"):
        dismiss_suggestion(suggestion=suggestion, user=moderator)


def test_outsiders_cannot_accept_or_dismiss(case, suggestion, outsider):
    with pytest.raises(NotAllowed):
        accept_suggestion(suggestion=suggestion, case=case, user=outsider)
    with pytest.raises(NotAllowed):
        dismiss_suggestion(suggestion=suggestion, user=outsider)
    assert SimilaritySuggestion.objects.get().status == SuggestionStatus.NEW


# --- the engine's upsert -----------------------------------------------------------------------


def test_upsert_stores_the_pair_once_lower_id_first_and_updates_it(team_a, pair, suggestion):
    assert (suggestion.account_a, suggestion.account_b) == pair
    again = upsert_suggestion(
        team=team_a, account_a=pair[0], account_b=pair[1], score=0.85, signals=SIGNALS[:1]
    )
    assert again.pk == suggestion.pk and SimilaritySuggestion.objects.count() == 1
    again.refresh_from_db()
    assert (again.score, again.signals, again.status) == (0.85, SIGNALS[:1], SuggestionStatus.NEW)


def test_upsert_keeps_an_accepted_pair_accepted(team_a, case, pair, suggestion, moderator):
    accept_suggestion(suggestion=suggestion, case=case, user=moderator)
    upsert_suggestion(team=team_a, account_a=pair[0], account_b=pair[1], score=0.3, signals=[])
    assert SimilaritySuggestion.objects.get().status == SuggestionStatus.ACCEPTED


def test_a_dismissed_pair_comes_back_only_when_its_score_rises_past_the_margin(
    team_a, pair, suggestion, moderator
):
    dismiss_suggestion(suggestion=suggestion, user=moderator)  # at 0.8
    for score in (0.85, 0.9, 0.5):  # 0.9 is not *more than* 0.8 + 0.1
        upsert_suggestion(team=team_a, account_a=pair[0], account_b=pair[1], score=score, signals=SIGNALS)
        assert SimilaritySuggestion.objects.get().status == SuggestionStatus.DISMISSED
    back = upsert_suggestion(team=team_a, account_a=pair[0], account_b=pair[1], score=0.95, signals=SIGNALS)
    assert (back.status, back.dismissed_score) == (SuggestionStatus.NEW, 0.8)


def test_upsert_writes_no_audit_event(team_a, pair):
    upsert_suggestion(team=team_a, account_a=pair[0], account_b=pair[1], score=0.5, signals=[])
    upsert_suggestion(team=team_a, account_a=pair[0], account_b=pair[1], score=0.6, signals=[])
    assert not AuditEvent.objects.filter(verb__startswith="suggestion").exists()


def test_upsert_checks_the_pair_and_the_score(team_a, team_b, pair):
    def upsert(a, b, score=0.5):
        return upsert_suggestion(team=team_a, account_a=a, account_b=b, score=score, signals=[])

    with pytest.raises(InvalidInput, match=r"^No such account\.$"):
        upsert(pair[0], AccountFactory(team=team_b))
    with pytest.raises(InvalidInput):
        upsert(pair[0], pair[0])
    with pytest.raises(InvalidInput):
        upsert(pair[0], pair[1], score=1.2)
    assert not SimilaritySuggestion.objects.exists()
