"""A case as a document: JSON (nested, everything) or CSV (one row per account).

Pure functions over querysets: they read, never write, and stream — a case with thousands of
accounts is written in chunks, in a fixed number of queries per chunk, without being held
whole in memory. The view decides who may export; ``reveal_review`` says whether other
reviewers' labels and votes are included (see ``review_visible_to``).
"""

import csv
import datetime
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from django.db.models import Count

from cases.models import (
    AttributionDecision,
    AttributionVote,
    Case,
    CaseAccount,
    CaseStatus,
    Evidence,
    Label,
    Verdict,
)
from cases.review_selectors import is_review_blind

FORMAT = "osint-annotator/case-export"
VERSION = 1
CHUNK = 500
SETTLED = (CaseStatus.DECIDED, CaseStatus.CLOSED)
# Spreadsheet programs run a cell that starts with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

CSV_COLUMNS = [
    "case_id",
    "case_title",
    "account_id",
    "platform",
    "handle",
    "display_name",
    "external_id",
    "profile_url",
    "kind",
    "added_at",
    "reason",
    "label_count",
    "inauthentic",
    "authentic",
    "unsure",
    "techniques",
    "my_verdict",
    "evidence_count",
    "evidence_sha256",
    "decision_actor",
    "decision_confidence",
]


def review_visible_to(user, case: Case) -> bool:
    """Whether ``user`` may see every reviewer's labels and votes on ``case`` in an export: the
    blind-review rule of ``cases.review_selectors.is_review_blind``, the one place it is kept.
    A blind user gets their own labels and vote, and counts."""
    return not is_review_blind(user=user, case=case)


def _iso(value: datetime.datetime | datetime.date | None) -> str | None:
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _user(user) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "username": user.get_username()}


def _actor(actor) -> dict[str, Any]:
    return {"id": actor.pk, "name": actor.name, "country": actor.country, "kind": actor.kind}


def _chunks(iterable: Iterable, size: int) -> Iterator[list]:
    iterator = iter(iterable)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _links(case: Case):
    return (
        CaseAccount.objects.filter(case=case).select_related("account", "added_by").order_by("added_at", "pk")
    )


def _labels_by_account(case: Case, account_ids: list[int], *, viewer, reveal_review: bool):
    labels = (
        Label.objects.filter(case=case, account_id__in=account_ids)
        .select_related("annotator")
        .prefetch_related("techniques")
        .order_by("created_at", "pk")
    )
    if not reveal_review:
        labels = labels.filter(annotator=viewer)
    grouped: dict[int, list[Label]] = defaultdict(list)
    for label in labels:
        grouped[label.account_id].append(label)
    return grouped


