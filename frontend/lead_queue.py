"""Lead console, parts 1 and 2: the case queue (every case of a team, filtered, sorted, acted on
in bulk) and the queue monitor (a review queue's progress, throughput, leases and reviewers).

Mounted under ``leads/`` by ``frontend/urls.py``; names are in the ``frontend`` namespace.
Plain function views: each fetches what the user may see (another team's slug, case, queue or
lease is the same 404 as a missing one), calls one service, and redirects back with a message.
Members read both pages; only leads and admins act — moderators see no action buttons, and a
hand-made POST from them is a 403.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from cases.errors import CaseError
from cases.lead_selectors import (
    CASES_PER_PAGE,
    DEFAULT_SORT,
    PERIODS,
    SORTS,
    CaseQueueFilters,
    get_cases_for_bulk,
    get_lead_team_for_user,
    get_queue_for_user,
    get_queue_monitor_for_user,
    get_saved_filter_for_user,
    list_case_queue_for_user,
    list_saved_filters,
    list_team_members,
    list_team_queues,
)
from cases.models import (
    Actor,
    Assignment,
    AssignmentState,
    CaseStatus,
    Membership,
    Priority,
    QueueItem,
    Role,
)
from cases.review_selectors import live_lease_q
from cases.selectors import list_teams_for_user
from cases.services import lead_cases

from .templatetags.frontend_tags import display_name
from .templatetags.lead_tags import short_age

LEAD_ROLES = (Role.LEAD, Role.ADMIN)

# (sort key, heading, numeric column)
COLUMNS = [
    ("title", "Case", False),
    ("status", "Status", False),
    ("priority", "Priority", False),
    ("age", "Age", True),
    ("lead", "Lead", False),
    ("accounts", "Accounts", True),
    ("labeled", "Labeled", True),
    ("agreement", "Agreement", True),
    ("consensus", "Consensus", False),
    ("confidence", "Confidence", True),
    ("suggestions", "Open suggestions", True),
    ("activity", "Last activity", True),
]
assert {key for key, _, _ in COLUMNS} == set(SORTS)


def _forbidden(message: str = "Only a lead or admin of the team may do this.") -> HttpResponse:
    return HttpResponseForbidden(message, content_type="text/plain; charset=utf-8")


@require_safe
@login_required
def leads_home(request: HttpRequest) -> HttpResponse:
    """The case queue of the first team the user leads (else the first team they are in)."""
    memberships = list(
        Membership.objects.filter(user=request.user).select_related("team").order_by("team__name")
    )
    if not memberships:
        raise Http404("No team.")
    led = [m for m in memberships if m.role in LEAD_ROLES]
    team = (led or memberships)[0].team
    return redirect("frontend:lead-cases", team_slug=team.slug)


# --- case queue --------------------------------------------------------------------------------


def _columns(filters: CaseQueueFilters) -> list[dict]:
    out = []
    for key, label, numeric in COLUMNS:
        current = filters.sort_key == key
        if current:
            next_sort = key if filters.descending else f"-{key}"
            aria = "descending" if filters.descending else "ascending"
        else:
            next_sort = f"-{key}" if numeric or key == "priority" else key
            aria = ""
        out.append(
            {
                "key": key,
                "label": label,
                "numeric": numeric,
                "aria_sort": aria,
                "href": "?"
                + urlencode([*[(k, v) for k, v in filters.as_query() if k != "sort"], ("sort", next_sort)]),
            }
        )
    return out


@never_cache
@require_safe
@login_required
def case_queue(request: HttpRequest, team_slug: str) -> HttpResponse:
    team, membership = get_lead_team_for_user(request.user, team_slug)
    filters = CaseQueueFilters.from_query(request.GET)
    # The computed columns are kept in CaseQueueStats; bring the changed cases' rows up to date.
    lead_cases.refresh_case_queue_stats(team=team)
    cases = list_case_queue_for_user(user=request.user, team=team, filters=filters)
    page = Paginator(cases, CASES_PER_PAGE).get_page(request.GET.get("page"))
    now = timezone.now()
    query = urlencode(filters.as_query())
    return render(
        request,
        "frontend/leads/queue.html",
        {
            "teams": list(list_teams_for_user(request.user)),
            "team": team,
            "can_act": membership.role in LEAD_ROLES,
            "cases": page,
            "rows": [_row(case, now) for case in page.object_list],
            "filters": filters,
            "query": query,
            "columns": _columns(filters),
            "statuses": CaseStatus.choices,
            "priorities": Priority.choices,
            "members": list_team_members(team),
            "actors": list(Actor.objects.filter(team=team).order_by("name")),
            "saved_filters": list_saved_filters(user=request.user, team=team),
            "default_sort": DEFAULT_SORT,
        },
    )


def _percent(value) -> str:
    return "—" if value is None else f"{round(value * 100)}%"


def _row(case, now) -> dict:
    """One table row's display values, formatted here in one pass: 50 rows of a dozen columns
    through template filters cost more than the queries behind them."""
    activity = case.last_activity
    return {
        "pk": case.pk,
        "url": reverse("frontend:case-detail", args=[case.pk]),
        "title": case.title,
        "short_title": case.title if len(case.title) <= 70 else case.title[:69] + "…",
        "status": case.status,
        "status_label": case.get_status_display(),
        "priority": case.priority,
        "priority_label": case.get_priority_display(),
        "opened": case.created_at.isoformat(),
        "age": short_age(case.created_at, now),
        "lead": display_name(case.lead) if case.lead else "",
        "accounts": f"{case.account_count:,}",
        "labeled": _percent(case.labeled_share),
        "agreement": _percent(case.agreement),
        "conflicts": case.conflicts,
        "consensus": case.consensus_name,
        "decided": case.decided_confidence,
        "share": _percent(case.consensus_share),
        "votes": f"{case.vote_count} vote{'' if case.vote_count == 1 else 's'}",
        "suggestions": f"{case.open_suggestions:,}",
        "activity": activity.isoformat(),
        "activity_age": short_age(activity, now),
    }


def _back_to_queue(team, query: str) -> HttpResponse:
    url = reverse("frontend:lead-cases", kwargs={"team_slug": team.slug})
    normal = urlencode(CaseQueueFilters.from_query(QueryDict(query or "")).as_query())
    return redirect(f"{url}?{normal}" if normal else url)


def _int_or_none(value) -> int | None:
    """A whole number that fits the columns it is compared with, else None."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if -(2**31) <= number < 2**31 else None


