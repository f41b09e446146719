"""Imports: bundle files (accounts, posts, media brands) and Meta's threat-indicator files.

Two entry points per importer:

- ``start_bundle_import`` / ``start_indicator_import`` check a file (size, encoding, format) before
  anything is queued, store it under MEDIA_ROOT with a random name (web and worker share that
  volume) and start a Job; the Celery task calls ``run_bundle_import_job`` /
  ``run_indicator_import_job``;
- ``import_bundle`` / ``import_indicator_files`` do the work in-process, for those jobs and for the
  management commands, reporting through a ``progress(done, total, message)`` callback.

Audit: one ``import.completed`` event per run that changed something, carrying the run's summary,
rather than one per row: a million-row import would otherwise write a million events and the
trail would drown the edits people make. A run that changed nothing writes none (re-importing is
idempotent, down to the audit trail) — except a job that resumes after an interrupted attempt,
which always records its event so the rows the lost attempt committed are covered. Cases and
evidence that an indicator import creates are recorded by their own services, with their own
events, as if a person had made them.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DataError, IntegrityError, transaction
from django.utils import timezone

from cases.errors import Conflict, InvalidInput
from cases.handles import defang
from cases.importers.bundle import (
    BATCH_LINES,
    AccountRecord,
    BrandRecord,
    BundleFormatError,
    PostRecord,
    Record,
    Rejected,
    count_lines,
    read_ahead,
    read_batches,
    sniff_format,
)
from cases.importers.indicators import (
    ACCOUNT,
    COUNT,
    DOMAIN,
    FORMAT_LABELS,
    URL,
    IndicatorFile,
    IndicatorFormatError,
    parse_indicator_file,
    sniff_indicator_format,
)
from cases.importers.upsert import BatchResult, BundleWriter, ImportSummary, chunks
from cases.models import (
    Account,
    AccountKind,
    AccountSource,
    BrandDomain,
    CaptureMethod,
    Case,
    CaseAccount,
    CaseStatus,
    Evidence,
    EvidenceFile,
    EvidenceKind,
    Job,
    JobKind,
    MediaBrand,
    Team,
    Technique,
)

from .access import require_member
from .audit import record_event
from .cases import create_case
from .evidence import Upload, record_evidence
from .jobs import Progress, start_job
from .similar_refresh import queue_similar_refresh_after_import

logger = logging.getLogger(__name__)

# Settings may override these; the defaults suit the compose deployment.
BUNDLE_MAX_BYTES: int = getattr(settings, "IMPORT_BUNDLE_MAX_BYTES", 4 * 1024**3)
# An indicator file is stored whole as an evidence attachment, so the evidence limit applies.
INDICATOR_MAX_BYTES: int = getattr(settings, "IMPORT_INDICATOR_MAX_BYTES", settings.EVIDENCE_MAX_FILE_BYTES)
SNIFF_BYTES = 64 * 1024
UPLOAD_DIR = "imports"

# A file to import: a path on this machine, or an uploaded file (Django's UploadedFile or any
# binary file object with a name).
FileInput = str | os.PathLike | IO[bytes] | File


@dataclass(frozen=True)
class StoredImport:
    """A checked file under MEDIA_ROOT, ready for a worker."""

    path: str  # the storage name, relative to MEDIA_ROOT
    name: str  # the name the user gave it, for messages only
    size: int
    format: str

    def as_params(self) -> dict[str, Any]:
        return {"file": self.path, "name": self.name, "size": self.size, "format": self.format}


# --- files ------------------------------------------------------------------------------------------


def _open_input(source: FileInput) -> tuple[BinaryIO, str, bool]:
    """(binary stream at its start, display name, whether we opened it and must close it)."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise InvalidInput(f"{path.name}: no such file.")
        try:
            return path.open("rb"), path.name, True
        except OSError as exc:
            raise InvalidInput(f"{path.name}: the file cannot be read ({exc.strerror}).") from None
    stream = source
    if isinstance(source, File) and source.closed:
        source.open("rb")
    try:
        stream.seek(0)
    except (AttributeError, OSError):
        raise InvalidInput("The upload cannot be read.") from None
    return stream, Path(getattr(source, "name", "") or "upload").name, False


