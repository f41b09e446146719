"""The moderator workspace: My work, the review screen, evidence, the case page and its votes.

Plain function views, as in ``frontend.views``: each fetches what the user may see through the
selectors (another team's id is the same 404 as a missing one), calls at most one service, and
renders a page, or one partial of it for htmx. A domain error (``CaseError``) becomes a message
on the same page, never a 500.

Everything shown here may come from an adversary — handles, bios, posts, captured pages, file
names. Templates autoescape it and nothing is marked safe; links out are defanged and isolated;
uploaded files are served as downloads, images only re-encoded, HTML only in a sandbox.
"""

import io
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from PIL import Image, UnidentifiedImageError

from cases.errors import CaseError, Conflict
from cases.models import (
    Actor,
    Assignment,
    AssignmentState,
    CustodyAction,
    EvidenceFile,
    EvidenceKind,
    Technique,
)
from cases.review_selectors import (
    REVIEWABLE_STATUSES,
    get_label_agreement_for_user,
    get_vote_tally_for_user,
    list_label_agreement_for_accounts,
)
from cases.selectors import (
    get_account_for_user,
    get_case_for_user,
    get_evidence_for_user,
    list_case_accounts,
    list_teams_for_user,
)
from cases.services.custody import custody_file, record_custody_event
from cases.services.evidence import Upload, record_evidence, retract_evidence
from cases.services.labels import submit_label
from cases.services.queues import claim_next_item, release_item
from cases.services.suggestions import accept_suggestion, dismiss_suggestion
from cases.services.votes import cast_vote
from cases.services.workspace import (
    cast_vote_for_new_actor,
    record_new_brand_evidence,
    skip_and_claim_next,
    submit_label_and_claim_next,
)
from cases.workspace_selectors import (
    SuggestionView,
    get_assignment_for_user,
    get_case_account_by_handle,
    get_evidence_file_for_user,
    get_own_label,
    get_queue_for_user,
    get_suggestion_for_user,
    get_technique_coverage_for_user,
    get_work_overview_for_user,
    list_account_brands,
    list_account_evidence,
    list_account_posts,
    list_case_evidence_full,
    list_recent_techniques_for_user,
    list_suggestions_for_account,
    search_techniques,
)

from .highlight import side_by_side
from .workspace_forms import NEW_ACTOR, EvidenceForm, LabelForm, RetractForm, SkipForm, VoteForm

