"""The case page through HTTP: label status, technique coverage and attribution voting; and the
page-wide rules (CSP, no inline code) for every workspace page."""

import re

import pytest
from django.urls import reverse

from cases.models import Actor, AttributionVote, CaseStatus, Evidence, EvidenceFile
from cases.services.cases import add_account_to_case
from cases.services.decisions import decide_attribution
from cases.services.evidence import Upload, record_evidence, retract_evidence
from cases.services.labels import submit_label
from cases.services.queues import claim_next_item
from cases.services.votes import cast_vote
from tests.factories import AccountFactory, ActorFactory
from tests.services.review_support import member, technique
from tests.support import page_queries
from tests.workspace.conftest import html, png_bytes, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def case_url(case_a):
    return reverse("frontend:case-detail", args=[case_a.pk])


@pytest.fixture
def actors(team_a):
    return [ActorFactory(team=team_a, name="Spamouflage"), ActorFactory(team=team_a, name="Doppelganger")]


def _row(page: str, handle: str) -> str:
    return re.search(rf'<td class="mono nowrap">@{handle}</td>.*?</tr>', page, re.S).group(0)


# --- accounts and label status ---------------------------------------------------------------------


def test_label_status_shows_counts_but_hides_verdicts_until_the_user_labelled(
    mod_client, case_url, case_a, moderator, team_a
):
    accounts = [link.account for link in case_a.case_accounts.order_by("pk")]
    others = [member(team_a) for _ in range(2)]
    for other in others:
        submit_label(case=case_a, account=accounts[0], annotator=other, verdict="inauthentic")
    submit_label(case=case_a, account=accounts[1], annotator=others[0], verdict="authentic")
    submit_label(case=case_a, account=accounts[1], annotator=moderator, verdict="authentic")
    page = html(mod_client.get(case_url))

    hidden = _row(page, accounts[0].handle)
    assert '<td class="num">2</td>' in hidden
    assert "hidden until you label" in hidden
    assert "Inauthentic" not in hidden

    seen = _row(page, accounts[1].handle)
    assert '<td class="num">2</td>' in seen
    assert "verdict-pill verdict-authentic" in seen and "100%" in seen

    untouched = _row(page, accounts[2].handle)
    assert '<td class="num">0</td>' in untouched


def test_every_verdict_shows_once_the_case_is_decided(lead_client, case_a, case_url, lead, team_a, actors):
    account = case_a.case_accounts.first().account
    voters = [member(team_a) for _ in range(3)]
    submit_label(case=case_a, account=account, annotator=voters[0], verdict="inauthentic")
    for voter in voters:
        cast_vote(case=case_a, voter=voter, actor=actors[0], confidence="high", rationale="Same bursts")
    decide_attribution(case=case_a, lead=lead, actor=actors[0], confidence="high", rationale="Consensus")
    page = html(lead_client.get(case_url))
    assert "verdict-pill verdict-inauthentic" in _row(page, account.handle)
    assert "Decided:</strong> Spamouflage" in page
    assert "votes can no longer change" in page
    assert 'action="/cases/' not in page.split('id="attribution"')[1].split("</section>")[0]


def test_case_page_query_count_does_not_grow_with_accounts_evidence_and_labels(
    mod_client, case_url, case_a, lead, team_a
):
    def add(n: int) -> None:
        for _ in range(n):
            account = AccountFactory(team=team_a)
            add_account_to_case(case=case_a, account=account, added_by=lead)
            submit_label(
                case=case_a,
                account=account,
                annotator=lead,
                verdict="unsure",
                techniques=[technique("0.9.4")],
            )
            record_evidence(
                case=case_a,
                kind="screenshot",
                captured_by=lead,
                account=account,
                techniques=[technique("5.4.2")],
                files=[Upload(EvidenceFile.Role.SCREENSHOT, "s.png", png_bytes())],
            )

    add(3)
    few = page_queries(mod_client, case_url)
    add(27)
    many = page_queries(mod_client, case_url)
    assert few == many, (few, many)
    assert many <= 30, many


