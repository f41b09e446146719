"""Account avatars: stored like evidence images (decoded, random names) and always with their
perceptual hash, so the similarity engine can find avatars reused across accounts."""

import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from cases.models import Account, EvidenceFile

from .access import require_member
from .audit import record_event
from .evidence import Upload
from .evidence import _check_upload as check_image  # the evidence images' decode-and-hash


@transaction.atomic
def set_account_avatar(*, account: Account, content: bytes, set_by=None, name: str = "") -> Account:
    """Store ``content`` (PNG, JPEG or WebP, decoded to check) as the account's avatar with its
    64-bit perceptual hash. The database refuses an avatar without a hash
    (``account_avatar_has_phash``). Locks the account's row so two uploads cannot interleave."""
    require_member(set_by, account.team)
    checked = check_image(Upload(role=EvidenceFile.Role.LOGO, name=name or "avatar", content=content))
    account = Account.objects.select_for_update().get(pk=account.pk)
    stored = default_storage.save(f"avatars/{uuid.uuid4().hex}{checked.extension}", ContentFile(content))
    try:
        account.avatar = stored
        account.avatar_phash = checked.phash
        account.save(update_fields=["avatar", "avatar_phash", "updated_at"])
        record_event(
            team=account.team,
            user=set_by,
            verb="account.avatar_set",
            target=account,
            data={"sha256": checked.sha256, "size": len(content), "phash": checked.phash},
        )
    except Exception:
        default_storage.delete(stored)
        raise
    return account