POSTS_PER_PAGE = 5
CASE_PAGE_SIZE = 50
WORK_TEAM_SESSION_KEY = "work_team"
# Shown as escaped source: enough of a captured page to read, not enough to stall the page.
SOURCE_PREVIEW_BYTES = 200_000
IMAGE_MAX_SIDE = 1600
CUSTODY_SHOWN = 50  # the latest custody events on the evidence page; the manifest has them all
# The captured page is an adversary's page: no script, nothing fetched from anywhere, its own
# inline styles only, framed by our pages alone. ``sandbox`` gives it an opaque origin too.
CAPTURE_PREVIEW_CSP = (
    "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
)
# Served images and downloads: nothing in them may run or load anything, even if opened directly.
FILE_CSP = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _safe_next(request: HttpRequest, fallback: str) -> str:
    """The ``next`` the form carried, if it is a path of this site; else ``fallback``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _my_work_url(team_slug: str | None = None) -> str:
    url = reverse("frontend:my-work")
    return f"{url}?{urlencode({'team': team_slug})}" if team_slug else url


# --- My work -----------------------------------------------------------------------------------


def _work_team(request: HttpRequest, teams: list):
    """The team My work shows: ``?team=`` (remembered for next time), else the one remembered,
    else the first. An unknown or foreign slug in the query is a 404, as on the home page."""
    asked = request.GET.get("team")
    if asked:
        for team in teams:
            if team.slug == asked:
                request.session[WORK_TEAM_SESSION_KEY] = team.slug
                return team
        raise Http404("No such team.")
    remembered = request.session.get(WORK_TEAM_SESSION_KEY)
    for team in teams:
        if team.slug == remembered:
            return team
    return teams[0] if teams else None


@never_cache  # leases and counts change by the minute
@require_safe
@login_required
def my_work(request: HttpRequest) -> HttpResponse:
    teams = list(list_teams_for_user(request.user))
    team = _work_team(request, teams)
    overview = get_work_overview_for_user(user=request.user, team=team) if team else None
    return render(
        request,
        "frontend/workspace/my_work.html",
        {"teams": teams, "team": team, "overview": overview},
    )


@require_POST
@login_required
def claim_next(request: HttpRequest, queue_id: int) -> HttpResponse:
    queue = get_queue_for_user(request.user, queue_id)
    try:
        assignment = claim_next_item(queue=queue, user=request.user)
    except CaseError as exc:
        messages.error(request, exc.message)
        return redirect(_my_work_url(queue.team.slug))
    if assignment is None:
        messages.info(request, f"Nothing is left for you in “{queue.name}”.")
        return redirect(_my_work_url(queue.team.slug))
    return redirect("frontend:work-review", assignment_id=assignment.pk)


@require_POST
@login_required
def release(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = get_assignment_for_user(request.user, assignment_id)
    try:
        release_item(assignment=assignment, user=request.user)
    except CaseError as exc:
        messages.error(request, exc.message)
        return redirect("frontend:work-review", assignment_id=assignment.pk)
    messages.success(request, f"Released @{assignment.item.account.handle}; it is back in the queue.")
    return redirect(_my_work_url(assignment.item.queue.team.slug))


@require_POST
@login_required
def skip(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = get_assignment_for_user(request.user, assignment_id)
    form = SkipForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["reason"][0])
        return redirect("frontend:work-review", assignment_id=assignment.pk)
    try:
        step = skip_and_claim_next(
            assignment=assignment, user=request.user, reason=form.cleaned_data["reason"]
        )
    except CaseError as exc:
        messages.error(request, exc.message)
        return redirect("frontend:work-review", assignment_id=assignment.pk)
    messages.success(request, f"Skipped @{assignment.item.account.handle}.")
    return _to_next(step, assignment)


def _to_next(step, assignment: Assignment) -> HttpResponse:
    if step.assignment is not None:
        return redirect("frontend:work-review", assignment_id=step.assignment.pk)
    return redirect(_my_work_url(assignment.item.queue.team.slug))


# --- the review screen -------------------------------------------------------------------------


def _lease_is_live(assignment: Assignment) -> bool:
    return assignment.state == AssignmentState.ACTIVE and assignment.expires_at > timezone.now()


def _posts_page(request: HttpRequest, account, page_number) -> dict:
    page = Paginator(list_account_posts(account), POSTS_PER_PAGE).get_page(page_number)
    posts = [
        {
            "post": post,
            "pair": side_by_side(post.text, post.copied_from.text) if post.copied_from_id else None,
        }
        for post in page.object_list
    ]
    return {"posts_page": page, "posts": posts, "account": account}


def _technique_context(request: HttpRequest, *, prefix: str, selected_codes, query: str = "") -> dict:
    """What the technique picker shows: the chosen ones, the user's recent picks, then the kill
    chain (or the matches of the search), each technique once."""
    selected = list(Technique.objects.filter(procedure_code__in=list(selected_codes)).order_by("order"))
    chosen = {t.pk for t in selected}
    recent = [] if query else [t for t in list_recent_techniques_for_user(request.user) if t.pk not in chosen]
    shown = chosen | {t.pk for t in recent}
    if query:
        listed = [t for t in search_techniques(query) if t.pk not in shown]
    else:
        listed = [t for t in Technique.objects.order_by("order") if t.pk not in shown]
    return {
        "prefix": prefix,
        "tech_query": query,
        "tech_selected": selected,
        "tech_recent": recent,
        "tech_listed": listed,
    }


def _review_context(request: HttpRequest, assignment: Assignment, *, label_form=None, evidence_form=None):
    item = assignment.item
    case, account = item.case, item.account
    own_label = get_own_label(case=case, account=account, user=request.user)
    live = _lease_is_live(assignment)
    if label_form is None:
        initial = {}
        if own_label is not None:
            initial = {"verdict": own_label.verdict, "note": own_label.note}
        label_form = LabelForm(initial=initial)
    if label_form.is_bound:
        selected_codes = label_form.data.getlist("techniques")
    elif own_label is not None:
        selected_codes = [t.procedure_code for t in own_label.techniques.all()]
    else:
        selected_codes = []
    if evidence_form is None:
        evidence_form = EvidenceForm(team=case.team, initial={"account": account.handle})
    ev_codes = evidence_form.data.getlist("techniques") if evidence_form.is_bound else []
    return {
        "teams": list(list_teams_for_user(request.user)),
        "assignment": assignment,
        "queue": item.queue,
        "case": case,
        "account": account,
        "lease_live": live,
        "can_label": case.status in REVIEWABLE_STATUSES
        and (live or assignment.state == AssignmentState.COMPLETED),
        "own_label": own_label,
        "agreement": get_label_agreement_for_user(case=case, account=account, user=request.user),
        "brands": list_account_brands(account),
        "evidence": list_account_evidence(case=case, account=account),
        "suggestions": list_suggestions_for_account(account=account, case=case),
        "label_form": label_form,
        "evidence_form": evidence_form,
        "account_fixed": account,
        "evidence_action": reverse("frontend:evidence-new", args=[case.pk]),
        "evidence_next": reverse("frontend:work-review", args=[assignment.pk]),
        "tech": _technique_context(request, prefix="lbl", selected_codes=selected_codes),
        "ev_tech": _technique_context(request, prefix="ev", selected_codes=ev_codes),
        **_posts_page(request, account, request.GET.get("posts_page")),
    }


@never_cache
@require_safe
@login_required
def review(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = get_assignment_for_user(request.user, assignment_id)
    return render(request, "frontend/workspace/review.html", _review_context(request, assignment))


@require_POST
@login_required
def label(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = get_assignment_for_user(request.user, assignment_id)
    item = assignment.item
    form = LabelForm(request.POST)
    if not form.is_valid():
        return render(
            request, "frontend/workspace/review.html", _review_context(request, assignment, label_form=form)
        )
    data = form.cleaned_data
    fields = {"verdict": data["verdict"], "techniques": list(data["techniques"]), "note": data["note"]}
    live = _lease_is_live(assignment)
    step = None
    try:
        if live:
            # Time on the item, from the claim: nothing the browser says is trusted for it.
            seconds = int((timezone.now() - assignment.claimed_at).total_seconds())
            seconds = max(0, min(seconds, item.queue.lease_minutes * 60))
            if request.POST.get("action") == "next":
                _, step = submit_label_and_claim_next(
                    assignment=assignment, annotator=request.user, seconds_spent=seconds, **fields
                )
            else:
                submit_label(
                    case=item.case,
                    account=item.account,
                    annotator=request.user,
                    assignment=assignment,
                    seconds_spent=seconds,
                    **fields,
                )
        elif assignment.state == AssignmentState.COMPLETED:
            # The lease is done and counted; this changes the label only.
            submit_label(case=item.case, account=item.account, annotator=request.user, **fields)
        else:
            raise Conflict("Your lease on this item has ended; claim the next item to go on.")
    except CaseError as exc:
        form.add_error(None, exc.message)
        return render(
            request, "frontend/workspace/review.html", _review_context(request, assignment, label_form=form)
        )
    messages.success(request, f"Labelled @{item.account.handle} {data['verdict']}.")
    if step is None:
        return redirect("frontend:work-review", assignment_id=assignment.pk)
    if step.assignment is None:
        messages.info(request, step.reason)
    return _to_next(step, assignment)


@require_safe
@login_required
def account_posts(request: HttpRequest, account_id: int) -> HttpResponse:
    """One page of an account's posts: the review screen's pager asks for it with htmx."""
    account = get_account_for_user(request.user, account_id)
    context = _posts_page(request, account, request.GET.get("page"))
    response = render(request, "frontend/workspace/review.html#posts", context)
    response["Vary"] = "HX-Request"
    return response


@require_safe
@login_required
def techniques(request: HttpRequest) -> HttpResponse:
    """The technique picker's options for a search, keeping what is already chosen (htmx)."""
    prefix = request.GET.get("prefix", "lbl")
    if prefix not in {"lbl", "ev"}:
        raise Http404("No such picker.")
    context = _technique_context(
        request,
        prefix=prefix,
        selected_codes=request.GET.getlist("techniques"),
        query=request.GET.get("tq", "").strip()[:100],
    )
    return render(request, "frontend/workspace/_tech_picker.html#tech-options", context)


