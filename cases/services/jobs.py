"""Jobs: a row the UI polls, and the bookkeeping a Celery task does around its work.

Progress writes are bookkeeping on the Job row itself and are not audited; starting a job is.
"""

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.utils import timezone

from cases.models import Job, JobStatus, Team

from .access import require_member
from .audit import record_event

logger = logging.getLogger(__name__)

# A progress callback: progress(done, total, message). Jobs write it to their row; management
# commands draw it as a terminal bar. Services that do long work accept one.
Progress = Callable[[int, int, str], None]


@transaction.atomic
def start_job(*, team: Team, kind: str, task, params: dict[str, Any], created_by=None) -> Job:
    """Create a queued Job and enqueue its task with the job's id only, once the row is committed
    (a worker must never look for a job that does not exist yet)."""
    require_member(created_by, team)
    job = Job.objects.create(team=team, kind=kind, params=params, created_by=created_by)
    record_event(
        team=team, user=created_by, verb="job.started", target=job, data={"kind": kind, "params": params}
    )
    transaction.on_commit(lambda: task.delay(job.pk))
    return job


class JobProgress:
    """Writes progress to the Job row, at most every ``interval`` seconds (and always at the end)."""

    def __init__(self, job_id: int, interval: float = 0.5):
        self.job_id = job_id
        self.interval = interval
        self._last = 0.0

    def __call__(self, done: int, total: int, message: str = "") -> None:
        now = time.monotonic()
        if done < total and now - self._last < self.interval:
            return
        self._last = now
        Job.objects.filter(pk=self.job_id).update(
            progress=min(done, total) if total else done,
            total=total,
            message=message[:500],
            heartbeat_at=timezone.now(),
        )


@contextmanager
def run_job(job_id: int) -> Iterator[tuple[Job, JobProgress]]:
    """Mark the job running, hand its code a progress callback, and record how it ended.

    A job that already finished is not run again (a redelivered message after a worker died
    between finishing and acknowledging): the caller gets ``None``.
    """
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if job.is_finished:
            logger.info("job %s already %s; not running it again", job_id, job.status)
            yield None, None
            return
        job.status = JobStatus.RUNNING
        job.attempts += 1
        job.started_at = job.started_at or timezone.now()
        job.heartbeat_at = timezone.now()
        job.save(update_fields=["status", "attempts", "started_at", "heartbeat_at"])
    progress = JobProgress(job_id)
    try:
        yield job, progress
    except Exception as exc:
        logger.exception("job %s failed", job_id)
        Job.objects.filter(pk=job_id).update(
            status=JobStatus.FAILED,
            message=f"{type(exc).__name__}: {exc}"[:500],
            finished_at=timezone.now(),
        )
        raise


def finish_job(job_id: int, *, result: dict[str, Any], message: str = "Done") -> None:
    Job.objects.filter(pk=job_id).update(
        status=JobStatus.SUCCEEDED, result=result, message=message[:500], finished_at=timezone.now()
    )
