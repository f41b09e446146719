"""The bundle importer, through its service: counts, normalization, bad lines, idempotency."""

import csv
import json
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError

from cases.errors import InvalidInput, NotAllowed
from cases.importers.upsert import MAX_REASONS, BundleWriter
from cases.models import Account, AuditEvent, BrandDomain, MediaBrand, Post
from cases.services.imports import import_bundle
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def run(team, path, **kwargs):
    return import_bundle(team=team, source=path, **kwargs)


def counts(result, kind):
    c = result[kind]
    return (c["created"], c["updated"], c["unchanged"], c["rejected"])


def test_import_creates_accounts_posts_and_brands(team_a, moderator, write_bundle, sample_lines):
    result = run(team_a, write_bundle(sample_lines), user=moderator)

    assert counts(result, "accounts") == (2, 0, 0, 0)
    assert counts(result, "posts") == (3, 0, 0, 0)
    assert counts(result, "media_brands") == (1, 0, 0, 0)
    assert result["brand_domains"] == {"created": 2}
    assert result["rejected"] == {"total": 0, "reasons": [], "reasons_truncated": False}
    assert (result["format"], result["lines"]) == ("jsonl", 6)

    atlanta = Account.objects.get(team=team_a, handle_normalized="atlantaonline")
    # 'twitter' is stored as x; the handle keeps its case without the URL around it.
    assert (atlanta.platform, atlanta.handle, atlanta.source) == ("x", "AtlantaOnline", "import")
    assert atlanta.created_on_platform == datetime(2014, 12, 1, tzinfo=UTC)
    assert (atlanta.followers, atlanta.following, atlanta.language) == (12000, 300, "en")
    telegram = Account.objects.get(team=team_a, platform="telegram")
    assert (telegram.handle, telegram.handle_normalized) == (
        "News_Freies_Deutschland",
        "news_freies_deutschland",
    )

    first = Post.objects.get(account=atlanta, external_id="123")
    assert first.posted_at == datetime(2016, 1, 1, 10, tzinfo=UTC)  # naive means UTC
    assert first.links == ["https://bild.pics/artikel"]  # refanged for storage
    assert Post.objects.get(account=telegram).posted_at == datetime(2022, 8, 17, 7, 12, tzinfo=UTC)
    brand = MediaBrand.objects.get(team=team_a)
    assert (brand.name, brand.impersonates) == ("Bild (clone)", "Bild")
    assert sorted(brand.domains.values_list("domain", flat=True)) == ["bild.asia", "bild.pics"]

    event = AuditEvent.objects.get(verb="import.completed")
    assert (event.team, event.user, event.target_type) == (team_a, moderator, "cases.team")
    assert event.data["posts"]["created"] == 3


@pytest.mark.parametrize(
    "handle",
    ["AtlantaOnline", "@atlantaonline", "https://x.com/AtlantaOnline", "twitter.com/ATLANTAONLINE/status/9"],
)
def test_every_form_of_a_handle_finds_the_same_account(team_a, write_bundle, sample_lines, handle):
    run(team_a, write_bundle(sample_lines))
    result = run(
        team_a, write_bundle([{"type": "post", "platform": "x", "account": handle, "external_id": "999"}])
    )
    assert counts(result, "posts") == (1, 0, 0, 0)
    assert Account.objects.filter(team=team_a, platform="x").count() == 1