def _suggestion_response(request: HttpRequest, view: SuggestionView, *, case, error: str = ""):
    return render(
        request,
        "frontend/workspace/review.html#suggestion",
        {"s": view, "case": case, "account_id": request.POST.get("account"), "error": error},
    )


def _suggestion_action(request: HttpRequest, suggestion_id: int, action: str) -> HttpResponse:
    suggestion = get_suggestion_for_user(request.user, suggestion_id)
    case = get_case_for_user(request.user, _int(request.POST.get("case")))
    anchor = get_account_for_user(request.user, _int(request.POST.get("account")))
    if anchor.pk not in (suggestion.account_a_id, suggestion.account_b_id):
        raise Http404("No such suggestion for this account.")
    other = suggestion.account_b if anchor.pk == suggestion.account_a_id else suggestion.account_a
    error = ""
    try:
        if action == "accept":
            accept_suggestion(suggestion=suggestion, case=case, user=request.user)
        else:
            dismiss_suggestion(suggestion=suggestion, user=request.user)
    except CaseError as exc:
        error = exc.message
    on_case = action == "accept" and not error
    view = SuggestionView(suggestion=suggestion, other=other, on_case=on_case)
    if not _is_htmx(request):
        if error:
            messages.error(request, error)
        return redirect(_safe_next(request, reverse("frontend:case-detail", args=[case.pk])))
    return _suggestion_response(request, view, case=case, error=error)


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404("No such object.") from None


