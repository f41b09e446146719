import hashlib
import io
import json
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from cases.errors import Conflict, InvalidInput
from cases.models import (
    Account,
    CaptureMethod,
    Case,
    CustodyAction,
    Evidence,
    EvidenceFile,
    EvidenceKind,
    MediaBrand,
    Post,
    Technique,
)
from cases.similarity.text import copy_similarity

from .access import require_member
from .audit import record_event
from .cases import bump_case_count
from .custody import record_custody_event

IMAGE_FORMATS = {
    "PNG": ("image/png", ".png"),
    "JPEG": ("image/jpeg", ".jpg"),
    "WEBP": ("image/webp", ".webp"),
}
IMAGE_ROLES = {EvidenceFile.Role.SCREENSHOT, EvidenceFile.Role.LOGO}
# What each kind must carry to be evidence of anything.
REQUIRED = {
    EvidenceKind.REPOST: ("captured_text", "the copied post's text"),
    EvidenceKind.LINK: ("url", "a URL"),
    EvidenceKind.NOTE: ("captured_text", "the note's text"),
}


@dataclass(frozen=True)
class Upload:
    """A file handed to a service: its role, the name the user gave it, and its bytes."""

    role: str
    name: str
    content: bytes


@dataclass(frozen=True)
class _Checked:
    upload: Upload
    content_type: str
    extension: str
    sha256: str
    phash: str


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_upload(upload: Upload) -> _Checked:
    """Decode the file to learn what it really is; the name and claimed type count for nothing."""
    limit = settings.EVIDENCE_MAX_FILE_BYTES
    label = upload.name or upload.role
    if len(upload.content) == 0:
        raise InvalidInput(f"{label}: the file is empty.")
    if len(upload.content) > limit:
        raise InvalidInput(f"{label}: the file is larger than {limit // (1024 * 1024)} MB.")
    phash = ""
    if upload.role in IMAGE_ROLES:
        try:
            with Image.open(io.BytesIO(upload.content)) as image:
                image_format = image.format
                image.verify()
            with Image.open(io.BytesIO(upload.content)) as image:
                image.load()
                phash = _phash(image)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            raise InvalidInput(f"{label}: not a PNG, JPEG or WebP image.") from None
        if image_format not in IMAGE_FORMATS:
            raise InvalidInput(f"{label}: {image_format} images are not accepted; use PNG, JPEG or WebP.")
        content_type, extension = IMAGE_FORMATS[image_format]
    elif upload.role == EvidenceFile.Role.PAGE_CAPTURE:
        head = upload.content[:4096].lstrip().lower()
        if head.startswith(b"from:") or b"multipart/related" in head:
            content_type, extension = "multipart/related", ".mhtml"
        else:
            content_type, extension = "text/html", ".html"
    elif upload.role == EvidenceFile.Role.ATTACHMENT:
        content_type, extension = "application/octet-stream", ".bin"
    else:
        raise InvalidInput(f"{label}: unknown file role '{upload.role}'.")
    return _Checked(upload, content_type, extension, sha256_hex(upload.content), phash)


def _phash(image: Image.Image) -> str:
    import imagehash

    return str(imagehash.phash(image.convert("RGB")))


def _content_hash(evidence: Evidence, technique_codes: list[str], file_hashes: list[str]) -> str:
    """SHA-256 over the canonical JSON of everything the item asserts, files included by hash."""
    payload = {
        "case": evidence.case_id,
        "kind": evidence.kind,
        "account": evidence.account_id,
        "post": evidence.post_id,
        "brand": evidence.brand_id,
        "title": evidence.title,
        "url": evidence.url,
        "captured_text": evidence.captured_text,
        "source_url": evidence.source_url,
        "source_author": evidence.source_author,
        "source_text": evidence.source_text,
        "captured_by": evidence.captured_by_id,
        "captured_at": evidence.captured_at.isoformat(),
        "capture_method": evidence.capture_method,
        "persona": evidence.persona,
        "retracts": evidence.retracts_id,
        "techniques": sorted(technique_codes),
        "files": sorted(file_hashes),
    }
    return sha256_hex(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode())


def _same_team(case: Case, **objects) -> None:
    for name, obj in objects.items():
        if obj is None:
            continue
        team_id = obj.account.team_id if isinstance(obj, Post) else obj.team_id
        if team_id != case.team_id:
            raise InvalidInput(f"No such {name}.")


def is_web_url(value: str) -> bool:
    """An absolute http or https address with a host: what evidence may link to and a capture
    may record. ``javascript:``, ``data:``, scheme-relative and unparseable values are not."""
    try:
        parts = urlsplit(value.strip())
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _check_url(field: str, value: str) -> None:
    """Evidence links point at web pages; anything else is refused here, whatever interface the
    value came through."""
    if value and not is_web_url(value):
        raise InvalidInput(
            "Links in evidence must be http:// or https:// addresses.",
            fields={field: ["Enter an http:// or https:// address."]},
        )