@require_POST
@login_required
def case_queue_bulk(request: HttpRequest, team_slug: str) -> HttpResponse:
    """One bulk action on the selected cases. A non-member gets 404, a moderator 403; a list that
    names any case not of this team is a 404 and changes nothing."""
    team, membership = get_lead_team_for_user(request.user, team_slug)
    if membership.role not in LEAD_ROLES:
        return _forbidden()
    back = _back_to_queue(team, request.POST.get("query", ""))
    if not request.POST.getlist("case"):
        messages.error(request, "Select at least one case.")
        return back
    cases = get_cases_for_bulk(user=request.user, team=team, case_ids=request.POST.getlist("case"))
    action = request.POST.get("action", "")
    try:
        if action == "assign_lead":
            raw = request.POST.get("lead", "")
            lead = None
            if raw != "none":
                lead_id = _int_or_none(raw)
                lead = (
                    get_user_model().objects.filter(pk=lead_id, memberships__team=team).first()
                    if lead_id
                    else None
                )
                if lead is None:
                    messages.error(request, "Choose a member of the team to lead the cases.")
                    return back
            changed = lead_cases.bulk_assign_lead(team=team, cases=cases, lead=lead, assigned_by=request.user)
            who = lead.get_username() if lead else "nobody"
            messages.success(
                request, f"Lead set to {who} on {len(changed)} case{'s' if len(changed) != 1 else ''}."
            )
        elif action == "set_priority":
            priority = _int_or_none(request.POST.get("priority"))
            changed = lead_cases.bulk_set_priority(
                team=team, cases=cases, priority=priority if priority is not None else -1, set_by=request.user
            )
            messages.success(
                request, f"Priority changed on {len(changed)} case{'s' if len(changed) != 1 else ''}."
            )
        elif action == "create_queue":
            queue = lead_cases.create_queue_from_cases(
                team=team,
                cases=cases,
                name=request.POST.get("queue_name", ""),
                created_by=request.user,
                labels_per_item=_int_or_none(request.POST.get("labels_per_item")) or 1,
                lease_minutes=_int_or_none(request.POST.get("lease_minutes")) or 30,
            )
            messages.success(request, f"Review queue “{queue.name}” created.")
            return redirect("frontend:lead-queue-monitor", queue_id=queue.pk)
        elif action == "close":
            changed = lead_cases.bulk_close(
                team=team, cases=cases, lead=request.user, reason=request.POST.get("reason", "")
            )
            messages.success(request, f"Closed {len(changed)} case{'s' if len(changed) != 1 else ''}.")
        else:
            messages.error(request, "Choose an action.")
    except CaseError as exc:
        messages.error(request, exc.message)
    return back