ACCOUNT = {"type": "account", "platform": "x", "handle": "good"}
BAD_LINES = {
    "bad JSON": ('{"type": "account", "platform": "x", "handle": ', "not valid JSON"),
    "not an object": ("[1, 2]", "not a JSON object"),
    "nested too deeply": ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "huge number": (
        '{"type": "account", "platform": "x", "handle": "bad", "followers": 1' + "0" * 5000 + "}",
        "JSON",
    ),
    "missing type": ({"platform": "x", "handle": "bad"}, "missing required key 'type'"),
    "unknown type": ({"type": "tweet", "platform": "x", "handle": "bad"}, "unknown type 'tweet'"),
    "missing platform": ({"type": "account", "handle": "bad"}, "missing required key 'platform'"),
    "unknown platform": (
        {"type": "account", "platform": "myspace", "handle": "bad"},
        "unknown platform 'myspace'",
    ),
    "missing handle": ({"type": "account", "platform": "x"}, "missing required key 'handle'"),
    "empty handle": ({"type": "account", "platform": "x", "handle": "@"}, "the handle is empty"),
    "handle with spaces": ({"type": "account", "platform": "x", "handle": "John Smith"}, "spaces"),
    "missing account": (
        {"type": "post", "platform": "x", "external_id": "1"},
        "missing required key 'account'",
    ),
    "bad date": (
        {"type": "account", "platform": "x", "handle": "bad", "created_at": "yesterday"},
        "'created_at' is not an ISO 8601 date",
    ),
    "date out of range": (
        {"type": "post", "platform": "x", "account": "good", "posted_at": "0001-01-01T00:00:00"},
        "out of range",
    ),
    "negative followers": (
        {"type": "account", "platform": "x", "handle": "bad", "followers": -5},
        "'followers' cannot be negative",
    ),
    "followers not a number": (
        {"type": "account", "platform": "x", "handle": "bad", "followers": "many"},
        "'followers' must be a whole number",
    ),
    "post of an unknown account": (
        {"type": "post", "platform": "x", "account": "nobody", "external_id": "1"},
        "account @nobody on x is not in the team nor on an earlier line",
    ),
    "absurdly long bio": (
        {"type": "account", "platform": "x", "handle": "bad", "bio": "x" * 20_001},
        "'bio' is longer than 20,000 characters",
    ),
    "absurdly long handle": ({"type": "account", "platform": "x", "handle": "h" * 300}, "longer than 255"),
    "absurdly long line": (
        {"type": "account", "platform": "x", "handle": "bad", "bio": "x" * 1_100_000},
        "the line is longer than 1,000,000 bytes",
    ),
    "javascript URL": (
        {"type": "account", "platform": "x", "handle": "bad", "profile_url": "javascript:alert(1)"},
        "'profile_url' must be an http or https URL",
    ),
    "NUL character": ({"type": "account", "platform": "x", "handle": "bad", "bio": "a\u0000b"}, "NUL"),
    "lone surrogate": ({"type": "account", "platform": "x", "handle": "bad", "bio": "\ud800"}, "surrogate"),
    "not a boolean": (
        {"type": "post", "platform": "x", "account": "good", "external_id": "2", "is_repost": "perhaps"},
        "'is_repost' must be true or false",
    ),
    "links not a list": (
        {"type": "post", "platform": "x", "account": "good", "external_id": "2", "links": {"a": 1}},
        "'links' must be a list of strings",
    ),
    "bad brand domain": (
        {"type": "media_brand", "name": "B", "domains": ["not a domain"]},
        "is not a domain name",
    ),
    "brand without name": ({"type": "media_brand", "domains": ["bild.pics"]}, "missing required key 'name'"),
}


@pytest.mark.parametrize("bad, reason", BAD_LINES.values(), ids=BAD_LINES.keys())
def test_a_bad_line_is_reported_with_its_number_and_the_rest_imports(team_a, write_bundle, bad, reason):
    path = write_bundle(
        [ACCOUNT, bad, {"type": "post", "platform": "x", "account": "good", "external_id": "1"}]
    )
    result = run(team_a, path)

    assert result["rejected"]["total"] == 1
    [item] = result["rejected"]["reasons"]
    assert item["line"] == 2
    assert reason in item["reason"]
    assert counts(result, "accounts")[0] == 1
    assert counts(result, "posts")[0] == 1
    # Nothing of the bad line was written.
    assert not Account.objects.filter(handle_normalized__in=["bad", "nobody"]).exists()
    assert list(Account.objects.values_list("handle_normalized", flat=True)) == ["good"]
    assert list(Post.objects.values_list("external_id", flat=True)) == ["1"]
    assert not MediaBrand.objects.exists()


def test_a_line_that_is_not_utf8_is_rejected_alone(team_a, write_bundle):
    raw = (
        b'{"type": "account", "platform": "x", "handle": "caf\xe9"}\n' + json.dumps(ACCOUNT).encode() + b"\n"
    )
    result = run(team_a, write_bundle(None, raw=raw))
    assert result["rejected"]["reasons"] == [{"line": 1, "reason": "the line is not valid UTF-8"}]
    assert counts(result, "accounts") == (1, 0, 0, 0)


