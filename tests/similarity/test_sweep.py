"""Sweeps through the service and the task body: suggestions with their signals, idempotent
re-runs that keep reviewers' choices, partitions that survive a killed worker, scopes."""

import pytest

from cases.errors import InvalidInput, NotAllowed
from cases.models import (
    AccountKind,
    AuditEvent,
    Job,
    JobStatus,
    SimilaritySuggestion,
    SuggestionStatus,
)
from cases.services import similarity
from cases.services.cases import add_account_to_case
from cases.services.similarity import (
    create_similarity_sweep_job,
    load_records,
    run_similarity_sweep,
    save_matches,
    start_similarity_sweep,
)
from cases.services.suggestions import accept_suggestion, dismiss_suggestion, upsert_suggestion
from cases.similarity.engine import Match, Signal
from cases.tasks import similarity_sweep_task
from tests.factories import AccountFactory, CaseFactory, PostFactory, TeamFactory
from tests.similarity.conftest import organic, pairs_of, plant_network
from tests.support import count_queries

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus(team_a):
    """Two planted networks (6 and 4 accounts) among 30 organic accounts."""
    first = plant_network(team_a, 6, prefix="alpha", seed=1)
    second = plant_network(team_a, 4, prefix="beta", seed=2)
    organic(team_a, 30)
    return first, second


def sweep_now(team, user=None, **kwargs) -> Job:
    job = create_similarity_sweep_job(team=team, created_by=user, **kwargs)
    similarity_sweep_task(job.pk)  # the task's body, in this process
    job.refresh_from_db()
    return job


def planted_pairs(*networks) -> set[tuple[int, int]]:
    return {(a.pk, b.pk) for network in networks for a in network for b in network if a.pk < b.pk}


# --- reading ------------------------------------------------------------------------------------


def test_records_are_read_in_a_fixed_number_of_queries(team_a):
    plant_network(team_a, 3, prefix="small")
    few = count_queries(lambda: load_records(team=team_a))
    plant_network(team_a, 12, prefix="more", seed=5)
    organic(team_a, 10)
    assert count_queries(lambda: load_records(team=team_a)) == few


def test_records_stream_a_batch_at_a_time_in_id_order_with_their_own_posts(team_a, corpus):
    whole = load_records(team=team_a)
    batches = list(similarity.iter_record_batches(team=team_a, batch=7))
    assert [len(b) for b in batches[:-1]] == [7] * (len(batches) - 1) and len(batches) > 3
    streamed = [r for b in batches for r in b]
    assert [r.id for r in streamed] == sorted(r.id for r in whole)
    by_id = {r.id: r for r in whole}
    assert all(list(r.posts) == list(by_id[r.id].posts) and r.posts for r in streamed)
    # a few queries per batch, whatever the number of posts in it
    assert count_queries(lambda: list(similarity.iter_record_batches(team=team_a, batch=7))) <= 4 + 2 * len(
        batches
    )


def test_the_sweep_index_is_the_engine_index_of_the_same_records(team_a, corpus):
    from cases.similarity.engine import Index, sweep

    built, _ = similarity.build_index(team=team_a, remember=False)
    direct = Index.build(load_records(team=team_a))
    assert list(sweep(built, 0.3)) == list(sweep(direct, 0.3))


def test_records_carry_posts_brands_and_the_reference_flag(team_a, lead):
    from cases.services.accounts import create_media_brand

    source = AccountFactory(team=team_a, kind=AccountKind.REFERENCE, handle="realoutlet")
    copier = AccountFactory(team=team_a, handle="copier1", avatar_phash="8f3a11c077e20b19")
    original = PostFactory(account=source, text="the original words")
    PostFactory(
        account=copier, text="the original words", copied_from=original, links=["https://bild.pics/a"]
    )
    create_media_brand(
        team=team_a, name="Bild fake", domains=["bild.pics"], accounts=[(copier, "runs")], created_by=lead
    )

    records = {r.id: r for r in load_records(team=team_a)}
    assert records[source.pk].reference and not records[copier.pk].reference
    copy = records[copier.pk]
    assert copy.avatar_phash == 0x8F3A11C077E20B19
    assert copy.brand_domains == {"bild.pics"} and len(copy.brand_ids) == 1
    (post,) = copy.posts
    assert (post.text, post.links, post.copied_from_id) == (
        "the original words",
        ("https://bild.pics/a",),
        original.pk,
    )


