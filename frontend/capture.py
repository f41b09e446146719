"""Browser capture without the extension: the bookmarklet, its capture window, and the settings
page that hands out the bookmarklet and shows the manifest-signing public key.

The bookmarklet carries no token: it opens ``/capture/`` of this app in a small window with the
page's URL, title and selection in the query string, and the investigator completes a normal,
CSRF-protected form with their session. The form calls the same service as ``POST /api/captures/``
(``cases.services.captures.record_capture``) with ``method=bookmarklet``.
"""

import hashlib
import json
from collections import Counter

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from cases import signing
from cases.errors import CaseError
from cases.exporters.manifest import file_name, signed_manifest
from cases.models import CaptureMethod
from cases.selectors import get_case_for_user, list_cases_for_user, list_teams_for_user
from cases.services.captures import CaptureAction, record_capture
from cases.services.custody import record_case_export

CASES_OFFERED = 100
# What the bookmarklet runs, with only this app's origin put in (as a JSON string literal). It
# reads the page's URL, title and selection and opens the capture window; it sends nothing itself.
# No "%" anywhere: browsers percent-decode a javascript: URL before running it.
BOOKMARKLET = (
    "javascript:(function(){"
    "var o=__ORIGIN__,d=document,s='';"
    "try{s=String(window.getSelection()||'').slice(0,4000)}catch(e){}"
    "var u=o+'/capture/?url='+encodeURIComponent(location.href)"
    "+'&title='+encodeURIComponent(d.title.slice(0,500))"
    "+'&selection='+encodeURIComponent(s);"
    "window.open(u,'annotator_capture','width=560,height=760,resizable=yes,scrollbars=yes')"
    "})();"
)
ACTIONS = [
    (CaptureAction.PAGE, "Capture page"),
    (CaptureAction.ACCOUNT, "Flag account (profile or post URL)"),
    (CaptureAction.REPOST, "Selection as repost evidence"),
]


def bookmarklet_for(origin: str) -> str:
    # json.dumps makes the origin a JS string literal; "<", ">" and "&" are escaped on top so the
    # value stays inert wherever it is pasted. The template escapes the whole URL for the attribute.
    literal = json.dumps(origin).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return BOOKMARKLET.replace("__ORIGIN__", literal)


class CaptureForm(forms.Form):
    case = forms.TypedChoiceField(coerce=int, label="Case")
    action = forms.ChoiceField(choices=ACTIONS, initial=CaptureAction.PAGE, widget=forms.RadioSelect)
    url = forms.CharField(max_length=2000, label="Page URL")
    title = forms.CharField(max_length=500, required=False)
    selection = forms.CharField(
        required=False, strip=False, widget=forms.Textarea(attrs={"rows": 4}), label="Selected text"
    )
    source_url = forms.CharField(max_length=2000, required=False, label="Source post URL (repost)")
    source_author = forms.CharField(max_length=300, required=False, label="Source author (repost)")
    persona = forms.CharField(
        max_length=200, required=False, label="Research persona used", help_text="OPSEC record; optional."
    )
    screenshot = forms.FileField(required=False, label="Screenshot (PNG or JPEG, optional)")
    page = forms.FileField(required=False, label="Saved page (HTML or MHTML, optional)")

    def __init__(self, *args, cases=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["case"].choices = [(case.pk, f"{case.title} · {case.team.name}") for case in cases]
        self.fields["selection"].max_length = settings.CAPTURE_MAX_TEXT_CHARS


@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def capture_window(request: HttpRequest) -> HttpResponse:
    """The bookmarklet's window: prefilled from the query string, completed and sent by the user."""
    cases = list(
        list_cases_for_user(request.user)
        .open()
        .select_related("team")
        .order_by("-updated_at")[:CASES_OFFERED]
    )
    error = None
    if request.method == "POST":
        form = CaptureForm(request.POST, request.FILES, cases=cases)
        if form.is_valid():
            data = form.cleaned_data
            case = get_case_for_user(request.user, data.pop("case"))
            try:
                result = record_capture(
                    case=case,
                    captured_by=request.user,
                    method=CaptureMethod.BOOKMARKLET,
                    user_agent=request.headers.get("User-Agent", "")[:500],
                    **data,
                )
            except CaseError as exc:
                error = exc.message
            else:
                return render(
                    request,
                    "frontend/capture/done.html",
                    {
                        "result": result,
                        "files": [(f, file_name(f)) for f in result.files],
                        "evidence": result.evidence[0],
                    },
                )
    else:
        form = CaptureForm(
            cases=cases,
            initial={
                "url": request.GET.get("url", "")[:2000],
                "title": request.GET.get("title", "")[:500],
                "selection": request.GET.get("selection", "")[: settings.CAPTURE_MAX_TEXT_CHARS],
            },
        )
    return render(request, "frontend/capture/window.html", {"form": form, "error": error, "cases": cases})


@require_safe
@login_required
def settings_capture(request: HttpRequest) -> HttpResponse:
    """Browser capture settings: the bookmarklet, the extension, and the manifest-signing key."""
    origin = f"{request.scheme}://{request.get_host()}"
    return render(
        request,
        "frontend/capture/settings.html",
        {
            "teams": list(list_teams_for_user(request.user)),
            "bookmarklet": bookmarklet_for(origin),
            "key": signing.server_public_key(),
            "limits": {
                "screenshot": settings.CAPTURE_MAX_SCREENSHOT_BYTES,
                "page": settings.CAPTURE_MAX_PAGE_BYTES,
            },
            "capture_api": request.build_absolute_uri(reverse("api:capture-list")),
        },
    )


@require_safe
def signing_key_pem(request: HttpRequest) -> HttpResponse:
    """The public key that verifies this server's manifests, as PEM. Public by nature: anyone
    holding a manifest needs it, and it reveals nothing."""
    response = HttpResponse(signing.server_public_key().pem, content_type="application/x-pem-file")
    response["Content-Disposition"] = 'attachment; filename="annotator-manifest-signing-key.pub.pem"'
    return response


def report_manifest_context(request: HttpRequest, case) -> dict:
    """What the printable case report shows of the signed manifest. Rendering the report is an
    export of the evidence, so it is recorded in every item's chain first (then included)."""
    record_case_export(case=case, user=request.user, export_format="report")
    signed = signed_manifest(case, generated_by=request.user, now=timezone.now())
    digest = hashlib.sha256(signing.canonical_json(signed["manifest"])).hexdigest()
    # The report summarises each chain (an item viewed 500 times would fill pages); the JSON has it all.
    chains = []
    for item in signed["manifest"]["evidence"]:
        counts = Counter(event["action"] for event in item["custody"][1:])
        chains.append({"id": item["id"], "capture": item["capture"], "counts": sorted(counts.items())})
    return {
        "manifest": signed["manifest"],
        "manifest_signed": signed,
        "manifest_chains": chains,
        "manifest_signature": signed["signature"],
        "manifest_sha256": digest,
    }
