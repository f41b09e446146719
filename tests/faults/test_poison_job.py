"""The poison-job guard: a job whose attempts keep ending its worker is given up on.

A job's message is handed out again only when the process running it died (acks_late +
task_reject_on_worker_lost), so a job started JOB_MAX_ATTEMPTS times without finishing has killed
its worker that many times. ``run_job`` then marks it failed with one ``job.gave_up`` event and
the task returns normally: the message is acknowledged and leaves the queue.

The unit tests below die the way a kill -9 does — a BaseException that ``run_job`` does not
record, so the row stays ``running`` — and run the task function again as a redelivery would.
The end-to-end test at the bottom has the kernel kill a real worker's child on every attempt.
"""

import pytest

from cases import tasks
from cases.models import AuditEvent, Case, Job, JobKind, JobStatus
from cases.services.jobs import GAVE_UP_VERB, gave_up_message
from cases.tasks import recount_case_task
from tests.factories import AccountFactory, CaseFactory


class WorkerKilled(BaseException):
    """Not an Exception: like a kill -9 of the worker child, nothing records it on the job."""


@pytest.fixture
def case(team_a, moderator):
    from cases.services.cases import add_account_to_case

    case = CaseFactory(team=team_a)
    for _ in range(2):
        add_account_to_case(case=case, account=AccountFactory(team=team_a), added_by=moderator)
    Case.objects.filter(pk=case.pk).update(account_count=0)
    return case


@pytest.fixture
def recount_job(team_a, case, moderator):
    return Job.objects.create(
        team=team_a, kind=JobKind.RECOUNT_CASE, params={"case_id": case.pk}, created_by=moderator
    )


@pytest.fixture
def deadly(monkeypatch):
    """The recount kills its worker while it is half-way: the calls it got are counted."""
    calls = []

    def recount_case(*, case_id, progress):
        calls.append(case_id)
        progress(1, 3, "counting")
        raise WorkerKilled

    monkeypatch.setattr(tasks, "recount_case", recount_case)
    return calls


def gave_up_events(job):
    return AuditEvent.objects.filter(verb=GAVE_UP_VERB, target_type="cases.job", target_id=str(job.pk))


@pytest.mark.django_db
def test_a_job_that_kills_its_worker_three_times_is_given_up_on_the_fourth_delivery(
    recount_job, deadly, case
):
    for attempt in (1, 2, 3):
        with pytest.raises(WorkerKilled):
            recount_case_task(recount_job.pk)
        recount_job.refresh_from_db()
        assert (recount_job.status, recount_job.attempts) == (JobStatus.RUNNING, attempt)
    assert not gave_up_events(recount_job).exists()

    # The fourth delivery: not run, marked failed, and the task returns normally (acknowledged).
    assert recount_case_task(recount_job.pk) is None
    assert len(deadly) == 3
    recount_job.refresh_from_db()
    assert recount_job.status == JobStatus.FAILED and recount_job.is_finished
    assert recount_job.attempts == 3 and recount_job.finished_at is not None
    assert recount_job.message == gave_up_message(3)
    assert recount_job.message.startswith("Gave up: the job ended its worker 3 times")
    (event,) = gave_up_events(recount_job)
    assert event.user is None and event.team_id == recount_job.team_id
    assert event.data["attempts"] == 3 and event.data["max_attempts"] == 3
    assert event.data["kind"] == JobKind.RECOUNT_CASE
    assert event.data["last"] == {"progress": 1, "total": 3, "message": "counting"}
    case.refresh_from_db()
    assert case.account_count == 0  # the work never ran to its end

    # A fifth delivery (the message was somehow still around) changes nothing.
    assert recount_case_task(recount_job.pk) is None
    recount_job.refresh_from_db()
    assert recount_job.attempts == 3 and len(deadly) == 3
    assert gave_up_events(recount_job).count() == 1


@pytest.mark.django_db
def test_a_job_that_died_fewer_times_than_the_limit_still_runs_and_succeeds(recount_job, case):
    Job.objects.filter(pk=recount_job.pk).update(status=JobStatus.RUNNING, attempts=2)

    recount_case_task(recount_job.pk)

    recount_job.refresh_from_db()
    assert recount_job.status == JobStatus.SUCCEEDED, recount_job.message
    assert recount_job.attempts == 3
    assert not gave_up_events(recount_job).exists()
    case.refresh_from_db()
    assert case.account_count == 2


