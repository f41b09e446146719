"""Redis stopped while people keep working (issue 8, item 8, "Redis stopped").

A Redis server of the test's own carries the jobs; a real ``celery -A annotator worker`` and a real
``celery beat`` (the job reconciler every 2 s here) run on it and on the test database. The test
kills that Redis (SIGKILL: no persistence, every message in it is gone) and for
FAULT_REDIS_OUTAGE_SECONDS (default 30) a moderator keeps working through the pages and the API:
claims and labels queue items, starts case recounts from the case page and imports through the
API, and polls the jobs. Every request must answer — no 500 — within REQUEST_BOUND seconds, and
every job started must be committed and stay ``queued`` (its message could not be sent).

Redis is then started again, empty, on the same port. Nothing is restarted by hand: the worker and
beat reconnect, beat's reconciler finds the jobs queued longer than RECONCILE_QUEUED_AFTER and
sends them again, and every job started during the outage must finish: zero jobs lost.
"""

from __future__ import annotations

import os
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases.models import Account, AuditEvent, Job, JobKind, JobStatus, Label
from cases.services.cases import add_account_to_case
from cases.services.job_reconciler import REQUEUED_VERB
from cases.services.queues import create_queue_from_case
from tests.factories import AccountFactory, CaseFactory
from tests.support import wait_for

from .private_broker import PrivateRedis, app_broker, start_beat, start_worker

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.worker]

# How long Redis stays down; CI runs the full 30 s, a developer may shorten it.
OUTAGE_SECONDS = float(os.environ.get("FAULT_REDIS_OUTAGE_SECONDS", "30"))
REQUEST_BOUND = 2.0  # seconds, each request, while the broker is down
RECONCILE_INTERVAL = 2
QUEUED_AFTER = 3
RECOVERY_TIMEOUT = 90  # the worker reconnects within ~40 s of the outage's start, then runs the jobs
ACCOUNTS = 60


@pytest.fixture
def broker(transactional_db):
    server = PrivateRedis().start()
    processes = []
    with app_broker(server.url):
        yield server, processes
        for process in processes:
            process.stop()
    server.stop()


def bundle(n: int) -> SimpleUploadedFile:
    accounts = [f'{{"type": "account", "platform": "x", "handle": "outage_{n}_{i}"}}' for i in range(3)]
    post = (
        f'{{"type": "post", "platform": "x", "account": "outage_{n}_0", "external_id": "{n}", "text": "hi"}}'
    )
    return SimpleUploadedFile(f"outage-{n}.jsonl", "\n".join([*accounts, post, ""]).encode())


class Timed:
    """The moderator's client, timing every request and holding it to the bound."""

    def __init__(self, client):
        self.client = client
        self.times: list[tuple[float, str, int]] = []

    def __call__(self, method: str, url: str, data=None, **kwargs):
        began = time.monotonic()
        response = getattr(self.client, method)(url, data, **kwargs)
        elapsed = time.monotonic() - began
        self.times.append((elapsed, f"{method.upper()} {url}", response.status_code))
        assert response.status_code < 500, (url, response.status_code, response.content[:500])
        assert elapsed < REQUEST_BOUND, f"{method.upper()} {url} took {elapsed:.2f} s"
        return response


def test_with_redis_down_every_request_answers_and_every_job_started_finishes_once_it_is_back(
    broker, team_a, lead, moderator, mod_client
):
    server, processes = broker
    env = {"RECONCILE_INTERVAL_SECONDS": str(RECONCILE_INTERVAL), "RECONCILE_QUEUED_AFTER": str(QUEUED_AFTER)}
    case = CaseFactory(team=team_a, title="Outage drill")
    for i in range(ACCOUNTS):
        add_account_to_case(
            case=case, account=AccountFactory(team=team_a, handle=f"drill_{i}"), added_by=lead
        )
    queue = create_queue_from_case(case=case, name="Outage drill", created_by=lead)
    processes.append(start_worker(server.url, **env))
    processes.append(start_beat(server.url, **env))
    worker, beat = processes
    request = Timed(mod_client)

    # Before: a recount goes through the broker and finishes.
    before = request("post", reverse("frontend:case-recount", args=[case.pk]))
    warmup = Job.objects.get(pk=int(before["Location"].rstrip("/").rsplit("/", 1)[1]))
    wait_for("a job to run before the outage", lambda: Job.objects.get(pk=warmup.pk).is_finished, timeout=60)

    server.kill()
    down_at = time.monotonic()
    started: list[int] = []
    labelled = rounds = 0
    while time.monotonic() - down_at < OUTAGE_SECONDS:
        rounds += 1
        request("get", reverse("frontend:my-work"))
        claimed = request("post", reverse("frontend:work-claim", args=[queue.pk]))
        if "/work/assignments/" in claimed["Location"]:
            review = claimed["Location"]
            request("get", review)
            labelled_now = request("post", review + "label/", {"verdict": "inauthentic", "note": "outage"})
            assert labelled_now.status_code == 302, labelled_now.content[:300]
            labelled += 1
        recount = request("post", reverse("frontend:case-recount", args=[case.pk]))
        assert recount.status_code == 302 and "/jobs/" in recount["Location"], recount
        started.append(int(recount["Location"].rstrip("/").rsplit("/", 1)[1]))
        request("get", recount["Location"])
        if rounds % 3 == 1:
            imported = request("post", "/api/imports/bundle/", {"team": team_a.pk, "file": bundle(rounds)})
            assert imported.status_code == 202, imported.content[:300]
            started.append(imported.json()["id"])
            assert request("get", f"/api/jobs/{imported.json()['id']}/").json()["status"] == "queued"
        time.sleep(0.2)  # a person's pace, roughly
    outage = time.monotonic() - down_at

    jobs = Job.objects.filter(pk__in=started)
    assert len(started) >= 3 and jobs.count() == len(started)
    assert set(jobs.values_list("status", flat=True)) == {JobStatus.QUEUED}
    assert labelled > 0 and Label.objects.filter(annotator=moderator).count() == labelled
    assert worker.alive() and beat.alive(), (worker.tail(), beat.tail())

    # Redis back, empty, on the same port: nothing else is touched.
    server.start()
    back_at = time.monotonic()

    def all_finished():
        assert worker.alive(), worker.tail()
        assert beat.alive(), beat.tail()
        return not Job.objects.filter(
            pk__in=started, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
        ).exists()

    wait_for(
        "every job started during the outage to finish", all_finished, timeout=RECOVERY_TIMEOUT, interval=0.2
    )
    recovered = time.monotonic() - back_at

    # Zero jobs lost: every one succeeded, and did its work.
    failed = list(
        Job.objects.filter(pk__in=started).exclude(status=JobStatus.SUCCEEDED).values("pk", "message")
    )
    assert failed == []
    requeued = set(
        AuditEvent.objects.filter(verb=REQUEUED_VERB, user=None).values_list("target_id", flat=True)
    )
    assert {str(pk) for pk in started} <= requeued
    case.refresh_from_db()
    assert case.account_count == ACCOUNTS
    imports = Job.objects.filter(pk__in=started, kind=JobKind.IMPORT_BUNDLE).count()
    assert Account.objects.filter(team=team_a, handle__startswith="outage_").count() == 3 * imports
    slowest = max(request.times)
    print(
        f"\nRedis down {outage:.1f} s: {len(request.times)} requests, "
        f"slowest {slowest[0]:.2f} s ({slowest[1]}), "
        f"{labelled} labels, {len(started)} jobs queued ({imports} imports); all finished {recovered:.1f} s "
        "after Redis came back"
    )
