"""Jobs run on a real Celery worker through the configured broker (Redis in CI)."""

import threading

import pytest
from celery.signals import task_postrun

from cases.models import AuditEvent, Job, JobStatus
from cases.services.cases import add_account_to_case, start_case_recount
from cases.tasks import recount_case_task
from tests.factories import AccountFactory, CaseFactory


@pytest.fixture
def finished_tasks():
    """Task ids the worker has finished running, with an event to wait on instead of sleeping."""
    done: dict[str, threading.Event] = {}
    lock = threading.Lock()

    def on_postrun(task_id=None, **kwargs):
        with lock:
            done.setdefault(task_id, threading.Event()).set()
            done.setdefault("any", threading.Event()).set()

    task_postrun.connect(on_postrun, weak=False)
    yield done
    task_postrun.disconnect(on_postrun)


@pytest.mark.worker
def test_recount_runs_on_a_real_worker_and_succeeds(celery_worker, finished_tasks, team_a, moderator):
    case = CaseFactory(team=team_a)
    for _ in range(2):
        add_account_to_case(case=case, account=AccountFactory(team=team_a), added_by=moderator)

    finished_tasks.setdefault("any", threading.Event())
    job = start_case_recount(case=case, requested_by=moderator)
    assert finished_tasks["any"].wait(timeout=30), "the worker did not run the job"

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert (job.progress, job.total) == (3, 3)
    assert job.attempts == 1 and job.started_at and job.finished_at
    assert job.result == {"account_count": 2, "evidence_count": 0, "labeled_account_count": 0}
    case.refresh_from_db()
    assert case.account_count == 2


@pytest.mark.django_db
def test_a_finished_job_is_not_run_again(team_a, moderator):
    """A message redelivered after the job finished (worker died before acking) changes nothing."""
    case = CaseFactory(team=team_a)
    job = Job.objects.create(team=team_a, kind="recount_case", params={"case_id": case.pk})
    recount_case_task(job.pk)
    events = AuditEvent.objects.count()
    recount_case_task(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 1
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_a_failing_job_records_why(team_a):
    job = Job.objects.create(team=team_a, kind="recount_case", params={"case_id": 10**9})
    with pytest.raises(Exception, match="does not exist"):
        recount_case_task(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "DoesNotExist" in job.message and job.finished_at is not None


@pytest.fixture
def running_job(team_a):
    from django.utils import timezone

    from cases.models import JobKind

    return Job.objects.create(
        team=team_a,
        kind=JobKind.RECOUNT_CASE,
        status=JobStatus.RUNNING,
        attempts=1,
        heartbeat_at=timezone.now(),
    )


def _started(job) -> bool:
    from cases.services.jobs import run_job

    with run_job(job.pk) as (running, _):
        return running is not None


@pytest.mark.django_db
def test_a_duplicate_message_does_not_start_a_job_its_live_runner_is_running(running_job):
    import socket
    import subprocess
    import sys

    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        running_job.runner = f"{socket.gethostname()}:{alive.pid}"
        running_job.save(update_fields=["runner"])
        assert not _started(running_job)
        running_job.refresh_from_db()
        assert running_job.attempts == 1 and running_job.status == JobStatus.RUNNING
    finally:
        alive.kill()
        alive.wait()
    # the runner is gone (its worker was killed): the redelivered message runs it again at once
    assert _started(running_job)
    running_job.refresh_from_db()
    assert running_job.attempts == 2


@pytest.mark.django_db
def test_a_runner_on_another_host_counts_as_alive_while_its_lease_holds(running_job, settings):
    import datetime

    running_job.runner = "another-host.invalid:4242"
    running_job.save(update_fields=["runner"])
    assert not _started(running_job)
    stale = running_job.heartbeat_at - datetime.timedelta(seconds=settings.JOB_LEASE_SECONDS + 1)
    Job.objects.filter(pk=running_job.pk).update(heartbeat_at=stale)
    assert _started(running_job)
