"""Personal API tokens: create, revoke, and the once-a-minute "last used" bookkeeping.

The secret exists in plaintext only in the return value of ``create_token``; the database,
the audit trail and the logs get its SHA-256 or nothing.
"""

import datetime
import hashlib
import secrets

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cases.errors import Conflict, InvalidInput, NotAllowed
from cases.models import ApiToken

from .audit import record_event

# A recognisable marker lets secret scanners (and people) tell an annotator token when they
# see one pasted somewhere it should not be.
TOKEN_MARKER = "oa_"  # noqa: S105 (a public marker, not a secret)
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)
MAX_ACTIVE_TOKENS_PER_USER = 50


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _new_secret() -> str:
    return TOKEN_MARKER + secrets.token_urlsafe(32)


@transaction.atomic
def create_token(
    *,
    user,
    name: str,
    expires_at: datetime.datetime | None = None,
    created_with: ApiToken | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the row and the secret, which is never stored.

    The token carries no permissions of its own: it authenticates as ``user``, so it can do
    exactly what the user's team roles allow, and loses access when they do. A token made by a
    client that authenticated with a token (``created_with``) cannot outlive that token, so a
    leaked short-lived token cannot mint itself a permanent successor.
    """
    name = name.strip()
    if not name:
        raise InvalidInput("Give the token a name.", fields={"name": ["This field is required."]})
    if len(name) > 100:
        raise InvalidInput("The name is too long.", fields={"name": ["At most 100 characters."]})
    now = timezone.now()
    if expires_at is not None and expires_at <= now:
        raise InvalidInput(
            "The expiry date must be in the future.", fields={"expires_at": ["Must be in the future."]}
        )
    if (
        created_with is not None
        and created_with.expires_at is not None
        and (expires_at is None or expires_at > created_with.expires_at)
    ):
        raise InvalidInput(
            "A token created with a token cannot outlive it.",
            fields={"expires_at": [f"At the latest {created_with.expires_at.isoformat()}."]},
        )
    if ApiToken.objects.filter(user=user).usable(now).count() >= MAX_ACTIVE_TOKENS_PER_USER:
        raise Conflict(f"You already have {MAX_ACTIVE_TOKENS_PER_USER} active tokens; revoke one first.")
    secret = _new_secret()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=secret[: ApiToken.PREFIX_LENGTH],
        token_hash=hash_secret(secret),
        expires_at=expires_at,
    )
    # Neither the secret nor its hash nor its prefix goes into the trail.
    record_event(
        team=None,
        user=user,
        verb="api_token.created",
        target=token,
        data={"name": name, "expires_at": expires_at, "created_with": getattr(created_with, "pk", None)},
    )
    return token, secret


@transaction.atomic
def revoke_token(*, token: ApiToken, user) -> ApiToken:
    """Revoke one of the user's own tokens. It stops authenticating at once; the row stays."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.user_id != user.pk:
        raise NotAllowed("You may revoke only your own tokens.")
    if token.revoked_at is not None:
        raise Conflict("This token is already revoked.")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    record_event(team=None, user=user, verb="api_token.revoked", target=token, data={"name": token.name})
    return token


def touch_token(*, token: ApiToken, now: datetime.datetime | None = None) -> None:
    """Record that the token was used, at most once per minute per token.

    Bookkeeping, not audited. The conditional UPDATE means concurrent requests write at most
    once between them, and a busy token does not turn every read into a write.
    """
    now = now or timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
    ).update(last_used_at=now)
    token.last_used_at = now