def test_a_post_before_its_account_line_is_rejected_even_in_one_batch(team_a, write_bundle):
    post = {"type": "post", "platform": "x", "account": "late", "external_id": "1"}
    result = run(team_a, write_bundle([post, {"type": "account", "platform": "x", "handle": "late"}, post]))
    assert [r["line"] for r in result["rejected"]["reasons"]] == [1]
    assert counts(result, "posts") == (1, 0, 0, 1)


def test_posts_find_accounts_of_earlier_batches_and_of_the_team(team_a, write_bundle):
    AccountFactory(team=team_a, platform="x", handle="Existing")
    lines = [{"type": "account", "platform": "x", "handle": f"a{i}"} for i in range(5)]
    lines += [{"type": "post", "platform": "x", "account": f"a{i}", "external_id": str(i)} for i in range(5)]
    lines.append({"type": "post", "platform": "x", "account": "existing", "external_id": "e"})
    result = run(team_a, write_bundle(lines), batch_size=2)
    assert counts(result, "posts") == (6, 0, 0, 0)


def test_hostile_text_is_stored_as_data(team_a, write_bundle):
    script = "<script>alert(document.cookie)</script><img src=x onerror=alert(1)>{{ 7*7 }}"
    link = 'https://example.org/über?q="<b>"&x=ü'
    lines = [
        {"type": "account", "platform": "x", "handle": "h", "display_name": script, "bio": script},
        {
            "type": "post",
            "platform": "x",
            "account": "h",
            "external_id": "1",
            "text": script,
            "links": [link],
        },
        {"type": "media_brand", "name": script, "description": script},
    ]
    run(team_a, write_bundle(lines))
    account = Account.objects.get()
    assert account.display_name == account.bio == script
    post = Post.objects.get()
    assert (post.text, post.links) == (script, [link])
    assert MediaBrand.objects.get().name == script


def test_reimporting_the_same_file_changes_nothing(team_a, moderator, write_bundle, sample_lines):
    path = write_bundle(sample_lines)
    run(team_a, path, user=moderator)
    before = {
        "accounts": list(Account.objects.order_by("id").values_list("id", "updated_at")),
        "posts": Post.objects.count(),
        "domains": BrandDomain.objects.count(),
        "events": AuditEvent.objects.count(),
    }

    result = run(team_a, path, user=moderator)

    assert counts(result, "accounts") == (0, 0, 2, 0)
    assert counts(result, "posts") == (0, 0, 3, 0)
    assert counts(result, "media_brands") == (0, 0, 1, 0)
    assert result["brand_domains"] == {"created": 0}
    after = {
        "accounts": list(Account.objects.order_by("id").values_list("id", "updated_at")),
        "posts": Post.objects.count(),
        "domains": BrandDomain.objects.count(),
        "events": AuditEvent.objects.count(),
    }
    assert after == before


def test_a_newer_file_updates_fields_and_leaves_absent_ones(team_a, write_bundle, sample_lines):
    run(team_a, write_bundle(sample_lines))
    atlanta = Account.objects.get(handle_normalized="atlantaonline")
    telegram = Account.objects.get(platform="telegram")
    newer = [
        # followers changed, bio cleared with null; display_name and the rest not given: kept.
        {"type": "account", "platform": "x", "handle": "AtlantaOnline", "followers": 15000, "bio": None},
        {
            "type": "account",
            "platform": "telegram",
            "handle": "t.me/News_Freies_Deutschland",
            "followers": 1240,
        },
        {"type": "post", "platform": "x", "account": "AtlantaOnline", "external_id": "123", "text": "Edited"},
        {"type": "media_brand", "name": "Bild (clone)", "domains": ["bild.vip"]},
    ]
    result = run(team_a, write_bundle(newer))

    assert counts(result, "accounts") == (0, 1, 1, 0)
    assert counts(result, "posts") == (0, 1, 0, 0)
    assert counts(result, "media_brands") == (0, 1, 0, 0)
    updated = Account.objects.get(pk=atlanta.pk)
    assert (updated.followers, updated.bio, updated.display_name) == (15000, "", "Atlanta Online")
    assert updated.updated_at > atlanta.updated_at
    # The unchanged account was not written at all.
    assert Account.objects.get(pk=telegram.pk).updated_at == telegram.updated_at
    post = Post.objects.get(external_id="123")
    assert (post.text, post.links) == ("Edited", ["https://bild.pics/artikel"])
    # Domains are only ever added.
    assert BrandDomain.objects.count() == 3