@require_POST
@login_required
def suggestion_accept(request: HttpRequest, suggestion_id: int) -> HttpResponse:
    return _suggestion_action(request, suggestion_id, "accept")


@require_POST
@login_required
def suggestion_dismiss(request: HttpRequest, suggestion_id: int) -> HttpResponse:
    return _suggestion_action(request, suggestion_id, "dismiss")


@require_safe
@login_required
def account_avatar(request: HttpRequest, account_id: int) -> HttpResponse:
    account = get_account_for_user(request.user, account_id)
    if not account.avatar:
        raise Http404("No avatar.")
    with account.avatar.open("rb") as handle:
        content = handle.read()
    try:
        return _reencoded_png(content, f"avatar-{account.pk}.png")
    except Http404:
        # Not an image we can draw (an SVG, a broken file): a neutral tile, never the file itself.
        return _reencoded_png(_PLACEHOLDER_AVATAR, f"avatar-{account.pk}.png")


# --- evidence ----------------------------------------------------------------------------------


def _uploads(form: EvidenceForm, kind: str) -> list[Upload]:
    role_by_field = {
        "screenshot_file": (EvidenceKind.SCREENSHOT, EvidenceFile.Role.SCREENSHOT),
        "capture_file": (EvidenceKind.PAGE_CAPTURE, EvidenceFile.Role.PAGE_CAPTURE),
        "logo_file": (EvidenceKind.MEDIA_BRAND, EvidenceFile.Role.LOGO),
    }
    uploads = []
    for name, (for_kind, role) in role_by_field.items():
        upload = form.cleaned_data.get(name)
        if upload is not None and kind == for_kind:
            uploads.append(Upload(role=role, name=upload.name or "", content=upload.read()))
    return uploads


