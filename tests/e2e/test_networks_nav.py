"""Reaching similar accounts in a real browser: the top bar's "Networks" entry opens the team's
possible networks; a case page links to them and sweeps the case's neighbourhood."""

import pytest
from playwright.sync_api import expect

from cases.models import Role
from cases.services.cases import add_account_to_case
from cases.services.similarity import clear_index_cache, create_similarity_sweep_job
from cases.tasks import similarity_sweep_task
from tests.factories import CaseFactory, MembershipFactory, TeamFactory, UserFactory
from tests.similarity.conftest import organic, plant_network

pytestmark = [pytest.mark.browser]


@pytest.fixture
def swept(transactional_db):
    clear_index_cache()
    team = TeamFactory(slug="trust-safety", name="Trust & Safety")
    member = MembershipFactory(team=team, role=Role.MODERATOR, user=UserFactory(username="amira")).user
    network = plant_network(team, 5, prefix="spam")
    organic(team, 10)
    case = CaseFactory(team=team, title="Copy-paste accounts")
    add_account_to_case(case=case, account=network[0], added_by=member)
    similarity_sweep_task(create_similarity_sweep_job(team=team).pk)
    yield {"member": member, "network": network, "case": case}
    clear_index_cache()


def test_networks_are_one_click_from_the_top_bar_and_from_a_case(page, log_in, swept, screenshot):
    log_in(swept["member"])
    page.goto("/")
    main_nav = page.get_by_role("navigation", name="Main")
    main_nav.get_by_role("link", name="Networks").click()
    expect(page.get_by_role("heading", name="Possible networks", level=1)).to_be_visible()
    expect(main_nav.get_by_role("link", name="Networks")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", name="5 accounts")).to_be_visible()
    expect(page.get_by_text(f"@{swept['network'][0].handle}")).to_be_visible()
    screenshot("networks-from-top-bar")

    page.goto(f"/cases/{swept['case'].pk}/")
    page.get_by_role("link", name="Possible networks").click()
    expect(page.get_by_role("heading", name="Possible networks", level=1)).to_be_visible()

    page.goto(f"/cases/{swept['case'].pk}/")
    screenshot("case-page-similar-links", full_page=False)
    page.get_by_role("button", name="Find similar accounts").click()
    expect(page.get_by_role("heading", name="Similar-accounts sweep")).to_be_visible()
    expect(page.get_by_role("link", name=swept["case"].title).first).to_be_visible()
    screenshot("case-neighbourhood-sweep-job")
