"""The lead's network graph, printed report and STIX bundle, in a real Chromium.

On the demo investigations (plus similarity suggestions a sweep would have found): the lead opens
the graph and sees nodes and links drawn by cytoscape.js, clicks a node and reads the account in
the side panel (as text — a hostile bio stays text), filters links by signal, opens the report,
prints it to PDF with ``page.pdf``, and downloads the STIX bundle with the browser's session; the
test validates it with ``stix2`` and ``stix2-validator``. A second test draws a 500-account network
and holds the layout to a time budget.
"""

import itertools
import json
import random
import re

import pytest
import stix2
from django.contrib.auth import get_user_model
from playwright.sync_api import expect
from stix2validator import ValidationOptions, validate_string

from cases.demo import seed_demo
from cases.models import (
    Account,
    AccountKind,
    BrandAccount,
    Case,
    CaseAccount,
    Label,
    MediaBrand,
    Membership,
    Role,
    SimilaritySuggestion,
    SuggestionStatus,
    Team,
    Verdict,
)
from cases.services.labels import submit_label
from cases.services.suggestions import upsert_suggestion
from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.test_moderator_day import ensure_kill_chain
from tests.factories import raw_update

pytestmark = [pytest.mark.browser]

HOSTILE_BIO = '<img src=x onerror=alert("bio")> </script><script>alert(1)</script>'
# The layout of 500 accounts must be drawn within this (measured ~1 s on the CI machine).
LAYOUT_BUDGET_MS = 6000


@pytest.fixture
def demo_case(transactional_db):
    ensure_kill_chain()
    seed_demo()
    lead = get_user_model().objects.get(username="lead")
    case = Case.objects.get(title__startswith="Doppelganger")
    accounts = [link.account for link in CaseAccount.objects.filter(case=case).select_related("account")]
    assert len(accounts) >= 8
    raw_update(Account, accounts[0].pk, bio=HOSTILE_BIO)
    # What a sweep would have stored: some pairs accepted by a reviewer, some strong and pending.
    for n, (a, b) in enumerate(itertools.pairwise(accounts)):
        row = upsert_suggestion(
            team=case.team,
            account_a=a,
            account_b=b,
            score=0.92,
            signals=[{"signal": "co_timing", "score": 0.8, "detail": "posts in step"}],
        )
        if n % 2 == 0:
            raw_update(SimilaritySuggestion, row.pk, status=SuggestionStatus.ACCEPTED)
    # Labels from three reviewers, so the nodes show their colours (one account disputed).
    reviewers = list(get_user_model().objects.filter(username__in=["lead", "moderator1", "moderator2"]))
    plan = ["inauthentic"] * 4 + ["authentic", "unsure"]
    for account, verdict in zip(accounts[1:7], plan, strict=True):
        for reviewer in reviewers:
            submit_label(case=case, account=account, annotator=reviewer, verdict=verdict)
    submit_label(case=case, account=accounts[7], annotator=reviewers[0], verdict="authentic")
    submit_label(case=case, account=accounts[7], annotator=reviewers[1], verdict="inauthentic")
    return case, lead, accounts[0]


def _click_node(page, node_id: str) -> None:
    """Clicks a node where cytoscape drew it on the canvas."""
    box = page.locator("#graph").bounding_box()
    position = page.evaluate(
        "(id) => { const p = window.caseGraph.getElementById(id).renderedPosition(); return [p.x, p.y]; }",
        node_id,
    )
    page.mouse.click(box["x"] + position[0], box["y"] + position[1])


