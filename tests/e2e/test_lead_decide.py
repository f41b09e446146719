"""A lead's review in a real browser: resolve a conflict between reviewers, try to decide the
attribution and be refused by the four-eyes rule, decide once another reviewer agrees, set the
accounts' outcomes in bulk and read the case's timeline."""

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from cases.models import AccountOutcome, Adjudication, AttributionDecision, CaseStatus
from cases.services.votes import cast_vote
from tests.factories import MembershipFactory, UserFactory
from tests.leads.conftest import actors, lead_case, moderator_2  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser]
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


@pytest.fixture
def scene(transactional_db, lead_case, actors):  # noqa: F811
    return lead_case, actors


def test_lead_adjudicates_decides_with_four_eyes_sets_outcomes_and_reads_the_timeline(
    page, live_server, log_in, screenshot, scene, lead, team_a
):
    case, (_spamouflage, doppelganger) = scene
    s0, s1 = case.suspects[:2]
    log_in(lead)

    # --- agreement: the numbers, then the conflict on s1 is adjudicated in place (htmx) ------------
    page.goto(f"{live_server.url}/cases/{case.pk}/agreement/")
    expect(page.get_by_role("heading", name="Agreement", exact=True)).to_be_visible()
    expect(page.get_by_test_id("percent-agreement")).to_have_text("78%")
    expect(page.get_by_test_id("alpha")).to_have_text("0.00")
    conflict = page.get_by_test_id(f"conflict-{s1.handle}")
    expect(conflict).to_contain_text("Open conflict")
    expect(conflict.locator("tbody tr")).to_have_count(3)
    shot = screenshot("leads-agreement", full_page=False)
    shutil.copy(shot, DOCS_IMG / "leads-agreement.png")

    conflict.locator("label.seg", has_text="Inauthentic").click()
    conflict.get_by_label("Reason").fill("Two of three reviewers and the copy-paste evidence agree")
    conflict.get_by_role("button", name="Adjudicate").click()
    conflict = page.get_by_test_id(f"conflict-{s1.handle}")
    expect(conflict.get_by_test_id("final-verdict")).to_have_text("Final: Inauthentic")
    expect(conflict.locator("tbody tr")).to_have_count(3)  # the original labels stay visible
    expect(conflict).to_contain_text("Authentic")
    assert Adjudication.objects.get().verdict == "inauthentic"

    # --- decision: the lead's own vote for Doppelganger is not enough (four eyes) -------------------
    page.get_by_role("link", name="Decision", exact=True).click()
    expect(page.get_by_test_id("quorum")).to_contain_text("Quorum met: 3 votes, 3 needed")
    expect(page.get_by_test_id("dissent")).to_contain_text("Doppelganger")

    def decide(rationale: str) -> None:
        form = page.get_by_test_id("decide-form")
        form.get_by_label("Actor").select_option(str(doppelganger.pk))
        form.locator("label.seg", has_text="Moderate").click()
        form.get_by_label("Rationale").fill(rationale)
        form.get_by_role("button", name="Decide attribution").click()

    decide("The fake media brands match Doppelganger's")
    expect(page.get_by_test_id("decide-error")).to_contain_text("Only your own vote is for Doppelganger")
    screenshot("leads-decision-refused", full_page=False)
    assert not AttributionDecision.objects.exists()

    # Another reviewer agrees; now the decision rests on more than the lead's vote.
    third = MembershipFactory(team=team_a, user=UserFactory(username="mod-a3")).user
    cast_vote(case=case, voter=third, actor=doppelganger, confidence="high", rationale="Same domains.")
    page.goto(f"{live_server.url}/cases/{case.pk}/decision/")  # not reload: that would POST again
    decide("The fake media brands match Doppelganger's; mod-a3 confirms the domains")
    expect(page.get_by_role("status").first).to_contain_text("Decided: Doppelganger")
    expect(page.get_by_test_id("standing-decision")).to_contain_text("Doppelganger")
    expect(page.get_by_test_id("case-status")).to_have_text("Decided")
    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED
    shot = screenshot("leads-decision", full_page=False)
    shutil.copy(shot, DOCS_IMG / "leads-decision.png")

    # --- outcomes: tick two accounts, set "removed" with its policy basis ------------------------------
    page.get_by_role("link", name="Outcomes", exact=True).click()
    table = page.get_by_test_id("outcome-table")
    for account in (s0, s1):
        table.get_by_label(f"Select @{account.handle}").check()
    expect(page.locator("[data-selected-count]")).to_have_text("2 accounts selected.")
    page.locator('select[name="outcome"]').select_option("removed")
    page.get_by_label("Policy basis").fill("Coordinated inauthentic behaviour policy")
    page.get_by_role("button", name="Set outcome on selected").click()
    expect(page.get_by_role("status").first).to_contain_text("Outcome set on 2 accounts.")
    for account in (s0, s1):
        expect(page.get_by_test_id(f"outcome-row-{account.handle}").get_by_test_id("outcome")).to_have_text(
            "Removed"
        )
    assert AccountOutcome.objects.filter(outcome="removed").count() == 2
    shutil.copy(screenshot("leads-outcomes", full_page=False), DOCS_IMG / "leads-outcomes.png")

    # --- timeline: every step above is in the case's audit trail --------------------------------------
    page.get_by_role("link", name="Timeline", exact=True).click()
    timeline = page.get_by_test_id("timeline")
    expect(timeline.locator("li.timeline-item").first).to_contain_text("set account outcomes")
    for phrase in ("decided the attribution", "adjudicated an account", "voted on attribution"):
        expect(timeline).to_contain_text(phrase)
    shutil.copy(screenshot("leads-timeline", full_page=False), DOCS_IMG / "leads-timeline.png")
