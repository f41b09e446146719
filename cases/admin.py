"""The admin is an inspection window: every domain model is listed, filtered and searchable,
and nothing can be changed here. Writes go through ``cases.services`` so that each one is
checked and leaves an audit event; the admin would bypass both."""

from django.contrib import admin

from cases import models


class ReadOnlyMixin:
    """Nothing is added, changed or deleted through the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_per_page = 100
    show_full_result_count = False  # COUNT(*) on a million-row table is not free


@admin.register(models.Team)
class TeamAdmin(ReadOnlyAdmin):
    list_display = ["slug", "name", "attribution_quorum", "created_at"]
    search_fields = ["slug", "name"]


@admin.register(models.Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "team__slug"]
    list_select_related = ["user", "team"]


@admin.register(models.Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["handle", "platform", "display_name", "kind", "source", "followers", "team", "created_at"]
    list_filter = ["platform", "kind", "source", "team"]
    search_fields = ["handle_normalized", "display_name", "external_id"]
    list_select_related = ["team"]


@admin.register(models.Post)
class PostAdmin(ReadOnlyAdmin):
    list_display = ["id", "account", "posted_at", "is_repost", "copied_from", "copy_similarity"]
    list_filter = ["is_repost", "account__platform"]
    search_fields = ["external_id", "account__handle_normalized"]
    list_select_related = ["account"]
    raw_id_fields = ["account", "copied_from"]


class BrandDomainInline(ReadOnlyMixin, admin.TabularInline):
    model = models.BrandDomain
    extra = 0


@admin.register(models.MediaBrand)
class MediaBrandAdmin(ReadOnlyAdmin):
    list_display = ["name", "impersonates", "team", "created_at"]
    list_filter = ["team"]
    search_fields = ["name", "impersonates", "domains__domain"]
    inlines = [BrandDomainInline]


@admin.register(models.BrandDomain)
class BrandDomainAdmin(ReadOnlyAdmin):
    list_display = ["domain", "brand", "first_seen"]
    search_fields = ["domain"]
    list_select_related = ["brand"]


@admin.register(models.BrandAccount)
class BrandAccountAdmin(ReadOnlyAdmin):
    list_display = ["brand", "account", "role"]
    list_filter = ["role"]
    list_select_related = ["brand", "account"]


@admin.register(models.Actor)
class ActorAdmin(ReadOnlyAdmin):
    list_display = ["name", "country", "kind", "team"]
    list_filter = ["kind", "team"]
    search_fields = ["name", "country"]


@admin.register(models.Technique)
class TechniqueAdmin(ReadOnlyAdmin):
    list_display = ["procedure_code", "procedure", "technique_code", "technique", "tactic"]
    list_filter = ["tactic"]
    search_fields = ["procedure", "technique", "procedure_code"]


@admin.register(models.Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = [
        "title",
        "team",
        "status",
        "priority",
        "lead",
        "account_count",
        "evidence_count",
        "updated_at",
    ]
    list_filter = ["status", "priority", "team"]
    search_fields = ["title"]
    list_select_related = ["team", "lead"]


@admin.register(models.CaseAccount)
class CaseAccountAdmin(ReadOnlyAdmin):
    list_display = ["case", "account", "added_by", "added_at"]
    list_select_related = ["case", "account", "added_by"]
    raw_id_fields = ["case", "account"]


class EvidenceFileInline(ReadOnlyMixin, admin.TabularInline):
    model = models.EvidenceFile
    extra = 0
    fields = ["role", "original_name", "content_type", "size", "sha256", "phash"]
    readonly_fields = fields


@admin.register(models.Evidence)
class EvidenceAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "case", "captured_by", "captured_at", "capture_method", "content_sha256"]
    list_filter = ["kind", "capture_method", "case__team"]
    search_fields = ["title", "url", "content_sha256"]
    list_select_related = ["case", "captured_by"]
    inlines = [EvidenceFileInline]


@admin.register(models.EvidenceFile)
class EvidenceFileAdmin(ReadOnlyAdmin):
    list_display = ["id", "evidence", "role", "original_name", "content_type", "size", "sha256", "created_at"]
    list_filter = ["role", "content_type"]
    search_fields = ["sha256", "phash"]
    list_select_related = ["evidence"]


@admin.register(models.Queue)
class QueueAdmin(ReadOnlyAdmin):
    list_display = ["name", "team", "case", "labels_per_item", "lease_minutes", "is_active"]
    list_filter = ["is_active", "team"]


@admin.register(models.QueueItem)
class QueueItemAdmin(ReadOnlyAdmin):
    list_display = ["id", "queue", "account", "priority", "label_count", "is_done"]
    list_filter = ["is_done", "queue"]
    list_select_related = ["queue", "account"]


@admin.register(models.Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ["item", "user", "state", "claimed_at", "expires_at", "completed_at"]
    list_filter = ["state"]
    list_select_related = ["item", "user"]


@admin.register(models.Label)
class LabelAdmin(ReadOnlyAdmin):
    list_display = ["account", "case", "annotator", "verdict", "seconds_spent", "updated_at"]
    list_filter = ["verdict"]
    list_select_related = ["account", "case", "annotator"]


@admin.register(models.AttributionVote)
class AttributionVoteAdmin(ReadOnlyAdmin):
    list_display = ["case", "voter", "actor", "confidence", "updated_at"]
    list_filter = ["confidence"]
    list_select_related = ["case", "voter", "actor"]


@admin.register(models.AttributionDecision)
class AttributionDecisionAdmin(ReadOnlyAdmin):
    list_display = ["case", "actor", "confidence", "decided_by", "decided_at", "withdrawn_at"]
    list_filter = ["confidence"]
    list_select_related = ["case", "actor", "decided_by"]


@admin.register(models.SimilaritySuggestion)
class SimilaritySuggestionAdmin(ReadOnlyAdmin):
    list_display = ["account_a", "account_b", "score", "status", "reviewed_by", "updated_at"]
    list_filter = ["status", "team"]
    list_select_related = ["account_a", "account_b", "reviewed_by"]


@admin.register(models.Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "kind",
        "team",
        "status",
        "progress",
        "total",
        "created_by",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "kind", "team"]
    list_select_related = ["team", "created_by"]


@admin.register(models.AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "user", "verb", "target_type", "target_id", "target_repr", "team"]
    list_filter = ["verb", "target_type", "team"]
    search_fields = ["target_id", "target_repr", "verb"]
    list_select_related = ["user", "team"]
    date_hierarchy = "at"


@admin.register(models.ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    # The hash is not shown either: the prefix is enough to tell tokens apart.
    list_display = ["name", "prefix", "user", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["user"]
    exclude = ["token_hash"]


@admin.register(models.CustodyEvent)
class CustodyEventAdmin(ReadOnlyAdmin):
    # Browser capture: the chain of custody after capture. Append-only like the audit trail.
    list_display = ["at", "action", "evidence", "user"]
    list_filter = ["action"]
    search_fields = ["evidence__id"]
    list_select_related = ["evidence", "user"]
    date_hierarchy = "at"


# Lead console, case queue: saved filters, queue reviewer lists and the case queue's stored columns.
@admin.register(models.SavedFilter)
class SavedFilterAdmin(ReadOnlyAdmin):
    list_display = ["name", "user", "team", "query", "updated_at"]
    list_filter = ["team"]
    search_fields = ["name", "user__username"]
    list_select_related = ["user", "team"]


@admin.register(models.QueueReviewer)
class QueueReviewerAdmin(ReadOnlyAdmin):
    list_display = ["queue", "user", "added_by", "added_at"]
    search_fields = ["queue__name", "user__username"]
    list_select_related = ["queue", "user", "added_by"]


@admin.register(models.CaseQueueStats)
class CaseQueueStatsAdmin(ReadOnlyAdmin):
    list_display = ["case", "agreement", "conflicts", "consensus_name", "open_suggestions", "refreshed_at"]
    list_filter = ["team"]
    list_select_related = ["case"]


@admin.register(models.CaseQueueWatermark)
class CaseQueueWatermarkAdmin(ReadOnlyAdmin):
    list_display = ["team", "last_event_id", "refreshed_at"]
    list_select_related = ["team"]


# Lead console, review: adjudicated verdicts and enforcement outcomes.
@admin.register(models.Adjudication)
class AdjudicationAdmin(ReadOnlyAdmin):
    list_display = ["case", "account", "verdict", "decided_by", "created_at"]
    list_filter = ["verdict"]
    search_fields = ["account__handle", "case__title"]
    list_select_related = ["case", "account", "decided_by"]


@admin.register(models.AccountOutcome)
class AccountOutcomeAdmin(ReadOnlyAdmin):
    list_display = ["case", "account", "outcome", "set_by", "set_at"]
    list_filter = ["outcome"]
    search_fields = ["account__handle", "case__title"]
    list_select_related = ["case", "account", "set_by"]
