"""The whole worker killed in the middle of a job (issue 8, item 8, "kill the whole worker").

SIGKILL to a real ``celery -A annotator worker --pool=prefork --concurrency=1`` and its pool child
together (its process group: pids this test started) while a similarity sweep is half-way. Nothing
hands the message back: it stays unacknowledged in Redis until CELERY_VISIBILITY_TIMEOUT (2 h).
A new worker is started; a real ``celery beat`` runs the job reconciler every
RECONCILE_INTERVAL_SECONDS, which finds the job ``running`` with a heartbeat older than
JOB_LEASE_SECONDS and sends it again. The job must be running again within the documented bound,
lease + reconcile interval after its last heartbeat (set short here through the same variables
production reads), and finish with the result of an undisturbed run of the same sweep on the same
data: the same pairs and scores, stored once each, the partitions done before the kill not redone.

Broker: a Redis server of the test's own (tests/faults/private_broker.py); database: the test's.
"""

from __future__ import annotations

import time

import pytest

from bench.similarity_db import load_corpus
from bench.synthetic import generate as generate_corpus
from cases.models import AuditEvent, Job, JobStatus, SimilaritySuggestion
from cases.services.job_reconciler import REQUEUED_VERB
from cases.services.jobs import run_job
from cases.services.similarity import (
    create_similarity_sweep_job,
    run_similarity_sweep,
    start_similarity_sweep,
)
from tests.support import wait_for

from .private_broker import PrivateRedis, app_broker, start_beat, start_worker

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.worker]

PARTITIONS = 8
# Short on purpose, through the variables production reads. The lease must still exceed the
# longest gap between a sweep's heartbeats (bounded at 2 s), with room for a loaded machine.
LEASE_SECONDS = 6
RECONCILE_INTERVAL = 2
BOUND = LEASE_SECONDS + RECONCILE_INTERVAL
SLACK = 3.0  # seconds: beat's tick, the reconcile task's trip through the broker, a loaded machine
SCORE_TOLERANCE = 1e-9
JOB_TIMEOUT = 180


@pytest.fixture
def broker(transactional_db):
    """A private Redis, this process's Celery app sending to it, and the processes the test starts
    (stopped, by their own process groups, before the database is flushed)."""
    server = PrivateRedis().start()
    processes = []
    with app_broker(server.url):
        yield server, processes
        for process in processes:
            process.stop()
    server.stop()


def suggestion_rows(team) -> dict[tuple[int, int], float]:
    rows = list(SimilaritySuggestion.objects.filter(team=team).values_list("account_a", "account_b", "score"))
    pairs = {(a, b): score for a, b, score in rows}
    assert len(pairs) == len(rows), "a pair is stored twice"
    return pairs


def comparable(result: dict) -> dict:
    """A sweep's result without what differs between two runs by design: the index's timestamp,
    and whether a pair saved by the killed attempt counts as created or updated in its partition."""
    out = {k: v for k, v in result.items() if k not in ("as_of", "created", "updated", "partitions")}
    out["written"] = result["created"] + result["updated"]
    out["partitions"] = {
        p: {"pairs": s["pairs"], "flags": s["flags"], "written": s["created"] + s["updated"]}
        for p, s in result["partitions"].items()
    }
    return out


