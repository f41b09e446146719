"""Browser captures: what the extension or the bookmarklet sends about the page the investigator
is on becomes evidence on a case (and, for "flag account", an account on the case).

Nothing is fetched by the server: the URL is recorded, never requested. Every file is checked
(size first, then the SHA-256 the browser computed, then what the bytes decode as) before
anything is written, so a refused capture leaves no row and no file behind.
"""

import datetime
import hashlib
import io
import re
from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from cases.capture_urls import parse_account_url
from cases.errors import Conflict, HashMismatch, InvalidInput, TooLarge, UnsupportedFile
from cases.handles import normalize_handle
from cases.models import (
    Account,
    AccountSource,
    CaptureMethod,
    Case,
    CaseAccount,
    Evidence,
    EvidenceFile,
    EvidenceKind,
)

from .access import require_member
from .accounts import create_account
from .cases import add_account_to_case
from .evidence import Upload, is_web_url, record_evidence


class CaptureAction:
    PAGE = "page"
    ACCOUNT = "account"
    REPOST = "repost"
    ALL = (PAGE, ACCOUNT, REPOST)


CAPTURE_METHODS = (CaptureMethod.EXTENSION, CaptureMethod.BOOKMARKLET)
SCREENSHOT_FORMATS = {"PNG", "JPEG"}
MAX_URL = 2000
MAX_FUTURE_SKEW = datetime.timedelta(minutes=10)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<meta", b"<title")


class CaptureFile(Protocol):
    """What a view hands over: Django's UploadedFile has both."""

    size: int

    def read(self, size: int = -1) -> bytes: ...


@dataclass
class CaptureResult:
    case: Case
    evidence: list[Evidence]
    account: Account | None = None
    account_created: bool = False
    files: list[EvidenceFile] = field(default_factory=list)


def check_web_url(url: str, *, name: str = "url", required: bool = True) -> str:
    """An absolute http(s) URL, or InvalidInput saying why not (``javascript:``, ``data:``, …)."""
    url = (url or "").strip()
    if not url:
        if required:
            raise InvalidInput("The page's URL is missing.", fields={name: ["This field is required."]})
        return ""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in ("http", "https"):
        shown = f"'{scheme[:20]}:'" if scheme else "no scheme"
        message = f"Only http and https pages can be captured; this URL has {shown}."
        raise InvalidInput(message, fields={name: [message]})
    if not is_web_url(url):
        raise InvalidInput("The URL has no host.", fields={name: ["Give an absolute http or https URL."]})
    if len(url) > MAX_URL:
        message = f"The URL is longer than {MAX_URL} characters."
        raise InvalidInput(message, fields={name: [message]})
    return url


def _read_checked(file: CaptureFile | None, claimed: str | None, *, name: str, limit: int) -> bytes | None:
    """The file's bytes, after its size and (when the client sent one) its SHA-256 are checked."""
    if file is None:
        return None
    if file.size > limit:
        raise TooLarge(
            f"The {name} is {file.size} bytes; the limit is {limit} bytes.",
            fields={name: [f"Larger than {limit} bytes."]},
        )
    content = file.read(limit + 1)
    if len(content) > limit:  # a file object whose size lied
        raise TooLarge(
            f"The {name} is larger than {limit} bytes.", fields={name: [f"Larger than {limit} bytes."]}
        )
    if not content:
        raise InvalidInput(f"The {name} is empty.", fields={name: ["The file is empty."]})
    if claimed is not None:
        claimed = claimed.strip()
        if not _SHA256.match(claimed):
            raise InvalidInput(
                f"{name}_sha256 must be the file's SHA-256 in lowercase hex (64 characters).",
                fields={f"{name}_sha256": ["64 lowercase hex digits."]},
            )
        actual = hashlib.sha256(content).hexdigest()
        if actual != claimed:
            raise HashMismatch(
                f"The {name} that arrived has SHA-256 {actual}, not {claimed} as computed in the browser: "
                "the file changed on the way. Nothing was stored; capture again.",
                fields={f"{name}_sha256": [f"The server computed {actual}."]},
            )
    return content


