"""Queue monitor over HTTP: numbers, chart, throughput, and the lead's controls (release stale
leases, priorities, reviewers) — 403 for moderators with no buttons, 404 for other teams."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from cases.lead_selectors import get_queue_monitor_for_user
from cases.models import Assignment, AssignmentState, AuditEvent, QueueItem, QueueReviewer
from cases.services.labels import submit_label
from cases.services.queues import claim_next_item
from tests.leads.conftest import html
from tests.support import page_queries


def monitor_url(queue) -> str:
    return reverse("frontend:lead-queue-monitor", args=[queue.pk])


def _work(queue, user, minutes: int, start):
    """Claim an item at ``start`` and label it ``minutes`` later: one completed lease."""
    with time_machine.travel(start, tick=False):
        lease = claim_next_item(queue=queue, user=user)
    with time_machine.travel(start + datetime.timedelta(minutes=minutes), tick=False):
        submit_label(
            case=lease.item.case,
            account=lease.item.account,
            annotator=user,
            verdict="inauthentic",
            assignment=lease,
        )
    return lease


def test_monitor_numbers_throughput_and_median(lead, lead_queue, moderator, team_a):
    from tests.factories import MembershipFactory, UserFactory

    fresh = MembershipFactory(team=team_a, user=UserFactory(username="mod-a3")).user
    now = timezone.now().replace(minute=30, second=0, microsecond=0)
    _work(lead_queue, fresh, 2, now - datetime.timedelta(hours=3))
    _work(lead_queue, fresh, 4, now - datetime.timedelta(hours=1))
    with time_machine.travel(now, tick=False):
        claim_next_item(queue=lead_queue, user=moderator)
        m = get_queue_monitor_for_user(user=lead, queue=lead_queue, period="24h", now=now)
    assert m.completed == 2
    assert m.median_seconds == 180
    [row] = m.reviewers
    assert (row.username, row.completed, row.active_hours, row.per_hour) == ("mod-a3", 2, 2, 1.0)
    assert row.median_seconds == 180
    assert m.stats.in_progress == 1
    assert len(m.bars) == 24 and sum(b.count for b in m.bars) == 2 and m.chart_max == 1


def test_monitor_page_for_a_lead_has_the_controls(lead_client, lead_queue):
    page = html(lead_client.get(monitor_url(lead_queue)))
    assert "Backlog" in page and "<svg" in page and "Release stale leases" in page
    assert reverse("frontend:lead-queue-reviewer-add", args=[lead_queue.pk]) in page
    assert reverse("frontend:lead-queue-priority", args=[lead_queue.pk]) in page
    for period in ("24h", "7d", "30d"):
        assert lead_client.get(monitor_url(lead_queue), {"period": period}).status_code == 200


def test_moderator_reads_the_monitor_without_controls_and_gets_403_on_actions(
    mod_client, lead_queue, moderator, moderator_2
):
    page = html(mod_client.get(monitor_url(lead_queue)))
    assert "Backlog" in page
    assert (
        "Release stale leases" not in page and 'name="reviewer"' not in page and 'name="priority"' not in page
    )
    lease = claim_next_item(queue=lead_queue, user=moderator_2)
    item = QueueItem.objects.filter(queue=lead_queue).first()
    before = AuditEvent.objects.count()
    for url, data in [
        (reverse("frontend:lead-queue-release-stale", args=[lead_queue.pk]), {}),
        (reverse("frontend:lead-queue-release-lease", args=[lead_queue.pk, lease.pk]), {}),
        (reverse("frontend:lead-queue-priority", args=[lead_queue.pk]), {"priority": 5}),
        (reverse("frontend:lead-queue-priority", args=[lead_queue.pk]), {"priority": 5, "item": item.pk}),
        (reverse("frontend:lead-queue-reviewer-add", args=[lead_queue.pk]), {"reviewer": moderator.pk}),
        (reverse("frontend:lead-queue-reviewer-remove", args=[lead_queue.pk, moderator.pk]), {}),
    ]:
        assert mod_client.post(url, data).status_code == 403, url
    assert AuditEvent.objects.count() == before


def test_outsider_gets_404_for_every_monitor_page_and_action(
    outsider_client, outsider_lead_client, lead_queue, moderator, team_a
):
    lease = claim_next_item(queue=lead_queue, user=moderator)
    for client in (outsider_client, outsider_lead_client):
        assert client.get(monitor_url(lead_queue)).status_code == 404
        assert client.get(reverse("frontend:lead-queues", args=[team_a.slug])).status_code == 404
        for url in [
            reverse("frontend:lead-queue-release-stale", args=[lead_queue.pk]),
            reverse("frontend:lead-queue-release-lease", args=[lead_queue.pk, lease.pk]),
            reverse("frontend:lead-queue-priority", args=[lead_queue.pk]),
            reverse("frontend:lead-queue-reviewer-add", args=[lead_queue.pk]),
            reverse("frontend:lead-queue-reviewer-remove", args=[lead_queue.pk, moderator.pk]),
        ]:
            assert client.post(url, {"priority": 1, "reviewer": moderator.pk}).status_code == 404, url


def test_lead_releases_a_stale_lease_from_the_page(lead_client, lead_queue, moderator):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        claim_next_item(queue=lead_queue, user=moderator)
    with time_machine.travel(start + datetime.timedelta(hours=2), tick=False):
        page = html(lead_client.get(monitor_url(lead_queue)))
        assert 'data-stat="stale">1<' in page
        response = lead_client.post(
            reverse("frontend:lead-queue-release-stale", args=[lead_queue.pk]), follow=True
        )
        assert "Released 1 stale lease." in html(response)
        assert 'data-stat="stale">0<' in html(response)
    assert Assignment.objects.get().state == AssignmentState.EXPIRED


def test_lead_changes_priorities_and_reviewers_from_the_page(lead_client, lead_queue, moderator):
    item = QueueItem.objects.filter(queue=lead_queue).first()
    lead_client.post(
        reverse("frontend:lead-queue-priority", args=[lead_queue.pk]), {"priority": 9, "item": item.pk}
    )
    item.refresh_from_db()
    assert item.priority == 9
    lead_client.post(reverse("frontend:lead-queue-priority", args=[lead_queue.pk]), {"priority": 3})
    assert set(
        QueueItem.objects.filter(queue=lead_queue, is_done=False).values_list("priority", flat=True)
    ) == {3}
    response = lead_client.post(
        reverse("frontend:lead-queue-priority", args=[lead_queue.pk]), {"priority": "high"}, follow=True
    )
    assert "Priority must be a whole number" in html(response)
    lead_client.post(
        reverse("frontend:lead-queue-reviewer-add", args=[lead_queue.pk]), {"reviewer": moderator.pk}
    )
    assert QueueReviewer.objects.filter(queue=lead_queue, user=moderator).exists()
    lead_client.post(reverse("frontend:lead-queue-reviewer-remove", args=[lead_queue.pk, moderator.pk]))
    assert not QueueReviewer.objects.exists()


def test_another_teams_item_or_lease_in_a_monitor_action_is_404(
    lead_client, lead_queue, case_b, outsider, team_b
):
    from cases.services.queues import create_queue_from_case
    from tests.factories import MembershipFactory, UserFactory

    lead_b = MembershipFactory(team=team_b, role="lead", user=UserFactory(username="lead-b2")).user
    queue_b = create_queue_from_case(case=case_b, name="B queue", created_by=lead_b)
    lease_b = claim_next_item(queue=queue_b, user=outsider)
    item_b = QueueItem.objects.get(queue=queue_b)
    assert (
        lead_client.post(
            reverse("frontend:lead-queue-priority", args=[lead_queue.pk]), {"priority": 1, "item": item_b.pk}
        ).status_code
        == 404
    )
    assert (
        lead_client.post(
            reverse("frontend:lead-queue-release-lease", args=[lead_queue.pk, lease_b.pk])
        ).status_code
        == 404
    )
    item_b.refresh_from_db()
    lease_b.refresh_from_db()
    assert item_b.priority == case_b.priority  # unchanged
    assert lease_b.state == AssignmentState.ACTIVE


@pytest.fixture
def many_queues(lead_case, lead):
    from cases.services.queues import create_queue_from_case

    def make(n, start=0):
        for i in range(start, start + n):
            create_queue_from_case(case=lead_case, name=f"Queue {i}", created_by=lead)

    return make


def test_queue_list_and_monitor_query_counts_do_not_grow(
    lead_client, lead_queue, many_queues, team_a, moderator
):
    def count(url):
        return page_queries(lead_client, url)

    many_queues(3)
    few = count(reverse("frontend:lead-queues", args=[team_a.slug]))
    few_monitor = count(monitor_url(lead_queue))
    many_queues(27, start=3)
    claim_next_item(queue=lead_queue, user=moderator)
    assert count(reverse("frontend:lead-queues", args=[team_a.slug])) == few
    assert count(monitor_url(lead_queue)) == few_monitor


def test_a_member_off_the_reviewer_list_is_told_so_on_claim(
    lead_queue, lead, moderator, moderator_2, mod_client
):
    from cases.services import lead_cases

    lead_cases.add_queue_reviewer(queue=lead_queue, reviewer=moderator_2, added_by=lead)
    response = mod_client.post(reverse("frontend:work-claim", args=[lead_queue.pk]), follow=True)
    assert "You are not on this queue&#x27;s reviewer list" in html(response)
    assert not Assignment.objects.filter(user=moderator).exists()
