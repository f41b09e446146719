"""The network graph of a case: nodes coloured by verdict and sized by followers, edges from
accepted and strong pending suggestions, shared brands and copied posts; team scope, blindness,
escaping and a bounded number of queries."""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import CaseStatus
from cases.report_selectors import get_case_graph_for_user, node_size
from cases.services.cases import add_account_to_case
from cases.services.suggestions import upsert_suggestion
from tests.factories import AccountFactory, raw_update
from tests.leads.conftest import HOSTILE_BIO, html, signed_in

pytestmark = pytest.mark.django_db


def _graph_url(case) -> str:
    return reverse("frontend:case-graph", args=[case.pk])


def _data(response) -> dict:
    assert response.status_code == 200
    found = re.search(r'<script id="graph-data" type="application/json">(.*?)</script>', html(response), re.S)
    assert found, "the page carries its graph as a json_script element"
    return json.loads(found.group(1))


def _nodes(data) -> dict[str, dict]:
    return {n["data"]["id"]: n["data"] for n in data["nodes"]}


def _edges(data) -> dict[str, dict]:
    return {e["data"]["id"]: e["data"] for e in data["edges"]}


def test_lead_sees_accounts_coloured_by_verdict_and_sized_by_followers(network_case, lead_client):
    data = _data(lead_client.get(_graph_url(network_case)))
    nodes = _nodes(data)
    s0, s1, s2, s3 = network_case.suspects
    assert nodes[f"a{s0.pk}"]["verdict"] == "inauthentic"
    # Two of three said inauthentic, but the lead adjudicated: the adjudication stands.
    assert nodes[f"a{s1.pk}"]["verdict"] == "authentic"
    assert nodes[f"a{s1.pk}"]["verdict_source"] == "adjudication"
    assert nodes[f"a{s2.pk}"]["verdict"] == "inauthentic"
    assert nodes[f"a{s3.pk}"]["verdict"] == "unlabelled"
    assert (
        nodes[f"a{network_case.reference.pk}"]["size"]
        > nodes[f"a{s0.pk}"]["size"]
        > nodes[f"a{s3.pk}"]["size"]
    )
    assert nodes[f"a{s0.pk}"]["outcome"] == "Removed"
    assert data["hidden_verdicts"] is False


def test_edges_are_accepted_and_strong_pending_suggestions_brands_and_copies(network_case, lead_client):
    data = _data(lead_client.get(_graph_url(network_case)))
    s0, s1, s2, s3 = network_case.suspects
    ref, outlet = network_case.reference, network_case.outlet
    edges = _edges(data)
    pairs = {(e["kind"], e.get("status"), frozenset((e["source"], e["target"]))): e for e in edges.values()}
    accepted = pairs[("suggestion", "accepted", frozenset((f"a{s0.pk}", f"a{s1.pk}")))]
    assert accepted["signals"] == ["copy_paste", "bio"]  # "name" scored under the bar
    assert ("suggestion", "pending", frozenset((f"a{s1.pk}", f"a{s2.pk}"))) in pairs
    # The weak pending pair and the dismissed pair are not drawn.
    suggestion_pairs = {k[2] for k in pairs if k[0] == "suggestion"}
    assert frozenset((f"a{s2.pk}", f"a{s3.pk}")) not in suggestion_pairs
    assert frozenset((f"a{s0.pk}", f"a{s3.pk}")) not in suggestion_pairs
    # The brand is a hub with an edge to each account that runs or amplifies it.
    brand = f"b{network_case.brand.pk}"
    assert _nodes(data)[brand]["kind"] == "brand"
    brand_edges = [e for e in edges.values() if e["kind"] == "brand"]
    assert {(e["source"], e["status"]) for e in brand_edges} == {
        (f"a{s0.pk}", "runs"),
        (f"a{s2.pk}", "amplifies"),
    }
    # Copies point from the copier to the source; a source outside the case is its own node.
    copies = {(e["source"], e["target"]): e["count"] for e in edges.values() if e["kind"] == "copy"}
    assert copies == {(f"a{s1.pk}", f"a{ref.pk}"): 2, (f"a{s2.pk}", f"a{outlet.pk}"): 1}
    assert _nodes(data)[f"a{outlet.pk}"]["kind"] == "source"
    assert data["signals"] == ["bio", "co_timing", "copied_post", "copy_paste", "shared_brand"]
    # Every edge ends on a node of the graph.
    ids = set(_nodes(data))
    assert all(e["source"] in ids and e["target"] in ids for e in edges.values())