def _check_screenshot(content: bytes) -> None:
    try:
        with Image.open(io.BytesIO(content)) as image:
            image_format = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise UnsupportedFile(
            "The screenshot is not an image: it does not decode as PNG or JPEG.",
            fields={"screenshot": ["Not a PNG or JPEG image."]},
        ) from None
    if image_format not in SCREENSHOT_FORMATS:
        raise UnsupportedFile(
            f"The screenshot is a {image_format} image; captures take PNG or JPEG.",
            fields={"screenshot": ["Use PNG or JPEG."]},
        )


def _check_page(content: bytes) -> None:
    """HTML or MHTML, decided from the bytes: text (no NUL bytes) that starts like one of them."""
    head = content[:65536]
    if b"\x00" in head:
        raise UnsupportedFile(
            "The page capture is binary data, not HTML or MHTML.", fields={"page": ["Not HTML or MHTML."]}
        )
    lowered = head.lstrip().lower()
    is_mhtml = lowered.startswith((b"from:", b"mime-version:", b"snapshot-content-location:")) or (
        b"multipart/related" in lowered[:4096]
    )
    if not is_mhtml and not any(marker in lowered for marker in _HTML_MARKERS):
        raise UnsupportedFile(
            "The page capture does not look like HTML or MHTML.", fields={"page": ["Not HTML or MHTML."]}
        )


def _check_text(value: str, name: str) -> str:
    limit = settings.CAPTURE_MAX_TEXT_CHARS
    if len(value) > limit:
        raise TooLarge(
            f"The {name} is longer than {limit} characters.", fields={name: [f"Over {limit} characters."]}
        )
    return value


def _account_for(*, case: Case, url: str, platform: str, handle: str, user) -> tuple[Account, bool, bool]:
    """The account the URL is about (created if new) and whether it is already on the case."""
    parsed = parse_account_url(url)
    if parsed is None:
        raise InvalidInput(
            "This URL is not a profile or post of a supported platform; no account can be flagged from it.",
            fields={"url": ["Not an account URL of a supported platform."]},
        )
    parsed_platform, parsed_handle = parsed
    mismatch = platform != parsed_platform or normalize_handle(handle) != normalize_handle(parsed_handle)
    if (platform or handle) and mismatch:
        raise InvalidInput(
            f"The browser parsed {platform or '?'}/{handle or '?'} from the URL, the server "
            f"{parsed_platform}/{parsed_handle}. Nothing was stored; update the extension.",
            fields={"handle": [f"The server parsed {parsed_platform}/{parsed_handle}."]},
        )
    existing = Account.objects.filter(
        team=case.team, platform=parsed_platform, handle_normalized=normalize_handle(parsed_handle)
    )
    account = existing.first()
    created = account is None
    if created:
        try:
            # A savepoint: two investigators flagging the same new account at once both succeed,
            # the second finding the first's row instead of failing on the unique constraint.
            with transaction.atomic():
                account = create_account(
                    team=case.team,
                    platform=parsed_platform,
                    handle=parsed_handle,
                    created_by=user,
                    source=AccountSource.CAPTURE,
                    profile_url=url,
                )
        except (IntegrityError, Conflict):
            account, created = existing.get(), False
    on_case = CaseAccount.objects.filter(case=case, account=account).exists()
    return account, created, on_case


def _known_account(case: Case, url: str) -> Account | None:
    parsed = parse_account_url(url)
    if parsed is None:
        return None
    return Account.objects.filter(
        team=case.team, platform=parsed[0], handle_normalized=normalize_handle(parsed[1])
    ).first()


