import csv
import hashlib
import io
import json
from collections import Counter

import pytest
from django.apps import apps
from django.contrib.auth import authenticate, get_user_model
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import transaction
from PIL import Image

from cases.demo import (
    DEMO_LOGINS,
    DOPPELGANGER_JSON,
    SPAMOUFLAGE_CSV,
    seed_demo,
)
from cases.handles import normalize_handle, refang
from cases.models import (
    Account,
    AccountKind,
    AuditEvent,
    BrandRole,
    Case,
    CaseStatus,
    Evidence,
    EvidenceFile,
    EvidenceKind,
    MediaBrand,
    Membership,
    Platform,
    Post,
    Queue,
    Role,
    Team,
)
from cases.similarity.text import copy_similarity
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_team() -> Team:
    result = seed_demo()
    assert result["created"] is True
    return Team.objects.get(slug="demo")


def _row_counts() -> dict[str, int]:
    """Rows in every table of the cases app (M2M tables included), plus users."""
    counts = {
        model._meta.label: model.objects.count()
        for model in apps.get_app_config("cases").get_models(include_auto_created=True)
    }
    counts["auth.User"] = get_user_model().objects.count()
    return counts


def _fingerprint(team: Team) -> list[tuple]:
    """The demo's content without database ids, to compare two runs."""
    accounts = [
        (a.platform, a.handle, a.display_name, a.bio, a.followers, a.created_on_platform, a.language)
        for a in Account.objects.filter(team=team).order_by("platform", "handle_normalized")
    ]
    posts = [
        (
            p.account.handle,
            p.text,
            p.posted_at,
            p.copied_from.account.handle if p.copied_from else None,
            p.copy_similarity,
        )
        for p in Post.objects.filter(account__team=team)
        .select_related("account", "copied_from__account")
        .order_by("posted_at", "account__handle_normalized")
    ]
    evidence = [
        (e.kind, e.title, e.captured_text, e.captured_at)
        for e in Evidence.objects.filter(case__team=team).order_by("captured_at", "title")
    ]
    return [*accounts, *posts, *evidence]


def test_seed_demo_creates_the_logins_with_their_roles(demo_team):
    assert demo_team.name == "Demo Trust & Safety"
    roles = dict(Membership.objects.filter(team=demo_team).values_list("user__username", "role"))
    assert roles == {
        "admin": Role.ADMIN,
        "lead": Role.LEAD,
        "moderator1": Role.MODERATOR,
        "moderator2": Role.MODERATOR,
    }
    for login in DEMO_LOGINS:
        assert authenticate(username=login.username, password=login.password) is not None
    flags = {u.username: (u.is_staff, u.is_superuser) for u in get_user_model().objects.all()}
    assert flags == {
        "admin": (True, True),
        "lead": (False, False),
        "moderator1": (False, False),
        "moderator2": (False, False),
    }
    actors = {a.name: a for a in demo_team.actors.all()}
    assert actors["Spamouflage"].aliases == ["Dragonbridge", "Storm-1376"]
    assert actors["Spamouflage"].country == "China"
    assert actors["Doppelganger"].country == "Russia" and actors["Doppelganger"].kind == "commercial"


