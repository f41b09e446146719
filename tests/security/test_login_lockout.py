"""Sign-in rate limiting (django-axes): failures are counted per username and client address
together; the pair is locked for the cool-off; API tokens are never counted or locked."""

import datetime

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from cases.services.tokens import create_token
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # tests/factories.py
LOGIN = "/login/"
ATTACKER_IP = "203.0.113.7"  # documentation addresses (RFC 5737): nothing is sent anywhere
OTHER_IP = "198.51.100.20"


@pytest.fixture
def amira(db):
    return UserFactory(username="amira")


def sign_in(username: str, password: str, ip: str = ATTACKER_IP, client: Client | None = None):
    return (client or Client()).post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def fail_until_locked(username: str, ip: str = ATTACKER_IP) -> None:
    for attempt in range(1, settings.AXES_FAILURE_LIMIT + 1):
        response = sign_in(username, f"wrong-{attempt}", ip)
        if attempt < settings.AXES_FAILURE_LIMIT:
            assert response.status_code == 200, attempt
            assert "correct username and password" in response.content.decode()
        else:
            assert response.status_code == 429, attempt


def is_signed_in(response) -> bool:
    return response.status_code == 302 and response.wsgi_request.user.is_authenticated


def test_the_defaults_are_five_failures_and_fifteen_minutes():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_failures_below_the_limit_do_not_lock(amira):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in("amira", "wrong").status_code == 200
    assert is_signed_in(sign_in("amira", PASSWORD))


def test_the_limit_locks_the_pair_and_then_refuses_the_right_password(amira):
    fail_until_locked("amira")
    response = sign_in("amira", PASSWORD)
    assert response.status_code == 429
    assert not response.wsgi_request.user.is_authenticated
    assert Client().get("/").status_code == 302  # and no session came of it
    page = response.content.decode()
    assert "Too many failed sign-in attempts. Try again in 15 minutes" in page
    assert 'role="alert"' in page and 'value="amira"' in page  # the login page, username kept
    assert response["Retry-After"] == str(15 * 60)
    attempt = AccessAttempt.objects.get(username="amira", ip_address=ATTACKER_IP)
    assert PASSWORD not in attempt.post_data and "wrong-" not in attempt.post_data


def test_the_lockout_page_says_how_long_in_the_configured_minutes(amira, settings):
    settings.AXES_COOLOFF_TIME = datetime.timedelta(minutes=1)
    fail_until_locked("amira")
    response = sign_in("amira", PASSWORD)
    assert "Try again in 1 minute," in response.content.decode()
    assert response["Retry-After"] == "60"


def test_the_same_user_from_another_address_is_not_locked(amira):
    fail_until_locked("amira", ATTACKER_IP)
    assert is_signed_in(sign_in("amira", PASSWORD, OTHER_IP))


def test_another_user_from_the_same_address_is_not_locked(amira):
    """One address guessing at one account cannot lock the others out."""
    UserFactory(username="jonas")
    fail_until_locked("amira", ATTACKER_IP)
    assert is_signed_in(sign_in("jonas", PASSWORD, ATTACKER_IP))
    assert sign_in("amira", PASSWORD, ATTACKER_IP).status_code == 429


def test_the_lockout_ends_after_the_cool_off(amira):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        fail_until_locked("amira")
        traveller.shift(settings.AXES_COOLOFF_TIME - datetime.timedelta(seconds=1))
        assert sign_in("amira", PASSWORD).status_code == 429
        # That refused attempt started the cool-off again: a full one must pass from it.
        traveller.shift(settings.AXES_COOLOFF_TIME - datetime.timedelta(seconds=1))
        assert sign_in("amira", PASSWORD).status_code == 429
        traveller.shift(settings.AXES_COOLOFF_TIME + datetime.timedelta(seconds=1))
        assert is_signed_in(sign_in("amira", PASSWORD))


def test_a_successful_sign_in_resets_the_count(amira):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in("amira", "wrong")
    assert is_signed_in(sign_in("amira", PASSWORD))
    assert not AccessAttempt.objects.filter(username="amira").exists()
    # A full allowance again: limit - 1 more failures still leave the right password working.
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in("amira", "wrong").status_code == 200
    assert is_signed_in(sign_in("amira", PASSWORD))


def test_the_admin_sign_in_is_limited_too(amira):
    amira.is_staff = True
    amira.save(update_fields=["is_staff"])
    for _ in range(settings.AXES_FAILURE_LIMIT):
        Client().post("/admin/login/", {"username": "amira", "password": "wrong"}, REMOTE_ADDR=ATTACKER_IP)
    response = Client().post(
        "/admin/login/", {"username": "amira", "password": PASSWORD}, REMOTE_ADDR=ATTACKER_IP
    )
    assert response.status_code == 429


def test_api_tokens_are_not_counted_or_locked(amira):
    """A locked-out user's token still works, and bad tokens never lock anyone out."""
    _, secret = create_token(user=amira, name="script")
    fail_until_locked("amira")
    client = APIClient(REMOTE_ADDR=ATTACKER_IP)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/teams/").status_code == 200
    bad = APIClient(REMOTE_ADDR=OTHER_IP)
    bad.credentials(HTTP_AUTHORIZATION="Bearer oa_" + "x" * 43)
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        assert bad.get("/api/teams/").status_code == 401
    assert not AccessAttempt.objects.filter(ip_address=OTHER_IP).exists()
    assert is_signed_in(sign_in("amira", PASSWORD, OTHER_IP))


def test_force_login_and_server_side_authenticate_are_unaffected(amira):
    """Tests sign in with force_login, and commands call authenticate() without a request."""
    from django.contrib.auth import authenticate

    fail_until_locked("amira", "127.0.0.1")  # the test client's own address
    client = Client()
    client.force_login(amira)
    assert client.get("/").status_code == 200
    assert authenticate(username="amira", password=PASSWORD) == amira
