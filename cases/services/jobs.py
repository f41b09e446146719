"""Jobs: a row the UI polls, and the bookkeeping a Celery task does around its work.

Progress writes are bookkeeping on the Job row itself and are not audited; starting a job is.
"""

import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cases.models import Job, JobStatus, Team

from .access import require_member
from .audit import record_event
from .job_reconciler import running_elsewhere, send_job

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
    # A broker that is down costs the request a logged warning, not a 500: the job stays queued
    # and the reconciler (services.job_reconciler) sends it again.
    transaction.on_commit(partial(send_job, task, job.pk))
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


GAVE_UP_VERB = "job.gave_up"


def this_runner() -> str:
    """This process as a job's runner, "host:pid" (asked each time: a prefork worker imports this
    module before it forks the children that run the jobs)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _runner_alive(job: Job) -> bool:
    """Whether another live process is running this job: a duplicate message (the reconciler sent
    a job again whose first message was only slow) must not start it twice. A runner on this
    host is checked by its pid; one on another host counts as alive while its lease holds
    (``job_reconciler.running_elsewhere``). A runner that died (its worker was killed, and the
    message came back at once) is not alive: the job runs again now."""
    if job.status != JobStatus.RUNNING or not job.runner:
        return False
    host, _, pid = job.runner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return running_elsewhere(job)
    if int(pid) == os.getpid():  # this process ran it before and is asked again: it is not running now
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        pass
    return running_elsewhere(job)


def max_attempts() -> int:
    """How many times a job may be started without finishing (settings.JOB_MAX_ATTEMPTS)."""
    return max(1, int(getattr(settings, "JOB_MAX_ATTEMPTS", 3)))


def gave_up_message(attempts: int) -> str:
    return (
        f"Gave up: the job ended its worker {attempts} times (the process running it died before "
        "it finished); it is not run again."
    )


def _give_up(job: Job, limit: int) -> None:
    """Mark a job that keeps killing its worker failed, with one audit event. In the caller's
    transaction, with the row locked."""
    logger.error("job %s was started %s times without finishing; giving up on it", job.pk, job.attempts)
    last = {"progress": job.progress, "total": job.total, "message": job.message}
    job.status = JobStatus.FAILED
    job.message = gave_up_message(job.attempts)[:500]
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "message", "finished_at"])
    record_event(
        team=job.team,
        user=None,
        verb=GAVE_UP_VERB,
        target=job,
        data={
            "kind": job.kind,
            "attempts": job.attempts,
            "max_attempts": limit,
            "started_at": job.started_at,
            "heartbeat_at": job.heartbeat_at,
            "last": last,
        },
    )


@contextmanager
def run_job(job_id: int) -> Iterator[tuple[Job, JobProgress]]:
    """Mark the job running, hand its code a progress callback, and record how it ended.

    The caller gets ``(None, None)`` and must return, without running anything, when:

    - the job already finished (a redelivered message after a worker died between finishing and
      acknowledging);
    - the job has already been started ``JOB_MAX_ATTEMPTS`` times without finishing: each of those
      attempts ended its worker (a message is handed out again only when the process running it
      died: killed, out of memory, a crash in native code). Such a poison job is marked failed
      ("gave up"), with one ``job.gave_up`` audit event, and the task returns normally so its
      message is acknowledged and leaves the queue instead of killing workers forever.
    """
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        limit = max_attempts()
        if job.is_finished:
            logger.info("job %s already %s; not running it again", job_id, job.status)
            job = None
        elif _runner_alive(job):
            logger.info("job %s is running in %s; not starting it twice", job_id, job.runner)
            job = None
        elif job.attempts >= limit:
            _give_up(job, limit)
            job = None
        else:
            job.status = JobStatus.RUNNING
            job.attempts += 1
            job.started_at = job.started_at or timezone.now()
            job.heartbeat_at = timezone.now()
            job.runner = this_runner()
            job.save(update_fields=["status", "attempts", "started_at", "heartbeat_at", "runner"])
    if job is None:
        yield None, None
        return
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
