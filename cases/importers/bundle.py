"""Reading a bundle file: JSON Lines or CSV in, validated records out. No database access.

The reader streams: it holds one line (at most ``MAX_LINE_BYTES``) at a time and ``read_batches``
groups the records, in file order, into batches bounded in lines and in bytes. Every line
becomes exactly one of

- an ``AccountRecord``, ``PostRecord`` or ``BrandRecord`` whose values are already normalized and
  within the model's limits, so writing it cannot fail for reasons of its own; or
- a ``Rejected`` with the line number and a reason a person can act on.

Blank lines are skipped. A record carries only the fields its line *gives*: an absent key leaves
the stored value alone on re-import, an explicit JSON ``null`` clears it (see
``docs/import-formats.md``). Text is kept exactly as written (after the checks below): nothing in
here interprets markup, so ``<script>`` in a bio is stored as those characters.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import queue
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from cases.handles import normalize_handle, refang

# A line longer than this is rejected without being held in memory: no real record comes close,
# and a file of one endless line must not take the worker down.
MAX_LINE_BYTES = 1_000_000
# A batch (one transaction) ends at this many lines or this much input, whichever comes first:
# the byte bound keeps memory flat when every line is long.
BATCH_LINES = 5000
BATCH_BYTES = 8 * 1024 * 1024

# Field limits: the model's max_length where it has one, and a generous "absurd" bound for text.
MAX_HANDLE = 255
MAX_EXTERNAL_ID = 100
MAX_DISPLAY_NAME = 500
MAX_BIO = 20_000
MAX_POST_TEXT = 100_000
MAX_URL = 2000
MAX_LANGUAGE = 20
MAX_BRAND_NAME = 300
MAX_BRAND_TEXT = 20_000
MAX_DOMAIN = 253
MAX_LINKS = 500
MAX_DOMAINS = 5000
MAX_COUNT = 2**63 - 1  # BigIntegerField
MAX_DEPTH = 20  # nesting of JSON values; a record needs two levels
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)

PLATFORMS = {
    "x": "x",
    "twitter": "x",
    "facebook": "facebook",
    "instagram": "instagram",
    "tiktok": "tiktok",
    "youtube": "youtube",
    "telegram": "telegram",
    "reddit": "reddit",
    "other": "other",
}
ACCOUNT_KINDS = {"suspect", "reference"}
TRUE = {"true", "1", "yes", "y", "t"}
FALSE = {"false", "0", "no", "n", "f", ""}

# Control characters other than tab and line breaks have no place in text and some (NUL) cannot
# be stored by PostgreSQL at all.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")
# An http(s) URL with a host and no whitespace, control characters or defanging brackets.
_PLAIN_URL = re.compile(r"^https?://[^\x00-\x20\x7f/?#\[\]()@:]+(?::\d+)?(?:[/?#][^\x00-\x20\x7f\[\]()]*)?$")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$"
)


class BundleFormatError(ValueError):
    """The file as a whole is not a bundle (wrong encoding, no 'type' column, …)."""


@dataclass(slots=True)
class AccountRecord:
    line: int
    platform: str
    key: str  # the normalized handle: with team and platform, the account's natural key
    handle: str  # as the platform shows it
    fields: dict[str, Any]


@dataclass(slots=True)
class PostRecord:
    line: int
    platform: str
    account_key: str
    external_id: str  # "" when the line gives none: see the no-key rule in docs/import-formats.md
    fields: dict[str, Any]
    account: tuple[str, str] = ("", "")  # (platform, account_key): the account's natural key

    def __post_init__(self) -> None:
        # Built once here, in the reader thread, rather than again for every lookup.
        self.account = (self.platform, self.account_key)


@dataclass(slots=True)
class BrandRecord:
    line: int
    name: str
    fields: dict[str, Any]
    domains: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Rejected:
    line: int
    type: str | None  # the line's type when it had a valid one, for per-type counts
    reason: str


Record = AccountRecord | PostRecord | BrandRecord | Rejected


class _Bad(Exception):
    """A line-level problem; its message is the reason reported for the line."""


# --- sniffing ---------------------------------------------------------------------------------------


def sniff_format(head: bytes) -> str:
    """'jsonl' or 'csv' from the first bytes of a file, or BundleFormatError saying why neither.

    Only UTF-8 (with or without BOM) is accepted; a UTF-16 file is refused here rather than read
    as garbage line after line.
    """
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise BundleFormatError("The file is UTF-16 or UTF-32; save it as UTF-8.")
    head = head.removeprefix(codecs.BOM_UTF8)
    # An incremental decoder tolerates a character cut at the end of the sample. A stray bad byte
    # costs only its line later on; a sample full of them is another encoding (Latin-1, …).
    text = codecs.getincrementaldecoder("utf-8")("replace").decode(head, final=False)
    if text.count("\ufffd") > max(2, len(text) // 100):
        raise BundleFormatError("The file is not UTF-8 text.")
    stripped = text.lstrip()
    if not stripped:
        raise BundleFormatError("The file is empty.")
    if stripped.startswith("{"):
        return "jsonl"
    first_line = stripped.splitlines()[0]
    header = next(csv.reader([first_line]), [])
    if "type" in {cell.strip().lower() for cell in header}:
        return "csv"
    raise BundleFormatError(
        "Not a bundle: expected JSON Lines (one object per line) or CSV with a 'type' column."
    )


# --- reading ----------------------------------------------------------------------------------------


def count_lines(stream: BinaryIO, chunk: int = 1 << 20) -> int:
    """Physical lines in the stream, read in chunks (a progress total, not a record count)."""
    lines, last = 0, b"\n"
    while block := stream.read(chunk):
        lines += block.count(b"\n")
        last = block[-1:]
    return lines + (last != b"\n")


def _physical_lines(stream: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) per line; bytes is None for a line over MAX_LINE_BYTES, whose rest is
    skipped in chunks so it is never held whole."""
    readline = stream.readline
    number = 0
    while raw := readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while (rest := readline(1 << 20)) and not rest.endswith(b"\n"):
                pass
            yield number, None
            continue
        yield number, raw


