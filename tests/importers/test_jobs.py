"""Import jobs on a real Celery worker, through the configured broker (Redis in CI)."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from cases.models import Account, AuditEvent, Case, JobStatus, Post
from cases.services.imports import start_bundle_import, start_indicator_import

from .conftest import FIXTURES, bundle_text


@pytest.mark.worker
def test_a_bundle_import_runs_on_a_worker_with_progress_and_a_result(
    celery_worker, finished_tasks, team_a, moderator, sample_lines
):
    lines = [
        *sample_lines,
        "{broken",
        {"type": "post", "platform": "x", "account": "nobody", "external_id": "9"},
    ]
    upload = SimpleUploadedFile("bundle.jsonl", bundle_text(lines).encode())

    job = start_bundle_import(team=team_a, path_or_upload=upload, created_by=moderator)
    assert finished_tasks.wait(timeout=60), "the worker did not run the job"

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert (job.progress, job.total, job.attempts) == (8, 8, 1)
    assert job.started_at and job.finished_at
    assert job.result["accounts"] == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    assert job.result["posts"] == {"created": 3, "updated": 0, "unchanged": 0, "rejected": 1}
    assert job.result["rejected"]["total"] == 2
    assert [r["line"] for r in job.result["rejected"]["reasons"]] == [7, 8]
    assert "posts: 3 created" in job.message
    assert Account.objects.filter(team=team_a).count() == 2 and Post.objects.count() == 3
    event = AuditEvent.objects.get(verb="import.completed")
    assert (event.user, event.target_type, event.target_id) == (moderator, "cases.job", str(job.pk))
    # The stored upload is removed once imported.
    assert not (Path(settings.MEDIA_ROOT) / job.params["file"]).exists()


@pytest.mark.worker
def test_an_indicator_import_runs_on_a_worker(celery_worker, finished_tasks, team_a, lead):
    files = [
        FIXTURES / "meta-h1-2026-china-based-cib-network.md",
        FIXTURES / "csv" / "Q1_2023" / "Q1_2023_ Iran-based_CIB_network.csv",
    ]

    job = start_indicator_import(team=team_a, path_or_upload=files, created_by=lead)
    assert finished_tasks.wait(timeout=60), "the worker did not run the job"

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.progress == job.total > 0
    assert [f["status"] for f in job.result["files"]] == ["imported", "imported"]
    assert job.result["totals"]["evidence_created"] == 2
    assert Case.objects.filter(team=team_a).count() == 2
    assert not any((Path(settings.MEDIA_ROOT) / entry["file"]).exists() for entry in job.params["files"])