def _size(stream: BinaryIO) -> int:
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def _store(source: FileInput, *, max_bytes: int, sniff, suffix: str) -> StoredImport:
    """Check a file's size and format, then copy it under MEDIA_ROOT with a random name (nothing
    the uploader chose reaches the file system)."""
    stream, name, owned = _open_input(source)
    try:
        size = _size(stream)
        if size == 0:
            raise InvalidInput(f"{name}: the file is empty.")
        if size > max_bytes:
            raise InvalidInput(f"{name}: the file is larger than the {max_bytes // 1024**2:,} MB limit.")
        try:
            fmt = sniff(stream.read(SNIFF_BYTES))
        except (BundleFormatError, IndicatorFormatError) as exc:
            raise InvalidInput(f"{name}: {exc}") from None
        stream.seek(0)
        path = default_storage.save(
            f"{UPLOAD_DIR}/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}", File(stream, name=name)
        )
        return StoredImport(path=path, name=name[:255], size=size, format=fmt)
    finally:
        if owned:
            stream.close()


def _discard(paths: Sequence[str]) -> None:
    for path in paths:
        try:
            default_storage.delete(path)
        except OSError:
            logger.warning("could not delete the imported file %s", path)


# --- bundles --------------------------------------------------------------------------------------


def start_bundle_import(*, team: Team, path_or_upload: FileInput, created_by) -> Job:
    """Check a bundle file, store it, and queue a job that imports it into the team.

    Nothing is queued unless the file is non-empty, within the size limit, UTF-8, and JSON Lines
    or CSV with a ``type`` column; InvalidInput says which check failed. Any member may import.
    """
    require_member(created_by, team)
    stored = _store(path_or_upload, max_bytes=BUNDLE_MAX_BYTES, sniff=sniff_format, suffix=".bundle")
    from cases.tasks import import_bundle_task  # tasks import services; import here, not at the top

    try:
        return start_job(
            team=team,
            kind=JobKind.IMPORT_BUNDLE,
            task=import_bundle_task,
            params=stored.as_params(),
            created_by=created_by,
        )
    except Exception:
        _discard([stored.path])
        raise


def run_bundle_import_job(*, job: Job, progress: Progress | None = None) -> dict[str, Any]:
    """The work of an import_bundle job: import the stored file.

    Safe to run again for the same job (a redelivered message): every batch is an idempotent
    upsert, so a second run finds the committed rows unchanged and carries on from there. The
    file stays until ``discard_import_files`` — after the job is marked finished, so a job that
    dies in between still finds its file when it runs again.
    """
    params = job.params
    with default_storage.open(params["file"], "rb") as stream:
        result = import_bundle(
            team=job.team,
            source=stream,
            fmt=params["format"],
            user=job.created_by,
            progress=progress,
            job=job,
            file_name=params.get("name", ""),
        )
    return result


def discard_import_files(*, job: Job) -> None:
    """Delete the files an import job stored, once it has finished with them."""
    if "file" in job.params:
        _discard([job.params["file"]])
    _discard([entry["file"] for entry in job.params.get("files", [])])


def _lock_team_for_import(team: Team) -> None:
    """Serialize imports into one team, batch by batch.

    Without it two imports could both find a handle missing and both insert it. FOR NO KEY UPDATE
    does not block the FOR KEY SHARE that inserts referencing the team take, so people keep
    working while an import runs. SQLite takes its write lock when the transaction begins.
    """
    list(Team.objects.select_for_update(no_key=True).filter(pk=team.pk).values_list("pk", flat=True))


def _record_type(record: Record) -> str | None:
    return {AccountRecord: "account", PostRecord: "post", BrandRecord: "media_brand"}.get(type(record))