def test_technique_coverage_counts_standing_evidence_and_visible_labels(
    mod_client, case_url, case_a, moderator, team_a
):
    accounts = [link.account for link in case_a.case_accounts.order_by("pk")]
    record_evidence(
        case=case_a, kind="note", captured_by=moderator, captured_text="x", techniques=[technique("0.9.4")]
    )
    gone = record_evidence(
        case=case_a, kind="note", captured_by=moderator, captured_text="y", techniques=[technique("3.1.1")]
    )
    retract_evidence(evidence=gone, retracted_by=moderator, reason="wrong")
    other = member(team_a)
    submit_label(
        case=case_a,
        account=accounts[0],
        annotator=other,
        verdict="inauthentic",
        techniques=[technique("5.4.2")],
    )
    page = html(mod_client.get(case_url))
    coverage = page.split('id="coverage-title"')[1].split("</table>")[0]

    def counts(code: str) -> tuple[str, str]:
        row = re.search(rf'<span class="mono">{code}</span>.*?</tr>', coverage, re.S).group(0)
        return tuple(re.findall(r'<td class="num">(\d+)</td>', row))

    assert counts("0") == ("1", "0")
    assert counts("3") == ("0", "0"), "retracted evidence does not count"
    assert counts("5") == ("0", "0"), "another reviewer's label is blind until I label that account"
    submit_label(case=case_a, account=accounts[0], annotator=moderator, verdict="inauthentic")
    coverage = html(mod_client.get(case_url)).split('id="coverage-title"')[1].split("</table>")[0]
    assert counts("5") == ("0", "1")


# --- attribution voting ----------------------------------------------------------------------------


def _vote(client, case, **data):
    return client.post(reverse("frontend:case-vote", args=[case.pk]), data)


def test_the_tally_is_hidden_until_the_user_votes(mod_client, case_url, case_a, actors, team_a, moderator):
    other = member(team_a)
    cast_vote(case=case_a, voter=other, actor=actors[1], confidence="low", rationale="Domains look Russian")
    page = html(mod_client.get(case_url))
    tally = page.split('data-testid="tally"')[1].split("</section>")[0]
    assert "1 vote cast. How others voted stays hidden until you vote" in tally
    assert "Doppelganger" not in tally
    assert "Cast my vote" in page
    for text in ("Low — possible, evidence is thin", "Moderate — likely", "High — almost certain"):
        assert text in page

    response = _vote(
        mod_client, case_a, actor=actors[0].pk, confidence="high", rationale="Burst timing and copies"
    )
    assert response["Location"] == case_url + "#attribution"
    page = html(mod_client.get(case_url))
    tally = page.split('data-testid="tally"')[1].split("</section>")[0]
    assert "Spamouflage" in tally and "Doppelganger" in tally
    assert "75% of weight" in tally and "25% of weight" in tally
    assert "Your vote: <strong>Spamouflage</strong>, high confidence." in tally
    assert "Change my vote" in page


def test_a_vote_can_change_until_the_case_is_decided(mod_client, case_a, actors, moderator):
    _vote(mod_client, case_a, actor=actors[0].pk, confidence="low", rationale="First look")
    _vote(mod_client, case_a, actor=actors[1].pk, confidence="moderate", rationale="Second look")
    vote = AttributionVote.objects.get(voter=moderator)
    assert (vote.actor, vote.confidence, vote.rationale) == (actors[1], "moderate", "Second look")


def test_a_vote_needs_a_rationale_and_a_confidence(mod_client, case_a, actors):
    response = _vote(mod_client, case_a, actor=actors[0].pk, rationale="  ")
    page = html(response)
    assert response.status_code == 200
    assert "Say why: a vote needs its rationale." in page
    assert "Choose how confident you are." in page
    assert not AttributionVote.objects.exists()


def test_a_vote_for_a_new_actor_creates_it_with_the_vote(mod_client, case_a, team_a, moderator):
    response = _vote(
        mod_client,
        case_a,
        actor="new",
        new_actor_name="Storm-1376",
        new_actor_country="China",
        confidence="moderate",
        rationale="Same infrastructure",
    )
    assert response.status_code == 302
    actor = Actor.objects.get(team=team_a, name="Storm-1376")
    assert actor.country == "China"
    assert AttributionVote.objects.get(voter=moderator).actor == actor


def test_a_new_actor_needs_a_name_and_is_not_left_behind_by_a_refused_vote(mod_client, case_a, team_a):
    page = html(_vote(mod_client, case_a, actor="new", confidence="low", rationale="x"))
    assert "Name the new actor." in page
    case_a.status = CaseStatus.CLOSED
    case_a.save()
    page = html(
        _vote(mod_client, case_a, actor="new", new_actor_name="Ghost", confidence="low", rationale="x")
    )
    assert "votes can no longer change" in page.lower() or "can no longer be changed" in page
    assert not Actor.objects.filter(name="Ghost").exists()


