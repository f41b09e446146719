"""The token settings page (/settings/tokens/): create a token (its secret shown once), revoke it."""

import datetime
import re

import pytest
from django.utils import timezone

from cases.models import ApiToken
from cases.services.tokens import create_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser_client(client, moderator):
    client.force_login(moderator)
    return client


def test_the_page_needs_a_login(client, db):
    response = client.get("/settings/tokens/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_creating_a_token_shows_its_secret_once(browser_client, moderator):
    response = browser_client.post("/settings/tokens/", {"name": "laptop script", "lifetime": "30"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    secret = re.search(r'value="(oa_[^"]+)"', html).group(1)
    token = ApiToken.objects.get(user=moderator)
    assert token.name == "laptop script" and token.prefix == secret[:8]
    assert abs(token.expires_at - (timezone.now() + datetime.timedelta(days=30))) < datetime.timedelta(
        minutes=1
    )
    # Usable at once, and never shown again.
    assert browser_client.get("/api/teams/", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    again = browser_client.get("/settings/tokens/").content.decode()
    assert secret not in again and token.prefix in again and "laptop script" in again


def test_a_token_that_never_expires(browser_client, moderator):
    browser_client.post("/settings/tokens/", {"name": "forever", "lifetime": ""})
    assert ApiToken.objects.get(user=moderator).expires_at is None


def test_invalid_input_rerenders_the_form_with_errors(browser_client, moderator):
    response = browser_client.post("/settings/tokens/", {"name": "  ", "lifetime": "30"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="field-error">This field is required.' in html
    bad_lifetime = browser_client.post("/settings/tokens/", {"name": "x", "lifetime": "9999"})
    assert "Choose one of the offered lifetimes" in bad_lifetime.content.decode()
    assert not ApiToken.objects.exists()


def test_revoking_from_the_page(browser_client, moderator):
    token, secret = create_token(user=moderator, name="old")
    response = browser_client.post(f"/settings/tokens/{token.pk}/revoke/", follow=True)
    assert response.status_code == 200 and "is revoked" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert browser_client.get("/api/teams/", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401


def test_another_users_token_cannot_be_revoked_from_the_page(client, moderator, outsider):
    token, _ = create_token(user=moderator, name="mine")
    client.force_login(outsider)
    assert client.post(f"/settings/tokens/{token.pk}/revoke/").status_code == 404
    assert "mine" not in client.get("/settings/tokens/").content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoking_needs_a_post(browser_client, moderator):
    token, _ = create_token(user=moderator, name="old")
    assert browser_client.get(f"/settings/tokens/{token.pk}/revoke/").status_code == 405


def test_the_page_escapes_token_names(browser_client, moderator):
    create_token(user=moderator, name='<script>alert("x")</script>')
    html = browser_client.get("/settings/tokens/").content.decode()
    assert "<script>alert" not in html and "&lt;script&gt;" in html