def _audit_batch(*, team: Team, user, job: Job | None, records: list[Record], result) -> None:
    """Each committed batch carries its own audit event, so an import that is killed half-way
    leaves no written row unaccounted for; ``import.completed`` then sums up the run."""
    written = {
        kind: {name: n for name, n in counts.items() if name in ("created", "updated") and n}
        for kind, counts in result.counts.items()
    }
    written = {kind: counts for kind, counts in written.items() if counts}
    if not written and not result.domains_created:
        return
    record_event(
        team=team,
        user=user,
        verb="import.batch",
        target=job if job is not None else team,
        data={
            "kind": JobKind.IMPORT_BUNDLE,
            "lines": [records[0].line, records[-1].line],
            "written": written,
            "domains_created": result.domains_created,
        },
    )


def _write_batch(
    writer: BundleWriter,
    team: Team,
    batch: list[Record],
    summary: ImportSummary,
    *,
    user=None,
    job: Job | None = None,
) -> None:
    """One batch in one transaction. If the database refuses it: once more without the optimistic
    insert (a post was there after all), then one transaction per line, so that one bad line
    costs itself only and leaves nothing half-written."""
    for optimistic in (True, False):
        try:
            with transaction.atomic():
                _lock_team_for_import(team)
                result = writer.write_batch(batch, optimistic=optimistic)
                _audit_batch(team=team, user=user, job=job, records=batch, result=result)
        except (IntegrityError, DataError):
            logger.info("a batch was refused (optimistic=%s); trying again", optimistic, exc_info=True)
            continue
        writer.commit(result)
        summary.add(result)
        return
    for record in batch:
        try:
            with transaction.atomic():
                _lock_team_for_import(team)
                result = writer.write_batch([record], optimistic=False)
                _audit_batch(team=team, user=user, job=job, records=[record], result=result)
        except (IntegrityError, DataError) as exc:
            reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            rejected = Rejected(record.line, _record_type(record), f"the database refused the line: {reason}")
            failed = BatchResult()
            failed.reject(rejected)
            summary.add(failed)
            continue
        writer.commit(result)
        summary.add(result)


def import_bundle(
    *,
    team: Team,
    source: FileInput,
    user=None,
    fmt: str | None = None,
    progress: Progress | None = None,
    job: Job | None = None,
    file_name: str = "",
    batch_size: int = BATCH_LINES,
) -> dict[str, Any]:
    """Import a bundle into the team and return the summary (counts per type, rejected lines).

    Streams the file: at most three batches (``batch_size`` lines or 8 MB each) are in memory,
    whatever the file's size. Each batch commits on its own, under the team's import lock, so an
    interrupted import keeps what it did and a re-run carries on idempotently: rows
    are upserted by natural key (team + platform + normalized handle; account + post external id;
    team + brand name), and a line equal to what is stored writes nothing. A line that cannot be
    imported is reported with its number and reason and the rest still import.
    """
    require_member(user, team)
    # What this run (with the attempts of its job before it) touched is what changed since then.
    started = job.created_at if job is not None else timezone.now()
    stream, name, owned = _open_input(source)
    try:
        if fmt is None:
            try:
                fmt = sniff_format(stream.read(SNIFF_BYTES))
            except BundleFormatError as exc:
                raise InvalidInput(f"{name}: {exc}") from None
            stream.seek(0)
        total = count_lines(stream)
        stream.seek(0)
        summary = ImportSummary(format=fmt)
        writer = BundleWriter(team=team)
        done = 0
        try:
            for batch in read_ahead(read_batches(stream, fmt, max_lines=batch_size)):
                _write_batch(writer, team, batch, summary, user=user, job=job)
                summary.lines += len(batch)
                done = batch[-1].line
                if progress:
                    progress(min(done, total), total, f"{done:,} of {total:,} lines")
        except BundleFormatError as exc:
            raise InvalidInput(f"{name}: {exc}") from None
    finally:
        if owned:
            stream.close()
    result = summary.as_dict()
    result["file"] = file_name or name
    _finish_import(
        team=team,
        user=user,
        job=job,
        kind=JobKind.IMPORT_BUNDLE,
        started=started,
        changed=summary.changed,
        result=result,
    )
    if progress:
        progress(total, total, describe_result(result))
    return result


