"""The review workflow over HTTP: leases, labels, votes, decisions, case actions, suggestions and
the leads' queue controls. Who may reach what (outsiders' 404s, moderators' 403s on lead-only
actions) is in test_access.py; here: what each endpoint does, its blind rules, fencing, the
domain's refusals, server-owned fields, query counts, and claims under concurrency."""

import datetime
import threading

import pytest
from django.db import connection

from cases.models import (
    AccountKind,
    Assignment,
    AssignmentState,
    AttributionDecision,
    AttributionVote,
    AuditEvent,
    CaseAccount,
    CaseStatus,
    Label,
    QueueItem,
    Role,
    SimilaritySuggestion,
    SuggestionStatus,
    Technique,
)
from cases.services.cases import add_account_to_case
from cases.services.decisions import decide_attribution, reopen_case
from cases.services.evidence import record_evidence, retract_evidence
from cases.services.labels import submit_label
from cases.services.queues import claim_next_item, create_queue_from_case
from cases.services.votes import cast_vote
from tests.api.conftest import count_queries, error_of, token_client
from tests.factories import AccountFactory, ActorFactory, CaseFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

START = datetime.datetime(2024, 3, 1, 9, 0, tzinfo=datetime.UTC)


def member(team, role=Role.MODERATOR, username=None):
    kwargs = {"username": username} if username else {}
    return MembershipFactory(team=team, role=role, user=UserFactory(**kwargs)).user


def suspect_case(team, lead, accounts=3, **kwargs):
    case = CaseFactory(team=team, lead=lead, **kwargs)
    for _ in range(accounts):
        account = AccountFactory(team=team, kind=AccountKind.SUSPECT)
        add_account_to_case(case=case, account=account, added_by=lead)
    return case


def codes(n=2):
    return list(Technique.objects.order_by("order").values_list("procedure_code", flat=True)[:n])


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


@pytest.fixture
def case(team_a, lead):
    return suspect_case(team_a, lead, accounts=3)


@pytest.fixture
def queue(case, lead):
    return create_queue_from_case(case=case, name="Triage", created_by=lead, lease_minutes=30)


@pytest.fixture
def actor(team_a):
    return ActorFactory(team=team_a, name="Spamouflage")


def _claim(client, queue):
    return client.post(f"/api/queues/{queue.pk}/claim/")


# --- claiming and leases ----------------------------------------------------------------------------


def test_claim_leases_the_next_item_and_asking_again_returns_the_same_lease(queue, moderator, mod_api, clock):
    first = _claim(mod_api, queue)
    assert first.status_code == 201, first.json()
    body = first.json()
    top = QueueItem.objects.filter(queue=queue).order_by("-priority", "id").first()
    assert body["item"] == top.pk and body["queue"] == queue.pk and body["case"] == queue.case_id
    assert body["account"]["id"] == top.account_id and body["account"]["handle"]
    assert body["user"]["username"] == "mod-a"
    assert (body["state"], body["is_live"]) == ("active", True)
    assert body["expires_at"] == "2024-03-01T09:30:00Z"
    again = _claim(mod_api, queue)
    assert again.status_code == 201 and again.json()["id"] == body["id"]
    assert Assignment.objects.filter(user=moderator).count() == 1


def test_claim_answers_204_when_nothing_is_left_for_you(team_a, lead, mod_api, moderator):
    case = suspect_case(team_a, lead, accounts=1)
    queue = create_queue_from_case(case=case, name="Solo", created_by=lead)
    claim_next_item(queue=queue, user=lead)  # the one item is held by someone else
    response = _claim(mod_api, queue)
    assert response.status_code == 204 and response.content == b""
    assert not Assignment.objects.filter(user=moderator).exists()


def test_a_paused_queue_hands_out_nothing_until_a_lead_resumes_it(queue, lead_api, mod_api):
    paused = lead_api.post(f"/api/queues/{queue.pk}/pause/")
    assert paused.status_code == 200 and paused.json()["is_active"] is False
    refused = _claim(mod_api, queue)
    assert refused.status_code == 409
    assert error_of(refused)["code"] == "conflict" and "paused" in error_of(refused)["message"]
    resumed = lead_api.post(f"/api/queues/{queue.pk}/resume/")
    assert resumed.status_code == 200 and resumed.json()["is_active"] is True
    assert resumed.json()["item_count"] == 3
    assert _claim(mod_api, queue).status_code == 201


