"""Small helpers the page tests of every part share."""

from django.test import Client


def signed_in(user) -> Client:
    """A test client logged in as ``user`` (session, as a browser)."""
    client = Client()
    client.force_login(user)
    return client


def html(response) -> str:
    return response.content.decode()
