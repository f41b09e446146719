"""Concurrency on PostgreSQL (issue 8, item 9): real threads, each with its own connection.

What already stands elsewhere and is not repeated here (tests/services/test_claims.py, "under
load"): 20 concurrent claimers never share an item; two labels per item are shared by exactly two
people; 200 simultaneous claims on a one-item queue make one lease; one user's simultaneous claims
make one lease; the single-threaded fencing tests for lapsed leases. tests/services/test_votes.py
has 100 identical concurrent votes → one row.

Added here:

* a 2,000-item queue worked down by 50 reviewers at once (claim → label → complete, through the
  services), once with one label per item and once with two; afterwards SQL on the lease, item,
  label and audit tables shows every item claimed and completed exactly ``labels_per_item`` times
  by different people, no double claim and no lost item;
* 100 identical concurrent votes and 100 identical concurrent labels by one person: one row, no
  error but the domain's own, and exactly one audit event (the services' "one event per write");
* fencing under a race: reviewers whose leases lapsed try to complete while new reviewers claim
  and complete the same items; no late completion lands.

Each test runs its threads through ``run_concurrently`` (every thread opens its connection before a
barrier and closes it at the end). Thread counts are capped by ``free_connections`` so a shared
server's other users keep theirs; each test prints the count it got.
"""

import datetime
import time

import pytest
from django.db import connection
from django.db.backends.signals import connection_created
from django.utils import timezone

