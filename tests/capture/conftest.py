"""Fixtures for browser capture: a case in team A, upload helpers, and a snapshot of everything a
capture could write (rows and files), to prove that a refused capture stores nothing."""

import hashlib
import io
import os

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from cases.models import Account, AuditEvent, CaseAccount, CustodyEvent, Evidence, EvidenceFile
from tests.factories import CaseFactory

PAGE_HTML = (
    b"<!doctype html><html><head><title>Atlanta Online</title></head>"
    b"<body><h1>@AtlantaOnline</h1><p>Copied words</p></body></html>"
)


def png_bytes(colour=(200, 30, 30), size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", size, colour)
    for x in range(0, size[0], 8):  # some structure, so the perceptual hash is not trivial
        for y in range(size[1]):
            image.putpixel((x, y), (10, 10, 10))
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def image_bytes(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (0, 120, 200)).save(buffer, format=fmt)
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upload(name: str, data: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def capture_body(case, **overrides) -> dict:
    """A full page capture as the extension sends it: both files, each with its hash."""
    shot = overrides.pop("shot", png_bytes())
    page = overrides.pop("page_bytes", PAGE_HTML)
    body = {
        "case": case.pk,
        "action": "page",
        "url": "https://x.com/AtlantaOnline/status/1234567890",
        "title": "Atlanta Online on X",
        "selection": "Copied words",
        "captured_at": "2026-11-28T10:00:00Z",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131",
        "persona": "sock-puppet-7",
        "method": "extension",
        "screenshot": upload("shot.png", shot, "image/png"),
        "screenshot_sha256": sha(shot),
        "page": upload("page.html", page, "text/html"),
        "page_sha256": sha(page),
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def stored_files() -> set[str]:
    found = set()
    for root, _dirs, names in os.walk(settings.MEDIA_ROOT):
        found.update(os.path.join(root, name) for name in names)
    return found


def stored_state() -> dict:
    return {
        "evidence": Evidence.objects.count(),
        "files": EvidenceFile.objects.count(),
        "accounts": Account.objects.count(),
        "case_accounts": CaseAccount.objects.count(),
        "events": AuditEvent.objects.count(),
        "custody": CustodyEvent.objects.count(),
        "on_disk": stored_files(),
    }


@pytest.fixture
def case_a(team_a, lead):
    return CaseFactory(team=team_a, title="Spamouflage on X", lead=lead)
