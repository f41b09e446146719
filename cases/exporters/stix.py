"""A case as a STIX 2.1 bundle, built with the OASIS ``stix2`` library.

What becomes what:

* the team → ``identity`` (organization): the producer, ``created_by_ref`` of every object;
* the case → ``campaign`` (name, summary);
* an actor → ``intrusion-set`` (name, aliases; country and kind in the description). Our actors
  are named operations ("Spamouflage", "Doppelganger") more than identified organisations, which
  is what STIX calls an intrusion set; a ``threat-actor`` would claim more than a case shows;
* the standing attribution decision → ``relationship`` campaign ``attributed-to`` intrusion-set,
  with the confidence mapped to STIX's 0-100 (``CONFIDENCE_VALUES``); withdrawn decisions are
  kept as the same kind of relationship with ``revoked: true``;
* each attribution vote → ``opinion`` on the campaign and the voted intrusion set
  (``OPINION_BY_CONFIDENCE``); other reviewers' votes only when the viewer may see them (the
  same rule as the JSON export, ``review_visible_to``);
* each account → ``user-account`` observable, tied to the campaign by a ``related-to``
  relationship whose description gives the verdict and the enforcement outcome;
* brand domains → ``domain-name`` observables and ``indicator``s; URLs of standing evidence →
  ``url`` observables and ``indicator``s carrying the evidence's SHA-256 in an external
  reference; every indicator ``indicates`` the campaign.

**Stable ids.** Every SDO and SRO id is derived (UUIDv5, stamped v4, see ``stix_id``) from the
team, the case and our object's id under one fixed namespace, and every timestamp comes from the
stored rows, so exporting an unchanged case twice gives the same bytes, and a re-export updates
the same objects in a consumer's store. Observables use the spec's own deterministic ids (UUIDv5
over their contributing properties), so another tool exporting the same account or domain gets
the same id.

The bundle is streamed: accounts are read and written in chunks, in a fixed number of queries per
chunk, as the CSV and JSON exports are.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable, Iterator
from itertools import islice
from urllib.parse import urlsplit

from django.db.models import Max
from stix2.v21 import (
    URL,
    Campaign,
    DomainName,
    Identity,
    Indicator,
    IntrusionSet,
    Opinion,
    Relationship,
    UserAccount,
)

from cases.models import (
    AccountOutcome,
    Actor,
    AttributionDecision,
    AttributionVote,
    BrandAccount,
    BrandDomain,
    Case,
    CaseAccount,
    Confidence,
    Evidence,
    EvidenceKind,
    Label,
    Platform,
)
from cases.report_selectors import list_account_verdicts

# Our namespace for deterministic ids. Never change it: every exported id derives from it.
NAMESPACE = uuid.UUID("5d3c1c1e-8f3a-4c55-9a43-0b1d6f1c2a71")
CHUNK = 500

# STIX 2.1 Appendix A ("Confidence scales"), the None/Low/Med/High scale: the value a producer
# writes for each level is the middle of its band: Low 1-29 → 15, Med 30-69 → 50, High 70-100
# → 85. Our three levels are that scale's Low, Med and High.
CONFIDENCE_VALUES = {Confidence.LOW: 15, Confidence.MODERATE: 50, Confidence.HIGH: 85}
# A vote says "this network is the actor's", with a confidence: how strongly the voter agrees
# with that attribution. A low-confidence vote ("possible, evidence is thin") is neither for
# nor against.
OPINION_BY_CONFIDENCE = {
    Confidence.LOW: "neutral",
    Confidence.MODERATE: "agree",
    Confidence.HIGH: "strongly-agree",
}
# account-type-ov has "twitter" and "facebook"; the vocabulary is open, so the other platforms
# keep their own name. "other" says nothing and is left out.
ACCOUNT_TYPES = {Platform.X: "twitter", Platform.OTHER: None}


def stix_id(kind: str, *parts: object) -> str:
    """``kind--<uuid>`` derived from the kind and the parts: the same parts, the same id, in every
    export. The UUIDv5 (SHA-1 of our namespace and the name) is stamped as version 4: STIX 2.1
    says SDO and SRO ids SHOULD be UUIDv4, and the validator's strict mode refuses any other, while
    a hash-derived value is as collision-free as a random one."""
    name = ":".join(str(p) for p in (kind, *parts))
    return f"{kind}--{uuid.UUID(bytes=uuid.uuid5(NAMESPACE, name).bytes, version=4)}"


def pattern_string(value: str) -> str:
    """A STIX patterning string literal: quotes and backslashes escaped, inside single quotes."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _chunks(iterable: Iterable, size: int) -> Iterator[list]:
    iterator = iter(iterable)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _later(*values: datetime.datetime | None) -> datetime.datetime:
    return max(v for v in values if v is not None)


def _as_datetime(day: datetime.date) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.UTC)


