import pytest

from cases.errors import Conflict, InvalidInput, NotAllowed
from cases.models import AuditEvent, Membership, Role
from cases.services.teams import add_member, create_team
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_create_team_records_one_audit_event():
    team = create_team(slug="trust-safety", name="Trust & Safety")
    event = AuditEvent.objects.get()
    assert (event.verb, event.team, event.target_id) == ("team.created", team, str(team.pk))
    assert event.data == {"slug": "trust-safety", "name": "Trust & Safety"}


@pytest.mark.parametrize("slug", ["Has Spaces", "UPPER", "", "trailing-"])
def test_create_team_refuses_a_bad_slug(slug):
    with pytest.raises(InvalidInput):
        create_team(slug=slug, name="x")


def test_create_team_refuses_a_taken_slug(team_a):
    with pytest.raises(Conflict):
        create_team(slug="team-a", name="Again")


def test_add_member_creates_then_changes_role_with_one_event_each(team_a, admin_user):
    user = UserFactory()
    before = AuditEvent.objects.count()
    add_member(team=team_a, user=user, role=Role.MODERATOR, added_by=admin_user)
    add_member(team=team_a, user=user, role=Role.LEAD, added_by=admin_user)
    add_member(team=team_a, user=user, role=Role.LEAD, added_by=admin_user)  # no change, no event
    events = list(AuditEvent.objects.order_by("id")[before:])
    assert [e.verb for e in events] == ["member.added", "member.role_changed"]
    assert events[1].data == {"user": user.pk, "role": ["moderator", "lead"]}
    assert all(e.user == admin_user for e in events)
    assert Membership.objects.get(user=user, team=team_a).role == Role.LEAD


@pytest.mark.parametrize("who", ["moderator", "lead", "outsider"])
def test_only_an_admin_of_the_team_adds_members(team_a, request, who):
    with pytest.raises(NotAllowed):
        add_member(
            team=team_a, user=UserFactory(), role=Role.MODERATOR, added_by=request.getfixturevalue(who)
        )


def test_add_member_refuses_an_unknown_role(team_a):
    with pytest.raises(InvalidInput):
        add_member(team=team_a, user=UserFactory(), role="owner")