def test_a_handle_in_two_teams_stays_apart(team_a, team_b, write_bundle, sample_lines):
    path = write_bundle(sample_lines)
    run(team_a, path)
    team_a_rows = list(Account.objects.filter(team=team_a).order_by("id").values())
    team_a_posts = list(Post.objects.filter(account__team=team_a).order_by("id").values())

    result = run(team_b, path)

    assert counts(result, "accounts") == (2, 0, 0, 0)
    assert counts(result, "posts") == (3, 0, 0, 0)
    assert list(Account.objects.filter(team=team_a).order_by("id").values()) == team_a_rows
    assert list(Post.objects.filter(account__team=team_a).order_by("id").values()) == team_a_posts
    assert Account.objects.filter(handle_normalized="atlantaonline").count() == 2
    assert MediaBrand.objects.filter(name="Bild (clone)").count() == 2


def test_a_post_never_attaches_to_another_teams_account(team_a, team_b, write_bundle):
    AccountFactory(team=team_a, platform="x", handle="shared")
    result = run(
        team_b, write_bundle([{"type": "post", "platform": "x", "account": "shared", "external_id": "1"}])
    )
    assert result["rejected"]["total"] == 1
    assert not Post.objects.exists()


def test_the_csv_variant_imports_the_same_rows(team_a, tmp_path, write_bundle, sample_lines):
    columns = sorted({key for line in sample_lines for key in line} | {"unknown_column"})
    path = tmp_path / "bundle.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for line in sample_lines:
            # Lists are whitespace-separated in a cell; booleans and numbers are plain text.
            writer.writerow(
                {k: " ".join(v) if isinstance(v, list) else str(v).lower() if isinstance(v, bool) else v
                 for k, v in line.items()}
            )  # fmt: skip
        writer.writerow({"type": "post", "platform": "x", "account": "h", "posted_at": "not-a-date"})

    result = run(team_a, path)

    assert result["format"] == "csv"
    assert counts(result, "accounts") == (2, 0, 0, 0)
    assert counts(result, "posts") == (3, 0, 0, 1)
    assert counts(result, "media_brands") == (1, 0, 0, 0)
    assert result["rejected"]["reasons"][0]["line"] == 8
    assert Post.objects.get(external_id="123").links == ["https://bild.pics/artikel"]
    # The JSON Lines file with the same content finds nothing to change.
    again = run(team_a, write_bundle(sample_lines))
    assert counts(again, "accounts") == (0, 0, 2, 0)
    assert counts(again, "posts") == (0, 0, 3, 0)
    assert counts(again, "media_brands") == (0, 0, 1, 0)


def test_a_csv_record_may_span_lines_and_bad_ones_are_reported(team_a, tmp_path):
    path = tmp_path / "bundle.csv"
    path.write_text(
        'type,platform,handle,bio\naccount,x,one,"two\nlines"\naccount,x,two,"x",extra\naccount,x,three,\n'
    )
    result = run(team_a, path)
    assert counts(result, "accounts") == (2, 0, 0, 0)
    assert result["rejected"]["reasons"] == [{"line": 4, "reason": "5 cells but the header names 4 columns"}]
    assert Account.objects.get(handle="one").bio == "two\nlines"


def test_posts_without_external_id_are_not_duplicated_on_reimport(team_a, write_bundle):
    lines = [
        {"type": "account", "platform": "x", "handle": "h"},
        {
            "type": "post",
            "platform": "x",
            "account": "h",
            "text": "no id",
            "posted_at": "2020-01-01T00:00:00Z",
        },
        {"type": "post", "platform": "x", "account": "h", "text": "no id, no date"},
    ]
    path = write_bundle(lines)
    assert counts(run(team_a, path), "posts") == (2, 0, 0, 0)
    assert counts(run(team_a, path), "posts") == (0, 0, 2, 0)
    assert Post.objects.count() == 2


def test_stored_reasons_are_capped_but_every_rejection_is_counted(team_a, write_bundle):
    lines = [ACCOUNT] + ["{broken"] * (MAX_REASONS + 5)
    result = run(team_a, write_bundle(lines))
    assert result["rejected"]["total"] == MAX_REASONS + 5
    assert len(result["rejected"]["reasons"]) == MAX_REASONS
    assert result["rejected"]["reasons_truncated"] is True


