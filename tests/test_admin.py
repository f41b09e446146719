"""The admin is read-only: evidence, audit events and everything else are inspected, never edited."""

import pytest
from django.apps import apps
from django.urls import reverse

from cases.models import AuditEvent, Evidence
from cases.services.evidence import record_evidence
from tests.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


@pytest.fixture
def evidence(team_a, moderator):
    return record_evidence(
        case=CaseFactory(team=team_a), kind="note", captured_by=moderator, captured_text="n"
    )


CASES_MODELS = list(apps.get_app_config("cases").get_models())


@pytest.mark.parametrize("model", CASES_MODELS, ids=lambda m: m.__name__)
def test_every_model_has_a_list_page_and_no_add_page(superuser_client, evidence, model):
    meta = model._meta
    changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    assert superuser_client.get(changelist).status_code == 200
    assert superuser_client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_add")).status_code == 403


def test_evidence_cannot_be_changed_or_deleted_in_the_admin(superuser_client, evidence):
    change = reverse("admin:cases_evidence_change", args=[evidence.pk])
    page = superuser_client.get(change)
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert superuser_client.post(change, {"captured_text": "edited"}).status_code == 403
    delete = reverse("admin:cases_evidence_delete", args=[evidence.pk])
    assert superuser_client.post(delete, {"post": "yes"}).status_code == 403
    evidence.refresh_from_db()
    assert evidence.captured_text == "n" and Evidence.objects.count() == 1


def test_audit_events_cannot_be_changed_or_deleted_in_the_admin(superuser_client, evidence):
    event = AuditEvent.objects.latest("at")
    change = reverse("admin:cases_auditevent_change", args=[event.pk])
    assert superuser_client.post(change, {"verb": "x"}).status_code == 403
    changelist = reverse("admin:cases_auditevent_changelist")
    response = superuser_client.post(
        changelist, {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
    )
    assert response.status_code in (200, 302, 403)
    assert AuditEvent.objects.filter(pk=event.pk, verb=event.verb).exists()