# --- a sweep --------------------------------------------------------------------------------------


def test_a_sweep_stores_the_planted_pairs_with_their_signals(team_a, moderator, corpus):
    job = sweep_now(team_a, moderator)

    assert job.status == JobStatus.SUCCEEDED, job.message
    stored = SimilaritySuggestion.objects.filter(team=team_a)
    assert {(s.account_a_id, s.account_b_id) for s in stored} == planted_pairs(*corpus)
    for suggestion in stored:
        assert suggestion.job == job and suggestion.status == SuggestionStatus.NEW
        assert 0.5 <= suggestion.score <= 1
        names = [s["signal"] for s in suggestion.signals]
        assert {"copy_paste", "co_timing"} <= set(names)
        assert all(set(s) == {"signal", "score", "detail"} and s["detail"] for s in suggestion.signals)
    assert job.result["pairs"] == 15 + 6 and job.result["created"] == 21
    assert job.result["partitions_done"] == list(range(8))
    (event,) = AuditEvent.objects.filter(verb="similarity.sweep_completed")
    assert (event.user, event.target_id, event.data["pairs"]) == (moderator, str(job.pk), 21)


def test_a_sweep_reports_progress_up_to_its_total(team_a, corpus):
    job = create_similarity_sweep_job(team=team_a)
    seen = []
    run_similarity_sweep(
        job=job, progress=lambda done, total, message="": seen.append((done, total, message))
    )
    dones = [d for d, _, _ in seen]
    assert dones == sorted(dones) and len({t for _, t, _ in seen}) == 1
    assert seen[-1][0] == seen[-1][1]
    messages = " ".join(m for _, _, m in seen)
    assert "Reading" in messages and "Indexing" in messages and "partition 8 of 8" in messages


def test_reference_accounts_are_never_paired(team_a):
    network = plant_network(team_a, 3, prefix="ref")
    for account in network[:2]:
        account.kind = AccountKind.REFERENCE
        account.save()
    organic(team_a, 10)
    sweep_now(team_a)
    assert not SimilaritySuggestion.objects.exists()


def test_a_platform_sweep_pairs_only_that_platform(team_a):
    on_x = plant_network(team_a, 3, prefix="onx", seed=3)
    plant_network(team_a, 3, prefix="ontg", seed=4, platform="telegram")
    job = sweep_now(team_a, platform="x")
    assert job.params["scope"] == "platform"
    assert set(SimilaritySuggestion.objects.values_list("account_a", "account_b")) == planted_pairs(on_x)


def test_a_case_sweep_finds_the_matches_of_the_case_accounts(team_a, lead, corpus):
    first, _ = corpus
    case = CaseFactory(team=team_a)
    add_account_to_case(case=case, account=first[0], added_by=lead)
    job = sweep_now(team_a, case=case)
    assert job.params["scope"] == "case" and job.result["pairs"] == 5
    assert set(SimilaritySuggestion.objects.values_list("account_a", "account_b")) == {
        tuple(sorted((first[0].pk, other.pk))) for other in first[1:]
    }


def test_starting_a_sweep_checks_its_arguments(team_a, team_b, moderator, outsider):
    with pytest.raises(InvalidInput, match="platform"):
        start_similarity_sweep(team=team_a, created_by=moderator, platform="myspace")
    with pytest.raises(InvalidInput, match="No such case"):
        start_similarity_sweep(team=team_a, created_by=moderator, case=CaseFactory(team=team_b))
    with pytest.raises(InvalidInput, match="threshold"):
        start_similarity_sweep(team=team_a, created_by=moderator, threshold=1.5)
    with pytest.raises(NotAllowed):
        start_similarity_sweep(team=team_a, created_by=outsider)
    assert not Job.objects.exists()


