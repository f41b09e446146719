"""The evidence manifest of a case: every stored artefact with its SHA-256 and size, every item's
capture metadata, and its chain of custody — signed with the server's Ed25519 key
(``cases.signing``), so a reader can prove that nothing in it changed after it was exported.

Reads only. The view that serves it records the export as a custody event first, so the chain in
the manifest ends with the export that produced it.
"""

import datetime
from collections import defaultdict
from typing import Any

from cases import signing
from cases.models import Case, CustodyEvent, Evidence

from .case import _iso, _user  # the export's own forms of times and people

FORMAT = "osint-annotator/evidence-manifest"
VERSION = 1
# The extension of a file in a manifest's folder, by the content type the server decoded it as.
EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "text/html": ".html",
    "multipart/related": ".mhtml",
}


def file_name(file) -> str:
    """The name a file has in an exported folder (and as the app's download): unique, and
    nothing an adversary chose."""
    return f"evidence-{file.evidence_id}-{file.sha256[:12]}{EXTENSIONS.get(file.content_type, '.bin')}"


def build_manifest(case: Case, *, generated_by, now: datetime.datetime) -> dict[str, Any]:
    """The unsigned manifest document. Three queries plus one per 2,000 evidence items."""
    evidence = list(
        Evidence.objects.filter(case=case)
        .select_related("captured_by", "retracted_by")
        .prefetch_related("files")
        .order_by("captured_at", "pk")
    )
    chains: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for event in (
        CustodyEvent.objects.filter(evidence__case=case)
        .select_related("user")
        .order_by("at", "pk")
        .iterator(2000)
    ):
        chains[event.evidence_id].append(
            {"action": event.action, "by": _user(event.user), "at": _iso(event.at), "detail": event.detail}
        )
    items, artefacts = [], []
    for item in evidence:
        retraction = getattr(item, "retracted_by", None)
        files = []
        for f in item.files.all():
            entry = {
                "evidence": item.pk,
                "file": f.pk,
                "name": file_name(f),
                "role": f.role,
                "content_type": f.content_type,
                "size": f.size,
                "sha256": f.sha256,
                "phash": f.phash,
            }
            files.append(entry)
            artefacts.append(entry)
        captured = {
            "action": "captured",
            "by": _user(item.captured_by),
            "at": _iso(item.captured_at),
            "detail": {
                "method": item.capture_method,
                "persona": item.persona,
                "stored_at": _iso(item.created_at),
            },
        }
        items.append(
            {
                "id": item.pk,
                "kind": item.kind,
                "title": item.title,
                "url": item.url,
                "account": item.account_id,
                "content_sha256": item.content_sha256,
                "capture": {
                    "captured_by": _user(item.captured_by),
                    "captured_at": _iso(item.captured_at),
                    "stored_at": _iso(item.created_at),
                    "method": item.capture_method,
                    "persona": item.persona,
                    "user_agent": item.user_agent,
                },
                "retracts": item.retracts_id,
                "retracted_by": retraction.pk if retraction is not None else None,
                "files": [
                    {"file": f["file"], "name": f["name"], "sha256": f["sha256"], "size": f["size"]}
                    for f in files
                ],
                "custody": [captured, *chains.get(item.pk, [])],
            }
        )
    return {
        "format": FORMAT,
        "version": VERSION,
        "generated_at": _iso(now),
        "generated_by": _user(generated_by),
        "case": {"id": case.pk, "title": case.title, "team": case.team.slug, "status": case.status},
        "artefacts": artefacts,
        "evidence": items,
    }


def signed_manifest(case: Case, *, generated_by, now: datetime.datetime) -> dict[str, Any]:
    return signing.sign(build_manifest(case, generated_by=generated_by, now=now))
