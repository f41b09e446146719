"""import_bundle and import_indicators: the same code as the jobs, with a summary and exit status.

A CommandError is what Django's command runner turns into exit status 1 (its ``returncode``)."""

import io

import pytest
from django.core.management import CommandError, call_command

from cases.models import Account, Case, Evidence, Post

from .conftest import FIXTURES, bundle_text

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, "--no-progress", stdout=out)
    return out.getvalue()


def test_import_bundle_prints_the_summary_and_succeeds(team_a, moderator, tmp_path, sample_lines):
    path = tmp_path / "bundle.jsonl"
    path.write_text(bundle_text([*sample_lines, "{broken"]))

    output = run("import_bundle", str(path), "--team", "team-a", "--user", "mod-a")

    assert "bundle.jsonl (jsonl, 7 lines) into team-a:" in output
    assert (
        "accounts              2 created         0 updated         0 unchanged         0 rejected" in output
    )
    assert "posts                 3 created" in output
    assert "line 7: not valid JSON" in output
    assert Account.objects.count() == 2 and Post.objects.count() == 3
    # Run again: nothing changes and that is still a success.
    again = run("import_bundle", str(path), "--team", "team-a")
    assert "0 created         0 updated         2 unchanged" in again


def test_import_bundle_fails_only_when_nothing_could_be_imported(team_a, tmp_path):
    path = tmp_path / "bundle.jsonl"
    path.write_text(bundle_text(["{broken", {"type": "post", "platform": "x", "account": "nobody"}]))
    with pytest.raises(CommandError, match="Nothing could be imported") as failure:
        run("import_bundle", str(path), "--team", "team-a")
    assert failure.value.returncode == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--team", "nope"], "No team with the slug 'nope'"),
        (["--team", "team-a", "--user", "ghost"], "No user named 'ghost'"),
        (["--team", "team-a", "--user", "mod-b"], "not a member"),
    ],
)
def test_import_bundle_refuses_unknown_teams_users_and_outsiders(
    team_a, outsider, tmp_path, sample_lines, args, message
):
    path = tmp_path / "bundle.jsonl"
    path.write_text(bundle_text(sample_lines))
    with pytest.raises(CommandError, match=message):
        run("import_bundle", str(path), *args)
    assert not Account.objects.exists()


def test_import_bundle_refuses_a_file_that_is_not_a_bundle(team_a, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("just some notes\n")
    with pytest.raises(CommandError, match="Not a bundle"):
        run("import_bundle", str(path), "--team", "team-a")


def test_import_indicators_imports_each_file_and_reports_it(team_a, lead, tmp_path):
    junk = tmp_path / "junk.txt"
    junk.write_text("nothing here\n")
    files = [
        str(FIXTURES / "csv" / "Q1_2023" / "Q1_2023_ Georgia-based_CIB_network.csv"),
        str(junk),
        str(tmp_path / "missing.csv"),
    ]

    output = run("import_indicators", *files, "--team", "team-a", "--user", "lead-a")

    assert (
        "Q1_2023_ Georgia-based_CIB_network.csv → case 'Georgia-based CIB network (Q1 2023)' (new)" in output
    )
    assert "accounts 3 new / 0 updated / 0 unchanged (3 tiktok)" in output
    assert "junk.txt: refused — Not a Meta threat-indicator file" in output
    assert "missing.csv: refused — no such file." in output
    assert Case.objects.count() == 1 and Evidence.objects.count() == 1
    assert "already recorded" in run("import_indicators", files[0], "--team", "team-a", "--user", "lead-a")


def test_import_indicators_fails_when_every_file_is_refused(team_a, lead, tmp_path):
    junk = tmp_path / "junk.txt"
    junk.write_text("nothing here\n")
    with pytest.raises(CommandError, match="Nothing could be imported") as failure:
        run("import_indicators", str(junk), "--team", "team-a", "--user", "lead-a")
    assert failure.value.returncode == 1


def test_import_indicators_needs_a_user(team_a):
    with pytest.raises(CommandError, match="--user"):
        call_command(
            "import_indicators", str(FIXTURES / "meta-h2-2025-india-based-cib-network.md"), "--team", "team-a"
        )