def _sized_records(stream: BinaryIO, fmt: str) -> Iterator[tuple[Record, int]]:
    """(record, bytes of input it came from), in file order: one per non-blank line (JSON Lines)
    or record (CSV)."""
    if fmt == "jsonl":
        return _read_jsonl(stream)
    if fmt == "csv":
        return _read_csv(stream)
    raise BundleFormatError(f"Unknown bundle format '{fmt}'.")


def read_batches(
    stream: BinaryIO, fmt: str, *, max_lines: int = BATCH_LINES, max_bytes: int = BATCH_BYTES
) -> Iterator[list[Record]]:
    """Records in lists of at most ``max_lines`` records and about ``max_bytes`` of input: the
    unit of one transaction."""
    batch: list[Record] = []
    size = 0
    for record, nbytes in _sized_records(stream, fmt):
        batch.append(record)
        size += nbytes
        if len(batch) >= max_lines or size >= max_bytes:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _too_long(number: int) -> Rejected:
    return Rejected(number, None, f"the line is longer than {MAX_LINE_BYTES:,} bytes")


def _read_jsonl(stream: BinaryIO) -> Iterator[tuple[Record, int]]:
    loads = json.loads
    for number, raw in _physical_lines(stream):
        if raw is None:
            yield _too_long(number), MAX_LINE_BYTES
            continue
        if number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield Rejected(number, None, "the line is not valid UTF-8"), len(raw)
            continue
        if not text.strip():
            continue
        try:
            obj = loads(text)
        except ValueError as exc:
            where = f"{exc.msg} at column {exc.colno}" if hasattr(exc, "colno") else str(exc)[:120]
            yield Rejected(number, None, f"not valid JSON ({where})"), len(raw)
            continue
        except RecursionError:
            yield Rejected(number, None, "not valid JSON (nested too deeply)"), len(raw)
            continue
        # JSON escapes can smuggle in what raw UTF-8 cannot (NUL, lone surrogates): check the
        # values only when the line has an escape, which keeps the common case fast.
        yield validate(obj, number, check_escapes="\\u" in text), len(raw)


def _read_csv(stream: BinaryIO) -> Iterator[tuple[Record, int]]:
    # Decoding with surrogateescape keeps the reader going past a bad byte; the record holding
    # it is rejected below, the others are read normally.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    try:
        yield from _read_csv_records(text)
    finally:
        # The caller owns the stream: hand it back open instead of letting the wrapper close it.
        text.detach()