def _save_evidence(request: HttpRequest, case, form: EvidenceForm):
    """Record the evidence the valid form describes; returns it, or adds the error to the form."""
    data = form.cleaned_data
    kind = data["kind"]
    account = None
    if data["account"].strip():
        account = get_case_account_by_handle(case=case, handle=data["account"])
        if account is None:
            form.add_error("account", "No account with that handle is on this case.")
            return None
    common = {
        "case": case,
        "captured_by": request.user,
        "account": account,
        "title": data["title"],
        "url": data["url"],
        "captured_text": data["captured_text"],
        "techniques": list(data["techniques"]),
        "files": _uploads(form, kind),
    }
    try:
        if kind == EvidenceKind.MEDIA_BRAND and not data["brand"]:
            return record_new_brand_evidence(
                name=data["brand_name"],
                impersonates=data["impersonates"],
                domains=data["domains"],
                **common,
            )
        return record_evidence(
            kind=kind,
            capture_method="upload" if common["files"] else "manual",
            brand=data["brand"] if kind == EvidenceKind.MEDIA_BRAND else None,
            source_url=data["source_url"] if kind == EvidenceKind.REPOST else "",
            source_author=data["source_author"] if kind == EvidenceKind.REPOST else "",
            source_text=data["source_text"] if kind == EvidenceKind.REPOST else "",
            **common,
        )
    except CaseError as exc:
        form.add_error(None, exc.message)
        return None


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def evidence_new(request: HttpRequest, case_id: int) -> HttpResponse:
    """Attach evidence to a case: the full page (from the case page), or the review screen's
    dialog posting here with htmx — then an invalid form comes back in place, status 200."""
    case = get_case_for_user(request.user, case_id)
    next_url = _safe_next(request, reverse("frontend:case-detail", args=[case.pk]))
    if request.method == "POST":
        form = EvidenceForm(request.POST, request.FILES, team=case.team)
        evidence = _save_evidence(request, case, form) if form.is_valid() else None
        if evidence is not None:
            messages.success(
                request,
                f"Evidence #{evidence.pk} recorded ({evidence.get_kind_display().lower()}), "
                f"SHA-256 {evidence.content_sha256[:16]}…",
            )
            if _is_htmx(request):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = next_url
                return response
            return redirect(next_url)
    else:
        form = EvidenceForm(team=case.team, initial={"account": request.GET.get("account", "")})
    account_fixed = None
    if request.POST.get("account_fixed") and form.is_bound:
        account_fixed = get_case_account_by_handle(case=case, handle=form.data.get("account", ""))
    context = {
        "teams": list(list_teams_for_user(request.user)),
        "case": case,
        "account_fixed": account_fixed,
        "evidence_form": form,
        "evidence_action": reverse("frontend:evidence-new", args=[case.pk]),
        "evidence_next": next_url,
        "ev_tech": _technique_context(
            request, prefix="ev", selected_codes=form.data.getlist("techniques") if form.is_bound else []
        ),
    }
    if _is_htmx(request):
        return render(request, "frontend/workspace/_evidence_form.html", context)
    return render(request, "frontend/workspace/evidence_new.html", context)


@require_safe
@login_required
def evidence_detail(request: HttpRequest, evidence_id: int) -> HttpResponse:
    item = get_evidence_for_user(request.user, evidence_id)
    evidence = (
        list_case_evidence_full(item.case)
        .select_related("post__copied_from__account", "retracts")
        .get(pk=item.pk)
    )
    captures = []
    for file in evidence.files.all():
        if file.role == EvidenceFile.Role.PAGE_CAPTURE:
            with file.file.open("rb") as handle:
                head = handle.read(SOURCE_PREVIEW_BYTES + 1)
            captures.append(
                {
                    "file": file,
                    "source": head[:SOURCE_PREVIEW_BYTES].decode("utf-8", errors="replace"),
                    "truncated": len(head) > SOURCE_PREVIEW_BYTES,
                    "previewable": file.content_type == "text/html",
                }
            )
    view = request.GET.get("view", "source")
    # Every view is a link in the item's chain of custody (one INSERT; cases.services.custody).
    record_custody_event(
        evidence=evidence, action=CustodyAction.VIEWED, user=request.user, detail={"via": "app"}
    )
    custody = list(evidence.custody_events.select_related("user").order_by("-at", "-pk")[:CUSTODY_SHOWN])
    return render(
        request,
        "frontend/workspace/evidence_detail.html",
        {
            "teams": list(list_teams_for_user(request.user)),
            "case": evidence.case,
            "item": evidence,
            "pair": side_by_side(evidence.captured_text, evidence.source_text)
            if evidence.kind == EvidenceKind.REPOST and evidence.source_text
            else None,
            "captures": captures,
            "capture_view": "preview" if view == "preview" else "source",
            "custody": custody,
        },
    )


