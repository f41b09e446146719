"""My work, claiming, releasing and skipping, through HTTP."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Assignment, AssignmentState, Label, Role
from cases.review_selectors import claimable_items
from cases.services.labels import submit_label
from cases.services.lead_cases import add_queue_reviewer
from cases.services.queues import claim_next_item, create_queue_from_case, set_queue_active
from cases.workspace_selectors import get_work_overview_for_user
from tests.factories import CaseFactory, MembershipFactory, UserFactory
from tests.services.review_support import case_with_accounts, member
from tests.support import page_queries
from tests.workspace.conftest import html, signed_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "kwargs", "method"),
    [
        ("my-work", {}, "get"),
        ("work-claim", {"queue_id": 1}, "post"),
        ("work-review", {"assignment_id": 1}, "get"),
        ("work-label", {"assignment_id": 1}, "post"),
        ("work-release", {"assignment_id": 1}, "post"),
        ("work-skip", {"assignment_id": 1}, "post"),
        ("work-posts", {"account_id": 1}, "get"),
        ("work-avatar", {"account_id": 1}, "get"),
        ("work-techniques", {}, "get"),
        ("work-suggestion-accept", {"suggestion_id": 1}, "post"),
        ("work-suggestion-dismiss", {"suggestion_id": 1}, "post"),
        ("case-vote", {"case_id": 1}, "post"),
        ("evidence-new", {"case_id": 1}, "get"),
        ("evidence-detail", {"evidence_id": 1}, "get"),
        ("evidence-retract", {"evidence_id": 1}, "post"),
        ("evidence-file-download", {"file_id": 1}, "get"),
        ("evidence-file-image", {"file_id": 1}, "get"),
        ("evidence-file-preview", {"file_id": 1}, "get"),
    ],
)
def test_every_workspace_url_sends_anonymous_users_to_login(client, name, kwargs, method):
    url = reverse(f"frontend:{name}", kwargs=kwargs)
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse('frontend:login')}?next=")


# --- My work -------------------------------------------------------------------------------------


def test_my_work_shows_the_queue_with_what_is_left_and_the_nav_link(mod_client, queue):
    response = mod_client.get(reverse("frontend:my-work"))
    page = html(response)
    assert response.status_code == 200
    assert "Spamouflage suspects" in page
    assert 'data-testid="left-for-you">3<' in page
    assert 'data-testid="labels-today">0<' in page
    assert f'action="{reverse("frontend:work-claim", args=[queue.pk])}"' in page
    assert 'data-key="n"' in page
    assert f'href="{reverse("frontend:my-work")}" aria-current="page">My work</a>' in page


def test_my_work_lists_the_users_leases_with_time_left_and_labels_today(mod_client, moderator, queue):
    lease = claim_next_item(queue=queue, user=moderator)
    page = html(mod_client.get(reverse("frontend:my-work")))
    assert reverse("frontend:work-review", args=[lease.pk]) in page
    assert f"@{lease.item.account.handle}" in page
    assert "30 min left" in page or "29 min left" in page
    assert f'data-expires="{lease.expires_at.isoformat()}' in page or "data-expires=" in page
    assert "Continue" in page
    assert 'data-testid="left-for-you">2<' in page

    submit_label(
        case=lease.item.case,
        account=lease.item.account,
        annotator=moderator,
        verdict="inauthentic",
        assignment=lease,
    )
    page = html(mod_client.get(reverse("frontend:my-work")))
    assert 'data-testid="labels-today">1<' in page
    assert 'data-testid="left-for-you">2<' in page


def test_what_is_left_agrees_with_what_claim_next_can_give(team_a, lead, moderator):
    queue_one = create_queue_from_case(
        case=case_with_accounts(team_a, lead, accounts=4), name="One", created_by=lead, labels_per_item=1
    )
    queue_two = create_queue_from_case(
        case=case_with_accounts(team_a, lead, accounts=3), name="Two", created_by=lead, labels_per_item=2
    )
    others = [member(team_a) for _ in range(3)]
    claim_next_item(queue=queue_one, user=others[0])
    claim_next_item(queue=queue_two, user=others[1])
    claim_next_item(queue=queue_two, user=others[2])
    done = claim_next_item(queue=queue_one, user=others[1])
    submit_label(
        case=done.item.case,
        account=done.item.account,
        annotator=others[1],
        verdict="authentic",
        assignment=done,
    )

    overview = get_work_overview_for_user(user=moderator, team=team_a)
    now = timezone.now()
    for work in overview.queues:
        assert work.available == claimable_items(queue=work.queue, user=moderator, now=now).count()
    assert [w.available for w in overview.queues] == [2, 2]


def test_my_work_switches_between_the_users_teams_and_remembers_the_choice(client, team_a, team_b, moderator):
    MembershipFactory(user=moderator, team=team_b, role=Role.MODERATOR)
    create_queue_from_case(case=CaseFactory(team=team_a), name="Alpha queue", created_by=None)
    create_queue_from_case(case=CaseFactory(team=team_b), name="Bravo queue", created_by=None)
    client.force_login(moderator)

    page = html(client.get(reverse("frontend:my-work")))
    assert 'aria-label="Switch team"' in page
    assert "Alpha queue" in page and "Bravo queue" not in page

    page = html(client.get(reverse("frontend:my-work"), {"team": "team-b"}))
    assert "Bravo queue" in page and "Alpha queue" not in page
    page = html(client.get(reverse("frontend:my-work")))
    assert "Bravo queue" in page, "the chosen team is remembered"


def test_my_work_for_another_team_is_a_404(mod_client, team_b):
    assert mod_client.get(reverse("frontend:my-work"), {"team": team_b.slug}).status_code == 404
    assert mod_client.get(reverse("frontend:my-work"), {"team": "nope"}).status_code == 404


def test_my_work_has_no_switcher_for_one_team_and_empty_states(client, moderator, db):
    client.force_login(moderator)
    page = html(client.get(reverse("frontend:my-work")))
    assert 'aria-label="Switch team"' not in page
    assert "No review queues" in page
    client.force_login(UserFactory(username="no-team"))
    assert "No team yet" in html(client.get(reverse("frontend:my-work")))


def test_my_work_shows_a_paused_queue_without_a_claim_button(mod_client, queue, lead):
    set_queue_active(queue=queue, is_active=False, set_by=lead)
    page = html(mod_client.get(reverse("frontend:my-work")))
    assert "Paused" in page
    assert reverse("frontend:work-claim", args=[queue.pk]) not in page


def test_my_work_query_count_does_not_grow_with_queues_and_leases(team_a, lead, moderator):
    client = signed_in(moderator)

    def add_queues(n: int, start: int) -> None:
        for i in range(start, start + n):
            queue = create_queue_from_case(
                case=case_with_accounts(team_a, lead, accounts=2), name=f"Queue {i}", created_by=lead
            )
            claim_next_item(queue=queue, user=moderator)

    add_queues(3, 0)
    few = page_queries(client, reverse("frontend:my-work"))
    add_queues(27, 3)
    many = page_queries(client, reverse("frontend:my-work"))
    assert few == many, (few, many)
    # session, user, teams, queues, available, totals, leases, completed today, labels today
    assert many <= 10, many


# --- claim, release, skip ------------------------------------------------------------------------


def test_claim_next_leases_an_item_and_opens_its_review_screen(mod_client, moderator, queue):
    response = mod_client.post(reverse("frontend:work-claim", args=[queue.pk]))
    lease = Assignment.objects.get(user=moderator)
    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:work-review", args=[lease.pk])
    assert lease.state == AssignmentState.ACTIVE
    # Pressing next again while holding a lease returns the same item, never a second one.
    again = mod_client.post(reverse("frontend:work-claim", args=[queue.pk]))
    assert again["Location"] == response["Location"]
    assert Assignment.objects.filter(user=moderator).count() == 1


def test_two_moderators_claiming_get_different_items(mod_client, team_a, queue, moderator):
    other = member(team_a, username="mod-two")
    first = mod_client.post(reverse("frontend:work-claim", args=[queue.pk]))["Location"]
    second = signed_in(other).post(reverse("frontend:work-claim", args=[queue.pk]))["Location"]
    assert first != second
    items = set(Assignment.objects.values_list("item_id", flat=True))
    assert len(items) == 2


def test_claim_is_post_only_and_a_404_for_an_outsider(mod_client, outsider_client, queue):
    assert mod_client.get(reverse("frontend:work-claim", args=[queue.pk])).status_code == 405
    assert outsider_client.post(reverse("frontend:work-claim", args=[queue.pk])).status_code == 404
    assert outsider_client.post(reverse("frontend:work-claim", args=[queue.pk + 100])).status_code == 404
    assert not Assignment.objects.exists()


def test_claim_with_nothing_left_says_so_on_my_work(client, team_a, lead):
    queue = create_queue_from_case(case=CaseFactory(team=team_a), name="Empty", created_by=lead)
    client.force_login(lead)
    response = client.post(reverse("frontend:work-claim", args=[queue.pk]), follow=True)
    assert response.redirect_chain[-1][0] == f"{reverse('frontend:my-work')}?team=team-a"
    assert "Nothing is left for you in “Empty”." in html(response)


def test_claim_from_a_paused_queue_shows_the_reason(mod_client, queue, lead):
    set_queue_active(queue=queue, is_active=False, set_by=lead)
    response = mod_client.post(reverse("frontend:work-claim", args=[queue.pk]), follow=True)
    assert "This queue is paused" in html(response)


def test_a_lead_claims_and_works_like_a_moderator(lead_client, lead, queue):
    response = lead_client.post(reverse("frontend:work-claim", args=[queue.pk]))
    lease = Assignment.objects.get(user=lead)
    assert response["Location"] == reverse("frontend:work-review", args=[lease.pk])
    assert lead_client.get(response["Location"]).status_code == 200


def test_release_gives_the_item_back(mod_client, moderator, queue):
    lease = claim_next_item(queue=queue, user=moderator)
    response = mod_client.post(reverse("frontend:work-release", args=[lease.pk]), follow=True)
    lease.refresh_from_db()
    assert lease.state == AssignmentState.RELEASED
    assert "back in the queue" in html(response)
    assert response.redirect_chain[-1][0].startswith(reverse("frontend:my-work"))


def test_someone_elses_assignment_is_a_404_for_every_action(
    team_a, queue, moderator, outsider_client, lead_client
):
    lease = claim_next_item(queue=queue, user=moderator)
    for client in (outsider_client, lead_client):  # another team's user, and a teammate (even a lead)
        assert client.get(reverse("frontend:work-review", args=[lease.pk])).status_code == 404
        for name in ("work-release", "work-skip", "work-label"):
            assert (
                client.post(reverse(f"frontend:{name}", args=[lease.pk]), {"reason": "x"}).status_code == 404
            )
    lease.refresh_from_db()
    assert lease.state == AssignmentState.ACTIVE


def test_skip_needs_a_reason(mod_client, moderator, queue):
    lease = claim_next_item(queue=queue, user=moderator)
    response = mod_client.post(reverse("frontend:work-skip", args=[lease.pk]), {"reason": "  "}, follow=True)
    assert "Say why you skip this item." in html(response)
    lease.refresh_from_db()
    assert lease.state == AssignmentState.ACTIVE


def test_skip_records_the_reason_and_goes_to_the_next_item(mod_client, moderator, queue):
    lease = claim_next_item(queue=queue, user=moderator)
    response = mod_client.post(
        reverse("frontend:work-skip", args=[lease.pk]), {"reason": "I know this person"}
    )
    lease.refresh_from_db()
    assert (lease.state, lease.skip_reason) == (AssignmentState.SKIPPED, "I know this person")
    following = Assignment.objects.get(user=moderator, state=AssignmentState.ACTIVE)
    assert following.item_id != lease.item_id
    assert response["Location"] == reverse("frontend:work-review", args=[following.pk])


def test_an_expired_lease_cannot_be_released_and_says_so(mod_client, moderator, queue, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    lease = claim_next_item(queue=queue, user=moderator)
    time_machine.shift(datetime.timedelta(minutes=31))
    response = mod_client.post(reverse("frontend:work-release", args=[lease.pk]), follow=True)
    assert "expired" in html(response)
    assert not Label.objects.exists()


def test_a_queue_with_a_reviewer_list_is_work_only_for_its_reviewers(team_a, lead, moderator):
    case = case_with_accounts(team_a, lead, accounts=2)
    listed = create_queue_from_case(case=case, name="Listed", created_by=lead)
    create_queue_from_case(case=case, name="Open", created_by=lead)
    add_queue_reviewer(queue=listed, reviewer=moderator, added_by=lead)
    other = member(team_a)

    def names(user):
        return sorted(w.queue.name for w in get_work_overview_for_user(user=user, team=team_a).queues)

    assert names(moderator) == ["Listed", "Open"]
    assert names(other) == ["Open"]
