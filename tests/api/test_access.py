"""Who may reach what. Every route of the API is here, and a meta-test fails when one is not:

* another team's token gets a 404 for every object and nested route of team A, lists without
  a single row of team A, and a "does not exist" for team A's ids in request bodies;
* a moderator gets a 403 on lead-only actions, a lead on admin-only ones;
* no credentials is a 401 everywhere but the public schema and docs.
"""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver

from cases.models import (
    Account,
    Actor,
    Assignment,
    AttributionDecision,
    AttributionVote,
    AuditEvent,
    Case,
    Evidence,
    Job,
    Label,
    MediaBrand,
    Membership,
    Post,
    Queue,
    QueueItem,
    Role,
    SimilaritySuggestion,
)
from tests.api.conftest import error_of, token_client
from tests.factories import AccountFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

# Object routes: name -> URL of team A's object.
OBJECT_ROUTES = {
    "team-detail": lambda w: f"/api/teams/{w.team.pk}/",
    "account-detail": lambda w: f"/api/accounts/{w.account.pk}/",
    "post-detail": lambda w: f"/api/posts/{w.post.pk}/",
    "media-brand-detail": lambda w: f"/api/media-brands/{w.brand.pk}/",
    "case-detail": lambda w: f"/api/cases/{w.case.pk}/",
    "case-export": lambda w: f"/api/cases/{w.case.pk}/export/",
    "evidence-detail": lambda w: f"/api/evidence/{w.evidence.pk}/",
    "actor-detail": lambda w: f"/api/actors/{w.actor.pk}/",
    "queue-detail": lambda w: f"/api/queues/{w.queue.pk}/",
    "job-detail": lambda w: f"/api/jobs/{w.job.pk}/",
    "suggestion-detail": lambda w: f"/api/suggestions/{w.suggestion.pk}/",
    # Nested routes under team A's objects: the parent is not found, so neither is anything under it.
    "team-members": lambda w: f"/api/teams/{w.team.pk}/members/",
    "case-accounts": lambda w: f"/api/cases/{w.case.pk}/accounts/",
    "queue-items": lambda w: f"/api/queues/{w.queue.pk}/items/",
    "queue-item-detail": lambda w: f"/api/queues/{w.queue.pk}/items/{w.item.pk}/",
    # Review: leases, and what reviewers see of each other's work.
    "assignment-detail": lambda w: f"/api/assignments/{w.assignment.pk}/",
    "queue-stats": lambda w: f"/api/queues/{w.queue.pk}/stats/",
    "case-labels": lambda w: f"/api/cases/{w.case.pk}/labels/",
    "case-votes": lambda w: f"/api/cases/{w.case.pk}/votes/",
    "case-decisions": lambda w: f"/api/cases/{w.case.pk}/decisions/",
    "account-similar": lambda w: f"/api/accounts/{w.account.pk}/similar/",
    "case-manifest": lambda w: f"/api/cases/{w.case.pk}/manifest/",  # browser capture, signed manifest
}
# Writes aimed at team A's objects by URL: name -> (method, URL of team A's object, body). A body
# that needs ids is built from the outsider's own world (team B), so it would be valid there.
OBJECT_WRITES = {
    "evidence-retract": ("post", lambda w: f"/api/evidence/{w.evidence.pk}/retract/", {"reason": "mine now"}),
    "case-account-detail": ("delete", lambda w: f"/api/cases/{w.case.pk}/accounts/{w.account.pk}/", None),
    "case-accounts": (
        "post",
        lambda w: f"/api/cases/{w.case.pk}/accounts/",
        lambda b: {"account": b.account.pk},
    ),
    "team-members": (
        "post",
        lambda w: f"/api/teams/{w.team.pk}/members/",
        {"username": "mod-b", "role": "admin"},
    ),
    "queue-claim": ("post", lambda w: f"/api/queues/{w.queue.pk}/claim/", None),
    "queue-pause": ("post", lambda w: f"/api/queues/{w.queue.pk}/pause/", None),
    "queue-resume": ("post", lambda w: f"/api/queues/{w.queue.pk}/resume/", None),
    "queue-release-expired": ("post", lambda w: f"/api/queues/{w.queue.pk}/release-expired/", None),
    "queue-item-priority": (
        "post",
        lambda w: f"/api/queues/{w.queue.pk}/items/{w.item.pk}/priority/",
        {"priority": 9},
    ),
    "assignment-release": ("post", lambda w: f"/api/assignments/{w.assignment.pk}/release/", None),
    "assignment-skip": ("post", lambda w: f"/api/assignments/{w.assignment.pk}/skip/", {"reason": "mine"}),
    "assignment-complete": (
        "post",
        lambda w: f"/api/assignments/{w.assignment.pk}/complete/",
        {"verdict": "authentic"},
    ),
    "case-label-detail": (
        "put",
        lambda w: f"/api/cases/{w.case.pk}/labels/{w.account.pk}/",
        {"verdict": "authentic"},
    ),
    "case-vote": (
        "put",
        lambda w: f"/api/cases/{w.case.pk}/vote/",
        lambda b: {"actor": b.actor.pk, "confidence": "high", "rationale": "mine"},
    ),
    "case-decision": (
        "post",
        lambda w: f"/api/cases/{w.case.pk}/decision/",
        lambda b: {"actor": b.actor.pk, "confidence": "high", "rationale": "mine"},
    ),
    "case-close": ("post", lambda w: f"/api/cases/{w.case.pk}/close/", {"reason": "mine"}),
    "case-reopen": ("post", lambda w: f"/api/cases/{w.case.pk}/reopen/", {"reason": "mine"}),
    "case-lead": ("post", lambda w: f"/api/cases/{w.case.pk}/lead/", {"lead": None}),
    "case-priority": ("post", lambda w: f"/api/cases/{w.case.pk}/priority/", {"priority": 4}),
    "suggestion-accept": (
        "post",
        lambda w: f"/api/suggestions/{w.suggestion.pk}/accept/",
        lambda b: {"case": b.case.pk},
    ),
    "suggestion-dismiss": ("post", lambda w: f"/api/suggestions/{w.suggestion.pk}/dismiss/", {"reason": "x"}),
}
# Lead-only actions on team A's objects: a moderator of team A gets a 403 (the service's own rule).
LEAD_ONLY_WRITES = [
    "queue-pause",
    "queue-resume",
    "queue-release-expired",
    "queue-item-priority",
    "case-decision",
    "case-close",
    "case-reopen",
    "case-lead",
]
# Lists: name -> (URL, the attribute of the world whose id must not be listed).
LIST_ROUTES = {
    "team-list": ("/api/teams/", "team"),
    "account-list": ("/api/accounts/", "account"),
    "post-list": ("/api/posts/", "post"),
    "media-brand-list": ("/api/media-brands/", "brand"),
    "case-list": ("/api/cases/", "case"),
    "evidence-list": ("/api/evidence/", "evidence"),
    "actor-list": ("/api/actors/", "actor"),
    "queue-list": ("/api/queues/", "queue"),
    "job-list": ("/api/jobs/", "job"),
    "suggestion-list": ("/api/suggestions/", "suggestion"),
    "assignment-list": ("/api/assignments/", "assignment"),
}
# Creates that name team A's objects in the body: each must be refused, and create nothing.
CREATES_WITH_FOREIGN_IDS = {
    "account-list": (
        "/api/accounts/",
        lambda w: {"team": w.team.pk, "platform": "x", "handle": "sneaky"},
        Account,
    ),
    "post-list": ("/api/posts/", lambda w: {"account": w.account.pk, "text": "sneaky"}, Post),
    "media-brand-list": ("/api/media-brands/", lambda w: {"team": w.team.pk, "name": "Sneaky"}, MediaBrand),
    "case-list": ("/api/cases/", lambda w: {"team": w.team.pk, "title": "Sneaky"}, Case),
    "evidence-list": (
        "/api/evidence/",
        lambda w: {"case": w.case.pk, "kind": "note", "captured_text": "sneaky"},
        Evidence,
    ),
    "actor-list": ("/api/actors/", lambda w: {"team": w.team.pk, "name": "Sneaky"}, Actor),
    "queue-list": ("/api/queues/", lambda w: {"case": w.case.pk, "name": "Sneaky"}, Queue),
    "similarity-sweeps": ("/api/similarity/sweeps/", lambda w: {"team": w.team.pk}, Job),
}
# Writes to the outsider's own objects whose body names team A's: "does not exist", nothing written.
# scenario -> (method, URL of team B's object, body naming team A's ids), sent by team B's lead.
BODIES_WITH_FOREIGN_IDS = {
    "vote for team A's actor": (
        "put",
        lambda b: f"/api/cases/{b.case.pk}/vote/",
        lambda a, b: {"actor": a.actor.pk, "confidence": "high", "rationale": "theirs"},
    ),
    "vote citing team A's evidence": (
        "put",
        lambda b: f"/api/cases/{b.case.pk}/vote/",
        lambda a, b: {
            "actor": b.actor.pk,
            "confidence": "high",
            "rationale": "theirs",
            "cited_evidence": [a.evidence.pk],
        },
    ),
    "decide for team A's actor": (
        "post",
        lambda b: f"/api/cases/{b.case.pk}/decision/",
        lambda a, b: {"actor": a.actor.pk, "confidence": "high", "rationale": "theirs"},
    ),
    "make team A's lead the lead": (
        "post",
        lambda b: f"/api/cases/{b.case.pk}/lead/",
        lambda a, b: {"lead": a.lead.pk},
    ),
    "accept onto team A's case": (
        "post",
        lambda b: f"/api/suggestions/{b.suggestion.pk}/accept/",
        lambda a, b: {"case": a.case.pk},
    ),
}
# Multipart creates (imports) that name team A: refused the same way.
UPLOADS_WITH_FOREIGN_IDS = {
    "import-bundle": ("/api/imports/bundle/", "file"),
    "import-indicators": ("/api/imports/indicators/", "files"),
}
# Not team data: the public taxonomy, the caller's own tokens, the audit trail (own tests below),
# and the public schema and docs.
OTHER_ROUTES = {
    "technique-list",
    "technique-detail",
    "token-list",
    "token-detail",
    "token-revoke",
    "audit-event-list",
    "audit-event-detail",
    "schema",
    "docs",
    # POST /api/captures/ names the case in a multipart body and answers 404 for another team's:
    # its outsider, missing-case and no-credential tests are in tests/capture/test_capture_api.py.
    "capture-list",
}


