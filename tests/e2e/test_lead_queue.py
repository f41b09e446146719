"""A lead's case queue and queue monitor in a real browser: filter the case queue, bulk-assign a
lead to selected cases, open the queue monitor and release a stale lease."""

import datetime
import shutil
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from cases.models import Assignment, AssignmentState, Case, Priority
from cases.services.labels import submit_label
from cases.services.queues import claim_next_item
from tests.factories import CaseFactory, MembershipFactory, UserFactory, raw_update
from tests.leads.conftest import actors, lead_case, lead_queue, moderator_2  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser]
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


@pytest.fixture
def scene(transactional_db, team_a, lead, moderator, lead_case, lead_queue):  # noqa: F811
    quiet = CaseFactory(team=team_a, title="Quiet fake-brand case", priority=Priority.LOW)
    third = CaseFactory(team=team_a, title="Hashtag flooding", priority=Priority.HIGH)
    # Two completed labels for the throughput chart, then a lease that lapsed an hour ago.
    worker = MembershipFactory(team=team_a, user=UserFactory(username="mod-a3")).user
    now = timezone.now()
    for minutes_ago, took in ((150, 3), (50, 2)):
        with time_machine.travel(now - datetime.timedelta(minutes=minutes_ago), tick=False):
            lease = claim_next_item(queue=lead_queue, user=worker)
        with time_machine.travel(now - datetime.timedelta(minutes=minutes_ago - took), tick=False):
            submit_label(
                case=lease.item.case,
                account=lease.item.account,
                annotator=worker,
                verdict="inauthentic",
                assignment=lease,
            )
    stale = claim_next_item(queue=lead_queue, user=moderator)
    raw_update(
        Assignment,
        stale.pk,
        claimed_at=now - datetime.timedelta(hours=2),
        expires_at=now - datetime.timedelta(hours=1),
    )
    return {"quiet": quiet, "third": third, "stale": stale, "case": lead_case, "queue": lead_queue}


def test_lead_filters_bulk_assigns_and_releases_a_stale_lease(
    page, live_server, log_in, screenshot, scene, lead, moderator
):
    case, queue = scene["case"], scene["queue"]
    log_in(lead)
    page.goto(f"{live_server.url}/leads/")
    expect(page.get_by_role("heading", name="Case queue")).to_be_visible()
    table = page.get_by_test_id("case-queue")
    expect(table.locator("tbody tr")).to_have_count(3)
    shot = screenshot("leads-queue", full_page=False)
    shutil.copy(shot, DOCS_IMG / "leads-queue.png")

    # Filter: only cases with reviewers in conflict.
    page.get_by_label("Conflicts").select_option("yes")
    page.get_by_role("button", name="Apply filters").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text(case.title)
    expect(table).to_contain_text("1 conflict")

    # Sort by priority, then clear the filter and bulk-assign the two other cases to a moderator.
    page.get_by_role("link", name="Clear").click()
    page.locator('th a[data-sort="priority"]').click()
    expect(page.locator("th[aria-sort]")).to_have_count(1)
    for case in (scene["quiet"], scene["third"]):
        page.locator(f'tr[data-case="{case.pk}"] input[name="case"]').check()
    expect(page.locator("[data-bulk-count]")).to_have_text("2 selected:")
    bulk = page.get_by_role("group", name="Bulk actions on the selected cases")
    bulk.get_by_label("Lead").select_option(str(moderator.pk))
    bulk.get_by_role("button", name="Assign lead").click()
    expect(page.get_by_role("status")).to_contain_text("Lead set to mod-a on 2 cases.")
    for case in (scene["quiet"], scene["third"]):
        expect(page.locator(f'tr[data-case="{case.pk}"] td[data-col="lead"]')).to_have_text("mod-a")
    assert set(Case.objects.filter(lead=moderator).values_list("pk", flat=True)) == {
        scene["quiet"].pk,
        scene["third"].pk,
    }

    # The queue monitor: a stale lease, released by the lead.
    page.get_by_role("link", name="Queue monitor").first.click()
    page.get_by_role("link", name=queue.name).click()
    expect(page.locator('[data-stat="stale"]')).to_have_text("1")
    expect(page.get_by_test_id("reviewer-throughput")).to_contain_text("mod-a3")
    expect(page.locator("svg .chart-bar")).to_have_count(24)
    shot = screenshot("leads-monitor", full_page=True)
    shutil.copy(shot, DOCS_IMG / "leads-monitor.png")
    page.get_by_role("button", name="Release stale leases (1)").click()
    expect(page.get_by_role("status")).to_contain_text("Released 1 stale lease.")
    expect(page.locator('[data-stat="stale"]')).to_have_text("0")
    assert Assignment.objects.get(pk=scene["stale"].pk).state == AssignmentState.EXPIRED
