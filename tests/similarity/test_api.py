"""GET /api/accounts/{id}/similar/ and POST /api/similarity/sweeps/, through HTTP."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from cases.models import Job, JobKind, SimilaritySuggestion, SuggestionStatus
from cases.services.audit import record_event
from cases.services.similarity import create_similarity_sweep_job
from cases.services.suggestions import dismiss_suggestion
from cases.tasks import similarity_sweep_task
from tests.api.conftest import error_of, token_client
from tests.factories import AccountFactory, CaseFactory
from tests.similarity.conftest import organic, plant_network

pytestmark = pytest.mark.django_db

START = timezone.now().replace(microsecond=0) + dt.timedelta(days=1)


def at(minutes: int):
    """The clock, ``minutes`` after the test's start: freshness is about time, so tests set it."""
    return time_machine.travel(START + dt.timedelta(minutes=minutes), tick=False)


def url(account, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/api/accounts/{account.pk}/similar/" + (f"?{query}" if query else "")


@pytest.fixture
def world(team_a):
    with at(0):
        big = plant_network(team_a, 5, prefix="big", seed=1)
        organic(team_a, 20)
    return big


@pytest.fixture
def api(moderator):
    return token_client(moderator)


def get(api, path, minutes):
    with at(minutes):
        return api.get(path)


def test_the_answer_has_exactly_the_documented_shape_best_first(api, world):
    response = get(api, url(world[0]), 1)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"results"}
    results = body["results"]
    assert [r["account"]["id"] for r in results][:4] and len(results) == 4
    assert {r["account"]["id"] for r in results} == {a.pk for a in world[1:]}
    for result in results:
        assert set(result) == {"account", "score", "signals"}
        assert set(result["account"]) == {"id", "platform", "handle", "display_name"}
        assert 0 <= result["score"] <= 1
        for signal in result["signals"]:
            assert set(signal) == {"signal", "score", "detail"} and 0 <= signal["score"] <= 1
        assert {"copy_paste", "co_timing"} <= {s["signal"] for s in result["signals"]}
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)


def test_ordering_puts_the_strongest_match_first(api, team_a, world):
    with at(0):
        # Shares two of world[0]'s six posts at the same moments: similar, but less than its network.
        half = AccountFactory(team=team_a, handle="halfcopy")
        for post in world[0].posts.order_by("pk")[:2]:
            half.posts.create(text=post.text, posted_at=post.posted_at)
    results = get(api, url(world[0]), 1).json()["results"]
    ids = [r["account"]["id"] for r in results]
    assert set(ids[:4]) == {a.pk for a in world[1:]}
    assert ids.index(half.pk) == 4 and results[4]["score"] < results[3]["score"]


def test_stale_is_computed_then_served_stored_until_something_changes(api, team_a, world):
    first = get(api, url(world[0]), 1)
    assert first["X-Similar-Source"] == "computed"
    second = get(api, url(world[0]), 2)
    assert second["X-Similar-Source"] == "stored"
    assert second.json() == first.json()
    assert Job.objects.filter(kind=JobKind.SIMILARITY_SWEEP, params__scope="account").count() == 1

    # The account itself changed: stale.
    with at(3):
        world[0].display_name = "Renamed"
        world[0].save()
    assert get(api, url(world[0]), 4)["X-Similar-Source"] == "computed"
    assert get(api, url(world[0]), 5)["X-Similar-Source"] == "stored"

    # Another account joined the team: it might be the best match now.
    with at(6):
        AccountFactory(team=team_a, handle="newcomer")
    assert get(api, url(world[0]), 7)["X-Similar-Source"] == "computed"

    # An import into the team.
    with at(8):
        record_event(team=team_a, user=None, verb="import.completed", target=team_a, data={})
    assert get(api, url(world[0]), 9)["X-Similar-Source"] == "computed"
    assert get(api, url(world[0]), 10)["X-Similar-Source"] == "stored"

    # New weights for the team: answers computed under the old ones are stale.
    with at(11):
        team_a.similarity_weights = {"weights": {"content": 0.3}}
        team_a.save()
    assert get(api, url(world[0]), 12)["X-Similar-Source"] == "computed"


