"""An imported account gets its similar accounts on a real worker (Redis broker in CI): the import
job queues the refresh when it commits, the refresh stores the suggestions and flags a re-creation
of a network a decided case removed."""

import datetime as dt
import io
import json
import threading

import pytest
from celery.signals import task_postrun
from django.utils import timezone

from cases.models import (
    Account,
    AttributionDecision,
    AuditEvent,
    CaseStatus,
    Confidence,
    Job,
    JobStatus,
    Label,
    Post,
    SimilaritySuggestion,
    Verdict,
)
from cases.services.cases import add_account_to_case
from cases.services.imports import start_bundle_import
from tests.api.conftest import token_client
from tests.factories import ActorFactory, CaseFactory, UserFactory
from tests.similarity.conftest import organic, plant_network

REFRESH_TASK = "cases.tasks.refresh_similar_for_accounts_task"


@pytest.fixture
def finished_names():
    """Names of the tasks the worker finished, and a condition to wait on (never a sleep)."""
    names: list[str] = []
    condition = threading.Condition()

    def on_postrun(sender=None, **kwargs):
        with condition:
            names.append(getattr(sender, "name", ""))
            condition.notify_all()

    def wait_for(name: str, timeout: float = 90) -> bool:
        with condition:
            return condition.wait_for(lambda: name in names, timeout=timeout)

    task_postrun.connect(on_postrun, weak=False)
    yield wait_for
    task_postrun.disconnect(on_postrun)


def copy_bundle(original: Account, handle: str) -> io.BytesIO:
    """A bundle with one new account that posts what ``original`` posted, at the same moments."""
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
    stream = io.BytesIO("\n".join(json.dumps(line) for line in lines).encode())
    stream.name = "recreated.jsonl"
    return stream


@pytest.mark.worker
def test_an_imported_copy_of_a_removed_network_gets_suggestions_and_a_flag_on_a_worker(
    celery_worker, finished_names, team_a, lead, moderator
):
    removed = plant_network(team_a, 3, prefix="gone")
    organic(team_a, 12)
    # The team had these accounts well before the import (an import refreshes what changed since
    # its job was queued, less a few seconds of clock slack).
    an_hour_ago = timezone.now() - dt.timedelta(hours=1)
    Account.objects.filter(team=team_a).update(created_at=an_hour_ago, updated_at=an_hour_ago)
    Post.objects.filter(account__team=team_a).update(created_at=an_hour_ago)
    case = CaseFactory(team=team_a, title="Takedown of March")
    for account in removed:
        add_account_to_case(case=case, account=account, added_by=lead)
        Label.objects.create(case=case, account=account, annotator=UserFactory(), verdict=Verdict.INAUTHENTIC)
    AttributionDecision.objects.create(
        case=case,
        actor=ActorFactory(team=team_a),
        confidence=Confidence.HIGH,
        rationale="Same operator",
        decided_by=lead,
        decided_at=timezone.now(),
    )
    case.status = CaseStatus.DECIDED
    case.save(update_fields=["status"])
    # The same shape as the network's handles (prefix, digit, "x", six digits).
    handle = f"gone7x{removed[0].handle[-6:]}"

    job = start_bundle_import(
        team=team_a, path_or_upload=copy_bundle(removed[0], handle), created_by=moderator
    )
    assert finished_names(REFRESH_TASK), "the worker did not refresh the imported account"

    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert job.result["similar_refresh"] == {"accounts": 1, "tasks": 1}
    new = Account.objects.get(team=team_a, handle=handle)
    refresh = Job.objects.get(params__scope="accounts")
    assert refresh.status == JobStatus.SUCCEEDED, refresh.message
    assert refresh.params["account_ids"] == [new.pk] and refresh.created_by == moderator

    stored = {
        (s.account_b_id if s.account_a_id == new.pk else s.account_a_id): s
        for s in SimilaritySuggestion.objects.filter(team=team_a, job=refresh)
    }
    best = sorted(stored.values(), key=lambda s: -s.score)[:3]
    assert {s.account_a_id for s in best} | {s.account_b_id for s in best} == {
        new.pk,
        *(a.pk for a in removed),
    }
    for suggestion in best:
        assert suggestion.score >= 0.7 and suggestion.status == "new"
        assert "copy_paste" in {signal["signal"] for signal in suggestion.signals}

    flag = AuditEvent.objects.get(verb="similarity.possible_recreation")
    assert (flag.target_id, flag.data["account"], flag.data["handle"]) == (str(case.pk), new.pk, handle)
    assert flag.data["similar_to"] in {a.pk for a in removed}

    response = token_client(moderator).get(f"/api/accounts/{new.pk}/similar/?limit=3")
    assert response.status_code == 200
    assert {r["account"]["id"] for r in response.json()["results"]} == {a.pk for a in removed}
