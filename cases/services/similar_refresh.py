"""Fresh accounts get their similar accounts: after an import, or when an account is created, the
top-k of every account it created or changed is computed on a worker and stored, so the answer is
there when someone looks (issue 4: "top-k for an account: run after an account is created or
imported").

- ``queue_similar_refresh``: once the current transaction commits, send
  ``refresh_similar_for_accounts_task`` with the account ids only, ``REFRESH_BATCH`` ids per task (a
  5,000-account import is ten tasks, not 5,000). Writes nothing itself, so the service that calls
  it keeps its one audit event.
- ``queue_similar_refresh_after_import``: what the import services call when a run committed: the
  accounts the run created or changed, batched as above; an import too large for top-k per account
  (``SWEEP_INSTEAD_OVER``) queues one team sweep instead.
- ``refresh_similar_for_accounts``: the work of one batch. One warm index (``team_index``), the
  engine's top-k for each account, one ``save_matches`` and one ``flag_possible_recreations`` (the
  recidivism check: a new account that strongly resembles an account a decided case removed is
  flagged on that case), recorded on one Job row of scope ``accounts``. That row is what makes
  the stored answers fresh (``cases.similarity_selectors.similarity_as_of``).

Who asked (the importer, the creator of the account) is the refresh Job's ``created_by`` and the
user of any re-creation flag it records; ``None`` is the system.

Idempotent: a task delivered twice recomputes the same matches, which are upserted on the pair
(reviewers' statuses kept), and a re-creation is flagged once per case and account, ever. Ids of
accounts deleted meanwhile (or rolled back with the transaction that made them) are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from cases.models import Account, Job, JobKind, Post, Team

from .jobs import Progress, finish_job, run_job
from .similarity import (
    TOP_K,
    TOP_K_MIN_SCORE,
    flag_possible_recreations,
    save_matches,
    start_similarity_sweep,
    team_index,
)

# Ids per task: big enough that a large import is a handful of tasks (each rebuilds or syncs the
# warm index once), small enough that one task finishes in seconds (top-k is ~2 ms an account).
REFRESH_BATCH = 500
# Past this many accounts, one sweep of the team (sub-quadratic, every pair above its threshold)
# costs less than a top-k per account, and marks every account fresh at once.
SWEEP_INSTEAD_OVER = 20_000
# Timestamps compared here are written by the web process and the worker: changes this much
# before the run started still count as the run's (a needless refresh costs little).
CLOCK_SLACK = timedelta(seconds=5)
SCOPE = "accounts"


def queue_similar_refresh(*, team: Team, account_ids: Iterable[int], requested_by=None) -> int:
    """After the current transaction commits, queue the top-k refresh of ``account_ids`` (of
    ``team``), ``REFRESH_BATCH`` ids per task, ids only. Returns the number of tasks queued.

    Writes nothing and takes no lock. The send is ``robust``: a broker that is down when the
    transaction commits is logged, not raised — the account exists and the API computes its
    similar accounts on the spot when no fresh answer is stored.
    """
    from cases.tasks import refresh_similar_for_accounts_task  # tasks import services

    ids = sorted({int(pk) for pk in account_ids})
    batches = [ids[start : start + REFRESH_BATCH] for start in range(0, len(ids), REFRESH_BATCH)]
    if not batches:
        return 0
    team_id = team.pk
    user_id = requested_by.pk if requested_by is not None else None

    def send() -> None:
        for batch in batches:
            refresh_similar_for_accounts_task.delay(team_id, batch, user_id)

    transaction.on_commit(send, robust=True)
    return len(batches)


def accounts_changed_since(*, team: Team, since: datetime) -> list[int]:
    """Ids of the team's accounts created or updated since ``since``, or with a post recorded
    since then: what an import run touched (an unchanged line writes nothing, so a re-import
    touches nothing)."""
    changed = set(Account.objects.filter(team=team, updated_at__gte=since).values_list("pk", flat=True))
    changed.update(
        Post.objects.filter(account__team=team, created_at__gte=since)
        .values_list("account_id", flat=True)
        .distinct()
    )
    return sorted(changed)


def queue_similar_refresh_after_import(*, team: Team, since: datetime, requested_by=None) -> dict[str, Any]:
    """Queue the refresh of the accounts an import created or changed since ``since`` (when the
    run, or the job it belongs to, started), on commit. Call it inside the transaction that
    finishes the run. Above ``SWEEP_INSTEAD_OVER`` accounts it starts one team sweep instead
    (audited as ``job.started``, like any sweep). Returns what it queued, for the run's result."""
    ids = accounts_changed_since(team=team, since=since - CLOCK_SLACK)
    if len(ids) > SWEEP_INSTEAD_OVER:
        job = start_similarity_sweep(team=team, created_by=requested_by)
        return {"accounts": len(ids), "tasks": 0, "sweep_job": job.pk}
    tasks = queue_similar_refresh(team=team, account_ids=ids, requested_by=requested_by)
    return {"accounts": len(ids), "tasks": tasks}


def refresh_similar_for_accounts(
    *, team: Team, account_ids: Iterable[int], requested_by=None, progress: Progress | None = None
) -> Job | None:
    """Compute and store the best ``TOP_K`` matches (scoring at least ``TOP_K_MIN_SCORE``) of each
    of the accounts against the whole team, flag possible re-creations among them, and record
    the run as a succeeded Job (kind ``similarity_sweep``, ``params["scope"] == "accounts"``,
    ``result["as_of"]``): the freshness marker of every account it covered. No audit event: it is
    bookkeeping, like the suggestion rows it writes; a re-creation flag is audited by
    ``flag_possible_recreations``. Returns None when none of the ids is an account of the team.
    """
    ids = sorted(
        Account.objects.filter(team=team, pk__in={int(pk) for pk in account_ids}).values_list("pk", flat=True)
    )
    if not ids:
        return None
    job = Job.objects.create(
        team=team,
        kind=JobKind.SIMILARITY_SWEEP,
        params={
            "scope": SCOPE,
            "account_ids": ids,
            # first/last: a range the freshness selector can filter on in any database.
            "first": ids[0],
            "last": ids[-1],
            "settings": team.similarity_weights or {},
        },
        created_by=requested_by,
    )
    with run_job(job.pk) as (running, job_progress):
        report = progress or job_progress
        index, as_of = team_index(team=team)
        matches = []
        seen: set[tuple[int, int]] = set()
        for done, account_id in enumerate(ids, start=1):
            if account_id in index:
                for match in index.top_k(account_id, TOP_K):
                    if match.score < TOP_K_MIN_SCORE:
                        break
                    if (match.a_id, match.b_id) not in seen:  # two new accounts find each other
                        seen.add((match.a_id, match.b_id))
                        matches.append(match)
            report(done, len(ids), f"Similar accounts: {done:,} of {len(ids):,}")
        counts = save_matches(team=team, matches=matches, job=running)
        flags = flag_possible_recreations(team=team, matches=matches, job=running, user=requested_by)
        result = {
            "scope": SCOPE,
            "as_of": as_of.isoformat(),
            "accounts": len(index),
            "refreshed": len(ids),
            "pairs": len(matches),
            "created": counts.created,
            "updated": counts.updated,
            "recreation_flags": flags,
        }
        finish_job(running.pk, result=result, message=f"Similar accounts of {len(ids):,} accounts")
    job.refresh_from_db()
    return job
