"""Import page: upload a bundle or Meta threat-indicator files; the job page shows the progress."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from cases.errors import CaseError
from cases.selectors import list_teams_for_user
from cases.services.imports import start_bundle_import, start_indicator_import

KINDS = [
    ("bundle", "Account bundle (JSON Lines or CSV)"),
    ("indicators", "Meta threat-indicator files (CSV, JSON or Markdown)"),
]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field, as Django's documentation shows it."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            # An empty list is no file at all: "required", not an empty selection to index into.
            return [single(item, initial) for item in data] if data else [single(None, initial)]
        return [single(data, initial)]


class ImportForm(forms.Form):
    team = forms.ChoiceField(label="Into team")
    kind = forms.ChoiceField(label="What it is", choices=KINDS, widget=forms.RadioSelect, initial="bundle")
    files = MultipleFileField(label="File(s)")

    def __init__(self, *args, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.teams = {team.slug: team for team in teams}
        self.fields["team"].choices = [(team.slug, team.name) for team in teams]
        self.fields["team"].widget.attrs["class"] = "input"
        self.fields["files"].widget.attrs["class"] = "input-file"

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == "bundle" and len(cleaned.get("files") or []) > 1:
            self.add_error("files", "A bundle import takes one file.")
        return cleaned


@login_required
@require_http_methods(["GET", "POST"])
def import_page(request: HttpRequest) -> HttpResponse:
    teams = list(list_teams_for_user(request.user))
    form = ImportForm(request.POST or None, request.FILES or None, teams=teams)
    if request.method == "POST" and form.is_valid():
        team = form.teams[form.cleaned_data["team"]]
        files = form.cleaned_data["files"]
        try:
            if form.cleaned_data["kind"] == "bundle":
                job = start_bundle_import(team=team, path_or_upload=files[0], created_by=request.user)
            else:
                job = start_indicator_import(team=team, path_or_upload=files, created_by=request.user)
        except CaseError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("frontend:job-detail", job_id=job.pk)
    return render(request, "frontend/imports.html", {"teams": teams, "form": form})
