"""Starting imports over the API: a multipart upload, checked before anything is queued, answered
with the queued job to poll."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cases.models import Job, JobKind, JobStatus
from tests.api.conftest import error_of

pytestmark = pytest.mark.django_db

INDICATORS = Path(__file__).resolve().parents[1] / "fixtures" / "meta-threat-indicators" / "indicators"
BUNDLE = (
    b'{"type": "account", "platform": "x", "handle": "AtlantaOnline"}\n'
    b'{"type": "post", "platform": "x", "account": "AtlantaOnline", "external_id": "1", "text": "hi"}\n'
)


def test_a_bundle_upload_queues_a_job(world_a, mod_api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = mod_api.post(
            "/api/imports/bundle/",
            {"team": world_a.team.pk, "file": SimpleUploadedFile("accounts.jsonl", BUNDLE)},
            format="multipart",
        )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["kind"] == JobKind.IMPORT_BUNDLE and body["status"] == JobStatus.QUEUED
    assert body["created_by"]["username"] == "mod-a" and body["team"] == world_a.team.pk
    assert response["Location"] == f"/api/jobs/{body['id']}/"
    assert len(callbacks) == 1  # the task is sent once the job row is committed
    assert mod_api.get(response["Location"]).json()["status"] == "queued"


def test_a_file_that_is_not_a_bundle_is_refused_before_anything_is_queued(world_a, mod_api):
    response = mod_api.post(
        "/api/imports/bundle/",
        {"team": world_a.team.pk, "file": SimpleUploadedFile("x.bin", b"\x00\xff\xfe" * 100)},
        format="multipart",
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid"
    assert not Job.objects.filter(kind=JobKind.IMPORT_BUNDLE).exists()


def test_an_import_into_another_team_is_refused(world_a, world_b, outsider_api):
    response = outsider_api.post(
        "/api/imports/bundle/",
        {"team": world_a.team.pk, "file": SimpleUploadedFile("a.jsonl", BUNDLE)},
        format="multipart",
    )
    assert response.status_code == 400 and "team" in error_of(response)["fields"]
    assert not Job.objects.filter(kind=JobKind.IMPORT_BUNDLE).exists()


def test_indicator_files_are_uploaded_together(world_a, mod_api):
    files = [
        SimpleUploadedFile(path.name, path.read_bytes())
        for path in sorted((INDICATORS / "csv").glob("*.csv"))[:2]
    ]
    response = mod_api.post(
        "/api/imports/indicators/", {"team": world_a.team.pk, "files": files}, format="multipart"
    )
    assert response.status_code == 202, response.json()
    job = Job.objects.get(pk=response.json()["id"])
    assert job.kind == JobKind.IMPORT_INDICATORS and len(job.params["files"]) == 2


def test_an_import_without_a_file_is_a_400(world_a, mod_api):
    for url, field in (("/api/imports/bundle/", "file"), ("/api/imports/indicators/", "files")):
        response = mod_api.post(url, {"team": world_a.team.pk}, format="multipart")
        assert response.status_code == 400 and field in error_of(response)["fields"]


def test_imports_accept_multipart_only(world_a, mod_api):
    response = mod_api.post("/api/imports/bundle/", {"team": world_a.team.pk}, format="json")
    assert response.status_code == 415


def test_import_uploads_have_their_own_size_limit(world_a, mod_api, settings):
    settings.API_MAX_BODY_BYTES = 100
    settings.API_MAX_IMPORT_BYTES = 200
    big = SimpleUploadedFile("a.jsonl", BUNDLE * 10)
    response = mod_api.post(
        "/api/imports/bundle/", {"team": world_a.team.pk, "file": big}, format="multipart"
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "request_too_large"