def test_a_lead_reorders_items_and_the_highest_priority_is_claimed_first(queue, lead_api, mod_api):
    last = QueueItem.objects.filter(queue=queue).order_by("-id").first()
    url = f"/api/queues/{queue.pk}/items/{last.pk}/priority/"
    response = lead_api.post(url, {"priority": 99}, format="json")
    assert response.status_code == 200 and response.json()["priority"] == 99
    assert lead_api.post(url, {"priority": 40000}, format="json").status_code == 400
    assert lead_api.post(url, {"priority": "9"}, format="json").status_code == 400
    assert _claim(mod_api, queue).json()["item"] == last.pk


def test_a_lead_marks_lapsed_leases_expired(queue, lead, lead_api, moderator, clock):
    claim_next_item(queue=queue, user=moderator)
    assert lead_api.post(f"/api/queues/{queue.pk}/release-expired/").json() == {"expired": 0}
    clock.shift(datetime.timedelta(minutes=31))
    stats = lead_api.get(f"/api/queues/{queue.pk}/stats/").json()
    assert (stats["in_progress"], stats["expired_leases"]) == (0, 1)
    assert lead_api.post(f"/api/queues/{queue.pk}/release-expired/").json() == {"expired": 1}
    assert Assignment.objects.get(user=moderator).state == AssignmentState.EXPIRED


def test_queue_stats_count_items_leases_and_labels(queue, moderator, mod_api, lead):
    lease = claim_next_item(queue=queue, user=moderator)
    item = lease.item
    submit_label(
        case=item.case, account=item.account, annotator=moderator, verdict="authentic", assignment=lease
    )
    claim_next_item(queue=queue, user=lead)
    response = mod_api.get(f"/api/queues/{queue.pk}/stats/")
    assert response.status_code == 200
    assert response.json() == {
        "items": 3,
        "done": 1,
        "backlog": 2,
        "in_progress": 1,
        "expired_leases": 0,
        "skipped": 0,
        "labels": 1,
        "labels_per_item": 1,
        "labels_needed": 2,
    }


def test_assignments_list_your_leases_and_leads_see_the_whole_team(queue, moderator, lead, clock):
    other = member(queue.team, username="mod-other")
    mine = claim_next_item(queue=queue, user=moderator)
    theirs = claim_next_item(queue=queue, user=other)
    mod_api, lead_api = token_client(moderator), token_client(lead)

    listed = mod_api.get("/api/assignments/").json()["results"]
    assert [row["id"] for row in listed] == [mine.pk]
    assert mod_api.get(f"/api/assignments/{theirs.pk}/").status_code == 404
    assert {row["id"] for row in lead_api.get("/api/assignments/").json()["results"]} == {mine.pk, theirs.pk}
    assert lead_api.get("/api/assignments/", {"mine": "true"}).json()["results"] == []
    assert lead_api.get("/api/assignments/", {"user": other.pk}).json()["results"][0]["id"] == theirs.pk

    clock.shift(datetime.timedelta(minutes=31))
    lapsed = mod_api.get("/api/assignments/", {"is_live": "false"}).json()["results"]
    assert [(row["id"], row["state"], row["is_live"]) for row in lapsed] == [(mine.pk, "active", False)]
    assert mod_api.get("/api/assignments/", {"is_live": "true"}).json()["count"] == 0
    assert mod_api.get("/api/assignments/", {"state": "bogus"}).status_code == 400


def test_the_holder_or_a_lead_releases_a_lease_and_the_item_returns(queue, moderator, mod_api, lead_api):
    lease = claim_next_item(queue=queue, user=moderator)
    released = mod_api.post(f"/api/assignments/{lease.pk}/release/")
    assert released.status_code == 200
    assert (released.json()["state"], released.json()["is_live"]) == ("released", False)
    again = mod_api.post(f"/api/assignments/{lease.pk}/release/")
    assert again.status_code == 409 and "ended" in error_of(again)["message"]

    second = claim_next_item(queue=queue, user=moderator)
    assert second.item_id == lease.item_id  # back in the queue
    assert lead_api.post(f"/api/assignments/{second.pk}/release/").json()["state"] == "released"


