"""Lead console, parts 3 to 5 and the timeline: agreement and adjudication, the attribution
decision, account outcomes, and a case's audit trail.

Plain function views: each fetches the case or queue through the user's teams (another team's id
is the same 404 as a missing one), refuses a moderator with 403 where the page or action is a
lead's, calls at most one service, and renders the page — or, for htmx, the one row it changed.
A domain error (``CaseError``) becomes a message on the same page.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from cases.errors import CaseError, NotAllowed
from cases.lead_review_selectors import (
    get_account_review_for_lead,
    get_case_agreement_for_lead,
    get_decision_page_for_lead,
    get_queue_agreement_for_lead,
    get_queue_for_lead,
    is_lead_of,
    is_outcome_settable,
    list_case_timeline_for_lead,
    list_outcome_rows,
)
from cases.models import Actor, CaseAccount, Confidence, Outcome, Verdict
from cases.selectors import get_case_for_user, list_teams_for_user
from cases.services.adjudication import adjudicate_account
from cases.services.decisions import decide_attribution, reopen_case
from cases.services.outcomes import set_account_outcomes

CONFLICTS_PER_PAGE = 25
OUTCOMES_PER_PAGE = 100
TIMELINE_PER_PAGE = 50
FORBIDDEN = "Only a lead or admin of the team may do this."


def _forbidden(message: str = FORBIDDEN) -> HttpResponse:
    return HttpResponseForbidden(message, content_type="text/plain; charset=utf-8")


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _lead_case(request: HttpRequest, case_id: int):
    """The case (404 unless it is in one of the user's teams) and whether the user leads its team."""
    case = get_case_for_user(request.user, case_id)
    return case, is_lead_of(request.user, case.team)


def _base(request: HttpRequest, case, tab: str) -> dict:
    return {"case": case, "tab": tab, "is_lead": True, "teams": list(list_teams_for_user(request.user))}


def actor_ids(events) -> set[int]:
    """Actor ids named in the events' data, for the view to look up in one query."""
    ids: set[int] = set()
    for event in events:
        value = event.data.get("actor") if isinstance(event.data, dict) else None
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, int):
                ids.add(v)
    return ids


# --- agreement and adjudication --------------------------------------------------------------------


@never_cache
@require_safe
@login_required
def case_agreement(request: HttpRequest, case_id: int) -> HttpResponse:
    case, is_lead = _lead_case(request, case_id)
    if not is_lead:
        return _forbidden()
    only_open = request.GET.get("show") == "open"
    agreement = get_case_agreement_for_lead(
        case=case,
        user=request.user,
        only_open=only_open,
        page=request.GET.get("page"),
        per_page=CONFLICTS_PER_PAGE,
    )
    return render(
        request,
        "frontend/leads/agreement.html",
        {
            **_base(request, case, "agreement"),
            "agreement": agreement,
            "conflicts": agreement.page,
            "only_open": only_open,
            "verdicts": Verdict.choices,
            "can_adjudicate": case.status in ("open", "in_review"),
            "queues": list(case.queues.order_by("name")),
        },
    )


