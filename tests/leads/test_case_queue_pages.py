"""Case-queue pages over HTTP: what a lead sees and may do, what a moderator may not, what an
outsider cannot even see; filters, sorting, saved filters, bulk actions; query counts."""

import pytest
from django.urls import reverse

from cases.agreement import percent_agreement
from cases.lead_selectors import SORTS, CaseQueueFilters, list_case_queue_for_user
from cases.models import AuditEvent, CaseStatus, Label, Priority, Queue, SavedFilter
from cases.services import lead_cases
from cases.services.cases import add_account_to_case
from cases.services.labels import submit_label
from tests.factories import AccountFactory, CaseFactory
from tests.leads.conftest import html
from tests.support import page_queries


def queue_url(team) -> str:
    return reverse("frontend:lead-cases", args=[team.slug])


def bulk_url(team) -> str:
    return reverse("frontend:lead-cases-bulk", args=[team.slug])


def test_lead_sees_every_column_and_the_bulk_actions(lead_client, team_a, lead_case):
    page = html(lead_client.get(queue_url(team_a)))
    for heading in [
        "Status",
        "Priority",
        "Age",
        "Lead",
        "Accounts",
        "Labeled",
        "Agreement",
        "Consensus",
        "Confidence",
        "Open suggestions",
        "Last activity",
    ]:
        assert f">{heading}" in page
    assert lead_case.title in page
    assert 'value="assign_lead"' in page and 'value="close"' in page and 'value="create_queue"' in page
    # s0 agree (1), s1 one pair of three agrees (1/3), s2 agree (1) -> mean 7/9 = 78%
    assert "78%" in page
    assert "1 conflict" in page
    # Spamouflage: high (3) + moderate (2) of 6 -> 83%
    assert "Spamouflage" in page and "83%" in page


def test_moderator_reads_the_queue_without_action_buttons(mod_client, team_a, lead_case):
    page = html(mod_client.get(queue_url(team_a)))
    assert lead_case.title in page
    assert 'value="assign_lead"' not in page and 'name="case"' not in page


@pytest.mark.parametrize("action", ["assign_lead", "set_priority", "create_queue", "close"])
def test_moderator_gets_403_for_every_bulk_action(mod_client, team_a, lead_case, moderator, action):
    before = AuditEvent.objects.count()
    response = mod_client.post(
        bulk_url(team_a),
        {
            "action": action,
            "case": [lead_case.pk],
            "lead": moderator.pk,
            "priority": 4,
            "queue_name": "q",
            "reason": "r",
        },
    )
    assert response.status_code == 403
    assert AuditEvent.objects.count() == before


def test_outsider_gets_404_for_the_queue_and_bulk_actions(
    outsider_client, outsider_lead_client, team_a, lead_case
):
    for client in (outsider_client, outsider_lead_client):
        assert client.get(queue_url(team_a)).status_code == 404
        assert (
            client.post(
                bulk_url(team_a), {"action": "close", "case": [lead_case.pk], "reason": "x"}
            ).status_code
            == 404
        )
        assert (
            client.post(reverse("frontend:lead-filter-save", args=[team_a.slug]), {"name": "x"}).status_code
            == 404
        )
    lead_case.refresh_from_db()
    assert lead_case.status != CaseStatus.CLOSED


def test_another_teams_case_id_mixed_into_a_bulk_action_is_404_and_changes_nothing(
    lead_client, outsider_lead_client, team_a, team_b, lead_case, case_b
):
    response = lead_client.post(
        bulk_url(team_a), {"action": "set_priority", "case": [lead_case.pk, case_b.pk], "priority": 4}
    )
    assert response.status_code == 404
    # ...and the other way round: team B's lead naming team A's case in team B's bulk action.
    response = outsider_lead_client.post(
        bulk_url(team_b), {"action": "set_priority", "case": [case_b.pk, lead_case.pk], "priority": 4}
    )
    assert response.status_code == 404
    lead_case.refresh_from_db()
    case_b.refresh_from_db()
    assert lead_case.priority == case_b.priority == Priority.NORMAL
    assert not AuditEvent.objects.filter(verb="case.priority_changed").exists()


def test_bulk_assign_lead_through_the_page(lead_client, team_a, lead_case, moderator):
    other = CaseFactory(team=team_a, title="Other")
    response = lead_client.post(
        bulk_url(team_a),
        {
            "action": "assign_lead",
            "case": [lead_case.pk, other.pk],
            "lead": moderator.pk,
            "query": "sort=title",
        },
    )
    assert response.status_code == 302 and response["Location"].endswith("?sort=title")
    lead_case.refresh_from_db()
    other.refresh_from_db()
    assert lead_case.lead == other.lead == moderator
    assert AuditEvent.objects.filter(verb="case.lead_assigned").count() == 2