def test_skip_needs_a_reason_and_the_item_never_comes_back_to_you(queue, moderator, mod_api):
    lease = claim_next_item(queue=queue, user=moderator)
    url = f"/api/assignments/{lease.pk}/skip/"
    for body in ({}, {"reason": "   "}):
        response = mod_api.post(url, body, format="json")
        assert response.status_code == 400 and "reason" in error_of(response)["fields"]
    skipped = mod_api.post(url, {"reason": "I know the person behind it"}, format="json")
    assert skipped.status_code == 200
    assert (skipped.json()["state"], skipped.json()["skip_reason"]) == (
        "skipped",
        "I know the person behind it",
    )
    offered = {_claim(mod_api, queue).json()["item"]}
    assert lease.item_id not in offered


def test_only_the_holder_skips_or_completes(queue, moderator, lead_api):
    lease = claim_next_item(queue=queue, user=moderator)
    for action, body in (("skip", {"reason": "mine now"}), ("complete", {"verdict": "authentic"})):
        response = lead_api.post(f"/api/assignments/{lease.pk}/{action}/", body, format="json")
        assert response.status_code == 403, action
        assert error_of(response)["code"] == "forbidden"
    assert Assignment.objects.get(pk=lease.pk).state == AssignmentState.ACTIVE
    assert not Label.objects.exists()


