"""Claiming queue items: leases, priority, skips, fencing, and no double assignment under load."""

import datetime

import pytest
from django.db.models import Count
from django.http import Http404

from cases.errors import Conflict, InvalidInput, NotAllowed
from cases.models import Assignment, AssignmentState, AuditEvent, CaseStatus, QueueItem, Role
from cases.review_selectors import get_queue_progress_for_user, get_queue_stats_for_user
from cases.services.labels import submit_label
from cases.services.queues import (
    claim_next_item,
    complete_item,
    create_queue_from_case,
    release_expired_leases,
    release_item,
    set_item_priority,
    set_queue_active,
    skip_item,
)
from tests.services.review_support import (
    NewEvents,
    case_with_accounts,
    free_connections,
    member,
    run_concurrently,
)

pytestmark = pytest.mark.django_db

START = datetime.datetime(2024, 3, 1, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture
def case(team_a, lead):
    return case_with_accounts(team_a, lead, accounts=3)


@pytest.fixture
def queue(case, lead):
    return create_queue_from_case(case=case, name="Triage", created_by=lead, lease_minutes=30)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


def label(assignment, user, verdict="inauthentic"):
    item = assignment.item
    return submit_label(
        case=item.case, account=item.account, annotator=user, verdict=verdict, assignment=assignment
    )


# --- what is handed out ------------------------------------------------------------------------


def test_claim_next_item_gives_the_highest_priority_then_the_oldest_item(queue, lead, moderator):
    first, _second, third = queue.items.order_by("id")
    set_item_priority(item=third, priority=9, set_by=lead)
    assert claim_next_item(queue=queue, user=moderator).item == third
    other = member(queue.team)
    assert claim_next_item(queue=queue, user=other).item == first


def test_a_claim_is_a_lease_of_the_queues_lease_minutes(queue, moderator, clock):
    assignment = claim_next_item(queue=queue, user=moderator)
    assert assignment.state == AssignmentState.ACTIVE
    assert assignment.claimed_at == START
    assert assignment.expires_at == START + datetime.timedelta(minutes=30)


def test_asking_again_returns_the_lease_already_held_instead_of_a_second(queue, moderator):
    first = claim_next_item(queue=queue, user=moderator)
    assert claim_next_item(queue=queue, user=moderator) == first
    assert Assignment.objects.filter(user=moderator).count() == 1


def test_an_item_held_by_a_live_lease_is_not_handed_to_another_reviewer(queue, moderator, lead):
    mine = claim_next_item(queue=queue, user=moderator)
    theirs = claim_next_item(queue=queue, user=lead)
    assert theirs.item != mine.item


def test_with_two_labels_per_item_two_reviewers_share_an_item_and_a_third_does_not(team_a, lead):
    case = case_with_accounts(team_a, lead, accounts=1)
    queue = create_queue_from_case(case=case, name="Double", created_by=lead, labels_per_item=2)
    one, two, three = (member(team_a) for _ in range(3))
    item = queue.items.get()
    assert claim_next_item(queue=queue, user=one).item == item
    assert claim_next_item(queue=queue, user=two).item == item
    assert claim_next_item(queue=queue, user=three) is None


def test_an_account_the_user_labelled_is_not_offered_to_them_again(queue, moderator, lead):
    item = queue.items.order_by("id").first()
    submit_label(case=item.case, account=item.account, annotator=moderator, verdict="authentic")
    assert claim_next_item(queue=queue, user=moderator).item != item
    assert claim_next_item(queue=queue, user=lead).item == item


def test_done_items_and_items_of_settled_cases_are_not_offered(team_a, lead, moderator):
    case = case_with_accounts(team_a, lead, accounts=2)
    queue = create_queue_from_case(case=case, name="Q", created_by=lead)
    first = claim_next_item(queue=queue, user=lead)
    label(first, lead)
    assert QueueItem.objects.get(pk=first.item_id).is_done
    second = claim_next_item(queue=queue, user=moderator)
    assert second.item != first.item
    release_item(assignment=second, user=moderator)
    case.status = CaseStatus.CLOSED
    case.save()
    assert claim_next_item(queue=queue, user=moderator) is None


def test_an_empty_queue_gives_none_and_records_nothing(team_a, lead, moderator):
    queue = create_queue_from_case(
        case=case_with_accounts(team_a, lead, accounts=0), name="E", created_by=lead
    )
    with NewEvents() as new:
        assert claim_next_item(queue=queue, user=moderator) is None
    assert new.events == []


def test_a_paused_queue_hands_out_nothing(queue, lead, moderator):
    set_queue_active(queue=queue, is_active=False, set_by=lead)
    with pytest.raises(Conflict, match="paused"):
        claim_next_item(queue=queue, user=moderator)
    set_queue_active(queue=queue, is_active=True, set_by=lead)
    held = claim_next_item(queue=queue, user=moderator)
    set_queue_active(queue=queue, is_active=False, set_by=lead)
    assert claim_next_item(queue=queue, user=moderator) == held  # leases already held run on
    set_queue_active(queue=queue, is_active=True, set_by=lead)
    verbs = AuditEvent.objects.filter(verb__in=["queue.paused", "queue.resumed"]).order_by("id")
    assert [(e.verb, e.data) for e in verbs] == [
        ("queue.paused", {"is_active": [True, False]}),
        ("queue.resumed", {"is_active": [False, True]}),
        ("queue.paused", {"is_active": [True, False]}),
        ("queue.resumed", {"is_active": [False, True]}),
    ]


# --- leases end --------------------------------------------------------------------------------


def test_an_expired_lease_frees_the_item_and_is_marked_expired_when_reached(queue, moderator, lead, clock):
    first = claim_next_item(queue=queue, user=moderator)
    for _ in range(2):  # the lead takes the two other items and finishes them
        label(claim_next_item(queue=queue, user=lead), lead)
    assert claim_next_item(queue=queue, user=member(queue.team)) is None

    clock.shift(datetime.timedelta(minutes=30))
    taken = claim_next_item(queue=queue, user=member(queue.team))
    assert taken.item == first.item
    first.refresh_from_db()
    assert first.state == AssignmentState.EXPIRED
    assert AuditEvent.objects.get(verb="queue.item_claimed", target_id=str(taken.pk)).data[
        "expired_leases"
    ] == [first.pk]


def test_an_expired_lease_cannot_be_completed_by_its_old_holder(queue, moderator, clock):
    assignment = claim_next_item(queue=queue, user=moderator)
    clock.shift(datetime.timedelta(minutes=31))
    with pytest.raises(Conflict, match="expired"):
        label(assignment, moderator)
    item = QueueItem.objects.get(pk=assignment.item_id)
    assert (item.label_count, item.is_done) == (0, False)
    assert not item.case.labels.exists()  # the whole submission was refused, not half of it


def test_an_expired_lease_cannot_be_completed_even_after_labelling_without_it(queue, moderator, clock):
    assignment = claim_next_item(queue=queue, user=moderator)
    item = assignment.item
    submit_label(case=item.case, account=item.account, annotator=moderator, verdict="unsure")
    clock.shift(datetime.timedelta(hours=2))
    with pytest.raises(Conflict):
        complete_item(assignment=assignment, user=moderator)
    with pytest.raises(Conflict):
        release_item(assignment=assignment, user=moderator)


def test_a_released_lease_cannot_be_completed_and_its_item_returns(queue, moderator, lead):
    assignment = claim_next_item(queue=queue, user=moderator)
    release_item(assignment=assignment, user=moderator)
    assert assignment.state == AssignmentState.RELEASED
    with pytest.raises(Conflict, match="ended"):
        label(assignment, moderator)
    assert claim_next_item(queue=queue, user=lead).item == assignment.item


def test_a_lease_taken_over_after_expiry_belongs_to_the_new_holder(queue, moderator, lead, clock):
    """Fencing in full: the old holder's late completion cannot count over the new holder's."""
    for _ in range(2):
        label(claim_next_item(queue=queue, user=lead), lead)
    old = claim_next_item(queue=queue, user=moderator)
    clock.shift(datetime.timedelta(minutes=45))
    new = claim_next_item(queue=queue, user=member(queue.team))
    assert new.item == old.item
    with pytest.raises(Conflict):
        label(old, moderator)
    label(new, new.user)
    item = QueueItem.objects.get(pk=old.item_id)
    assert (item.label_count, item.is_done) == (1, True)


def test_release_expired_leases_marks_lapsed_leases_and_says_how_many(queue, lead, moderator, clock):
    claim_next_item(queue=queue, user=moderator)
    claim_next_item(queue=queue, user=member(queue.team))
    clock.shift(datetime.timedelta(minutes=10))
    live = claim_next_item(queue=queue, user=lead)
    clock.shift(datetime.timedelta(minutes=25))
    with NewEvents() as new:
        assert release_expired_leases(queue=queue, user=lead) == 2
    assert [(e.verb, e.data["expired"], e.user) for e in new.events] == [("queue.leases_expired", 2, lead)]
    assert Assignment.objects.filter(state=AssignmentState.EXPIRED).count() == 2
    live.refresh_from_db()
    assert live.state == AssignmentState.ACTIVE
    assert release_expired_leases() == 0  # the beat's sweep: nothing left to do


def test_queue_stats_and_progress_count_leases_as_they_stand(queue, lead, moderator, clock):
    done = claim_next_item(queue=queue, user=lead)
    label(done, lead)
    claim_next_item(queue=queue, user=moderator)
    stats = get_queue_stats_for_user(queue=queue, user=lead)
    assert (stats.items, stats.done, stats.in_progress, stats.labels, stats.backlog) == (3, 1, 1, 1, 2)
    clock.shift(datetime.timedelta(minutes=31))
    stats = get_queue_stats_for_user(queue=queue, user=lead)
    assert (stats.in_progress, stats.expired_leases) == (0, 1)
    progress = get_queue_progress_for_user(queue=queue, user=lead)
    assert (progress.available, progress.leases, progress.completed_today) == (2, (), 1)


def test_queue_reads_are_404_for_other_teams(queue, outsider):
    with pytest.raises(Http404):
        get_queue_stats_for_user(queue=queue, user=outsider)
    with pytest.raises(Http404):
        get_queue_progress_for_user(queue=queue, user=outsider)


# --- skips -------------------------------------------------------------------------------------


def test_skip_needs_a_reason(queue, moderator):
    assignment = claim_next_item(queue=queue, user=moderator)
    with pytest.raises(InvalidInput) as err:
        skip_item(assignment=assignment, user=moderator, reason="  ")
    assert err.value.fields == {"reason": ["This field is required."]}


def test_skipped_items_never_return_to_that_user_but_do_to_others(team_a, lead, moderator):
    case = case_with_accounts(team_a, lead, accounts=1)
    queue = create_queue_from_case(case=case, name="One", created_by=lead)
    assignment = claim_next_item(queue=queue, user=moderator)
    skip_item(assignment=assignment, user=moderator, reason="Not my language")
    assignment.refresh_from_db()
    assert (assignment.state, assignment.skip_reason) == (AssignmentState.SKIPPED, "Not my language")
    assert AuditEvent.objects.get(verb="queue.item_skipped").data["reason"] == "Not my language"
    assert claim_next_item(queue=queue, user=moderator) is None
    assert claim_next_item(queue=queue, user=lead).item == assignment.item


# --- completion --------------------------------------------------------------------------------


def test_complete_needs_the_holders_label(queue, moderator):
    assignment = claim_next_item(queue=queue, user=moderator)
    with pytest.raises(Conflict, match="Label the account"):
        complete_item(assignment=assignment, user=moderator)


def test_complete_counts_the_label_and_finishes_the_item_at_labels_per_item(team_a, lead, moderator):
    case = case_with_accounts(team_a, lead, accounts=1)
    queue = create_queue_from_case(case=case, name="Two", created_by=lead, labels_per_item=2)
    for n, user in enumerate((moderator, lead), start=1):
        assignment = claim_next_item(queue=queue, user=user)
        item = assignment.item
        submit_label(case=case, account=item.account, annotator=user, verdict="inauthentic")
        with NewEvents() as new:
            complete_item(assignment=assignment, user=user)
        assert new.events[0].data["label_count"] == [n - 1, n]
        item.refresh_from_db()
        assert (item.label_count, item.is_done) == (n, n == 2)
    assert claim_next_item(queue=queue, user=member(team_a)) is None


# --- who may -----------------------------------------------------------------------------------


def test_only_the_holder_may_skip_or_complete_but_a_lead_may_release(queue, moderator, lead):
    other = member(queue.team)
    assignment = claim_next_item(queue=queue, user=moderator)
    with pytest.raises(NotAllowed):
        skip_item(assignment=assignment, user=other, reason="r")
    with pytest.raises(NotAllowed):
        complete_item(assignment=assignment, user=other)
    with pytest.raises(NotAllowed):
        release_item(assignment=assignment, user=other)
    release_item(assignment=assignment, user=lead)
    event = AuditEvent.objects.get(verb="queue.item_released")
    assert (event.user, event.data["holder"]) == (lead, moderator.pk)


def test_the_system_may_release_a_lease_but_not_claim_skip_or_complete(queue, moderator):
    assignment = claim_next_item(queue=queue, user=moderator)
    with pytest.raises(NotAllowed):
        claim_next_item(queue=queue, user=None)
    with pytest.raises(NotAllowed):
        complete_item(assignment=assignment, user=None)
    with pytest.raises(NotAllowed):
        skip_item(assignment=assignment, user=None, reason="r")
    release_item(assignment=assignment, user=None)
    assert assignment.state == AssignmentState.RELEASED


def test_lead_controls_are_refused_to_moderators(queue, moderator):
    item = queue.items.first()
    with pytest.raises(NotAllowed):
        set_queue_active(queue=queue, is_active=False, set_by=moderator)
    with pytest.raises(NotAllowed):
        set_item_priority(item=item, priority=5, set_by=moderator)
    with pytest.raises(NotAllowed):
        release_expired_leases(queue=queue, user=moderator)


def test_item_priority_must_fit(queue, lead):
    with pytest.raises(InvalidInput):
        set_item_priority(item=queue.items.first(), priority=40000, set_by=lead)


def test_every_queue_service_refuses_outsiders(queue, moderator, lead, outsider):
    assignment = claim_next_item(queue=queue, user=moderator)
    calls = [
        lambda: claim_next_item(queue=queue, user=outsider),
        lambda: release_item(assignment=assignment, user=outsider),
        lambda: skip_item(assignment=assignment, user=outsider, reason="r"),
        lambda: complete_item(assignment=assignment, user=outsider),
        lambda: set_queue_active(queue=queue, is_active=False, set_by=outsider),
        lambda: set_item_priority(item=assignment.item, priority=1, set_by=outsider),
        lambda: release_expired_leases(queue=queue, user=outsider),
    ]
    for call in calls:
        with pytest.raises(NotAllowed):
            call()
    assert Assignment.objects.count() == 1


def test_every_member_role_may_claim(queue, moderator, lead, admin_user):
    assert {claim_next_item(queue=queue, user=u).item_id for u in (moderator, lead, admin_user)} == set(
        queue.items.values_list("pk", flat=True)
    )


# --- the audit trail ---------------------------------------------------------------------------


def _prepared_call(verb, queue, lead, moderator):
    """Set the stage for ``verb`` and return the one call that should record it."""
    if verb == "queue.item_claimed":
        return lambda: claim_next_item(queue=queue, user=moderator)
    if verb == "queue.paused":
        return lambda: set_queue_active(queue=queue, is_active=False, set_by=lead)
    if verb == "queue.item_priority_changed":
        return lambda: set_item_priority(item=queue.items.first(), priority=7, set_by=lead)
    assignment = claim_next_item(queue=queue, user=moderator)
    if verb == "queue.item_released":
        return lambda: release_item(assignment=assignment, user=moderator)
    if verb == "queue.item_skipped":
        return lambda: skip_item(assignment=assignment, user=moderator, reason="r")
    item = assignment.item
    submit_label(case=item.case, account=item.account, annotator=moderator, verdict="unsure")
    return lambda: complete_item(assignment=assignment, user=moderator)


@pytest.mark.parametrize(
    "verb",
    [
        "queue.item_claimed",
        "queue.item_released",
        "queue.item_skipped",
        "queue.item_completed",
        "queue.paused",
        "queue.item_priority_changed",
    ],
)
def test_each_queue_call_leaves_exactly_one_event(queue, lead, moderator, verb):
    call = _prepared_call(verb, queue, lead, moderator)
    with NewEvents() as new:
        result = call()
    assert new.verbs == [verb]
    event = new.events[0]
    assert event.user in (lead, moderator)
    assert event.target_id == str(result.pk)
    assert event.data


# --- under load (PostgreSQL) -------------------------------------------------------------------


def _work_through(queue, user):
    """Claim, label and complete until nothing is left; the item ids this user got."""
    got = []
    while (assignment := claim_next_item(queue=queue, user=user)) is not None:
        got.append(assignment.item_id)
        label(assignment, user)
    return got


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_claimers_never_get_the_same_item(team_a, lead):
    case = case_with_accounts(team_a, lead, accounts=60)
    queue = create_queue_from_case(case=case, name="Load", created_by=lead)
    users = [member(team_a, Role.MODERATOR) for _ in range(20)]

    results, errors = run_concurrently([lambda u=u: _work_through(queue, u) for u in users])

    assert errors == []
    handed_out = [item for got in results for item in got]
    assert len(handed_out) == len(set(handed_out)) == 60  # every item exactly once
    assert sum(1 for got in results if got) > 1  # the work was really shared
    per_item = Assignment.objects.values("item").annotate(n=Count("pk")).filter(n__gt=1)
    assert not per_item.exists()
    assert not Assignment.objects.exclude(state=AssignmentState.COMPLETED).exists()
    assert set(QueueItem.objects.filter(queue=queue).values_list("label_count", "is_done")) == {(1, True)}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_with_two_labels_per_item_concurrent_claimers_share_each_item_between_two_people(team_a, lead):
    case = case_with_accounts(team_a, lead, accounts=30)
    queue = create_queue_from_case(case=case, name="Pairs", created_by=lead, labels_per_item=2)
    users = [member(team_a) for _ in range(20)]

    results, errors = run_concurrently([lambda u=u: _work_through(queue, u) for u in users])

    assert errors == []
    for got in results:
        assert len(got) == len(set(got))  # never the same item twice to one user
    counts = Assignment.objects.values("item").annotate(n=Count("pk"), people=Count("user", distinct=True))
    assert {(row["n"], row["people"]) for row in counts} == {(2, 2)}
    assert counts.count() == 30
    assert set(QueueItem.objects.filter(queue=queue).values_list("label_count", "is_done")) == {(2, True)}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_hundred_simultaneous_claims_on_a_one_item_queue_make_exactly_one_lease(team_a, lead):
    case = case_with_accounts(team_a, lead, accounts=1)
    queue = create_queue_from_case(case=case, name="Solo", created_by=lead)
    users = [member(team_a) for _ in range(200)]
    # One thread per claim when the server has the connections; otherwise as many as it has
    # (max_connections is shared with other databases on a developer's server).
    threads = min(200, free_connections())

    results, errors = run_concurrently(
        [lambda u=u: claim_next_item(queue=queue, user=u) for u in users], threads=threads
    )

    assert errors == []
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert Assignment.objects.count() == 1
    print(f"200 claims on {threads} threads: 1 lease, {results.count(None)} got None")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_users_simultaneous_claims_get_one_lease(team_a, lead, moderator):
    case = case_with_accounts(team_a, lead, accounts=5)
    queue = create_queue_from_case(case=case, name="Clicks", created_by=lead)

    results, errors = run_concurrently([lambda: claim_next_item(queue=queue, user=moderator)] * 10)

    assert errors == []
    assert {r.pk for r in results} == {Assignment.objects.get().pk}
