"""Set-based upserts of bundle records into one team, a batch at a time.

Called only by ``cases.services.imports``, inside the per-batch transaction it opens and with the
team lock it takes; this module opens no transaction and writes no audit event of its own.

Per batch, for each kind of row: **one** SELECT of the rows the batch names (by natural key), a
merge in Python that decides per line whether it creates, updates or changes nothing, then one
set-based write of the new rows and one of the changed rows. Unchanged rows are not written at all,
so their ``updated_at`` stays as it was and a re-import costs reads only.

One shortcut: posts of accounts that this run created are not looked up (nothing but this run can
have written them, barring a race), and a duplicate after all makes the insert fail and the
caller repeat the batch with every post looked up. On a first import that saves an index probe
per post.

PostgreSQL gets binary ``COPY`` for new posts and ``UPDATE … FROM unnest(…)`` for changed rows;
every other backend (SQLite) gets the ORM's ``bulk_create`` and an ``executemany`` UPDATE. Both
paths make the same decisions, from the same merge code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any

from django.db import connection
from django.utils import timezone

from cases.models import Account, AccountKind, AccountSource, BrandDomain, MediaBrand, Post, Team

from .bundle import AccountRecord, BrandRecord, PostRecord, Record, Rejected

# The fields a bundle line may set, with the value a new row gets when the line does not say.
ACCOUNT_DEFAULTS: dict[str, Any] = {
    "handle": "",
    "external_id": "",
    "display_name": "",
    "bio": "",
    "profile_url": "",
    "created_on_platform": None,
    "followers": None,
    "following": None,
    "language": "",
    "kind": AccountKind.SUSPECT.value,
}
POST_DEFAULTS: dict[str, Any] = {"url": "", "text": "", "posted_at": None, "is_repost": False, "links": []}
BRAND_DEFAULTS: dict[str, Any] = {"impersonates": "", "description": ""}

# SQLite (before 3.32) allows 999 parameters per statement; lookups are chunked below that.
LOOKUP_CHUNK = 900
# The account-id cache is a speed-up, not a requirement: past this size it starts over.
ACCOUNT_CACHE_LIMIT = 200_000
# Stored rejection reasons per run; the total is always counted.
MAX_REASONS = 1000

TYPES = {"account": "accounts", "post": "posts", "media_brand": "media_brands"}
# jsonb's binary wire format: version 1, then the JSON text.
JSONB_EMPTY_LIST = b"\x01[]"

AccountKey = tuple[str, str]  # (platform, normalized handle)
PostKey = tuple[int, str]  # (account id, external id)


def _counts() -> dict[str, int]:
    return {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}


@dataclass
class BatchResult:
    """What one batch did. Merged into the run's summary only once its transaction committed."""

    counts: dict[str, dict[str, int]] = field(default_factory=lambda: {t: _counts() for t in TYPES.values()})
    domains_created: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    # Accounts that exist after this batch (created or found), for the next batches' posts.
    account_ids: dict[AccountKey, int] = field(default_factory=dict)
    # Ids of the accounts this batch created.
    new_accounts: set[int] = field(default_factory=set)

    def reject(self, record: Rejected) -> None:
        self.rejected.append(record)
        if record.type in TYPES:
            self.counts[TYPES[record.type]]["rejected"] += 1


@dataclass
class ImportSummary:
    """The result of a run, as stored on the Job and in the audit event."""

    format: str
    lines: int = 0
    counts: dict[str, dict[str, int]] = field(default_factory=lambda: {t: _counts() for t in TYPES.values()})
    domains_created: int = 0
    rejected_total: int = 0
    reasons: list[dict[str, Any]] = field(default_factory=list)

    def add(self, batch: BatchResult) -> None:
        for kind, counts in batch.counts.items():
            for name, value in counts.items():
                self.counts[kind][name] += value
        self.domains_created += batch.domains_created
        for record in batch.rejected:
            self.add_rejected(record)

    def add_rejected(self, record: Rejected) -> None:
        self.rejected_total += 1
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append({"line": record.line, "reason": record.reason})

    @property
    def changed(self) -> int:
        return self.domains_created + sum(c["created"] + c["updated"] for c in self.counts.values())

    @property
    def imported(self) -> int:
        """Lines that were accepted (whether or not they changed anything)."""
        return sum(c["created"] + c["updated"] + c["unchanged"] for c in self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "lines": self.lines,
            "imported": self.imported,
            "changed": self.changed,
            **{kind: dict(counts) for kind, counts in self.counts.items()},
            "brand_domains": {"created": self.domains_created},
            "rejected": {
                "total": self.rejected_total,
                "reasons": list(self.reasons),
                "reasons_truncated": self.rejected_total > len(self.reasons),
            },
        }


