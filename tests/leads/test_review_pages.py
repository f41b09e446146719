"""The lead console's review pages through HTTP: agreement and adjudication, the decision page,
outcomes and the timeline — what they show, who may see and act (403 for moderators with the
buttons absent, 404 for other teams), hostile text escaped, query counts that do not grow."""

import pytest
from django.db import connection
from django.urls import reverse

from cases.models import AccountOutcome, Adjudication, AttributionDecision, AuditEvent, CaseStatus
from cases.services.cases import add_account_to_case
from cases.services.decisions import decide_attribution, reopen_case
from cases.services.labels import submit_label
from cases.services.outcomes import set_account_outcomes
from cases.services.votes import cast_vote
from tests.factories import AccountFactory, ActorFactory, CaseFactory
from tests.leads.conftest import html, signed_in
from tests.services.review_support import member
from tests.support import page_queries

pytestmark = pytest.mark.django_db


def url(name, case, *args):
    return reverse(f"frontend:{name}", args=[case.pk, *args])


PAGES = ("lead-agreement", "lead-decision", "lead-timeline")


# --- access ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*PAGES, "lead-outcomes"])
def test_every_page_is_a_404_for_another_team(name, lead_case, outsider_client, outsider_lead_client):
    assert outsider_client.get(url(name, lead_case)).status_code == 404
    assert outsider_lead_client.get(url(name, lead_case)).status_code == 404


@pytest.mark.parametrize("name", PAGES)
def test_lead_pages_are_403_for_moderators(name, lead_case, mod_client, lead_client):
    assert mod_client.get(url(name, lead_case)).status_code == 403
    assert lead_client.get(url(name, lead_case)).status_code == 200


def test_every_lead_action_is_403_for_moderators_and_404_for_outsiders(
    lead_case, mod_client, outsider_lead_client, actors
):
    s1 = lead_case.suspects[1]
    posts = [
        (url("lead-adjudicate", lead_case, s1.pk), {"verdict": "authentic", "reason": "x"}),
        (url("lead-decide", lead_case), {"actor": actors[0].pk, "confidence": "high", "rationale": "x"}),
        (url("lead-reopen", lead_case), {"reason": "x"}),
        (
            url("lead-outcomes-set", lead_case),
            {"account": [s1.pk], "outcome": "removed", "policy_basis": "x"},
        ),
    ]
    for address, data in posts:
        assert mod_client.post(address, data).status_code == 403, address
        assert outsider_lead_client.post(address, data).status_code == 404, address
    assert not Adjudication.objects.exists() and not AttributionDecision.objects.exists()
    assert not AccountOutcome.objects.exists()


def test_queue_agreement_access(lead_queue, lead_client, mod_client, outsider_lead_client):
    address = reverse("frontend:lead-queue-agreement", args=[lead_queue.pk])
    assert lead_client.get(address).status_code == 200
    assert mod_client.get(address).status_code == 403
    assert outsider_lead_client.get(address).status_code == 404
    assert lead_client.get(reverse("frontend:lead-queue-agreement", args=[999999])).status_code == 404


# --- agreement and adjudication ---------------------------------------------------------------------


def test_agreement_page_shows_the_numbers_and_the_conflict(lead_client, lead_case):
    page = html(lead_client.get(url("lead-agreement", lead_case)))
    numbers = page.split('data-testid="agreement-numbers"')[1].split("</section>")[0]
    assert 'data-testid="percent-agreement">78%<' in numbers  # 7/9
    assert 'data-testid="alpha">0.00<' in numbers
    conflicts = page.split('data-testid="conflicts"')[1]
    assert "@lead_suspect_1" in conflicts and "@lead_suspect_0" not in conflicts
    assert "1 open of 1" in conflicts
    assert conflicts.count('class="verdict-pill verdict-') == 3  # the three original labels
    assert "Adjudicate</button>" in conflicts


