"""Forms of the moderator workspace. They parse and check what the browser sent; the rules of
the domain (who may, in which state) stay in the services."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from cases.handles import refang
from cases.models import Actor, Confidence, EvidenceKind, MediaBrand, Technique, Verdict

# What a moderator records by hand; indicators and retractions come from imports and "retract".
EVIDENCE_KINDS = [
    (EvidenceKind.REPOST, "Repost"),
    (EvidenceKind.MEDIA_BRAND, "Media brand"),
    (EvidenceKind.SCREENSHOT, "Screenshot"),
    (EvidenceKind.PAGE_CAPTURE, "Page capture"),
    (EvidenceKind.LINK, "Link"),
    (EvidenceKind.NOTE, "Note"),
]
NEW_ACTOR = "new"
_http_url = URLValidator(schemes=["http", "https"])


def _techniques_field() -> forms.ModelMultipleChoiceField:
    return forms.ModelMultipleChoiceField(
        queryset=Technique.objects.all(),
        to_field_name="procedure_code",
        required=False,
        error_messages={"invalid_choice": "%(value)s is not a procedure of the kill chain."},
    )


def clean_http_url(value: str) -> str:
    """A pasted URL, refanged (``hxxps://bild[.]pics`` works), that must be http(s)."""
    value = refang(value or "").strip()
    if not value:
        return ""
    try:
        _http_url(value)
    except ValidationError:
        raise ValidationError("Enter an http(s) address, like https://example.com/page.") from None
    return value


class LabelForm(forms.Form):
    verdict = forms.ChoiceField(
        choices=Verdict.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose a verdict: inauthentic, authentic or unsure."},
    )
    techniques = _techniques_field()
    note = forms.CharField(required=False, max_length=5000, widget=forms.Textarea)


class SkipForm(forms.Form):
    reason = forms.CharField(
        max_length=1000, error_messages={"required": "Say why you skip this item."}, strip=True
    )


class RetractForm(forms.Form):
    reason = forms.CharField(
        max_length=2000, error_messages={"required": "Say why the evidence is retracted."}, strip=True
    )


class EvidenceForm(forms.Form):
    kind = forms.ChoiceField(choices=EVIDENCE_KINDS, widget=forms.RadioSelect, initial=EvidenceKind.REPOST)
    account = forms.CharField(required=False, max_length=255, label="Account on this case")
    title = forms.CharField(required=False, max_length=500)
    url = forms.CharField(required=False, max_length=2000, label="URL")
    captured_text = forms.CharField(required=False, max_length=100_000, widget=forms.Textarea)
    source_url = forms.CharField(required=False, max_length=2000, label="Source post URL")
    source_author = forms.CharField(required=False, max_length=300, label="Source author")
    source_text = forms.CharField(
        required=False, max_length=100_000, widget=forms.Textarea, label="Source post text"
    )
    brand = forms.ModelChoiceField(queryset=MediaBrand.objects.none(), required=False, label="Known brand")
    brand_name = forms.CharField(required=False, max_length=300, label="New brand name")
    impersonates = forms.CharField(required=False, max_length=300, label="Impersonates")
    domains = forms.CharField(required=False, max_length=5000, widget=forms.Textarea, label="Domains")
    screenshot_file = forms.FileField(required=False, label="Screenshot (PNG, JPEG or WebP)")
    capture_file = forms.FileField(required=False, label="Page (HTML or MHTML)")
    logo_file = forms.FileField(required=False, label="Logo (PNG, JPEG or WebP)")
    techniques = _techniques_field()

    def __init__(self, *args, team, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = MediaBrand.objects.filter(team=team).order_by("name")

    def clean_url(self) -> str:
        return clean_http_url(self.cleaned_data["url"])

    def clean_source_url(self) -> str:
        return clean_http_url(self.cleaned_data["source_url"])

    def clean_domains(self) -> list[str]:
        raw = self.cleaned_data["domains"].replace(",", "\n")
        return [refang(line).strip().lower() for line in raw.splitlines() if line.strip()]

    def _file_within_limit(self, name: str) -> None:
        upload = self.cleaned_data.get(name)
        if upload is not None and upload.size > settings.EVIDENCE_MAX_FILE_BYTES:
            limit = settings.EVIDENCE_MAX_FILE_BYTES // (1024 * 1024)
            self.add_error(name, f"The file is larger than {limit} MB.")

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        required = {
            EvidenceKind.REPOST: [
                ("captured_text", "Paste the copied post's text."),
                ("source_text", "Paste the source post's text, to compare."),
            ],
            EvidenceKind.SCREENSHOT: [("screenshot_file", "Choose the screenshot image.")],
            EvidenceKind.PAGE_CAPTURE: [("capture_file", "Choose the saved page (HTML or MHTML).")],
            EvidenceKind.LINK: [("url", "Enter the URL.")],
            EvidenceKind.NOTE: [("captured_text", "Write the note.")],
        }.get(kind, [])
        for name, message in required:
            if name not in self.errors and not data.get(name):
                self.add_error(name, message)
        if kind == EvidenceKind.MEDIA_BRAND:
            if data.get("brand") and data.get("brand_name", "").strip():
                self.add_error("brand_name", "Choose a known brand or name a new one, not both.")
            elif not data.get("brand") and not data.get("brand_name", "").strip():
                self.add_error("brand_name", "Choose a known brand or name a new one.")
        for name in ("screenshot_file", "capture_file", "logo_file"):
            self._file_within_limit(name)
        return data


class VoteForm(forms.Form):
    actor = forms.ChoiceField(error_messages={"required": "Choose an actor, or name a new one."})
    new_actor_name = forms.CharField(required=False, max_length=200, label="New actor's name")
    new_actor_country = forms.CharField(required=False, max_length=100, label="Country")
    confidence = forms.ChoiceField(
        choices=Confidence.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how confident you are."},
    )
    rationale = forms.CharField(
        max_length=10_000,
        widget=forms.Textarea,
        error_messages={"required": "Say why: a vote needs its rationale."},
    )
    cited_evidence = forms.MultipleChoiceField(required=False)

    def __init__(self, *args, actors: list[Actor], evidence_ids: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.actors = {str(a.pk): a for a in actors}
        self.fields["actor"].choices = [(pk, a.name) for pk, a in self.actors.items()] + [
            (NEW_ACTOR, "New actor…")
        ]
        self.fields["cited_evidence"].choices = [(str(pk), f"#{pk}") for pk in evidence_ids]

    def clean(self):
        data = super().clean()
        if data.get("actor") == NEW_ACTOR and not data.get("new_actor_name", "").strip():
            self.add_error("new_actor_name", "Name the new actor.")
        return data

    @property
    def chosen_actor(self) -> Actor | None:
        return self.actors.get(self.cleaned_data.get("actor", ""))