def _finish_import(
    *, team: Team, user, job: Job | None, kind: str, started, changed: bool, result: dict
) -> None:
    """The end of an import that changed something (or resumed after a killed attempt): its
    accounts' similar-account refresh, sent when this commits, and the ``import.completed``
    event that sums the run up, in one transaction."""
    if not changed and not (job is not None and job.attempts > 1):
        return
    with transaction.atomic():
        result["similar_refresh"] = queue_similar_refresh_after_import(
            team=team, since=started, requested_by=user
        )
        record_event(
            team=team,
            user=user,
            verb="import.completed",
            target=job if job is not None else team,
            data={"kind": kind, "resumed": job is not None and job.attempts > 1, **result},
        )


def describe_result(result: dict[str, Any]) -> str:
    """One line for the Job's message and the command's last line."""
    if "files" in result:
        totals = result["totals"]
        return (
            f"{totals['files']} file{'s' * (totals['files'] != 1)} ({totals['files_refused']} refused): "
            f"{totals['accounts_created']:,} accounts, {totals['domains_created']:,} domains and "
            f"{totals['evidence_created']:,} evidence items new; {totals['rejected']:,} rows rejected"
        )
    parts = []
    for kind in ("accounts", "posts", "media_brands"):
        counts = result[kind]
        if any(counts.values()):
            parts.append(
                f"{kind.replace('_', ' ')}: {counts['created']:,} created, {counts['updated']:,} updated, "
                f"{counts['unchanged']:,} unchanged"
            )
    rejected = result["rejected"]["total"]
    parts.append(f"{rejected:,} line{'s' * (rejected != 1)} rejected")
    return "; ".join(parts)


# --- threat indicators -----------------------------------------------------------------------------


def start_indicator_import(*, team: Team, path_or_upload: FileInput | Sequence[FileInput], created_by) -> Job:
    """Check one or more Meta indicator files, store them, and queue a job that imports them.

    Every file must be one of Meta's formats, UTF-8 and within the evidence size limit (each is
    kept whole as an evidence attachment); otherwise InvalidInput names the file and nothing is
    queued. Needs a user: the evidence records who captured it.
    """
    if created_by is None:
        raise InvalidInput("An indicator import needs the person who runs it: evidence names its captor.")
    require_member(created_by, team)
    sources = list(path_or_upload) if isinstance(path_or_upload, (list, tuple)) else [path_or_upload]
    if not sources:
        raise InvalidInput("No file to import.")
    stored: list[StoredImport] = []
    try:
        for source in sources:
            stored.append(
                _store(
                    source, max_bytes=INDICATOR_MAX_BYTES, sniff=sniff_indicator_format, suffix=".indicators"
                )
            )
        from cases.tasks import import_indicators_task  # tasks import services

        return start_job(
            team=team,
            kind=JobKind.IMPORT_INDICATORS,
            task=import_indicators_task,
            params={"files": [s.as_params() for s in stored]},
            created_by=created_by,
        )
    except Exception:
        _discard([s.path for s in stored])
        raise


def run_indicator_import_job(*, job: Job, progress: Progress | None = None) -> dict[str, Any]:
    """The work of an import_indicators job: import the stored files (see run_bundle_import_job)."""
    files = job.params["files"]
    contents = []
    for entry in files:
        with default_storage.open(entry["file"], "rb") as stream:
            contents.append((entry["name"], stream.read()))
    return import_indicator_files(
        team=job.team, files=contents, user=job.created_by, progress=progress, job=job
    )