def chunks(items: Sequence[Any], size: int = LOOKUP_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class BundleWriter:
    """Writes batches of records into one team. Holds only a bounded cache between batches."""

    def __init__(self, *, team: Team):
        self.team = team
        self.postgres = connection.vendor == "postgresql"
        self._account_ids: dict[AccountKey, int] = {}
        # Accounts this run created. Their only posts are the ones this run wrote, so a post of
        # theirs is looked up only if the optimistic insert meets a duplicate (see write_batch).
        self._new_accounts: set[int] = set()

    def commit(self, result: BatchResult) -> None:
        """Keep what a committed batch learned (never call it for a batch that rolled back)."""
        if len(self._account_ids) + len(result.account_ids) > ACCOUNT_CACHE_LIMIT:
            self._account_ids.clear()
        self._account_ids.update(result.account_ids)
        if len(self._new_accounts) + len(result.new_accounts) <= ACCOUNT_CACHE_LIMIT:
            self._new_accounts.update(result.new_accounts)

    def write_batch(self, records: Sequence[Record], *, optimistic: bool = True) -> BatchResult:
        """Upsert one batch. Must run inside a transaction that holds the team's import lock.

        ``optimistic``: posts of accounts created by this run are inserted without looking for
        them first. If one was there after all (the file repeats a post across batches, or a
        person added it meanwhile), the insert raises IntegrityError and the caller runs the
        batch again with ``optimistic=False``, which looks every post up.
        """
        if self.postgres:
            # Durability per batch is not needed: a lost batch is redone by re-running the import,
            # and the run's last transaction (its audit event, or finish_job) commits
            # synchronously, which flushes every batch before it. Saves a WAL flush per batch.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        result = BatchResult()
        accounts: list[AccountRecord] = []
        posts: list[PostRecord] = []
        brands: list[BrandRecord] = []
        for record in records:
            kind = type(record)
            if kind is PostRecord:
                posts.append(record)
            elif kind is AccountRecord:
                accounts.append(record)
            elif kind is BrandRecord:
                brands.append(record)
            else:
                result.reject(record)
        now = timezone.now()
        created_at_line = self._upsert_accounts(accounts, result, now) if accounts else {}
        if posts:
            self._upsert_posts(posts, created_at_line, result, now, optimistic=optimistic)
        if brands:
            self._upsert_brands(brands, result)
        result.rejected.sort(key=lambda r: r.line)
        return result

    # --- accounts -------------------------------------------------------------------------------

    def _fetch_accounts(self, keys: set[AccountKey], fields: Sequence[str]) -> dict[AccountKey, dict]:
        """The team's accounts among ``keys``, as dicts of ``fields`` plus id."""
        found: dict[AccountKey, dict] = {}
        handles = sorted({handle for _, handle in keys})
        for chunk in chunks(handles):
            rows = Account.objects.filter(team=self.team, handle_normalized__in=chunk).values(
                "id", "platform", "handle_normalized", *fields
            )
            for row in rows:
                key = (row.pop("platform"), row.pop("handle_normalized"))
                if key in keys:
                    found[key] = row
        return found

    def _upsert_accounts(
        self, records: list[AccountRecord], result: BatchResult, now: datetime
    ) -> dict[AccountKey, int]:
        """Returns the line on which each account new in this batch was created."""
        counts = result.counts["accounts"]
        existing = self._fetch_accounts({(r.platform, r.key) for r in records}, list(ACCOUNT_DEFAULTS))
        state: dict[AccountKey, dict] = {}
        created_at_line: dict[AccountKey, int] = {}
        dirty: set[AccountKey] = set()
        for record in records:
            key = (record.platform, record.key)
            values = record.fields
            values["handle"] = record.handle
            current = state.get(key) or existing.get(key)
            if current is None:
                state[key] = {**ACCOUNT_DEFAULTS, **values}
                created_at_line[key] = record.line
                counts["created"] += 1
            elif all(current[name] == value for name, value in values.items()):
                state[key] = current
                counts["unchanged"] += 1
            else:
                state[key] = {**current, **values}
                counts["updated"] += 1
                if key not in created_at_line:
                    dirty.add(key)

        for key, row in existing.items():
            result.account_ids[key] = row["id"]
        if created_at_line:
            new = [
                Account(
                    team=self.team,
                    platform=key[0],
                    handle_normalized=key[1],
                    source=AccountSource.IMPORT,
                    **{name: value for name, value in state[key].items() if name != "id"},
                )
                for key in created_at_line
            ]
            Account.objects.bulk_create(new, batch_size=1000)
            for account in new:
                result.account_ids[(account.platform, account.handle_normalized)] = account.pk
                result.new_accounts.add(account.pk)
        if dirty:
            rows = [{**state[key], "id": existing[key]["id"], "updated_at": now} for key in dirty]
            self._update_rows(Account, [*ACCOUNT_DEFAULTS, "updated_at"], rows)
        return created_at_line

    # --- posts ----------------------------------------------------------------------------------

    def _resolve_accounts(
        self, records: list[PostRecord], created_at_line: dict[AccountKey, int], result: BatchResult
    ) -> list[tuple[PostRecord, int]]:
        """Each post with its account's id; a post whose account is neither in the team before the
        batch nor created on an earlier line is rejected."""
        ids = result.account_ids
        cache = self._account_ids
        # Resolve each distinct account once; a batch names far fewer accounts than posts.
        found = {ref: ids.get(ref) or cache.get(ref) for ref in {r.account for r in records}}
        missing = {ref for ref, account_id in found.items() if account_id is None}
        if missing:
            for ref, row in self._fetch_accounts(missing, ()).items():
                ids[ref] = found[ref] = row["id"]
        resolved = []
        for record in records:
            account_id = found[record.account]
            if account_id is None or (
                created_at_line and created_at_line.get(record.account, 0) > record.line
            ):
                result.reject(
                    Rejected(
                        record.line,
                        "post",
                        f"account @{record.account_key} on {record.platform} is not in the team "
                        "nor on an earlier line of the file",
                    )
                )
                continue
            resolved.append((record, account_id))
        return resolved

    def _fetch_posts(self, keys: list[PostKey]) -> dict[PostKey, dict]:
        fields = ["id", "account_id", "external_id", *POST_DEFAULTS]
        found: dict[PostKey, dict] = {}
        if self.postgres:
            # One probe of the unique index per key. A plain join would let the planner hash the
            # whole table once it is large (a full scan per batch: quadratic over the import);
            # LATERAL … LIMIT 1 cannot be flattened, so every key is an index lookup.
            # "external_id <> ''" matches the partial unique index's condition.
            table = Post._meta.db_table
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT p.{', p.'.join(fields)} "  # noqa: S608 (names are ours)
                    "FROM unnest(%s::bigint[], %s::text[]) AS k(account_id, external_id) "
                    f"CROSS JOIN LATERAL (SELECT * FROM {table} p WHERE p.account_id = k.account_id "
                    "AND p.external_id = k.external_id AND p.external_id <> '' LIMIT 1) p",
                    [[k[0] for k in keys], [k[1] for k in keys]],
                )
                for values in cursor.fetchall():
                    row = dict(zip(fields, values, strict=True))
                    links = row["links"]
                    if isinstance(links, str):
                        row["links"] = [] if links == "[]" else json.loads(links)
                    found[(row["account_id"], row["external_id"])] = row
            return found
        wanted = set(keys)
        account_ids = sorted({k[0] for k in keys})
        external_ids = sorted({k[1] for k in keys})
        for accounts in chunks(account_ids, LOOKUP_CHUNK // 2):
            for externals in chunks(external_ids, LOOKUP_CHUNK // 2):
                rows = Post.objects.filter(account_id__in=accounts, external_id__in=externals).values(*fields)
                for row in rows:
                    key = (row["account_id"], row["external_id"])
                    if key in wanted:
                        found[key] = row
        return found

    def _upsert_posts(
        self,
        records: list[PostRecord],
        created_at_line: dict[AccountKey, int],
        result: BatchResult,
        now: datetime,
        *,
        optimistic: bool,
    ) -> None:
        counts = result.counts["posts"]
        resolved = self._resolve_accounts(records, created_at_line, result)
        fresh = (self._new_accounts | result.new_accounts) if optimistic else set()
        keyed = [(r, a) for r, a in resolved if r.external_id]
        lookup = [(a, r.external_id) for r, a in keyed if a not in fresh]
        existing = self._fetch_posts(lookup) if lookup else {}
        state: dict[PostKey, dict] = {}
        new: list[PostKey] = []
        dirty: set[PostKey] = set()
        for record, account_id in keyed:
            key = (account_id, record.external_id)
            values = record.fields
            current = state.get(key) or existing.get(key)
            if current is None:
                state[key] = values  # defaults are filled in when the row is written
                new.append(key)
                counts["created"] += 1
            else:
                if current is values or len(current) < len(POST_DEFAULTS):
                    current = state[key] = {**POST_DEFAULTS, **current}
                if all(current[name] == value for name, value in values.items()):
                    counts["unchanged"] += 1
                else:
                    current.update(values)
                    counts["updated"] += 1
                    if key in existing:
                        dirty.add(key)
                state[key] = current
        rows = [(key[0], key[1], state[key]) for key in new]
        rows.extend(self._unkeyed_posts([(r, a) for r, a in resolved if not r.external_id], counts))
        if rows:
            self._insert_posts(rows, now)
        if dirty:
            self._update_rows(
                Post, list(POST_DEFAULTS), [{**state[key], "id": existing[key]["id"]} for key in dirty]
            )
            # A changed post changes what its account is like: stamp the account, so the
            # similarity index (which follows ``updated_at``) re-reads it without a rebuild.
            Account.objects.filter(pk__in={key[0] for key in dirty}).update(updated_at=now)

    def _unkeyed_posts(
        self, resolved: list[tuple[PostRecord, int]], counts: dict[str, int]
    ) -> list[tuple[int, str, dict]]:
        """Posts without an external id have no key to update by: a line identical (in every
        field) to a stored post of the same account changes nothing, any other is a new post."""
        if not resolved:
            return []

        def identity(row: dict) -> tuple:
            return (row["account_id"], *(json.dumps(row[name], default=str) for name in POST_DEFAULTS))

        seen: set[tuple] = set()
        times = {r.fields.get("posted_at") for r, _ in resolved}
        query = Post.objects.filter(account_id__in={a for _, a in resolved}, external_id="")
        dated = [t for t in times if t is not None]
        if None in times:
            query = query.filter(posted_at__in=dated) | query.filter(posted_at__isnull=True)
        else:
            query = query.filter(posted_at__in=dated)
        for row in query.values("account_id", *POST_DEFAULTS):
            seen.add(identity(row))
        rows = []
        for record, account_id in resolved:
            row = {"account_id": account_id, "external_id": "", **POST_DEFAULTS, **record.fields}
            if identity(row) in seen:
                counts["unchanged"] += 1
                continue
            seen.add(identity(row))
            rows.append((account_id, "", record.fields))
            counts["created"] += 1
        return rows

    def _insert_posts(self, rows: list[tuple[int, str, dict]], now: datetime) -> None:
        """New posts, as (account id, external id, the fields the line gave); the rest default."""
        if not self.postgres:
            Post.objects.bulk_create(
                [Post(account_id=a, external_id=e, **{**POST_DEFAULTS, **f}) for a, e, f in rows],
                batch_size=max(1, 900 // (len(POST_DEFAULTS) + 4)),
            )
            return
        # Binary COPY: PostgreSQL's fastest way in, with nothing for the server to parse. The jsonb
        # column travels as bytes already in jsonb's binary form (a version byte, then the JSON
        # text): most posts have no links, and a Jsonb wrapper per row cost more than the rest of
        # the row together.
        columns = ["account_id", "external_id", *POST_DEFAULTS, "created_at"]
        # In account order, consecutive rows land on the same index pages and the foreign-key
        # checks on the same account row: measured 10-25% faster COPY once the table is large.
        rows.sort(key=itemgetter(0))
        # The raw psycopg cursor bypasses Django's error translation: wrap it back, so a unique
        # violation is Django's IntegrityError like everywhere else.
        with connection.cursor() as cursor, connection.wrap_database_errors:
            sql = f"COPY {Post._meta.db_table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
            with cursor.cursor.copy(sql) as copy:
                copy.set_types(
                    ["int8", "text", "text", "text", "timestamptz", "bool", "bytea", "timestamptz"]
                )
                write = copy.write_row
                dumps = json.dumps
                for account_id, external_id, f in rows:
                    get = f.get
                    links = get("links")
                    write(
                        (
                            account_id,
                            external_id,
                            get("url", ""),
                            get("text", ""),
                            get("posted_at"),
                            get("is_repost", False),
                            b"\x01" + dumps(links).encode() if links else JSONB_EMPTY_LIST,
                            now,
                        )
                    )

    # --- media brands ---------------------------------------------------------------------------

    def _upsert_brands(self, records: list[BrandRecord], result: BatchResult) -> None:
        """Brands by (team, name); domains are only ever added (a file that omits one does not
        remove it)."""
        counts = result.counts["media_brands"]
        names = sorted({r.name for r in records})
        brands = {b.name: b for b in MediaBrand.objects.filter(team=self.team, name__in=names)}
        domains: dict[int, set[str]] = {}
        for brand_id, domain in BrandDomain.objects.filter(brand__in=brands.values()).values_list(
            "brand_id", "domain"
        ):
            domains.setdefault(brand_id, set()).add(domain)
        for record in records:
            brand = brands.get(record.name)
            if brand is None:
                brand = MediaBrand.objects.create(
                    team=self.team, name=record.name, **{**BRAND_DEFAULTS, **record.fields}
                )
                brands[record.name] = brand
                outcome = "created"
            elif any(getattr(brand, name) != value for name, value in record.fields.items()):
                for name, value in record.fields.items():
                    setattr(brand, name, value)
                brand.save(update_fields=list(record.fields))
                outcome = "updated"
            else:
                outcome = "unchanged"
            known = domains.setdefault(brand.pk, set())
            added = [d for d in record.domains if d not in known]
            if added:
                BrandDomain.objects.bulk_create([BrandDomain(brand=brand, domain=d) for d in added])
                known.update(added)
                result.domains_created += len(added)
                if outcome == "unchanged":
                    outcome = "updated"
            counts[outcome] += 1

    # --- shared ---------------------------------------------------------------------------------

    def _update_rows(self, model, fields: list[str], rows: list[dict]) -> None:
        """Set ``fields`` on each row by id: one statement on PostgreSQL, executemany elsewhere."""
        table = model._meta.db_table
        quote = connection.ops.quote_name
        model_fields = [model._meta.get_field(name) for name in fields]
        if self.postgres:
            types = [f.db_type(connection) for f in model_fields]
            # jsonb travels as text and is cast back: psycopg has no jsonb[] adapter by default.
            arrays = ["%s::text[]" if t == "jsonb" else f"%s::{_array_type(t)}[]" for t in types]
            assignments = ", ".join(
                f"{quote(f.column)} = u.{quote(f.column)}{'::jsonb' if t == 'jsonb' else ''}"
                for f, t in zip(model_fields, types, strict=True)
            )
            params = [[row["id"] for row in rows]]
            for f, t in zip(model_fields, types, strict=True):
                values = [row[f.name] for row in rows]
                params.append([json.dumps(v) for v in values] if t == "jsonb" else values)
            columns = ", ".join(quote(f.column) for f in model_fields)
            sql = (
                f"UPDATE {quote(table)} AS t SET {assignments} "  # noqa: S608 (names are ours)
                f"FROM unnest(%s::bigint[], {', '.join(arrays)}) AS u(id, {columns}) WHERE t.id = u.id"
            )
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
            return
        assignments = ", ".join(f"{quote(f.column)} = %s" for f in model_fields)
        sql = f"UPDATE {quote(table)} SET {assignments} WHERE id = %s"  # noqa: S608 (names are ours)
        params = [
            [f.get_db_prep_save(row[f.name], connection) for f in model_fields] + [row["id"]] for row in rows
        ]
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)


def _array_type(db_type: str) -> str:
    """The element type to cast an unnest() array to: varchar(n) is text, the rest as declared."""
    if db_type.startswith("varchar"):
        return "text"
    if db_type == "timestamp with time zone":
        return "timestamptz"
    return db_type
