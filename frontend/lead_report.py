"""The lead console's network graph and printable case report.

Read-only pages: nothing here writes, so moderators of the team may open them too (the issue's
"moderators see read-only parts"). What they see keeps the review blind — other reviewers'
verdicts and votes only where they may see them (``cases.report_selectors``). Another team's case
is the same 404 as a missing one (``get_case_for_user``).

The graph's data travels in a ``json_script`` element (escaped JSON, no inline script, so the
CSP holds) and cytoscape.js draws it on a canvas; account names and bios reach the page only as
canvas text and as ``textContent`` of the side panel, never as HTML.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from cases.report_selectors import get_case_graph_for_user, get_case_report_for_user
from cases.review_selectors import is_review_blind
from cases.selectors import get_case_for_user, list_teams_for_user
from cases.workspace_selectors import get_technique_coverage_for_user

from .capture import report_manifest_context

# Human names of the edge filters; the engine's own signals fall back to their name.
SIGNAL_NAMES = {
    "shared_brand": "Shared media brand",
    "copied_post": "Copied posts",
    "copy_paste": "Copy-paste posts",
    "co_timing": "Posting in step",
    "handle_shape": "Handle shape",
    "similarity": "Similarity (other)",
}


def _strip(coverage) -> list:
    """Each tactic with a heat level 0..4 for the strip (a class, since the CSP allows no inline
    style): 0 is no evidence, 4 the most-cited tactic of the case."""
    top = max((c.evidence for c in coverage), default=0) or 1
    return [(c, 0 if not c.evidence else 1 + min(3, (3 * c.evidence) // top)) for c in coverage]


@require_safe
@login_required
def case_graph(request: HttpRequest, case_id: int) -> HttpResponse:
    case = get_case_for_user(request.user, case_id)
    graph = get_case_graph_for_user(case=case, user=request.user)
    coverage = get_technique_coverage_for_user(case=case, user=request.user)
    kinds = {"suggestion": 0, "brand": 0, "copy": 0}
    for edge in graph["edges"]:
        kinds[edge["data"]["kind"]] += 1
    return render(
        request,
        "frontend/leads/graph.html",
        {
            "teams": list(list_teams_for_user(request.user)),
            "case": case,
            "graph": graph,
            "account_nodes": sum(1 for n in graph["nodes"] if n["data"]["kind"] == "account"),
            "edge_kinds": kinds,
            "signals": [(s, SIGNAL_NAMES.get(s, s.replace("_", " ").capitalize())) for s in graph["signals"]],
            "coverage": _strip(coverage),
            "reveal": not is_review_blind(user=request.user, case=case),
        },
    )


@require_safe
@login_required
def case_report(request: HttpRequest, case_id: int) -> HttpResponse:
    case = get_case_for_user(request.user, case_id)
    report = get_case_report_for_user(case=case, user=request.user)
    return render(
        request,
        "frontend/leads/report.html",
        {
            "teams": list(list_teams_for_user(request.user)),
            "case": case,
            "report": report,
            "coverage": _strip(report.coverage),
            "graph": get_case_graph_for_user(case=case, user=request.user),
            # The signed evidence manifest (browser capture, custody trail: frontend/capture.py).
            **report_manifest_context(request, case),
        },
    )