def import_indicator_files(
    *,
    team: Team,
    files: Sequence[FileInput | tuple[str, bytes]],
    user,
    progress: Progress | None = None,
    job: Job | None = None,
) -> dict[str, Any]:
    """Import Meta threat-indicator files into the team, one transaction per file.

    Each file becomes (or, re-imported, updates) the case named after its network: accounts named
    in it are upserted and put on the case, its domains go to one media brand "<network> domains",
    and one ``indicator`` evidence item cites the file by name and SHA-256, carries the file as an
    attachment and every kill-chain procedure its rows cite. Re-importing changes nothing: the
    case is found by title, accounts and domains by their natural keys, and the evidence by the
    file's SHA-256 on that case (evidence is immutable, so it is never recorded twice).
    """
    if user is None:
        raise InvalidInput("An indicator import needs the person who runs it: evidence names its captor.")
    require_member(user, team)
    started = job.created_at if job is not None else timezone.now()
    parsed: list[IndicatorFile | tuple[str, str]] = []
    for source in files:
        if isinstance(source, tuple):
            name, content = source
        else:
            try:
                stream, name, owned = _open_input(source)
            except InvalidInput as exc:
                name = Path(source).name if isinstance(source, (str, os.PathLike)) else "upload"
                parsed.append((name, exc.message.removeprefix(f"{name}: ")))
                continue
            try:
                # One byte past the limit is enough to know the file is too large.
                content = stream.read(INDICATOR_MAX_BYTES + 1)
            finally:
                if owned:
                    stream.close()
        if len(content) > INDICATOR_MAX_BYTES:
            parsed.append((name, f"the file is larger than the {INDICATOR_MAX_BYTES // 1024**2:,} MB limit"))
            continue
        try:
            parsed.append(parse_indicator_file(name, content))
        except IndicatorFormatError as exc:
            parsed.append((name, str(exc)))
    total = sum(p.rows if isinstance(p, IndicatorFile) else 1 for p in parsed)
    techniques = {t.procedure_code: t for t in Technique.objects.all()}
    results = []
    done = 0
    for item in parsed:
        if isinstance(item, tuple):
            results.append({"file": item[0], "status": "refused", "reason": item[1]})
            done += 1
        else:
            try:
                with transaction.atomic():
                    _lock_team_for_import(team)
                    results.append(
                        _import_indicator_file(team=team, parsed=item, user=user, techniques=techniques)
                    )
            except Conflict as exc:
                results.append(
                    {"file": item.name, "sha256": item.sha256, "status": "refused", "reason": exc.message}
                )
            done += item.rows
        if progress:
            progress(min(done, total), total, f"{len(results)} of {len(parsed)} files")
    result = {"files": results, "totals": _indicator_totals(results)}
    _finish_import(
        team=team,
        user=user,
        job=job,
        kind=JobKind.IMPORT_INDICATORS,
        started=started,
        changed=bool(result["totals"]["changed"]),
        result=result,
    )
    if progress:
        progress(total, total, describe_result(result))
    return result


def _indicator_totals(results: list[dict[str, Any]]) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for r in results:
        totals["files"] += 1
        if r["status"] == "refused":
            totals["files_refused"] += 1
            continue
        totals["cases_created"] += r["case"]["created"]
        for name in ("created", "updated", "unchanged"):
            totals[f"accounts_{name}"] += r["accounts"][name]
        totals["case_accounts_created"] += r["case_accounts"]["created"]
        totals["domains_created"] += r["domains"]["created"]
        totals["evidence_created"] += r["evidence"]["created"]
        totals["rejected"] += r["rejected"]["total"]
    changes = ("cases_created", "accounts_created", "accounts_updated", "case_accounts_created")
    totals["changed"] = sum(totals[k] for k in (*changes, "domains_created", "evidence_created"))
    keys = (
        "files",
        "files_refused",
        "cases_created",
        "accounts_created",
        "accounts_updated",
        "accounts_unchanged",
        "case_accounts_created",
        "domains_created",
        "evidence_created",
        "rejected",
        "changed",
    )
    return {k: totals[k] for k in keys}