def test_starting_a_sweep_queues_a_job_and_audits_it(team_a, moderator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        job = start_similarity_sweep(team=team_a, created_by=moderator, threshold=0.6)
    assert len(callbacks) == 1  # the task is sent once the job row is committed
    assert (job.status, job.params["threshold"], job.params["partitions"]) == (JobStatus.QUEUED, 0.6, 8)
    assert AuditEvent.objects.get(verb="job.started").target_id == str(job.pk)


# --- idempotence ---------------------------------------------------------------------------------


def test_a_second_sweep_updates_rows_without_duplicates_and_keeps_reviewer_choices(
    team_a, moderator, lead, corpus
):
    first, _ = corpus
    sweep_now(team_a)
    before = pairs_of(SimilaritySuggestion.objects.all())
    case = CaseFactory(team=team_a)
    add_account_to_case(case=case, account=first[0], added_by=lead)
    accepted = SimilaritySuggestion.objects.get(account_a=first[0], account_b=first[1])
    accept_suggestion(suggestion=accepted, case=case, user=moderator)
    dismissed = SimilaritySuggestion.objects.get(account_a=first[2], account_b=first[3])
    dismiss_suggestion(suggestion=dismissed, user=moderator)

    second = sweep_now(team_a)

    after = pairs_of(SimilaritySuggestion.objects.all())
    assert after.keys() == before.keys()
    assert {k: v[:2] for k, v in after.items()} == {k: v[:2] for k, v in before.items()}
    assert SimilaritySuggestion.objects.get(pk=accepted.pk).status == SuggestionStatus.ACCEPTED
    assert SimilaritySuggestion.objects.get(pk=dismissed.pk).status == SuggestionStatus.DISMISSED
    assert set(SimilaritySuggestion.objects.values_list("job", flat=True)) == {second.pk}
    assert (second.result["created"], second.result["updated"]) == (0, 21)


def test_a_dismissed_pair_resurfaces_only_when_its_score_rises_by_the_margin(team_a, moderator, corpus):
    first, _ = corpus
    sweep_now(team_a)
    near = SimilaritySuggestion.objects.get(account_a=first[0], account_b=first[1])
    far = SimilaritySuggestion.objects.get(account_a=first[0], account_b=first[2])
    for suggestion in (near, far):
        dismiss_suggestion(suggestion=suggestion, user=moderator)
    # As if they had been dismissed when they scored lower: 0.05 and 0.2 below today's score.
    SimilaritySuggestion.objects.filter(pk=near.pk).update(dismissed_score=near.score - 0.05)
    SimilaritySuggestion.objects.filter(pk=far.pk).update(dismissed_score=far.score - 0.2)

    sweep_now(team_a)

    assert SimilaritySuggestion.objects.get(pk=near.pk).status == SuggestionStatus.DISMISSED
    resurfaced = SimilaritySuggestion.objects.get(pk=far.pk)
    assert resurfaced.status == SuggestionStatus.NEW
    assert resurfaced.dismissed_score == pytest.approx(far.score - 0.2)  # kept: it was dismissed before


def _via_upsert_suggestion(team, match, job):
    from cases.models import Account

    upsert_suggestion(
        team=team,
        account_a=Account.objects.get(pk=match.a_id),
        account_b=Account.objects.get(pk=match.b_id),
        score=match.score,
        signals=match.signals_json(),
        job=job,
    )


def _via_save_matches(team, match, job):
    save_matches(team=team, matches=[match], job=job)


@pytest.mark.parametrize("write", [_via_upsert_suggestion, _via_save_matches], ids=["upsert", "batch"])
def test_the_batch_writer_follows_upsert_suggestions_rules(write, team_a, moderator):
    a, b = AccountFactory(team=team_a), AccountFactory(team=team_a)

    def match(score: float) -> Match:
        return Match(a_id=a.pk, b_id=b.pk, score=score, signals=(Signal("links", score, f"{score} links"),))

    def row():
        return SimilaritySuggestion.objects.get()

    write(team_a, match(0.6), None)
    assert (row().status, row().score) == (SuggestionStatus.NEW, 0.6)
    dismiss_suggestion(suggestion=row(), user=moderator)
    write(team_a, match(0.68), None)  # within the margin of 0.6
    assert (row().status, row().score, row().dismissed_score) == (SuggestionStatus.DISMISSED, 0.68, 0.6)
    write(team_a, match(0.75), None)  # above 0.6 + 0.1
    assert (row().status, row().signals) == (
        SuggestionStatus.NEW,
        [{"signal": "links", "score": 0.75, "detail": "0.75 links"}],
    )
    assert SimilaritySuggestion.objects.count() == 1


# --- a killed worker ----------------------------------------------------------------------------------


class WorkerKilled(BaseException):
    """Not an Exception: like a kill -9, it is not recorded as a failure; the job stays running."""


def test_a_killed_sweep_resumes_without_redoing_finished_partitions(team_a, monkeypatch, corpus):
    undisturbed = sweep_now(team_a)
    expected = pairs_of(SimilaritySuggestion.objects.all())
    assert expected and undisturbed.result["pairs"] == len(expected)
    SimilaritySuggestion.objects.all().delete()

    # The worker dies in the first partition after the first that found pairs: after its pairs
    # are written, before it is marked done.
    real_flag = similarity.flag_possible_recreations
    calls = []

    def dying_flag(**kwargs):
        calls.append(len(kwargs["matches"]))
        if len(calls) > 1 and kwargs["matches"]:
            raise WorkerKilled
        return real_flag(**kwargs)

    monkeypatch.setattr(similarity, "flag_possible_recreations", dying_flag)
    job = create_similarity_sweep_job(team=team_a)
    with pytest.raises(WorkerKilled):
        similarity_sweep_task(job.pk)
    crashed = len(calls) - 1
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.result["partitions_done"] == list(range(crashed))
    assert SimilaritySuggestion.objects.count() >= calls[-1] > 0  # its pairs are written
    monkeypatch.setattr(similarity, "flag_possible_recreations", real_flag)

    # Redelivered: finished partitions are skipped, the crashed one is run again from its start.
    real_sweep = similarity.sweep
    ran = []

    def spy_sweep(index, threshold, *, partitions, partition, progress):
        ran.append(partition)
        return real_sweep(index, threshold, partitions=partitions, partition=partition, progress=progress)

    monkeypatch.setattr(similarity, "sweep", spy_sweep)
    similarity_sweep_task(job.pk)

    job.refresh_from_db()
    assert ran == list(range(crashed, 8))
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2
    assert pairs_of(SimilaritySuggestion.objects.all()) == expected
    assert job.result["pairs"] == undisturbed.result["pairs"]
    # The crashed partition's rows were already there: upserted, not duplicated.
    assert job.result["partitions"][str(crashed)]["updated"] == calls[-1] > 0
    assert AuditEvent.objects.filter(verb="similarity.sweep_completed", target_id=str(job.pk)).count() == 1


def test_a_finished_sweep_is_not_run_again(team_a, corpus):
    job = sweep_now(team_a)
    events = AuditEvent.objects.count()
    similarity_sweep_task(job.pk)
    job.refresh_from_db()
    assert job.attempts == 1 and AuditEvent.objects.count() == events


def test_another_teams_accounts_are_never_read(team_a, team_b):
    plant_network(team_a, 3, prefix="mine")
    plant_network(TeamFactory(slug="other"), 3, prefix="theirs")
    assert {r.handle[:4] for r in load_records(team=team_a)} == {"mine"}