def test_suspect_accounts_are_the_published_indicators_on_several_platforms(demo_team):
    with SPAMOUFLAGE_CSV.open(encoding="utf-8-sig", newline="") as handle:
        published = {refang(row["Indicator"]).rstrip("/") for row in csv.DictReader(handle)}
    published |= {
        refang(entry["indicator_value"]).rstrip("/")
        for entry in json.loads(DOPPELGANGER_JSON.read_text(encoding="utf-8"))
    }
    suspects = Account.objects.filter(team=demo_team, kind=AccountKind.SUSPECT)
    assert suspects.count() >= 30
    platforms = Counter(suspects.values_list("platform", flat=True))
    assert {Platform.X, Platform.TIKTOK, Platform.REDDIT, Platform.TELEGRAM, Platform.OTHER} <= set(platforms)
    for account in suspects:
        # One channel is published by a post's URL (t.me/news_munchen/42); the profile is its root.
        assert any(url.startswith(account.profile_url.rstrip("/")) for url in published), account.profile_url
        assert account.handle_normalized == normalize_handle(account.profile_url)
        assert account.display_name and account.followers is not None and account.created_on_platform
    # Accounts made in one registration burst, as the network's were.
    x_created = sorted(suspects.filter(platform=Platform.X).values_list("created_on_platform", flat=True))
    assert min(b - a for a, b in zip(x_created, x_created[5:], strict=False)).days <= 2  # six within two days
    references = Account.objects.filter(team=demo_team, kind=AccountKind.REFERENCE)
    assert {"nytimes", "foxnews", "senschumer"} <= set(references.values_list("handle_normalized", flat=True))


def test_copied_posts_name_their_source_and_its_similarity(demo_team):
    copies = Post.objects.filter(account__team=demo_team, copied_from__isnull=False).select_related(
        "account", "copied_from__account"
    )
    assert copies.count() >= 30
    for post in copies:
        assert post.copy_similarity == copy_similarity(post.text, post.copied_from.text)
    similarities = [p.copy_similarity for p in copies]
    assert 1.0 in similarities and any(s < 1.0 for s in similarities)  # verbatim copies and edited ones
    copied_references = {
        p.copied_from.account.handle for p in copies if p.copied_from.account.kind == "reference"
    }
    assert {"nytimes", "FoxNews", "SenSchumer", "SpeakerMcCarthy"} <= copied_references
    originals = Post.objects.filter(
        account__team=demo_team, account__kind="suspect", copied_from__isnull=True
    )
    assert originals.filter(text__contains="#").exists()
    # A coordinated burst: several accounts posting within the same minute.
    minutes = Counter(
        (p.posted_at.replace(second=0), p.copied_from_id)
        for p in copies
        if p.account.kind == AccountKind.SUSPECT
    )
    assert max(minutes.values()) >= 5


def test_a_fake_brand_has_typosquatted_domains_and_amplifying_accounts(demo_team):
    bild = MediaBrand.objects.get(team=demo_team, name="Bild (clone)")
    assert bild.impersonates == "Bild"
    domains = set(bild.domains.values_list("domain", flat=True))
    assert "bild.pics" in domains and len(domains) >= 5
    assert all(d.startswith("bild.") for d in domains)
    assert (
        bild.brandaccount_set.filter(role=BrandRole.AMPLIFIES, account__platform=Platform.TELEGRAM).count()
        >= 3
    )
    rrn = MediaBrand.objects.get(team=demo_team, name__startswith="RRN")
    assert rrn.brandaccount_set.filter(role=BrandRole.RUNS).exists()
    links = Post.objects.filter(account__team=demo_team).exclude(links=[]).values_list("links", flat=True)
    assert any(link.startswith("https://bild.pics/") for post_links in links for link in post_links)