def _api_route_names() -> set[str]:
    names = set()

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names.add(pattern.name)

    resolver = next(
        p for p in get_resolver().url_patterns if isinstance(p, URLResolver) and p.namespace == "api"
    )
    walk(resolver.url_patterns)
    return names


def test_every_api_route_is_covered_by_these_tests():
    covered = set(OBJECT_ROUTES) | set(OBJECT_WRITES) | set(LIST_ROUTES) | set(CREATES_WITH_FOREIGN_IDS)
    covered |= set(UPLOADS_WITH_FOREIGN_IDS)
    covered |= OTHER_ROUTES
    missing = _api_route_names() - covered
    assert not missing, f"routes without an access test: {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(OBJECT_ROUTES))
def test_another_teams_objects_and_nested_routes_are_404(name, world_a, world_b, outsider_api):
    response = outsider_api.get(OBJECT_ROUTES[name](world_a))
    assert response.status_code == 404
    assert error_of(response) == {"code": "not_found", "message": "Not found.", "fields": {}}
    # ... while the same route works for the outsider's own team.
    assert outsider_api.get(OBJECT_ROUTES[name](world_b)).status_code == 200


@pytest.mark.parametrize("name", sorted(OBJECT_ROUTES))
def test_a_missing_object_gets_the_same_404(name, world_a, outsider_api):
    url = OBJECT_ROUTES[name](world_a)
    first_id = re.search(r"/(\d+)/", url).group(1)
    foreign = outsider_api.get(url)
    missing = outsider_api.get(url.replace(f"/{first_id}/", "/987654321/", 1))
    assert missing.status_code == foreign.status_code == 404
    assert missing.json() == foreign.json()


