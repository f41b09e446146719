"""Sign-in rate limiting with django-axes: the backend that counts attempts, and the page a
locked-out sign-in gets instead of the form's usual answer (settings: AXES_*, docs/security.md)."""

import math

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_username, get_cool_off
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


class LoginAttemptsBackend(AxesStandaloneBackend):
    """Refuses a sign-in while its username and address are locked out; authenticates no one.

    Axes's own backend raises when there is no request. Every sign-in over HTTP (the login page,
    the admin's) passes one; only code on the server (a shell, a command, a test) does not, and
    there is no guessing to limit there, so it is left to the next backend.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class _LockedOutForm(AuthenticationForm):
    """The sign-in form, empty but for the username, with the lockout as its error."""

    def __init__(self, request: HttpRequest, *, username: str, message: str):
        super().__init__(request, initial={"username": username})
        self.lockout_message = message

    def non_field_errors(self):
        return self.error_class([self.lockout_message], error_class="nonfield")


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """The login page again, with status 429, a Retry-After header and how long to wait.

    Each refused attempt starts the cool-off again (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT),
    so the full cool-off is always the honest answer.
    """
    cool_off = get_cool_off(request)
    seconds = int(cool_off.total_seconds())
    minutes = max(1, math.ceil(seconds / 60))
    plural = "s" if minutes != 1 else ""
    message = (
        f"Too many failed sign-in attempts. Try again in {minutes} minute{plural}, "
        "or ask an administrator to unlock the account."
    )
    form = _LockedOutForm(request, username=get_client_username(request, credentials) or "", message=message)
    response = render(
        request, "frontend/login.html", {"form": form, "next": request.POST.get("next", "")}, status=429
    )
    response["Retry-After"] = str(seconds)
    return response
