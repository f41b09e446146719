"""The job reconciler: sends a job's message again when the one it had was lost.

A Job row is the truth; a Celery message only says "run job N". Two faults leave a row that no
message will ever run:

- the broker was down when ``start_job`` sent the message after its commit (``send_job`` logs
  that and the request answers normally): the job stays ``queued``;
- the whole worker died (SIGKILL, a lost machine) while the job ran: its message stays
  unacknowledged in Redis until ``CELERY_VISIBILITY_TIMEOUT`` (2 h), and the job stays ``running``
  with a heartbeat that no longer moves.

``reconcile_jobs`` (run by beat every ``RECONCILE_INTERVAL_SECONDS``, ``reconcile_jobs_task``)
finds both and sends the job's own task again, by id:

- a ``queued`` job not sent for ``RECONCILE_QUEUED_AFTER`` seconds (since it was created, or since
  the reconciler last sent it);
- a ``running`` job whose lease expired: no heartbeat for ``JOB_LEASE_SECONDS``. A running job
  with a fresh heartbeat is never sent again, so a job that is alive does not run twice at once.
  The lease must exceed the longest gap between two heartbeats of any job: a sweep writes one at
  least every 0.5 s (longest measured gap 1.4 s, bounded at 2 s); an import one per batch of 5,000
  lines (a fraction of a second at the measured 20,000-36,000 lines/s) after counting the file's
  lines (seconds even for the 4 GiB limit); the top-k refresh of an account or of a batch none while
  it builds the team's index (47-160 s measured at 1M accounts). The 300 s default covers them all.

A job sent again is set back to ``queued`` with ``heartbeat_at`` = when it was sent, which is what
stops the next run from sending it again before its time; ``attempts`` is left alone (``run_job``
counts attempts, and gives up on a job that keeps killing its worker). A job that no task can
resume (a top-k batch run in-process by ``refresh_similar_for_accounts``, whose own task message
is redelivered on its own and records a new row) is marked ``failed`` instead. Each job sent again
or given up records one audit event (``job.requeued`` / ``job.abandoned``, user None: the system).

Rows are locked with SKIP LOCKED, so two reconcilers at once (or a worker's ``run_job`` holding a
row) never handle a job twice; a second run straight after the first finds nothing to do.
Duplicates that still happen (a queued job re-sent while its first message waited behind a long
backlog, the lost message coming back from Redis after the visibility timeout) are safe because
``run_job`` refuses a finished job and every job's effects are keyed by its id.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from kombu.exceptions import KombuError

from cases.models import Job, JobKind, JobStatus

from .audit import record_event

logger = logging.getLogger(__name__)

REQUEUED_VERB = "job.requeued"
ABANDONED_VERB = "job.abandoned"
# Jobs handled per run; the rest wait for the next run (a minute later).
BATCH = 200

try:  # what redis-py raises, when kombu does not wrap it
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover - redis is a runtime dependency
    RedisError = KombuError

# What a broker that is down, hung or refusing raises from ``task.delay``: kombu's
# OperationalError (a connection refused or timed out, after the publish retry policy), redis-py's
# errors, and socket errors (the filesystem transport's too).
BROKER_ERRORS = (KombuError, RedisError, OSError)


def send_job(task, job_id: int) -> bool:
    """Send ``task(job_id)`` to the broker. True when it was sent; False, logged, when the broker
    cannot take it now: the Job row stays as it is and ``reconcile_jobs`` sends it later.

    ``start_job`` calls this after its transaction commits, so a broker outage never turns a
    request that already committed its job into a 500, and with the short connection and socket
    timeouts in settings it costs the request about 2 s at most.
    """
    try:
        task.delay(job_id)
    except BROKER_ERRORS as exc:
        logger.warning(
            "job %s not sent to the broker (%s: %s); it stays queued and the reconciler sends it later",
            job_id,
            type(exc).__name__,
            exc,
        )
        return False
    return True


def task_for(job: Job):
    """The Celery task that runs ``job`` by its id: the one its ``start_job`` call sent. None for a
    job no task runs by id (the top-k refresh of a batch of accounts, run in-process)."""
    from cases import tasks  # tasks import services; import here, not at the top

    if job.kind == JobKind.SIMILARITY_SWEEP:
        scope = (job.params or {}).get("scope")
        if scope == "account":
            return tasks.refresh_similar_for_account_task
        if scope == "accounts":
            return None
        return tasks.similarity_sweep_task  # team, platform and case sweeps
    return {
        JobKind.RECOUNT_CASE: tasks.recount_case_task,
        JobKind.IMPORT_BUNDLE: tasks.import_bundle_task,
        JobKind.IMPORT_INDICATORS: tasks.import_indicators_task,
    }.get(job.kind)


def lease_seconds() -> int:
    return int(settings.JOB_LEASE_SECONDS)


def running_elsewhere(job: Job, now: datetime | None = None) -> bool:
    """True for a running job whose lease holds: its heartbeat is younger than JOB_LEASE_SECONDS,
    so some process is still working on it and it must not be started again."""
    if job.status != JobStatus.RUNNING or job.heartbeat_at is None:
        return False
    now = now or timezone.now()
    return job.heartbeat_at > now - timedelta(seconds=lease_seconds())


def _last_seen(job: Job) -> datetime:
    return job.heartbeat_at or job.started_at or job.created_at


def reconcile_jobs(now: datetime | None = None) -> dict[str, Any]:
    """Send again every job whose message was lost (see the module's docstring); returns the ids
    handled: ``requeued`` (sent again), ``abandoned`` (marked failed: no task resumes them) and
    ``unsent`` (the broker refused; left as they were for the next run)."""
    now = now or timezone.now()
    queued_before = now - timedelta(seconds=int(settings.RECONCILE_QUEUED_AFTER))
    lease_before = now - timedelta(seconds=lease_seconds())
    outcome: dict[str, Any] = {"requeued": [], "abandoned": [], "unsent": []}
    with transaction.atomic():
        stale = (
            Job.objects.annotate(seen=Coalesce("heartbeat_at", "started_at", "created_at"))
            .filter(
                Q(status=JobStatus.QUEUED, seen__lt=queued_before)
                | Q(status=JobStatus.RUNNING, seen__lt=lease_before)
            )
            .select_related("team")
            .order_by("seen", "pk")
        )
        if connection.features.has_select_for_update_skip_locked:
            stale = stale.select_for_update(skip_locked=True, of=("self",))
        jobs = list(stale[:BATCH])
        for position, job in enumerate(jobs):
            status_was, seen = job.status, _last_seen(job)
            data = {
                "kind": job.kind,
                "status_was": status_was,
                "reason": "lease expired" if status_was == JobStatus.RUNNING else "never sent",
                "last_seen": seen,
                "attempts": job.attempts,
            }
            task = task_for(job)
            if task is None:
                job.status = JobStatus.FAILED
                job.message = "Stopped: the process running it was lost, and no worker can resume it."
                job.finished_at = now
                job.save(update_fields=["status", "message", "finished_at"])
                record_event(team=job.team, user=None, verb=ABANDONED_VERB, target=job, data=data)
                outcome["abandoned"].append(job.pk)
                continue
            # Sent before this transaction commits: a worker that gets it at once waits in run_job
            # for this row's lock, then finds it queued. If the send fails, the row is not touched
            # and the next run tries again; once one send failed the broker is down for the rest.
            if not send_job(task, job.pk):
                outcome["unsent"] = [j.pk for j in jobs[position:]]
                break
            job.status = JobStatus.QUEUED
            job.heartbeat_at = now  # for a queued job: when it was last sent
            if status_was == JobStatus.RUNNING:
                job.message = "Waiting for a worker again: the one running it stopped answering."
            job.save(update_fields=["status", "heartbeat_at", "message"])
            record_event(team=job.team, user=None, verb=REQUEUED_VERB, target=job, data=data)
            outcome["requeued"].append(job.pk)
    if any(outcome.values()):
        logger.warning(
            "job reconciler: sent again %s, abandoned %s, broker refused %s",
            outcome["requeued"],
            outcome["abandoned"],
            outcome["unsent"],
        )
    return outcome