@require_POST
@login_required
def saved_filter_save(request: HttpRequest, team_slug: str) -> HttpResponse:
    team, _ = get_lead_team_for_user(request.user, team_slug)
    query = urlencode(CaseQueueFilters.from_query(QueryDict(request.POST.get("query", ""))).as_query())
    try:
        saved = lead_cases.save_filter(
            team=team, user=request.user, name=request.POST.get("name", ""), query=query
        )
    except CaseError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Filter “{saved.name}” saved.")
    return _back_to_queue(team, query)


@require_POST
@login_required
def saved_filter_delete(request: HttpRequest, filter_id: int) -> HttpResponse:
    saved = get_saved_filter_for_user(request.user, filter_id)
    team = saved.team
    try:
        lead_cases.delete_filter(saved=saved, user=request.user)
    except CaseError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Filter “{saved.name}” deleted.")
    return _back_to_queue(team, "")


# --- queue monitor -----------------------------------------------------------------------------


@never_cache
@require_safe
@login_required
def queue_list(request: HttpRequest, team_slug: str) -> HttpResponse:
    """The team's review queues with their progress, in a fixed number of queries."""
    team, membership = get_lead_team_for_user(request.user, team_slug)
    queues = list_team_queues(team)
    now = timezone.now()
    items = {
        row["queue"]: row
        for row in QueueItem.objects.filter(queue__in=queues)
        .order_by()
        .values("queue")
        .annotate(items=Count("pk"), done=Count("pk", filter=Q(is_done=True)))
    }
    leases = {
        row["item__queue"]: row
        for row in Assignment.objects.filter(item__queue__in=queues, state=AssignmentState.ACTIVE)
        .order_by()
        .values("item__queue")
        .annotate(
            live=Count("pk", filter=live_lease_q(now)), stale=Count("pk", filter=Q(expires_at__lte=now))
        )
    }
    rows = [
        {
            "queue": q,
            "items": items.get(q.pk, {}).get("items", 0),
            "done": items.get(q.pk, {}).get("done", 0),
            "backlog": items.get(q.pk, {}).get("items", 0) - items.get(q.pk, {}).get("done", 0),
            "live": leases.get(q.pk, {}).get("live", 0),
            "stale": leases.get(q.pk, {}).get("stale", 0),
        }
        for q in queues
    ]
    return render(
        request,
        "frontend/leads/monitor_list.html",
        {
            "teams": list(list_teams_for_user(request.user)),
            "team": team,
            "rows": rows,
            "can_act": membership.role in LEAD_ROLES,
        },
    )


def _queue_and_role(request: HttpRequest, queue_id: int):
    queue = get_queue_for_user(request.user, queue_id)
    membership = Membership.objects.get(user=request.user, team=queue.team)
    return queue, membership.role in LEAD_ROLES


@never_cache
@require_safe
@login_required
def queue_monitor(request: HttpRequest, queue_id: int) -> HttpResponse:
    queue, can_act = _queue_and_role(request, queue_id)
    monitor = get_queue_monitor_for_user(user=request.user, queue=queue, period=request.GET.get("period", ""))
    listed = {r.user_id for r in monitor.reviewer_list}
    return render(
        request,
        "frontend/leads/monitor.html",
        {
            "teams": list(list_teams_for_user(request.user)),
            "team": queue.team,
            "queue": queue,
            "m": monitor,
            "can_act": can_act,
            "periods": [(key, value[0]) for key, value in PERIODS.items()],
            "addable": [ms for ms in list_team_members(queue.team) if ms.user_id not in listed],
        },
    )


def _monitor_action(request: HttpRequest, queue_id: int, run) -> HttpResponse:
    """Shared shape of the monitor's POSTs: 404 for other teams, 403 for moderators, one service
    call, a message, back to the monitor (keeping the chosen period)."""
    queue, can_act = _queue_and_role(request, queue_id)
    if not can_act:
        return _forbidden()
    try:
        message = run(queue)
    except CaseError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, message)
    url = reverse("frontend:lead-queue-monitor", kwargs={"queue_id": queue.pk})
    period = request.POST.get("period", "")
    return redirect(f"{url}?{urlencode({'period': period})}" if period in PERIODS else url)


