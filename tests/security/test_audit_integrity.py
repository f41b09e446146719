"""Audit integrity: an audit event, once written, is neither edited nor deleted through any
interface — the admin, the API, the UI, a service, the ORM or SQL.

Already proven elsewhere and not repeated here:
* tests/services/test_audit.py::test_audit_events_cannot_be_changed_or_deleted — save() of a
  stored row, ``AuditEvent.objects.update()``/``.delete()`` raise; a raw SQL UPDATE hits the
  trigger of migration 0002;
* tests/test_admin.py::test_audit_events_cannot_be_changed_or_deleted_in_the_admin — the change
  POST is a 403 and the delete_selected action leaves the event.

Added here: instance ``delete()`` (it used to go through), ``bulk_update``/``update_or_create``,
a fresh instance carrying a stored id, cascades from the team and the user, the admin's delete
view and action list, every API route (none writes an audit event; writes to the listing are 405),
every service and API write (no SQL UPDATE or DELETE on the table is ever sent), and the source
(only ``cases.services.audit.record_event`` creates events).

Not prevented, on purpose: a raw SQL ``DELETE`` (see the xfail below). A DELETE trigger would break
the test runner's flush (Django flushes SQLite with DELETE); PostgreSQL flushes with TRUNCATE,
which row triggers do not see, so a PostgreSQL-only trigger is possible — a decision for a
migration, not for this test file. Production should also deny DELETE/UPDATE/TRUNCATE on
``cases_auditevent`` to the application's database role.
"""

import pathlib
import re

import pytest
from django.contrib.admin.sites import site as admin_site
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from cases.api.views import AuditEventApi
from cases.models import AuditEvent, Team
from cases.services.cases import create_case
from tests.api.conftest import build_world, error_of, token_client
from tests.factories import MembershipFactory, UserFactory
from tests.services.test_audit import VERBS, _calls

pytestmark = pytest.mark.django_db

ROOT = pathlib.Path(__file__).resolve().parents[2]
TABLE = AuditEvent._meta.db_table
# Any statement that would change or remove audit rows, however it is spelled.
WRITES_TO_TABLE = re.compile(rf'^\s*(UPDATE|DELETE\s+FROM|TRUNCATE)\s+(TABLE\s+)?"?{TABLE}"?', re.IGNORECASE)


@pytest.fixture
def event(team_a, lead):
    create_case(team=team_a, title="Audited", created_by=lead)
    return AuditEvent.objects.get(verb="case.created")


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


class _StatementLog:
    """Every SQL statement sent while it is installed (connection.execute_wrapper)."""

    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        self.statements.append(sql)
        return execute(sql, params, many, context)

    def writes_to_audit_table(self) -> list[str]:
        return [sql for sql in self.statements if WRITES_TO_TABLE.search(sql)]


def _unchanged(event) -> bool:
    fresh = AuditEvent.objects.filter(pk=event.pk).values("verb", "user", "team", "data", "at").first()
    return fresh == {
        "verb": event.verb,
        "user": event.user_id,
        "team": event.team_id,
        "data": event.data,
        "at": event.at,
    }


# --- the model and the ORM ---------------------------------------------------------------------


def test_an_event_cannot_be_deleted_through_the_model(event):
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert _unchanged(event)


def test_bulk_update_and_update_or_create_are_refused(event):
    event.verb = "case.deleted"
    with pytest.raises(TypeError), transaction.atomic():  # bulk_update's own atomic has no savepoint
        AuditEvent.objects.bulk_update([event], ["verb"])
    with pytest.raises(TypeError), transaction.atomic():
        AuditEvent.objects.update_or_create(pk=event.pk, defaults={"verb": "case.deleted"})
    event.refresh_from_db()
    assert event.verb == "case.created"


def test_a_fresh_instance_with_a_stored_id_cannot_overwrite_it(event):
    """Such an instance passes the model's check (it is "adding"), so Django tries an UPDATE
    first: the trigger of migration 0002 refuses it."""
    forged = AuditEvent(pk=event.pk, team=event.team, verb="case.deleted", target_type="x", target_id="1")
    with pytest.raises(DatabaseError), transaction.atomic():
        forged.save()
    assert _unchanged(event)


def test_deleting_the_team_or_the_user_of_an_event_is_refused(event, team_a, lead):
    with pytest.raises(ProtectedError), transaction.atomic():
        Team.objects.filter(pk=team_a.pk).delete()
    with pytest.raises(ProtectedError), transaction.atomic():
        lead.delete()
    assert _unchanged(event)


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="No DELETE trigger: it would break the test runner's flush on SQLite; PROTECT foreign keys, "
    "the model, the admin and the absence of any deleting code path hold instead (docs/security.md).",
)
def test_a_raw_sql_delete_is_refused_by_the_database(event):
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [event.pk])  # noqa: S608
    except DatabaseError:
        pass
    assert AuditEvent.objects.filter(pk=event.pk).exists()


# --- the admin, as a superuser ------------------------------------------------------------------