def test_bulk_create_queue_and_close_through_the_page(lead_client, team_a, lead_case):
    response = lead_client.post(
        bulk_url(team_a), {"action": "create_queue", "case": [lead_case.pk], "queue_name": "From the queue"}
    )
    queue = Queue.objects.get(name="From the queue")
    assert response["Location"] == reverse("frontend:lead-queue-monitor", args=[queue.pk])
    response = lead_client.post(
        bulk_url(team_a), {"action": "close", "case": [lead_case.pk], "reason": "done"}
    )
    assert response.status_code == 302
    lead_case.refresh_from_db()
    assert lead_case.status == CaseStatus.CLOSED


def test_bulk_errors_come_back_as_messages(lead_client, team_a, lead_case):
    response = lead_client.post(bulk_url(team_a), {"action": "close", "case": [lead_case.pk]}, follow=True)
    assert "Say why the cases are closed." in html(response)
    response = lead_client.post(bulk_url(team_a), {"action": "close"}, follow=True)
    assert "Select at least one case." in html(response)


def test_filters_narrow_the_table(lead_client, team_a, lead_case, lead, actors):
    quiet = CaseFactory(team=team_a, title="Quiet case", priority=Priority.LOW)
    page = html(lead_client.get(queue_url(team_a), {"conflicts": "yes"}))
    assert lead_case.title in page and "Quiet case" not in page
    page = html(lead_client.get(queue_url(team_a), {"priority": [1]}))
    assert "Quiet case" in page and lead_case.title not in page
    page = html(lead_client.get(queue_url(team_a), {"lead": "none"}))
    assert "Quiet case" in page and lead_case.title not in page
    page = html(lead_client.get(queue_url(team_a), {"lead": lead.pk}))
    assert lead_case.title in page and "Quiet case" not in page
    page = html(lead_client.get(queue_url(team_a), {"actor": actors[0].pk}))
    assert lead_case.title in page and "Quiet case" not in page
    page = html(lead_client.get(queue_url(team_a), {"actor": actors[1].pk}))
    assert lead_case.title not in page
    page = html(lead_client.get(queue_url(team_a), {"status": ["open"]}))
    assert "Quiet case" in page and lead_case.title not in page  # labels put lead_case in review
    assert quiet.status == CaseStatus.OPEN


def test_stale_filter_uses_last_activity(lead_client, team_a, lead_case):
    import datetime

    from django.utils import timezone

    from tests.factories import raw_update

    old = CaseFactory(team=team_a, title="Forgotten case")
    long_ago = timezone.now() - datetime.timedelta(days=30)
    raw_update(type(old), old.pk, updated_at=long_ago, created_at=long_ago)
    page = html(lead_client.get(queue_url(team_a), {"stale": "1"}))
    assert "Forgotten case" in page and lead_case.title not in page


def test_malformed_filters_are_ignored_not_errors(lead_client, team_a, lead_case):
    response = lead_client.get(
        queue_url(team_a),
        {
            "status": "bogus",
            "priority": "x",
            "lead": "'; drop",
            "actor": "-1",
            "sort": "password",
            "page": "zz",
        },
    )
    assert response.status_code == 200
    assert lead_case.title in html(response)


@pytest.mark.parametrize("key", sorted(SORTS))
def test_every_column_sorts_both_ways(lead_client, team_a, lead_case, key):
    CaseFactory(team=team_a, title="Another case", priority=Priority.URGENT)
    for sort in (key, f"-{key}"):
        response = lead_client.get(queue_url(team_a), {"sort": sort})
        assert response.status_code == 200
        assert 'aria-sort="' in html(response)


def test_sort_orders_by_the_column(lead, team_a, lead_case):
    low = CaseFactory(team=team_a, title="aaa first by title", priority=Priority.LOW)
    urgent = CaseFactory(team=team_a, title="zzz last by title", priority=Priority.URGENT)

    lead_cases.refresh_case_queue_stats(team=team_a)

    def ids(sort):
        qs = list_case_queue_for_user(
            user=lead, team=team_a, filters=CaseQueueFilters.from_query({"sort": [sort]})
        )
        return [c.pk for c in qs]

    assert ids("title")[0] == low.pk and ids("-title")[0] == urgent.pk
    assert ids("-priority")[0] == urgent.pk and ids("priority")[0] == low.pk
    assert ids("-agreement")[0] == lead_case.pk  # the only case with an agreement; others are last
    assert ids("agreement")[0] == lead_case.pk  # empty values sort last both ways
    assert ids("-accounts")[0] == lead_case.pk


def _row(user, team, case):
    lead_cases.refresh_case_queue_stats(team=team)
    [row] = [
        c
        for c in list_case_queue_for_user(user=user, team=team, filters=CaseQueueFilters())
        if c.pk == case.pk
    ]
    return row


