"""Possible re-creations: an account the team first sees after a case removed (or found
inauthentic) an account it strongly resembles is flagged on that case, once, as a
``similarity.possible_recreation`` event."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from cases.models import AttributionDecision, AuditEvent, Confidence, Label, Post, Verdict
from cases.services.cases import add_account_to_case
from cases.services.similarity import (
    RECREATION_THRESHOLD,
    create_similarity_sweep_job,
    refresh_similar_for_account,
)
from cases.similarity_selectors import list_possible_recreations
from cases.tasks import similarity_sweep_task
from tests.factories import AccountFactory, ActorFactory, CaseFactory, UserFactory
from tests.similarity.conftest import copy_network, organic, plant_network

pytestmark = pytest.mark.django_db

VERB = "similarity.possible_recreation"
START = timezone.now().replace(microsecond=0) + dt.timedelta(days=1)


def at(minutes: int):
    """Before and after a decision is a matter of time: tests set the clock."""
    return time_machine.travel(START + dt.timedelta(minutes=minutes), tick=False)


def sweep(team, user=None):
    job = create_similarity_sweep_job(team=team, created_by=user)
    similarity_sweep_task(job.pk)
    job.refresh_from_db()
    return job


def decide(team, accounts, lead, title="Removed network"):
    case = CaseFactory(team=team, title=title)
    for account in accounts:
        add_account_to_case(case=case, account=account, added_by=lead)
    AttributionDecision.objects.create(
        case=case,
        actor=ActorFactory(team=team),
        confidence=Confidence.HIGH,
        rationale="Same operator",
        decided_by=lead,
        decided_at=timezone.now(),
    )
    return case


def label(case, account, *verdicts):
    for verdict in verdicts:
        Label.objects.create(case=case, account=account, annotator=UserFactory(), verdict=verdict)


def test_a_copy_of_a_removed_network_is_flagged_on_its_case(team_a, lead, moderator):
    with at(0):
        removed = plant_network(team_a, 3, prefix="gone")
        organic(team_a, 15)
    with at(60):
        case = decide(team_a, removed, lead)
    with at(120):
        back = copy_network(team_a, removed[:1], prefix="back")[0]
    with at(180):
        job = sweep(team_a, moderator)

    events = AuditEvent.objects.filter(verb=VERB)
    assert [(e.target_id, e.data["account"]) for e in events] == [(str(case.pk), back.pk)]
    event = events.get()
    assert event.user == moderator and event.data["job"] == job.pk
    assert event.data["similar_to"] in {a.pk for a in removed}
    assert event.data["score"] >= RECREATION_THRESHOLD
    assert event.data["handle"] == back.handle and event.data["signals"]
    assert job.result["recreation_flags"] == 1
    (flag,) = list_possible_recreations(team=team_a)
    assert (flag.case, flag.account) == (case, back)


def test_members_the_team_already_had_are_not_re_creations(team_a, lead):
    with at(0):
        network = plant_network(team_a, 5, prefix="net")
    with at(60):
        decide(team_a, network[:2], lead)  # three members were missed, not re-created
    with at(120):
        sweep(team_a)
    assert not AuditEvent.objects.filter(verb=VERB).exists()


def test_a_flag_is_recorded_once_however_often_it_is_found(team_a, lead):
    with at(0):
        removed = plant_network(team_a, 3, prefix="gone")
    with at(60):
        decide(team_a, removed, lead)
    with at(120):
        copy_network(team_a, removed[:1], prefix="back")
    with at(180):
        sweep(team_a)
    with at(240):
        sweep(team_a)
    assert AuditEvent.objects.filter(verb=VERB).count() == 1


def test_a_majority_inauthentic_label_marks_an_account_and_a_tie_does_not(team_a, lead):
    with at(0):
        suspect = plant_network(team_a, 1, prefix="lab")[0]
        organic(team_a, 15)
        majority = CaseFactory(team=team_a, title="Majority")
        tie = CaseFactory(team=team_a, title="Tie")
        add_account_to_case(case=majority, account=suspect, added_by=lead)
        add_account_to_case(case=tie, account=suspect, added_by=lead)
    with at(60):
        label(majority, suspect, Verdict.INAUTHENTIC, Verdict.INAUTHENTIC, Verdict.UNSURE)
        label(tie, suspect, Verdict.INAUTHENTIC, Verdict.AUTHENTIC)
    with at(120):
        back = copy_network(team_a, [suspect], prefix="back")[0]
    with at(180):
        sweep(team_a)

    assert [(e.target_id, e.data["account"]) for e in AuditEvent.objects.filter(verb=VERB)] == [
        (str(majority.pk), back.pk)
    ]


def test_weak_matches_are_not_flagged(team_a, lead):
    with at(0):
        removed = plant_network(team_a, 3, prefix="gone")
        organic(team_a, 15)
    with at(60):
        decide(team_a, removed, lead)
    with at(120):
        # Shares one of their posts, nothing else: similar, but nowhere near a re-creation.
        quoter = AccountFactory(team=team_a, handle="quoter")
        post = removed[0].posts.first()
        Post.objects.create(account=quoter, text=post.text, posted_at=post.posted_at)
    with at(180):
        sweep(team_a)
    assert not AuditEvent.objects.filter(verb=VERB).exists()


def test_the_top_k_refresh_flags_a_new_account_too(team_a, lead):
    with at(0):
        removed = plant_network(team_a, 3, prefix="gone")
    with at(60):
        case = decide(team_a, removed, lead)
    with at(120):
        back = copy_network(team_a, removed[:1], prefix="back")[0]
    with at(180):
        refresh_similar_for_account(account=back)

    event = AuditEvent.objects.get(verb=VERB)
    assert (event.target_id, event.data["account"], event.user) == (str(case.pk), back.pk, None)


def test_a_flag_shows_on_the_networks_page(team_a, lead, moderator, client):
    with at(0):
        removed = plant_network(team_a, 3, prefix="gone")
    with at(60):
        decide(team_a, removed, lead, title="Takedown of March")
    with at(120):
        back = copy_network(team_a, removed[:1], prefix="back")[0]
    with at(180):
        sweep(team_a)
    client.force_login(moderator)
    html = client.get(f"/teams/{team_a.slug}/networks/").content.decode()
    assert "Possible re-creations" in html and f"@{back.handle}" in html and "Takedown of March" in html