def test_adjudicating_through_the_page_keeps_the_labels_visible(lead_client, lead_case):
    s1 = lead_case.suspects[1]
    response = lead_client.post(
        url("lead-adjudicate", lead_case, s1.pk), {"verdict": "inauthentic", "reason": "Copies <b>NYT</b>"}
    )
    assert response.status_code == 302
    assert Adjudication.objects.get().reason == "Copies <b>NYT</b>"
    page = html(lead_client.get(url("lead-agreement", lead_case)))
    row = page.split(f'id="conflict-{s1.pk}"')[1].split("</li>")[0]
    assert "Final: Inauthentic" in row and "Authentic</span>" in row  # the dissenting label stays
    assert "Copies &lt;b&gt;NYT&lt;/b&gt;" in page and "<b>NYT</b>" not in page
    assert "0 open of 1" in page


def test_adjudicating_with_htmx_returns_the_row_and_shows_a_missing_reason(lead_client, lead_case):
    s1 = lead_case.suspects[1]
    response = lead_client.post(
        url("lead-adjudicate", lead_case, s1.pk),
        {"verdict": "authentic", "reason": " "},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    row = html(response)
    assert row.lstrip().startswith("<li") and "<html" not in row
    assert "an adjudication needs its reason" in row
    assert not Adjudication.objects.exists()
    response = lead_client.post(
        url("lead-adjudicate", lead_case, s1.pk),
        {"verdict": "authentic", "reason": "real"},
        HTTP_HX_REQUEST="true",
    )
    assert "Final: Authentic" in html(response)


def test_adjudicating_an_account_of_another_case_is_a_404(lead_client, lead_case, team_a):
    stranger = AccountFactory(team=team_a)
    response = lead_client.post(
        url("lead-adjudicate", lead_case, stranger.pk), {"verdict": "authentic", "reason": "x"}
    )
    assert response.status_code == 404


def test_agreement_page_query_count_does_not_grow(lead_client, lead_case, team_a, lead):
    reviewers = [member(team_a) for _ in range(3)]

    def add(n):
        for i in range(n):
            account = AccountFactory(team=team_a)
            add_account_to_case(case=lead_case, account=account, added_by=lead)
            for j, reviewer in enumerate(reviewers):
                verdict = "authentic" if (i + j) % 3 == 0 else "inauthentic"
                submit_label(case=lead_case, account=account, annotator=reviewer, verdict=verdict)

    add(2)
    few = page_queries(lead_client, url("lead-agreement", lead_case))
    add(10)
    many = page_queries(lead_client, url("lead-agreement", lead_case))
    assert few == many, (few, many)
    assert many <= 20, many


def test_queue_agreement_page(lead_client, lead_queue, lead_case):
    page = html(lead_client.get(reverse("frontend:lead-queue-agreement", args=[lead_queue.pk])))
    assert 'data-testid="percent-agreement">78%<' in page
    assert 'data-testid="queue-conflict-lead_suspect_1"' in page


# --- decision -------------------------------------------------------------------------------------


def test_decision_page_shows_votes_tally_dissent_quorum_and_four_eyes(lead_client, lead_case, actors):
    page = html(lead_client.get(url("lead-decision", lead_case)))
    assert "Quorum met: 3 votes, 3 needed" in page
    tally = page.split('data-testid="decision-tally"')[1].split("</section>")[0]
    assert tally.index("Spamouflage") < tally.index("Doppelganger")  # score 5 before 1
    assert "score 5" in tally and "83%" in tally
    assert "only your vote" in tally  # Doppelganger: the lead's own vote alone
    dissent = page.split('data-testid="dissent"')[1].split("</ul>")[0]
    assert "Doppelganger" in dissent and "Spamouflage" not in dissent
    votes = page.split('data-testid="votes"')[1].split("</section>")[0]
    assert all(r in votes for r in ("Copies.", "Timing.", "Brands."))
    assert "Decide attribution</button>" in page


def test_quorum_not_met_is_shown(lead_client, lead_case, team_a):
    team_a.attribution_quorum = 5
    team_a.save()
    page = html(lead_client.get(url("lead-decision", lead_case)))
    assert "Quorum not met: 3 votes, 5 needed" in page


def test_the_four_eyes_rule_refuses_with_a_clear_message(lead_client, lead_case, actors):
    doppelganger = actors[1]
    response = lead_client.post(
        url("lead-decide", lead_case), {"actor": doppelganger.pk, "confidence": "low", "rationale": "Brands"}
    )
    assert response.status_code == 200
    error = html(response).split('data-testid="decide-error"')[1].split("</div>")[0]
    assert "Only your own vote is for Doppelganger" in error and "Four eyes" in error
    assert not AttributionDecision.objects.exists()
    lead_case.refresh_from_db()
    assert lead_case.status == CaseStatus.IN_REVIEW


def test_deciding_and_reopening_through_the_page(lead_client, lead_case, actors, lead):
    response = lead_client.post(
        url("lead-decide", lead_case), {"actor": actors[0].pk, "confidence": "high", "rationale": "Two agree"}
    )
    assert response.status_code == 302
    lead_case.refresh_from_db()
    assert lead_case.status == CaseStatus.DECIDED
    page = html(lead_client.get(url("lead-decision", lead_case)))
    assert 'data-testid="standing-decision"' in page and "Reopen the case</button>" in page
    assert "Decide attribution</button>" not in page

    refused = lead_client.post(url("lead-reopen", lead_case), {"reason": "  "})
    assert "Say why the case is reopened" in html(refused)
    lead_client.post(url("lead-reopen", lead_case), {"reason": "New brand domains"})
    lead_case.refresh_from_db()
    assert lead_case.status == CaseStatus.IN_REVIEW
    history = html(lead_client.get(url("lead-decision", lead_case))).split('data-testid="decision-history"')[
        1
    ]
    assert "withdrawn" in history and "Reopened because: New brand domains" in history


def test_a_missing_or_foreign_actor_is_refused(lead_client, lead_case, team_b):
    foreign = ActorFactory(team=team_b, name="Theirs")
    for actor in ("", "abc", foreign.pk):
        response = lead_client.post(
            url("lead-decide", lead_case), {"actor": actor, "confidence": "high", "rationale": "x"}
        )
        assert "Choose the actor" in html(response)
    assert not AttributionDecision.objects.exists()


def test_decision_page_query_count_does_not_grow_with_votes(lead_client, lead_case, team_a, actors):
    few = page_queries(lead_client, url("lead-decision", lead_case))
    for _ in range(6):
        cast_vote(case=lead_case, voter=member(team_a), actor=actors[0], confidence="moderate", rationale="r")
    many = page_queries(lead_client, url("lead-decision", lead_case))
    assert few == many, (few, many)


# --- outcomes -------------------------------------------------------------------------------------


@pytest.fixture
def decided(lead_case, lead, actors):
    decide_attribution(case=lead_case, lead=lead, actor=actors[0], confidence="high", rationale="Two agree")
    return lead_case


def test_bulk_outcomes_from_the_accounts_table(lead_client, decided):
    s0, s1 = decided.suspects[:2]
    response = lead_client.post(
        url("lead-outcomes-set", decided),
        {"account": [s0.pk, s1.pk], "outcome": "removed", "policy_basis": "CIB §2"},
    )
    assert response.status_code == 302
    assert sorted(AccountOutcome.objects.values_list("account_id", "outcome")) == [
        (s0.pk, "removed"),
        (s1.pk, "removed"),
    ]
    page = html(lead_client.get(url("lead-outcomes", decided)))
    row = page.split('data-testid="outcome-row-lead_suspect_0"')[1].split("</tr>")[0]
    assert "Removed" in row and "CIB §2" in row


def test_outcome_errors_show_on_the_page(lead_client, decided, team_b):
    s0 = decided.suspects[0]
    missing_basis = lead_client.post(
        url("lead-outcomes-set", decided), {"account": [s0.pk], "outcome": "removed"}
    )
    assert "Give the policy basis" in html(missing_basis)
    foreign = AccountFactory(team=team_b)
    mixed = lead_client.post(
        url("lead-outcomes-set", decided),
        {"account": [s0.pk, foreign.pk], "outcome": "removed", "policy_basis": "x"},
    )
    assert "not on this case" in html(mixed)
    assert not AccountOutcome.objects.exists()


def test_moderators_read_outcomes_of_a_decided_case_without_the_form(mod_client, decided, lead_case):
    page = html(mod_client.get(url("lead-outcomes", decided)))
    assert "You can read this page" in page
    assert "Set outcome on selected" not in page and 'name="account"' not in page
    assert f'href="/cases/{decided.pk}/decision/"' not in page  # lead tabs absent


def test_moderators_get_403_on_outcomes_before_the_decision(mod_client, lead_case):
    assert mod_client.get(url("lead-outcomes", lead_case)).status_code == 403


def test_outcomes_page_query_count_does_not_grow(lead_client, decided, team_a, lead, actors):
    few = page_queries(lead_client, url("lead-outcomes", decided))
    reopen_case(case=decided, lead=lead, reason="more accounts")
    for _ in range(10):
        add_account_to_case(case=decided, account=AccountFactory(team=team_a), added_by=None)
    decide_attribution(case=decided, lead=lead, actor=actors[0], confidence="high", rationale="Again")
    set_account_outcomes(
        case=decided,
        accounts=[link.account for link in decided.case_accounts.all()],
        outcome="labeled",
        policy_basis="x",
        set_by=lead,
    )
    many = page_queries(lead_client, url("lead-outcomes", decided))
    assert few == many, (few, many)


# --- timeline ---------------------------------------------------------------------------------------


def test_timeline_shows_the_case_audit_trail_newest_first(lead_client, decided, lead):
    page = html(lead_client.get(url("lead-timeline", decided)))
    timeline = page.split('data-testid="timeline"')[1]
    verbs = [part.split('"')[0] for part in timeline.split('data-verb="')[1:]]
    assert verbs[0] == "case.decided"
    assert {"label.submitted", "vote.cast", "case.account_added"} <= set(verbs)
    expected = sum(
        1
        for e in AuditEvent.objects.all()
        if e.data.get("case") == decided.pk or (e.target_type, e.target_id) == ("cases.case", str(decided.pk))
    )
    assert f"{expected} events" in timeline
    assert "decided the attribution" in timeline and "Two agree" in timeline


def test_timeline_does_not_mix_in_other_cases(lead_client, lead_case, team_a, lead):
    other = AccountFactory(team=team_a, handle="other_case_account")
    second = CaseFactory(team=team_a, title="Another investigation entirely")
    add_account_to_case(case=second, account=other, added_by=lead)
    submit_label(case=second, account=other, annotator=lead, verdict="unsure", note="elsewhere")
    page = html(lead_client.get(url("lead-timeline", lead_case)))
    assert second.title not in page  # its "account added" event targets the other case
    assert "other_case_account" not in page


def test_timeline_query_count_does_not_grow(lead_client, lead_case, team_a, actors):
    few = page_queries(lead_client, url("lead-timeline", lead_case))
    for _ in range(8):
        cast_vote(case=lead_case, voter=member(team_a), actor=actors[0], confidence="low", rationale="r")
    many = page_queries(lead_client, url("lead-timeline", lead_case))
    assert few == many, (few, many)


def test_hostile_text_is_escaped_everywhere(lead_client, lead_case, team_a, lead, actors):
    evil = "<script>alert(1)</script>"
    s1 = lead_case.suspects[1]
    submit_label(case=lead_case, account=s1, annotator=lead, verdict="authentic", note=evil)
    cast_vote(case=lead_case, voter=lead, actor=actors[0], confidence="low", rationale=evil)
    lead_client.post(url("lead-adjudicate", lead_case, s1.pk), {"verdict": "unsure", "reason": evil})
    for name in PAGES:
        page = html(lead_client.get(url(name, lead_case)))
        assert evil not in page, name
        assert "&lt;script&gt;" in page, name


def test_timeline_names_actors(lead_client, decided):
    page = html(lead_client.get(url("lead-timeline", decided)))
    assert "Actor:</span> Spamouflage" in page


def test_the_case_page_links_leads_to_the_review_and_not_moderators(lead_client, mod_client, lead_case):
    case_page = reverse("frontend:case-detail", args=[lead_case.pk])
    assert url("lead-agreement", lead_case) in html(lead_client.get(case_page))
    page = html(mod_client.get(case_page))
    assert 'data-testid="lead-review-link"' not in page and url("lead-agreement", lead_case) not in page


@pytest.mark.postgres
def test_the_timeline_lookup_has_its_index():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'audit_data_case'")
        (definition,) = cursor.fetchone()
    assert "(data -> 'case'::text)" in definition


@pytest.mark.parametrize("name", [*PAGES, "lead-outcomes"])
def test_admins_act_as_leads(name, lead_case, admin_user):
    assert signed_in(admin_user).get(url(name, lead_case)).status_code == 200
