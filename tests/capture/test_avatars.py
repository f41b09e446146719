"""Every stored avatar has its perceptual hash, as every screenshot does."""

import imagehash
import pytest
from django.db import IntegrityError, transaction
from PIL import Image

from cases.errors import InvalidInput, NotAllowed
from cases.models import Account, AuditEvent
from cases.services.avatars import set_account_avatar
from tests.capture.conftest import png_bytes, stored_files
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def test_an_avatar_is_stored_with_its_perceptual_hash(team_a, moderator):
    account = AccountFactory(team=team_a)
    data = png_bytes((20, 40, 200))
    set_account_avatar(account=account, content=data, set_by=moderator, name="face.png")
    account.refresh_from_db()
    assert account.avatar.read() == data and not account.avatar.name.endswith("face.png")
    with Image.open(account.avatar.path) as image:
        assert account.avatar_phash == str(imagehash.phash(image.convert("RGB")))
    assert AuditEvent.objects.filter(verb="account.avatar_set", target_id=str(account.pk)).count() == 1


def test_the_same_picture_gets_the_same_hash_on_two_accounts(team_a, moderator):
    first, second = AccountFactory(team=team_a), AccountFactory(team=team_a)
    set_account_avatar(account=first, content=png_bytes(), set_by=moderator)
    set_account_avatar(account=second, content=png_bytes(), set_by=moderator)
    hashes = set(Account.objects.filter(pk__in=[first.pk, second.pk]).values_list("avatar_phash", flat=True))
    assert len(hashes) == 1 and "" not in hashes


def test_not_an_image_or_not_a_member_stores_nothing(team_a, moderator, outsider):
    account = AccountFactory(team=team_a)
    before = stored_files()
    with pytest.raises(InvalidInput):
        set_account_avatar(account=account, content=b"<svg onload=alert(1)>", set_by=moderator)
    with pytest.raises(NotAllowed):
        set_account_avatar(account=account, content=png_bytes(), set_by=outsider)
    account.refresh_from_db()
    assert account.avatar.name == "" and stored_files() == before


def test_the_database_refuses_an_avatar_without_its_hash(team_a):
    account = AccountFactory(team=team_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=account.pk).update(avatar="avatars/x.png", avatar_phash="")
