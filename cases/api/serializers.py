"""What goes over the wire.

Output serializers (``XSerializer``) describe rows; input serializers (``XInput``) list exactly
what a client may set. Server-owned fields — team of nested objects, author, hashes, status,
timestamps, counts — are never in an input serializer, so a client that sends them is ignored.
Ids in a body go through ``TeamScopedPrimaryKeyRelatedField``: another team's id "does not
exist". No serializer writes: views hand validated data to a service.
"""

import re

from django.db import models
from django.http import QueryDict
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.handles import defang, refang
from cases.models import (
    Account,
    AccountKind,
    Actor,
    ActorKind,
    ApiToken,
    Assignment,
    AssignmentState,
    AttributionDecision,
    AttributionVote,
    AuditEvent,
    BrandRole,
    Case,
    CaseAccount,
    Confidence,
    Evidence,
    EvidenceFile,
    EvidenceKind,
    Job,
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
    Team,
    Technique,
    Verdict,
)

from .fields import (
    MAX_BIGINT,
    StrictBooleanField,
    StrictCharField,
    StrictFloatField,
    StrictIntegerChoiceField,
    StrictIntegerField,
    TeammatePrimaryKeyRelatedField,
    TeamScopedPrimaryKeyRelatedField,
    TechniqueCodeField,
)

# Long free text is bounded too: the body limit stops a huge request, these stop a huge field.
LONG_TEXT = 100_000
CAPTURED_TEXT = 1_000_000
_DOMAIN = re.compile(r"^[^\s/:@?#]+\.[^\s/:@?#]+$")


