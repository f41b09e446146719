"""New accounts get their similar accounts: an import or a new account queues, once it commits, a
top-k refresh of the accounts it touched, in batches of ids; the refresh stores the suggestions,
makes them the account's fresh answer and runs the recidivism check."""

import datetime as dt
import io
import json

import pytest
import time_machine
from django.utils import timezone

from cases.models import (
    Account,
    AttributionDecision,
    AuditEvent,
    CaseStatus,
    Confidence,
    Job,
    JobKind,
    JobStatus,
    Label,
    SimilaritySuggestion,
    Verdict,
)
from cases.services import similar_refresh
from cases.services.accounts import create_account
from cases.services.cases import add_account_to_case
from cases.services.imports import import_bundle, import_indicator_files
from cases.services.similar_refresh import (
    REFRESH_BATCH,
    queue_similar_refresh,
    refresh_similar_for_accounts,
)
from cases.similarity_selectors import similarity_as_of
from cases.tasks import refresh_similar_for_accounts_task
from tests.api.conftest import token_client
from tests.factories import ActorFactory, CaseFactory, UserFactory
from tests.similarity.conftest import copy_network, organic, plant_network

pytestmark = pytest.mark.django_db

START = timezone.now().replace(microsecond=0) + dt.timedelta(days=1)
RECREATION = "similarity.possible_recreation"


def at(minutes: int):
    return time_machine.travel(START + dt.timedelta(minutes=minutes), tick=False)


@pytest.fixture
def sent(monkeypatch):
    """What would reach the broker: (team id, account ids, user id) per task."""
    calls = []
    monkeypatch.setattr(
        refresh_similar_for_accounts_task,
        "delay",
        lambda team_id, ids, user_id=None: calls.append((team_id, ids, user_id)),
    )
    return calls


def bundle(*lines) -> io.BytesIO:
    stream = io.BytesIO("\n".join(json.dumps(line) for line in lines).encode())
    stream.name = "bundle.jsonl"
    return stream


def copy_lines(original: Account, handle: str) -> list[dict]:
    """Bundle lines of a new account that posts what ``original`` posted, when it posted it."""
    lines = [{"type": "account", "platform": original.platform, "handle": handle}]
    for k, post in enumerate(original.posts.order_by("pk")):
        lines.append(
            {
                "type": "post",
                "platform": original.platform,
                "account": handle,
                "external_id": f"{handle}-{k}",
                "text": post.text,
                "posted_at": post.posted_at.isoformat(),
            }
        )
    return lines


def decide(team, accounts, lead, title="Removed network"):
    """A decided case that found ``accounts`` inauthentic: labeled so, and attributed."""
    case = CaseFactory(team=team, title=title)
    for account in accounts:
        add_account_to_case(case=case, account=account, added_by=lead)
        Label.objects.create(case=case, account=account, annotator=UserFactory(), verdict=Verdict.INAUTHENTIC)
    AttributionDecision.objects.create(
        case=case,
        actor=ActorFactory(team=team),
        confidence=Confidence.HIGH,
        rationale="Same operator",
        decided_by=lead,
        decided_at=timezone.now(),
    )
    case.status = CaseStatus.DECIDED
    case.save(update_fields=["status"])
    return case


# --- what is queued ---------------------------------------------------------------------------------


def test_an_account_created_over_the_api_queues_its_refresh_after_commit(
    team_a, moderator, sent, django_capture_on_commit_callbacks
):
    api = token_client(moderator)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post(
            "/api/accounts/",
            {"team": team_a.pk, "platform": "x", "handle": "jordanl61185831"},
            format="json",
        )
        assert response.status_code == 201, response.content
        assert sent == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    account = Account.objects.get(handle="jordanl61185831")
    assert sent == [(team_a.pk, [account.pk], moderator.pk)]
    # Queuing writes nothing: the account's creation stays one audit event, and no Job yet.
    verbs = AuditEvent.objects.exclude(verb="api_token.created").values_list("verb", flat=True)
    assert list(verbs) == ["account.created"]
    assert not Job.objects.exists()


def test_a_rolled_back_account_queues_nothing(team_a, moderator, sent, django_capture_on_commit_callbacks):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                create_account(team=team_a, platform="x", handle="ghost", created_by=moderator)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert sent == []