def test_complete_with_a_verdict_labels_the_account_and_finishes_the_item(queue, moderator, mod_api, case):
    lease = claim_next_item(queue=queue, user=moderator)
    response = mod_api.post(
        f"/api/assignments/{lease.pk}/complete/",
        {"verdict": "inauthentic", "techniques": codes(2), "note": "Stock photo", "seconds_spent": 40},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "completed" and response.json()["completed_at"] is not None
    label = Label.objects.get(annotator=moderator)
    assert (label.account_id, label.verdict, label.note, label.seconds_spent) == (
        lease.item.account_id,
        "inauthentic",
        "Stock photo",
        40,
    )
    assert sorted(label.techniques.values_list("procedure_code", flat=True)) == sorted(codes(2))
    item = QueueItem.objects.get(pk=lease.item_id)
    assert (item.label_count, item.is_done) == (1, True)
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW


def test_complete_without_a_verdict_uses_the_label_already_given(queue, moderator, mod_api):
    lease = claim_next_item(queue=queue, user=moderator)
    url = f"/api/assignments/{lease.pk}/complete/"
    refused = mod_api.post(url, {}, format="json")
    assert refused.status_code == 409 and "Label the account" in error_of(refused)["message"]
    partial = mod_api.post(url, {"note": "no verdict"}, format="json")
    assert partial.status_code == 400 and "verdict" in error_of(partial)["fields"]

    labelled = mod_api.put(
        f"/api/cases/{queue.case_id}/labels/{lease.item.account_id}/", {"verdict": "unsure"}, format="json"
    )
    assert labelled.status_code == 201
    done = mod_api.post(url, {}, format="json")
    assert done.status_code == 200 and done.json()["state"] == "completed"
    assert QueueItem.objects.get(pk=lease.item_id).label_count == 1


def test_an_expired_lease_cannot_be_completed_and_nothing_is_saved(queue, moderator, mod_api, lead, clock):
    lease = claim_next_item(queue=queue, user=moderator)
    clock.shift(datetime.timedelta(minutes=30))  # at expires_at the lease is over
    response = mod_api.post(f"/api/assignments/{lease.pk}/complete/", {"verdict": "authentic"}, format="json")
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "conflict" and "expired" in error["message"]
    assert not Label.objects.exists()
    assert QueueItem.objects.get(pk=lease.item_id).label_count == 0

    # The item went to the next reviewer; the old holder cannot complete over them.
    taken = claim_next_item(queue=queue, user=lead)
    assert taken.item_id == lease.item_id
    assert mod_api.post(f"/api/assignments/{lease.pk}/complete/", {}, format="json").status_code == 409
    assert Assignment.objects.get(pk=taken.pk).state == AssignmentState.ACTIVE


def test_claim_and_complete_ignore_server_owned_fields(queue, moderator, mod_api, lead, clock):
    claimed = mod_api.post(
        f"/api/queues/{queue.pk}/claim/",
        {"user": lead.pk, "expires_at": "2030-01-01T00:00:00Z", "item": 999},
        format="json",
    )
    assert claimed.status_code == 201
    lease = Assignment.objects.get(pk=claimed.json()["id"])
    assert (lease.user, lease.expires_at) == (moderator, START + datetime.timedelta(minutes=30))

    done = mod_api.post(
        f"/api/assignments/{lease.pk}/complete/",
        {
            "verdict": "authentic",
            "annotator": lead.pk,
            "state": "skipped",
            "user": lead.pk,
            "completed_at": "2001-01-01T00:00:00Z",
            "label_count": 5,
        },
        format="json",
    )
    assert done.status_code == 200
    assert done.json()["state"] == "completed" and done.json()["completed_at"] == "2024-03-01T09:00:00Z"
    assert Label.objects.get().annotator == moderator
    assert QueueItem.objects.get(pk=lease.item_id).label_count == 1


# --- labels ----------------------------------------------------------------------------------------


def test_put_label_creates_then_changes_your_label(case, moderator, mod_api):
    account = case.case_accounts.first().account
    url = f"/api/cases/{case.pk}/labels/{account.pk}/"
    created = mod_api.put(
        url, {"verdict": "inauthentic", "techniques": codes(1), "seconds_spent": 30}, format="json"
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["case"], body["account"]["id"], body["annotator"]["username"]) == (
        case.pk,
        account.pk,
        "mod-a",
    )
    assert (body["verdict"], body["techniques"], body["seconds_spent"]) == ("inauthentic", codes(1), 30)

    changed = mod_api.put(
        url, {"verdict": "unsure", "note": "on reflection", "seconds_spent": 12}, format="json"
    )
    assert changed.status_code == 200
    body = changed.json()
    assert (body["id"], body["verdict"], body["techniques"], body["note"], body["seconds_spent"]) == (
        created.json()["id"],
        "unsure",
        [],
        "on reflection",
        42,
    )
    assert Label.objects.count() == 1
    case.refresh_from_db()
    assert (case.status, case.labeled_account_count) == (CaseStatus.IN_REVIEW, 1)


def test_a_label_needs_a_valid_body_and_an_account_on_the_case(case, team_a, mod_api):
    account = case.case_accounts.first().account
    url = f"/api/cases/{case.pk}/labels/{account.pk}/"
    for body, field in (
        ({}, "verdict"),
        ({"verdict": "fake"}, "verdict"),
        ({"verdict": "authentic", "techniques": ["9.9.9.9"]}, "techniques.0"),
        ({"verdict": "authentic", "techniques": "1.1.1"}, "techniques"),
        ({"verdict": "authentic", "techniques": ["1.1\x00"]}, "techniques.0"),
        ({"verdict": "authentic", "seconds_spent": -1}, "seconds_spent"),
        ({"verdict": "authentic", "seconds_spent": 10**9}, "seconds_spent"),
    ):
        response = mod_api.put(url, body, format="json")
        assert response.status_code == 400, body
        assert field in error_of(response)["fields"], (body, error_of(response))
    off_case = AccountFactory(team=team_a)
    response = mod_api.put(
        f"/api/cases/{case.pk}/labels/{off_case.pk}/", {"verdict": "authentic"}, format="json"
    )
    assert response.status_code == 404
    assert not Label.objects.exists()


def test_label_ignores_server_owned_fields(case, team_a, team_b, moderator, lead, mod_api):
    account = case.case_accounts.first().account
    other_case = suspect_case(team_a, lead, accounts=1)
    response = mod_api.put(
        f"/api/cases/{case.pk}/labels/{account.pk}/",
        {
            "verdict": "authentic",
            "annotator": lead.pk,
            "case": other_case.pk,
            "account": other_case.case_accounts.first().account_id,
            "team": team_b.pk,
            "created_at": "2001-01-01T00:00:00Z",
            "id": 12345,
        },
        format="json",
    )
    assert response.status_code == 201
    label = Label.objects.get()
    assert (label.annotator, label.case, label.account) == (moderator, case, account)
    assert label.pk != 12345 and label.created_at.year != 2001


def test_labels_are_blind_until_you_label_the_account(case, team_a, moderator, lead):
    first, second, third = (link.account for link in case.case_accounts.order_by("pk"))
    other = member(team_a, username="mod-other")
    submit_label(case=case, account=first, annotator=other, verdict="inauthentic", note="their note")
    submit_label(case=case, account=second, annotator=other, verdict="authentic")
    mod_api = token_client(moderator)
    url = f"/api/cases/{case.pk}/labels/"

    assert mod_api.get(url).json()["count"] == 0  # nothing of theirs before you label
    assert mod_api.get(url, {"verdict": "inauthentic"}).json()["count"] == 0
    mod_api.put(f"{url}{third.pk}/", {"verdict": "unsure"}, format="json")
    assert [
        (row["account"]["id"], row["annotator"]["username"]) for row in mod_api.get(url).json()["results"]
    ] == [(third.pk, "mod-a")]
    mod_api.put(f"{url}{first.pk}/", {"verdict": "authentic"}, format="json")
    seen = {
        (row["account"]["id"], row["annotator"]["username"], row["verdict"])
        for row in mod_api.get(url).json()["results"]
    }
    assert seen == {
        (first.pk, "mod-other", "inauthentic"),
        (first.pk, "mod-a", "authentic"),
        (third.pk, "mod-a", "unsure"),
    }
    assert (second.pk, "mod-other", "authentic") not in seen

    # Leads see every label; everyone does once the case is settled.
    assert token_client(lead).get(url).json()["count"] == 4
    token_client(lead).post(f"/api/cases/{case.pk}/close/", {"reason": "done"}, format="json")
    assert mod_api.get(url).json()["count"] == 4


def test_labels_change_only_while_the_case_is_under_review(case, lead_api, mod_api):
    account = case.case_accounts.first().account
    assert (
        lead_api.post(f"/api/cases/{case.pk}/close/", {"reason": "nothing there"}, format="json").status_code
        == 200
    )
    response = mod_api.put(
        f"/api/cases/{case.pk}/labels/{account.pk}/", {"verdict": "authentic"}, format="json"
    )
    assert response.status_code == 409 and "closed" in error_of(response)["message"]
    assert not Label.objects.exists()


# --- votes ------------------------------------------------------------------------------------------


def _vote(client, on_case, for_actor, **extra):
    body = {"actor": for_actor.pk, "confidence": "moderate", "rationale": "Office hours match"} | extra
    return client.put(f"/api/cases/{on_case.pk}/vote/", body, format="json")


def test_the_tally_is_hidden_until_you_vote(case, team_a, moderator, lead, actor):
    other_actor = ActorFactory(team=team_a, name="Doppelganger")
    other = member(team_a, username="mod-other")
    cast_vote(case=case, voter=other, actor=actor, confidence="high", rationale="copy-paste from 2019")
    mod_api = token_client(moderator)

    hidden = mod_api.get(f"/api/cases/{case.pk}/votes/").json()
    assert hidden == {
        "hidden": True,
        "vote_count": 1,
        "quorum": 3,
        "quorum_met": False,
        "my_vote": None,
        "actors": [],
        "votes": [],
        "decision": None,
        "by_confidence": {},
    }
    _vote(mod_api, case, other_actor, confidence="low")
    shown = mod_api.get(f"/api/cases/{case.pk}/votes/").json()
    assert (shown["hidden"], shown["vote_count"], shown["votes"]) == (False, 2, [])  # no rationales
    assert [(a["actor"]["name"], a["votes"], a["score"]) for a in shown["actors"]] == [
        ("Spamouflage", 1, 3),
        ("Doppelganger", 1, 1),
    ]
    assert shown["actors"][0]["share"] == 0.75 and shown["by_confidence"] == {"high": 1, "low": 1}
    assert (
        shown["my_vote"]["actor"]["id"] == other_actor.pk and shown["my_vote"]["voter"]["username"] == "mod-a"
    )

    # A lead sees every vote with its rationale without voting.
    lead_view = token_client(lead).get(f"/api/cases/{case.pk}/votes/").json()
    assert lead_view["hidden"] is False and lead_view["my_vote"] is None
    assert {(v["voter"]["username"], v["rationale"]) for v in lead_view["votes"]} == {
        ("mod-other", "copy-paste from 2019"),
        ("mod-a", "Office hours match"),
    }


def test_put_vote_casts_then_changes_your_one_vote(case, team_a, moderator, mod_api, actor):
    evidence = record_evidence(case=case, kind="note", captured_by=moderator, captured_text="09:00 Beijing")
    created = _vote(mod_api, case, actor, cited_evidence=[evidence.pk])
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["voter"]["username"], body["actor"]["name"], body["cited_evidence"]) == (
        "mod-a",
        "Spamouflage",
        [evidence.pk],
    )
    changed = _vote(mod_api, case, actor, confidence="high", cited_evidence=[])
    assert changed.status_code == 200
    assert (changed.json()["id"], changed.json()["confidence"], changed.json()["cited_evidence"]) == (
        body["id"],
        "high",
        [],
    )
    assert AttributionVote.objects.count() == 1
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW


