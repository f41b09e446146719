"""The browser UI: server-rendered pages.

Each view fetches what the user may see through ``cases.selectors`` (another team's id is the
same 404 as a missing one), calls at most one service, and renders a template or one partial
of it for htmx.
"""

import datetime
import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from cases.errors import CaseError
from cases.models import ApiToken, Case, Job, Team
from cases.selectors import (
    get_case_for_user,
    get_job_for_user,
    list_cases_for_user,
    list_jobs_for_user,
    list_teams_for_user,
)
from cases.services.cases import start_case_recount
from cases.services.tokens import create_token, revoke_token

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
RECENT_JOBS = 5


def _is_htmx_for(request: HttpRequest, target: str) -> bool:
    """True when htmx asks for the element ``target`` only (the page's polling partial)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Target") == target


def _selected_team(teams: list[Team], slug: str | None) -> Team | None:
    """The team the list is filtered to; an unknown slug is the same 404 as another team's."""
    if not slug:
        return None
    for team in teams:
        if team.slug == slug:
            return team
    raise Http404("No such team.")


def _case_id_of(job: Job) -> int | None:
    case_id = job.params.get("case_id") if isinstance(job.params, dict) else None
    return case_id if isinstance(case_id, int) else None


def _cases_of_jobs(user, jobs: list[Job]) -> dict[int, Case]:
    """The cases the jobs are about (those the user may see), in one query, so pages can name them."""
    ids = {case_id for case_id in map(_case_id_of, jobs) if case_id is not None}
    if not ids:
        return {}
    return {case.pk: case for case in list_cases_for_user(user).filter(pk__in=ids)}


@require_safe
@login_required
def home(request: HttpRequest) -> HttpResponse:
    teams = list(list_teams_for_user(request.user))
    team = _selected_team(teams, request.GET.get("team"))
    cases = Paginator(list_cases_for_user(request.user, team=team), PAGE_SIZE)
    jobs = list(list_jobs_for_user(request.user).filter(created_by=request.user)[:RECENT_JOBS])
    job_cases = _cases_of_jobs(request.user, jobs)
    return render(
        request,
        "frontend/home.html",
        {
            "teams": teams,
            "team": team,
            "cases": cases.get_page(request.GET.get("page")),
            "jobs": [(job, job_cases.get(_case_id_of(job))) for job in jobs],
        },
    )


@require_POST
@login_required
def case_recount(request: HttpRequest, case_id: int) -> HttpResponse:
    case = get_case_for_user(request.user, case_id)
    try:
        job = start_case_recount(case=case, requested_by=request.user)
    except CaseError as exc:
        messages.error(request, exc.message)
        return redirect("frontend:case-detail", case_id=case.pk)
    return redirect("frontend:job-detail", job_id=job.pk)


@never_cache  # polled every second: every answer must be fresh
@require_safe
@login_required
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_job_for_user(request.user, job_id)
    if _is_htmx_for(request, "job-progress"):
        response = render(request, "frontend/job_detail.html#job-progress", {"job": job})
    else:
        response = render(
            request,
            "frontend/job_detail.html",
            {
                "teams": list(list_teams_for_user(request.user)),
                "job": job,
                "case": _cases_of_jobs(request.user, [job]).get(_case_id_of(job)),
            },
        )
    # The same URL answers with the whole page or the partial: caches must keep them apart.
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


# Token lifetimes offered on the settings page; "" is no expiry.
TOKEN_LIFETIMES = [("30", "30 days"), ("90", "90 days"), ("365", "1 year"), ("", "Never")]


@never_cache  # the page that shows a new secret must never be stored by a cache
@require_http_methods(["GET", "POST"])
@login_required
def settings_tokens(request: HttpRequest) -> HttpResponse:
    """Personal API tokens: create one (its secret is shown on this response only) or revoke one."""
    created = None
    errors: dict[str, str] = {}
    name = request.POST.get("name", "").strip()
    lifetime = request.POST.get("lifetime", "90")
    if request.method == "POST":
        if lifetime not in dict(TOKEN_LIFETIMES):
            errors["lifetime"] = "Choose one of the offered lifetimes."
        else:
            days = int(lifetime) if lifetime else None
            expires_at = timezone.now() + datetime.timedelta(days=days) if days else None
            try:
                created = create_token(user=request.user, name=name, expires_at=expires_at)
            except CaseError as exc:
                errors = {field: problems[0] for field, problems in exc.fields.items()}
                errors = errors or {"form": exc.message}
            else:
                name, lifetime = "", "90"
    return render(
        request,
        "frontend/settings_tokens.html",
        {
            "teams": list(list_teams_for_user(request.user)),
            "tokens": ApiToken.objects.filter(user=request.user).order_by("-created_at", "-pk"),
            "created": created,
            "errors": errors,
            "name": name,
            "lifetime": lifetime,
            "lifetimes": TOKEN_LIFETIMES,
        },
    )


@require_POST
@login_required
def settings_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)  # someone else's: 404
    try:
        revoke_token(token=token, user=request.user)
    except CaseError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The token “{token.name}” is revoked.")
    return redirect("frontend:settings-tokens")


@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers and compose: the process answers and the database takes a query."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        logger.exception("healthz: the database did not answer")
        return HttpResponse("database unavailable", status=503, content_type="text/plain; charset=utf-8")
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")