def test_selector_agreement_matches_the_agreement_module(lead, team_a, lead_case, moderator):
    case = _row(lead, team_a, lead_case)
    ratings: dict = {}
    for label in Label.objects.filter(case=lead_case):
        ratings.setdefault(label.account_id, {})[label.annotator_id] = label.verdict
    assert case.agreement == pytest.approx(percent_agreement(ratings))
    assert case.conflicts == 1


def test_adjudicated_conflicts_no_longer_count(lead, team_a, lead_case):
    from cases.models import Adjudication, Verdict

    Adjudication.objects.create(
        case=lead_case,
        account=lead_case.suspects[1],
        verdict=Verdict.INAUTHENTIC,
        reason="r",
        decided_by=lead,
    )
    assert _row(lead, team_a, lead_case).conflicts == 0


def test_saved_filters_save_apply_and_delete(lead_client, mod_client, team_a, lead_case, lead):
    response = lead_client.post(
        reverse("frontend:lead-filter-save", args=[team_a.slug]),
        {"name": "In review, urgent", "query": "status=in_review&priority=4&sort=-agreement&evil=1"},
    )
    assert response.status_code == 302
    saved = SavedFilter.objects.get(user=lead)
    assert saved.query == "status=in_review&priority=4&sort=-agreement"
    page = html(lead_client.get(queue_url(team_a)))
    assert "In review, urgent" in page and f"?{saved.query}".replace("&", "&amp;") in page
    assert "In review, urgent" not in html(mod_client.get(queue_url(team_a)))  # per user
    # Someone else's filter is a 404.
    assert mod_client.post(reverse("frontend:lead-filter-delete", args=[saved.pk])).status_code == 404
    lead_client.post(reverse("frontend:lead-filter-delete", args=[saved.pk]))
    assert not SavedFilter.objects.exists()


def test_hostile_titles_and_filter_names_are_escaped(lead_client, team_a, lead):
    CaseFactory(team=team_a, title="<script>alert(1)</script>")
    lead_client.post(
        reverse("frontend:lead-filter-save", args=[team_a.slug]),
        {"name": "<img src=x onerror=alert(1)>", "query": ""},
    )
    page = html(lead_client.get(queue_url(team_a)))
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)" in page
    assert "<img src=x" not in page and "&lt;img src=x" in page
    page = html(lead_client.get(queue_url(team_a), {"q": "<b>x</b>"}))
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_query_count_is_the_same_for_3_and_30_cases(lead_client, team_a, lead, moderator, actors):
    def make(n):
        for i in range(n):
            case = CaseFactory(team=team_a, title=f"Bulk case {i}", lead=lead if i % 2 else moderator)
            account = AccountFactory(team=team_a)
            add_account_to_case(case=case, account=account, added_by=lead)
            submit_label(case=case, account=account, annotator=moderator, verdict="inauthentic")

    page_queries(lead_client, queue_url(team_a))  # the team's first view sets up its watermark
    make(3)
    refresh_few = page_queries(lead_client, queue_url(team_a))  # rebuilds the 3 changed cases' columns
    few = page_queries(lead_client, queue_url(team_a))
    make(27)
    refresh_many = page_queries(lead_client, queue_url(team_a))  # ...and here 27
    many = page_queries(lead_client, queue_url(team_a))
    assert refresh_few == refresh_many
    assert few == many
    # Events of the last minute are read again (see refresh_case_queue_stats), so both views
    # above still rebuild the cases just changed — in the same number of queries.
    assert many <= 24


def test_huge_and_malformed_numbers_in_posts_are_refused_not_500(lead_client, team_a, lead_case, lead_queue):
    bulk = reverse("frontend:lead-cases-bulk", args=[team_a.slug])
    assert lead_client.post(bulk, {"action": "close", "case": ["99999999999999999999999"]}).status_code == 404
    assert lead_client.post(bulk, {"action": "close", "case": ["-1"]}).status_code == 404
    response = lead_client.post(
        bulk, {"action": "assign_lead", "case": [lead_case.pk], "lead": "99999999999999999999"}, follow=True
    )
    assert "Choose a member of the team" in html(response)
    priority = reverse("frontend:lead-queue-priority", args=[lead_queue.pk])
    assert lead_client.post(priority, {"priority": "1", "item": "99999999999999999999"}).status_code == 404
    assert not AuditEvent.objects.filter(verb="queue.priority_changed").exists()
    reviewers = reverse("frontend:lead-queue-reviewer-add", args=[lead_queue.pk])
    response = lead_client.post(reviewers, {"reviewer": "99999999999999999999"}, follow=True)
    assert "No such user in this team." in html(response)
    response = lead_client.get(queue_url(team_a), {"lead": "99999999999", "actor": "99999999999"})
    assert response.status_code == 200