def _team_state(world) -> dict:
    """Everything a write to the team's review objects could change."""
    case = Case.objects.get(pk=world.case.pk)
    return {
        "events": AuditEvent.objects.filter(team=world.team).count(),
        "evidence": Evidence.objects.filter(case=case).count(),
        "case_accounts": case.case_accounts.count(),
        "labels": Label.objects.filter(case=case).count(),
        "votes": AttributionVote.objects.filter(case=case).count(),
        "decisions": AttributionDecision.objects.filter(case=case).count(),
        "case": (case.status, case.priority, case.lead_id),
        "queue": Queue.objects.get(pk=world.queue.pk).is_active,
        "item": QueueItem.objects.filter(pk=world.item.pk).values_list("priority", "label_count").get(),
        "assignments": sorted(
            Assignment.objects.filter(item__queue=world.queue).values_list("pk", "state", "user_id")
        ),
        "suggestion": SimilaritySuggestion.objects.get(pk=world.suggestion.pk).status,
        "members": sorted(Membership.objects.filter(team=world.team).values_list("user_id", "role")),
    }


def _body(body, world):
    return body(world) if callable(body) else body


@pytest.mark.parametrize("name", sorted(OBJECT_WRITES))
def test_writes_to_another_teams_objects_are_404_and_change_nothing(name, world_a, world_b, outsider_api):
    method, url, body = OBJECT_WRITES[name]
    before = _team_state(world_a)
    response = getattr(outsider_api, method)(url(world_a), _body(body, world_b), format="json")
    assert response.status_code == 404
    assert error_of(response) == {"code": "not_found", "message": "Not found.", "fields": {}}
    assert _team_state(world_a) == before