@require_POST
@login_required
def queue_release_stale(request: HttpRequest, queue_id: int) -> HttpResponse:
    def run(queue):
        n = lead_cases.release_stale_leases(queue=queue, user=request.user)
        return f"Released {n} stale lease{'s' if n != 1 else ''}." if n else "No stale leases to release."

    return _monitor_action(request, queue_id, run)


@require_POST
@login_required
def queue_release_lease(request: HttpRequest, queue_id: int, assignment_id: int) -> HttpResponse:
    def run(queue):
        assignment = (
            Assignment.objects.filter(pk=assignment_id, item__queue=queue)
            .select_related("item__queue__team")
            .first()
        )
        if assignment is None:
            raise Http404("No such lease.")
        lead_cases.release_lease(assignment=assignment, user=request.user)
        return "Lease released; the item is back in the queue."

    return _monitor_action(request, queue_id, run)


@require_POST
@login_required
def queue_priority(request: HttpRequest, queue_id: int) -> HttpResponse:
    def run(queue):
        priority = _int_or_none(request.POST.get("priority"))
        if "item" in request.POST:
            item_id = _int_or_none(request.POST.get("item"))
            item = (
                QueueItem.objects.filter(pk=item_id, queue=queue)
                .select_related("queue__team", "account")
                .first()
                if item_id is not None
                else None
            )
            if item is None:
                raise Http404("No such item.")
            lead_cases.change_item_priority(
                item=item, priority=priority if priority is not None else "", set_by=request.user
            )
            return f"Priority of @{item.account.handle} set to {priority}."
        n = lead_cases.set_queue_priority(
            queue=queue, priority=priority if priority is not None else "", set_by=request.user
        )
        return f"Priority set to {priority} on {n} pending item{'s' if n != 1 else ''}."

    return _monitor_action(request, queue_id, run)


@require_POST
@login_required
def queue_reviewer_add(request: HttpRequest, queue_id: int) -> HttpResponse:
    def run(queue):
        user_id = _int_or_none(request.POST.get("reviewer"))
        reviewer = get_user_model().objects.filter(pk=user_id).first() if user_id else None
        lead_cases.add_queue_reviewer(queue=queue, reviewer=reviewer, added_by=request.user)
        return f"{reviewer.get_username()} added to the reviewers."

    return _monitor_action(request, queue_id, run)


@require_POST
@login_required
def queue_reviewer_remove(request: HttpRequest, queue_id: int, user_id: int) -> HttpResponse:
    def run(queue):
        reviewer = get_user_model().objects.filter(pk=user_id, memberships__team=queue.team).first()
        if reviewer is None:
            raise Http404("No such reviewer.")
        lead_cases.remove_queue_reviewer(queue=queue, reviewer=reviewer, removed_by=request.user)
        return f"{reviewer.get_username()} removed from the reviewers."

    return _monitor_action(request, queue_id, run)


urlpatterns = [
    path("", leads_home, name="leads"),
    path("<slug:team_slug>/cases/", case_queue, name="lead-cases"),
    path("<slug:team_slug>/cases/bulk/", case_queue_bulk, name="lead-cases-bulk"),
    path("<slug:team_slug>/filters/", saved_filter_save, name="lead-filter-save"),
    path("filters/<int:filter_id>/delete/", saved_filter_delete, name="lead-filter-delete"),
    path("<slug:team_slug>/queues/", queue_list, name="lead-queues"),
    path("queues/<int:queue_id>/", queue_monitor, name="lead-queue-monitor"),
    path("queues/<int:queue_id>/release-stale/", queue_release_stale, name="lead-queue-release-stale"),
    path(
        "queues/<int:queue_id>/leases/<int:assignment_id>/release/",
        queue_release_lease,
        name="lead-queue-release-lease",
    ),
    path("queues/<int:queue_id>/priority/", queue_priority, name="lead-queue-priority"),
    path("queues/<int:queue_id>/reviewers/", queue_reviewer_add, name="lead-queue-reviewer-add"),
    path(
        "queues/<int:queue_id>/reviewers/<int:user_id>/remove/",
        queue_reviewer_remove,
        name="lead-queue-reviewer-remove",
    ),
]