def test_a_vote_cites_only_standing_evidence_of_its_case(case, team_a, moderator, lead, mod_api, actor):
    elsewhere = record_evidence(
        case=suspect_case(team_a, lead, accounts=0), kind="note", captured_by=moderator, captured_text="x"
    )
    withdrawn = record_evidence(case=case, kind="note", captured_by=moderator, captured_text="y")
    retract_evidence(evidence=withdrawn, retracted_by=lead, reason="wrong account")
    for cited in ([elsewhere.pk], [withdrawn.pk], [987654321], ["1"], list(range(1, 102))):
        response = _vote(mod_api, case, actor, cited_evidence=cited)
        assert response.status_code == 400, cited
        assert any(name.startswith("cited_evidence") for name in error_of(response)["fields"]), cited
    for body in ({"rationale": ""}, {"confidence": "certain"}, {"actor": None}):
        assert _vote(mod_api, case, actor, **body).status_code == 400, body
    assert not AttributionVote.objects.exists()


def test_vote_ignores_server_owned_fields(case, moderator, lead, mod_api, actor):
    response = _vote(mod_api, case, actor, voter=lead.pk, case=999, created_at="2001-01-01T00:00:00Z")
    assert response.status_code == 201
    vote = AttributionVote.objects.get()
    assert (vote.voter, vote.case) == (moderator, case)


