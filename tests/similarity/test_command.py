"""find_similar: the sweep and the top-k in this process, recorded as jobs like the worker's."""

import io

import pytest
from django.core.management import CommandError, call_command

from cases.models import AuditEvent, Job, JobStatus, SimilaritySuggestion
from cases.services.cases import add_account_to_case
from tests.factories import AccountFactory, CaseFactory, TeamFactory, UserFactory
from tests.similarity.conftest import organic, plant_network

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("find_similar", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def corpus(team_a):
    network = plant_network(team_a, 4, prefix="cmd", seed=1)
    organic(team_a, 15)
    return network


def test_the_default_sweeps_the_whole_team_and_records_a_job(team_a, corpus):
    output = run("--team", team_a.slug, "--no-progress")
    job = Job.objects.get()
    assert "6 similar pairs among 19 accounts" in output and f"job #{job.pk}" in output
    assert job.status == JobStatus.SUCCEEDED and job.params["scope"] == "team"
    assert (job.progress, job.total) != (0, 0) and job.progress == job.total
    assert SimilaritySuggestion.objects.count() == 6
    assert AuditEvent.objects.filter(verb="similarity.sweep_completed").count() == 1
    assert AuditEvent.objects.get(verb="job.started").data["in_process"] is True


def test_all_with_a_platform_threshold_and_user(team_a, moderator, corpus):
    run(
        "--team",
        team_a.slug,
        "--all",
        "--platform",
        "telegram",
        "--threshold",
        "0.6",
        "--user",
        moderator.username,
    )
    job = Job.objects.get()
    assert (job.params["platform"], job.params["threshold"], job.created_by) == ("telegram", 0.6, moderator)
    assert not SimilaritySuggestion.objects.exists()  # nobody on telegram


def test_one_account_prints_its_top_matches(team_a, corpus):
    output = run("--team", team_a.slug, "--account", str(corpus[0].pk))
    assert f"@{corpus[0].handle}" in output and "3 similar accounts" in output
    for other in corpus[1:]:
        assert f"@{other.handle}" in output
    assert "near-identical posts" in output
    assert Job.objects.get().params == {"scope": "account", "account_id": corpus[0].pk, "settings": {}}


def test_a_case_sweeps_its_accounts_neighbourhood(team_a, lead, corpus):
    case = CaseFactory(team=team_a)
    add_account_to_case(case=case, account=corpus[0], added_by=lead)
    output = run("--team", team_a.slug, "--case", str(case.pk), "--no-progress")
    assert "3 similar pairs" in output
    assert Job.objects.get().params["case_id"] == case.pk


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--team", "nope"], "No team"),
        (["--team", "team-a", "--threshold", "0"], "--threshold"),
        (["--team", "team-a", "--threshold", "1.2"], "--threshold"),
        (["--team", "team-a", "--account", "999999"], "No account"),
        (["--team", "team-a", "--case", "999999"], "No case"),
        (["--team", "team-a", "--account", "{account}", "--platform", "x"], "--account takes"),
        (["--team", "team-a", "--user", "ghost"], "No user"),
        (["--team", "team-a", "--partitions", "0"], "partitions"),
    ],
)
def test_bad_arguments_fail_with_a_message(team_a, corpus, args, message):
    args = [a.format(account=corpus[0].pk) for a in args]
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not Job.objects.exists()


def test_another_teams_account_or_case_is_not_found(team_a, corpus):
    other = TeamFactory(slug="other")
    theirs = AccountFactory(team=other)
    with pytest.raises(CommandError, match="No account"):
        run("--team", team_a.slug, "--account", str(theirs.pk))
    with pytest.raises(CommandError, match="No case"):
        run("--team", team_a.slug, "--case", str(CaseFactory(team=other).pk))


def test_scope_options_exclude_each_other_and_platforms_are_checked(team_a):
    for args in (["--all", "--account", "1"], ["--platform", "myspace"]):
        with pytest.raises(CommandError):
            run("--team", team_a.slug, *args)


def test_a_user_outside_the_team_cannot_be_named(team_a, corpus):
    UserFactory(username="stranger")
    with pytest.raises(CommandError, match="not a member"):
        run("--team", team_a.slug, "--user", "stranger")
