"""The import page: upload, validation before queueing, and the job page's import result."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases.models import Account, Job, JobStatus
from cases.tasks import import_bundle_task

pytestmark = pytest.mark.django_db

BUNDLE = "\n".join(
    json.dumps(line)
    for line in [
        {"type": "account", "platform": "x", "handle": "@Shannon81025511", "display_name": "Shannon"},
        {"type": "post", "platform": "x", "account": "shannon81025511", "external_id": "1", "text": "hi"},
        {"type": "account", "platform": "myspace", "handle": "nope"},
    ]
).encode()


@pytest.fixture
def signed_in(client, moderator):
    client.force_login(moderator)
    return client


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def test_the_page_offers_only_the_users_teams(signed_in, team_b):
    page = signed_in.get(reverse("frontend:imports"))
    assert page.status_code == 200
    assert b"Team A" in page.content and b"Team B" not in page.content


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(reverse("frontend:imports"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_bundle_upload_queues_a_job_and_shows_its_page(signed_in, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = signed_in.post(
            reverse("frontend:imports"),
            {"team": "team-a", "kind": "bundle", "files": upload("network.jsonl", BUNDLE)},
        )
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "frontend:job-detail", args=[job.pk]
    )
    assert job.kind == "import_bundle" and job.status == JobStatus.QUEUED

    import_bundle_task(job.pk)  # what the worker runs; the job page then shows the counts
    page = signed_in.get(response["Location"])
    assert page.status_code == 200
    assert b"Rejected 1 line" in page.content and b"line 3" in page.content
    assert Account.objects.filter(handle_normalized="shannon81025511").exists()


def test_another_teams_slug_is_refused_and_nothing_is_queued(signed_in, team_b):
    response = signed_in.post(
        reverse("frontend:imports"), {"team": "team-b", "kind": "bundle", "files": upload("a.jsonl", BUNDLE)}
    )
    assert response.status_code == 200 and b"Select a valid choice" in response.content
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.jsonl", b""),
        ("binary.jsonl", b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe"),
        ("notes.txt", b"just some prose"),
    ],
)
def test_a_file_that_is_not_a_bundle_is_refused_before_queueing(signed_in, name, content):
    response = signed_in.post(
        reverse("frontend:imports"), {"team": "team-a", "kind": "bundle", "files": upload(name, content)}
    )
    assert response.status_code == 200
    assert b'class="alert alert-error"' in response.content or b"field-error" in response.content
    assert not Job.objects.exists()


def test_indicator_files_are_queued_together(signed_in, django_capture_on_commit_callbacks):
    csv = (
        b"indicator_type,indicator_value,comment,ds\n"
        b"domain_name,bild[.]pics,Germany-targeting CIB domain,2022-09-27\n"
    )
    with django_capture_on_commit_callbacks(execute=False):
        response = signed_in.post(
            reverse("frontend:imports"),
            {"team": "team-a", "kind": "indicators", "files": [upload("a.csv", csv), upload("b.csv", csv)]},
        )
    assert response.status_code == 302
    job = Job.objects.get()
    assert job.kind == "import_indicators" and len(job.params["files"]) == 2