# --- decisions and case actions -----------------------------------------------------------------


def _decide(client, on_case, for_actor, **extra):
    body = {"actor": for_actor.pk, "confidence": "high", "rationale": "Matches the 2019 takedown"} | extra
    return client.post(f"/api/cases/{on_case.pk}/decision/", body, format="json")


def test_a_decision_needs_the_quorum(case, team_a, lead_api, actor):
    for _ in range(2):
        cast_vote(case=case, voter=member(team_a), actor=actor, confidence="high", rationale="r")
    response = _decide(lead_api, case, actor)
    assert response.status_code == 409
    assert error_of(response)["message"] == "A decision needs 3 votes; the case has 2."
    assert not AttributionDecision.objects.exists()


def test_four_eyes_a_leads_own_vote_is_not_enough(case, team_a, lead, lead_api, actor):
    other_actor = ActorFactory(team=team_a, name="Doppelganger")
    _vote(lead_api, case, actor)
    for _ in range(2):
        cast_vote(case=case, voter=member(team_a), actor=other_actor, confidence="high", rationale="r")
    response = _decide(lead_api, case, actor)
    assert response.status_code == 409 and "Four eyes" in error_of(response)["message"]
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW


def test_a_lead_decides_and_reopens_and_the_history_keeps_both(case, team_a, lead, moderator, actor):
    for _ in range(3):
        cast_vote(case=case, voter=member(team_a), actor=actor, confidence="high", rationale="r")
    lead_api, mod_api = token_client(lead), token_client(moderator)

    decided = _decide(lead_api, case, actor, decided_by=moderator.pk, decided_at="2001-01-01T00:00:00Z")
    assert decided.status_code == 201, decided.json()
    body = decided.json()
    assert (body["actor"]["name"], body["decided_by"]["username"], body["is_standing"]) == (
        "Spamouflage",
        "lead-a",
        True,
    )
    assert not body["decided_at"].startswith("2001")
    assert mod_api.get(f"/api/cases/{case.pk}/").json()["status"] == "decided"
    again = _decide(lead_api, case, actor)
    assert again.status_code == 409 and "already decided" in error_of(again)["message"]
    # Settled: the moderator who never voted sees the tally now.
    tally = mod_api.get(f"/api/cases/{case.pk}/votes/").json()
    assert tally["hidden"] is False and tally["decision"]["id"] == body["id"]

    missing_reason = lead_api.post(f"/api/cases/{case.pk}/reopen/", {"reason": " "}, format="json")
    assert missing_reason.status_code == 400
    reopened = lead_api.post(f"/api/cases/{case.pk}/reopen/", {"reason": "New indicators"}, format="json")
    assert reopened.status_code == 200 and reopened.json()["status"] == "in_review"

    history = mod_api.get(f"/api/cases/{case.pk}/decisions/").json()
    assert [(d["id"], d["is_standing"], d["withdrawn_reason"]) for d in history["results"]] == [
        (body["id"], False, "New indicators")
    ]
    assert mod_api.get(f"/api/cases/{case.pk}/decisions/", {"is_standing": "true"}).json()["count"] == 0
    assert _decide(lead_api, case, actor).status_code == 201
    assert mod_api.get(f"/api/cases/{case.pk}/decisions/").json()["count"] == 2


