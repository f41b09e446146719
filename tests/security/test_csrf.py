"""Cross-site request forgery: every state-changing page refuses a request without a valid CSRF
token and accepts one with it; a foreign Origin or Referer is refused even with a token; the API
holds session-authenticated writes to the same rule and token-authenticated ones to none.

The routes are read from the URL resolver, not listed by hand, so a new POST view is covered the
day it is added (and a new URL parameter makes ``url_kwargs`` fail until it is given a value).
"""

import inspect
import json
import logging
import re

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver

from cases.models import ApiToken, AuditEvent, Job
from cases.services.lead_cases import save_filter
from cases.services.tokens import create_token
from tests.api.conftest import build_world, error_of, session_client
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
ALL_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE", *UNSAFE}
HX_HEADERS = re.compile(r"""hx-headers='(\{[^']*\})'""")


def walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def accepted_methods(callback) -> set[str]:
    """The methods a view answers: a class-based view's handlers, or the list given to
    ``require_http_methods`` / ``require_POST`` / ``require_safe``. A view with neither is taken to
    accept everything, so it is tested as a state-changing one."""
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    actions = getattr(callback, "actions", None)
    if actions:  # a DRF viewset route: the methods its router mapped
        return {method.upper() for method in actions}
    if view_class is not None:
        return {m.upper() for m in view_class.http_method_names if hasattr(view_class, m)}
    function = callback
    while function is not None:
        nonlocals = inspect.getclosurevars(function).nonlocals
        if "request_method_list" in nonlocals:
            return set(nonlocals["request_method_list"])
        function = getattr(function, "__wrapped__", None)
    return ALL_METHODS


def route_text(route: str) -> str:
    """A router's regex (``^cases/(?P<pk>[0-9]+)/close/$``) as a path route (``cases/<pk>/close/``)."""
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", route).replace("^", "").replace("$", "")


ALL_ROUTES = [(route_text(route), pattern) for route, pattern in walk(get_resolver().url_patterns)]
PAGE_WRITES = sorted(
    (pattern.name or route, route)
    for route, pattern in ALL_ROUTES
    if not route.startswith(("api/", "admin/")) and accepted_methods(pattern.callback) & UNSAFE
)
API_WRITES = sorted(
    (method, route)
    for route, pattern in ALL_ROUTES
    if route.startswith("api/")
    for method in accepted_methods(pattern.callback) & UNSAFE
)


def test_the_resolver_yields_the_state_changing_routes_we_know_of():
    """Guards the enumeration itself: if it found nothing, every test below would pass vacuously."""
    names = {name for name, _ in PAGE_WRITES}
    assert len(PAGE_WRITES) >= 30, PAGE_WRITES
    assert {"login", "logout", "settings-tokens", "case-recount", "work-label", "lead-decide"} <= names
    assert {"home", "case-detail", "job-detail", "healthz"}.isdisjoint(names)
    assert ("POST", "api/tokens/") in API_WRITES and ("DELETE", API_CASE_ACCOUNT) in API_WRITES
    assert len(API_WRITES) >= 20, API_WRITES


API_CASE_ACCOUNT = "api/cases/<int:case_id>/accounts/<int:account_id>/"


def test_no_page_or_admin_view_is_exempt_from_csrf():
    """DRF marks its views csrf_exempt and checks CSRF itself for session requests (tested below);
    nothing else may opt out."""
    exempt = [
        route
        for route, pattern in walk(get_resolver().url_patterns)
        if not route.startswith("api/") and getattr(pattern.callback, "csrf_exempt", False)
    ]
    assert exempt == []


# --- the pages --------------------------------------------------------------------------------


@pytest.fixture
def world(team_a, moderator, lead):
    world = build_world(team_a, moderator, lead)
    world.token, _ = create_token(user=lead, name="laptop")
    world.saved_filter = save_filter(team=team_a, user=lead, name="Mine", query="status=open")
    world.reviewer = moderator
    return world