def test_a_team_sweep_makes_every_account_fresh(api, team_a, world):
    with at(1):
        job = create_similarity_sweep_job(team=team_a)
        similarity_sweep_task(job.pk)
    response = get(api, url(world[2]), 2)
    assert response["X-Similar-Source"] == "stored"
    assert {r["account"]["id"] for r in response.json()["results"]} == {a.pk for a in world if a != world[2]}


def test_dismissed_pairs_are_left_out(api, moderator, world):
    get(api, url(world[0]), 1)
    with at(2):
        dismissed = SimilaritySuggestion.objects.get(account_a=world[0], account_b=world[1])
        dismiss_suggestion(suggestion=dismissed, user=moderator)
    response = get(api, url(world[0]), 3)
    assert response["X-Similar-Source"] == "stored"
    assert world[1].pk not in {r["account"]["id"] for r in response.json()["results"]}
    assert SimilaritySuggestion.objects.get(pk=dismissed.pk).status == SuggestionStatus.DISMISSED


@pytest.mark.parametrize(("limit", "count"), [(1, 1), (2, 2), (50, 4)])
def test_limit_caps_the_results(api, world, limit, count):
    assert len(get(api, url(world[0], limit=limit), 1).json()["results"]) == count


@pytest.mark.parametrize("limit", ["0", "51", "-3", "ten", "2.5"])
def test_limit_outside_1_to_50_is_a_400(api, world, limit):
    response = get(api, url(world[0], limit=limit), 1)
    assert response.status_code == 400
    assert "limit" in error_of(response)["fields"]


def test_another_teams_account_is_a_404_like_a_missing_one(outsider, world):
    api = token_client(outsider)
    for path in (url(world[0]), "/api/accounts/999999999/similar/"):
        response = get(api, path, 1)
        assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    assert not Job.objects.exists()  # nothing was computed for the outsider


def test_an_anonymous_request_is_a_401(world):
    assert APIClient().get(url(world[0])).status_code == 401


# --- starting a sweep --------------------------------------------------------------------------------


def test_post_a_sweep_starts_a_job(api, team_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post("/api/similarity/sweeps/", {"team": team_a.pk, "threshold": 0.7}, format="json")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert response["Location"] == f"/api/jobs/{body['id']}/"
    assert (body["kind"], body["status"], body["params"]["threshold"]) == ("similarity_sweep", "queued", 0.7)
    assert len(callbacks) == 1


def test_post_a_case_sweep(api, team_a):
    case = CaseFactory(team=team_a)
    response = api.post("/api/similarity/sweeps/", {"team": team_a.pk, "case": case.pk}, format="json")
    assert response.status_code == 202
    assert response.json()["params"]["case_id"] == case.pk


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"threshold": 1.5}, "threshold"),
        ({"threshold": "0.7"}, "threshold"),
        ({"platform": "myspace"}, "platform"),
        ({"case": 999999999}, "case"),
    ],
)
def test_post_a_sweep_with_bad_input_is_a_400(api, team_a, body, field):
    response = api.post("/api/similarity/sweeps/", {"team": team_a.pk, **body}, format="json")
    assert response.status_code == 400
    assert field in error_of(response)["fields"]
    assert not Job.objects.exists()


def test_post_a_sweep_of_another_team_or_with_its_case_is_refused(api, team_a, team_b):
    response = api.post("/api/similarity/sweeps/", {"team": team_b.pk}, format="json")
    assert response.status_code == 400 and "team" in error_of(response)["fields"]
    theirs = CaseFactory(team=team_b)
    response = api.post("/api/similarity/sweeps/", {"team": team_a.pk, "case": theirs.pk}, format="json")
    assert response.status_code == 400 and "case" in error_of(response)["fields"]
    assert not Job.objects.exists()


def test_both_operations_are_in_the_openapi_schema(client):
    schema = client.get("/api/schema/").json()
    similar = schema["paths"]["/api/accounts/{id}/similar/"]["get"]
    limit = next(p for p in similar["parameters"] if p["name"] == "limit")
    assert limit["schema"]["minimum"] == 1 and limit["schema"]["maximum"] == 50
    assert "200" in similar["responses"] and "404" in similar["responses"]
    sweeps = schema["paths"]["/api/similarity/sweeps/"]["post"]
    assert "202" in sweeps["responses"] and "400" in sweeps["responses"]
