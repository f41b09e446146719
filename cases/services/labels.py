"""Labels: one reviewer's verdict on one account of one case, with the techniques seen."""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from cases.errors import InvalidInput, NotAllowed
from cases.models import Account, Assignment, Case, CaseAccount, Label, Technique, Verdict

from .access import require_member
from .audit import record_event
from .case_status import lock_case, require_reviewable, start_review
from .cases import bump_case_count
from .queues import complete_lease, lock_lease, require_live


def _techniques(techniques: Iterable[Technique]) -> list[Technique]:
    chosen = list(dict.fromkeys(techniques))  # a technique picked twice counts once, order kept
    if any(not isinstance(t, Technique) or t.pk is None for t in chosen):
        raise InvalidInput(
            "Unknown technique.", fields={"techniques": ["Choose techniques of the kill chain."]}
        )
    return chosen


@transaction.atomic
def submit_label(
    *,
    case: Case,
    account: Account,
    annotator,
    verdict: str,
    techniques: Iterable[Technique] = (),
    note: str = "",
    seconds_spent: int = 0,
    assignment: Assignment | None = None,
) -> Label:
    """Record the annotator's label on an account of a case; submitting again changes it.

    Invariants: one label per annotator, account and case; the account is on the case; labels
    change only while the case is open or in review (Conflict once decided or closed). The first
    label on an open case puts it in review. ``seconds_spent`` adds up over submissions.

    With ``assignment`` (the annotator's lease on this account's queue item), the lease is
    completed in the same transaction and the item's ``label_count``/``is_done`` updated;
    a lease that lapsed or was released is a Conflict and nothing is saved (fencing).

    Locks the case row (FOR NO KEY UPDATE) — no label slips in beside a decision or a close, and
    one annotator's two submissions cannot both insert — then, with an assignment, the item row.
    """
    if annotator is None:
        raise NotAllowed("A label is given by a signed-in reviewer.")
    require_member(annotator, case.team)
    if account.team_id != case.team_id:
        raise InvalidInput("No such account.")
    if verdict not in Verdict.values:
        raise InvalidInput(
            f"'{verdict}' is not a verdict.", fields={"verdict": ["Choose inauthentic, authentic or unsure."]}
        )
    chosen = _techniques(techniques)
    if isinstance(seconds_spent, bool) or not isinstance(seconds_spent, int) or seconds_spent < 0:
        raise InvalidInput(
            "Time spent must be zero or more seconds.", fields={"seconds_spent": ["0 or more."]}
        )
    if assignment is not None:
        if assignment.user_id != annotator.pk:
            raise NotAllowed("This item is held by another reviewer.")
        if (assignment.item.case_id, assignment.item.account_id) != (case.pk, account.pk):
            raise InvalidInput("That assignment is for another account.")
    note = (note or "").strip()

    lock_case(case)
    require_reviewable(case, "labels")
    if not CaseAccount.objects.filter(case=case, account=account).exists():
        raise InvalidInput(f"{account} is not on this case.")
    completion = {}
    if assignment is not None:
        item, lease = lock_lease(assignment)
        now = timezone.now()
        require_live(lease, now, "completed")
    status_change = start_review(case)

    label = Label.objects.filter(case=case, account=account, annotator=annotator).first()
    codes = [t.procedure_code for t in chosen]
    if label is None:
        if not Label.objects.filter(case=case, account=account).exists():
            bump_case_count(case, "labeled_account_count", +1)
        label = Label.objects.create(
            case=case,
            account=account,
            annotator=annotator,
            verdict=verdict,
            note=note,
            seconds_spent=seconds_spent,
        )
        label.techniques.set(chosen)
        verb = "label.submitted"
        changes = {"verdict": verdict, "techniques": codes, "note": note, "seconds_spent": seconds_spent}
    else:
        verb = "label.changed"
        old_codes = sorted(label.techniques.values_list("procedure_code", flat=True))
        changes = {}
        if label.verdict != verdict:
            changes["verdict"] = [label.verdict, verdict]
        if old_codes != sorted(codes):
            changes["techniques"] = [old_codes, sorted(codes)]
            label.techniques.set(chosen)
        if label.note != note:
            changes["note"] = [label.note, note]
        if seconds_spent:
            changes["seconds_spent"] = [label.seconds_spent, label.seconds_spent + seconds_spent]
        if not changes and assignment is None and not status_change:
            return label  # the same label again: nothing to write, nothing to record
        label.verdict, label.note = verdict, note
        label.seconds_spent += seconds_spent
        label.save(update_fields=["verdict", "note", "seconds_spent", "updated_at"])
    if assignment is not None:
        completion = complete_lease(item=item, lease=lease, now=now)
        assignment.state, assignment.completed_at = lease.state, lease.completed_at
    record_event(
        team=case.team,
        user=annotator,
        verb=verb,
        target=label,
        data={"case": case.pk, "account": account.pk, **changes, **status_change, **completion},
    )
    return label
