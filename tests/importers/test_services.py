"""Starting import jobs: what is checked before anything is queued, and where the file goes."""

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from cases.errors import InvalidInput, NotAllowed
from cases.models import AuditEvent, Job, JobKind, JobStatus
from cases.services import imports
from cases.services.imports import start_bundle_import, start_indicator_import

from .conftest import FIXTURES, bundle_text

pytestmark = pytest.mark.django_db


def stored_path(job: Job, entry: dict | None = None) -> Path:
    return Path(settings.MEDIA_ROOT) / (entry or job.params)["file"]


def stored_files() -> set[Path]:
    return set((Path(settings.MEDIA_ROOT) / "imports").rglob("*.*"))


def test_a_bundle_upload_is_stored_under_a_random_name_and_queued(team_a, moderator, sample_lines):
    upload = SimpleUploadedFile("../../etc/evil name.jsonl", bundle_text(sample_lines).encode())

    job = start_bundle_import(team=team_a, path_or_upload=upload, created_by=moderator)

    assert (job.kind, job.status, job.created_by) == (JobKind.IMPORT_BUNDLE, JobStatus.QUEUED, moderator)
    assert job.params["format"] == "jsonl" and job.params["name"] == "evil name.jsonl"
    path = stored_path(job)
    assert path.read_text() == bundle_text(sample_lines)
    assert path.parent.parent.parent.name == "imports"  # imports/YYYY/MM/<random>.bundle
    assert "evil" not in path.name and path.suffix == ".bundle"
    assert AuditEvent.objects.filter(verb="job.started", target_id=str(job.pk)).exists()


def test_a_bundle_path_and_a_csv_are_accepted(team_a, moderator, tmp_path):
    path = tmp_path / "bundle.csv"
    path.write_text("type,platform,handle\naccount,x,someone\n")
    job = start_bundle_import(team=team_a, path_or_upload=path, created_by=moderator)
    assert job.params["format"] == "csv" and job.params["size"] == path.stat().st_size


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "the file is empty"),
        (b"\xff\xfe{\x00}\x00", "UTF-16"),
        (b"hello\nworld\n", "Not a bundle"),
        (b"name,value\na,b\n", "Not a bundle"),
        ("é".encode("latin-1") * 200, "not UTF-8"),
    ],
)
def test_a_file_that_cannot_be_a_bundle_is_refused_before_queueing(team_a, moderator, content, message):
    before = stored_files()
    with pytest.raises(InvalidInput, match=message):
        start_bundle_import(
            team=team_a, path_or_upload=SimpleUploadedFile("x.jsonl", content), created_by=moderator
        )
    assert not Job.objects.exists()
    assert stored_files() == before


def test_a_bundle_over_the_size_limit_is_refused(team_a, moderator, monkeypatch, sample_lines):
    monkeypatch.setattr(imports, "BUNDLE_MAX_BYTES", 100)
    with pytest.raises(InvalidInput, match="larger than"):
        start_bundle_import(
            team=team_a, path_or_upload=io.BytesIO(bundle_text(sample_lines).encode()), created_by=moderator
        )
    assert not Job.objects.exists()


def test_a_missing_path_is_refused(team_a, moderator, tmp_path):
    with pytest.raises(InvalidInput, match="no such file"):
        start_bundle_import(team=team_a, path_or_upload=tmp_path / "nope.jsonl", created_by=moderator)


def test_an_outsider_cannot_start_an_import(team_a, outsider, sample_lines):
    upload = SimpleUploadedFile("b.jsonl", bundle_text(sample_lines).encode())
    with pytest.raises(NotAllowed):
        start_bundle_import(team=team_a, path_or_upload=upload, created_by=outsider)
    with pytest.raises(NotAllowed):
        start_indicator_import(
            team=team_a,
            path_or_upload=FIXTURES / "meta-h2-2025-india-based-cib-network.md",
            created_by=outsider,
        )
    assert not Job.objects.exists()


def test_indicator_files_are_checked_stored_and_queued_together(team_a, lead):
    files = [
        FIXTURES / "meta-h2-2025-india-based-cib-network.md",
        FIXTURES / "json" / "2022_08_metas_adversarial_threat_report_q2.json",
    ]
    job = start_indicator_import(team=team_a, path_or_upload=files, created_by=lead)
    assert job.kind == JobKind.IMPORT_INDICATORS
    assert [(f["name"], f["format"]) for f in job.params["files"]] == [
        ("meta-h2-2025-india-based-cib-network.md", "markdown"),
        ("2022_08_metas_adversarial_threat_report_q2.json", "indicator_json"),
    ]
    for entry, original in zip(job.params["files"], files, strict=True):
        assert stored_path(job, entry).read_bytes() == original.read_bytes()


def test_one_bad_indicator_file_refuses_the_whole_upload(team_a, lead, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    good = FIXTURES / "meta-h2-2025-india-based-cib-network.md"
    before = stored_files()
    with pytest.raises(InvalidInput, match=r"bad\.csv: Not a Meta threat-indicator file"):
        start_indicator_import(team=team_a, path_or_upload=[good, bad], created_by=lead)
    assert not Job.objects.exists()
    assert stored_files() == before  # the good file, stored first, was removed again


def test_an_indicator_import_needs_a_person(team_a):
    with pytest.raises(InvalidInput, match="needs the person"):
        start_indicator_import(
            team=team_a, path_or_upload=FIXTURES / "meta-h2-2025-india-based-cib-network.md", created_by=None
        )
