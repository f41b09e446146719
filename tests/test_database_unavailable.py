"""While the database is unreachable, pages and the API answer a quick, plain 503 with Retry-After,
never a 500 (annotator/middleware.py); a database that does not answer fails a connection within
DATABASE_CONNECT_TIMEOUT. The real outage, with a real server and worker, is
tests/faults/test_database_restart.py.

The database is made unreachable at its edge: every query the request runs raises what a refused
or dropped connection raises.
"""

import importlib
import socket
import time
from unittest import mock

import pytest
from django.core.handlers.exception import convert_exception_to_response
from django.db import InterfaceError, OperationalError, ProgrammingError
from django.db.backends.utils import CursorWrapper
from django.db.utils import ConnectionHandler
from django.test import Client, RequestFactory

from annotator.middleware import (
    ERROR_CODE,
    MESSAGE,
    RETRY_AFTER_SECONDS,
    DatabaseUnavailableMiddleware,
)
from cases.api.exceptions import error_body

SECRET_DETAIL = 'connection to server at "10.9.8.7", port 5432 failed: Connection refused'


def unreachable(exc_type=OperationalError):
    """Every query raises ``exc_type`` (a connection refused, or one closed under the app)."""
    return mock.patch.object(CursorWrapper, "execute", side_effect=exc_type(SECRET_DETAIL))


def assert_plain_503(response):
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response["Cache-Control"] == "no-store"
    body = response.content.decode()
    for leak in ("10.9.8.7", "Traceback", "OperationalError", "InterfaceError", "psycopg"):
        assert leak not in body
    return body


@pytest.mark.django_db
@pytest.mark.parametrize("exc_type", [OperationalError, InterfaceError])
def test_an_api_request_gets_a_503_in_the_error_shape(mod_client, exc_type):
    with unreachable(exc_type):
        response = mod_client.get("/api/cases/")
    assert_plain_503(response)
    assert response["Content-Type"] == "application/json"
    assert response.json() == error_body(ERROR_CODE, MESSAGE)


@pytest.mark.django_db
def test_a_token_request_gets_the_503_too(moderator):
    """Token authentication is the request's first query."""
    from cases.services.tokens import create_token

    _token, secret = create_token(user=moderator, name="ci")
    with unreachable():
        response = Client().get("/api/jobs/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert_plain_503(response)
    assert response.json()["error"]["code"] == ERROR_CODE


@pytest.mark.django_db
@pytest.mark.parametrize("exc_type", [OperationalError, InterfaceError])
def test_a_page_gets_a_plain_html_503(mod_client, exc_type):
    with unreachable(exc_type):
        response = mod_client.get("/")
    body = assert_plain_503(response)
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert MESSAGE in body
    # Still a response of this app: the security headers of every other page are on it.
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_a_sign_in_gets_the_503(moderator):
    moderator.set_password("correct horse battery staple")
    moderator.save()
    with unreachable():
        response = Client().post(
            "/login/", {"username": moderator.username, "password": "correct horse battery staple"}
        )
    assert MESSAGE in assert_plain_503(response)


@pytest.mark.django_db
def test_healthz_reports_the_database_down():
    with unreachable():
        response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.content == b"database unavailable"


@pytest.mark.django_db
def test_other_database_errors_stay_500s(mod_client):
    """A bug (a bad query) is not an outage: it must not be disguised as one."""
    client = Client(raise_request_exception=False)
    client.cookies = mod_client.cookies
    with unreachable(ProgrammingError):
        response = client.get("/api/cases/")
    assert response.status_code == 500
    assert "Retry-After" not in response


@pytest.mark.parametrize("path", ["/api/cases/", "/cases/1/"])
def test_an_error_raised_in_another_middleware_becomes_the_503(path, settings):
    """A database error outside the view (a session saved after it) never reaches
    process_exception; Django answers it with a 500, which this middleware replaces."""
    settings.DEBUG = False

    def inner_middleware(request):
        raise OperationalError(SECRET_DETAIL)

    middleware = DatabaseUnavailableMiddleware(convert_exception_to_response(inner_middleware))
    response = middleware(RequestFactory().get(path))
    assert_plain_503(response)
    assert MESSAGE in response.content.decode()


def test_an_unrelated_500_is_left_alone(settings):
    settings.DEBUG = False

    def inner_middleware(request):
        raise RuntimeError("a bug")

    middleware = DatabaseUnavailableMiddleware(convert_exception_to_response(inner_middleware))
    assert middleware(RequestFactory().get("/")).status_code == 500


def _settings_module(monkeypatch, **env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    import annotator.settings

    return importlib.reload(annotator.settings)


def test_the_connect_timeout_comes_from_the_environment(monkeypatch):
    try:
        monkeypatch.delenv("DATABASE_CONNECT_TIMEOUT", raising=False)
        options = _settings_module(monkeypatch, DATABASE_URL="postgres://u@db:5432/a").DATABASES["default"]
        assert options["OPTIONS"]["connect_timeout"] == 3
        assert options["CONN_HEALTH_CHECKS"] is True  # a connection from before an outage is re-tested
        reloaded = _settings_module(
            monkeypatch, DATABASE_URL="postgres://u@db:5432/a", DATABASE_CONNECT_TIMEOUT="7"
        )
        assert reloaded.DATABASES["default"]["OPTIONS"]["connect_timeout"] == 7
        sqlite = _settings_module(monkeypatch, DATABASE_URL="sqlite:///tmp/x.sqlite3")
        assert "connect_timeout" not in sqlite.DATABASES["default"]["OPTIONS"]
    finally:
        monkeypatch.undo()
        import annotator.settings

        importlib.reload(annotator.settings)


def test_a_database_that_does_not_answer_fails_within_the_connect_timeout(django_db_blocker):
    """A server that accepts the TCP connection and then says nothing (hung, or a half-dead
    network path): without connect_timeout psycopg would wait 130 s per attempt."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # never accepted: the kernel completes the handshake, nobody answers
    try:
        handler = ConnectionHandler(
            {
                "default": {
                    "ENGINE": "django.db.backends.postgresql",
                    "NAME": "annotator",
                    "USER": "annotator",
                    "HOST": "127.0.0.1",
                    "PORT": str(silent.getsockname()[1]),
                    "OPTIONS": {"connect_timeout": 2},  # libpq's and psycopg's minimum
                }
            }
        )
        started = time.monotonic()
        with django_db_blocker.unblock(), pytest.raises(OperationalError):
            handler["default"].ensure_connection()
        elapsed = time.monotonic() - started
        assert 1.5 < elapsed < 5, elapsed
    finally:
        handler.close_all()
        silent.close()