@pytest.mark.parametrize("name", sorted(OBJECT_WRITES))
def test_writes_to_a_missing_object_get_the_same_404(name, world_a, world_b, outsider_api):
    method, url, body = OBJECT_WRITES[name]
    target = url(world_a)
    first_id = re.search(r"/(\d+)/", target).group(1)
    foreign = getattr(outsider_api, method)(target, _body(body, world_b), format="json")
    missing = getattr(outsider_api, method)(
        target.replace(f"/{first_id}/", "/987654321/", 1), _body(body, world_b), format="json"
    )
    assert missing.status_code == foreign.status_code == 404
    assert missing.json() == foreign.json()


@pytest.mark.parametrize("name", LEAD_ONLY_WRITES)
def test_a_moderator_gets_a_403_on_lead_only_actions_and_nothing_changes(name, world_a, mod_api):
    method, url, body = OBJECT_WRITES[name]
    before = _team_state(world_a)
    response = getattr(mod_api, method)(url(world_a), _body(body, world_a), format="json")
    assert response.status_code == 403, response.json()
    assert error_of(response)["code"] == "forbidden"
    assert _team_state(world_a) == before


@pytest.mark.parametrize("scenario", sorted(BODIES_WITH_FOREIGN_IDS))
def test_another_teams_ids_in_a_review_body_do_not_exist(scenario, world_a, world_b):
    method, url, body = BODIES_WITH_FOREIGN_IDS[scenario]
    before_a, before_b = _team_state(world_a), _team_state(world_b)
    response = getattr(token_client(world_b.lead), method)(
        url(world_b), body(world_a, world_b), format="json"
    )
    assert response.status_code == 400, response.json()
    error = error_of(response)
    assert any("not exist" in message for problems in error["fields"].values() for message in problems)
    assert _team_state(world_a) == before_a
    assert _team_state(world_b) == before_b


@pytest.mark.parametrize("name", sorted(LIST_ROUTES))
def test_lists_never_include_another_teams_rows(name, world_a, world_b, outsider_api):
    url, attribute = LIST_ROUTES[name]
    response = outsider_api.get(url)
    assert response.status_code == 200
    ids = [row["id"] for row in response.json()["results"]]
    assert getattr(world_a, attribute).pk not in ids
    assert getattr(world_b, attribute).pk in ids
    # Filtering by team A's id finds nothing rather than leaking it.
    if name not in ("team-list",):
        by_team = outsider_api.get(url, {"team": world_a.team.pk})
        assert by_team.status_code in (200, 400)
        if by_team.status_code == 200:
            assert by_team.json()["results"] == []


def test_a_user_in_no_team_sees_empty_lists(world_a):
    client = token_client(UserFactory(username="loner"))
    for url, _ in LIST_ROUTES.values():
        response = client.get(url)
        assert response.status_code == 200 and response.json()["count"] == 0, url


@pytest.mark.parametrize("name", sorted(CREATES_WITH_FOREIGN_IDS))
def test_another_teams_ids_in_a_body_do_not_exist(name, world_a, world_b, outsider_api):
    url, body, model = CREATES_WITH_FOREIGN_IDS[name]
    before = model.objects.count()
    response = outsider_api.post(url, body(world_a), format="json")
    assert response.status_code == 400
    error = error_of(response)
    assert any("does not exist" in message for problems in error["fields"].values() for message in problems)
    assert model.objects.count() == before


@pytest.mark.parametrize("name", sorted(UPLOADS_WITH_FOREIGN_IDS))
def test_another_teams_id_in_an_upload_does_not_exist(name, world_a, world_b, outsider_api):
    url, field = UPLOADS_WITH_FOREIGN_IDS[name]
    upload = SimpleUploadedFile("a.jsonl", b'{"type": "account", "platform": "x", "handle": "a"}\n')
    response = outsider_api.post(url, {"team": world_a.team.pk, field: upload}, format="multipart")
    assert response.status_code == 400 and "team" in error_of(response)["fields"]
    assert not Job.objects.filter(team=world_a.team).exclude(pk=world_a.job.pk).exists()


def test_a_case_cannot_take_another_teams_account_even_for_a_member_of_both(world_a, world_b, lead):
    MembershipFactory(team=world_b.team, user=lead, role=Role.MODERATOR)
    client = token_client(lead)
    response = client.post(
        f"/api/cases/{world_a.case.pk}/accounts/", {"account": world_b.account.pk}, format="json"
    )
    assert response.status_code == 400
    assert not world_a.case.case_accounts.filter(account=world_b.account).exists()


