"""No N+1: every list costs the same number of queries for 3 rows as for 30."""

import pytest

from cases.models import AuditEvent, Job, JobKind, Role, SimilaritySuggestion
from cases.services.accounts import create_media_brand
from cases.services.cases import add_account_to_case
from cases.services.evidence import Upload, record_evidence, retract_evidence
from cases.services.queues import create_queue_from_case
from cases.services.tokens import create_token
from tests.api.conftest import count_queries, png_bytes, token_client
from tests.factories import (
    AccountFactory,
    ActorFactory,
    CaseFactory,
    MembershipFactory,
    PostFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


class Seeder:
    """Adds rows of every kind to team A, each with the related rows its list shows."""

    def __init__(self, team, lead, moderator):
        self.team, self.lead, self.moderator = team, lead, moderator
        self.case = CaseFactory(team=team, title="Big network", lead=lead, created_by=lead)
        self.n = 0

    def add(self, count: int) -> None:
        for _ in range(count):
            self.n += 1
            i = self.n
            account = AccountFactory(team=self.team, handle=f"acc{i}")
            twin = AccountFactory(team=self.team, handle=f"twin{i}")
            PostFactory(account=account)
            create_media_brand(
                team=self.team,
                name=f"Brand {i}",
                domains=[f"b{i}.pics", f"b{i}.top"],
                accounts=[(account, "runs")],
            )
            case = CaseFactory(team=self.team, title=f"Case {i}", lead=self.lead, created_by=self.moderator)
            add_account_to_case(case=self.case, account=account, added_by=self.lead)
            evidence = record_evidence(
                case=self.case,
                kind="screenshot",
                captured_by=self.moderator,
                account=account,
                files=[Upload("screenshot", "s.png", png_bytes())],
            )
            if i % 2:
                retract_evidence(evidence=evidence, retracted_by=self.lead, reason="wrong")
            ActorFactory(team=self.team, name=f"Actor {i}", created_by=self.lead)
            create_queue_from_case(case=case, name=f"Queue {i}", created_by=self.lead)
            Job.objects.create(team=self.team, kind=JobKind.RECOUNT_CASE, created_by=self.lead)
            SimilaritySuggestion.objects.create(
                team=self.team,
                account_a=account,
                account_b=twin,
                score=0.5,
                signals=[],
                reviewed_by=self.lead,
            )
            MembershipFactory(user=self.lead, role=Role.LEAD)  # one more team for the team list
            MembershipFactory(team=self.team, user=UserFactory(username=f"member{i}"))
            create_token(user=self.lead, name=f"t{i}")


LISTS = [
    "/api/teams/",
    "/api/accounts/",
    "/api/posts/",
    "/api/media-brands/",
    "/api/cases/",
    "/api/evidence/",
    "/api/actors/",
    "/api/queues/",
    "/api/jobs/",
    "/api/audit-events/",
    "/api/suggestions/",
    "/api/tokens/",
    "/api/techniques/",
    "CASE/accounts/",
    "QUEUE/items/",
    "TEAM/members/",
]


@pytest.fixture
def seeded(team_a, lead, moderator):
    return Seeder(team_a, lead, moderator)


def test_every_list_costs_the_same_for_3_rows_as_for_30(seeded, lead):
    client = token_client(lead)
    client.get("/api/teams/")  # the token's first use writes last_used_at; later ones do not

    def url_of(path: str) -> str:
        big_queue = seeded.case.queues.first()
        return (
            path.replace("CASE/", f"/api/cases/{seeded.case.pk}/")
            .replace("QUEUE/", f"/api/queues/{big_queue.pk if big_queue else 0}/")
            .replace("TEAM/", f"/api/teams/{seeded.team.pk}/")
        )

    seeded.add(3)
    create_queue_from_case(case=seeded.case, name="Big queue", created_by=lead)
    small = {}
    for path in LISTS:
        small[path] = count_queries(lambda path=path: _ok(client.get(url_of(path), {"page_size": 500})))
    seeded.case.queues.all().delete()
    seeded.add(27)
    create_queue_from_case(case=seeded.case, name="Big queue", created_by=lead)
    for path in LISTS:
        response = client.get(url_of(path), {"page_size": 500})
        assert response.json()["count"] >= (3 if path != "/api/techniques/" else 100), path
        large = count_queries(lambda path=path: _ok(client.get(url_of(path), {"page_size": 500})))
        assert large == small[path], f"{path}: {small[path]} queries for 3 rows, {large} for 30"
    assert AuditEvent.objects.filter(team=seeded.team).count() > 30


def _ok(response):
    assert response.status_code == 200, response.content
    return response


def test_a_page_of_accounts_takes_four_queries(seeded, lead):
    seeded.add(3)
    client = token_client(lead)
    client.get("/api/teams/")
    # The token (with its user), the user's team ids, the count, the page.
    assert count_queries(lambda: _ok(client.get("/api/accounts/"))) == 4