@require_POST
@login_required
def case_adjudicate(request: HttpRequest, case_id: int, account_id: int) -> HttpResponse:
    case, is_lead = _lead_case(request, case_id)
    if not is_lead:
        return _forbidden()
    link = CaseAccount.objects.filter(case=case, account_id=account_id).select_related("account").first()
    if link is None:
        raise Http404("No such account on this case.")
    error = None
    try:
        adjudicate_account(
            case=case,
            account=link.account,
            lead=request.user,
            verdict=request.POST.get("verdict", ""),
            reason=request.POST.get("reason", ""),
        )
    except CaseError as exc:
        error = exc.message
    if _is_htmx(request):
        row = get_account_review_for_lead(case=case, account_id=account_id, user=request.user)
        return render(
            request,
            "frontend/leads/agreement.html#conflict-row",
            {
                "case": case,
                "row": row,
                "verdicts": Verdict.choices,
                "can_adjudicate": case.status in ("open", "in_review"),
                "error": error,
                "posted": request.POST,
            },
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Adjudicated {link.account.handle}.")
    return redirect(reverse("frontend:lead-agreement", args=[case.pk]) + f"#conflict-{account_id}")


@never_cache
@require_safe
@login_required
def queue_agreement(request: HttpRequest, queue_id: int) -> HttpResponse:
    queue = get_queue_for_lead(request.user, queue_id)
    try:
        agreement = get_queue_agreement_for_lead(
            queue=queue, user=request.user, page=request.GET.get("page"), per_page=CONFLICTS_PER_PAGE
        )
    except NotAllowed as exc:
        return _forbidden(exc.message)
    return render(
        request,
        "frontend/leads/agreement_queue.html",
        {
            "teams": list(list_teams_for_user(request.user)),
            "queue": queue,
            "agreement": agreement,
            "conflicts": agreement.page,
        },
    )


# --- attribution decision --------------------------------------------------------------------------


def _decision_response(
    request: HttpRequest, case, *, form_error: str = "", reopen_error: str = "", status=200
):
    page = get_decision_page_for_lead(case=case, user=request.user)
    return render(
        request,
        "frontend/leads/decision.html",
        {
            **_base(request, case, "decision"),
            "d": page,
            "confidences": Confidence.choices,
            "form_error": form_error,
            "reopen_error": reopen_error,
            "posted": request.POST if request.method == "POST" else {},
        },
        status=status,
    )


@never_cache
@require_safe
@login_required
def case_decision(request: HttpRequest, case_id: int) -> HttpResponse:
    case, is_lead = _lead_case(request, case_id)
    if not is_lead:
        return _forbidden()
    return _decision_response(request, case)


@require_POST
@login_required
def case_decide(request: HttpRequest, case_id: int) -> HttpResponse:
    case, is_lead = _lead_case(request, case_id)
    if not is_lead:
        return _forbidden()
    actor = Actor.objects.filter(team=case.team, pk=_int(request.POST.get("actor"))).first()
    if actor is None:
        return _decision_response(request, case, form_error="Choose the actor the case is attributed to.")
    try:
        decision = decide_attribution(
            case=case,
            lead=request.user,
            actor=actor,
            confidence=request.POST.get("confidence", ""),
            rationale=request.POST.get("rationale", ""),
        )
    except CaseError as exc:
        return _decision_response(request, case, form_error=exc.message)
    messages.success(request, f"Decided: {decision.actor.name}, {decision.confidence} confidence.")
    return redirect("frontend:lead-decision", case_id=case.pk)


@require_POST
@login_required
def case_reopen(request: HttpRequest, case_id: int) -> HttpResponse:
    case, is_lead = _lead_case(request, case_id)
    if not is_lead:
        return _forbidden()
    try:
        reopen_case(case=case, lead=request.user, reason=request.POST.get("reason", ""))
    except CaseError as exc:
        return _decision_response(request, case, reopen_error=exc.message)
    messages.success(
        request, "The case is back in review; the decision is withdrawn and kept in the history."
    )
    return redirect("frontend:lead-decision", case_id=case.pk)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- account outcomes ------------------------------------------------------------------------------


def _outcomes_response(request: HttpRequest, case, *, is_lead: bool, error: str = "", status=200):
    ids = list(
        CaseAccount.objects.filter(case=case).order_by("added_at", "pk").values_list("account_id", flat=True)
    )
    page = Paginator(ids, OUTCOMES_PER_PAGE).get_page(request.GET.get("page"))
    rows = list_outcome_rows(case=case, user=request.user, account_ids=list(page.object_list))
    return render(
        request,
        "frontend/leads/outcomes.html",
        {
            **_base(request, case, "outcomes"),
            "rows": rows,
            "page": page,
            "is_lead": is_lead,
            "settable": is_lead and is_outcome_settable(case),
            "outcomes": Outcome.choices,
            "error": error,
            "posted": request.POST if request.method == "POST" else {},
        },
        status=status,
    )


@never_cache
@require_safe
@login_required
def case_outcomes(request: HttpRequest, case_id: int) -> HttpResponse:
    """Leads always; moderators read-only once the case is decided or closed (403 before)."""
    case, is_lead = _lead_case(request, case_id)
    try:
        return _outcomes_response(request, case, is_lead=is_lead)
    except NotAllowed as exc:
        return _forbidden(exc.message)


@require_POST
@login_required
def case_outcomes_set(request: HttpRequest, case_id: int) -> HttpResponse:
    case, is_lead = _lead_case(request, case_id)
    if not is_lead:
        return _forbidden()
    ids = {pk for pk in (_int(v) for v in request.POST.getlist("account")) if pk is not None}
    links = CaseAccount.objects.filter(case=case, account_id__in=ids).select_related("account")
    accounts = [link.account for link in links]
    if len(accounts) != len(ids):
        return _outcomes_response(
            request, case, is_lead=True, error="Some of those accounts are not on this case."
        )
    try:
        rows = set_account_outcomes(
            case=case,
            accounts=accounts,
            outcome=request.POST.get("outcome", ""),
            policy_basis=request.POST.get("policy_basis", ""),
            set_by=request.user,
        )
    except CaseError as exc:
        return _outcomes_response(request, case, is_lead=True, error=exc.message)
    messages.success(request, f"Outcome set on {len(rows)} account{'s' if len(rows) != 1 else ''}.")
    url = reverse("frontend:lead-outcomes", args=[case.pk])
    page = _int(request.POST.get("page"))
    return redirect(f"{url}?{urlencode({'page': page})}" if page and page > 1 else url)


# --- timeline --------------------------------------------------------------------------------------


@never_cache
@require_safe
@login_required
def case_timeline(request: HttpRequest, case_id: int) -> HttpResponse:
    case, is_lead = _lead_case(request, case_id)
    if not is_lead:
        return _forbidden()
    events = list_case_timeline_for_lead(case=case, user=request.user)
    page = Paginator(events, TIMELINE_PER_PAGE).get_page(request.GET.get("page"))
    ids = actor_ids(page.object_list)
    names = dict(Actor.objects.filter(team=case.team, pk__in=ids).values_list("pk", "name")) if ids else {}
    return render(
        request,
        "frontend/leads/timeline.html",
        {**_base(request, case, "timeline"), "events": page, "actor_names": names},
    )
