"""The case queue's stored columns follow the audit trail: a change rebuilds the rows of the
cases it touched, and only those; nothing changed, nothing rebuilt."""

import datetime

import time_machine
from django.utils import timezone

from cases.models import AccountKind, CaseQueueStats, Verdict
from cases.services import lead_cases
from cases.services.cases import add_account_to_case
from cases.services.labels import submit_label
from cases.services.suggestions import upsert_suggestion
from tests.factories import AccountFactory, CaseFactory


def test_refresh_rebuilds_only_the_cases_a_change_touched(team_a, lead, moderator_2, lead_case):
    other = CaseFactory(team=team_a, title="Other")
    start = timezone.now()
    assert lead_cases.refresh_case_queue_stats(team=team_a, now=start) == 2  # first view: every case
    stats = CaseQueueStats.objects.get(case=lead_case)
    assert stats.conflicts == 1 and stats.vote_count == 3 and stats.consensus_name == "Spamouflage"
    later = start + lead_cases.SETTLE + datetime.timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        assert lead_cases.refresh_case_queue_stats(team=team_a) == 1  # lead_case's events, read once more
        assert lead_cases.refresh_case_queue_stats(team=team_a) == 0  # settled: nothing to do
        # moderator_2 changes their mind on suspect 1: no conflict left there.
        submit_label(
            case=lead_case, account=lead_case.suspects[1], annotator=moderator_2, verdict=Verdict.INAUTHENTIC
        )
        assert lead_cases.refresh_case_queue_stats(team=team_a) == 1
    stats = CaseQueueStats.objects.get(case=lead_case)
    assert stats.conflicts == 0 and stats.agreement == 1.0
    assert CaseQueueStats.objects.get(case=other).agreement is None


def test_refresh_counts_open_suggestions_after_one_is_created_and_accepted(team_a, lead, lead_case):
    outside = AccountFactory(team=team_a, kind=AccountKind.SUSPECT, handle="not_on_case")
    upsert_suggestion(team=team_a, account_a=lead_case.suspects[0], account_b=outside, score=0.9, signals=[])
    # Made in bulk by a sweep in real life: the sweep's event recomputes the whole team. Here the
    # case has no row yet, so the first refresh builds it.
    lead_cases.refresh_case_queue_stats(team=team_a)
    assert CaseQueueStats.objects.get(case=lead_case).open_suggestions == 1
    add_account_to_case(case=lead_case, account=outside, added_by=lead)
    lead_cases.refresh_case_queue_stats(team=team_a)
    assert CaseQueueStats.objects.get(case=lead_case).open_suggestions == 0  # both sides on the case now