class OutputSerializer(serializers.ModelSerializer):
    """Read-only rows. URLs are plain strings: stored ones may be blank, or carry an IDN host."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.URLField: serializers.CharField,
    }


@extend_schema_field({"type": "string", "maxLength": 2000, "anyOf": [{"format": "uri"}, {"maxLength": 0}]})
class UrlOrBlankField(serializers.URLField):
    """An http(s) URL, or ``""`` for none. Taken as sent: a URL with spaces around it is not one
    (the schema's `format: uri` says so too), rather than being trimmed into one."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 2000)
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


# --- errors ------------------------------------------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, for programs: `invalid`, `not_found`, `conflict`, …")
    message = serializers.CharField(help_text="Safe to show a person.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text='Problems per input name, e.g. `{"handle": ["This field is required."]}`.',
    )


class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx (and 5xx) answer."""

    error = ErrorDetailSerializer()


# --- shared pieces -----------------------------------------------------------------------------


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return user.get_full_name() or user.get_username()


class AccountRefSerializer(OutputSerializer):
    class Meta:
        model = Account
        fields = ["id", "platform", "handle", "display_name", "kind"]
        read_only_fields = fields


# --- teams -------------------------------------------------------------------------------------


class TeamSerializer(OutputSerializer):
    role = serializers.ChoiceField(
        choices=Role.choices, read_only=True, source="my_role", help_text="Your role in this team."
    )

    class Meta:
        model = Team
        fields = ["id", "slug", "name", "role", "attribution_quorum", "created_at"]
        read_only_fields = fields


class MembershipSerializer(OutputSerializer):
    user = UserRefSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "role", "created_at"]
        read_only_fields = fields


class MembershipInput(serializers.Serializer):
    username = StrictCharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)


# --- accounts, posts, brands -------------------------------------------------------------------


class AccountSerializer(OutputSerializer):
    team = serializers.IntegerField(source="team_id", read_only=True)

    class Meta:
        model = Account
        fields = [
            "id",
            "team",
            "platform",
            "handle",
            "handle_normalized",
            "external_id",
            "display_name",
            "bio",
            "profile_url",
            "created_on_platform",
            "followers",
            "following",
            "language",
            "kind",
            "source",
            "avatar_phash",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AccountInput(serializers.Serializer):
    team = TeamScopedPrimaryKeyRelatedField(queryset=Team.objects.all(), team_path="")
    platform = serializers.ChoiceField(choices=Platform.choices)
    handle = StrictCharField(max_length=255, help_text="As shown, `@name`, or a profile URL.")
    external_id = StrictCharField(max_length=100, required=False, allow_blank=True)
    display_name = StrictCharField(max_length=500, required=False, allow_blank=True)
    bio = StrictCharField(max_length=LONG_TEXT, required=False, allow_blank=True, trim_whitespace=False)
    profile_url = UrlOrBlankField()
    created_on_platform = serializers.DateTimeField(required=False, allow_null=True)
    followers = StrictIntegerField(min_value=0, max_value=MAX_BIGINT, required=False, allow_null=True)
    following = StrictIntegerField(min_value=0, max_value=MAX_BIGINT, required=False, allow_null=True)
    language = StrictCharField(max_length=20, required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=AccountKind.choices, required=False)


class PostSerializer(OutputSerializer):
    account = serializers.IntegerField(source="account_id", read_only=True)
    copied_from = serializers.IntegerField(source="copied_from_id", read_only=True, allow_null=True)
    links = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Post
        fields = [
            "id",
            "account",
            "external_id",
            "url",
            "text",
            "posted_at",
            "is_repost",
            "links",
            "copied_from",
            "copy_similarity",
            "created_at",
        ]
        read_only_fields = fields


class PostInput(serializers.Serializer):
    account = TeamScopedPrimaryKeyRelatedField(queryset=Account.objects.all())
    text = StrictCharField(max_length=LONG_TEXT, required=False, allow_blank=True, trim_whitespace=False)
    external_id = StrictCharField(max_length=100, required=False, allow_blank=True)
    url = UrlOrBlankField()
    posted_at = serializers.DateTimeField(required=False, allow_null=True)
    is_repost = StrictBooleanField(required=False)
    links = serializers.ListField(
        child=StrictCharField(max_length=2000), required=False, max_length=1000, help_text="May be defanged."
    )
    copied_from = TeamScopedPrimaryKeyRelatedField(
        queryset=Post.objects.all(), team_path="account__team", required=False, allow_null=True
    )
    copy_similarity = StrictFloatField(min_value=0, max_value=1, required=False, allow_null=True)


class BrandDomainSerializer(serializers.Serializer):
    domain = serializers.CharField(read_only=True, help_text="Refanged: `bild.pics`.")
    defanged = serializers.SerializerMethodField(help_text="For display: `bild[.]pics`.")
    first_seen = serializers.DateField(read_only=True, allow_null=True)

    def get_defanged(self, obj) -> str:
        return defang(obj.domain)


class BrandAccountSerializer(serializers.Serializer):
    account = serializers.IntegerField(source="account_id", read_only=True)
    role = serializers.ChoiceField(choices=BrandRole.choices, read_only=True)


class MediaBrandSerializer(OutputSerializer):
    team = serializers.IntegerField(source="team_id", read_only=True)
    domains = BrandDomainSerializer(many=True, read_only=True)
    accounts = BrandAccountSerializer(many=True, read_only=True, source="brandaccount_set")

    class Meta:
        model = MediaBrand
        fields = [
            "id",
            "team",
            "name",
            "impersonates",
            "description",
            "logo_phash",
            "domains",
            "accounts",
            "created_at",
        ]
        read_only_fields = fields


class BrandAccountInput(serializers.Serializer):
    account = TeamScopedPrimaryKeyRelatedField(queryset=Account.objects.all())
    role = serializers.ChoiceField(choices=BrandRole.choices, default=BrandRole.AMPLIFIES)


class MediaBrandInput(serializers.Serializer):
    team = TeamScopedPrimaryKeyRelatedField(queryset=Team.objects.all(), team_path="")
    name = StrictCharField(max_length=300)
    impersonates = StrictCharField(max_length=300, required=False, allow_blank=True)
    description = StrictCharField(max_length=LONG_TEXT, required=False, allow_blank=True)
    domains = serializers.ListField(
        child=StrictCharField(max_length=253), required=False, max_length=500, help_text="May be defanged."
    )
    accounts = BrandAccountInput(many=True, required=False, max_length=1000)

    def validate_domains(self, domains: list[str]) -> list[str]:
        bad = [d for d in domains if not _DOMAIN.match(refang(d).strip("/"))]
        if bad:
            raise serializers.ValidationError(f"Not a domain name: {bad[0][:100]!r}.")
        return domains

    def validate_accounts(self, accounts):
        ids = [a["account"].pk for a in accounts]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError("An account is listed twice.")
        return accounts


# --- cases ---------------------------------------------------------------------------------------


class CaseSerializer(OutputSerializer):
    team = serializers.IntegerField(source="team_id", read_only=True)
    lead = UserRefSerializer(read_only=True, allow_null=True)
    created_by = UserRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Case
        fields = [
            "id",
            "team",
            "title",
            "summary",
            "status",
            "priority",
            "lead",
            "created_by",
            "account_count",
            "evidence_count",
            "labeled_account_count",
            "counts_updated_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CaseInput(serializers.Serializer):
    team = TeamScopedPrimaryKeyRelatedField(queryset=Team.objects.all(), team_path="")
    title = StrictCharField(max_length=300)
    summary = StrictCharField(max_length=LONG_TEXT, required=False, allow_blank=True)
    priority = StrictIntegerChoiceField(choices=Priority.choices, required=False)
    lead = TeammatePrimaryKeyRelatedField(required=False, allow_null=True, help_text="A member of the team.")

    def validate(self, data):
        lead = data.get("lead")
        if lead is not None and not Membership.objects.filter(user=lead, team=data["team"]).exists():
            raise serializers.ValidationError({"lead": ["Not a member of this team."]})
        return data


class CaseAccountSerializer(OutputSerializer):
    case = serializers.IntegerField(source="case_id", read_only=True)
    account = AccountRefSerializer(read_only=True)
    added_by = UserRefSerializer(read_only=True, allow_null=True)
    suggestion = serializers.IntegerField(source="suggestion_id", read_only=True, allow_null=True)

    class Meta:
        model = CaseAccount
        fields = ["id", "case", "account", "added_by", "added_at", "reason", "suggestion"]
        read_only_fields = fields


class CaseAccountInput(serializers.Serializer):
    account = TeamScopedPrimaryKeyRelatedField(queryset=Account.objects.all())
    reason = StrictCharField(max_length=LONG_TEXT, required=False, allow_blank=True)


class ExportQuery(serializers.Serializer):
    format = serializers.ChoiceField(choices=["json", "csv", "stix"], default="json")

    def to_internal_value(self, data):
        # From a query string DRF would read `?format=` as "not given" and use the default; a
        # parameter that is given must have a valid value, as with every filter.
        return super().to_internal_value(data.dict() if isinstance(data, QueryDict) else data)


# --- evidence ----------------------------------------------------------------------------------


class EvidenceFileSerializer(OutputSerializer):
    class Meta:
        model = EvidenceFile
        fields = ["id", "role", "original_name", "content_type", "size", "sha256", "phash", "created_at"]
        read_only_fields = fields


class EvidenceSerializer(OutputSerializer):
    case = serializers.IntegerField(source="case_id", read_only=True)
    account = serializers.IntegerField(source="account_id", read_only=True, allow_null=True)
    post = serializers.IntegerField(source="post_id", read_only=True, allow_null=True)
    brand = serializers.IntegerField(source="brand_id", read_only=True, allow_null=True)
    retracts = serializers.IntegerField(source="retracts_id", read_only=True, allow_null=True)
    retracted_by = serializers.SerializerMethodField(help_text="The retraction that withdrew this item.")
    techniques = serializers.SlugRelatedField(slug_field="procedure_code", many=True, read_only=True)
    captured_by = UserRefSerializer(read_only=True)
    files = EvidenceFileSerializer(many=True, read_only=True)

    class Meta:
        model = Evidence
        fields = [
            "id",
            "case",
            "kind",
            "account",
            "post",
            "brand",
            "title",
            "url",
            "captured_text",
            "source_url",
            "source_author",
            "source_text",
            "copy_similarity",
            "techniques",
            "captured_by",
            "captured_at",
            "capture_method",
            "persona",
            "user_agent",
            "content_sha256",
            "retracts",
            "retracted_by",
            "files",
            "created_at",
        ]
        read_only_fields = fields

    def get_retracted_by(self, evidence) -> int | None:
        retraction = getattr(evidence, "retracted_by", None)  # reverse one-to-one: absent raises
        return retraction.pk if retraction is not None else None


# A retraction is made by POST /api/evidence/{id}/retract/, never created directly.
CREATABLE_EVIDENCE_KINDS = [(k.value, k.label) for k in EvidenceKind if k != EvidenceKind.RETRACTION]
DEFAULT_FILE_ROLE = {
    EvidenceKind.SCREENSHOT: EvidenceFile.Role.SCREENSHOT,
    EvidenceKind.PAGE_CAPTURE: EvidenceFile.Role.PAGE_CAPTURE,
    EvidenceKind.MEDIA_BRAND: EvidenceFile.Role.LOGO,
}


class EvidenceInput(serializers.Serializer):
    case = TeamScopedPrimaryKeyRelatedField(queryset=Case.objects.all())
    kind = serializers.ChoiceField(choices=CREATABLE_EVIDENCE_KINDS)
    account = TeamScopedPrimaryKeyRelatedField(
        queryset=Account.objects.all(), required=False, allow_null=True
    )
    post = TeamScopedPrimaryKeyRelatedField(
        queryset=Post.objects.all(), team_path="account__team", required=False, allow_null=True
    )
    brand = TeamScopedPrimaryKeyRelatedField(
        queryset=MediaBrand.objects.all(), required=False, allow_null=True
    )
    title = StrictCharField(max_length=500, required=False, allow_blank=True)
    url = UrlOrBlankField()
    captured_text = StrictCharField(
        max_length=CAPTURED_TEXT, required=False, allow_blank=True, trim_whitespace=False
    )
    source_url = UrlOrBlankField()
    source_author = StrictCharField(max_length=300, required=False, allow_blank=True)
    source_text = StrictCharField(
        max_length=CAPTURED_TEXT, required=False, allow_blank=True, trim_whitespace=False
    )
    persona = StrictCharField(max_length=200, required=False, allow_blank=True)
    user_agent = StrictCharField(max_length=500, required=False, allow_blank=True)
    techniques = TechniqueCodeField(
        many=True,
        required=False,
        help_text="Kill-chain procedure codes, e.g. `1.1.1` (at most 100).",
    )
    file = serializers.FileField(
        required=False,
        allow_empty_file=False,
        help_text="One artefact (multipart only); its SHA-256 is kept.",
    )
    file_role = serializers.ChoiceField(
        choices=EvidenceFile.Role.choices,
        required=False,
        help_text="What the file is. Default: `screenshot` for a screenshot, `page_capture` for a page "
        "capture, `logo` for a media brand, `attachment` otherwise.",
    )

    def validate_techniques(self, techniques):
        if len(techniques) > 100:
            raise serializers.ValidationError("At most 100 techniques.")
        return list(dict.fromkeys(techniques))

    def validate(self, data):
        if "file_role" in data and "file" not in data:
            raise serializers.ValidationError({"file_role": ["Only with a file."]})
        return data


class RetractInput(serializers.Serializer):
    reason = StrictCharField(max_length=LONG_TEXT, help_text="Why the evidence no longer stands.")


# --- taxonomy, actors ------------------------------------------------------------------------------


class TechniqueSerializer(OutputSerializer):
    class Meta:
        model = Technique
        fields = [
            "id",
            "tactic_code",
            "tactic",
            "technique_code",
            "technique",
            "procedure_code",
            "procedure",
            "order",
        ]
        read_only_fields = fields


class ActorSerializer(OutputSerializer):
    team = serializers.IntegerField(source="team_id", read_only=True)
    aliases = serializers.ListField(child=serializers.CharField(), read_only=True)
    created_by = UserRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Actor
        fields = [
            "id",
            "team",
            "name",
            "aliases",
            "country",
            "kind",
            "description",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class ActorInput(serializers.Serializer):
    team = TeamScopedPrimaryKeyRelatedField(queryset=Team.objects.all(), team_path="")
    name = StrictCharField(max_length=200)
    aliases = serializers.ListField(child=StrictCharField(max_length=200), required=False, max_length=100)
    country = StrictCharField(max_length=100, required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=ActorKind.choices, required=False)
    description = StrictCharField(max_length=LONG_TEXT, required=False, allow_blank=True)


# --- queues ----------------------------------------------------------------------------------------


class QueueSerializer(OutputSerializer):
    team = serializers.IntegerField(source="team_id", read_only=True)
    case = serializers.IntegerField(source="case_id", read_only=True, allow_null=True)
    created_by = UserRefSerializer(read_only=True, allow_null=True)
    item_count = serializers.IntegerField(read_only=True)
    done_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Queue
        fields = [
            "id",
            "team",
            "case",
            "name",
            "labels_per_item",
            "lease_minutes",
            "is_active",
            "item_count",
            "done_count",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class QueueInput(serializers.Serializer):
    case = TeamScopedPrimaryKeyRelatedField(
        queryset=Case.objects.all(), help_text="Every suspect account on the case becomes an item."
    )
    name = StrictCharField(max_length=200)
    labels_per_item = StrictIntegerField(min_value=1, max_value=20, required=False)
    lease_minutes = StrictIntegerField(min_value=1, max_value=7 * 24 * 60, required=False)


class QueueItemSerializer(OutputSerializer):
    queue = serializers.IntegerField(source="queue_id", read_only=True)
    case = serializers.IntegerField(source="case_id", read_only=True)
    account = AccountRefSerializer(read_only=True)

    class Meta:
        model = QueueItem
        fields = ["id", "queue", "case", "account", "priority", "label_count", "is_done", "created_at"]
        read_only_fields = fields


# --- jobs, audit, suggestions ------------------------------------------------------------------------


class JobSerializer(OutputSerializer):
    team = serializers.IntegerField(source="team_id", read_only=True)
    created_by = UserRefSerializer(read_only=True, allow_null=True)
    percent = serializers.IntegerField(read_only=True, min_value=0, max_value=100)
    is_finished = serializers.BooleanField(read_only=True)

    class Meta:
        model = Job
        fields = [
            "id",
            "team",
            "kind",
            "status",
            "progress",
            "total",
            "percent",
            "is_finished",
            "message",
            "params",
            "result",
            "attempts",
            "created_by",
            "created_at",
            "started_at",
            "heartbeat_at",
            "finished_at",
        ]
        read_only_fields = fields


class AuditEventSerializer(OutputSerializer):
    team = serializers.IntegerField(source="team_id", read_only=True, allow_null=True)
    user = UserRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = AuditEvent
        fields = ["id", "team", "user", "verb", "target_type", "target_id", "target_repr", "data", "at"]
        read_only_fields = fields


SIGNALS_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "signal": {"type": "string"},
            "score": {"type": "number"},
            "detail": {"type": "string"},
        },
    },
}


@extend_schema_field(SIGNALS_SCHEMA)
class SignalsField(serializers.JSONField):
    pass


class SuggestionSerializer(OutputSerializer):
    team = serializers.IntegerField(source="team_id", read_only=True)
    account_a = AccountRefSerializer(read_only=True)
    account_b = AccountRefSerializer(read_only=True)
    signals = SignalsField(read_only=True, help_text="Why: each signal with its own score and a sentence.")
    reviewed_by = UserRefSerializer(read_only=True, allow_null=True)
    job = serializers.IntegerField(source="job_id", read_only=True, allow_null=True)

    class Meta:
        model = SimilaritySuggestion
        fields = [
            "id",
            "team",
            "account_a",
            "account_b",
            "score",
            "signals",
            "status",
            "reviewed_by",
            "reviewed_at",
            "dismissed_score",
            "job",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


# --- review: leases, labels, votes, decisions, case actions -----------------------------------------

# Seconds one submission may add to a label's time spent: a day. The column is a 32-bit integer
# that ``submit_label`` adds to, so an unbounded value could overflow it.
MAX_SECONDS_SPENT = 24 * 60 * 60
# Items a reviewer may cite or tag in one body.
MAX_CITED_EVIDENCE = 100
MAX_TECHNIQUES = 100


def _technique_codes(**kwargs) -> serializers.ListField:
    return serializers.ListField(
        child=TechniqueCodeField(),
        required=False,
        max_length=MAX_TECHNIQUES,
        help_text=f"Kill-chain procedure codes, e.g. `1.1.1` (at most {MAX_TECHNIQUES}).",
        **kwargs,
    )


class ActorRefSerializer(OutputSerializer):
    """An actor, briefly."""

    class Meta:
        model = Actor
        fields = ["id", "name", "country", "kind"]
        read_only_fields = fields


class AssignmentSerializer(OutputSerializer):
    """A reviewer's lease on a queue item: while it is live, the item is theirs to label."""

    queue = serializers.IntegerField(source="item.queue_id", read_only=True)
    item = serializers.IntegerField(source="item_id", read_only=True)
    case = serializers.IntegerField(source="item.case_id", read_only=True)
    account = AccountRefSerializer(source="item.account", read_only=True)
    user = UserRefSerializer(read_only=True, help_text="Who holds (or held) the lease.")
    is_live = serializers.SerializerMethodField(
        help_text="Active and not yet expired: only a live lease may be released, skipped or completed."
    )

    class Meta:
        model = Assignment
        fields = [
            "id",
            "queue",
            "item",
            "case",
            "account",
            "user",
            "state",
            "is_live",
            "claimed_at",
            "expires_at",
            "completed_at",
            "skip_reason",
        ]
        read_only_fields = fields

    def get_is_live(self, assignment) -> bool:
        return assignment.state == AssignmentState.ACTIVE and assignment.expires_at > timezone.now()


class SkipInput(serializers.Serializer):
    reason = StrictCharField(
        max_length=LONG_TEXT, help_text="Why you skip it. The item never comes back to you."
    )


class LabelInput(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    techniques = _technique_codes()
    note = StrictCharField(max_length=LONG_TEXT, required=False, allow_blank=True)
    seconds_spent = StrictIntegerField(
        min_value=0,
        max_value=MAX_SECONDS_SPENT,
        required=False,
        help_text="Time spent on this submission; added to the label's total.",
    )


class CompleteInput(LabelInput):
    verdict = serializers.ChoiceField(
        choices=Verdict.choices,
        required=False,
        help_text="Label the account and complete the lease in one step. Leave it out to complete "
        "with the label you already gave (PUT /api/cases/{id}/labels/{account_id}/).",
    )

    def validate(self, data):
        if "verdict" not in data and data:
            raise serializers.ValidationError({"verdict": ["Required when the body carries a label."]})
        return data


class LabelSerializer(OutputSerializer):
    """One reviewer's verdict on one account of a case, with the kill-chain techniques seen."""

    case = serializers.IntegerField(source="case_id", read_only=True)
    account = AccountRefSerializer(read_only=True)
    annotator = UserRefSerializer(read_only=True)
    techniques = serializers.SlugRelatedField(slug_field="procedure_code", many=True, read_only=True)

    class Meta:
        model = Label
        fields = [
            "id",
            "case",
            "account",
            "annotator",
            "verdict",
            "techniques",
            "note",
            "seconds_spent",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class VoteInput(serializers.Serializer):
    actor = TeamScopedPrimaryKeyRelatedField(
        queryset=Actor.objects.all(), help_text="An actor of the case's team."
    )
    confidence = serializers.ChoiceField(choices=Confidence.choices)
    rationale = StrictCharField(max_length=LONG_TEXT, help_text="Why: a vote needs its reasons.")
    cited_evidence = serializers.ListField(
        child=TeamScopedPrimaryKeyRelatedField(queryset=Evidence.objects.all(), team_path="case__team"),
        required=False,
        max_length=MAX_CITED_EVIDENCE,
        help_text="Ids of standing (not retracted) evidence on this case.",
    )


class VoteSerializer(OutputSerializer):
    """One reviewer's view of who is behind a case."""

    case = serializers.IntegerField(source="case_id", read_only=True)
    voter = UserRefSerializer(read_only=True)
    actor = ActorRefSerializer(read_only=True)
    cited_evidence = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = AttributionVote
        fields = [
            "id",
            "case",
            "voter",
            "actor",
            "confidence",
            "rationale",
            "cited_evidence",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class DecisionInput(serializers.Serializer):
    actor = TeamScopedPrimaryKeyRelatedField(
        queryset=Actor.objects.all(), help_text="An actor of the case's team."
    )
    confidence = serializers.ChoiceField(choices=Confidence.choices)
    rationale = StrictCharField(max_length=LONG_TEXT)


class DecisionSerializer(OutputSerializer):
    """A lead's decision on who is behind a case. Reopening withdraws it; it stays in the history."""

    case = serializers.IntegerField(source="case_id", read_only=True)
    actor = ActorRefSerializer(read_only=True)
    decided_by = UserRefSerializer(read_only=True)
    is_standing = serializers.SerializerMethodField(help_text="Not withdrawn by a reopening.")

    class Meta:
        model = AttributionDecision
        fields = [
            "id",
            "case",
            "actor",
            "confidence",
            "rationale",
            "decided_by",
            "decided_at",
            "is_standing",
            "withdrawn_at",
            "withdrawn_reason",
        ]
        read_only_fields = fields

    def get_is_standing(self, decision) -> bool:
        return decision.withdrawn_at is None


class _ConfidenceCounts(serializers.DictField):
    """``{"low": 1, "high": 2}``: only the levels that have votes."""

    child = serializers.IntegerField(min_value=1)


class ActorTallySerializer(serializers.Serializer):
    """The votes for one actor."""

    actor = ActorRefSerializer(read_only=True)
    votes = serializers.IntegerField(read_only=True)
    score = serializers.IntegerField(
        read_only=True, help_text="Confidence-weighted: low 1, moderate 2, high 3 per vote."
    )
    share = serializers.FloatField(
        read_only=True, min_value=0, max_value=1, help_text="Of all votes' weight."
    )
    by_confidence = _ConfidenceCounts(read_only=True)


class VoteTallySerializer(serializers.Serializer):
    """``cases.review_selectors.VoteTally``, as one user may see it."""

    hidden = serializers.BooleanField(
        read_only=True,
        help_text="Vote first: you have not voted and the case is still open to votes, so only "
        "`vote_count` is given (`actors`, `votes` and `by_confidence` are empty).",
    )
    vote_count = serializers.IntegerField(read_only=True)
    quorum = serializers.IntegerField(read_only=True, help_text="Votes the team needs before a decision.")
    quorum_met = serializers.BooleanField(read_only=True)
    my_vote = VoteSerializer(read_only=True, allow_null=True)
    actors = ActorTallySerializer(many=True, read_only=True, help_text="Best backed first.")
    votes = VoteSerializer(
        many=True, read_only=True, help_text="Every vote with its rationale: leads and admins only."
    )
    decision = DecisionSerializer(read_only=True, allow_null=True, help_text="The standing decision.")
    by_confidence = _ConfidenceCounts(read_only=True)


class ReasonInput(serializers.Serializer):
    reason = StrictCharField(max_length=LONG_TEXT, help_text="Recorded in the audit trail.")


class LeadInput(serializers.Serializer):
    lead = TeammatePrimaryKeyRelatedField(
        allow_null=True, help_text="A member of the case's team; null unassigns."
    )


class CasePriorityInput(serializers.Serializer):
    priority = StrictIntegerChoiceField(choices=Priority.choices)


class ItemPriorityInput(serializers.Serializer):
    priority = StrictIntegerField(min_value=-32768, max_value=32767, help_text="Higher is handed out first.")


class QueueStatsSerializer(serializers.Serializer):
    """``cases.review_selectors.QueueStats``."""

    items = serializers.IntegerField(read_only=True)
    done = serializers.IntegerField(read_only=True)
    backlog = serializers.IntegerField(read_only=True, help_text="Items not done yet.")
    in_progress = serializers.IntegerField(read_only=True, help_text="Live leases.")
    expired_leases = serializers.IntegerField(read_only=True, help_text="Lapsed leases, marked or not yet.")
    skipped = serializers.IntegerField(read_only=True)
    labels = serializers.IntegerField(read_only=True, help_text="Labels completed through the queue.")
    labels_per_item = serializers.IntegerField(read_only=True)
    labels_needed = serializers.IntegerField(read_only=True)


class ExpiredLeasesSerializer(serializers.Serializer):
    """What a sweep of lapsed leases did."""

    expired = serializers.IntegerField(read_only=True, help_text="Lapsed leases now marked expired.")


class AcceptSuggestionInput(serializers.Serializer):
    case = TeamScopedPrimaryKeyRelatedField(
        queryset=Case.objects.all(), help_text="A case one account of the pair is on; the other joins it."
    )


class DismissSuggestionInput(serializers.Serializer):
    reason = StrictCharField(
        max_length=LONG_TEXT, required=False, allow_blank=True, help_text="Recorded in the audit trail."
    )


class SuggestionAcceptedSerializer(serializers.Serializer):
    """The accepted suggestion and the account it put on the case."""

    suggestion = SuggestionSerializer(read_only=True)
    case_account = CaseAccountSerializer(
        read_only=True, help_text="The account's place on the case (new, or already there)."
    )


# --- imports -----------------------------------------------------------------------------------------


class BundleImportInput(serializers.Serializer):
    team = TeamScopedPrimaryKeyRelatedField(queryset=Team.objects.all(), team_path="")
    file = serializers.FileField(
        allow_empty_file=False,
        help_text="A bundle: JSON Lines or CSV with a `type` column (docs/import-formats.md).",
    )


class IndicatorImportInput(serializers.Serializer):
    team = TeamScopedPrimaryKeyRelatedField(queryset=Team.objects.all(), team_path="")
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=False),
        min_length=1,
        max_length=50,
        help_text="One or more of Meta's threat-indicator files (CSV, JSON or markdown report).",
    )


# --- tokens ------------------------------------------------------------------------------------------


class ApiTokenSerializer(OutputSerializer):
    is_active = serializers.SerializerMethodField(help_text="Not revoked and not expired.")

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "is_active",
        ]
        read_only_fields = fields

    def get_is_active(self, token) -> bool:
        return token.is_usable()


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.SerializerMethodField(help_text="The secret. Shown this once; only its hash is kept.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields

    def get_token(self, token) -> str:
        return self.context["secret"]


class ApiTokenInput(serializers.Serializer):
    name = StrictCharField(max_length=100)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Never, when absent.")


# --- export (documentation of the JSON document the exporter writes) --------------------------------


class _ExportUser(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class _ExportLabel(serializers.Serializer):
    annotator = _ExportUser()
    verdict = serializers.CharField()
    techniques = serializers.ListField(child=serializers.CharField())
    note = serializers.CharField()
    seconds_spent = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class _ExportAccount(serializers.Serializer):
    id = serializers.IntegerField()
    platform = serializers.CharField()
    handle = serializers.CharField()
    display_name = serializers.CharField()
    external_id = serializers.CharField()
    profile_url = serializers.CharField()
    kind = serializers.CharField()
    added_at = serializers.DateTimeField()
    added_by = _ExportUser(allow_null=True)
    reason = serializers.CharField()
    label_count = serializers.IntegerField()
    labels = _ExportLabel(many=True)


class _ExportFile(serializers.Serializer):
    role = serializers.CharField()
    original_name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    phash = serializers.CharField()


class _ExportEvidence(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    account = serializers.IntegerField(allow_null=True)
    post = serializers.IntegerField(allow_null=True)
    brand = serializers.IntegerField(allow_null=True)
    title = serializers.CharField()
    url = serializers.CharField()
    captured_text = serializers.CharField()
    source_url = serializers.CharField()
    source_author = serializers.CharField()
    source_text = serializers.CharField()
    copy_similarity = serializers.FloatField(allow_null=True)
    techniques = serializers.ListField(child=serializers.CharField())
    captured_by = _ExportUser()
    captured_at = serializers.DateTimeField()
    capture_method = serializers.CharField()
    content_sha256 = serializers.CharField()
    retracts = serializers.IntegerField(allow_null=True)
    retracted_by = serializers.IntegerField(allow_null=True)
    files = _ExportFile(many=True)


class _ExportActor(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    country = serializers.CharField()
    kind = serializers.CharField()


class _ExportVote(serializers.Serializer):
    voter = _ExportUser()
    actor = _ExportActor()
    confidence = serializers.CharField()
    rationale = serializers.CharField()
    cited_evidence = serializers.ListField(child=serializers.IntegerField())
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class _ExportDecision(serializers.Serializer):
    actor = _ExportActor()
    confidence = serializers.CharField()
    rationale = serializers.CharField()
    decided_by = _ExportUser()
    decided_at = serializers.DateTimeField()
    withdrawn_at = serializers.DateTimeField(allow_null=True)
    withdrawn_reason = serializers.CharField()


class _ExportTeam(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()


class _ExportCase(serializers.Serializer):
    id = serializers.IntegerField()
    team = _ExportTeam()
    title = serializers.CharField()
    summary = serializers.CharField()
    status = serializers.CharField()
    priority = serializers.IntegerField()
    lead = _ExportUser(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class CaseExportSerializer(serializers.Serializer):
    """The JSON export of a case (documentation only: ``cases.exporters`` writes it)."""

    format = serializers.CharField(help_text="`osint-annotator/case-export`")
    version = serializers.IntegerField()
    exported_at = serializers.DateTimeField()
    exported_by = _ExportUser()
    review_hidden = serializers.BooleanField(
        help_text="True when other reviewers' labels and votes are withheld from you (you have not "
        "reviewed yet and the case is not settled); only your own are included then."
    )
    case = _ExportCase()
    accounts = _ExportAccount(many=True)
    evidence = _ExportEvidence(many=True)
    votes = _ExportVote(many=True)
    vote_count = serializers.IntegerField()
    decision = _ExportDecision(allow_null=True)
    decision_history = _ExportDecision(many=True)
    manifest = serializers.DictField(
        required=False,
        help_text="JSON exports: the signed evidence manifest, as GET /api/cases/{case_id}/manifest/ "
        "returns it (docs/extension.md).",
    )