@transaction.atomic
def record_capture(
    *,
    case: Case,
    captured_by,
    method: str,
    action: str,
    url: str,
    title: str = "",
    selection: str = "",
    source_url: str = "",
    source_text: str = "",
    source_author: str = "",
    captured_at: datetime.datetime | None = None,
    user_agent: str = "",
    persona: str = "",
    platform: str = "",
    handle: str = "",
    screenshot: CaptureFile | None = None,
    screenshot_sha256: str | None = None,
    page: CaptureFile | None = None,
    page_sha256: str | None = None,
) -> CaptureResult:
    """Store one capture as one evidence item (with its screenshot and page as files), and for
    ``action="account"`` put the URL's account on the case first, creating it if the team does
    not know it yet.

    ``*_sha256`` is the hash the browser computed (the extension sends it; the bookmarklet's plain
    form cannot, and passes None): a mismatch refuses the capture. Every check runs before the
    first write; the whole capture is one transaction, and ``record_evidence`` removes the files it
    stored if the transaction fails after them.
    """
    require_member(captured_by, case.team)
    if method not in CAPTURE_METHODS:
        raise InvalidInput(
            f"'{method}' is not a capture method.", fields={"method": ["extension or bookmarklet."]}
        )
    if action not in CaptureAction.ALL:
        raise InvalidInput(
            f"'{action}' is not a capture action.", fields={"action": ["page, account or repost."]}
        )
    url = check_web_url(url)
    source_url = check_web_url(source_url, name="source_url", required=False)
    for value, name in ((selection, "selection"), (source_text, "source_text")):
        _check_text(value, name)
    now = timezone.now()
    if captured_at is not None and captured_at > now + MAX_FUTURE_SKEW:
        raise InvalidInput(
            "The capture time is in the future; check the computer's clock.",
            fields={"captured_at": ["In the future."]},
        )
    if action == CaptureAction.REPOST and not selection.strip():
        raise InvalidInput(
            "Select the suspect post's text on the page to record it as a repost.",
            fields={"selection": ["This field is required for a repost."]},
        )

    shot = _read_checked(
        screenshot, screenshot_sha256, name="screenshot", limit=settings.CAPTURE_MAX_SCREENSHOT_BYTES
    )
    html = _read_checked(page, page_sha256, name="page", limit=settings.CAPTURE_MAX_PAGE_BYTES)
    if shot is not None:
        _check_screenshot(shot)
    if html is not None:
        _check_page(html)

    account, created, on_case = None, False, False
    if action == CaptureAction.ACCOUNT:
        account, created, on_case = _account_for(
            case=case, url=url, platform=platform, handle=handle, user=captured_by
        )
        if not on_case:
            add_account_to_case(
                case=case, account=account, added_by=captured_by, reason=f"Flagged from {url}"
            )
    else:
        account = _known_account(case, url)

    files = []
    if shot is not None:
        files.append(
            Upload(
                role=EvidenceFile.Role.SCREENSHOT, name=getattr(screenshot, "name", "") or "", content=shot
            )
        )
    if html is not None:
        files.append(
            Upload(role=EvidenceFile.Role.PAGE_CAPTURE, name=getattr(page, "name", "") or "", content=html)
        )
    if action == CaptureAction.REPOST:
        kind = EvidenceKind.REPOST
    elif html is not None:
        kind = EvidenceKind.PAGE_CAPTURE
    elif shot is not None:
        kind = EvidenceKind.SCREENSHOT
    else:
        kind = EvidenceKind.LINK
    evidence = record_evidence(
        case=case,
        kind=kind,
        captured_by=captured_by,
        capture_method=method,
        account=account,
        title=title.strip()[:500],
        url=url,
        captured_text=selection,
        source_url=source_url,
        source_author=source_author.strip()[:300],
        source_text=source_text,
        persona=persona.strip()[:200],
        user_agent=user_agent,
        files=files,
        captured_at=captured_at or now,
    )
    return CaptureResult(
        case=case,
        evidence=[evidence],
        account=account if action == CaptureAction.ACCOUNT else None,
        account_created=created,
        files=list(evidence.files.order_by("pk")),
    )
