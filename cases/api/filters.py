"""Query-string filters for the list endpoints.

Every filter validates its value: a non-number id, an unknown choice, a malformed date or an
out-of-range number is a 400 with the parameter named, never a 500 and never silently ignored.
Filters narrow querysets that are already limited to the user's teams, so naming another
team's id simply finds nothing.
"""

import datetime

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django_filters import ChoiceFilter
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter, SearchFilter

from cases.handles import normalize_handle, refang
from cases.models import (
    Account,
    AccountKind,
    Actor,
    ActorKind,
    ApiToken,
    Assignment,
    AssignmentState,
    AttributionDecision,
    AuditEvent,
    Case,
    CaseAccount,
    CaseStatus,
    Evidence,
    EvidenceKind,
    Job,
    JobKind,
    JobStatus,
    Label,
    MediaBrand,
    Membership,
    Platform,
    Post,
    Priority,
    Queue,
    QueueItem,
    Role,
    SimilaritySuggestion,
    SuggestionStatus,
    Team,
    Technique,
    Verdict,
)

from .fields import MAX_ID

MAX_SEARCH_LENGTH = 200
MAX_SEARCH_TERMS = 10


class IdFilter(django_filters.Filter):
    """An object id: a whole number in the id range."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class _StrictBooleanField(forms.Field):
    """``true``/``false`` (also ``1``/``0``); anything else is an error, not "no filter"."""

    VALUES = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value):
        if value in (None, ""):
            return None
        try:
            return self.VALUES[str(value).strip().lower()]
        except KeyError:
            raise forms.ValidationError("Use true or false.", code="invalid") from None


class BoolFilter(django_filters.Filter):
    field_class = _StrictBooleanField


class _BoundedCharField(forms.CharField):
    """``max_length`` bounds what was sent, as the schema says, not what is left once stripped."""

    def clean(self, value):
        if isinstance(value, str) and self.max_length is not None and len(value) > self.max_length:
            raise forms.ValidationError(
                f"Ensure this value has at most {self.max_length} characters (it has {len(value)}).",
                code="max_length",
            )
        return super().clean(value)


class TextFilter(django_filters.CharFilter):
    field_class = _BoundedCharField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 255)
        super().__init__(*args, **kwargs)


class _UtcDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date-time, converted to UTC: an offset the database cannot store (PostgreSQL
    takes at most ±15:59) or a date that leaves the calendar when converted is a 400."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None or parsed.tzinfo is None:
            return parsed
        try:
            return parsed.astimezone(datetime.UTC)
        except OverflowError:
            raise forms.ValidationError("The date is out of range.", code="invalid") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = _UtcDateTimeField


class ScoreFilter(django_filters.NumberFilter):
    field_class = forms.FloatField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", 1)
        super().__init__(*args, **kwargs)

    def get_max_validator(self):
        return None


def filter_schema(filter_field) -> dict | None:
    """The OpenAPI schema of one of the filters above, with the bounds it enforces."""
    if isinstance(filter_field, IdFilter):
        return {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    if isinstance(filter_field, BoolFilter):
        return {"type": "boolean"}
    if isinstance(filter_field, ScoreFilter):
        return {"type": "number", "minimum": 0, "maximum": 1}
    if isinstance(filter_field, TextFilter):
        return {"type": "string", "minLength": 1, "maxLength": filter_field.extra["max_length"]}
    return None


# --- search and ordering ----------------------------------------------------------------------


class ApiSearchFilter(SearchFilter):
    """``?search=`` — words (at most 10) each found in one of the view's ``search_fields``."""

    def get_search_terms(self, request):
        value = request.query_params.get(self.search_param, "")
        if len(value) > MAX_SEARCH_LENGTH:
            raise ValidationError({self.search_param: [f"At most {MAX_SEARCH_LENGTH} characters."]})
        if "\x00" in value:
            raise ValidationError({self.search_param: ["Null characters are not allowed."]})
        return super().get_search_terms(request)[:MAX_SEARCH_TERMS]

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["maxLength"] = MAX_SEARCH_LENGTH
            fields = ", ".join(f.lstrip("^=@$") for f in getattr(view, "search_fields", []))
            parameter["description"] = f"Words to find in: {fields}."
        return parameters