def _csv_lines(text: io.TextIOWrapper, too_long: set[int]) -> Iterator[str]:
    """Physical lines for the csv module, each at most MAX_LINE_BYTES characters: a longer one is
    skipped in chunks, replaced by an empty line and noted, so its record can be rejected."""
    number = 0
    while line := text.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(line) > MAX_LINE_BYTES and not line.endswith(("\n", "\r")):
            while (rest := text.readline(1 << 20)) and not rest.endswith(("\n", "\r")):
                pass
            too_long.add(number)
            line = "\n"
        yield line


def _read_csv_records(text: io.TextIOWrapper) -> Iterator[tuple[Record, int]]:
    # Process-wide, and only ever raised: a quoted cell may span lines up to this length.
    if csv.field_size_limit() < MAX_LINE_BYTES:
        csv.field_size_limit(MAX_LINE_BYTES)
    too_long: set[int] = set()
    reader = csv.reader(_csv_lines(text, too_long))
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise BundleFormatError(f"The CSV header cannot be read: {exc}.") from None
    columns = [cell.strip().lower() for cell in header]
    if "type" not in columns:
        raise BundleFormatError("The CSV file has no 'type' column.")
    width = len(columns)
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Rejected(start, None, f"not valid CSV ({exc})"), MAX_LINE_BYTES
            continue
        nbytes = sum(len(cell) for cell in row)
        if too_long and any(start <= n <= reader.line_num for n in too_long):
            too_long.difference_update(range(start, reader.line_num + 1))
            yield _too_long(start), MAX_LINE_BYTES
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > width:
            yield Rejected(start, None, f"{len(row)} cells but the header names {width} columns"), nbytes
            continue
        obj = {name: cell for name, cell in zip(columns, row, strict=False) if cell != ""}
        try:
            "".join(row).encode("utf-8")
        except UnicodeEncodeError:
            yield Rejected(start, None, "the record is not valid UTF-8"), nbytes
            continue
        yield validate(obj, start, check_escapes=True, from_csv=True), nbytes


# --- validation -------------------------------------------------------------------------------------


def validate(obj: Any, line: int, *, check_escapes: bool = True, from_csv: bool = False) -> Record:
    """One parsed line (a dict) to a record, or a Rejected with the first problem found."""
    if not isinstance(obj, dict):
        return Rejected(line, None, "not a JSON object")
    kind = obj.get("type")
    if kind is None or kind == "":
        return Rejected(line, None, "missing required key 'type'")
    validator = _VALIDATORS.get(kind) if isinstance(kind, str) else None
    if validator is None:  # not written exactly: try it trimmed and lower-cased
        kind = kind.strip().lower() if isinstance(kind, str) else kind
        validator = _VALIDATORS.get(kind) if isinstance(kind, str) else None
        if validator is None:
            return Rejected(
                line, None, f"unknown type {_show(obj['type'])}; expected account, post or media_brand"
            )
    try:
        if check_escapes:
            _check_strings(obj)
        return validator(obj, line, from_csv)
    except _Bad as exc:
        return Rejected(line, kind, str(exc))


