"""Getting to similar accounts: the top bar's "Networks" entry, the case page's links (possible
networks, a sweep of the case's neighbourhood) and the review screen's link to the networks."""

import re

import pytest
from django.urls import reverse

from cases.models import Job, JobKind, Role
from cases.services.cases import add_account_to_case
from cases.services.queues import claim_next_item, create_queue_from_case
from frontend.templatetags.network_tags import networks_team_slug
from tests.factories import AccountFactory, CaseFactory, MembershipFactory, TeamFactory, UserFactory
from tests.similarity.conftest import signed_in

pytestmark = pytest.mark.django_db

NAV = re.compile(r'<nav class="topbar-nav" aria-label="Main">(.*?)</nav>', re.S)


def nav_of(response) -> str:
    assert response.status_code == 200
    return NAV.search(response.content.decode()).group(1)


def networks_href(team) -> str:
    return reverse("frontend:networks", kwargs={"team_slug": team.slug})


def test_a_member_finds_networks_in_the_main_navigation_and_it_opens(moderator, team_a):
    client = signed_in(moderator)
    nav = nav_of(client.get("/"))
    assert f'<a href="{networks_href(team_a)}">Networks</a>' in nav

    page = client.get(networks_href(team_a))
    assert page.status_code == 200
    assert f'<a href="{networks_href(team_a)}" aria-current="page">Networks</a>' in nav_of(page)
    assert "<h1>Possible networks</h1>" in page.content.decode()


def test_every_role_sees_the_entry(team_a, lead, admin_user, moderator):
    for user in (moderator, lead, admin_user):
        assert "Networks</a>" in nav_of(signed_in(user).get("/"))


def test_a_user_in_no_team_has_no_entry(db):
    loner = UserFactory(username="loner")
    assert "Networks" not in nav_of(signed_in(loner).get("/"))


def test_the_entry_follows_the_team_of_the_page_and_never_leads_to_another_teams(team_a, team_b, outsider):
    # A user in two teams: the entry opens the team of the case they are looking at.
    both = MembershipFactory(team=team_a, role=Role.MODERATOR, user=UserFactory(username="both")).user
    MembershipFactory(team=team_b, role=Role.MODERATOR, user=both)
    case_b = CaseFactory(team=team_b)
    client = signed_in(both)
    assert networks_href(team_b) in nav_of(client.get(reverse("frontend:case-detail", args=[case_b.pk])))
    # Elsewhere: the first of their teams by name; the page offers the other one.
    assert networks_href(team_a) in nav_of(client.get("/"))
    html = client.get(networks_href(team_a)).content.decode()
    assert f'<a href="{networks_href(team_b)}">Team B</a>' in html

    # The outsider's entry is their own team's; team A's page is a 404 for them.
    outsider_client = signed_in(outsider)
    nav = nav_of(outsider_client.get("/"))
    assert networks_href(team_b) in nav and networks_href(team_a) not in nav
    assert outsider_client.get(networks_href(team_a)).status_code == 404


def test_the_entry_reuses_the_teams_a_page_lists_and_otherwise_asks_once(
    moderator, team_a, rf, django_assert_num_queries
):
    request = rf.get("/")
    request.user = moderator
    with django_assert_num_queries(0):
        assert networks_team_slug({"request": request, "teams": [team_a]}) == team_a.slug
    with django_assert_num_queries(1):
        assert networks_team_slug({"request": request}) == team_a.slug
        assert networks_team_slug({"request": request}) == team_a.slug  # kept on the request


# --- from a case and from the review screen ------------------------------------------------------------


@pytest.fixture
def case_a(team_a, lead):
    case = CaseFactory(team=team_a, title="Copy-paste network")
    for _ in range(2):
        add_account_to_case(case=case, account=AccountFactory(team=team_a), added_by=lead)
    return case


def test_the_case_page_links_to_the_networks_and_sweeps_the_cases_neighbourhood(moderator, team_a, case_a):
    client = signed_in(moderator)
    html = client.get(reverse("frontend:case-detail", args=[case_a.pk])).content.decode()
    sweep_url = reverse("frontend:network-sweep", kwargs={"team_slug": team_a.slug})
    assert f'<a class="btn btn-quiet" href="{networks_href(team_a)}">Possible networks</a>' in html
    assert f'action="{sweep_url}"' in html and f'name="case" value="{case_a.pk}"' in html

    response = client.post(sweep_url, {"case": case_a.pk})
    job = Job.objects.get(kind=JobKind.SIMILARITY_SWEEP)
    assert response.status_code == 302 and response.url == reverse("frontend:job-detail", args=[job.pk])
    assert (job.params["scope"], job.params["case_id"], job.created_by) == ("case", case_a.pk, moderator)


def test_a_sweep_of_another_teams_case_is_a_404(moderator, team_a, team_b, outsider):
    theirs = CaseFactory(team=team_b)
    sweep_url = reverse("frontend:network-sweep", kwargs={"team_slug": team_a.slug})
    client = signed_in(moderator)
    assert client.post(sweep_url, {"case": theirs.pk}).status_code == 404
    assert client.post(sweep_url, {"case": "x"}).status_code == 404
    # Their own case, through a team they are not in: 404 too.
    own = reverse("frontend:network-sweep", kwargs={"team_slug": team_a.slug})
    assert signed_in(outsider).post(own, {"case": theirs.pk}).status_code == 404
    assert not Job.objects.exists()


def test_the_review_screen_links_to_the_teams_networks(moderator, lead, team_a, case_a):
    queue = create_queue_from_case(case=case_a, name="Q", created_by=lead)
    assignment = claim_next_item(queue=queue, user=moderator)
    html = signed_in(moderator).get(reverse("frontend:work-review", args=[assignment.pk])).content.decode()
    assert f'<a href="{networks_href(team_a)}">Possible networks in {team_a.name}</a>' in html


def test_team_names_in_the_switch_are_escaped(team_a, moderator):
    hostile = TeamFactory(slug="evil", name="<script>alert(1)</script>")
    MembershipFactory(team=hostile, role=Role.MODERATOR, user=moderator)
    html = signed_in(moderator).get(networks_href(team_a)).content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
