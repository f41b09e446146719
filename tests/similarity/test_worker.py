"""A sweep on a real Celery worker, through the configured broker (Redis in CI), on generated data."""

import threading

import pytest
from celery.signals import task_postrun

from bench.similarity_db import load_corpus
from bench.synthetic import generate
from cases.models import AuditEvent, JobStatus, SimilaritySuggestion
from cases.services.jobs import JobProgress
from cases.services.similarity import start_similarity_sweep


@pytest.fixture
def finished():
    """Set when the worker has finished running a task: waited on, never slept on."""
    done = threading.Event()

    def on_postrun(**kwargs):
        done.set()

    task_postrun.connect(on_postrun, weak=False)
    yield done
    task_postrun.disconnect(on_postrun)


@pytest.fixture
def progress_calls(monkeypatch):
    """Every progress report the job makes, as the worker's JobProgress receives it."""
    calls = []
    lock = threading.Lock()
    report = JobProgress.__call__

    def recording(self, done, total, message=""):
        with lock:
            calls.append((done, total, message))
        report(self, done, total, message)

    monkeypatch.setattr(JobProgress, "__call__", recording)
    return calls


@pytest.mark.worker
def test_a_sweep_runs_on_a_real_worker_with_progress(
    celery_worker, finished, progress_calls, team_a, moderator
):
    corpus = generate(5, organic=400, default_heavy=100, network_scale=0.75, post_mean=4)
    pk_of = load_corpus(team_a, corpus.records)
    network_of = {pk_of[i]: name for i, name in corpus.network.items()}

    job = start_similarity_sweep(team=team_a, created_by=moderator, partitions=4)
    assert finished.wait(timeout=120), "the worker did not run the sweep"

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.attempts == 1 and job.heartbeat_at and job.finished_at
    assert job.total > 0 and job.progress == job.total
    assert job.result["partitions_done"] == [0, 1, 2, 3]

    dones = [done for done, _, _ in progress_calls]
    assert len(progress_calls) >= 6 and dones == sorted(dones)
    assert progress_calls[-1][0] == progress_calls[-1][1] == job.total
    messages = " | ".join(message for _, _, message in progress_calls)
    for phase in ("Reading accounts and posts", "Indexing accounts", "partition 4 of 4"):
        assert phase in messages

    stored = list(SimilaritySuggestion.objects.filter(team=team_a))
    assert len(stored) == job.result["pairs"] > 0
    within = [
        s for s in stored if network_of.get(s.account_a_id) == network_of.get(s.account_b_id) is not None
    ]
    assert len(within) >= 0.9 * len(stored)
    for suggestion in stored:
        assert suggestion.job_id == job.pk and suggestion.signals
        assert all(set(signal) == {"signal", "score", "detail"} for signal in suggestion.signals)
    (event,) = AuditEvent.objects.filter(verb="similarity.sweep_completed")
    assert event.user == moderator and event.data["pairs"] == len(stored)