@transaction.atomic
def record_evidence(
    *,
    case: Case,
    kind: str,
    captured_by,
    capture_method: str = CaptureMethod.MANUAL,
    account: Account | None = None,
    post: Post | None = None,
    brand: MediaBrand | None = None,
    title: str = "",
    url: str = "",
    captured_text: str = "",
    source_url: str = "",
    source_author: str = "",
    source_text: str = "",
    persona: str = "",
    user_agent: str = "",
    techniques: list[Technique] = (),
    files: list[Upload] = (),
    captured_at=None,
    retracts: Evidence | None = None,
) -> Evidence:
    """Store one immutable evidence item with the SHA-256 of every artefact.

    Every file is decoded before anything is written; a file that fails leaves nothing behind
    of the request. Objects named must belong to the case's team.
    """
    require_member(captured_by, case.team)
    if kind not in EvidenceKind.values:
        raise InvalidInput(f"'{kind}' is not a kind of evidence.")
    if capture_method not in CaptureMethod.values:
        raise InvalidInput(f"'{capture_method}' is not a capture method.")
    _same_team(case, account=account, post=post, brand=brand)
    if retracts is not None and retracts.case_id != case.id:
        raise InvalidInput("No such evidence on this case.")
    for name, value in (("url", url), ("source_url", source_url)):
        _check_url(name, value)
    field, what = REQUIRED.get(kind, (None, None))
    if field and not {"captured_text": captured_text, "url": url}[field].strip():
        raise InvalidInput(
            f"This kind of evidence needs {what}.", fields={field: ["This field is required."]}
        )
    checked = [_check_upload(upload) for upload in files]
    if kind == EvidenceKind.SCREENSHOT and not any(
        c.upload.role == EvidenceFile.Role.SCREENSHOT for c in checked
    ):
        raise InvalidInput("A screenshot needs an image file.", fields={"files": ["Attach a PNG or JPEG."]})
    if kind == EvidenceKind.PAGE_CAPTURE and not any(
        c.upload.role == EvidenceFile.Role.PAGE_CAPTURE for c in checked
    ):
        raise InvalidInput(
            "A page capture needs the page's HTML or MHTML.", fields={"files": ["Attach the page."]}
        )

    similarity = None
    if kind == EvidenceKind.REPOST and source_text.strip():
        similarity = copy_similarity(captured_text, source_text)
    evidence = Evidence(
        case=case,
        kind=kind,
        account=account,
        post=post,
        brand=brand,
        title=title[:500],
        url=url,
        captured_text=captured_text,
        source_url=source_url,
        source_author=source_author,
        source_text=source_text,
        copy_similarity=similarity,
        captured_by=captured_by,
        captured_at=captured_at or timezone.now(),
        capture_method=capture_method,
        persona=persona,
        user_agent=user_agent[:500],
        retracts=retracts,
    )
    techniques = list(techniques)
    evidence.content_sha256 = _content_hash(
        evidence, [t.procedure_code for t in techniques], [c.sha256 for c in checked]
    )
    evidence.save()
    evidence.techniques.set(techniques)
    stored_names = []
    try:
        for c in checked:
            # A random name: nothing an adversary chose reaches the file system.
            name = default_storage.save(
                f"evidence/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{c.extension}",
                ContentFile(c.upload.content),
            )
            stored_names.append(name)
            EvidenceFile.objects.create(
                evidence=evidence,
                role=c.upload.role,
                file=name,
                original_name=c.upload.name[:255],
                content_type=c.content_type,
                size=len(c.upload.content),
                sha256=c.sha256,
                phash=c.phash,
            )
    except Exception:
        for name in stored_names:
            default_storage.delete(name)
        raise
    # Standing evidence: a new item adds one, a retraction takes the retracted one away.
    bump_case_count(case, "evidence_count", -1 if kind == EvidenceKind.RETRACTION else +1)
    record_event(
        team=case.team,
        user=captured_by,
        verb="evidence.retracted" if kind == EvidenceKind.RETRACTION else "evidence.recorded",
        target=evidence,
        data={
            "kind": kind,
            "case": case.pk,
            "account": evidence.account_id,
            "post": evidence.post_id,
            "brand": evidence.brand_id,
            "url": url,
            "capture_method": capture_method,
            "content_sha256": evidence.content_sha256,
            "files": [
                {"role": c.upload.role, "sha256": c.sha256, "size": len(c.upload.content)} for c in checked
            ],
            "techniques": [t.procedure_code for t in techniques],
            "retracts": evidence.retracts_id,
        },
    )
    return evidence


@transaction.atomic
def retract_evidence(*, evidence: Evidence, retracted_by, reason: str) -> Evidence:
    """Withdraw an evidence item. The original stays unchanged; a retraction item names it.

    Locks the original's row (a lock, not a write: the row stays immutable) so two leads
    retracting the same item at once get one retraction and one Conflict, never a 500.
    """
    if not reason.strip():
        raise InvalidInput(
            "Say why the evidence is retracted.", fields={"reason": ["This field is required."]}
        )
    if evidence.kind == EvidenceKind.RETRACTION:
        raise InvalidInput("A retraction cannot itself be retracted.")
    Evidence.objects.select_for_update().filter(pk=evidence.pk).first()
    if Evidence.objects.filter(retracts=evidence).exists():
        raise Conflict("This evidence is already retracted.")
    try:
        # SQLite has no row locks; there the one-to-one constraint decides the race.
        with transaction.atomic():
            retraction = record_evidence(
                case=evidence.case,
                kind=EvidenceKind.RETRACTION,
                captured_by=retracted_by,
                account=evidence.account,
                captured_text=reason.strip(),
                retracts=evidence,
            )
    except IntegrityError as error:
        raise Conflict("This evidence is already retracted.") from error
    # The original's chain of custody records its retraction (browser capture, custody trail).
    record_custody_event(
        evidence=evidence,
        action=CustodyAction.RETRACTED,
        user=retracted_by,
        detail={"retraction": retraction.pk, "reason": reason.strip()},
    )
    return retraction