def test_techniques_are_shared_by_every_team(world_a, outsider_api):
    response = outsider_api.get("/api/techniques/")
    assert response.status_code == 200 and response.json()["count"] > 100
    first = response.json()["results"][0]["id"]
    assert outsider_api.get(f"/api/techniques/{first}/").status_code == 200


# --- roles ----------------------------------------------------------------------------------------


def test_a_moderator_cannot_create_a_queue(world_a, mod_api):
    response = mod_api.post("/api/queues/", {"case": world_a.case.pk, "name": "Mine"}, format="json")
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"
    assert not Queue.objects.filter(name="Mine").exists()


def test_a_lead_creates_a_queue_from_a_case(world_a, lead_api):
    response = lead_api.post(
        "/api/queues/", {"case": world_a.case.pk, "name": "Review", "labels_per_item": 2}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["item_count"] == 2 and body["labels_per_item"] == 2 and body["case"] == world_a.case.pk
    assert body["created_by"]["username"] == "lead-a"


def test_the_audit_trail_is_for_leads_and_admins(world_a, world_b, mod_api, lead_api, admin_api):
    for path in ("/api/audit-events/", f"/api/audit-events/{world_a.audit_event.pk}/"):
        response = mod_api.get(path)
        assert response.status_code == 403
        assert error_of(response)["code"] == "permission_denied"
    for client in (lead_api, admin_api):
        listed = client.get("/api/audit-events/").json()["results"]
        assert listed and {event["team"] for event in listed} == {world_a.team.pk}
        assert client.get(f"/api/audit-events/{world_a.audit_event.pk}/").status_code == 200


def test_another_teams_lead_does_not_see_this_teams_audit_trail(world_a, world_b):
    client = token_client(world_b.lead)
    listed = client.get("/api/audit-events/").json()["results"]
    assert listed and world_a.team.pk not in {event["team"] for event in listed}
    assert client.get(f"/api/audit-events/{world_a.audit_event.pk}/").status_code == 404


def test_only_admins_manage_members(world_a, mod_api, lead_api, admin_api):
    newcomer = UserFactory(username="newcomer")
    url = f"/api/teams/{world_a.team.pk}/members/"
    for client in (mod_api, lead_api):
        response = client.post(url, {"username": "newcomer", "role": "lead"}, format="json")
        assert response.status_code == 403
        # Refused before the body is read: a non-admin learns nothing about usernames.
        assert (
            client.post(url, {"username": "nobody-at-all", "role": "lead"}, format="json").status_code == 403
        )
    added = admin_api.post(url, {"username": "newcomer", "role": "moderator"}, format="json")
    assert added.status_code == 201 and added.json()["user"]["username"] == "newcomer"
    changed = admin_api.post(url, {"username": "newcomer", "role": "lead"}, format="json")
    assert changed.status_code == 200 and changed.json()["role"] == "lead"
    unknown = admin_api.post(url, {"username": "nobody-at-all", "role": "lead"}, format="json")
    assert unknown.status_code == 400 and "username" in error_of(unknown)["fields"]
    assert newcomer.memberships.get().role == "lead"


def test_members_are_listed_for_every_member(world_a, mod_api):
    response = mod_api.get(f"/api/teams/{world_a.team.pk}/members/")
    assert response.status_code == 200
    assert {m["user"]["username"] for m in response.json()["results"]} == {"mod-a", "lead-a"}


# --- anonymous ------------------------------------------------------------------------------------


def test_no_route_answers_without_credentials(world_a, client):
    urls = [build(world_a) for build in OBJECT_ROUTES.values()]
    urls += [url for url, _ in LIST_ROUTES.values()]
    urls += ["/api/techniques/", "/api/tokens/", "/api/audit-events/"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 401, url
        assert response.json()["error"]["code"] == "not_authenticated"
    writes = [url for url, _ in UPLOADS_WITH_FOREIGN_IDS.values()] + ["/api/cases/", "/api/tokens/"]
    for url in writes:
        assert client.post(url, {}, content_type="application/json").status_code == 401, url
    for method, url, _ in OBJECT_WRITES.values():
        response = getattr(client, method)(url(world_a), {}, content_type="application/json")
        assert response.status_code == 401, url


def test_the_schema_and_docs_are_public(client, db):
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200


def test_an_account_of_another_team_with_the_same_handle_is_separate(world_a, world_b, outsider_api):
    twin = AccountFactory(team=world_b.team, handle=world_a.account.handle)
    results = outsider_api.get("/api/accounts/", {"handle": world_a.account.handle}).json()["results"]
    assert [a["id"] for a in results] == [twin.pk]
