"""One error shape for every 4xx — ``{"error": {"code", "message", "fields"}}`` — and never a 500
for bad input."""

import pytest
from rest_framework.test import APIClient

from cases.models import Account, CaseStatus
from tests.api.conftest import error_of, token_client
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


def test_400_names_each_invalid_field(world_a, mod_api):
    response = mod_api.post(
        "/api/accounts/", {"team": world_a.team.pk, "platform": "myspace", "followers": -1}, format="json"
    )
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"platform", "handle", "followers"}
    assert all(isinstance(m, str) for problems in error["fields"].values() for m in problems)


def test_nested_field_errors_are_named_with_their_path(world_a, mod_api):
    response = mod_api.post(
        "/api/media-brands/",
        {"team": world_a.team.pk, "name": "X", "accounts": [{"account": world_a.account.pk, "role": "boss"}]},
        format="json",
    )
    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == ["accounts.0.role"]


def test_401_403_404_405_have_the_shape(world_a, mod_api):
    cases = [
        (APIClient().get("/api/cases/"), 401, "not_authenticated"),
        (mod_api.get("/api/audit-events/"), 403, "permission_denied"),
        (mod_api.get("/api/cases/987654/"), 404, "not_found"),
        (mod_api.get("/api/no-such-thing/"), 404, "not_found"),
        (mod_api.put(f"/api/cases/{world_a.case.pk}/", {}, format="json"), 405, "method_not_allowed"),
        (mod_api.delete(f"/api/accounts/{world_a.account.pk}/"), 405, "method_not_allowed"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, (status, response.content)
        assert error_of(response)["code"] == code


def test_409_carries_the_domain_errors_code_and_message(world_a, mod_api):
    body = {"team": world_a.team.pk, "platform": "x", "handle": "@" + world_a.account.handle.upper()}
    response = mod_api.post("/api/accounts/", body, format="json")
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "conflict" and "already in this team" in error["message"]


def test_a_closed_case_refuses_new_accounts_with_409(world_a, lead_api):
    closed = CaseFactory(team=world_a.team, status=CaseStatus.CLOSED)
    response = lead_api.post(
        f"/api/cases/{closed.pk}/accounts/", {"account": world_a.account.pk}, format="json"
    )
    assert response.status_code == 409
    assert error_of(response)["code"] == "conflict"


def test_a_domain_error_with_fields_keeps_them(world_a, mod_api):
    response = mod_api.post(
        "/api/accounts/", {"team": world_a.team.pk, "platform": "x", "handle": "@"}, format="json"
    )
    assert response.status_code == 400
    assert error_of(response)["fields"] == {"handle": ["This field is required."]}


def test_413_for_a_body_over_the_limit(world_a, mod_api, settings):
    settings.API_MAX_BODY_BYTES = 1000
    response = mod_api.post(
        "/api/evidence/",
        {"case": world_a.case.pk, "kind": "note", "captured_text": "x" * 2000},
        format="json",
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "request_too_large"


def test_json_bodies_are_held_to_the_smaller_in_memory_limit(world_a, mod_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 500
    json_body = mod_api.post(
        "/api/evidence/", {"case": world_a.case.pk, "kind": "note", "captured_text": "x" * 600}, format="json"
    )
    assert json_body.status_code == 413
    multipart = mod_api.post(
        "/api/evidence/",
        {"case": world_a.case.pk, "kind": "note", "captured_text": "x" * 100},
        format="multipart",
    )
    assert multipart.status_code == 201


def test_too_many_form_fields_is_a_400_not_a_500(world_a, mod_api, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    body = {f"f{i}": "x" for i in range(20)} | {"case": world_a.case.pk, "kind": "note", "captured_text": "x"}
    response = mod_api.post("/api/evidence/", body, format="multipart")
    assert response.status_code == 400
    assert error_of(response)["code"] == "too_many_fields"


def test_415_for_an_unsupported_content_type(world_a, mod_api):
    response = mod_api.post("/api/cases/", "title=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


def _rate(settings, rate: str) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": rate}}


def test_429_after_the_token_budget_with_retry_after(world_a, moderator, settings):
    _rate(settings, "3/min")
    client = token_client(moderator)
    statuses = [client.get("/api/cases/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/cases/")
    assert response.status_code == 429
    assert error_of(response)["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
    # The budget is per token: another token of the same user starts fresh.
    assert token_client(moderator).get("/api/cases/").status_code == 200


def test_browser_sessions_are_not_throttled(world_a, moderator, settings):
    _rate(settings, "1/min")
    client = APIClient()
    client.force_login(moderator)
    assert all(client.get("/api/cases/").status_code == 200 for _ in range(5))


BAD_QUERIES = [
    "/api/accounts/?team=abc",
    "/api/accounts/?team=-1",
    "/api/accounts/?team=99999999999999999999999999",
    "/api/accounts/?team=",
    "/api/accounts/?platform=myspace",
    "/api/accounts/?page=abc",
    "/api/accounts/?page=0",
    "/api/accounts/?page_size=abc",
    "/api/accounts/?page_size=0",
    "/api/accounts/?search=" + "x" * 201,
    "/api/accounts/?search=a%00b",
    "/api/accounts/?handle=a%00b",
    # maxLength bounds what is sent: padding that would be stripped still counts.
    "/api/accounts/?handle=%20" + "x" * 255,
    "/api/cases/?priority=9",
    "/api/cases/?status=everything",
    "/api/cases/?updated_after=yesterday",
    "/api/cases/?updated_after=2024-13-45T00:00:00Z",
    "/api/cases/?updated_after=0001-01-01T00:00:00%2B05:00",
    "/api/cases/?lead=1.5",
    "/api/posts/?is_repost=maybe",
    "/api/suggestions/?min_score=2",
    "/api/suggestions/?min_score=nan",
    "/api/cases/{case}/export/?format=xml",
    "/api/cases/{case}/export/?format=",
    # Every parameter takes one value: a repeated one is refused, not silently narrowed to one.
    "/api/accounts/?team=1&team=2",
    "/api/accounts/?page_size=5&page_size=10",
    "/api/assignments/?state=active&state=expired",
    "/api/cases/{case}/export/?format=json&format=csv",
]


@pytest.mark.parametrize("url", BAD_QUERIES)
def test_bad_query_parameters_are_400(url, world_a, lead_api):
    response = lead_api.get(url.replace("{case}", str(world_a.case.pk)))
    assert response.status_code == 400, response.content
    assert error_of(response)["code"] == "invalid"


@pytest.mark.parametrize(
    "url",
    [
        "/api/accounts/?page=999999999999999999999999",
        "/api/accounts/abc/",
        "/api/accounts/99999999999999999999999999/",
        "/api/cases/1.5/",
        "/api/cases/-1/",
        "/api/cases/99999999999999999999/accounts/",
        "/api/queues/99999999999999999999/items/1/",
    ],
)
def test_impossible_ids_and_pages_are_404(url, world_a, lead_api):
    response = lead_api.get(url)
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_a_time_zone_offset_the_database_cannot_store_is_converted_to_utc(world_a, mod_api):
    # PostgreSQL refuses offsets past ±15:59; the filter compares in UTC instead.
    response = mod_api.get("/api/posts/?posted_after=2024-01-01T00:00:00%2B23:00")
    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_page_sizes_are_capped_at_500(world_a, mod_api):
    response = mod_api.get("/api/techniques/?page_size=100000")
    assert response.status_code == 200
    assert len(response.json()["results"]) == min(500, response.json()["count"])
    assert len(mod_api.get("/api/techniques/").json()["results"]) == 50


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"team": 1, "title": "x"',
        b"[1, 2, 3]",
        b'"a string"',
        b'{"team": NaN, "title": "x"}',
        b'{"team": 1, "title": "\\ud800"}',
        b"\xff\xfe\x00",
    ],
)
def test_malformed_json_is_a_400(body, world_a, mod_api):
    response = mod_api.generic("POST", "/api/cases/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert error_of(response)["code"] in {"parse_error", "invalid"}


@pytest.mark.parametrize(
    "body",
    [
        {"team": "1", "platform": "x", "handle": "a"},
        {"team": True, "platform": "x", "handle": "a"},
        {"team": [1], "platform": "x", "handle": "a"},
        {"team": {"id": 1}, "platform": "x", "handle": "a"},
        {"team": 99999999999999999999999, "platform": "x", "handle": "a"},
        {"team": None, "platform": "x", "handle": "a"},
        {"platform": "x", "handle": 12},
        {"platform": "x", "handle": "a", "followers": "10"},
        {"platform": "x", "handle": "a", "followers": 2**64},
        {"platform": "x", "handle": "a", "followers": 1.5},
        {"platform": "x", "handle": "a", "created_on_platform": "not a date"},
        {"platform": "x", "handle": "a", "created_on_platform": "9999-12-31T23:59:59-12:00"},
        {"platform": "x", "handle": "a", "profile_url": "javascript:alert(1)"},
        {"platform": "x", "handle": "a" * 256},
        {"platform": "x", "handle": "a", "language": "a" * 21},
        {"platform": "x", "handle": "a\x00b"},
        # The schema's maxLength and `format: uri` are of what is sent, before any trimming.
        {"platform": "x", "handle": " " + "a" * 255},
        {"platform": "x", "handle": "a", "display_name": "b" * 500 + "  "},
        {"platform": "x", "handle": "a", "profile_url": " https://x.com/a"},
    ],
)
def test_wrong_types_and_ranges_in_a_body_are_400(body, world_a, mod_api):
    body = {"team": world_a.team.pk, **body}
    before = Account.objects.count()
    response = mod_api.post("/api/accounts/", body, format="json")
    assert response.status_code == 400, response.content
    assert error_of(response)["fields"]
    assert Account.objects.count() == before


def test_options_is_not_a_way_to_describe_serializers(world_a, mod_api):
    response = mod_api.options("/api/accounts/")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"


def test_the_accept_header_never_makes_a_406(world_a, mod_api):
    response = mod_api.get("/api/cases/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"


def test_django_errors_outside_drf_are_json_on_api_paths(client, db):
    assert client.get("/api/nope").json()["error"]["code"] == "not_found"
    html = client.get("/nope/")
    assert html.status_code == 404 and html["Content-Type"].startswith("text/html")


def test_an_unexpected_failure_is_a_json_500_without_details(world_a, moderator, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("cases.api.views.CaseApi.list", explode)
    client = token_client(moderator)
    client.raise_request_exception = False
    response = client.get("/api/cases/")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert "secret internals" not in response.content.decode()