def test_lead_sees_the_network_prints_the_report_and_downloads_stix(page, log_in, screenshot, demo_case):
    case, lead, hostile = demo_case
    log_in(lead)

    # The graph: every node and link of the page's data drawn, a node's panel on click.
    page.goto(f"/cases/{case.pk}/")
    page.get_by_role("link", name="Network", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/cases/{case.pk}/graph/$"))
    graph = page.get_by_test_id("graph")
    expect(graph).to_have_attribute("data-ready", "true")
    data = json.loads(page.locator("#graph-data").text_content())
    drawn = page.evaluate("[window.caseGraph.nodes().length, window.caseGraph.edges().length]")
    assert drawn == [len(data["nodes"]), len(data["edges"])]
    assert drawn[0] > 10 and drawn[1] > 10
    kinds = {e["data"]["kind"] for e in data["edges"]}
    assert {"suggestion", "brand"} <= kinds
    _click_node(page, f"a{hostile.pk}")
    panel = page.get_by_test_id("node-panel")
    expect(panel.locator('[data-field="label"]')).to_have_text(f"@{hostile.handle}")
    expect(panel.locator('[data-field="bio"]')).to_have_text(HOSTILE_BIO)  # text, not markup
    assert panel.locator("img").count() == 0
    # Filtering by signal hides that signal's links.
    total = int(graph.get_attribute("data-visible-edges"))
    page.get_by_label("Shared media brand").uncheck()
    brand_edges = sum(1 for e in data["edges"] if e["data"]["signals"] == ["shared_brand"])
    expect(graph).to_have_attribute("data-visible-edges", str(total - brand_edges))
    page.get_by_label("Shared media brand").check()
    expect(graph).to_have_attribute("data-visible-edges", str(total))
    screenshot("leads-graph", full_page=False)

    # The report: the graph as an image, printed to PDF.
    page.get_by_role("link", name="Report").click()
    expect(page.get_by_role("heading", name=case.title)).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-graph-ready", "true")
    image = page.get_by_test_id("graph-image")
    assert image.get_attribute("src").startswith("data:image/png;base64,")
    assert page.evaluate("document.querySelector('[data-testid=graph-image]').naturalWidth") > 400
    screenshot("leads-report", full_page=False)
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    pdf = page.pdf(format="A4", print_background=True)
    (SCREENSHOTS / "leads-report.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF-") and len(pdf) > 50_000
    page.emulate_media(media="screen")

    # The STIX bundle, downloaded with the browser's session, parsed and validated.
    response = page.request.get(f"/api/cases/{case.pk}/export/?format=stix")
    assert response.ok and response.headers["content-type"].startswith("application/stix+json")
    raw = response.text()
    bundle = stix2.parse(raw, allow_custom=False)
    types = {obj.type for obj in bundle.objects}
    assert {"identity", "campaign", "user-account", "relationship", "domain-name", "indicator"} <= types
    result = validate_string(raw, ValidationOptions(version="2.1", strict=True, disabled=["account-type"]))
    assert result.is_valid, [str(e) for e in result.errors]


@pytest.fixture
def big_network(transactional_db):
    """A case of 500 accounts in ten clusters: each account linked to two or three others of its
    cluster (accepted or strong pending), every cluster around a media brand, and labels on most."""
    rng = random.Random(6)  # test data, not a secret
    team = Team.objects.create(slug="big", name="Big network team")
    lead = get_user_model().objects.create_user(username="big-lead", password="correct-horse-battery")
    Membership.objects.create(user=lead, team=team, role=Role.LEAD)
    case = Case.objects.create(team=team, title="Five hundred accounts", lead=lead)
    accounts = Account.objects.bulk_create(
        Account(
            team=team,
            platform="x",
            handle=f"sock{n:04d}",
            handle_normalized=f"sock{n:04d}",
            followers=rng.choice([None, 3, 40, 800, 15_000, 400_000]),
            kind=AccountKind.SUSPECT,
        )
        for n in range(500)
    )
    CaseAccount.objects.bulk_create(CaseAccount(case=case, account=a) for a in accounts)
    pairs = set()
    for cluster in range(10):
        members = accounts[cluster * 50 : (cluster + 1) * 50]
        for i, account in enumerate(members):
            for other in rng.sample(members[:i] + members[i + 1 :], rng.choice([1, 2, 2, 3])):
                pairs.add(tuple(sorted((account.pk, other.pk))))
        brand = MediaBrand.objects.create(team=team, name=f"Brand {cluster}")
        BrandAccount.objects.bulk_create(BrandAccount(brand=brand, account=a) for a in members[::5])
    SimilaritySuggestion.objects.bulk_create(
        SimilaritySuggestion(
            team=team,
            account_a_id=a,
            account_b_id=b,
            score=0.9,
            status=rng.choice([SuggestionStatus.ACCEPTED, SuggestionStatus.NEW]),
            signals=[{"signal": rng.choice(["copy_paste", "co_timing", "bio"]), "score": 0.8, "detail": ""}],
        )
        for a, b in sorted(pairs)
    )
    Label.objects.bulk_create(
        Label(case=case, account=a, annotator=lead, verdict=rng.choice(list(Verdict)))
        for a in accounts
        if rng.random() < 0.8
    )
    return case, lead


def test_a_500_account_network_is_laid_out_within_budget(page, log_in, screenshot, big_network):
    case, lead = big_network
    log_in(lead)
    page.goto(f"/cases/{case.pk}/graph/")
    graph = page.get_by_test_id("graph")
    expect(graph).to_have_attribute("data-ready", "true", timeout=30_000)
    nodes, edges = page.evaluate("[window.caseGraph.nodes().length, window.caseGraph.edges().length]")
    assert nodes == 510 and edges > 800
    layout_ms = int(graph.get_attribute("data-layout-ms"))
    print(f"\n500-account graph: {nodes} nodes, {edges} edges, drawn and laid out in {layout_ms} ms")
    assert layout_ms < LAYOUT_BUDGET_MS
    # Readable: the nodes spread over the canvas rather than piling up in one spot.
    spread = page.evaluate(
        """() => { const bb = window.caseGraph.nodes().boundingBox();
                   return Math.min(bb.w, bb.h) / Math.sqrt(window.caseGraph.nodes().length); }"""
    )
    assert spread > 10
    screenshot("leads-graph-500", full_page=False)
