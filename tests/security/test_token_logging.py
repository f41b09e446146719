"""API tokens never reach the logs: every logger at DEBUG (SQL included) and a real HTTP server's
request log, through creating tokens, using them, and presenting wrong, revoked and expired ones.

Hashed at rest, revocation and expiry are proven in tests/api/test_tokens.py; this file is about
what the process writes out while it handles a token."""

import datetime
import json
import logging
import threading
import urllib.error
import urllib.request

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
from django.db import connections
from django.test import Client
from django.utils import timezone
from django.views.debug import SafeExceptionReporterFilter

from cases.services.tokens import create_token, revoke_token
from tests.api.conftest import error_of

SECRET_FIELD = 'data-testid="new-token-secret"'


@pytest.fixture
def every_log(caplog):
    """Every record of every logger, at DEBUG, SQL with its parameters included.

    caplog listens on the root logger; loggers that do not propagate (django.server does not)
    get its handler too. Returns a function giving all the captured text."""
    caplog.set_level(logging.DEBUG)
    detached = []
    for name in [
        "django",
        "django.request",
        "django.server",
        "django.db.backends",
        *logging.root.manager.loggerDict,
    ]:
        logger = logging.getLogger(name)
        caplog.set_level(logging.DEBUG, logger=name)
        if not logger.propagate and caplog.handler not in logger.handlers:
            logger.addHandler(caplog.handler)
            detached.append(logger)
    debug_cursors = {alias: connections[alias].force_debug_cursor for alias in connections}
    for alias in connections:
        connections[alias].force_debug_cursor = True  # SQL and its parameters to django.db.backends

    def text() -> str:
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        parts = []
        for record in caplog.records:
            parts.append(formatter.format(record))  # the message, with any traceback and stack
            parts.extend(repr(value) for value in vars(record).values())  # args, extra=...
        return "\n".join(parts)

    yield text
    for logger in detached:
        logger.removeHandler(caplog.handler)
    for alias, value in debug_cursors.items():
        connections[alias].force_debug_cursor = value


def secret_on_page(response) -> str:
    page = response.content.decode()
    start = page.index('value="', page.index("new-token-secret")) + len('value="')
    return page[start : page.index('"', start)]


@pytest.mark.django_db
def test_creating_using_and_failing_tokens_logs_no_secret(moderator, team_a, every_log):
    seen: list[str] = []

    # Created on the settings page: the secret is in that response only.
    browser = Client()
    browser.force_login(moderator)
    response = browser.post("/settings/tokens/", {"name": "laptop", "lifetime": ""})
    page_secret = secret_on_page(response)
    seen.append(page_secret)

    def api(secret: str, method: str = "get", path: str = "/api/teams/", **kwargs):
        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        return getattr(client, method)(path, format="json", **kwargs)

    # Created over the API with that token: the new secret is in the JSON answer only.
    response = api(page_secret, "post", "/api/tokens/", data={"name": "script"})
    assert response.status_code == 201
    api_secret = response.json()["token"]
    seen.append(api_secret)

    # Used: a read, a write refused by validation (400), one refused by role (403), a 404.
    assert api(api_secret).status_code == 200
    assert api(api_secret, "post", "/api/cases/", data={}).status_code == 400
    assert api(api_secret, "post", "/api/queues/", data={"case": 1, "name": "q"}).status_code in (400, 403)
    assert api(api_secret, path="/api/cases/999999/").status_code == 404

    # Failed: a mistyped secret, a revoked one, an expired one.
    tampered = api_secret[:-1] + ("A" if api_secret[-1] != "A" else "B")
    seen.append(tampered)
    assert api(tampered).status_code == 401
    revoked, revoked_secret = create_token(user=moderator, name="old")
    seen.append(revoked_secret)
    revoke_token(token=revoked, user=moderator)
    assert "revoked" in error_of(api(revoked_secret))["message"]
    soon = timezone.now() + datetime.timedelta(seconds=1)
    _, expired_secret = create_token(user=moderator, name="brief", expires_at=soon)
    seen.append(expired_secret)
    import time_machine

    with time_machine.travel(soon + datetime.timedelta(seconds=1)):
        assert "expired" in error_of(api(expired_secret))["message"]

    logged = every_log()
    # The capture is live: it holds the SQL that looked the tokens up by their public prefix, and
    # django.request's warnings for the refused requests...
    assert f"'{api_secret[:8]}'" in logged
    assert "Unauthorized: /api/teams/" in logged and "Not Found: /api/cases/999999/" in logged
    # ...and no secret, nor the Authorization header that carried it.
    for secret in seen:
        assert secret not in logged
    assert "Bearer oa_" not in logged


class RequestLoggingServer:
    """The app behind Django's own development server, whose request log (django.server) is
    what runserver prints and what an access log holds: method, path, status."""

    def __init__(self):
        self.server = WSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
        self.server.set_app(WSGIHandler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            self.server.serve_forever(poll_interval=0.05)
        finally:
            connections.close_all()  # this thread's connections, or the test database stays busy

    def stop(self):
        """Returns once the last request is handled and logged (the log line follows the reply)."""
        if self.thread.is_alive():
            self.server.shutdown()
            self.thread.join(timeout=10)
            self.server.server_close()


@pytest.fixture
def http_server(transactional_db):
    server = RequestLoggingServer()
    yield server
    server.stop()


def http(url: str, secret: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310 (a local test server)
        url,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Authorization": f"Bearer {secret}",
            "Content-Type": "application/json",
            "Host": "localhost",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_server_request_log_holds_no_secret(http_server, moderator, every_log):
    _, secret = create_token(user=moderator, name="script")
    status, body = http(http_server.url + "/api/tokens/", secret, {"name": "minted"})
    assert status == 201
    minted = body["token"]
    assert http(http_server.url + "/api/teams/", minted)[0] == 200
    tampered = minted[:-1] + ("A" if minted[-1] != "A" else "B")
    assert http(http_server.url + "/api/teams/", tampered)[0] == 401
    http_server.stop()

    logged = every_log()
    assert '"POST /api/tokens/ HTTP/1.1" 201' in logged  # the request log was captured
    assert '"GET /api/teams/ HTTP/1.1" 401' in logged
    for value in (secret, minted, tampered):
        assert value not in logged


def test_an_error_report_masks_the_authorization_header(rf):
    """What an error e-mail or tracker would print of a failed request's headers."""
    request = rf.get("/api/teams/", HTTP_AUTHORIZATION="Bearer oa_secret-value-for-the-report")
    meta = SafeExceptionReporterFilter().get_safe_request_meta(request)
    assert "oa_secret-value-for-the-report" not in meta["HTTP_AUTHORIZATION"]