@pytest.mark.django_db
def test_the_limit_is_the_setting(recount_job, deadly, settings):
    settings.JOB_MAX_ATTEMPTS = 1
    with pytest.raises(WorkerKilled):
        recount_case_task(recount_job.pk)
    recount_case_task(recount_job.pk)
    recount_job.refresh_from_db()
    assert recount_job.status == JobStatus.FAILED and recount_job.attempts == 1
    assert recount_job.message == gave_up_message(1) and len(deadly) == 1
    assert gave_up_events(recount_job).get().data["max_attempts"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize("status", [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED])
def test_a_finished_job_past_the_limit_is_left_as_it_is(recount_job, deadly, status):
    Job.objects.filter(pk=recount_job.pk).update(status=status, attempts=3, message="as it was")
    assert recount_case_task(recount_job.pk) is None
    recount_job.refresh_from_db()
    assert (recount_job.status, recount_job.attempts, recount_job.message) == (status, 3, "as it was")
    assert not gave_up_events(recount_job).exists() and deadly == []


@pytest.mark.django_db
def test_a_job_that_fails_with_an_error_is_not_counted_as_a_worker_death(team_a):
    """An exception is recorded on the row (failed, finished): there is no redelivery to guard."""
    job = Job.objects.create(team=team_a, kind=JobKind.RECOUNT_CASE, params={"case_id": 10**9})
    with pytest.raises(Exception, match="does not exist"):
        recount_case_task(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "DoesNotExist" in job.message
    assert not gave_up_events(job).exists()


# --- end to end: the kernel kills a real worker's child on every attempt ----------------------------------

CHILD_CPU_SECONDS = 1


@pytest.fixture
def cpu_limited_worker(transactional_db):
    """A real prefork worker whose pool children the kernel SIGKILLs after CHILD_CPU_SECONDS of
    CPU (RLIMIT_CPU, as the OOM killer or a container limit would): tests/faults/worker.py."""
    from .real_worker import worker_factory

    start, stop_all = worker_factory()
    worker = start(FAULT_CHILD_CPU_SECONDS=str(CHILD_CPU_SECONDS))
    yield worker
    stop_all()


def queue_state(queue: str) -> tuple[int, int]:
    """(messages waiting on ``queue``, messages of ``queue`` delivered and not acknowledged)."""
    from annotator.celery import app

    with app.connection_for_write() as conn:
        client = conn.default_channel.client
        waiting = client.llen(queue)
        unacked = sum(1 for value in client.hvals("unacked") if queue.encode() in value)
    return waiting, unacked


@pytest.mark.faults
@pytest.mark.postgres
@pytest.mark.worker
def test_a_job_that_kills_its_real_worker_three_times_is_given_up_and_the_worker_goes_on(
    cpu_limited_worker, team_a, moderator, case
):
    from bench.similarity_db import load_corpus
    from bench.synthetic import generate
    from cases.models import SimilaritySuggestion
    from cases.services.cases import start_case_recount
    from cases.services.similarity import start_similarity_sweep
    from tests.support import wait_for

    worker = cpu_limited_worker
    # A sweep in one partition (nothing is recorded done before it ends) of 7,863 accounts needs
    # about twice the CPU a child is allowed (measured: 2.15 s): every attempt is killed.
    load_corpus(team_a, generate(3, organic=6000, default_heavy=1500, post_mean=4).records)
    job = start_similarity_sweep(team=team_a, created_by=moderator, partitions=1)

    def given_up():
        worker.assert_alive()
        job.refresh_from_db()
        return job.is_finished

    wait_for("the poison job to be given up", given_up, timeout=300)
    assert job.status == JobStatus.FAILED, job.message
    assert job.attempts == 3 and job.message == gave_up_message(3)
    assert job.result.get("partitions_done", []) == []
    assert not SimilaritySuggestion.objects.filter(team=team_a).exists()
    assert gave_up_events(job).count() == 1
    log = worker.tail(lines=10_000)
    assert log.count("exited with 'signal 9 (SIGKILL)'") == 3, log

    # The fourth delivery returned normally: acknowledged, gone from the queue.
    wait_for("the poison message to leave the queue", lambda: queue_state(worker.queue) == (0, 0), timeout=30)

    # The worker goes on to the next job.
    recount = start_case_recount(case=case, requested_by=moderator)

    def recounted():
        worker.assert_alive()
        recount.refresh_from_db()
        return recount.is_finished

    wait_for("the next job", recounted, timeout=120)
    assert recount.status == JobStatus.SUCCEEDED and recount.attempts == 1, recount.message
    case.refresh_from_db()
    assert case.account_count == 2
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.FAILED, 3)
    log = worker.tail(lines=10_000)
    assert log.count("exited with 'signal 9 (SIGKILL)'") == 3, log