def url_kwargs(route: str, world) -> dict:
    values = {
        "case_id": world.case.pk,
        "job_id": world.job.pk,
        "team_slug": world.team.slug,
        "token_id": world.token.pk,
        "queue_id": world.queue.pk,
        "assignment_id": world.assignment.pk,
        "account_id": world.account.pk,
        "suggestion_id": world.suggestion.pk,
        "evidence_id": world.evidence.pk,
        "file_id": world.evidence.files.first().pk,
        "filter_id": world.saved_filter.pk,
        "user_id": world.reviewer.pk,
    }
    names = re.findall(r"<(?:\w+:)?(\w+)>", route)
    missing = [name for name in names if name not in values]
    assert not missing, f"give url_kwargs a value for {missing} (route {route})"
    return {name: values[name] for name in names}


def page_url(route: str, world) -> str:
    url = "/" + route
    for name, value in url_kwargs(route, world).items():
        url = re.sub(rf"<(?:\w+:)?{name}>", str(value), url)
    return url


def browser_of(user) -> tuple[Client, str]:
    """A signed-in client that checks CSRF as a browser's request is checked, and the token the
    page gives htmx (``hx-headers`` on <body>)."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    page = client.get("/")
    assert page.status_code == 200
    token = json.loads(HX_HEADERS.search(page.content.decode()).group(1))["X-CSRFToken"]
    return client, token


def state(user) -> tuple:
    return (AuditEvent.objects.count(), Job.objects.count(), ApiToken.objects.count(), user.last_login)


@pytest.fixture
def csrf_log(caplog):
    caplog.set_level(logging.WARNING, logger="django.security.csrf")
    return lambda: [r.getMessage() for r in caplog.records if r.name == "django.security.csrf"]


@pytest.mark.parametrize(("name", "route"), PAGE_WRITES, ids=[name for name, _ in PAGE_WRITES])
def test_a_state_changing_page_needs_a_valid_token(name, route, world, csrf_log):
    client, token = browser_of(world.lead)
    url = page_url(route, world)
    before = state(world.lead)
    forged = {
        "no token": {},
        "a wrong token": {"HTTP_X_CSRFTOKEN": "x" * len(token)},
        "another session's token": {"HTTP_X_CSRFTOKEN": browser_of(world.reviewer)[1]},
    }
    for what, headers in forged.items():
        response = client.post(url, {"name": "forged"}, **headers)
        assert response.status_code == 403, (what, response.status_code)
    # The CSRF check refused them (not the view), and nothing was written or signed out.
    assert len(csrf_log()) == len(forged), csrf_log()
    assert state(world.lead) == before
    assert client.get("/").status_code == 200
    # The page's own token gets through to the view (which may then dislike the empty form).
    response = client.post(url, {}, HTTP_X_CSRFTOKEN=token)
    assert len(csrf_log()) == len(forged)
    assert response.status_code not in (403, 405), response.status_code


def test_with_the_token_the_write_happens(world):
    """The accepted request really changes state: as a header (htmx) and as a form field."""
    client, token = browser_of(world.lead)
    response = client.post("/settings/tokens/", {"name": "ci", "lifetime": "30"}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    assert world.lead.api_tokens.filter(name="ci").exists()
    jobs = Job.objects.count()
    response = client.post(f"/cases/{world.case.pk}/recount/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302 and Job.objects.count() == jobs + 1
    response = client.post("/logout/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302 and client.get("/").status_code == 302


# --- Origin and Referer over HTTPS ------------------------------------------------------------


def https_post(client, token, **headers):
    return client.post(
        "/settings/tokens/", {"name": "from-elsewhere"}, secure=True, HTTP_X_CSRFTOKEN=token, **headers
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ORIGIN": "https://evil.example"},
        {"HTTP_ORIGIN": "https://testserver.evil.example"},
        {"HTTP_ORIGIN": "http://testserver"},  # the right host over plain HTTP: a downgrade
        {"HTTP_ORIGIN": "null"},  # a sandboxed frame or a data: URL
        {"HTTP_REFERER": "https://evil.example/attack.html"},
        {},  # HTTPS with neither header: Django insists on a Referer
    ],
    ids=["foreign-origin", "lookalike-origin", "http-origin", "null-origin", "foreign-referer", "none"],
)
def test_a_valid_token_from_a_foreign_origin_is_refused(world, csrf_log, headers):
    client, token = browser_of(world.lead)
    response = https_post(client, token, **headers)
    assert response.status_code == 403
    assert len(csrf_log()) == 1
    assert not world.lead.api_tokens.filter(name="from-elsewhere").exists()


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ORIGIN": "https://testserver"},
        {"HTTP_REFERER": "https://testserver/settings/tokens/"},
        {"HTTP_ORIGIN": "https://annotator.example.org"},  # in CSRF_TRUSTED_ORIGINS
    ],
    ids=["own-origin", "own-referer", "trusted-origin"],
)
def test_the_own_or_a_trusted_origin_is_accepted_over_https(world, csrf_log, headers, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://annotator.example.org"]
    client, token = browser_of(world.lead)
    response = https_post(client, token, **headers)
    assert response.status_code == 200, response.status_code
    assert csrf_log() == []
    assert world.lead.api_tokens.filter(name="from-elsewhere").exists()


def test_a_trusted_origin_does_not_make_the_token_optional(world, csrf_log, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://annotator.example.org"]
    client, _ = browser_of(world.lead)
    response = client.post(
        "/settings/tokens/", {"name": "x"}, secure=True, HTTP_ORIGIN="https://annotator.example.org"
    )
    assert response.status_code == 403 and len(csrf_log()) == 1


# --- the API: session writes need the token, token-authenticated writes do not ----------------


def api_url(route: str) -> str:
    # CSRF is checked while authenticating, before any object is looked up: any id will do.
    return "/" + re.sub(r"<(?:\w+:)?\w+>", "1", route)


@pytest.mark.parametrize(("method", "route"), API_WRITES, ids=[f"{m} {r}" for m, r in API_WRITES])
def test_every_api_write_with_a_session_needs_the_csrf_token(method, route, lead):
    client = session_client(lead)  # DRF's APIClient(enforce_csrf_checks=True), signed in
    response = getattr(client, method.lower())(api_url(route), {}, format="json")
    assert response.status_code == 403
    assert "CSRF" in error_of(response)["message"]


@pytest.mark.parametrize(("method", "route"), API_WRITES, ids=[f"{m} {r}" for m, r in API_WRITES])
def test_every_api_write_with_a_bearer_token_needs_no_csrf_token(method, route, lead):
    """DRF's design: a token is sent by code that chose to, never attached by the browser on its
    own, so it cannot be forged across sites and needs no CSRF token. The client still checks CSRF
    and carries no session: whatever the answer, it is not a CSRF refusal."""
    from rest_framework.test import APIClient

    _, secret = create_token(user=lead, name="script")
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = getattr(client, method.lower())(api_url(route), {}, format="json")
    assert response.status_code != 401
    if response.status_code == 403:
        assert "CSRF" not in error_of(response)["message"]


def test_an_api_session_write_with_the_token_goes_through_and_without_changes_nothing(world):
    client = session_client(world.lead)
    url = f"/api/cases/{world.case.pk}/accounts/{world.account.pk}/"
    assert client.delete(url).status_code == 403
    assert world.case.case_accounts.filter(account=world.account).exists()
    client.get("/")  # a page sets the CSRF cookie
    response = client.delete(url, HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert response.status_code == 204
    assert not world.case.case_accounts.filter(account=world.account).exists()


def test_a_session_with_a_non_token_authorization_header_still_needs_the_csrf_token(lead):
    """Only a valid Bearer/Token header skips CSRF; any other scheme falls back to the session."""
    client = session_client(lead)
    client.credentials(HTTP_AUTHORIZATION="Basic bGVhZC1hOnBhc3N3b3Jk")
    response = client.post("/api/tokens/", {"name": "x"}, format="json")
    assert response.status_code == 403 and "CSRF" in error_of(response)["message"]


def test_a_bearer_token_with_a_session_cookie_is_still_the_token(world):
    """A valid token wins over a session cookie that rides along: the write needs no CSRF token.
    (A forged request cannot set the Authorization header, so it is always the session case.)"""
    account = AccountFactory(team=world.team)
    _, secret = create_token(user=world.lead, name="script")
    client = session_client(world.lead)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = client.post(f"/api/cases/{world.case.pk}/accounts/", {"account": account.pk}, format="json")
    assert response.status_code == 201, response.content