from cases.errors import CaseError, Conflict
from cases.handles import normalize_handle
from cases.models import (
    Account,
    AccountKind,
    Assignment,
    AssignmentState,
    AttributionVote,
    AuditEvent,
    Case,
    CaseAccount,
    CaseStatus,
    Label,
    QueueItem,
    Role,
)
from cases.services.evidence import record_evidence
from cases.services.labels import submit_label
from cases.services.queues import claim_next_item, complete_item, create_queue_from_case
from cases.services.votes import cast_vote
from tests.factories import ActorFactory, CaseFactory
from tests.services.review_support import (
    NewEvents,
    case_with_accounts,
    free_connections,
    member,
    run_concurrently,
    technique,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ITEMS = 2_000
REVIEWERS = 50


def big_case(team, *, accounts: int) -> Case:
    """A case with ``accounts`` suspect accounts, inserted in bulk: the services would take minutes
    here, and what is under test is the queue, not how accounts reach a case."""
    case = CaseFactory(team=team)
    rows = Account.objects.bulk_create(
        Account(
            team=team,
            platform="x",
            handle=f"load{n:05d}",
            handle_normalized=normalize_handle(f"load{n:05d}"),
            kind=AccountKind.SUSPECT,
        )
        for n in range(accounts)
    )
    CaseAccount.objects.bulk_create(CaseAccount(case=case, account=account) for account in rows)
    Case.objects.filter(pk=case.pk).update(account_count=accounts)
    return case


def analyze(*models) -> None:
    """Give the planner statistics on rows just bulk-inserted, as autovacuum would within a
    minute. Without them it plans the claim's candidate query for an empty table (a full scan and
    sort of the queue, ~100 ms a claim at 2,000 items) instead of walking the pending-items index."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(table(model) for model in models))


def table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def sql_rows(query: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


# --- a 2,000-item queue, 50 reviewers -----------------------------------------------------------


def _commit_without_waiting_for_the_disk(sender, connection, **kwargs):
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")


@pytest.fixture
def async_commit():
    """Every connection of the test, the threads' included, commits without waiting for the WAL to
    reach the disk. Locks, isolation and what other sessions see at commit are unchanged; only
    durability across a server crash is, which no test relies on. It matters here because every
    label holds its case's row lock until commit: with 2,000 labels on one case, the disk flush
    inside that lock sets the pace (it halved the wall time in one measurement on a busy 2-core
    machine: 137 s to 76 s at one label per item)."""
    connection_created.connect(_commit_without_waiting_for_the_disk)
    _commit_without_waiting_for_the_disk(None, connection)
    yield
    connection_created.disconnect(_commit_without_waiting_for_the_disk)
    with connection.cursor() as cursor:
        cursor.execute("RESET synchronous_commit")


def _work_through(queue, user, *, two_steps: bool) -> list[int]:
    """Claim, label and complete until nothing is left for ``user``; the item ids they got.

    ``two_steps``: label first, then complete the lease (``complete_item``), as a client that
    labels and completes in two requests does; otherwise the label completes the lease in the same
    transaction (``submit_label`` with the assignment)."""
    got = []
    while (assignment := claim_next_item(queue=queue, user=user)) is not None:
        item = assignment.item
        got.append(item.pk)
        if two_steps:
            submit_label(case=item.case, account=item.account, annotator=user, verdict="inauthentic")
            complete_item(assignment=assignment, user=user)
        else:
            submit_label(
                case=item.case,
                account=item.account,
                annotator=user,
                verdict="inauthentic",
                assignment=assignment,
            )
    return got


@pytest.mark.parametrize("labels_per_item", [1, 2])
def test_fifty_reviewers_work_a_two_thousand_item_queue_down_exactly_once(
    team_a, lead, labels_per_item, async_commit
):
    case = big_case(team_a, accounts=ITEMS)
    queue = create_queue_from_case(case=case, name="Load", created_by=lead, labels_per_item=labels_per_item)
    assert queue.items.count() == ITEMS
    analyze(Account, CaseAccount, QueueItem, Assignment, Label)
    users = [member(team_a, Role.MODERATOR) for _ in range(REVIEWERS)]
    threads = min(REVIEWERS, free_connections())
    jobs = [lambda u=u, n=n: _work_through(queue, u, two_steps=n % 2 == 1) for n, u in enumerate(users)]

    started = time.perf_counter()
    results, errors = run_concurrently(jobs, threads=threads, timeout=300)
    seconds = time.perf_counter() - started

    assert errors == []
    expected = ITEMS * labels_per_item
    handed_out = [item for got in results for item in got]
    assert len(handed_out) == expected
    for got in results:
        assert len(got) == len(set(got))  # never the same item twice to one reviewer
    assert sum(1 for got in results if got) > REVIEWERS // 2  # the work really was shared
    print(
        f"{ITEMS:,} items x {labels_per_item} labels, {REVIEWERS} reviewers on {threads} threads: "
        f"{expected:,} claim-label-complete rounds in {seconds:.1f} s ({expected / seconds:.0f}/s)"
    )

    # The oracle, in SQL on the tables themselves.
    item_t, lease_t, label_t = table(QueueItem), table(Assignment), table(Label)
    # No double claim: an item never had more live-or-completed leases than labels_per_item, nor
    # two leases of one reviewer.
    assert (
        sql_rows(
            f"SELECT item_id FROM {lease_t} a JOIN {item_t} i ON i.id = a.item_id "  # noqa: S608
            "WHERE i.queue_id = %s AND a.state IN ('active', 'completed') "
            "GROUP BY item_id HAVING count(*) > %s OR count(DISTINCT a.user_id) < count(*)",
            [queue.pk, labels_per_item],
        )
        == []
    )
    # No lost item: every item is done, with exactly labels_per_item completed leases by different
    # reviewers and as many labels on its account; no lease is left in any other state.
    per_item = sql_rows(
        "SELECT i.is_done, i.label_count, count(a.id) FILTER (WHERE a.state = 'completed'), "  # noqa: S608
        "  count(DISTINCT a.user_id), count(a.id) FILTER (WHERE a.state <> 'completed'), "
        f"  (SELECT count(*) FROM {label_t} l WHERE l.case_id = i.case_id AND l.account_id = i.account_id) "
        f"FROM {item_t} i LEFT JOIN {lease_t} a ON a.item_id = i.id WHERE i.queue_id = %s "
        "GROUP BY i.id, i.is_done, i.label_count",
        [queue.pk],
    )
    n = labels_per_item
    assert len(per_item) == ITEMS
    assert {row for row in per_item if row != (True, n, n, n, 0, n)} == set()
    # Every completed lease has its reviewer's label, and there is no label without one.
    assert sql_rows(
        f"SELECT count(*) FROM {lease_t} a JOIN {item_t} i ON i.id = a.item_id "  # noqa: S608
        f"LEFT JOIN {label_t} l ON l.case_id = i.case_id AND l.account_id = i.account_id "
        "  AND l.annotator_id = a.user_id "
        "WHERE i.queue_id = %s AND a.state = 'completed' AND l.id IS NULL",
        [queue.pk],
    ) == [(0,)]
    assert Label.objects.filter(case=case).count() == expected
    # One audit event per write, under load too.
    events = dict(
        sql_rows(
            f"SELECT verb, count(*) FROM {table(AuditEvent)} WHERE verb IN "  # noqa: S608
            "('queue.item_claimed', 'queue.item_completed', 'label.submitted', 'label.changed') GROUP BY verb"
        )
    )
    two_step_rounds = sum(len(got) for n, got in enumerate(results) if n % 2 == 1)
    assert events == {
        "queue.item_claimed": expected,
        "label.submitted": expected,
        **({"queue.item_completed": two_step_rounds} if two_step_rounds else {}),
    }


# --- identical submissions at once ---------------------------------------------------------------


def test_a_hundred_identical_concurrent_votes_leave_one_row_and_one_audit_event(team_a, lead, moderator):
    """Beyond test_votes' one-row check: the cited evidence is set once, the case enters review
    once, and the trail has exactly one event (the other 99 calls change nothing, so they record
    nothing)."""
    case = case_with_accounts(team_a, lead, accounts=1)
    actor = ActorFactory(team=team_a)
    note = record_evidence(case=case, kind="note", captured_by=lead, captured_text="same office hours")
    threads = min(100, free_connections())

    def vote():
        return cast_vote(
            case=case, voter=moderator, actor=actor, confidence="high", rationale="r", cited_evidence=[note]
        )

    with NewEvents() as new:
        results, errors = run_concurrently([vote] * 100, threads=threads)

    assert [e for e in errors if not isinstance(e, CaseError)] == []
    assert errors == []  # the case lock queues them up: not even a Conflict is needed
    [row] = AttributionVote.objects.filter(case=case)
    assert {r.pk for r in results} == {row.pk}
    assert list(row.cited_evidence.all()) == [note]
    [event] = new.events
    assert (event.verb, event.user, event.data["status"]) == (
        "vote.cast",
        moderator,
        [CaseStatus.OPEN, CaseStatus.IN_REVIEW],
    )
    print(f"100 identical votes on {threads} threads: 1 row, 1 audit event, 0 errors")


def test_a_hundred_identical_concurrent_labels_by_one_annotator_leave_one_row(team_a, lead, moderator):
    case = case_with_accounts(team_a, lead, accounts=1)
    account = case.case_accounts.get().account
    seen = [technique("2.1.1"), technique("4.2.1")]
    threads = min(100, free_connections())

    def label():
        return submit_label(
            case=case, account=account, annotator=moderator, verdict="inauthentic", techniques=seen, note="n"
        )

    with NewEvents() as new:
        results, errors = run_concurrently([label] * 100, threads=threads)

    assert [e for e in errors if not isinstance(e, CaseError)] == []
    assert errors == []
    [row] = Label.objects.filter(case=case, account=account)
    assert {r.pk for r in results} == {row.pk}
    assert (row.annotator, row.verdict, row.note) == (moderator, "inauthentic", "n")
    assert sorted(row.techniques.values_list("procedure_code", flat=True)) == ["2.1.1", "4.2.1"]
    assert Label.techniques.through.objects.filter(label=row).count() == 2  # set once, not 100 times
    case.refresh_from_db()
    assert (case.status, case.labeled_account_count) == (CaseStatus.IN_REVIEW, 1)
    assert new.verbs == ["label.submitted"]
    print(f"100 identical labels on {threads} threads: 1 row, 1 audit event, 0 errors")


# --- fencing, raced ----------------------------------------------------------------------------------


def test_lapsed_leases_cannot_be_completed_while_new_holders_race_for_the_same_items(team_a, lead):
    """The old holders (their leases lapsed) submit their label with the lease at the same moment
    as the new reviewers claim the same items and complete them. Every late completion is refused
    and saves nothing; every item ends with the one label of its new holder."""
    pairs = min(25, free_connections() // 2)
    case = case_with_accounts(team_a, lead, accounts=pairs)
    queue = create_queue_from_case(case=case, name="Lapsed", created_by=lead, lease_minutes=30)
    old_holders = [member(team_a) for _ in range(pairs)]
    old_leases = [claim_next_item(queue=queue, user=user) for user in old_holders]
    assert len({lease.item_id for lease in old_leases}) == pairs  # every item is held
    # The leases lapse: as if their holders had walked away 31 minutes ago.
    now = timezone.now()
    Assignment.objects.filter(pk__in=[lease.pk for lease in old_leases]).update(
        claimed_at=now - datetime.timedelta(minutes=31), expires_at=now - datetime.timedelta(minutes=1)
    )
    new_holders = [member(team_a) for _ in range(pairs)]

    def late(lease):
        item = lease.item
        return submit_label(
            case=item.case, account=item.account, annotator=lease.user, verdict="authentic", assignment=lease
        )

    def take_over(user):
        lease = claim_next_item(queue=queue, user=user)
        item = lease.item
        submit_label(
            case=item.case, account=item.account, annotator=user, verdict="inauthentic", assignment=lease
        )
        return lease

    jobs = [
        job
        for n in range(pairs)
        for job in (lambda n=n: late(old_leases[n]), lambda n=n: take_over(new_holders[n]))
    ]
    results, errors = run_concurrently(jobs)

    assert len(errors) == pairs  # one refusal per old holder, and nothing else
    assert all(isinstance(e, Conflict) and "expired" in str(e) for e in errors), errors
    assert not Label.objects.filter(annotator__in=old_holders).exists()
    new_leases = [r for r in results if isinstance(r, Assignment)]
    assert {lease.item_id for lease in new_leases} == {lease.item_id for lease in old_leases}
    assert set(QueueItem.objects.filter(queue=queue).values_list("label_count", "is_done")) == {(1, True)}
    assert set(Assignment.objects.filter(user__in=new_holders).values_list("state", flat=True)) == {
        AssignmentState.COMPLETED
    }
    # Each new claim found its item's lapsed lease and marked it expired.
    assert set(Assignment.objects.filter(user__in=old_holders).values_list("state", flat=True)) == {
        AssignmentState.EXPIRED
    }
    assert Label.objects.filter(case=case, annotator__in=new_holders).count() == pairs
    print(f"{pairs} lapsed holders raced {pairs} new holders: {pairs} refusals, {pairs} completions")