class ApiOrderingFilter(OrderingFilter):
    """``?ordering=field`` or ``-field``; unknown fields are ignored. Ties break on id."""

    def get_ordering(self, request, queryset, view):
        ordering = super().get_ordering(request, queryset, view)
        if ordering and not any(f.lstrip("-") in ("id", "pk") for f in ordering):
            ordering = [*ordering, "-id" if ordering[0].startswith("-") else "id"]
        return ordering

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        fields = list(getattr(view, "ordering_fields", []))
        for parameter in parameters:
            parameter["description"] = "Sort by: " + ", ".join(fields) + " (prefix `-` for descending)."
        return parameters


# --- per-resource filter sets -------------------------------------------------------------------


class ApiFilterSet(django_filters.FilterSet):
    """A parameter that is given must have a value: ``?team=`` is an error, not "no filter"."""

    def is_valid(self) -> bool:
        valid = super().is_valid()
        for name in self.filters:
            if name in self.data and any(value == "" for value in self.data.getlist(name)):
                self.form.add_error(name, "Give a value, or leave the parameter out.")
                valid = False
        return valid


class TeamFilter(ApiFilterSet):
    slug = TextFilter()

    class Meta:
        model = Team
        fields: list[str] = []


class MembershipFilter(ApiFilterSet):
    role = ChoiceFilter(choices=Role.choices)

    class Meta:
        model = Membership
        fields: list[str] = []


class AccountFilter(ApiFilterSet):
    team = IdFilter(field_name="team_id")
    platform = ChoiceFilter(choices=Platform.choices)
    kind = ChoiceFilter(choices=AccountKind.choices)
    handle = TextFilter(method="filter_handle", help_text="Exact handle, in any form (`@Name`, a URL).")
    external_id = TextFilter(max_length=100)
    case = IdFilter(field_name="case_links__case_id", help_text="Accounts on this case.")

    class Meta:
        model = Account
        fields: list[str] = []

    def filter_handle(self, queryset, name, value):
        return queryset.filter(handle_normalized=normalize_handle(value))


class PostFilter(ApiFilterSet):
    account = IdFilter(field_name="account_id")
    team = IdFilter(field_name="account__team_id")
    is_repost = BoolFilter()
    external_id = TextFilter(max_length=100)
    posted_after = UtcDateTimeFilter(field_name="posted_at", lookup_expr="gte")
    posted_before = UtcDateTimeFilter(field_name="posted_at", lookup_expr="lt")

    class Meta:
        model = Post
        fields: list[str] = []


class MediaBrandFilter(ApiFilterSet):
    team = IdFilter(field_name="team_id")
    domain = TextFilter(method="filter_domain", help_text="Brands with this domain (may be defanged).")

    class Meta:
        model = MediaBrand
        fields: list[str] = []

    def filter_domain(self, queryset, name, value):
        return queryset.filter(domains__domain=refang(value).lower().strip("/")).distinct()


class CaseFilter(ApiFilterSet):
    team = IdFilter(field_name="team_id")
    status = ChoiceFilter(choices=CaseStatus.choices)
    priority = ChoiceFilter(choices=Priority.choices)
    lead = IdFilter(field_name="lead_id")
    updated_after = UtcDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Case
        fields: list[str] = []


class CaseAccountFilter(ApiFilterSet):
    platform = ChoiceFilter(field_name="account__platform", choices=Platform.choices)
    kind = ChoiceFilter(field_name="account__kind", choices=AccountKind.choices)

    class Meta:
        model = CaseAccount
        fields: list[str] = []


class EvidenceFilter(ApiFilterSet):
    team = IdFilter(field_name="case__team_id")
    case = IdFilter(field_name="case_id")
    kind = ChoiceFilter(choices=EvidenceKind.choices)
    account = IdFilter(field_name="account_id")
    post = IdFilter(field_name="post_id")
    brand = IdFilter(field_name="brand_id")
    captured_by = IdFilter(field_name="captured_by_id")
    is_retracted = BoolFilter(method="filter_retracted", help_text="Withdrawn by a retraction.")

    class Meta:
        model = Evidence
        fields: list[str] = []

    def filter_retracted(self, queryset, name, value):
        return queryset.filter(retracted_by__isnull=not value)