def test_a_lead_closes_a_case_with_a_reason_and_status_is_never_written_directly(case, lead_api, mod_api):
    assert lead_api.post(f"/api/cases/{case.pk}/close/", {}, format="json").status_code == 400
    closed = lead_api.post(
        f"/api/cases/{case.pk}/close/", {"reason": "Not a network", "status": "open"}, format="json"
    )
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    twice = lead_api.post(f"/api/cases/{case.pk}/close/", {"reason": "again"}, format="json")
    assert twice.status_code == 409 and error_of(twice)["message"] == "The case is already closed."
    assert mod_api.patch(f"/api/cases/{case.pk}/", {"status": "open"}, format="json").status_code == 405
    event = AuditEvent.objects.filter(verb="case.closed").get()
    assert event.data["reason"] == "Not a network"


def test_reopening_a_case_under_review_is_a_conflict(case, lead_api):
    response = lead_api.post(f"/api/cases/{case.pk}/reopen/", {"reason": "why not"}, format="json")
    assert response.status_code == 409 and error_of(response)["code"] == "conflict"


def test_a_lead_assigns_the_case_lead_among_the_team(case, team_a, team_b, moderator, lead_api, outsider):
    url = f"/api/cases/{case.pk}/lead/"
    assigned = lead_api.post(url, {"lead": moderator.pk}, format="json")
    assert assigned.status_code == 200 and assigned.json()["lead"]["username"] == "mod-a"
    # A teammate from another of your teams is not a member of this case's team.
    MembershipFactory(team=team_b, user=case.lead, role=Role.MODERATOR)
    refused = lead_api.post(url, {"lead": outsider.pk}, format="json")
    assert refused.status_code == 400 and "lead" in error_of(refused)["fields"]
    assert lead_api.post(url, {}, format="json").status_code == 400
    unassigned = lead_api.post(url, {"lead": None}, format="json")
    assert unassigned.status_code == 200 and unassigned.json()["lead"] is None


def test_any_member_sets_the_case_priority(case, mod_api):
    url = f"/api/cases/{case.pk}/priority/"
    response = mod_api.post(url, {"priority": 4}, format="json")
    assert response.status_code == 200 and response.json()["priority"] == 4
    for bad in (0, 5, "4", True, None):
        assert mod_api.post(url, {"priority": bad}, format="json").status_code == 400, bad
    case.refresh_from_db()
    assert case.priority == 4


# --- suggestions --------------------------------------------------------------------------------


@pytest.fixture
def suggestion(case, team_a):
    anchor = case.case_accounts.first().account
    newcomer = AccountFactory(team=team_a, handle="new-twin")
    a, b = sorted([anchor, newcomer], key=lambda x: x.pk)
    return SimilaritySuggestion.objects.create(
        team=team_a,
        account_a=a,
        account_b=b,
        score=0.91,
        signals=[{"signal": "copy_paste", "score": 0.9, "detail": "12 near-identical posts"}],
    )