@require_POST
@login_required
def evidence_retract(request: HttpRequest, evidence_id: int) -> HttpResponse:
    evidence = get_evidence_for_user(request.user, evidence_id)
    next_url = _safe_next(request, reverse("frontend:evidence-detail", args=[evidence.pk]))
    form = RetractForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["reason"][0])
        return redirect(next_url)
    try:
        retract_evidence(evidence=evidence, retracted_by=request.user, reason=form.cleaned_data["reason"])
    except CaseError as exc:
        messages.error(request, exc.message)
        return redirect(next_url)
    messages.success(request, f"Evidence #{evidence.pk} retracted. It stays on the record, marked retracted.")
    return redirect(next_url)


_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "text/html": ".html",
    "multipart/related": ".mhtml",
}


@require_safe
@login_required
def evidence_file_download(request: HttpRequest, file_id: int) -> HttpResponse:
    """The stored bytes, exactly as hashed, as a download and never as a page: whatever the file
    claims to be, the browser is told it is opaque bytes to save."""
    file = get_evidence_file_for_user(request.user, file_id)
    record_custody_event(
        evidence=file.evidence, action=CustodyAction.DOWNLOADED, user=request.user, detail=custody_file(file)
    )
    name = f"evidence-{file.evidence_id}-{file.sha256[:12]}{_EXTENSIONS.get(file.content_type, '.bin')}"
    response = FileResponse(
        file.file.open("rb"), as_attachment=True, filename=name, content_type="application/octet-stream"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = FILE_CSP
    response["Cache-Control"] = "private, no-store"
    return response


def _placeholder_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (48, 48), (238, 240, 243)).save(out, format="PNG")
    return out.getvalue()


_PLACEHOLDER_AVATAR = _placeholder_png()


