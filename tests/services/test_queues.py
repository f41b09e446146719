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


def _analyze_count() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'cases_queueitem'")
        return cursor.fetchone()[0]


def test_a_large_queue_refreshes_the_planners_statistics_once_committed(
    case, lead, on_postgres, monkeypatch, django_capture_on_commit_callbacks
):
    from cases.services import queues

    if not on_postgres:
        pytest.skip("planner statistics are PostgreSQL's")
    before = _analyze_count()
    with django_capture_on_commit_callbacks(execute=True) as small:
        create_queue_from_case(case=case, name="Small", created_by=lead)
    assert small == [] and _analyze_count() == before  # a small queue: nothing to refresh

    monkeypatch.setattr(queues, "ANALYZE_AFTER_ITEMS", 2)
    with django_capture_on_commit_callbacks(execute=True) as large:
        create_queue_from_case(case=case, name="Large", created_by=lead)
    assert len(large) == 1
    assert _analyze_count() == before + 1
