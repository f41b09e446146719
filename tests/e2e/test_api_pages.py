"""The API's two pages in a real browser, under the app's strict CSP: the interactive API docs
(Swagger UI, served from this origin) and the token settings page that shows a secret once."""

import pytest
from playwright.sync_api import expect

from cases.models import ApiToken, Role
from tests.factories import MembershipFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser]


@pytest.fixture
def member(transactional_db):
    team = TeamFactory(slug="trust-safety", name="Trust & Safety")
    return MembershipFactory(team=team, role=Role.MODERATOR, user=UserFactory(username="amira")).user


def test_the_api_docs_render_under_the_csp_from_this_origin_only(
    page, live_server, log_in, member, screenshot
):
    log_in(member)
    response = page.goto("/api/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("OSINT Annotator API")
    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    expect(page.get_by_text("/api/accounts/").first).to_be_visible()
    screenshot("api-docs")
    # The page's `page` fixture fails the test on any CSP violation, console error or request
    # to another host.


def test_a_token_is_created_shown_once_and_revoked(page, live_server, log_in, member, screenshot):
    log_in(member)
    page.goto("/settings/tokens/")
    page.get_by_label("Name").fill("import script")
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_test_id("new-token-secret").input_value()
    assert secret.startswith("oa_") and len(secret) > 40
    screenshot("settings-tokens-created")
    token = ApiToken.objects.get()
    assert token.prefix == secret[:8] and secret not in {token.token_hash, token.name}

    page.goto("/settings/tokens/")  # shown once: the page itself never shows it again
    expect(page.get_by_test_id("new-token-secret")).to_have_count(0)
    expect(page.get_by_role("cell", name="import script")).to_be_visible()
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("is revoked")).to_be_visible()
    token.refresh_from_db()
    assert token.revoked_at is not None
