"""Every service call of the foundation leaves exactly one audit event: user, verb, target, fields."""

import pytest
from django.db import DatabaseError, transaction

from cases.models import AuditEvent, Role
from cases.services import accounts, cases, evidence, queues, teams
from tests.factories import AccountFactory, CaseFactory, UserFactory, raw_update

pytestmark = pytest.mark.django_db


def _calls(team, lead, admin_user):
    case = CaseFactory(team=team)
    account = AccountFactory(team=team)
    return {
        "team.created": lambda: teams.create_team(slug="new-team", name="New", created_by=admin_user),
        "member.added": lambda: teams.add_member(
            team=team, user=UserFactory(), role=Role.MODERATOR, added_by=admin_user
        ),
        "account.created": lambda: accounts.create_account(
            team=team, platform="x", handle="@Shannon81025511", created_by=lead, bio="patriot"
        ),
        "post.created": lambda: accounts.create_post(
            account=account, text="t", external_id="9", created_by=lead
        ),
        "media_brand.created": lambda: accounts.create_media_brand(
            team=team, name="Bild clone", domains=["bild[.]pics"], created_by=lead
        ),
        "actor.created": lambda: accounts.create_actor(team=team, name="Spamouflage", created_by=lead),
        "case.created": lambda: cases.create_case(team=team, title="t", created_by=lead),
        "case.account_added": lambda: cases.add_account_to_case(case=case, account=account, added_by=lead),
        "evidence.recorded": lambda: evidence.record_evidence(
            case=case, kind="note", captured_by=lead, captured_text="n"
        ),
        "queue.created": lambda: queues.create_queue_from_case(case=case, name="q", created_by=lead),
        "job.started": lambda: cases.start_case_recount(case=case, requested_by=lead),
        "user.created": lambda: teams.create_user(
            username="new", password="pw-long-enough", created_by=admin_user
        ),
        "user.site_admin_granted": lambda: teams.grant_site_admin(user=UserFactory(), granted_by=admin_user),
    }


VERBS = [
    "team.created",
    "member.added",
    "account.created",
    "post.created",
    "media_brand.created",
    "actor.created",
    "case.created",
    "case.account_added",
    "evidence.recorded",
    "queue.created",
    "job.started",
    "user.created",
    "user.site_admin_granted",
]


@pytest.mark.parametrize("verb", VERBS)
def test_each_service_call_leaves_exactly_one_event(team_a, lead, admin_user, verb):
    call = _calls(team_a, lead, admin_user)[verb]
    before = set(AuditEvent.objects.values_list("pk", flat=True))
    result = call()
    new = AuditEvent.objects.exclude(pk__in=before)
    assert new.count() == 1
    event = new.get()
    assert event.verb == verb
    assert event.user in (lead, admin_user)
    assert event.target_id == str(result.pk) or verb == "case.account_added"
    assert event.data  # the changed fields are recorded


def test_account_event_records_normalized_fields(team_a, lead):
    account = accounts.create_account(team=team_a, platform="x", handle="@Shannon81025511", created_by=lead)
    event = AuditEvent.objects.get(verb="account.created")
    assert account.handle_normalized == "shannon81025511"
    assert event.data["handle"] == "Shannon81025511" and event.data["platform"] == "x"


def test_audit_events_cannot_be_changed_or_deleted(team_a, lead):
    cases.create_case(team=team_a, title="t", created_by=lead)
    event = AuditEvent.objects.get()
    event.verb = "case.deleted"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        AuditEvent.objects.all().update(verb="x")
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        raw_update(AuditEvent, event.pk, verb="x")
    assert AuditEvent.objects.get().verb == "case.created"