def test_page_offers_a_filter_per_signal_and_the_coverage_strip(network_case, lead_client):
    page = html(lead_client.get(_graph_url(network_case)))
    for signal in ("copy_paste", "co_timing", "shared_brand", "copied_post"):
        assert f'value="{signal}" data-signal' in page
    assert "data-pending" in page
    assert 'data-testid="coverage-strip"' in page
    assert "frontend/vendor/cytoscape-3.30.4.min.js" in page
    assert 'id="__________cytoscape_stylesheet"' in page  # no <style> injected by cytoscape


def test_moderator_sees_the_graph_read_only_and_blind(network_case, moderator):
    """The case is decided, so nothing is blind any more; reopen it to review and the moderator
    sees verdicts only on the accounts they labelled."""
    raw_update(type(network_case), network_case.pk, status=CaseStatus.IN_REVIEW)
    client = signed_in(moderator)
    response = client.get(_graph_url(network_case))
    nodes = _nodes(_data(response))
    s0, s1, s2, s3 = network_case.suspects
    assert nodes[f"a{s0.pk}"]["verdict"] == "inauthentic"  # labelled it
    assert nodes[f"a{s1.pk}"]["verdict"] == "authentic"  # labelled it; the adjudication shows
    assert nodes[f"a{s2.pk}"]["verdict"] == "inauthentic"
    assert nodes[f"a{s3.pk}"]["verdict"] == "hidden"  # did not
    page = html(response)
    assert "Hidden until you label" in page
    assert '<form method="post"' not in page.split("<main", 1)[1]  # nothing to act on


def test_graph_of_another_teams_case_is_404(network_case, outsider_client, outsider_lead_client):
    assert outsider_client.get(_graph_url(network_case)).status_code == 404
    assert outsider_lead_client.get(_graph_url(network_case)).status_code == 404
    assert outsider_client.get(reverse("frontend:case-graph", args=[999_999])).status_code == 404


def test_graph_needs_a_signed_in_user(network_case, client):
    response = client.get(_graph_url(network_case))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_hostile_names_and_bios_travel_as_escaped_json(network_case, lead_client):
    response = lead_client.get(_graph_url(network_case))
    page = html(response)
    assert '</script><script>alert("bio")' not in page
    assert "<b>Jordan</b>" not in page
    assert "<img src=x" not in page
    node = _nodes(_data(response))[f"a{network_case.suspects[0].pk}"]
    assert node["bio"] == HOSTILE_BIO and node["display_name"] == "<b>Jordan</b>"


def test_graph_reads_in_a_fixed_number_of_queries(network_case, lead, lead_client):
    url = _graph_url(network_case)
    lead_client.get(url)
    s0 = network_case.suspects[0]
    raw_update(type(network_case), network_case.pk, status=CaseStatus.IN_REVIEW)  # to add accounts
    network_case.refresh_from_db()
    with CaptureQueriesContext(connection) as small:
        assert lead_client.get(url).status_code == 200
    for n in range(15):
        account = AccountFactory(team=network_case.team, handle=f"more_{n}", followers=n * 100)
        add_account_to_case(case=network_case, account=account, added_by=lead)
        upsert_suggestion(
            team=network_case.team,
            account_a=s0,
            account_b=account,
            score=0.9,
            signals=[{"signal": "handle_shape", "score": 0.8, "detail": "x"}],
        )
    with CaptureQueriesContext(connection) as large:
        data = _data(lead_client.get(url))
    assert len(_nodes(data)) == 5 + 15 + 2  # five on the case, the brand, the outside outlet
    assert len(large) == len(small)


def test_graph_shows_at_most_the_cap_and_says_so(network_case, lead, monkeypatch):
    monkeypatch.setattr("cases.report_selectors.MAX_GRAPH_ACCOUNTS", 3)
    data = get_case_graph_for_user(case=network_case, user=lead)
    assert data["truncated"] is True and data["account_total"] == 5
    assert sum(1 for n in data["nodes"] if n["data"]["kind"] == "account") == 3


def test_node_size_grows_with_the_log_of_followers():
    assert node_size(None) == node_size(0) == 18.0
    assert node_size(10) < node_size(1_000) < node_size(1_000_000) <= 72.0
    assert node_size(10**12) == 72.0
