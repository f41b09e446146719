"""cases.services.captures.record_capture, called directly: the checks a view cannot bypass."""

import io

import pytest
from django.core.files.base import ContentFile

from cases.errors import InvalidInput, NotAllowed, TooLarge
from cases.models import CaptureMethod, Evidence
from cases.services.captures import check_web_url, record_capture
from tests.capture.conftest import png_bytes, stored_state
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


class LyingFile(io.BytesIO):
    """A file object whose declared size is smaller than what it holds."""

    size = 10


def test_a_file_whose_size_lies_is_still_held_to_the_limit(team_a, moderator, settings):
    settings.CAPTURE_MAX_SCREENSHOT_BYTES = 100
    case = CaseFactory(team=team_a)
    before = stored_state()
    with pytest.raises(TooLarge):
        record_capture(
            case=case,
            captured_by=moderator,
            method=CaptureMethod.EXTENSION,
            action="page",
            url="https://x.com/a",
            screenshot=LyingFile(png_bytes()),
        )
    assert stored_state() == before


def test_only_the_capture_methods_and_members(team_a, moderator, outsider):
    case = CaseFactory(team=team_a)
    common = {"case": case, "action": "page", "url": "https://x.com/a"}
    with pytest.raises(InvalidInput):
        record_capture(captured_by=moderator, method=CaptureMethod.API, **common)
    with pytest.raises(NotAllowed):
        record_capture(captured_by=outsider, method=CaptureMethod.EXTENSION, **common)
    assert not Evidence.objects.exists()


def test_a_bookmarklet_capture_needs_no_client_hash(team_a, moderator):
    case = CaseFactory(team=team_a)
    result = record_capture(
        case=case,
        captured_by=moderator,
        method=CaptureMethod.BOOKMARKLET,
        action="page",
        url="https://t.me/s/durov",
        screenshot=ContentFile(png_bytes(), name="s.png"),
    )
    [item] = result.evidence
    assert item.kind == "screenshot" and item.capture_method == "bookmarklet"
    assert len(result.files) == 1 and result.files[0].phash


@pytest.mark.parametrize("url", ["https://x.com/a", "http://127.0.0.1:8000/p?q=1", "HTTPS://X.COM/A"])
def test_web_urls_pass(url):
    assert check_web_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:,x",
        "vbscript:x",
        "//x.com/a",
        "https://",
        "mailto:a@b",
    ],
)
def test_other_urls_are_refused(url):
    with pytest.raises(InvalidInput):
        check_web_url(url)
