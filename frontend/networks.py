"""Possible networks: the clusters of similar accounts a team's sweeps found, a case made from one,
the possible re-creations flagged on decided cases, and a button to sweep again.

Mounted under ``teams/<team_slug>/networks/`` by ``frontend/urls.py`` (its names are in the
``frontend`` namespace). Another team's slug is the same 404 as a missing one.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST, require_safe

from cases.errors import CaseError
from cases.models import Job, JobKind, Team
from cases.selectors import get_case_for_user, list_teams_for_user
from cases.services.similarity import create_case_from_cluster, start_similarity_sweep
from cases.similarity_selectors import describe_networks, list_possible_networks, list_possible_recreations

NETWORKS_PER_PAGE = 20
FLAGS_SHOWN = 10


def _team_for_user(request: HttpRequest, slug: str) -> tuple[Team, list[Team]]:
    """The team, and the user's teams for the top bar, in one query."""
    teams = list(list_teams_for_user(request.user))
    for team in teams:
        if team.slug == slug:
            return team, teams
    raise Http404("No such team.")


@require_safe
@login_required
def networks_page(request: HttpRequest, team_slug: str) -> HttpResponse:
    team, teams = _team_for_user(request, team_slug)
    page = Paginator(list_possible_networks(team=team), NETWORKS_PER_PAGE).get_page(request.GET.get("page"))
    describe_networks(list(page.object_list), team=team)
    last_sweep = (
        Job.objects.filter(team=team, kind=JobKind.SIMILARITY_SWEEP)
        .exclude(params__scope__in=["account", "accounts"])  # top-k refreshes are not sweeps
        .order_by("-created_at", "-pk")
        .first()
    )
    return render(
        request,
        "frontend/networks/page.html",
        {
            "teams": teams,
            "team": team,
            "networks": page,
            "last_sweep": last_sweep,
            "flags": list_possible_recreations(team=team, limit=FLAGS_SHOWN),
        },
    )


@require_POST
@login_required
def network_create_case(request: HttpRequest, team_slug: str) -> HttpResponse:
    team, _ = _team_for_user(request, team_slug)
    try:
        account_id = int(request.POST.get("account", ""))
    except ValueError:
        messages.error(request, "Choose a network to make a case from.")
        return redirect("frontend:networks", team_slug=team.slug)
    try:
        case = create_case_from_cluster(
            team=team, account_id=account_id, created_by=request.user, title=request.POST.get("title", "")
        )
    except CaseError as exc:
        messages.error(request, exc.message)
        return redirect("frontend:networks", team_slug=team.slug)
    messages.success(request, f"Case “{case.title}” opened with {case.case_accounts.count()} accounts.")
    return redirect("frontend:case-detail", case_id=case.pk)


@require_POST
@login_required
def network_sweep(request: HttpRequest, team_slug: str) -> HttpResponse:
    """Sweep the team, or with ``case`` (the case page's "Find similar accounts") that case's
    neighbourhood: the best matches of its accounts. A case of another team is a 404."""
    team, _ = _team_for_user(request, team_slug)
    case = None
    if request.POST.get("case"):
        try:
            case_id = int(request.POST["case"])
        except ValueError:
            raise Http404("No such case.") from None
        case = get_case_for_user(request.user, case_id)
        if case.team_id != team.pk:
            raise Http404("No such case.")
    try:
        job = start_similarity_sweep(team=team, created_by=request.user, case=case)
    except CaseError as exc:
        messages.error(request, exc.message)
        if case is not None:
            return redirect("frontend:case-detail", case_id=case.pk)
        return redirect("frontend:networks", team_slug=team.slug)
    return redirect("frontend:job-detail", job_id=job.pk)


urlpatterns = [
    path("", networks_page, name="networks"),
    path("create-case/", network_create_case, name="network-create-case"),
    path("sweep/", network_sweep, name="network-sweep"),
]