def _intrusion_set(actor: Actor, *, created_by: str, team_id: int) -> IntrusionSet:
    facts = [f"Country: {actor.country}." if actor.country else "", f"Kind: {actor.get_kind_display()}."]
    description = " ".join(filter(None, [*facts, actor.description.strip()]))
    aliases = [a for a in actor.aliases or [] if isinstance(a, str) and a.strip()]
    return IntrusionSet(
        id=stix_id("intrusion-set", "actor", team_id, actor.pk),
        created=actor.created_at,
        modified=actor.created_at,
        created_by_ref=created_by,
        name=actor.name,
        description=description,
        **({"aliases": aliases} if aliases else {}),
    )


def _user_account(account) -> UserAccount:
    account_type = ACCOUNT_TYPES.get(account.platform, account.platform)
    fields = {
        "user_id": account.external_id or account.handle,
        "account_login": account.handle,
        "display_name": account.display_name or None,
        "account_type": account_type,
        "account_created": account.created_on_platform,
    }
    return UserAccount(**{k: v for k, v in fields.items() if v not in (None, "")})


def _web_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def iter_case_stix(case: Case, *, viewer, reveal_review: bool) -> Iterator[str]:
    """The case as one STIX 2.1 bundle, serialised in pieces (see the module docstring)."""
    team = case.team
    identity = Identity(
        id=stix_id("identity", "team", team.pk),
        created=team.created_at,
        modified=team.created_at,
        name=team.name,
        identity_class="organization",
    )
    by = identity.id
    campaign = Campaign(
        id=stix_id("campaign", "case", team.pk, case.pk),
        created=case.created_at,
        modified=_later(case.created_at, case.updated_at),
        created_by_ref=by,
        name=case.title,
        **({"description": case.summary} if case.summary.strip() else {}),
    )
    first = True

    def emit(obj) -> str:
        nonlocal first
        text = ("" if first else ",") + obj.serialize()
        first = False
        return text

    bundle_id = stix_id("bundle", "case", team.pk, case.pk)
    yield f'{{"type": "bundle", "id": "{bundle_id}", "objects": ['
    yield emit(identity)
    yield emit(campaign)

    # Attribution: the decisions (standing and withdrawn) and the votes, with their actors.
    decisions = list(
        AttributionDecision.objects.filter(case=case).select_related("actor").order_by("decided_at", "pk")
    )
    votes = (
        AttributionVote.objects.filter(case=case)
        .select_related("actor", "voter")
        .order_by("created_at", "pk")
    )
    if not reveal_review:
        votes = votes.filter(voter=viewer)
    votes = list(votes)
    actors = {d.actor_id: d.actor for d in decisions} | {v.actor_id: v.actor for v in votes}
    for actor in sorted(actors.values(), key=lambda a: a.pk):
        yield emit(_intrusion_set(actor, created_by=by, team_id=team.pk))
    standing_rel: dict[int, str] = {}
    for decision in decisions:
        rel_id = stix_id("relationship", "decision", team.pk, case.pk, decision.pk)
        withdrawn = decision.withdrawn_at is not None
        if not withdrawn:
            standing_rel[decision.actor_id] = rel_id
        yield emit(
            Relationship(
                id=rel_id,
                created=decision.decided_at,
                modified=_later(decision.decided_at, decision.withdrawn_at),
                created_by_ref=by,
                relationship_type="attributed-to",
                source_ref=campaign.id,
                target_ref=stix_id("intrusion-set", "actor", team.pk, decision.actor_id),
                confidence=CONFIDENCE_VALUES[decision.confidence],
                description=f"{decision.confidence.capitalize()} confidence. {decision.rationale}".strip(),
                revoked=withdrawn,
            )
        )
    for vote in votes:
        refs = [campaign.id, stix_id("intrusion-set", "actor", team.pk, vote.actor_id)]
        if vote.actor_id in standing_rel:
            refs.append(standing_rel[vote.actor_id])
        yield emit(
            Opinion(
                id=stix_id("opinion", "vote", team.pk, case.pk, vote.pk),
                created=vote.created_at,
                modified=_later(vote.created_at, vote.updated_at),
                created_by_ref=by,
                opinion=OPINION_BY_CONFIDENCE[vote.confidence],
                confidence=CONFIDENCE_VALUES[vote.confidence],
                authors=[vote.voter.get_username()],
                explanation=(
                    f"Attribution vote: {vote.actor.name}, {vote.confidence} confidence. {vote.rationale}"
                ),
                object_refs=refs,
            )
        )

    # Accounts: an observable each, tied to the campaign with what was concluded about it.
    verdicts = list_account_verdicts(case=case, user=viewer, reveal=reveal_review)
    outcomes = {o.account_id: o for o in AccountOutcome.objects.filter(case=case)}
    labelled_at = dict(
        Label.objects.filter(case=case)
        .values("account_id")
        .annotate(at=Max("updated_at"))
        .order_by()
        .values_list("account_id", "at")
    )
    links = CaseAccount.objects.filter(case=case).select_related("account").order_by("added_at", "pk")
    for chunk in _chunks(links.iterator(chunk_size=CHUNK), CHUNK):
        for link in chunk:
            account = link.account
            observable = _user_account(account)
            verdict = verdicts.get(account.pk)
            outcome = outcomes.get(account.pk)
            words = [f"{account.get_kind_display()} account on {account.get_platform_display()}."]
            if verdict is not None:
                source = " (adjudicated)" if verdict.source == "adjudication" else ""
                words.append(f"Verdict: {verdict.verdict}{source}; {verdict.label_count} label(s).")
            if outcome is not None:
                basis = f" under {outcome.policy_basis}" if outcome.policy_basis else ""
                words.append(f"Outcome: {outcome.get_outcome_display()}{basis}.")
            yield emit(observable)
            yield emit(
                Relationship(
                    id=stix_id("relationship", "account", team.pk, case.pk, account.pk),
                    created=link.added_at,
                    modified=_later(
                        link.added_at,
                        labelled_at.get(account.pk),
                        outcome.set_at if outcome is not None else None,
                    ),
                    created_by_ref=by,
                    relationship_type="related-to",
                    source_ref=campaign.id,
                    target_ref=observable.id,
                    description=" ".join(words),
                )
            )

    # Brand domains: of the brands the case's accounts run or amplify, and of brand evidence.
    standing = Evidence.objects.filter(case=case).active()
    brand_ids = set(
        BrandAccount.objects.filter(account__case_links__case=case).values_list("brand_id", flat=True)
    ) | set(standing.filter(brand__isnull=False).values_list("brand_id", flat=True))
    domains = (
        BrandDomain.objects.filter(brand_id__in=brand_ids).select_related("brand").order_by("domain", "pk")
    )
    seen: set[str] = set()
    for row in domains:
        if row.domain in seen:
            continue
        seen.add(row.domain)
        observable = DomainName(value=row.domain)
        indicator_id = stix_id("indicator", "domain", team.pk, case.pk, row.domain)
        valid_from = _as_datetime(row.first_seen) if row.first_seen else row.brand.created_at
        yield emit(observable)
        yield emit(
            Indicator(
                id=indicator_id,
                created=row.brand.created_at,
                modified=row.brand.created_at,
                created_by_ref=by,
                name=f"Domain of the media brand {row.brand.name}",
                description=(
                    f"Impersonates {row.brand.impersonates}."
                    if row.brand.impersonates
                    else "Fake media brand."
                ),
                indicator_types=["malicious-activity"],
                pattern=f"[domain-name:value = {pattern_string(row.domain)}]",
                pattern_type="stix",
                valid_from=valid_from,
            )
        )
        yield emit(_indicates(indicator_id, campaign.id, by, row.brand.created_at, team.pk, case.pk))

    # URLs of standing evidence: what was captured, with the item's hash beside it.
    by_url: dict[str, list[Evidence]] = {}
    for item in standing.exclude(url="").order_by("captured_at", "pk"):
        if _web_url(item.url):
            by_url.setdefault(item.url, []).append(item)
    for url, items in by_url.items():
        earliest = items[0]
        captured = earliest.captured_at.astimezone(datetime.UTC)
        indicator_id = stix_id("indicator", "url", team.pk, case.pk, url)
        yield emit(URL(value=url))
        yield emit(
            Indicator(
                id=indicator_id,
                created=earliest.created_at,
                modified=items[-1].created_at,
                created_by_ref=by,
                name=f"URL in evidence #{earliest.pk}",
                description=(f"{EvidenceKind(earliest.kind).label} captured {captured:%Y-%m-%d %H:%M} UTC."),
                indicator_types=["malicious-activity"],
                pattern=f"[url:value = {pattern_string(url)}]",
                pattern_type="stix",
                valid_from=earliest.captured_at,
                external_references=[
                    {
                        "source_name": "osint-annotator",
                        "external_id": f"evidence-{item.pk}",
                        "description": "SHA-256 of the evidence item as stored",
                        "hashes": {"SHA-256": item.content_sha256},
                    }
                    for item in items
                ],
            )
        )
        yield emit(_indicates(indicator_id, campaign.id, by, earliest.created_at, team.pk, case.pk))
    yield "]}"


def _indicates(indicator_id: str, campaign_id: str, by: str, at, team_id: int, case_id: int) -> Relationship:
    return Relationship(
        id=stix_id("relationship", "indicates", team_id, case_id, indicator_id),
        created=at,
        modified=at,
        created_by_ref=by,
        relationship_type="indicates",
        source_ref=indicator_id,
        target_ref=campaign_id,
    )