def _import_indicator_file(
    *, team: Team, parsed: IndicatorFile, user, techniques: dict[str, Technique]
) -> dict[str, Any]:
    """One file, inside the caller's transaction and team lock."""
    case = Case.objects.filter(team=team, title=parsed.network).order_by("id").first()
    case_created = case is None
    if case is None:
        case = create_case(team=team, title=parsed.network, created_by=user, summary=parsed.summary)
    already = Evidence.objects.filter(
        case=case, kind=EvidenceKind.INDICATOR, files__sha256=parsed.sha256
    ).exists()
    if not already and case.status in (CaseStatus.DECIDED, CaseStatus.CLOSED):
        raise Conflict(
            f"The case '{case.title}' is {case.get_status_display().lower()}; reopen it to import into it."
        )
    if not case_created and not case.summary.strip() and parsed.summary:
        # An analyst's summary is never overwritten; an empty one is filled from the report.
        Case.objects.filter(pk=case.pk).update(summary=parsed.summary, updated_at=timezone.now())
        record_event(team=team, user=user, verb="case.summary_set", target=case, data={"source": parsed.name})

    accounts = _upsert_indicator_accounts(team=team, case=case, parsed=parsed, user=user)
    brand, domains = _upsert_indicator_domains(team=team, parsed=parsed)
    cited = [techniques[code] for code in parsed.procedure_codes if code in techniques]
    unknown = [code for code in parsed.procedure_codes if code not in techniques]
    evidence = None
    if not already:
        evidence = record_evidence(
            case=case,
            kind=EvidenceKind.INDICATOR,
            captured_by=user,
            capture_method=CaptureMethod.IMPORT,
            brand=brand,
            title=f"Meta threat indicators: {parsed.name} (SHA-256 {parsed.sha256[:12]}…)"[:500],
            url=parsed.upstream_url,
            captured_text=_evidence_text(parsed, accounts["by_platform"]),
            techniques=cited,
            files=[Upload(EvidenceFile.Role.ATTACHMENT, parsed.name, parsed.content)],
        )
    kinds = Counter(i.kind for i in parsed.indicators)
    changed = (
        case_created
        or evidence is not None
        or accounts["created"] + accounts["updated"] + accounts["links_created"] + domains["created"] > 0
    )
    return {
        "file": parsed.name,
        "sha256": parsed.sha256,
        "format": parsed.format,
        "status": "imported" if changed else "unchanged",
        "case": {"id": case.pk, "title": case.title, "created": int(case_created)},
        "accounts": accounts,
        "case_accounts": {"created": accounts.pop("links_created")},
        "domains": domains,
        "brand": brand.name if brand else None,
        "evidence": {"created": int(evidence is not None), "unchanged": int(already)},
        "techniques": [t.procedure_code for t in cited],
        "unknown_procedures": unknown,
        "counts_as_text": kinds[COUNT],
        "urls": kinds[URL],
        "other_indicators": kinds["text"],
        "rejected": {
            "total": len(parsed.rejected),
            "reasons": [{"line": line, "reason": reason} for line, reason in parsed.rejected[:1000]],
        },
    }


def _upsert_indicator_accounts(*, team: Team, case: Case, parsed: IndicatorFile, user) -> dict[str, Any]:
    """Accounts named in the file, keyed like every account; an existing one only gains a
    profile URL it lacked (an indicator file is thinner evidence than what people entered)."""
    first: dict[tuple[str, str], Any] = {}
    for indicator in parsed.indicators:
        if indicator.kind == ACCOUNT:
            first.setdefault((indicator.platform, indicator.handle_normalized), indicator)
    counts = {"created": 0, "updated": 0, "unchanged": 0, "links_created": 0}
    by_platform: Counter[str] = Counter(platform for platform, _ in first)
    if not first:
        return {**counts, "by_platform": {}}
    existing = {
        (a.platform, a.handle_normalized): a
        for handles in chunks(sorted({h for _, h in first}))
        for a in Account.objects.filter(team=team, handle_normalized__in=handles)
        if (a.platform, a.handle_normalized) in first
    }
    new = []
    fill = []
    for key, indicator in first.items():
        account = existing.get(key)
        if account is None:
            new.append(
                Account(
                    team=team,
                    platform=indicator.platform,
                    handle=indicator.handle[:255],
                    handle_normalized=key[1],
                    profile_url=indicator.profile_url,
                    kind=AccountKind.SUSPECT,
                    source=AccountSource.INDICATORS,
                )
            )
        elif not account.profile_url and indicator.profile_url:
            account.profile_url = indicator.profile_url
            account.updated_at = timezone.now()
            fill.append(account)
        else:
            counts["unchanged"] += 1
    Account.objects.bulk_create(new, batch_size=500)
    Account.objects.bulk_update(fill, ["profile_url", "updated_at"], batch_size=200)
    counts["created"], counts["updated"] = len(new), len(fill)
    ids = {(a.platform, a.handle_normalized): a.pk for a in [*existing.values(), *new]}
    linked = {
        account_id
        for chunk in chunks(sorted(ids.values()))
        for account_id in CaseAccount.objects.filter(case=case, account_id__in=chunk).values_list(
            "account_id", flat=True
        )
    }
    links = [
        CaseAccount(
            case=case,
            account_id=ids[key],
            added_by=user,
            reason=(
                f"Named in Meta's threat-indicator file {parsed.name}, line {indicator.line}"
                + (f": {indicator.procedure_code} {indicator.procedure}" if indicator.procedure_code else "")
                + f" ({defang(indicator.value)})"
            )[:2000],
        )
        for key, indicator in first.items()
        if ids[key] not in linked
    ]
    CaseAccount.objects.bulk_create(links, batch_size=500)
    counts["links_created"] = len(links)
    return {**counts, "by_platform": dict(sorted(by_platform.items()))}