def test_a_line_the_database_refuses_costs_only_itself(team_a, write_bundle, monkeypatch):
    original = BundleWriter._upsert_brands

    def refuse_boom(self, records, result):
        if any(r.name == "boom" for r in records):
            raise IntegrityError("simulated refusal")
        return original(self, records, result)

    monkeypatch.setattr(BundleWriter, "_upsert_brands", refuse_boom)
    lines = [ACCOUNT, {"type": "media_brand", "name": "boom"}, {"type": "media_brand", "name": "fine"}]
    result = run(team_a, write_bundle(lines))
    assert result["rejected"]["reasons"] == [
        {"line": 2, "reason": "the database refused the line: simulated refusal"}
    ]
    assert counts(result, "media_brands") == (1, 0, 0, 1)
    assert list(MediaBrand.objects.values_list("name", flat=True)) == ["fine"]
    assert Account.objects.count() == 1


def test_an_outsider_cannot_import_into_a_team(team_a, outsider, write_bundle, sample_lines):
    with pytest.raises(NotAllowed):
        run(team_a, write_bundle(sample_lines), user=outsider)
    assert not Account.objects.exists()


def test_a_file_that_is_not_a_bundle_is_refused(team_a, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello\nworld\n")
    with pytest.raises(InvalidInput, match="Not a bundle"):
        run(team_a, path)


def test_a_post_repeated_in_a_later_batch_is_found_not_duplicated(team_a, write_bundle):
    # The account is new in this run, so its posts are inserted without a lookup first; the
    # repeat in the third batch must still be recognised.
    lines = [
        {"type": "account", "platform": "x", "handle": "h"},
        {"type": "post", "platform": "x", "account": "h", "external_id": "1", "text": "a"},
        {"type": "post", "platform": "x", "account": "h", "external_id": "2", "text": "b"},
        {"type": "post", "platform": "x", "account": "h", "external_id": "3", "text": "c"},
        {"type": "post", "platform": "x", "account": "h", "external_id": "1", "text": "a"},
        {"type": "post", "platform": "x", "account": "h", "external_id": "2", "text": "B"},
    ]
    result = run(team_a, write_bundle(lines), batch_size=2)
    assert counts(result, "posts") == (3, 1, 1, 0)
    assert sorted(Post.objects.values_list("external_id", "text")) == [("1", "a"), ("2", "B"), ("3", "c")]


def test_an_interrupted_import_keeps_its_batches_and_a_rerun_carries_on(team_a, write_bundle):
    lines = [{"type": "account", "platform": "x", "handle": f"a{i}"} for i in range(6)]
    path = write_bundle(lines)

    class Killed(Exception):
        pass

    def kill_after_the_first_batch(done, total, message):
        raise Killed

    with pytest.raises(Killed):
        run(team_a, path, batch_size=2, progress=kill_after_the_first_batch)
    assert Account.objects.count() == 2
    # The committed batch is accounted for even though the run never finished.
    [batch] = AuditEvent.objects.filter(verb="import.batch")
    assert batch.data["written"] == {"accounts": {"created": 2}} and batch.data["lines"] == [1, 2]
    assert not AuditEvent.objects.filter(verb="import.completed").exists()

    result = run(team_a, path, batch_size=2)
    assert counts(result, "accounts") == (4, 0, 2, 0)
    assert Account.objects.count() == 6
    # The re-run's first batch changed nothing and says nothing; the two others each have an event.
    batches = AuditEvent.objects.filter(verb="import.batch").order_by("pk")
    assert [e.data["lines"] for e in batches] == [[1, 2], [3, 4], [5, 6]]
    assert sum(e.data["written"]["accounts"]["created"] for e in batches) == Account.objects.count()
    assert AuditEvent.objects.filter(verb="import.completed").count() == 1


def test_an_endless_csv_line_is_rejected_without_stopping_the_rest(team_a, tmp_path):
    path = tmp_path / "bundle.csv"
    path.write_text(
        "type,platform,handle,bio\n"
        f"account,x,first,{'x' * 1_100_000}\n"
        'account,x,second,"a quoted\nbio"\n'
        "account,x,third,\n"
    )
    result = run(team_a, path)
    assert result["rejected"]["reasons"] == [{"line": 2, "reason": "the line is longer than 1,000,000 bytes"}]
    assert sorted(Account.objects.values_list("handle", flat=True)) == ["second", "third"]