def _reencoded_png(content: bytes, name: str) -> HttpResponse:
    """An image decoded and drawn again as a plain PNG: what reaches the browser is pixels we
    wrote, not the uploader's file (no metadata, no polyglot tricks, no format-parser surprises)."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.load()
            image = image.convert("RGBA") if image.mode in ("RGBA", "LA", "P") else image.convert("RGB")
            image.thumbnail((IMAGE_MAX_SIDE, IMAGE_MAX_SIDE))
            out = io.BytesIO()
            image.save(out, format="PNG", optimize=False)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise Http404("Not an image.") from None
    response = HttpResponse(out.getvalue(), content_type="image/png")
    # For an <img> the disposition changes nothing; opened directly, the file is saved, not shown.
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = FILE_CSP
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_safe
@login_required
def evidence_file_image(request: HttpRequest, file_id: int) -> HttpResponse:
    """A screenshot or logo for an ``<img>``, re-encoded as PNG. Other files are not images here."""
    file = get_evidence_file_for_user(request.user, file_id)
    if file.role not in (EvidenceFile.Role.SCREENSHOT, EvidenceFile.Role.LOGO):
        raise Http404("Not an image.")
    with file.file.open("rb") as handle:
        return _reencoded_png(handle.read(), f"evidence-{file.evidence_id}-{file.pk}.png")


@xframe_options_sameorigin  # framed by the evidence page (sandboxed iframe), by nothing else
@require_safe
@login_required
def evidence_file_preview(request: HttpRequest, file_id: int) -> HttpResponse:
    """A captured HTML page for the evidence page's ``<iframe sandbox>``. The page's own CSP
    (``sandbox``, nothing but inline styles and data: images) holds even if it is opened
    directly, outside the iframe."""
    file = get_evidence_file_for_user(request.user, file_id)
    if file.role != EvidenceFile.Role.PAGE_CAPTURE or file.content_type != "text/html":
        raise Http404("No preview for this file.")
    with file.file.open("rb") as handle:
        response = HttpResponse(handle.read(), content_type="text/html")
    response["Content-Security-Policy"] = CAPTURE_PREVIEW_CSP
    response["X-Content-Type-Options"] = "nosniff"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    return response


# --- the case page -----------------------------------------------------------------------------


def _case_context(request: HttpRequest, case, *, vote_form=None) -> dict:
    accounts_page = Paginator(list_case_accounts(case), CASE_PAGE_SIZE).get_page(
        request.GET.get("accounts_page")
    )
    account_ids = [link.account_id for link in accounts_page.object_list]
    agreement = list_label_agreement_for_accounts(case=case, user=request.user, account_ids=account_ids)
    evidence_page = Paginator(list_case_evidence_full(case), CASE_PAGE_SIZE).get_page(
        request.GET.get("evidence_page")
    )
    standing = [
        (pk, kind, title or text[:120])
        for pk, kind, title, text in case.evidence.active()
        .order_by("-captured_at", "-pk")
        .values_list("pk", "kind", "title", "captured_text")
    ]
    actors = list(Actor.objects.filter(team=case.team).order_by("name"))
    tally = get_vote_tally_for_user(case=case, user=request.user)
    if vote_form is None:
        initial = {}
        if tally.my_vote is not None:
            mine = tally.my_vote
            initial = {
                "actor": str(mine.actor_id),
                "confidence": mine.confidence,
                "rationale": mine.rationale,
                "cited_evidence": [str(pk) for pk in mine.cited_evidence.values_list("pk", flat=True)],
            }
        vote_form = VoteForm(initial=initial, actors=actors, evidence_ids=[pk for pk, _, _ in standing])
    coverage = get_technique_coverage_for_user(case=case, user=request.user)
    return {
        "teams": list(list_teams_for_user(request.user)),
        "case": case,
        "case_accounts": accounts_page,
        "agreement": agreement,
        "evidence": evidence_page,
        "standing_evidence": standing,
        "tally": tally,
        "vote_form": vote_form,
        "can_vote": case.status in REVIEWABLE_STATUSES,
        "coverage": coverage,
        "coverage_max": max((c.total for c in coverage), default=0),
        "case_queues": list(case.queues.order_by("name")),
        "evidence_form": EvidenceForm(team=case.team, initial={"kind": EvidenceKind.NOTE}),
        "evidence_action": reverse("frontend:evidence-new", args=[case.pk]),
        "evidence_next": request.path,
        "ev_tech": _technique_context(request, prefix="ev", selected_codes=[]),
    }


@require_safe
@login_required
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    case = get_case_for_user(request.user, case_id)
    return render(request, "frontend/workspace/case_detail.html", _case_context(request, case))


@require_POST
@login_required
def case_vote(request: HttpRequest, case_id: int) -> HttpResponse:
    case = get_case_for_user(request.user, case_id)
    actors = list(Actor.objects.filter(team=case.team).order_by("name"))
    standing = list(case.evidence.active().values_list("pk", flat=True))
    form = VoteForm(request.POST, actors=actors, evidence_ids=standing)
    if form.is_valid():
        data = form.cleaned_data
        cited = list(case.evidence.filter(pk__in=[int(pk) for pk in data["cited_evidence"]]))
        try:
            if data["actor"] == NEW_ACTOR:
                vote = cast_vote_for_new_actor(
                    case=case,
                    voter=request.user,
                    actor_name=data["new_actor_name"],
                    actor_country=data["new_actor_country"],
                    confidence=data["confidence"],
                    rationale=data["rationale"],
                    cited_evidence=cited,
                )
            else:
                vote = cast_vote(
                    case=case,
                    voter=request.user,
                    actor=form.chosen_actor,
                    confidence=data["confidence"],
                    rationale=data["rationale"],
                    cited_evidence=cited,
                )
        except CaseError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request, f"Your vote is recorded: {vote.actor.name}, {vote.confidence} confidence."
            )
            return redirect(reverse("frontend:case-detail", args=[case.pk]) + "#attribution")
    return render(
        request, "frontend/workspace/case_detail.html", _case_context(request, case, vote_form=form)
    )
