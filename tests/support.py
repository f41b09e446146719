"""Small helpers the tests of every part share."""

import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext


def signed_in(user) -> Client:
    """A test client logged in as ``user`` (session, as a browser)."""
    client = Client()
    client.force_login(user)
    return client


def html(response) -> str:
    return response.content.decode()


def count_queries(work) -> int:
    """How many SQL queries ``work()`` runs."""
    with CaptureQueriesContext(connection) as captured:
        work()
    return len(captured)


def page_queries(client, url, **kwargs) -> int:
    """How many SQL queries one GET of ``url`` runs; the page must answer 200."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **kwargs)
    assert response.status_code == 200, response.status_code
    return len(captured)


def database_url() -> str:
    """The URL of the database this test runs on (pytest-django's test_<name>), for a process the
    test starts (a worker, a server, a fresh interpreter): it sees only what the test committed."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    user = s.get("USER") or ""
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = s.get("HOST") or "127.0.0.1"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{s['NAME']}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, predicate: Callable[[], Any], *, timeout: float, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
