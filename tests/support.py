"""Small helpers the page tests of every part share."""

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
