"""The "Possible networks" page: clusters with size, top signals and members; a case made from one."""

import pytest
from django.urls import reverse

from cases.models import AuditEvent, Case, CaseAccount, Job, SimilaritySuggestion, SuggestionStatus
from cases.services.similarity import create_case_from_cluster, create_similarity_sweep_job
from cases.similarity_selectors import list_possible_networks
from cases.tasks import similarity_sweep_task
from tests.factories import AccountFactory, TeamFactory
from tests.similarity.conftest import organic, plant_network, signed_in
from tests.support import count_queries

pytestmark = pytest.mark.django_db


def sweep(team):
    job = create_similarity_sweep_job(team=team)
    similarity_sweep_task(job.pk)


@pytest.fixture
def networks(team_a):
    first = plant_network(team_a, 6, prefix="alpha", seed=1)
    second = plant_network(team_a, 4, prefix="beta", seed=2)
    organic(team_a, 20)
    sweep(team_a)
    return first, second


def page_url(team) -> str:
    return reverse("frontend:networks", kwargs={"team_slug": team.slug})


def create_url(team) -> str:
    return reverse("frontend:network-create-case", kwargs={"team_slug": team.slug})


def test_the_page_lists_networks_with_size_signals_and_members(moderator, team_a, networks):
    response = signed_in(moderator).get(page_url(team_a))
    assert response.status_code == 200
    html = response.content.decode()
    assert "6 accounts" in html and "4 accounts" in html
    assert html.index("6 accounts") < html.index("4 accounts")  # largest first
    assert "copy paste" in html and "near-identical posts" in html
    for account in networks[0] + networks[1]:
        assert f"@{account.handle}" in html
    assert "organic" not in html
    assert "Create case from cluster" in html


def test_networks_join_accepted_pairs_and_never_dismissed_ones(team_a, networks):
    first, second = networks
    # Dismissing every pair of the small network takes it apart.
    SimilaritySuggestion.objects.filter(account_a__in=second).update(status=SuggestionStatus.DISMISSED)
    # An accepted pair joins whatever its score.
    bridge = SimilaritySuggestion.objects.create(
        team=team_a,
        account_a=first[0],
        account_b=AccountFactory(team=team_a),
        score=0.1,
        status=SuggestionStatus.ACCEPTED,
    )
    (only,) = list_possible_networks(team=team_a)
    assert set(only.account_ids) == {a.pk for a in first} | {bridge.account_b_id}
    assert only.accepted == 1


def test_create_case_from_cluster_adds_its_accounts_and_is_audited(moderator, team_a, networks):
    first, _ = networks
    client = signed_in(moderator)
    before = AuditEvent.objects.count()
    response = client.post(create_url(team_a), {"account": min(a.pk for a in first), "title": "Alpha ring"})

    case = Case.objects.get(title="Alpha ring")
    assert response.status_code == 302 and response["Location"] == reverse(
        "frontend:case-detail", args=[case.pk]
    )
    links = CaseAccount.objects.filter(case=case)
    assert {link.account_id for link in links} == {a.pk for a in first}
    assert all(link.suggestion is not None and link.added_by == moderator for link in links)
    verbs = list(AuditEvent.objects.order_by("pk").values_list("verb", flat=True)[before:])
    assert verbs == ["case.created"] + ["case.account_added"] * 6 + ["similarity.case_from_cluster"]
    event = AuditEvent.objects.get(verb="similarity.case_from_cluster")
    assert (event.user, event.target_id) == (moderator, str(case.pk))
    assert sorted(event.data["accounts"]) == sorted(a.pk for a in first)
    assert "copy_paste" in event.data["top_signals"]
    case.refresh_from_db()
    assert case.account_count == 6 and "Top signals" in case.summary


def test_a_case_from_cluster_gets_a_title_when_none_is_given(moderator, team_a, networks):
    case = create_case_from_cluster(team=team_a, account_id=networks[1][2].pk, created_by=moderator)
    assert case.title.startswith("Possible network around @beta") and case.title.endswith("(4 accounts)")


def test_an_account_in_no_network_is_a_message_not_a_case(moderator, team_a, networks):
    loner = AccountFactory(team=team_a)
    client = signed_in(moderator)
    response = client.post(create_url(team_a), {"account": loner.pk}, follow=True)
    assert response.redirect_chain[-1][0] == page_url(team_a)
    assert "no possible network" in response.content.decode()
    response = client.post(create_url(team_a), {"account": "x"}, follow=True)
    assert "Choose a network" in response.content.decode()
    assert not Case.objects.exists()


def test_another_team_gets_a_404_for_the_page_and_the_actions(outsider, team_a, networks):
    client = signed_in(outsider)
    assert client.get(page_url(team_a)).status_code == 404
    assert client.post(create_url(team_a), {"account": networks[0][0].pk}).status_code == 404
    sweep_url = reverse("frontend:network-sweep", kwargs={"team_slug": team_a.slug})
    assert client.post(sweep_url).status_code == 404
    assert client.get(reverse("frontend:networks", kwargs={"team_slug": "no-such-team"})).status_code == 404
    assert not Case.objects.exists()


def test_an_anonymous_visitor_is_sent_to_log_in(client, team_a):
    response = client.get(page_url(team_a))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_page_asks_the_same_number_of_queries_for_one_network_or_many(moderator):
    small = TeamFactory(slug="small")
    large = TeamFactory(slug="large")
    from tests.factories import MembershipFactory

    for team in (small, large):
        MembershipFactory(team=team, user=moderator)
    plant_network(small, 3, prefix="one", seed=1)
    for n in range(5):
        plant_network(large, 3 + n, prefix=f"net{n}x", seed=10 + n)
    sweep(small)
    sweep(large)
    client = signed_in(moderator)
    client.get(page_url(small))  # warm the session
    one = count_queries(lambda: client.get(page_url(small)))
    many = count_queries(lambda: client.get(page_url(large)))
    assert len(list_possible_networks(team=large)) == 5
    assert one == many


def test_run_a_sweep_from_the_page(moderator, team_a, django_capture_on_commit_callbacks):
    url = reverse("frontend:network-sweep", kwargs={"team_slug": team_a.slug})
    with django_capture_on_commit_callbacks() as callbacks:
        response = signed_in(moderator).post(url)
    job = Job.objects.get()
    assert response["Location"] == reverse("frontend:job-detail", args=[job.pk])
    assert job.created_by == moderator and len(callbacks) == 1