def _show(value: Any, limit: int = 40) -> str:
    """A value quoted for a rejection reason, cut short: reasons are shown to people."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = _CONTROL.sub("?", text)
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _check_strings(value: Any, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise _Bad("nested too deeply")
    if isinstance(value, str):
        if "\x00" in value:
            raise _Bad("contains a NUL character")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _Bad("contains an invalid Unicode escape (lone surrogate)") from None
    elif isinstance(value, dict):
        for item in value.values():
            _check_strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item, depth + 1)


def _platform(obj: dict) -> str:
    value = obj.get("platform")
    if value is None or value == "":
        raise _Bad("missing required key 'platform'")
    platform = PLATFORMS.get(value) if isinstance(value, str) else None
    if platform is None and isinstance(value, str):
        platform = PLATFORMS.get(value.strip().lower())
    if platform is None:
        raise _Bad(f"unknown platform {_show(value)}")
    return platform


@lru_cache(maxsize=65536)
def _handle_key(raw: str) -> tuple[str, str]:
    """(normalized key, display handle) of a handle as written, or ('', reason) when unusable.

    Cached because a post file names the same few accounts over and over.
    """
    key = normalize_handle(raw)
    if not key:
        return "", "the handle is empty"
    if len(key) > MAX_HANDLE:
        return "", f"the handle is longer than {MAX_HANDLE} characters"
    if _CONTROL_OR_SPACE.search(key):
        return "", "the handle contains spaces or control characters"
    display = raw.strip().lstrip("@")
    if "/" in display:
        # A URL form: show the name as the URL spells it, without the rest of the URL.
        display = next(
            (s.lstrip("@") for s in refang(display).split("/") if s.lstrip("@").lower() == key), key
        )
    return key, display[:MAX_HANDLE]


def _handle(obj: dict, name: str) -> tuple[str, str]:
    value = obj.get(name)
    if value is None or value == "":
        raise _Bad(f"missing required key '{name}'")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _Bad(f"'{name}' must be a string")
    key, display = _handle_key(value)
    if not key:
        raise _Bad(f"'{name}': {display}")
    return key, display


def _text(value: Any, name: str, limit: int, *, single_line: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _Bad(f"'{name}' must be a string")
    if len(value) > limit:
        raise _Bad(f"'{name}' is longer than {limit:,} characters")
    if single_line:
        # Identifiers and codes: one token, no spaces or control characters.
        value = value.strip()
        if _CONTROL_OR_SPACE.search(value):
            raise _Bad(f"'{name}' contains spaces or control characters")
    elif "\x00" in value:
        # Free text keeps every other character as written; NUL alone cannot be stored.
        raise _Bad(f"'{name}' contains a NUL character")
    return value


def _url(value: Any, name: str) -> str:
    """An http(s) URL, refanged, or ''. Anything else (javascript:, data:) is refused: these
    values end up in href attributes."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Bad(f"'{name}' must be a string")
    if len(value) <= MAX_URL and _PLAIN_URL.match(value):
        return value  # the common case, checked by one regex: http(s), a host, nothing to refang
    url = refang(value)
    if not url:
        return ""
    if len(url) > MAX_URL:
        raise _Bad(f"'{name}' is longer than {MAX_URL} characters")
    if _CONTROL_OR_SPACE.search(url):
        raise _Bad(f"'{name}' is not a URL (it contains spaces or control characters)")
    if "://" not in url and not url.lower().startswith(("javascript:", "data:", "vbscript:", "file:")):
        url = "https://" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        raise _Bad(f"'{name}' is not a valid URL") from None
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        raise _Bad(f"'{name}' must be an http or https URL, not {_show(value)}")
    return url