def test_a_job_whose_whole_worker_is_killed_is_run_again_by_the_reconciler_and_completes_as_undisturbed(
    broker, team_a, moderator
):
    server, processes = broker
    env = {
        "JOB_LEASE_SECONDS": str(LEASE_SECONDS),
        "RECONCILE_INTERVAL_SECONDS": str(RECONCILE_INTERVAL),
        "RECONCILE_QUEUED_AFTER": "120",  # this test is about the lease, not about lost sends
    }
    corpus = generate_corpus(3, organic=1500, default_heavy=375, post_mean=4)
    load_corpus(team_a, corpus.records)

    # Undisturbed, in this process: the same service on the same data.
    began = time.monotonic()
    undisturbed = create_similarity_sweep_job(team=team_a, created_by=moderator, partitions=PARTITIONS)
    with run_job(undisturbed.pk) as (running, progress):
        run_similarity_sweep(job=running, progress=progress)
    undisturbed_seconds = time.monotonic() - began
    undisturbed.refresh_from_db()
    expected = suggestion_rows(team_a)
    assert undisturbed.status == JobStatus.SUCCEEDED and len(expected) == undisturbed.result["pairs"] > 0
    SimilaritySuggestion.objects.filter(team=team_a).delete()

    first = start_worker(server.url, **env)
    processes.append(first)
    processes.append(start_beat(server.url, **env))
    job = start_similarity_sweep(team=team_a, created_by=moderator, partitions=PARTITIONS)

    def half_way():
        assert first.alive(), first.tail()
        job.refresh_from_db()
        assert not job.is_finished, f"the sweep finished before it could be killed: {job.message}"
        return job.status == JobStatus.RUNNING and 0 < len(job.result.get("partitions_done", [])) < PARTITIONS

    wait_for("the sweep to record a partition done", half_way, timeout=JOB_TIMEOUT, interval=0.02)
    first.kill()  # the main process and its pool child, together
    killed_at = time.monotonic()
    at_kill = Job.objects.get(pk=job.pk)
    assert at_kill.status == JobStatus.RUNNING and at_kill.attempts == 1, at_kill.message
    done_before = set(at_kill.result["partitions_done"])

    second = start_worker(server.url, **env)
    processes.append(second)

    def started_again():
        assert second.alive(), second.tail()
        job.refresh_from_db()
        return job.attempts == 2

    wait_for("the reconciler to send the job to the new worker", started_again, timeout=BOUND + 60)
    restarted_after = time.monotonic() - killed_at
    events = list(AuditEvent.objects.filter(verb=REQUEUED_VERB, target_id=str(job.pk)).order_by("at"))
    assert len(events) == 1, [(e.at, e.data) for e in events]
    (requeued,) = events
    assert requeued.user is None and requeued.team_id == team_a.pk
    assert requeued.data["reason"] == "lease expired" and requeued.data["status_was"] == JobStatus.RUNNING
    # The documented bound: sent again within lease + reconcile interval of its last heartbeat.
    silent_for = (requeued.at - at_kill.heartbeat_at).total_seconds()
    assert LEASE_SECONDS <= silent_for <= BOUND + SLACK, silent_for

    def finished():
        assert second.alive(), second.tail()
        job.refresh_from_db()
        return job.is_finished

    wait_for("the job to finish on the new worker", finished, timeout=JOB_TIMEOUT)
    completed_after = time.monotonic() - killed_at
    assert job.status == JobStatus.SUCCEEDED, f"{job.message}\n{second.tail()}"
    assert job.attempts == 2

    # The result of an undisturbed run: same pairs and scores, stored once each, by this job.
    stored = suggestion_rows(team_a)
    assert stored.keys() == expected.keys()
    assert all(abs(stored[pair] - expected[pair]) <= SCORE_TOLERANCE for pair in expected)
    assert SimilaritySuggestion.objects.filter(team=team_a).exclude(job=job).count() == 0
    assert comparable(job.result) == comparable(undisturbed.result)
    for partition in done_before:  # not computed again
        assert job.result["partitions"][str(partition)] == at_kill.result["partitions"][str(partition)]
    # Sent again once: a second reconcile found it running with a fresh heartbeat, or finished.
    assert AuditEvent.objects.filter(verb=REQUEUED_VERB).count() == 1
    print(
        f"\nwhole worker killed: undisturbed sweep {undisturbed_seconds:.1f} s; killed after partitions "
        f"{sorted(done_before)}; silent {silent_for:.1f} s before it was sent again (bound {BOUND} s), "
        f"running again {restarted_after:.1f} s and finished {completed_after:.1f} s after the kill"
    )
