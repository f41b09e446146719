"""The chain of custody of evidence after its capture: views, downloads, exports, retractions.

Who captured an item, when, how and with which persona are fields of the immutable evidence
row; these events record what happened to it afterwards. They are the record themselves, so
they write no audit event: a page view costs one INSERT, an export one INSERT per batch of items.
"""

from typing import Any

from django.db.models import QuerySet

from cases.models import Case, CustodyAction, CustodyEvent, Evidence

BATCH = 1000


def custody_file(file) -> dict[str, Any]:
    """The detail of a download event: which file, and the hash of the bytes handed out."""
    return {"file": file.pk, "role": file.role, "sha256": file.sha256}


def record_custody_event(
    *, evidence: Evidence, action: str, user, detail: dict[str, Any] | None = None
) -> CustodyEvent:
    """Append one custody event (one INSERT). The caller has already checked the user may see it."""
    if action not in CustodyAction.values:
        raise ValueError(f"Unknown custody action {action!r}.")
    return CustodyEvent.objects.create(
        evidence=evidence,
        action=action,
        user=user if user is not None and user.is_authenticated else None,
        detail=detail or {},
    )


def record_case_export(
    *, case: Case, user, export_format: str, evidence: QuerySet[Evidence] | None = None
) -> int:
    """One ``exported`` event for every evidence item of the case (retractions included: they are
    in the export too). Returns how many were written."""
    ids = list(
        (evidence if evidence is not None else Evidence.objects.filter(case=case)).values_list(
            "pk", flat=True
        )
    )
    user = user if user is not None and user.is_authenticated else None
    events = [
        CustodyEvent(
            evidence_id=pk, action=CustodyAction.EXPORTED, user=user, detail={"format": export_format}
        )
        for pk in ids
    ]
    CustodyEvent.objects.bulk_create(events, batch_size=BATCH)
    return len(events)
