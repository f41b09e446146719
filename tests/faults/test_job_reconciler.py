"""The job reconciler's rules, without processes: which jobs it sends again, what it records, and
that a second run does nothing. Sends are recorded at the broker's edge (``send_job``); the
tolerance of ``start_job`` is checked against a real broker connection that is refused."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from cases import tasks
from cases.models import AuditEvent, Job, JobKind, JobStatus
from cases.services import job_reconciler
from cases.services.cases import start_case_recount
from cases.services.job_reconciler import ABANDONED_VERB, REQUEUED_VERB, reconcile_jobs, running_elsewhere
from tests.factories import CaseFactory
from tests.support import free_port

from .private_broker import app_broker

pytestmark = [pytest.mark.faults]


@pytest.fixture
def sent(monkeypatch):
    """(task name, job id) of every send; ``sent.refuse = True`` makes the broker refuse."""

    class Sent(list):
        refuse = False

    calls = Sent()

    def send_job(task, job_id):
        if calls.refuse:
            return False
        calls.append((task.name, job_id))
        return True

    monkeypatch.setattr(job_reconciler, "send_job", send_job)
    return calls


@pytest.fixture
def knobs(settings):
    settings.JOB_LEASE_SECONDS = 300
    settings.RECONCILE_QUEUED_AFTER = 180
    return settings


def make(team, kind=JobKind.RECOUNT_CASE, *, status=JobStatus.QUEUED, age=0, beat=None, **fields):
    job = Job.objects.create(team=team, kind=kind, status=status, params=fields.pop("params", {}), **fields)
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(
        created_at=now - timedelta(seconds=age),
        heartbeat_at=None if beat is None else now - timedelta(seconds=beat),
        started_at=None if beat is None else now - timedelta(seconds=age),
    )
    job.refresh_from_db()
    return job


@pytest.mark.django_db
def test_old_queued_jobs_and_expired_leases_are_sent_again_by_their_own_task_once(team_a, sent, knobs):
    fresh_queued = make(team_a, age=60)
    old_queued = make(team_a, age=200)
    alive = make(team_a, JobKind.IMPORT_BUNDLE, status=JobStatus.RUNNING, age=900, beat=2, attempts=1)
    dead = make(
        team_a,
        JobKind.SIMILARITY_SWEEP,
        status=JobStatus.RUNNING,
        age=900,
        beat=301,
        attempts=1,
        params={"scope": "team"},
    )
    top_k = make(
        team_a,
        JobKind.SIMILARITY_SWEEP,
        status=JobStatus.RUNNING,
        age=900,
        beat=400,
        attempts=1,
        params={"scope": "account", "account_id": 1},
    )
    done = make(team_a, status=JobStatus.SUCCEEDED, age=900, beat=900)

    outcome = reconcile_jobs()

    assert sorted(outcome["requeued"]) == sorted([old_queued.pk, dead.pk, top_k.pk])
    assert outcome["abandoned"] == [] and outcome["unsent"] == []
    assert sorted(sent) == sorted(
        [
            (tasks.recount_case_task.name, old_queued.pk),
            (tasks.similarity_sweep_task.name, dead.pk),
            (tasks.refresh_similar_for_account_task.name, top_k.pk),
        ]
    )
    for job in (old_queued, dead, top_k):
        job.refresh_from_db()
        assert job.status == JobStatus.QUEUED and job.attempts in (0, 1)
    for job, status in (
        (fresh_queued, JobStatus.QUEUED),
        (alive, JobStatus.RUNNING),
        (done, JobStatus.SUCCEEDED),
    ):
        assert Job.objects.get(pk=job.pk).status == status
    assert running_elsewhere(Job.objects.get(pk=alive.pk)) and not running_elsewhere(dead)
    events = AuditEvent.objects.filter(verb=REQUEUED_VERB)
    assert sorted(int(e.target_id) for e in events) == sorted(outcome["requeued"])
    by_job = {int(e.target_id): e for e in events}
    assert by_job[dead.pk].data["reason"] == "lease expired" and by_job[dead.pk].user is None
    assert by_job[old_queued.pk].data["reason"] == "never sent"
    assert all(e.team_id == team_a.pk for e in events)

    # Idempotent: straight after, nothing is due; a queued job re-sent is due again only after
    # RECONCILE_QUEUED_AFTER more seconds.
    assert reconcile_jobs() == {"requeued": [], "abandoned": [], "unsent": []}
    assert len(sent) == 3
    later = reconcile_jobs(now=timezone.now() + timedelta(seconds=181))
    assert sorted(later["requeued"]) == sorted([fresh_queued.pk, old_queued.pk, dead.pk, top_k.pk])


@pytest.mark.django_db
def test_a_job_no_task_can_resume_is_failed_and_a_refused_send_leaves_the_row_alone(team_a, sent, knobs):
    batch = make(
        team_a,
        JobKind.SIMILARITY_SWEEP,
        status=JobStatus.RUNNING,
        age=900,
        beat=600,
        attempts=1,
        params={"scope": "accounts", "account_ids": [1, 2]},
    )
    waiting = make(team_a, age=400)
    sent.refuse = True

    outcome = reconcile_jobs()

    assert outcome == {"requeued": [], "abandoned": [batch.pk], "unsent": [waiting.pk]}
    batch.refresh_from_db()
    assert batch.status == JobStatus.FAILED and batch.finished_at is not None
    (event,) = AuditEvent.objects.filter(verb=ABANDONED_VERB)
    assert event.target_id == str(batch.pk) and event.user is None
    assert Job.objects.get(pk=waiting.pk).heartbeat_at is None  # not marked as sent: tried next run
    sent.refuse = False
    assert reconcile_jobs()["requeued"] == [waiting.pk]


@pytest.mark.django_db(transaction=True)
def test_starting_a_job_while_the_broker_refuses_connections_answers_fast_and_leaves_it_queued(
    team_a, moderator, caplog
):
    case = CaseFactory(team=team_a)
    with app_broker(f"redis://127.0.0.1:{free_port()}/0"), caplog.at_level(logging.WARNING):
        began = time.monotonic()
        job = start_case_recount(case=case, requested_by=moderator)
        elapsed = time.monotonic() - began
    assert elapsed < 2.0, elapsed
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert f"job {job.pk} not sent to the broker" in caplog.text
