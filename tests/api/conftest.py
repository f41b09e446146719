"""API test fixtures: token-authenticated clients and a two-team world to probe across."""

import io
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from cases.models import (
    AuditEvent,
    Job,
    JobKind,
    MediaBrand,
    Queue,
    Role,
    SimilaritySuggestion,
    Technique,
)
from cases.services.accounts import create_media_brand
from cases.services.cases import add_account_to_case
from cases.services.evidence import Upload, record_evidence
from cases.services.queues import claim_next_item, create_queue_from_case
from cases.services.tokens import create_token
from tests.factories import (
    AccountFactory,
    ActorFactory,
    CaseFactory,
    MembershipFactory,
    PostFactory,
    UserFactory,
)
from tests.support import count_queries  # noqa: F401 (the API tests import it from here)


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    """Throttle counters live in the cache; every test starts with a full budget."""
    cache.clear()
    yield
    cache.clear()


def png_bytes(colour=(200, 30, 30), size=(32, 24)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def token_client(user, **token_kwargs) -> APIClient:
    """A client that authenticates the way scripts do: a bearer token, no session, no CSRF."""
    _, secret = create_token(user=user, name=token_kwargs.pop("name", "tests"), **token_kwargs)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def session_client(user) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def error_of(response) -> dict:
    """The error object of a 4xx answer, after checking it has the one shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["fields"], dict)
    return body["error"]


@pytest.fixture
def mod_api(moderator):
    return token_client(moderator)


@pytest.fixture
def lead_api(lead):
    return token_client(lead)


@pytest.fixture
def admin_api(admin_user):
    return token_client(admin_user)


@pytest.fixture
def outsider_api(outsider):
    return token_client(outsider)


@dataclass
class TeamWorld:
    """One of everything in a team, so every route has an object to ask for."""

    team: object
    lead: object
    account: object
    post: object
    brand: object
    case: object
    evidence: object
    actor: object
    queue: object
    item: object
    assignment: object
    job: object
    suggestion: object
    audit_event: object


def build_world(team, moderator, lead) -> TeamWorld:
    account = AccountFactory(team=team, handle=f"{team.slug}-suspect", display_name="Atlanta Online")
    other = AccountFactory(team=team, handle=f"{team.slug}-twin")
    post = PostFactory(account=account, text="Copied words")
    brand = create_media_brand(team=team, name=f"Bild {team.slug}", domains=["bild[.]pics"], created_by=lead)
    case = CaseFactory(team=team, title=f"Network of {team.slug}", lead=lead)
    add_account_to_case(case=case, account=account, added_by=lead)
    add_account_to_case(case=case, account=other, added_by=lead)
    evidence = record_evidence(
        case=case,
        kind="screenshot",
        captured_by=moderator,
        account=account,
        techniques=list(Technique.objects.order_by("order")[:1]),
        files=[Upload("screenshot", "shot.png", png_bytes())],
    )
    actor = ActorFactory(team=team, name=f"Actor of {team.slug}")
    queue = create_queue_from_case(case=case, name=f"Queue {team.slug}", created_by=lead)
    assignment = claim_next_item(queue=queue, user=moderator)  # the moderator holds the first item
    job = Job.objects.create(
        team=team, kind=JobKind.RECOUNT_CASE, params={"case_id": case.pk}, created_by=lead
    )
    a, b = sorted([account, other], key=lambda x: x.pk)
    suggestion = SimilaritySuggestion.objects.create(
        team=team,
        account_a=a,
        account_b=b,
        score=0.9,
        signals=[{"signal": "copy_paste", "score": 0.93, "detail": "12 near-identical posts"}],
    )
    return TeamWorld(
        team=team,
        lead=lead,
        account=account,
        post=post,
        brand=MediaBrand.objects.get(pk=brand.pk),
        case=case,
        evidence=evidence,
        actor=actor,
        queue=Queue.objects.get(pk=queue.pk),
        item=queue.items.first(),
        assignment=assignment,
        job=job,
        suggestion=suggestion,
        audit_event=AuditEvent.objects.filter(team=team).first(),
    )


@pytest.fixture
def world_a(team_a, moderator, lead):
    return build_world(team_a, moderator, lead)


@pytest.fixture
def world_b(team_b, outsider):
    lead_b = MembershipFactory(team=team_b, role=Role.LEAD, user=UserFactory(username="lead-b")).user
    return build_world(team_b, outsider, lead_b)


@pytest.fixture
def now():
    return timezone.now()
