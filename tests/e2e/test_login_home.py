"""A moderator's first path, in a real browser: sign in, find the case, recount it, watch the job."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cases.models import CaseAccount, CaseStatus, Job, JobKind, JobStatus, Priority, Role
from cases.services.evidence import record_evidence, retract_evidence
from tests.factories import AccountFactory, CaseFactory, MembershipFactory, TeamFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
]

PASSWORD = "correct-horse-battery"


@pytest.fixture
def investigation(transactional_db):
    """A team with a moderator, a lead, a case with accounts and evidence, and a second case."""
    team = TeamFactory(slug="trust-safety", name="Trust & Safety EMEA")
    moderator = MembershipFactory(
        team=team,
        role=Role.MODERATOR,
        user=UserFactory(username="amira", first_name="Amira", last_name="Haddad"),
    ).user
    lead = MembershipFactory(
        team=team, role=Role.LEAD, user=UserFactory(username="jonas", first_name="Jonas", last_name="Berg")
    ).user
    case = CaseFactory(
        team=team,
        title="Doppelganger: fake German media brands",
        summary=(
            "Russia-based network running typosquatted outlets (bild.pics, spiegel.ltd) and amplifying "
            "them through recently created accounts that post at the same minute."
        ),
        priority=Priority.URGENT,
        status=CaseStatus.IN_REVIEW,
        lead=lead,
    )
    CaseFactory(
        team=team,
        title="Spamouflage copy-paste network (US politics)",
        priority=Priority.HIGH,
        lead=moderator,
        account_count=4812,
        evidence_count=37,
    )
    CaseFactory(
        team=team, title="Crypto giveaway impersonators", status=CaseStatus.CLOSED, priority=Priority.LOW
    )
    # A second team of the moderator's, so the home page offers the team filter.
    elections = TeamFactory(slug="elections", name="Elections Integrity")
    MembershipFactory(team=elections, role=Role.MODERATOR, user=moderator)
    CaseFactory(
        team=elections, title="Fictitious local news sites ahead of the vote", status=CaseStatus.DECIDED
    )
    # Another team's case, which the moderator must never see.
    CaseFactory(team=TeamFactory(slug="apac", name="APAC"), title="APAC private case")
    accounts = [
        AccountFactory(
            team=team,
            handle=f"berlin_news_{n:04d}",
            display_name=f"Berlin Nachrichten {n}",
            profile_url=f"https://x.com/berlin_news_{n:04d}",
        )
        for n in range(1, 7)
    ]
    CaseAccount.objects.bulk_create(CaseAccount(case=case, account=a, added_by=moderator) for a in accounts)
    record_evidence(
        case=case,
        kind="link",
        captured_by=moderator,
        account=accounts[0],
        title="Fake Bild article on energy prices",
        url="https://bild.pics/politik/energie",
    )
    record_evidence(
        case=case,
        kind="repost",
        captured_by=lead,
        account=accounts[1],
        captured_text="Germany cannot afford more sanctions.",
        source_text="Germany cannot afford more sanctions!",
        source_author="Real Politician",
    )
    mistaken = record_evidence(
        case=case, kind="note", captured_by=moderator, captured_text="Same avatar as @berlin_news_0003"
    )
    retract_evidence(evidence=mistaken, retracted_by=moderator, reason="Different avatar on closer look")
    return {"team": team, "moderator": moderator, "case": case}


def test_moderator_signs_in_opens_a_case_and_recounts_it(
    page, live_server, screenshot, investigation, celery_worker
):
    case = investigation["case"]

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot("login")

    page.get_by_label("Username").fill("amira")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Cases")).to_be_visible()
    expect(page.get_by_role("link", name=case.title)).to_be_visible()
    expect(page.locator(".topbar")).to_contain_text("Amira Haddad")
    expect(page.locator(".topbar")).to_contain_text("Trust & Safety EMEA")
    expect(page.get_by_text("APAC private case")).to_have_count(0)
    screenshot("home")

    page.get_by_role("navigation", name="Filter by team").get_by_role(
        "link", name="Elections Integrity"
    ).click()
    expect(page.get_by_role("link", name="Fictitious local news sites ahead of the vote")).to_be_visible()
    expect(page.get_by_role("link", name=case.title)).to_have_count(0)
    page.get_by_role("link", name="All teams").click()

    page.get_by_role("link", name=case.title).click()
    expect(page.get_by_role("heading", name=case.title)).to_be_visible()
    expect(page.get_by_text("@berlin_news_0001")).to_be_visible()
    profile = page.get_by_role("link", name="hxxps://x[.]com/berlin_news_0001")
    expect(profile).to_have_attribute("rel", "noopener noreferrer")
    expect(profile).to_have_attribute("target", "_blank")
    expect(page.locator("tr.is-retracted")).to_contain_text("Retracted")
    screenshot("case")

    page.get_by_role("button", name="Recount").click()
    expect(page).to_have_url(re.compile(r"/jobs/\d+/$"))
    expect(page.get_by_role("heading", name=re.compile("Recount a case"))).to_be_visible()
    # The worker runs the job; the page learns of it by polling, with no reload.
    expect(page.locator("#job-progress")).to_have_attribute(
        "data-status", JobStatus.SUCCEEDED, timeout=30_000
    )
    expect(page.locator("#job-progress")).to_contain_text("Succeeded")
    expect(page.locator("#job-progress")).to_contain_text("Counts updated")
    expect(page.locator("#job-progress progress")).to_have_attribute("value", "100")
    expect(page.locator("#job-progress")).not_to_have_attribute("hx-trigger", re.compile("."))
    screenshot("job")

    page.get_by_role("link", name=case.title).first.click()
    expect(page.locator(".stat", has_text="Accounts")).to_contain_text("6")
    # Evidence that stands: the retracted note and the retraction itself do not count.
    expect(page.locator(".stat", has_text="Evidence")).to_contain_text("2")

    page.get_by_role("link", name="Cases", exact=True).first.click()
    recent = page.get_by_role("complementary", name="Your recent jobs")
    expect(recent).to_contain_text("Recount a case")
    expect(recent).to_contain_text("Succeeded")
    screenshot("home-after-recount")


def test_wrong_password_keeps_the_user_on_the_login_page(page, live_server, investigation):
    page.goto("/login/")
    page.get_by_label("Username").fill("amira")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    expect(page).to_have_url(re.compile(r"/login/$"))


def test_logout_returns_to_the_login_page(page, live_server, investigation):
    page.goto("/login/")
    page.get_by_label("Username").fill("amira")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Cases")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))


def test_job_page_follows_the_job_by_polling_and_stops_when_it_ends(page, log_in, screenshot, investigation):
    """No worker here: the test moves the job along itself, and the page must keep up."""
    case, moderator = investigation["case"], investigation["moderator"]
    job = Job.objects.create(
        team=investigation["team"],
        kind=JobKind.RECOUNT_CASE,
        params={"case_id": case.pk},
        created_by=moderator,
    )
    log_in(moderator)
    page.goto(f"/jobs/{job.pk}/")
    progress = page.locator("#job-progress")
    expect(progress).to_have_attribute("data-status", JobStatus.QUEUED)
    expect(progress).to_contain_text("Waiting for a worker")

    def is_poll(request) -> bool:
        return request.url.endswith(f"/jobs/{job.pk}/") and request.headers.get("hx-request") == "true"

    with page.expect_request(is_poll):
        pass  # htmx asks again within a second or so

    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING,
        progress=1,
        total=3,
        message="Counted account count",
        started_at=timezone.now(),
    )
    expect(progress).to_have_attribute("data-status", JobStatus.RUNNING)
    expect(progress).to_contain_text("33%")
    expect(progress).to_contain_text("step 1 of 3")
    expect(progress.locator("progress")).to_have_attribute("value", "33")
    screenshot("job-running")

    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.FAILED, message="OperationalError: database is locked", finished_at=timezone.now()
    )
    expect(progress).to_have_attribute("data-status", JobStatus.FAILED)
    expect(progress).to_contain_text("OperationalError: database is locked")
    expect(page.get_by_role("alert")).to_contain_text("The job failed")
    expect(progress).not_to_have_attribute("hx-trigger", re.compile("."))
    screenshot("job-failed")
