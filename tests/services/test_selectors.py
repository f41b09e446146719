"""Team scoping: another team's object is a 404, exactly like a missing one."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from cases import selectors
from cases.services.evidence import record_evidence
from tests.factories import AccountFactory, CaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team_a_objects(team_a, moderator):
    case = CaseFactory(team=team_a)
    account = AccountFactory(team=team_a)
    evidence = record_evidence(case=case, kind="note", captured_by=moderator, captured_text="n")
    return case, account, evidence


GETTERS = [
    (selectors.get_case_for_user, 0),
    (selectors.get_account_for_user, 1),
    (selectors.get_evidence_for_user, 2),
]


@pytest.mark.parametrize(("getter", "index"), GETTERS)
def test_members_get_their_teams_objects(team_a_objects, moderator, getter, index):
    obj = team_a_objects[index]
    assert getter(moderator, obj.pk) == obj


@pytest.mark.parametrize(("getter", "index"), GETTERS)
def test_another_team_gets_the_same_404_as_a_missing_id(team_a_objects, outsider, getter, index):
    obj = team_a_objects[index]
    with pytest.raises(Http404) as theirs:
        getter(outsider, obj.pk)
    with pytest.raises(Http404) as missing:
        getter(outsider, 10**9)
    assert str(theirs.value) == str(missing.value)


def test_anonymous_users_see_nothing(team_a_objects):
    case = team_a_objects[0]
    with pytest.raises(Http404):
        selectors.get_case_for_user(AnonymousUser(), case.pk)
    assert not selectors.list_cases_for_user(AnonymousUser()).exists()


def test_case_lists_hold_only_the_users_teams(team_a_objects, team_b, outsider, moderator):
    CaseFactory(team=team_b, title="B's case")
    assert [c.title for c in selectors.list_cases_for_user(outsider)] == ["B's case"]
    assert "B's case" not in [c.title for c in selectors.list_cases_for_user(moderator)]