def test_accepting_a_suggestion_puts_the_other_account_on_the_case(case, suggestion, moderator, mod_api):
    response = mod_api.post(f"/api/suggestions/{suggestion.pk}/accept/", {"case": case.pk}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (
        body["suggestion"]["status"] == "accepted"
        and body["suggestion"]["reviewed_by"]["username"] == "mod-a"
    )
    assert body["case_account"]["account"]["handle"] == "new-twin"
    assert body["case_account"]["suggestion"] == suggestion.pk
    assert "12 near-identical posts" in body["case_account"]["reason"]
    assert CaseAccount.objects.filter(case=case, account__handle="new-twin").exists()


def test_a_suggestion_is_accepted_only_on_a_case_one_of_its_accounts_is_on(suggestion, team_a, lead, mod_api):
    unrelated = suspect_case(team_a, lead, accounts=1)
    response = mod_api.post(
        f"/api/suggestions/{suggestion.pk}/accept/", {"case": unrelated.pk}, format="json"
    )
    assert response.status_code == 400
    assert SimilaritySuggestion.objects.get(pk=suggestion.pk).status == SuggestionStatus.NEW


def test_dismissing_a_suggestion_twice_is_a_conflict(suggestion, mod_api):
    url = f"/api/suggestions/{suggestion.pk}/dismiss/"
    dismissed = mod_api.post(url, {"reason": "Same newsroom, real people", "status": "new"}, format="json")
    assert dismissed.status_code == 200
    assert (dismissed.json()["status"], dismissed.json()["dismissed_score"]) == ("dismissed", 0.91)
    again = mod_api.post(url, {}, format="json")
    assert again.status_code == 409 and "already dismissed" in error_of(again)["message"]
    assert AuditEvent.objects.get(verb="suggestion.dismissed").data["reason"] == "Same newsroom, real people"


# --- query counts ----------------------------------------------------------------------------------


def _review_rows(team, case, queue, actor, lead, count):
    """``count`` reviewers, each holding a lease, having labelled two accounts and voted."""
    accounts = [link.account for link in case.case_accounts.all()]
    for _ in range(count):
        reviewer = member(team)
        claim_next_item(queue=queue, user=reviewer)
        for account in accounts[:2]:
            submit_label(
                case=case,
                account=account,
                annotator=reviewer,
                verdict="inauthentic",
                techniques=list(Technique.objects.order_by("order")[:2]),
            )
        cast_vote(case=case, voter=reviewer, actor=actor, confidence="high", rationale="r")
    for _ in range(count):
        decide_attribution(case=case, lead=lead, actor=actor, confidence="high", rationale="r")
        reopen_case(case=case, lead=lead, reason="again")


def test_review_lists_cost_the_same_for_3_rows_as_for_30(team_a, lead, moderator, actor):
    case = suspect_case(team_a, lead, accounts=3)
    queue = create_queue_from_case(case=case, name="Big", created_by=lead, labels_per_item=20)
    # The moderator reviewed too, so the blind views show them the others' labels and the tally.
    for link in case.case_accounts.all()[:2]:
        submit_label(case=case, account=link.account, annotator=moderator, verdict="unsure")
    cast_vote(case=case, voter=moderator, actor=actor, confidence="low", rationale="r")
    lead_api, mod_api = token_client(lead), token_client(moderator)
    for client in (lead_api, mod_api):
        client.get("/api/teams/")  # a token's first use writes last_used_at; later ones do not
    urls = [
        (lead_api, "/api/assignments/"),
        (lead_api, f"/api/cases/{case.pk}/labels/"),
        (mod_api, f"/api/cases/{case.pk}/labels/"),
        (lead_api, f"/api/cases/{case.pk}/votes/"),
        (mod_api, f"/api/cases/{case.pk}/votes/"),
        (lead_api, f"/api/cases/{case.pk}/decisions/"),
        (lead_api, f"/api/queues/{queue.pk}/stats/"),
    ]

    def costs():
        out = []
        for client, url in urls:
            assert client.get(url, {"page_size": 500}).status_code == 200, url
            out.append(count_queries(lambda client=client, url=url: client.get(url, {"page_size": 500})))
        return out

    _review_rows(team_a, case, queue, actor, lead, 3)
    small = costs()
    _review_rows(team_a, case, queue, actor, lead, 27)
    assert lead_api.get("/api/assignments/").json()["count"] == 30
    assert mod_api.get(f"/api/cases/{case.pk}/labels/", {"page_size": 500}).json()["count"] == 62
    assert len(lead_api.get(f"/api/cases/{case.pk}/votes/").json()["votes"]) == 31
    assert len(mod_api.get(f"/api/cases/{case.pk}/votes/").json()["actors"]) == 1
    assert lead_api.get(f"/api/cases/{case.pk}/decisions/").json()["count"] == 30
    assert costs() == small


# --- concurrency (PostgreSQL) --------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_claims_over_http_never_hand_out_one_item_twice(team_a, lead):
    case = suspect_case(team_a, lead, accounts=7)
    queue = create_queue_from_case(case=case, name="Rush", created_by=lead)
    clients = [token_client(member(team_a)) for _ in range(10)]
    barrier = threading.Barrier(len(clients))
    answers: list = [None] * len(clients)
    errors: list[BaseException] = []

    def claim(index: int) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            response = clients[index].post(f"/api/queues/{queue.pk}/claim/")
            answers[index] = (response.status_code, response.json() if response.content else None)
        except BaseException as exc:  # every failure is a finding
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a claim is stuck (deadlock?)"

    assert errors == []
    assert sorted(status for status, _ in answers) == [201] * 7 + [204] * 3
    items = [body["item"] for status, body in answers if status == 201]
    assert len(items) == len(set(items)) == 7  # every item once, none twice
    users = [body["user"]["id"] for status, body in answers if status == 201]
    assert len(set(users)) == 7
    assert Assignment.objects.filter(item__queue=queue).count() == 7
