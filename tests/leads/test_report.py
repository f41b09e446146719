"""The printable case report: summary, network size by platform, the decision in words, votes,
technique coverage, accounts with verdict and outcome, evidence with hashes and capture times, and
the graph's data for its picture; team scope, blindness, escaping, bounded queries."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import CaseAccount, CaseStatus, Platform
from cases.report_selectors import CONFIDENCE_WORDS
from tests.factories import AccountFactory, raw_update
from tests.leads.conftest import html, signed_in

pytestmark = pytest.mark.django_db


def _url(case) -> str:
    return reverse("frontend:case-report", args=[case.pk])


CLOSERS = {"network-size": "</dl>", "decision": "</div>", "votes": "</table>", "accounts": "</table>"}


def _section(page: str, testid: str) -> str:
    closer = CLOSERS.get(testid, "</table>")
    found = re.search(rf'data-testid="{testid}".*?{closer}', page, re.S)
    assert found, testid
    return found.group(0)


def test_report_holds_every_part_of_the_case(network_case, lead_client):
    response = lead_client.get(_url(network_case))
    assert response.status_code == 200
    page = html(response)
    assert network_case.title in page
    # Network size: five accounts, four suspects, all on X.
    size = _section(page, "network-size")
    assert "<dt>Accounts</dt><dd>5</dd>" in size and "<dt>Suspects</dt><dd>4</dd>" in size
    assert "<dt>X / Twitter</dt><dd>5</dd>" in size
    # The decision with its confidence in words.
    decision = _section(page, "decision")
    assert "Spamouflage" in decision and "high confidence" in decision
    assert CONFIDENCE_WORDS["high"] == "almost certain, well corroborated"
    assert CONFIDENCE_WORDS["high"] in decision
    # Every vote, for a lead.
    votes = _section(page, "votes")
    assert votes.count("<tr>") == 4  # a header and three votes
    assert "Copies." in votes and "Timing." in votes and "Brands." in votes
    # Accounts with verdict and outcome.
    accounts = _section(page, "accounts")
    s0, s1 = network_case.suspects[:2]
    row0 = re.search(rf"@{s0.handle}.*?</tr>", accounts, re.S).group(0)
    assert "Inauthentic" in row0 and "Removed" in row0 and "CIB policy 4.2" in row0 and "12,000" in row0
    row1 = re.search(rf"@{s1.handle}.*?</tr>", accounts, re.S).group(0)
    assert "Authentic" in row1 and "adjudicated" in row1
    # Evidence: every item, with its full hash and its capture time.
    evidence = _section(page, "evidence")
    link = network_case.link_evidence
    assert link.content_sha256 in evidence
    assert link.captured_at.strftime("%Y-%m-%d %H:%M") in evidence
    assert "(retracted)" in evidence
    assert "hxxps://bild[.]pics/artikel" in evidence  # shown defanged, never as a link
    assert 'href="https://bild.pics' not in page
    # Technique coverage and the graph's data for the picture; exports one click away.
    assert 'data-testid="coverage-strip"' in page
    assert '<script id="graph-data" type="application/json">' in page
    assert 'data-testid="graph-image"' in page
    for fmt in ("stix", "json", "csv"):
        assert f"/api/cases/{network_case.pk}/export/?format={fmt}" in page


def test_report_carries_print_css_and_no_inline_script_or_style(network_case, lead_client):
    page = html(lead_client.get(_url(network_case)))
    assert "frontend/report.css" in page
    assert "<style" not in page and " style=" not in page
    assert re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", page) == []


def test_report_css_has_print_rules():
    from pathlib import Path

    css = (Path(__file__).resolve().parents[2] / "frontend/static/frontend/report.css").read_text()
    assert "@media print" in css and "@page" in css and ".topbar" in css


def test_moderator_reads_the_report_blind_while_the_case_is_in_review(network_case, moderator):
    raw_update(type(network_case), network_case.pk, status=CaseStatus.IN_REVIEW)
    page = html(signed_in(moderator).get(_url(network_case)))
    assert "keeps the review blind" in page
    votes = _section(page, "votes")
    assert "Copies." in votes  # their own vote
    assert "Timing." not in votes and "Brands." not in votes
    s3 = network_case.suspects[3]
    row = re.search(rf"@{s3.handle}.*?</tr>", _section(page, "accounts"), re.S).group(0)
    assert "Hidden" in row


def test_moderator_sees_everything_once_the_case_is_decided(network_case, moderator):
    page = html(signed_in(moderator).get(_url(network_case)))
    assert "keeps the review blind" not in page
    assert "Brands." in _section(page, "votes")


def test_report_of_another_teams_case_is_404(network_case, outsider_client, outsider_lead_client, client):
    assert outsider_client.get(_url(network_case)).status_code == 404
    assert outsider_lead_client.get(_url(network_case)).status_code == 404
    response = client.get(_url(network_case))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_hostile_text_is_escaped_in_the_report(network_case, lead_client):
    s0 = network_case.suspects[0]
    raw_update(type(s0), s0.pk, handle="<svg onload=alert(1)>")
    raw_update(type(network_case), network_case.pk, summary="<script>alert('summary')</script>")
    page = html(lead_client.get(_url(network_case)))
    assert "<svg onload" not in page and "<b>Jordan</b>" not in page
    assert "<script>alert('summary')" not in page
    assert "&lt;b&gt;Jordan&lt;/b&gt;" in page


def test_report_reads_in_a_fixed_number_of_queries(network_case, lead_client):
    url = _url(network_case)
    lead_client.get(url)
    with CaptureQueriesContext(connection) as small:
        lead_client.get(url)
    for n in range(15):
        account = AccountFactory(team=network_case.team, handle=f"more_{n}", platform=Platform.TELEGRAM)
        CaseAccount.objects.create(case=network_case, account=account)
    with CaptureQueriesContext(connection) as large:
        page = html(lead_client.get(url))
    assert "<dt>Telegram</dt><dd>15</dd>" in page
    assert len(large) == len(small)


@pytest.mark.parametrize("name", ["frontend:case-graph", "frontend:case-report"])
def test_access_by_role(name, network_case, lead, admin_user, moderator, outsider, outsider_lead, client):
    """Read-only pages: every member of the team reads them (moderators too, blind where the review
    is); another team's members get 404, whatever their role; nothing can be posted to them."""
    url = reverse(name, args=[network_case.pk])
    for user in (lead, admin_user, moderator):
        assert signed_in(user).get(url).status_code == 200
    for user in (outsider, outsider_lead):
        assert signed_in(user).get(url).status_code == 404
    assert signed_in(lead).post(url).status_code == 405
    assert client.get(url).status_code == 302
