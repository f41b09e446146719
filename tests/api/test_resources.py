"""Each resource through HTTP: creating through the services, reading, filtering, searching and
ordering — and fields the server owns, which a client may send but never sets."""

import datetime

import pytest
from django.utils import timezone

from cases.models import (
    Account,
    AccountSource,
    AuditEvent,
    CaseAccount,
    CaseStatus,
    Job,
    JobKind,
    JobStatus,
    Post,
)
from tests.api.conftest import error_of
from tests.factories import AccountFactory, CaseFactory

pytestmark = pytest.mark.django_db


# --- accounts ----------------------------------------------------------------------------------


def test_create_an_account_from_a_profile_url(world_a, mod_api):
    response = mod_api.post(
        "/api/accounts/",
        {
            "team": world_a.team.pk,
            "platform": "x",
            "handle": "https://x.com/AtlantaOnline/status/1",
            "display_name": "Atlanta Online",
            "followers": 12000,
            "created_on_platform": "2014-12-01T00:00:00Z",
            "kind": "reference",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["handle_normalized"] == "atlantaonline" and body["platform"] == "x"
    assert body["followers"] == 12000 and body["kind"] == "reference" and body["source"] == "api"
    event = AuditEvent.objects.get(verb="account.created", target_id=str(body["id"]))
    assert event.user.username == "mod-a"


def test_server_owned_account_fields_are_ignored(world_a, world_b, mod_api):
    response = mod_api.post(
        "/api/accounts/",
        {
            "team": world_a.team.pk,
            "platform": "x",
            "handle": "Plain",
            "handle_normalized": "someone-else",
            "source": "demo",
            "avatar_phash": "ffffffffffffffff",
            "created_at": "2001-01-01T00:00:00Z",
            "id": 31337,
        },
        format="json",
    )
    assert response.status_code == 201
    account = Account.objects.get(pk=response.json()["id"])
    assert account.pk != 31337 and account.handle_normalized == "plain"
    assert account.source == AccountSource.API and account.avatar_phash == ""
    assert account.created_at.year == timezone.now().year and account.team == world_a.team


def test_accounts_are_searched_by_handle_and_display_name(world_a, mod_api):
    assert [a["handle"] for a in mod_api.get("/api/accounts/?search=atlanta").json()["results"]] == [
        world_a.account.handle
    ]
    assert mod_api.get("/api/accounts/?search=team-a-twin").json()["count"] == 1
    assert mod_api.get("/api/accounts/?search=zzzz").json()["count"] == 0


def test_accounts_are_filtered_and_ordered(world_a, mod_api):
    AccountFactory(team=world_a.team, platform="telegram", handle="tg_channel", kind="reference")
    assert [a["handle"] for a in mod_api.get("/api/accounts/?platform=telegram").json()["results"]] == [
        "tg_channel"
    ]
    assert mod_api.get("/api/accounts/?kind=reference").json()["count"] == 1
    assert mod_api.get(f"/api/accounts/?team={world_a.team.pk}").json()["count"] == 3
    assert mod_api.get(f"/api/accounts/?case={world_a.case.pk}").json()["count"] == 2
    assert mod_api.get("/api/accounts/?handle=@TG_Channel").json()["count"] == 1
    handles = [
        a["handle_normalized"]
        for a in mod_api.get("/api/accounts/?ordering=-handle_normalized").json()["results"]
    ]
    assert handles == sorted(handles, reverse=True)


def test_account_items_carry_id_platform_and_handle(world_a, mod_api):
    item = mod_api.get("/api/accounts/").json()["results"][0]
    assert {"id", "platform", "handle"} <= set(item)


def test_pagination_has_drf_shape_and_links(world_a, mod_api):
    for i in range(5):
        AccountFactory(team=world_a.team, handle=f"page{i}")
    first = mod_api.get("/api/accounts/?page_size=3").json()
    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 7 and len(first["results"]) == 3 and first["previous"] is None
    second = mod_api.get(first["next"]).json()
    assert len(second["results"]) == 3 and second["previous"]
    last = mod_api.get("/api/accounts/?page_size=3&page=last").json()
    assert len(last["results"]) == 1 and last["next"] is None


# --- posts and brands ----------------------------------------------------------------------------


def test_create_a_post_that_copies_another(world_a, mod_api):
    source = Post.objects.create(account=world_a.account, text="Original words", external_id="src")
    response = mod_api.post(
        "/api/posts/",
        {
            "account": world_a.account.pk,
            "text": "Original words",
            "external_id": "copy-1",
            "is_repost": True,
            "links": ["hxxps://bild[.]pics/a"],
            "copied_from": source.pk,
            "copy_similarity": 0.98,
            "posted_at": "2023-05-01T10:00:00+02:00",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["links"] == ["https://bild.pics/a"] and body["copied_from"] == source.pk
    assert body["posted_at"] == "2023-05-01T08:00:00Z"
    assert mod_api.get(f"/api/posts/?account={world_a.account.pk}&is_repost=true").json()["count"] == 1
    assert (
        mod_api.get(
            "/api/posts/?posted_after=2023-05-01T07:00:00Z&posted_before=2023-05-02T00:00:00Z"
        ).json()["count"]
        == 1
    )
    duplicate = mod_api.post(
        "/api/posts/", {"account": world_a.account.pk, "external_id": "copy-1"}, format="json"
    )
    assert duplicate.status_code == 409


def test_a_post_cannot_copy_another_teams_post(world_a, world_b, mod_api):
    response = mod_api.post(
        "/api/posts/",
        {"account": world_a.account.pk, "text": "x", "copied_from": world_b.post.pk},
        format="json",
    )
    assert response.status_code == 400 and "copied_from" in error_of(response)["fields"]


def test_create_a_media_brand_with_domains_and_accounts(world_a, mod_api):
    response = mod_api.post(
        "/api/media-brands/",
        {
            "team": world_a.team.pk,
            "name": "Daily Mail (fake)",
            "impersonates": "Daily Mail",
            "domains": ["dailymail[.]top", "DAILYMAIL.cfd"],
            "accounts": [{"account": world_a.account.pk, "role": "runs"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [d["domain"] for d in body["domains"]] == ["dailymail.cfd", "dailymail.top"]
    assert body["domains"][1]["defanged"] == "dailymail[.]top"
    assert body["accounts"] == [{"account": world_a.account.pk, "role": "runs"}]
    assert mod_api.get("/api/media-brands/?domain=dailymail[.]top").json()["count"] == 1
    assert mod_api.get("/api/media-brands/?search=dailymail").json()["count"] == 1
    bad = mod_api.post(
        "/api/media-brands/",
        {"team": world_a.team.pk, "name": "X", "domains": ["not a domain"]},
        format="json",
    )
    assert bad.status_code == 400 and "domains" in error_of(bad)["fields"]


# --- cases and their accounts --------------------------------------------------------------------


def test_open_a_case_with_a_lead(world_a, mod_api, lead):
    response = mod_api.post(
        "/api/cases/",
        {"team": world_a.team.pk, "title": "Doppelganger", "priority": 3, "lead": lead.pk},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["lead"]["username"] == "lead-a" and body["priority"] == 3 and body["status"] == "open"
    assert body["created_by"]["username"] == "mod-a"


def test_server_owned_case_fields_are_ignored(world_a, mod_api):
    response = mod_api.post(
        "/api/cases/",
        {
            "team": world_a.team.pk,
            "title": "T",
            "status": "closed",
            "account_count": 999,
            "evidence_count": 999,
            "created_by": 1,
            "updated_at": "2001-01-01T00:00:00Z",
        },
        format="json",
    )
    body = response.json()
    assert body["status"] == CaseStatus.OPEN and body["account_count"] == 0 and body["evidence_count"] == 0
    assert body["created_by"]["username"] == "mod-a" and not body["updated_at"].startswith("2001")


def test_a_lead_from_another_team_is_refused(world_a, world_b, mod_api, outsider):
    response = mod_api.post(
        "/api/cases/", {"team": world_a.team.pk, "title": "T", "lead": outsider.pk}, format="json"
    )
    assert response.status_code == 400 and "lead" in error_of(response)["fields"]


def test_cases_are_filtered_and_searched(world_a, mod_api, lead):
    CaseFactory(team=world_a.team, title="Closed thing", status=CaseStatus.CLOSED, priority=4)
    assert [c["title"] for c in mod_api.get("/api/cases/?status=closed").json()["results"]] == [
        "Closed thing"
    ]
    assert mod_api.get("/api/cases/?priority=4").json()["count"] == 1
    assert mod_api.get(f"/api/cases/?lead={lead.pk}").json()["count"] == 1
    assert mod_api.get("/api/cases/?search=network").json()["count"] == 1
    titles = [c["title"] for c in mod_api.get("/api/cases/?ordering=title").json()["results"]]
    assert titles == sorted(titles)


def test_add_and_remove_an_account_on_a_case(world_a, mod_api):
    newcomer = AccountFactory(team=world_a.team, handle="newcomer")
    url = f"/api/cases/{world_a.case.pk}/accounts/"
    added = mod_api.post(
        url, {"account": newcomer.pk, "reason": "same avatar", "added_by": 999}, format="json"
    )
    assert added.status_code == 201, added.json()
    assert added.json()["account"]["handle"] == "newcomer" and added.json()["added_by"]["username"] == "mod-a"
    assert mod_api.post(url, {"account": newcomer.pk}, format="json").status_code == 409
    assert mod_api.get(url).json()["count"] == 3
    assert mod_api.get(url + "?search=newcomer").json()["count"] == 1
    assert mod_api.delete(f"{url}{newcomer.pk}/").status_code == 204
    assert not CaseAccount.objects.filter(case=world_a.case, account=newcomer).exists()
    assert mod_api.delete(f"{url}{newcomer.pk}/").status_code == 404
    world_a.case.refresh_from_db()
    assert world_a.case.account_count == 2


# --- actors, techniques, queues, jobs, suggestions, teams -----------------------------------------


def test_create_and_find_an_actor(world_a, mod_api):
    response = mod_api.post(
        "/api/actors/",
        {
            "team": world_a.team.pk,
            "name": "Spamouflage",
            "country": "China",
            "kind": "state",
            "aliases": ["Dragonbridge"],
        },
        format="json",
    )
    assert response.status_code == 201
    assert (
        response.json()["aliases"] == ["Dragonbridge"]
        and response.json()["created_by"]["username"] == "mod-a"
    )
    assert mod_api.get("/api/actors/?kind=state&country=china").json()["count"] == 1
    assert mod_api.get("/api/actors/?search=spamou").json()["count"] == 1
    assert (
        mod_api.post(
            "/api/actors/", {"team": world_a.team.pk, "name": "Spamouflage"}, format="json"
        ).status_code
        == 409
    )


def test_techniques_are_searchable_by_code_and_name_and_filtered_by_tactic(db, mod_api):
    by_code = mod_api.get("/api/techniques/?search=0.1.1").json()["results"]
    assert by_code[0]["procedure_code"] == "0.1.1"
    by_name = mod_api.get("/api/techniques/?search=proxy").json()["results"]
    assert any("proxy" in t["procedure"].lower() for t in by_name)
    tactic = mod_api.get("/api/techniques/?tactic=0&page_size=500").json()["results"]
    assert tactic and {t["tactic_code"] for t in tactic} == {"0"}


def test_queue_items_are_listed_and_filtered(world_a, mod_api):
    url = f"/api/queues/{world_a.queue.pk}/items/"
    items = mod_api.get(url).json()["results"]
    assert len(items) == 2 and {i["account"]["id"] for i in items} >= {world_a.account.pk}
    assert mod_api.get(url + "?is_done=true").json()["count"] == 0
    assert mod_api.get(f"{url}{world_a.item.pk}/").json()["queue"] == world_a.queue.pk
    queue = mod_api.get(f"/api/queues/{world_a.queue.pk}/").json()
    assert queue["item_count"] == 2 and queue["done_count"] == 0


def test_a_job_is_polled_for_progress_and_never_cached(world_a, mod_api):
    Job.objects.filter(pk=world_a.job.pk).update(status=JobStatus.RUNNING, progress=3, total=4)
    response = mod_api.get(f"/api/jobs/{world_a.job.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "running" and body["percent"] == 75 and body["is_finished"] is False
    assert "no-store" in response["Cache-Control"]
    assert mod_api.get("/api/jobs/?status=running").json()["count"] == 1
    assert mod_api.get(f"/api/jobs/?kind={JobKind.IMPORT_BUNDLE}").json()["count"] == 0


def test_suggestions_explain_themselves_and_filter_by_account(world_a, mod_api):
    results = mod_api.get(f"/api/suggestions/?account={world_a.account.pk}&min_score=0.5").json()["results"]
    assert len(results) == 1
    assert results[0]["signals"][0]["detail"] == "12 near-identical posts"
    assert mod_api.get("/api/suggestions/?min_score=0.95").json()["count"] == 0
    assert mod_api.get("/api/suggestions/?status=dismissed").json()["count"] == 0


def test_teams_show_the_callers_role(world_a, lead_api):
    (team,) = lead_api.get("/api/teams/").json()["results"]
    assert team["slug"] == "team-a" and team["role"] == "lead"


def test_audit_events_are_filtered_by_verb_and_time(world_a, lead_api):
    recent = lead_api.get("/api/audit-events/?verb=case.account_added").json()
    assert recent["count"] == 2
    later = (timezone.now() + datetime.timedelta(hours=1)).isoformat()
    assert lead_api.get("/api/audit-events/", {"after": later}).json()["count"] == 0
