"""Reads that views, the API and jobs share. Every one is scoped to the user's teams.

Objects of another team raise the same ``Http404`` as objects that do not exist, so ids
reveal nothing.
"""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from cases.models import Account, Case, CaseAccount, Evidence, Job, Membership, Team


def list_teams_for_user(user) -> QuerySet[Team]:
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(memberships__user=user).order_by("name")


def get_membership(user, team: Team) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, team=team).first()


def get_team_for_user(user, slug: str) -> Team:
    return get_object_or_404(list_teams_for_user(user), slug=slug)


def list_cases_for_user(user, *, team: Team | None = None) -> QuerySet[Case]:
    cases = Case.objects.filter(team__in=list_teams_for_user(user))
    if team is not None:
        cases = cases.filter(team=team)
    return cases.select_related("team", "lead")


def get_case_for_user(user, case_id: int) -> Case:
    return get_object_or_404(list_cases_for_user(user), pk=case_id)


def get_account_for_user(user, account_id: int) -> Account:
    return get_object_or_404(Account.objects.filter(team__in=list_teams_for_user(user)), pk=account_id)


def get_evidence_for_user(user, evidence_id: int) -> Evidence:
    return get_object_or_404(
        Evidence.objects.filter(case__team__in=list_teams_for_user(user)).select_related("case"),
        pk=evidence_id,
    )


def list_case_accounts(case: Case) -> QuerySet[CaseAccount]:
    """The accounts on a case the caller already may see (fetched through get_case_for_user)."""
    return case.case_accounts.select_related("account").order_by("added_at", "pk")


def list_case_evidence(case: Case) -> QuerySet[Evidence]:
    """A case's evidence, newest first, retractions included (they are part of the record)."""
    return case.evidence.select_related("captured_by", "retracted_by").order_by("-captured_at", "-pk")


def list_jobs_for_user(user) -> QuerySet[Job]:
    return Job.objects.filter(team__in=list_teams_for_user(user)).select_related("team", "created_by")


def get_job_for_user(user, job_id: int) -> Job:
    return get_object_or_404(list_jobs_for_user(user), pk=job_id)