def _upsert_indicator_domains(
    *, team: Team, parsed: IndicatorFile
) -> tuple[MediaBrand | None, dict[str, int]]:
    """The file's domains, in one media brand named after the network; only ever added to."""
    domains = list(dict.fromkeys(i.domain for i in parsed.indicators if i.kind == DOMAIN))
    if not domains:
        return None, {"created": 0, "unchanged": 0}
    name = f"{parsed.network} domains"[:300]
    brand = MediaBrand.objects.filter(team=team, name=name).first()
    if brand is None:
        brand = MediaBrand.objects.create(
            team=team,
            name=name,
            description=f"Domains named in Meta's threat indicators for {parsed.network}.",
        )
    known = set(BrandDomain.objects.filter(brand=brand).values_list("domain", flat=True))
    new = [BrandDomain(brand=brand, domain=d) for d in domains if d not in known]
    BrandDomain.objects.bulk_create(new, batch_size=1000)
    return brand, {"created": len(new), "unchanged": len(domains) - len(new)}


def _evidence_text(parsed: IndicatorFile, by_platform: dict[str, int]) -> str:
    """What the file says, for the evidence item: every row that did not become an account or a
    domain row is listed with its line, so nothing Meta published is lost."""
    kinds = Counter(i.kind for i in parsed.indicators)
    lines = [
        f"File: {parsed.name}",
        f"SHA-256: {parsed.sha256}",
        f"Format: {FORMAT_LABELS[parsed.format]}",
        f"Network: {parsed.network}",
        "Accounts: " + (", ".join(f"{n} {p}" for p, n in by_platform.items()) or "none"),
        f"Domains: {kinds[DOMAIN]}",
    ]
    sections = {
        COUNT: "Counts as published (kept as notes, not imported as accounts)",
        URL: "URLs",
        "text": "Other indicators",
    }
    for kind, heading in sections.items():
        rows = [i for i in parsed.indicators if i.kind == kind]
        if not rows:
            continue
        lines.extend(["", f"{heading}:"])
        for i in rows:
            where = f"line {i.line}" + (f", {i.procedure_code} {i.procedure}" if i.procedure_code else "")
            value = i.url or i.value
            comment = f" — {i.comment}" if i.comment else ""
            lines.append(f"- {where}: {value}{comment}")
    commented = [i for i in parsed.indicators if i.kind == DOMAIN and i.comment]
    if commented:
        lines.extend(["", "Domain remarks:"])
        lines.extend(f"- line {i.line}: {i.domain} — {i.comment}" for i in commented)
    if parsed.rejected:
        lines.extend(["", "Rows not read:"])
        lines.extend(f"- line {line}: {reason}" for line, reason in parsed.rejected)
    return "\n".join(lines)