def _label_counts(case: Case, account_ids: list[int]) -> dict[int, int]:
    rows = (
        Label.objects.filter(case=case, account_id__in=account_ids)
        .values("account_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["account_id"]: row["n"] for row in rows}


def _label_doc(label: Label) -> dict[str, Any]:
    return {
        "annotator": _user(label.annotator),
        "verdict": label.verdict,
        "techniques": sorted(t.procedure_code for t in label.techniques.all()),
        "note": label.note,
        "seconds_spent": label.seconds_spent,
        "created_at": _iso(label.created_at),
        "updated_at": _iso(label.updated_at),
    }


def _decision_doc(decision: AttributionDecision) -> dict[str, Any]:
    return {
        "actor": _actor(decision.actor),
        "confidence": decision.confidence,
        "rationale": decision.rationale,
        "decided_by": _user(decision.decided_by),
        "decided_at": _iso(decision.decided_at),
        "withdrawn_at": _iso(decision.withdrawn_at),
        "withdrawn_reason": decision.withdrawn_reason,
    }


def _evidence_doc(evidence: Evidence) -> dict[str, Any]:
    retraction = getattr(evidence, "retracted_by", None)
    return {
        "id": evidence.pk,
        "kind": evidence.kind,
        "account": evidence.account_id,
        "post": evidence.post_id,
        "brand": evidence.brand_id,
        "title": evidence.title,
        "url": evidence.url,
        "captured_text": evidence.captured_text,
        "source_url": evidence.source_url,
        "source_author": evidence.source_author,
        "source_text": evidence.source_text,
        "copy_similarity": evidence.copy_similarity,
        "techniques": sorted(t.procedure_code for t in evidence.techniques.all()),
        "captured_by": _user(evidence.captured_by),
        "captured_at": _iso(evidence.captured_at),
        "capture_method": evidence.capture_method,
        "content_sha256": evidence.content_sha256,
        "retracts": evidence.retracts_id,
        "retracted_by": retraction.pk if retraction is not None else None,
        "files": [
            {
                "role": f.role,
                "original_name": f.original_name,
                "content_type": f.content_type,
                "size": f.size,
                "sha256": f.sha256,
                "phash": f.phash,
            }
            for f in evidence.files.all()
        ],
    }


def _decisions(case: Case) -> list[AttributionDecision]:
    return list(
        AttributionDecision.objects.filter(case=case)
        .select_related("actor", "decided_by")
        .order_by("-decided_at", "-pk")
    )


def _standing(decisions: list[AttributionDecision]) -> AttributionDecision | None:
    return next((d for d in decisions if d.withdrawn_at is None), None)


def iter_case_json(
    case: Case,
    *,
    viewer,
    reveal_review: bool,
    now: datetime.datetime,
    manifest: dict[str, Any] | None = None,
) -> Iterator[str]:
    """The case as one JSON document, in pieces. Evidence carries ``content_sha256`` and each
    file's ``sha256``, so a reader can check the stored artefacts against the report."""
    dump = json.dumps
    case_doc = {
        "id": case.pk,
        "team": {"id": case.team.pk, "slug": case.team.slug, "name": case.team.name},
        "title": case.title,
        "summary": case.summary,
        "status": case.status,
        "priority": case.priority,
        "lead": _user(case.lead),
        "created_at": _iso(case.created_at),
        "updated_at": _iso(case.updated_at),
    }
    head = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": _iso(now),
        "exported_by": _user(viewer),
        "review_hidden": not reveal_review,
        "case": case_doc,
    }
    yield dump(head)[:-1] + ', "accounts": ['
    first = True
    for chunk in _chunks(_links(case).iterator(chunk_size=CHUNK), CHUNK):
        ids = [link.account_id for link in chunk]
        labels = _labels_by_account(case, ids, viewer=viewer, reveal_review=reveal_review)
        counts = _label_counts(case, ids)
        for link in chunk:
            account = link.account
            doc = {
                "id": account.pk,
                "platform": account.platform,
                "handle": account.handle,
                "display_name": account.display_name,
                "external_id": account.external_id,
                "profile_url": account.profile_url,
                "kind": account.kind,
                "added_at": _iso(link.added_at),
                "added_by": _user(link.added_by),
                "reason": link.reason,
                "label_count": counts.get(account.pk, 0),
                "labels": [_label_doc(label) for label in labels.get(account.pk, [])],
            }
            yield ("" if first else ", ") + dump(doc)
            first = False
    yield '], "evidence": ['
    evidence = (
        Evidence.objects.filter(case=case)
        .select_related("captured_by", "retracted_by")
        .prefetch_related("techniques", "files")
        .order_by("captured_at", "pk")
    )
    first = True
    for item in evidence.iterator(chunk_size=CHUNK):
        yield ("" if first else ", ") + dump(_evidence_doc(item))
        first = False
    votes = (
        AttributionVote.objects.filter(case=case)
        .select_related("voter", "actor")
        .prefetch_related("cited_evidence")
        .order_by("created_at", "pk")
    )
    vote_count = votes.count()
    if not reveal_review:
        votes = votes.filter(voter=viewer)
    vote_docs = [
        {
            "voter": _user(vote.voter),
            "actor": _actor(vote.actor),
            "confidence": vote.confidence,
            "rationale": vote.rationale,
            "cited_evidence": sorted(e.pk for e in vote.cited_evidence.all()),
            "created_at": _iso(vote.created_at),
            "updated_at": _iso(vote.updated_at),
        }
        for vote in votes
    ]
    decisions = _decisions(case)
    standing = _standing(decisions)
    tail = {
        "votes": vote_docs,
        "vote_count": vote_count,
        "decision": _decision_doc(standing) if standing else None,
        "decision_history": [_decision_doc(d) for d in decisions],
    }
    if manifest is not None:  # the signed evidence manifest (cases.exporters.manifest)
        tail["manifest"] = manifest
    yield "], " + dump(tail)[1:]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def iter_case_csv(case: Case, *, viewer, reveal_review: bool) -> Iterator[str]:
    """One row per account on the case: who it is, its labels summarised (verdict counts and the
    techniques cited), the standing evidence about it with each item's SHA-256, and the decision.

    With ``reveal_review`` off the verdict counts and techniques are left empty (they would
    reveal other reviewers' choices); ``label_count`` and ``my_verdict`` are still given.
    """
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    standing = _standing(_decisions(case))
    for chunk in _chunks(_links(case).iterator(chunk_size=CHUNK), CHUNK):
        ids = [link.account_id for link in chunk]
        labels = _labels_by_account(case, ids, viewer=viewer, reveal_review=True)
        hashes: dict[int, list[str]] = defaultdict(list)
        for account_id, sha in (
            Evidence.objects.filter(case=case, account_id__in=ids)
            .active()
            .order_by("captured_at", "pk")
            .values_list("account_id", "content_sha256")
        ):
            hashes[account_id].append(sha)
        for link in chunk:
            account = link.account
            account_labels = labels.get(account.pk, [])
            verdicts = Counter(label.verdict for label in account_labels)
            mine = next((label.verdict for label in account_labels if label.annotator_id == viewer.pk), "")
            techniques = sorted(
                {t.procedure_code for label in account_labels for t in label.techniques.all()}
            )
            row = [
                case.pk,
                case.title,
                account.pk,
                account.platform,
                account.handle,
                account.display_name,
                account.external_id,
                account.profile_url,
                account.kind,
                _iso(link.added_at),
                link.reason,
                len(account_labels),
                verdicts[Verdict.INAUTHENTIC] if reveal_review else "",
                verdicts[Verdict.AUTHENTIC] if reveal_review else "",
                verdicts[Verdict.UNSURE] if reveal_review else "",
                ";".join(techniques) if reveal_review else "",
                mine,
                len(hashes[account.pk]),
                ";".join(hashes[account.pk]),
                standing.actor.name if standing else "",
                standing.confidence if standing else "",
            ]
            yield writer.writerow([_cell(value) for value in row])
