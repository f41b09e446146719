"""Personal API tokens: ``Authorization: Bearer <token>`` (``Token <token>`` works too)."""

import hmac

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from cases.models import ApiToken
from cases.services.tokens import hash_secret, touch_token

KEYWORDS = {"bearer", "token"}
# A real secret is 46 characters; anything far longer is not worth hashing.
MAX_SECRET_LENGTH = 200


class ApiTokenAuthentication(BaseAuthentication):
    """Authenticates as the token's user: the token adds no permission of its own.

    The row is found by the secret's public prefix, then the SHA-256 of the presented secret
    is compared with ``hmac.compare_digest`` so the comparison takes the same time wherever
    the first differing character is.
    """

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].decode("latin-1").lower() not in KEYWORDS:
            return None  # not ours: session authentication may still apply
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("The Authorization header must be 'Bearer <token>'.")
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        return self.authenticate_secret(secret)

    def authenticate_secret(self, secret: str):
        if not ApiToken.PREFIX_LENGTH <= len(secret) <= MAX_SECRET_LENGTH:
            raise exceptions.AuthenticationFailed("Invalid token.")
        digest = hash_secret(secret)
        token = None
        for candidate in ApiToken.objects.filter(prefix=secret[: ApiToken.PREFIX_LENGTH]).select_related(
            "user"
        ):
            if hmac.compare_digest(candidate.token_hash, digest):
                token = candidate
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid token.")
        now = timezone.now()
        if token.is_revoked:
            raise exceptions.AuthenticationFailed("This token has been revoked.")
        if token.is_expired(now):
            raise exceptions.AuthenticationFailed("This token has expired.")
        touch_token(token=token, now=now)
        return token.user, token

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (with this challenge) rather than 403 to unauthenticated requests.
        return 'Bearer realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "A personal API token from /settings/tokens/ or POST /api/tokens/, sent as "
                "`Authorization: Bearer <token>` (`Token <token>` is accepted too)."
            ),
        }
