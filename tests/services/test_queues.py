import pytest

from cases.errors import Conflict, InvalidInput, NotAllowed
from cases.models import AccountKind, AuditEvent
from cases.services.cases import add_account_to_case
from cases.services.queues import create_queue_from_case
from tests.factories import AccountFactory, CaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(team_a, lead):
    case = CaseFactory(team=team_a, priority=3)
    for _ in range(4):
        add_account_to_case(case=case, account=AccountFactory(team=team_a), added_by=lead)
    reference = AccountFactory(team=team_a, kind=AccountKind.REFERENCE, handle="nytimes")
    add_account_to_case(case=case, account=reference, added_by=lead)
    return case


def test_queue_holds_the_cases_suspects_only(case, lead):
    queue = create_queue_from_case(case=case, name="Triage", created_by=lead, labels_per_item=2)
    items = list(queue.items.all())
    assert len(items) == 4
    assert all(item.priority == 3 and item.account.kind == "suspect" for item in items)
    event = AuditEvent.objects.get(verb="queue.created")
    assert event.data["items"] == 4 and event.data["labels_per_item"] == 2 and event.user == lead


def test_moderators_cannot_create_queues(case, moderator):
    with pytest.raises(NotAllowed):
        create_queue_from_case(case=case, name="Triage", created_by=moderator)


@pytest.mark.parametrize("kwargs", [{"labels_per_item": 0}, {"labels_per_item": 21}, {"lease_minutes": 0}])
def test_queue_settings_are_checked(case, lead, kwargs):
    with pytest.raises(InvalidInput):
        create_queue_from_case(case=case, name="Triage", created_by=lead, **kwargs)


def test_queue_names_are_unique_in_a_team(case, lead):
    create_queue_from_case(case=case, name="Triage", created_by=lead)
    with pytest.raises(Conflict):
        create_queue_from_case(case=case, name="Triage", created_by=lead)
