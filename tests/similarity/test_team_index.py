"""The warm index follows imports incrementally (so an imported account is queryable at once) and
rebuilds only for what it cannot follow: brand domains and brand links."""

import datetime as dt
import json

import pytest

from cases.models import Account, BrandDomain, MediaBrand
from cases.services.imports import import_bundle
from cases.services.similarity import team_index

from .conftest import organic, plant_network

pytestmark = pytest.mark.django_db


def _import(team, tmp_path, lines, user=None):
    path = tmp_path / f"bundle-{len(list(tmp_path.iterdir()))}.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return import_bundle(team=team, source=path, user=user)


def test_an_import_is_followed_without_a_rebuild(team_a, tmp_path):
    network = plant_network(team_a, 4, prefix="net")
    organic(team_a, 6)
    warm, _ = team_index(team=team_a)
    copied = list(network[0].posts.values_list("text", flat=True))

    _import(
        team_a,
        tmp_path,
        [
            {"type": "account", "platform": "x", "handle": "newcomer_copycat"},
            *(
                {
                    "type": "post",
                    "platform": "x",
                    "account": "newcomer_copycat",
                    "external_id": f"n{i}",
                    "text": t,
                }
                for i, t in enumerate(copied)
            ),
        ],
    )
    index, _ = team_index(team=team_a)

    assert index is warm, "an import must not throw the warm index away"
    newcomer = Account.objects.get(team=team_a, handle_normalized="newcomer_copycat")
    assert newcomer.pk in index and len(index) == Account.objects.filter(team=team_a).count()
    # It copied a network account's posts word for word: the network is what it matches.
    matched = {m.other(newcomer.pk) for m in index.top_k(newcomer.pk, k=20)}
    assert {a.pk for a in network} <= matched


def test_a_changed_post_stamps_its_account(team_a, tmp_path):
    _import(
        team_a,
        tmp_path,
        [
            {"type": "account", "platform": "x", "handle": "poster"},
            {"type": "post", "platform": "x", "account": "poster", "external_id": "1", "text": "first words"},
        ],
    )
    before = Account.objects.get(handle_normalized="poster").updated_at
    result = _import(
        team_a,
        tmp_path,
        [{"type": "post", "platform": "x", "account": "poster", "external_id": "1", "text": "edited words"}],
    )
    assert result["posts"]["updated"] == 1, result
    assert Account.objects.get(handle_normalized="poster").updated_at > before


def test_a_new_brand_domain_rebuilds(team_a):
    organic(team_a, 4)
    brand = MediaBrand.objects.create(team=team_a, name="Daily Fake")
    # An old brand: a brand created within the index's clock slack is itself a reason to rebuild.
    MediaBrand.objects.filter(pk=brand.pk).update(created_at=brand.created_at - dt.timedelta(hours=1))
    warm, _ = team_index(team=team_a)
    assert team_index(team=team_a)[0] is warm

    BrandDomain.objects.create(brand=brand, domain="dailyfake.top")

    assert team_index(team=team_a)[0] is not warm
