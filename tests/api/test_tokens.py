"""Personal API tokens: created and shown once, stored as a hash, revocable, expiring, and never
more powerful than their user."""

import datetime
import hashlib

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from cases.errors import Conflict, InvalidInput, NotAllowed
from cases.models import ApiToken, AuditEvent, Membership
from cases.services.tokens import create_token, revoke_token
from tests.api.conftest import error_of, session_client, token_client
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


def bearer(secret: str, keyword: str = "Bearer") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {secret}")
    return client


def test_only_the_sha256_of_the_secret_is_stored(moderator):
    token, secret = create_token(user=moderator, name="laptop")
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert row["token_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert row["prefix"] == secret[:8]
    assert secret not in {str(value) for value in row.values()}
    assert len(secret) >= 40


def test_the_secret_never_reaches_the_audit_trail(moderator):
    token, secret = create_token(user=moderator, name="laptop")
    revoke_token(token=token, user=moderator)
    events = AuditEvent.objects.filter(target_type="cases.apitoken", target_id=str(token.pk))
    assert [e.verb for e in events.order_by("at", "pk")] == ["api_token.created", "api_token.revoked"]
    for event in events:
        text = str(event.data)
        assert secret not in text and secret[:8] not in text and token.token_hash not in text


def test_a_token_authenticates_as_its_user_with_bearer_and_token_keywords(moderator, team_a):
    _, secret = create_token(user=moderator, name="script")
    for keyword in ("Bearer", "Token", "bearer"):
        response = bearer(secret, keyword).get("/api/teams/")
        assert response.status_code == 200, keyword
        assert [t["slug"] for t in response.json()["results"]] == ["team-a"]
        assert response.json()["results"][0]["role"] == "moderator"


def test_a_wrong_or_malformed_token_is_a_401_with_a_challenge(moderator):
    _, secret = create_token(user=moderator, name="script")
    tampered = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for header in (f"Bearer {tampered}", "Bearer", "Bearer a b", "Bearer short", f"Token {'x' * 500}"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        response = client.get("/api/teams/")
        assert response.status_code == 401, header
        assert error_of(response)["code"] == "authentication_failed"
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_no_credentials_is_a_401_in_the_error_shape(db):
    response = APIClient().get("/api/cases/")
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


def test_a_revoked_token_stops_working_at_once(moderator):
    token, secret = create_token(user=moderator, name="script")
    client = bearer(secret)
    assert client.get("/api/teams/").status_code == 200
    revoke_token(token=token, user=moderator)
    response = client.get("/api/teams/")
    assert response.status_code == 401
    assert "revoked" in error_of(response)["message"]


def test_a_token_stops_working_when_it_expires(moderator):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        _, secret = create_token(user=moderator, name="short", expires_at=start + datetime.timedelta(hours=1))
        client = bearer(secret)
        traveller.shift(datetime.timedelta(minutes=59))
        assert client.get("/api/teams/").status_code == 200
        traveller.shift(datetime.timedelta(minutes=1))
        response = client.get("/api/teams/")
        assert response.status_code == 401
        assert "expired" in error_of(response)["message"]


def test_an_expiry_in_the_past_is_refused(moderator):
    with pytest.raises(InvalidInput):
        create_token(user=moderator, name="x", expires_at=timezone.now() - datetime.timedelta(seconds=1))


def test_last_used_is_written_at_most_once_a_minute(moderator):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        token, secret = create_token(user=moderator, name="script")
        client = bearer(secret)
        client.get("/api/teams/")
        token.refresh_from_db()
        assert token.last_used_at == start
        traveller.shift(datetime.timedelta(seconds=30))
        client.get("/api/teams/")
        token.refresh_from_db()
        assert token.last_used_at == start
        traveller.shift(datetime.timedelta(seconds=31))
        client.get("/api/teams/")
        token.refresh_from_db()
        assert token.last_used_at == start + datetime.timedelta(seconds=61)


def test_a_token_of_an_inactive_user_is_refused(moderator):
    _, secret = create_token(user=moderator, name="script")
    moderator.is_active = False
    moderator.save(update_fields=["is_active"])
    assert bearer(secret).get("/api/teams/").status_code == 401


def test_a_token_has_its_users_role_and_loses_access_with_it(moderator, team_a):
    """A moderator's token cannot do lead work, and removing the user from the team removes the
    token's access too: it carries no rights of its own."""
    case = CaseFactory(team=team_a)
    client = token_client(moderator)
    response = client.post("/api/queues/", {"case": case.pk, "name": "Q"}, format="json")
    assert response.status_code == 403
    assert client.get(f"/api/cases/{case.pk}/").status_code == 200
    Membership.objects.filter(user=moderator, team=team_a).delete()
    assert client.get(f"/api/cases/{case.pk}/").status_code == 404
    assert client.get("/api/cases/").json()["count"] == 0


# --- over the API -------------------------------------------------------------------------------


def test_a_browser_session_needs_the_csrf_token_to_write(moderator):
    client = session_client(moderator)
    refused = client.post("/api/tokens/", {"name": "importer"}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in error_of(refused)["message"]
    client.get("/settings/tokens/")  # a page with a form sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    response = client.post("/api/tokens/", {"name": "importer"}, format="json", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 201


def test_create_list_and_revoke_tokens_over_the_api(moderator):
    client = session_client(moderator)
    client.get("/settings/tokens/")
    response = client.post(
        "/api/tokens/",
        {"name": "importer"},
        format="json",
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    secret = body["token"]
    assert body["prefix"] == secret[:8] and body["is_active"] and body["expires_at"] is None
    assert "no-store" in response["Cache-Control"]

    listed = bearer(secret).get("/api/tokens/").json()
    assert [t["name"] for t in listed["results"]] == ["importer"]
    assert "token" not in listed["results"][0] and "token_hash" not in listed["results"][0]

    revoked = bearer(secret).post(f"/api/tokens/{body['id']}/revoke/")
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None and revoked.json()["is_active"] is False
    assert bearer(secret).get("/api/tokens/").status_code == 401


def test_revoking_twice_is_a_409(moderator):
    token, _ = create_token(user=moderator, name="a")
    client = token_client(moderator)
    assert client.post(f"/api/tokens/{token.pk}/revoke/").status_code == 200
    response = client.post(f"/api/tokens/{token.pk}/revoke/")
    assert response.status_code == 409
    assert error_of(response)["code"] == "conflict"


def test_another_users_token_is_a_404_and_cannot_be_revoked(moderator, outsider, lead):
    token, secret = create_token(user=moderator, name="mine")
    for other in (outsider, lead):  # another team, and the same team
        client = token_client(other)
        assert client.get(f"/api/tokens/{token.pk}/").status_code == 404
        assert client.post(f"/api/tokens/{token.pk}/revoke/").status_code == 404
        assert token.pk not in [t["id"] for t in client.get("/api/tokens/").json()["results"]]
    with pytest.raises(NotAllowed):
        revoke_token(token=token, user=outsider)
    assert bearer(secret).get("/api/teams/").status_code == 200


def test_a_token_made_with_a_token_cannot_outlive_it(moderator):
    soon = timezone.now() + datetime.timedelta(days=1)
    client = token_client(moderator, expires_at=soon)
    forever = client.post("/api/tokens/", {"name": "forever"}, format="json")
    assert forever.status_code == 400
    assert "expires_at" in error_of(forever)["fields"]
    later = client.post(
        "/api/tokens/",
        {"name": "later", "expires_at": (soon + datetime.timedelta(days=1)).isoformat()},
        format="json",
    )
    assert later.status_code == 400
    ok = client.post("/api/tokens/", {"name": "ok", "expires_at": soon.isoformat()}, format="json")
    assert ok.status_code == 201


def test_token_fields_the_server_owns_are_ignored(moderator):
    response = token_client(moderator).post(
        "/api/tokens/",
        {
            "name": "x",
            "prefix": "AAAAAAAA",
            "token": "chosen-by-client",
            "token_hash": "0" * 64,
            "revoked_at": "2020-01-01T00:00:00Z",
            "last_used_at": "2020-01-01T00:00:00Z",
            "user": 999,
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["token"] != "chosen-by-client" and body["prefix"] != "AAAAAAAA"
    assert body["revoked_at"] is None and body["last_used_at"] is None
    assert ApiToken.objects.get(pk=body["id"]).user == moderator


def test_the_active_filter_lists_usable_tokens(moderator):
    create_token(user=moderator, name="kept")
    gone, _ = create_token(user=moderator, name="gone")
    revoke_token(token=gone, user=moderator)
    client = APIClient()
    client.force_authenticate(moderator)
    active = client.get("/api/tokens/?is_active=true").json()["results"]
    inactive = client.get("/api/tokens/?is_active=false").json()["results"]
    assert [t["name"] for t in active] == ["kept"]
    assert [t["name"] for t in inactive] == ["gone"]
    assert client.get("/api/tokens/?is_active=maybe").status_code == 400


def test_too_many_active_tokens_is_a_conflict(moderator, monkeypatch):
    monkeypatch.setattr("cases.services.tokens.MAX_ACTIVE_TOKENS_PER_USER", 2)
    create_token(user=moderator, name="1")
    create_token(user=moderator, name="2")
    with pytest.raises(Conflict):
        create_token(user=moderator, name="3")