class TechniqueFilter(ApiFilterSet):
    tactic = TextFilter(field_name="tactic_code", max_length=10, help_text="Tactic code, e.g. `2`.")
    technique = TextFilter(
        field_name="technique_code", max_length=10, help_text="Technique code, e.g. `2.3`."
    )

    class Meta:
        model = Technique
        fields: list[str] = []


class ActorFilter(ApiFilterSet):
    team = IdFilter(field_name="team_id")
    kind = ChoiceFilter(choices=ActorKind.choices)
    country = TextFilter(field_name="country", lookup_expr="iexact", max_length=100)

    class Meta:
        model = Actor
        fields: list[str] = []


class QueueFilter(ApiFilterSet):
    team = IdFilter(field_name="team_id")
    case = IdFilter(field_name="case_id")
    is_active = BoolFilter()

    class Meta:
        model = Queue
        fields: list[str] = []


class QueueItemFilter(ApiFilterSet):
    is_done = BoolFilter()
    account = IdFilter(field_name="account_id")

    class Meta:
        model = QueueItem
        fields: list[str] = []


class AssignmentFilter(ApiFilterSet):
    team = IdFilter(field_name="item__queue__team_id")
    queue = IdFilter(field_name="item__queue_id")
    case = IdFilter(field_name="item__case_id")
    account = IdFilter(field_name="item__account_id")
    user = IdFilter(field_name="user_id", help_text="The holder (leads see their team's leases).")
    mine = BoolFilter(method="filter_mine", help_text="Your own leases (true) or other people's (false).")
    state = ChoiceFilter(choices=AssignmentState.choices)
    is_live = BoolFilter(
        method="filter_live",
        help_text="Active and not expired. A lapsed lease stays `active` until a claim or a sweep marks it.",
    )

    class Meta:
        model = Assignment
        fields: list[str] = []

    def filter_mine(self, queryset, name, value):
        mine = Q(user=self.request.user.pk)
        return queryset.filter(mine) if value else queryset.exclude(mine)

    def filter_live(self, queryset, name, value):
        live = Q(state=AssignmentState.ACTIVE, expires_at__gt=timezone.now())
        return queryset.filter(live) if value else queryset.exclude(live)


class LabelFilter(ApiFilterSet):
    account = IdFilter(field_name="account_id")
    annotator = IdFilter(field_name="annotator_id")
    verdict = ChoiceFilter(choices=Verdict.choices)

    class Meta:
        model = Label
        fields: list[str] = []


class DecisionFilter(ApiFilterSet):
    is_standing = BoolFilter(field_name="withdrawn_at", lookup_expr="isnull", help_text="Not withdrawn.")

    class Meta:
        model = AttributionDecision
        fields: list[str] = []


class JobFilter(ApiFilterSet):
    team = IdFilter(field_name="team_id")
    kind = ChoiceFilter(choices=JobKind.choices)
    status = ChoiceFilter(choices=JobStatus.choices)

    class Meta:
        model = Job
        fields: list[str] = []


class AuditEventFilter(ApiFilterSet):
    team = IdFilter(field_name="team_id")
    user = IdFilter(field_name="user_id")
    verb = TextFilter(max_length=80)
    target_type = TextFilter(max_length=80, help_text="e.g. `cases.case`.")
    target_id = TextFilter(max_length=64)
    after = UtcDateTimeFilter(field_name="at", lookup_expr="gte")
    before = UtcDateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields: list[str] = []


class SuggestionFilter(ApiFilterSet):
    team = IdFilter(field_name="team_id")
    status = ChoiceFilter(choices=SuggestionStatus.choices)
    account = IdFilter(method="filter_account", help_text="Suggestions involving this account.")
    min_score = ScoreFilter(field_name="score", lookup_expr="gte")

    class Meta:
        model = SimilaritySuggestion
        fields: list[str] = []

    def filter_account(self, queryset, name, value):
        return queryset.filter(Q(account_a_id=value) | Q(account_b_id=value))


class ApiTokenFilter(ApiFilterSet):
    is_active = BoolFilter(method="filter_active", help_text="Not revoked and not expired.")

    class Meta:
        model = ApiToken
        fields: list[str] = []

    def filter_active(self, queryset, name, value):
        usable = queryset.usable()
        return usable if value else queryset.exclude(pk__in=usable.values("pk"))