def test_a_vote_cites_standing_evidence_only(mod_client, case_a, actors, moderator):
    kept = record_evidence(case=case_a, kind="note", captured_by=moderator, captured_text="kept")
    gone = record_evidence(case=case_a, kind="note", captured_by=moderator, captured_text="gone")
    retract_evidence(evidence=gone, retracted_by=moderator, reason="wrong")
    page = html(mod_client.get(reverse("frontend:case-detail", args=[case_a.pk])))
    cite = page.split('class="cite-list"')[1].split("</fieldset>")[0]
    assert f'value="{kept.pk}"' in cite and f'value="{gone.pk}"' not in cite

    response = _vote(
        mod_client,
        case_a,
        actor=actors[0].pk,
        confidence="low",
        rationale="x",
        cited_evidence=[kept.pk, gone.pk],
    )
    assert response.status_code == 200
    assert "is not one of the available choices" in html(response)
    _vote(mod_client, case_a, actor=actors[0].pk, confidence="low", rationale="x", cited_evidence=[kept.pk])
    assert list(AttributionVote.objects.get().cited_evidence.all()) == [kept]


def test_another_teams_actor_is_not_a_choice(mod_client, case_a, team_b):
    foreign = ActorFactory(team=team_b, name="Foreign actor")
    response = _vote(mod_client, case_a, actor=foreign.pk, confidence="low", rationale="x")
    assert response.status_code == 200
    assert "Foreign actor" not in html(response)
    assert not AttributionVote.objects.exists()


def test_voting_is_a_404_for_an_outsider(outsider_client, case_a, actors):
    assert (
        _vote(outsider_client, case_a, actor=actors[0].pk, confidence="low", rationale="x").status_code == 404
    )
    assert outsider_client.get(reverse("frontend:case-detail", args=[case_a.pk])).status_code == 404
    assert not AttributionVote.objects.exists()


def test_a_lead_sees_the_same_blind_tally(lead_client, case_url, case_a, actors, team_a):
    cast_vote(case=case_a, voter=member(team_a), actor=actors[0], confidence="high", rationale="x")
    tally = html(lead_client.get(case_url)).split('data-testid="tally"')[1].split("</section>")[0]
    assert "stays hidden until you vote" in tally and "Spamouflage" not in tally


# --- every workspace page: CSP and no inline code --------------------------------------------------


@pytest.fixture
def every_workspace_page(team_a, queue, moderator, case_a, actors):
    client = signed_in(moderator)
    lease = claim_next_item(queue=queue, user=moderator)
    item = record_evidence(
        case=case_a,
        kind="screenshot",
        captured_by=moderator,
        account=lease.item.account,
        files=[Upload(EvidenceFile.Role.SCREENSHOT, "s.png", png_bytes())],
    )
    capture = record_evidence(
        case=case_a,
        kind="page_capture",
        captured_by=moderator,
        files=[
            Upload(
                EvidenceFile.Role.PAGE_CAPTURE, "p.html", b"<p style='color:red'>hi</p><script>x()</script>"
            )
        ],
    )
    return {
        "my work": client.get(reverse("frontend:my-work")),
        "review": client.get(reverse("frontend:work-review", args=[lease.pk])),
        "posts partial": client.get(reverse("frontend:work-posts", args=[lease.item.account.pk])),
        "techniques partial": client.get(reverse("frontend:work-techniques")),
        "case": client.get(reverse("frontend:case-detail", args=[case_a.pk])),
        "evidence form": client.get(reverse("frontend:evidence-new", args=[case_a.pk])),
        "evidence": client.get(reverse("frontend:evidence-detail", args=[item.pk])),
        "capture source": client.get(reverse("frontend:evidence-detail", args=[capture.pk])),
        "capture preview page": client.get(
            reverse("frontend:evidence-detail", args=[capture.pk]), {"view": "preview"}
        ),
    }


def test_every_workspace_page_has_the_strict_policy_and_no_inline_code(every_workspace_page):
    for name, response in every_workspace_page.items():
        assert response.status_code == 200, name
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy, name
        assert "frame-ancestors 'none'" in policy, name
        # A captured page's source is shown as escaped text: what it says is not markup of ours.
        page = re.sub(r'<pre class="capture-source">.*?</pre>', "", html(response), flags=re.S)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), f"{name}: inline <script>"
        assert not re.search(r"\sstyle\s*=", page), f"{name}: style attribute"
        assert "<style" not in page, f"{name}: <style> element"
        assert not re.search(r"\son[a-z]+\s*=", page), f"{name}: inline event handler"
        assert "hx-on" not in page and "js:" not in page, f"{name}: htmx code needing eval"


def test_evidence_count_badge_counts_only_standing_items(mod_client, case_a, moderator):
    first = record_evidence(case=case_a, kind="note", captured_by=moderator, captured_text="a")
    retract_evidence(evidence=first, retracted_by=moderator, reason="b")
    assert Evidence.objects.count() == 2
    page = html(mod_client.get(reverse("frontend:case-detail", args=[case_a.pk])))
    assert '<h2 id="evidence-title">Evidence <span class="count">2</span></h2>' in page