def _count(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise _Bad(f"'{name}' must be a whole number")
    if isinstance(value, str):
        stripped = value.strip().replace(",", "").replace("_", "")
        if not stripped.lstrip("-").isdigit():
            raise _Bad(f"'{name}' must be a whole number, not {_show(value)}")
        value = int(stripped)
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise _Bad(f"'{name}' must be a whole number, not {_show(value)}")
    if value < 0:
        raise _Bad(f"'{name}' cannot be negative")
    if value > MAX_COUNT:
        raise _Bad(f"'{name}' is too large")
    return value


def _datetime(value: Any, name: str) -> datetime | None:
    """ISO 8601 with or without a zone; a value without one is UTC."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Bad(f"'{name}' must be an ISO 8601 date, not {_show(value)}")
    try:
        moment = datetime.fromisoformat(value.strip())
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _Bad(f"'{name}' is not an ISO 8601 date: {_show(value)}") from None
    if not EARLIEST <= moment < LATEST:
        raise _Bad(f"'{name}' is out of range (1900 to 2199): {_show(value)}")
    return moment


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, str) and value.strip().lower() in TRUE | FALSE:
        return value.strip().lower() in TRUE
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise _Bad(f"'{name}' must be true or false, not {_show(value)}")


def _list(value: Any, name: str, limit: int) -> list[str]:
    """A JSON array, or (in CSV) a cell holding a JSON array or whitespace-separated values."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.strip()
        if value.startswith("["):
            try:
                value = json.loads(value)
            except ValueError:
                raise _Bad(f"'{name}' is not a valid JSON array") from None
        else:
            value = value.split()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _Bad(f"'{name}' must be a list of strings")
    if len(value) > limit:
        raise _Bad(f"'{name}' has more than {limit:,} items")
    return value


def _domain(value: str) -> str:
    """'Bild[.]pics', 'https://bild.pics/' -> 'bild.pics'."""
    domain = refang(value).lower()
    if "://" in domain:
        domain = urlsplit(domain).hostname or ""
    domain = domain.strip().strip("/").rstrip(".")
    if len(domain) > MAX_DOMAIN or not _HOSTNAME.match(domain):
        raise _Bad(f"{_show(value)} is not a domain name")
    return domain


_ACCOUNT_TEXT = {
    "external_id": MAX_EXTERNAL_ID,
    "display_name": MAX_DISPLAY_NAME,
    "bio": MAX_BIO,
    "language": MAX_LANGUAGE,
}


def _account(obj: dict, line: int, from_csv: bool) -> AccountRecord:
    platform = _platform(obj)
    key, display = _handle(obj, "handle")
    fields: dict[str, Any] = {}
    for name, limit in _ACCOUNT_TEXT.items():
        if name in obj:
            fields[name] = _text(obj[name], name, limit, single_line=name in ("external_id", "language"))
    if "profile_url" in obj:
        fields["profile_url"] = _url(obj["profile_url"], "profile_url")
    if "created_at" in obj:
        fields["created_on_platform"] = _datetime(obj["created_at"], "created_at")
    for name in ("followers", "following"):
        if name in obj:
            fields[name] = _count(obj[name], name)
    if "kind" in obj:
        kind = obj["kind"]
        if not isinstance(kind, str) or kind.strip().lower() not in ACCOUNT_KINDS:
            raise _Bad(f"unknown account kind {_show(kind)}; expected suspect or reference")
        fields["kind"] = kind.strip().lower()
    return AccountRecord(line, platform, key, display, fields)


def _post(obj: dict, line: int, from_csv: bool) -> PostRecord:
    platform = _platform(obj)
    key, _ = _handle(obj, "account")
    fields: dict[str, Any] = {}
    external_id = _text(obj.get("external_id"), "external_id", MAX_EXTERNAL_ID, single_line=True)
    if "url" in obj:
        fields["url"] = _url(obj["url"], "url")
    if "text" in obj:
        fields["text"] = _text(obj["text"], "text", MAX_POST_TEXT)
    if "posted_at" in obj:
        fields["posted_at"] = _datetime(obj["posted_at"], "posted_at")
    if "is_repost" in obj:
        fields["is_repost"] = _bool(obj["is_repost"], "is_repost")
    if "links" in obj:
        fields["links"] = [_url(link, "links") for link in _list(obj["links"], "links", MAX_LINKS)]
    return PostRecord(line, platform, key, external_id, fields)


def _brand(obj: dict, line: int, from_csv: bool) -> BrandRecord:
    name = obj.get("name")
    if name is None or (isinstance(name, str) and not name.strip()):
        raise _Bad("missing required key 'name'")
    name = _text(name, "name", MAX_BRAND_NAME).strip()
    fields: dict[str, Any] = {}
    if "impersonates" in obj:
        fields["impersonates"] = _text(obj["impersonates"], "impersonates", MAX_BRAND_NAME).strip()
    if "description" in obj:
        fields["description"] = _text(obj["description"], "description", MAX_BRAND_TEXT)
    domains = list(dict.fromkeys(_domain(d) for d in _list(obj.get("domains"), "domains", MAX_DOMAINS)))
    return BrandRecord(line, name, fields, domains)


_VALIDATORS = {"account": _account, "post": _post, "media_brand": _brand}


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


def read_ahead(items: Iterable[Any], depth: int = 2) -> Iterator[Any]:
    """Iterate ``items`` in a background thread, at most ``depth`` items ahead.

    Parsing the next batch then overlaps writing this one: psycopg releases the GIL while it waits
    on the server. The thread only reads and validates (no database access); an error it meets is
    raised here, in the caller's thread, and stopping early stops the thread.
    """
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(_Failure(exc))
            return
        put(done)

    thread = threading.Thread(target=produce, name="bundle-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = handoff.get()
            if item is done:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()