def test_the_admin_shows_an_event_read_only_and_refuses_to_change_it(superuser_client, event):
    change = reverse("admin:cases_auditevent_change", args=[event.pk])
    page = superuser_client.get(change)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content and b'name="_continue"' not in page.content
    assert superuser_client.post(change, {"verb": "case.deleted", "data": "{}"}).status_code == 403
    assert _unchanged(event)


def test_the_admin_refuses_to_delete_an_event(superuser_client, event):
    delete = reverse("admin:cases_auditevent_delete", args=[event.pk])
    assert superuser_client.get(delete).status_code == 403
    assert superuser_client.post(delete, {"post": "yes"}).status_code == 403
    request = RequestFactory().get("/admin/cases/auditevent/")
    request.user = UserFactory(username="root2", is_staff=True, is_superuser=True)
    model_admin = admin_site._registry[AuditEvent]
    assert "delete_selected" not in model_admin.get_actions(request)
    assert not model_admin.has_delete_permission(request, event)
    assert not model_admin.has_change_permission(request, event)
    response = superuser_client.post(
        reverse("admin:cases_auditevent_changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)  # "no such action": nothing happens
    assert _unchanged(event)


# --- the API ------------------------------------------------------------------------------------


def _api_views():
    """(route, view class, allowed methods) for every route of the API."""

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                callback = pattern.callback
                cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
                actions = getattr(callback, "actions", None)
                methods = (
                    set(actions)
                    if actions
                    else {m for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)}
                )
                yield str(pattern.pattern), cls, methods

    api = next(p for p in get_resolver().url_patterns if isinstance(p, URLResolver) and p.namespace == "api")
    return list(walk(api.url_patterns))


def _touches_audit_events(cls) -> bool:
    serializer = getattr(cls, "serializer_class", None)
    model = getattr(getattr(serializer, "Meta", None), "model", None)
    return cls is AuditEventApi or model is AuditEvent


def test_no_api_route_writes_audit_events():
    routes = [(route, methods) for route, cls, methods in _api_views() if cls and _touches_audit_events(cls)]
    assert routes, "the audit-event routes were not found"
    for route, methods in routes:
        assert methods <= {"get", "head"}, (route, methods)  # DRF adds head once a GET was served


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writes_to_the_audit_listing_are_405(method, event, team_a):
    lead = MembershipFactory(team=team_a, role="admin", user=UserFactory(username="admin-x")).user
    client = token_client(lead)
    for url in ("/api/audit-events/", f"/api/audit-events/{event.pk}/"):
        response = getattr(client, method)(url, {"verb": "case.deleted"}, format="json")
        assert response.status_code == 405, (url, response.status_code)
        assert error_of(response)["code"]
    assert _unchanged(event)


# --- services and every write path: no SQL ever updates or deletes an audit row ----------------------


def test_no_service_sends_an_update_or_delete_to_the_audit_table(team_a, lead, admin_user):
    calls = _calls(team_a, lead, admin_user)
    log = _StatementLog()
    with connection.execute_wrapper(log):
        for verb in VERBS:
            calls[verb]()
    assert len(log.statements) > len(VERBS)
    assert log.writes_to_audit_table() == []


def test_no_api_write_sends_an_update_or_delete_to_the_audit_table(team_a, moderator, lead):
    """The write routes of the API, one after another on one team, with a statement log on."""
    from tests.api.test_access import CREATES_WITH_FOREIGN_IDS, OBJECT_WRITES

    log = _StatementLog()
    with connection.execute_wrapper(log):
        world = build_world(team_a, moderator, lead)
        client = token_client(lead)
        for method, url, body in OBJECT_WRITES.values():
            body = body(world) if callable(body) else body
            getattr(client, method)(url(world), body, format="json")
        for url, body, _ in CREATES_WITH_FOREIGN_IDS.values():
            client.post(url, body(world), format="json")
    assert AuditEvent.objects.filter(team=team_a).count() > 10  # the writes did happen
    assert log.writes_to_audit_table() == []


def test_only_record_event_creates_audit_events_and_nothing_edits_them_in_the_source():
    """A static guard over the application's code (not migrations, not tests)."""
    creates, edits = [], []
    for path in sorted(
        [*ROOT.glob("cases/**/*.py"), *ROOT.glob("frontend/**/*.py"), *ROOT.glob("annotator/**/*.py")]
    ):
        if "migrations" in path.parts:
            continue
        source = path.read_text()
        relative = str(path.relative_to(ROOT))
        if re.search(
            r"(?<!class )AuditEvent(\.objects\.(create|bulk_create|get_or_create|update_or_create)|\()",
            source,
        ):
            creates.append(relative)
        for line in source.splitlines():
            if re.search(r"AuditEvent\b.*\.(update|delete|bulk_update|_raw_delete|raw)\(", line) or re.search(
                rf"(UPDATE|DELETE|TRUNCATE)[^\n]*({TABLE}|AuditEvent\._meta\.db_table)", line, re.IGNORECASE
            ):
                edits.append(f"{relative}: {line.strip()}")
    assert creates == ["cases/services/audit.py"], creates
    assert edits == []