def test_an_import_queues_the_new_accounts_in_batches_of_ids(
    team_a, moderator, sent, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(similar_refresh, "REFRESH_BATCH", 2)
    lines = [{"type": "account", "platform": "x", "handle": f"new{i}"} for i in range(5)]
    with django_capture_on_commit_callbacks(execute=True):
        result = import_bundle(team=team_a, source=bundle(*lines), user=moderator)

    ids = sorted(Account.objects.filter(team=team_a).values_list("pk", flat=True))
    assert result["similar_refresh"] == {"accounts": 5, "tasks": 3}
    assert [batch for _, batch, _ in sent] == [ids[:2], ids[2:4], ids[4:]]
    assert {(team, user) for team, _, user in sent} == {(team_a.pk, moderator.pk)}
    event = AuditEvent.objects.get(verb="import.completed")
    assert event.data["similar_refresh"] == {"accounts": 5, "tasks": 3}

    # Re-importing the same file changes nothing, so nothing is refreshed.
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        again = import_bundle(team=team_a, source=bundle(*lines), user=moderator)
    assert sent == [] and "similar_refresh" not in again


def test_an_import_refreshes_accounts_that_gained_posts_not_the_untouched(
    team_a, moderator, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        import_bundle(
            team=team_a,
            source=bundle(*({"type": "account", "platform": "x", "handle": h} for h in ("kept", "posting"))),
            user=moderator,
        )
    sent.clear()
    posting = Account.objects.get(handle="posting")
    line = {"type": "post", "platform": "x", "account": "posting", "external_id": "1", "text": "hello there"}
    with at(10), django_capture_on_commit_callbacks(execute=True):
        import_bundle(team=team_a, source=bundle(line), user=moderator)
    assert [batch for _, batch, _ in sent] == [[posting.pk]]


def test_five_thousand_accounts_are_ten_tasks_not_five_thousand(
    team_a, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert queue_similar_refresh(team=team_a, account_ids=range(1, 5001)) == 10
    assert len(sent) == 10 == 5000 // REFRESH_BATCH
    assert all(len(batch) == REFRESH_BATCH for _, batch, _ in sent)
    assert sorted(pk for _, batch, _ in sent for pk in batch) == list(range(1, 5001))


def test_a_huge_import_sweeps_the_team_instead(
    team_a, moderator, sent, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(similar_refresh, "SWEEP_INSTEAD_OVER", 2)
    from cases.tasks import similarity_sweep_task

    swept = []
    monkeypatch.setattr(similarity_sweep_task, "delay", swept.append)
    lines = [{"type": "account", "platform": "x", "handle": f"bulk{i}"} for i in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        result = import_bundle(team=team_a, source=bundle(*lines), user=moderator)
    job = Job.objects.get(kind=JobKind.SIMILARITY_SWEEP)
    assert result["similar_refresh"] == {"accounts": 3, "tasks": 0, "sweep_job": job.pk}
    assert job.params["scope"] == "team" and job.created_by == moderator
    assert swept == [job.pk] and sent == []


def test_an_indicator_import_queues_its_accounts(team_a, lead, sent, django_capture_on_commit_callbacks):
    content = b"Tactic,Technique,Procedure,Indicator\n" + b"".join(
        f"0. Acquiring assets,0.9 Acquiring social media accounts,0.9.4 Acquiring X / Twitter accounts,"
        f"https://twitter[.]com/{handle}\n".encode()
        for handle in ("GarciaJasmyn1", "ZoeRich28859010")
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = import_indicator_files(team=team_a, files=[("Q2_2023_Test_network.csv", content)], user=lead)
    ids = sorted(Account.objects.filter(team=team_a).values_list("pk", flat=True))
    assert len(ids) == 2 and result["similar_refresh"] == {"accounts": 2, "tasks": 1}
    assert sent == [(team_a.pk, ids, lead.pk)]


# --- what a refresh does -------------------------------------------------------------------------------


def test_a_refresh_stores_the_suggestions_and_makes_them_the_fresh_answer(team_a, moderator):
    with at(0):
        network = plant_network(team_a, 3, prefix="net")
        organic(team_a, 15)
        (copy,) = copy_network(team_a, network[:1], prefix="copy")
    with at(1):
        refresh_similar_for_accounts_task(team_a.pk, [copy.pk], None)

    job = Job.objects.get(params__scope="accounts")
    assert job.status == JobStatus.SUCCEEDED and job.params["account_ids"] == [copy.pk]
    assert job.result["refreshed"] == 1 and job.result["pairs"] >= 3
    stored = SimilaritySuggestion.objects.filter(account_b=copy) | SimilaritySuggestion.objects.filter(
        account_a=copy
    )
    best = sorted(stored, key=lambda s: -s.score)[:3]
    assert {s.account_a_id for s in best} | {s.account_b_id for s in best} == {
        copy.pk,
        *(a.pk for a in network),
    }
    assert all(s.score >= 0.5 and s.signals for s in best)

    with at(2):
        assert similarity_as_of(copy) is not None
        response = token_client(moderator).get(f"/api/accounts/{copy.pk}/similar/?limit=3")
    assert response.status_code == 200 and response["X-Similar-Source"] == "stored"
    assert {r["account"]["id"] for r in response.json()["results"]} == {a.pk for a in network}
    # The answer is the stored one: no second computation.
    assert Job.objects.filter(kind=JobKind.SIMILARITY_SWEEP).count() == 1


def test_a_refresh_is_idempotent_and_keeps_reviewers_decisions(team_a, lead):
    with at(0):
        network = plant_network(team_a, 3, prefix="net")
        (copy,) = copy_network(team_a, network[:1], prefix="copy")
    with at(1):
        refresh_similar_for_accounts(team=team_a, account_ids=[copy.pk])
    rows = {(s.account_a_id, s.account_b_id): s.score for s in SimilaritySuggestion.objects.all()}
    SimilaritySuggestion.objects.filter(account_b=copy).update(status="accepted")
    with at(2):
        refresh_similar_for_accounts(team=team_a, account_ids=[copy.pk])
    again = {(s.account_a_id, s.account_b_id): s.score for s in SimilaritySuggestion.objects.all()}
    assert again == rows
    assert set(SimilaritySuggestion.objects.filter(account_b=copy).values_list("status", flat=True)) <= {
        "accepted"
    }


def test_a_refresh_flags_a_re_creation_of_a_removed_network_once(team_a, lead):
    with at(0):
        removed = plant_network(team_a, 3, prefix="gone")
        organic(team_a, 10)
    with at(30):
        case = decide(team_a, removed, lead)
    with at(60):
        (back,) = copy_network(team_a, removed[:1], prefix="back")
    with at(61):
        job = refresh_similar_for_accounts(team=team_a, account_ids=[back.pk])
    with at(62):
        refresh_similar_for_accounts(team=team_a, account_ids=[back.pk])

    event = AuditEvent.objects.get(verb=RECREATION)
    assert (event.target_id, event.data["account"]) == (str(case.pk), back.pk)
    assert event.data["similar_to"] in {a.pk for a in removed} and event.data["job"] == job.pk
    assert job.result["recreation_flags"] == 1


def test_a_copy_of_an_open_case_is_suggested_but_not_flagged(team_a, lead):
    with at(0):
        network = plant_network(team_a, 3, prefix="open")
        case = CaseFactory(team=team_a, title="Still open")
        for account in network:
            add_account_to_case(case=case, account=account, added_by=lead)
    with at(60):
        (copy,) = copy_network(team_a, network[:1], prefix="later")
    with at(61):
        job = refresh_similar_for_accounts(team=team_a, account_ids=[copy.pk])
    assert job.result["pairs"] >= 3 and job.result["recreation_flags"] == 0
    assert not AuditEvent.objects.filter(verb=RECREATION).exists()


def test_ids_that_are_gone_or_of_another_team_are_skipped(team_a, team_b):
    with at(0):
        (mine,) = organic(team_a, 1)
        (theirs,) = organic(team_b, 1, seed=5)
    with at(1):
        assert refresh_similar_for_accounts(team=team_a, account_ids=[theirs.pk, 10**9]) is None
        refresh_similar_for_accounts_task(10**9, [mine.pk], None)  # a team deleted meanwhile
        job = refresh_similar_for_accounts(team=team_a, account_ids=[mine.pk, theirs.pk])
    assert job.params["account_ids"] == [mine.pk]
    assert Job.objects.count() == 1


def test_a_batch_marker_does_not_make_an_account_outside_it_fresh(team_a):
    with at(0):
        first, middle, last = organic(team_a, 3)
    with at(1):
        refresh_similar_for_accounts(team=team_a, account_ids=[first.pk, last.pk])
    with at(2):
        assert similarity_as_of(first) is not None and similarity_as_of(last) is not None
        assert similarity_as_of(middle) is None  # inside the id range, not in the batch


def test_a_refresh_is_not_shown_as_the_teams_last_sweep(team_a, moderator, client):
    with at(0):
        (account,) = organic(team_a, 1)
        refresh_similar_for_accounts(team=team_a, account_ids=[account.pk])
    client.force_login(moderator)
    html = client.get(f"/teams/{team_a.slug}/networks/").content.decode()
    assert "No sweep has run in this team yet." in html
