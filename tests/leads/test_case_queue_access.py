"""Every route of the case queue and queue monitor, by role: a member of another team gets 404
for everything (reads and writes, leads of the other team too), a moderator reads the pages but
gets 403 for every action, a lead gets through. A meta-test keeps the table complete."""

import pytest
from django.urls import reverse

from cases.models import AuditEvent
from cases.services import lead_cases
from cases.services.queues import claim_next_item
from frontend import lead_queue as lead_queue_views

# name -> (method, what the moderator gets)
ROUTES = {
    "leads": ("get", 302),
    "lead-cases": ("get", 200),
    "lead-cases-bulk": ("post", 403),
    "lead-filter-save": ("post", 302),  # a moderator may keep filters of their own
    "lead-filter-delete": ("post", 404),  # someone else's filter
    "lead-queues": ("get", 200),
    "lead-queue-monitor": ("get", 200),
    "lead-queue-release-stale": ("post", 403),
    "lead-queue-release-lease": ("post", 403),
    "lead-queue-priority": ("post", 403),
    "lead-queue-reviewer-add": ("post", 403),
    "lead-queue-reviewer-remove": ("post", 403),
}


def test_every_route_of_the_module_is_in_the_access_table():
    assert {p.name for p in lead_queue_views.urlpatterns} == set(ROUTES)


@pytest.fixture
def urls(team_a, lead_queue, lead_case, lead, moderator_2):
    lease = claim_next_item(queue=lead_queue, user=moderator_2) or pytest.fail("nothing to claim")
    saved = lead_cases.save_filter(team=team_a, user=lead, name="Lead's", query="stale=1")
    lead_cases.add_queue_reviewer(queue=lead_queue, reviewer=moderator_2, added_by=lead)
    q = lead_queue.pk
    return {
        "leads": reverse("frontend:leads"),
        "lead-cases": reverse("frontend:lead-cases", args=[team_a.slug]),
        "lead-cases-bulk": reverse("frontend:lead-cases-bulk", args=[team_a.slug]),
        "lead-filter-save": reverse("frontend:lead-filter-save", args=[team_a.slug]),
        "lead-filter-delete": reverse("frontend:lead-filter-delete", args=[saved.pk]),
        "lead-queues": reverse("frontend:lead-queues", args=[team_a.slug]),
        "lead-queue-monitor": reverse("frontend:lead-queue-monitor", args=[q]),
        "lead-queue-release-stale": reverse("frontend:lead-queue-release-stale", args=[q]),
        "lead-queue-release-lease": reverse("frontend:lead-queue-release-lease", args=[q, lease.pk]),
        "lead-queue-priority": reverse("frontend:lead-queue-priority", args=[q]),
        "lead-queue-reviewer-add": reverse("frontend:lead-queue-reviewer-add", args=[q]),
        "lead-queue-reviewer-remove": reverse(
            "frontend:lead-queue-reviewer-remove", args=[q, moderator_2.pk]
        ),
    }


def _data(lead_case, user):
    return {
        "action": "close",
        "case": [lead_case.pk],
        "reason": "x",
        "priority": 1,
        "reviewer": user.pk,
        "name": "n",
    }


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_other_teams_get_404(name, urls, outsider_client, outsider_lead_client, lead_case, outsider):
    method, _ = ROUTES[name]
    before = AuditEvent.objects.count()
    for client in (outsider_client, outsider_lead_client):
        response = getattr(client, method)(
            urls[name], _data(lead_case, outsider) if method == "post" else None
        )
        if name == "leads":
            # The entry point sends a user to one of their own teams, never team A's.
            assert response.status_code == 302 and "team-a" not in response["Location"]
        else:
            assert response.status_code == 404, (name, response.status_code)
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_moderators_read_but_do_not_act(name, urls, mod_client, lead_case, moderator):
    method, expected = ROUTES[name]
    before = AuditEvent.objects.count()
    response = getattr(mod_client, method)(
        urls[name], _data(lead_case, moderator) if method == "post" else None
    )
    assert response.status_code == expected, (name, response.status_code)
    if expected == 403:
        assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_leads_get_through(name, urls, lead_client, lead_case, moderator):
    method, _ = ROUTES[name]
    response = getattr(lead_client, method)(
        urls[name], _data(lead_case, moderator) if method == "post" else None
    )
    assert response.status_code in (200, 302), (name, response.status_code)


def test_anonymous_users_are_sent_to_log_in(client, urls):
    for name, (method, _) in ROUTES.items():
        response = getattr(client, method)(urls[name])
        assert response.status_code == 302 and "/login/" in response["Location"], name