def test_evidence_covers_every_kind_and_its_hashes_match_the_stored_bytes(demo_team):
    evidence = Evidence.objects.filter(case__team=demo_team)
    kinds = set(evidence.values_list("kind", flat=True))
    assert {
        EvidenceKind.REPOST,
        EvidenceKind.MEDIA_BRAND,
        EvidenceKind.LINK,
        EvidenceKind.NOTE,
        EvidenceKind.INDICATOR,
        EvidenceKind.SCREENSHOT,
    } <= kinds
    for item in evidence:
        assert len(item.content_sha256) == 64
    files = EvidenceFile.objects.filter(evidence__case__team=demo_team)
    for stored in files:
        with default_storage.open(stored.file.name, "rb") as handle:
            assert hashlib.sha256(handle.read()).hexdigest() == stored.sha256

    indicator_files = files.filter(evidence__kind=EvidenceKind.INDICATOR)
    for source in (SPAMOUFLAGE_CSV, DOPPELGANGER_JSON):
        sha = hashlib.sha256(source.read_bytes()).hexdigest()
        stored = indicator_files.get(original_name=source.name)
        assert stored.sha256 == sha and sha in stored.evidence.captured_text

    repost = evidence.filter(kind=EvidenceKind.REPOST, source_author__contains="@nytimes").get()
    assert repost.source_text and repost.source_url and repost.post.copied_from is not None
    assert repost.copy_similarity == 1.0
    screenshot = files.get(evidence__kind=EvidenceKind.SCREENSHOT)
    with default_storage.open(screenshot.file.name, "rb") as handle:
        assert Image.open(io.BytesIO(handle.read())).size == (400, 240)
    brand_item = evidence.get(kind=EvidenceKind.MEDIA_BRAND, brand__name="Bild (clone)")
    assert brand_item.files.filter(role=EvidenceFile.Role.LOGO).exists()
    codes = set(evidence.values_list("techniques__procedure_code", flat=True))
    assert {"0.9.4", "0.6.2", "5.4.2", "1.5.1"} <= codes
    assert set(evidence.values_list("captured_by__username", flat=True)) == {
        "lead",
        "moderator1",
        "moderator2",
    }


def test_the_china_case_has_an_open_queue_of_its_suspect_accounts(demo_team):
    queue = Queue.objects.get(team=demo_team)
    case = queue.case
    assert "Spamouflage" in case.title and case.status == CaseStatus.OPEN
    assert case.lead.username == "lead"
    assert queue.is_active and queue.labels_per_item == 2 and queue.created_by.username == "lead"
    suspects_on_case = case.case_accounts.filter(account__kind=AccountKind.SUSPECT)
    assert queue.items.count() == suspects_on_case.count() >= 30
    assert not queue.items.filter(account__kind=AccountKind.REFERENCE).exists()
    assert not queue.items.filter(is_done=True).exists()
    assert Case.objects.filter(team=demo_team).count() == 2


def test_every_write_is_audited(demo_team):
    verbs = Counter(AuditEvent.objects.values_list("verb", flat=True))
    assert verbs["account.created"] == Account.objects.filter(team=demo_team).count()
    assert verbs["post.created"] == Post.objects.filter(account__team=demo_team).count()
    assert verbs["evidence.recorded"] == Evidence.objects.filter(case__team=demo_team).count()
    assert verbs["user.created"] == 4 and verbs["member.added"] == 4 and verbs["queue.created"] == 1


def test_running_it_again_changes_nothing(demo_team):
    before = _row_counts()
    result = seed_demo()
    assert result["created"] is False
    assert _row_counts() == before
    assert result["counts"]["suspect accounts"] >= 30


def test_the_demo_is_the_same_on_every_run(db):
    fingerprints = []
    for _ in range(2):
        # Each run starts from the same empty database: seed inside a savepoint, then undo it.
        savepoint = transaction.savepoint()
        seed_demo()
        fingerprints.append(_fingerprint(Team.objects.get(slug="demo")))
        transaction.savepoint_rollback(savepoint)
    assert fingerprints[0] == fingerprints[1]


def test_the_command_prints_the_logins_both_times(demo_team):
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    printed = out.getvalue()
    assert "already loaded" in printed
    for login in DEMO_LOGINS:
        assert login.username in printed and login.password in printed


def test_the_command_prints_the_logins_after_loading(db):
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    printed = out.getvalue()
    assert "Demo data loaded" in printed
    assert all(login.password in printed for login in DEMO_LOGINS)


def test_the_command_refuses_to_reuse_existing_usernames(db):
    UserFactory(username="lead")
    with pytest.raises(CommandError, match="already exist"):
        call_command("seed_demo", stdout=io.StringIO())
    assert not Team.objects.filter(slug="demo").exists()
