from django.db import transaction

from cases.errors import Conflict, InvalidInput
from cases.handles import normalize_handle, refang
from cases.models import (
    Account,
    AccountKind,
    AccountSource,
    Actor,
    BrandAccount,
    BrandDomain,
    BrandRole,
    MediaBrand,
    Platform,
    Post,
    Team,
)

from .access import require_member
from .audit import record_event, snapshot
from .similar_refresh import queue_similar_refresh

ACCOUNT_FIELDS = [
    "external_id",
    "display_name",
    "bio",
    "profile_url",
    "created_on_platform",
    "followers",
    "following",
    "language",
    "kind",
    "source",
]


@transaction.atomic
def create_account(
    *,
    team: Team,
    platform: str,
    handle: str,
    created_by=None,
    kind: str = AccountKind.SUSPECT,
    source: str = AccountSource.MANUAL,
    **fields,
) -> Account:
    """Create an account, unique per team, platform and normalized handle. Once the transaction
    commits, its similar accounts are computed on a worker (``queue_similar_refresh``: no write
    here, so the account's one audit event stays the only one)."""
    require_member(created_by, team)
    if platform not in Platform.values:
        raise InvalidInput(
            f"'{platform}' is not a supported platform.", fields={"platform": ["Unknown platform."]}
        )
    normalized = normalize_handle(handle)
    if not normalized:
        raise InvalidInput("The handle is empty.", fields={"handle": ["This field is required."]})
    unknown = set(fields) - set(ACCOUNT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown account fields: {sorted(unknown)}")
    for count in ("followers", "following"):
        if fields.get(count) is not None and fields[count] < 0:
            raise InvalidInput(f"{count.title()} cannot be negative.", fields={count: ["Must be 0 or more."]})
    if Account.objects.filter(team=team, platform=platform, handle_normalized=normalized).exists():
        raise Conflict(f"@{normalized} on {Platform(platform).label} is already in this team.")
    account = Account.objects.create(
        team=team,
        platform=platform,
        handle=handle.strip().lstrip("@"),
        handle_normalized=normalized,
        kind=kind,
        source=source,
        **fields,
    )
    record_event(
        team=team,
        user=created_by,
        verb="account.created",
        target=account,
        data=snapshot(account, ["platform", "handle", *ACCOUNT_FIELDS]),
    )
    queue_similar_refresh(team=team, account_ids=[account.pk], requested_by=created_by)
    return account


@transaction.atomic
def create_post(
    *,
    account: Account,
    text: str,
    created_by=None,
    external_id: str = "",
    url: str = "",
    posted_at=None,
    is_repost: bool = False,
    links: list[str] | None = None,
    copied_from: Post | None = None,
    copy_similarity: float | None = None,
) -> Post:
    """Record a post of an account; a copy names the post it copies, from the same team."""
    require_member(created_by, account.team)
    if copied_from is not None and copied_from.account.team_id != account.team_id:
        raise InvalidInput("The source post belongs to another team.")
    if copy_similarity is not None and not 0 <= copy_similarity <= 1:
        raise InvalidInput("Copy similarity must be between 0 and 1.")
    if external_id and Post.objects.filter(account=account, external_id=external_id).exists():
        raise Conflict(f"Post {external_id} of {account} is already recorded.")
    post = Post.objects.create(
        account=account,
        text=text,
        external_id=external_id,
        url=url,
        posted_at=posted_at,
        is_repost=is_repost,
        links=[refang(link) for link in links or []],
        copied_from=copied_from,
        copy_similarity=copy_similarity,
    )
    record_event(
        team=account.team,
        user=created_by,
        verb="post.created",
        target=post,
        data=snapshot(post, ["account", "external_id", "url", "posted_at", "is_repost", "copied_from"]),
    )
    return post


@transaction.atomic
def create_media_brand(
    *,
    team: Team,
    name: str,
    created_by=None,
    impersonates: str = "",
    description: str = "",
    domains: list[str] = (),
    accounts: list[tuple[Account, str]] = (),
) -> MediaBrand:
    """Record a fake media brand with its domains and the accounts that run or amplify it."""
    require_member(created_by, team)
    if not name.strip():
        raise InvalidInput("A media brand needs a name.", fields={"name": ["This field is required."]})
    if MediaBrand.objects.filter(team=team, name=name.strip()).exists():
        raise Conflict(f"The media brand '{name}' is already recorded.")
    brand = MediaBrand.objects.create(
        team=team, name=name.strip(), impersonates=impersonates, description=description
    )
    clean_domains = sorted({refang(d).lower().strip("/") for d in domains if d.strip()})
    BrandDomain.objects.bulk_create([BrandDomain(brand=brand, domain=d) for d in clean_domains])
    for account, role in accounts:
        if account.team_id != team.id:
            raise InvalidInput(f"{account} belongs to another team.")
        if role not in BrandRole.values:
            raise InvalidInput(f"'{role}' is not a brand role.")
        BrandAccount.objects.create(brand=brand, account=account, role=role)
    record_event(
        team=team,
        user=created_by,
        verb="media_brand.created",
        target=brand,
        data={
            "name": brand.name,
            "impersonates": impersonates,
            "domains": clean_domains,
            "accounts": [[a.pk, role] for a, role in accounts],
        },
    )
    return brand


@transaction.atomic
def create_actor(
    *,
    team: Team,
    name: str,
    created_by=None,
    country: str = "",
    kind: str = "unknown",
    aliases: list[str] = (),
    description: str = "",
) -> Actor:
    """Record a candidate actor that a network may be attributed to."""
    require_member(created_by, team)
    if not name.strip():
        raise InvalidInput("An actor needs a name.", fields={"name": ["This field is required."]})
    if Actor.objects.filter(team=team, name=name.strip()).exists():
        raise Conflict(f"The actor '{name}' is already recorded.")
    actor = Actor.objects.create(
        team=team,
        name=name.strip(),
        country=country,
        kind=kind,
        aliases=list(aliases),
        description=description,
        created_by=created_by,
    )
    record_event(
        team=team,
        user=created_by,
        verb="actor.created",
        target=actor,
        data=snapshot(actor, ["name", "country", "kind", "aliases"]),
    )
    return actor
