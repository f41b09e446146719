"""The REST API's views. Thin: parse, fetch what the user may see, call one service, render.

Every queryset starts from the requesting user's teams (``cases.selectors.list_teams_for_user``),
so another team's object is the same 404 as a missing one and lists never include it. Writes
go through ``cases.services``; a ``CaseError`` they raise becomes a 400/403/409 in the one error
shape (``cases.api.exceptions``). Evidence has no update: PUT and PATCH are 405.

The review workflow (leases, labels, votes, decisions, case and queue actions) is in
``cases.api.review``; its actions on cases, queues and suggestions are mixed into the viewsets here.
"""

from django.contrib.auth import get_user_model
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from cases.exporters.case import iter_case_csv, iter_case_json, review_visible_to
from cases.exporters.manifest import signed_manifest
from cases.exporters.stix import iter_case_stix
from cases.models import (
    Account,
    AccountSource,
    Actor,
    ApiToken,
    AuditEvent,
    CaptureMethod,
    CaseAccount,
    CustodyAction,
    Evidence,
    EvidenceFile,
    MediaBrand,
    Membership,
    Post,
    Queue,
    QueueItem,
    Role,
    SimilaritySuggestion,
    Team,
    Technique,
)
from cases.selectors import list_cases_for_user, list_jobs_for_user
from cases.services.access import LEAD_ROLES, require_member
from cases.services.accounts import create_account, create_actor, create_media_brand, create_post
from cases.services.cases import add_account_to_case, create_case, remove_account_from_case
from cases.services.custody import record_case_export, record_custody_event
from cases.services.evidence import Upload, record_evidence, retract_evidence
from cases.services.imports import start_bundle_import, start_indicator_import
from cases.services.queues import create_queue_from_case
from cases.services.teams import add_member
from cases.services.tokens import create_token, revoke_token

from . import filters, review, serializers
from .base import ApiViewSet, CaseNestedViewSet, id_parameter
from .parsers import StrictJSONParser
from .permissions import CanReadAuditTrail

# --- teams -------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Your teams, with your role in each"),
    retrieve=extend_schema(summary="One of your teams"),
)
class TeamApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = serializers.TeamSerializer
    filterset_class = filters.TeamFilter
    search_fields = ["name", "slug"]
    ordering_fields = ["name", "slug", "created_at"]

    def get_queryset(self):
        role = Membership.objects.filter(team=OuterRef("pk"), user=self.request.user.pk).values("role")[:1]
        return self.teams().annotate(my_role=Subquery(role))


@extend_schema_view(
    list=extend_schema(summary="The members of a team", parameters=[id_parameter("team_id", "team")]),
    create=extend_schema(
        summary="Add a member or change their role (team admins only)",
        parameters=[id_parameter("team_id", "team")],
        request=serializers.MembershipInput,
        responses={
            201: OpenApiResponse(serializers.MembershipSerializer, description="Added."),
            200: OpenApiResponse(serializers.MembershipSerializer, description="Role changed."),
        },
    ),
)
class TeamMemberApi(mixins.ListModelMixin, ApiViewSet):
    serializer_class = serializers.MembershipSerializer
    filterset_class = filters.MembershipFilter
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    ordering_fields = ["created_at", "role", "user__username"]

    def get_team(self) -> Team:
        if not hasattr(self, "_team"):
            self._team = get_object_or_404(self.teams(), pk=self.kwargs["team_id"])
        return self._team

    def get_queryset(self):
        if self.is_schema_generation:
            return Membership.objects.none()
        return Membership.objects.filter(team=self.get_team()).select_related("user").order_by("pk")

    def create(self, request, *args, **kwargs):
        team = self.get_team()
        # Asked before the body is read, so a non-admin cannot use this to probe usernames.
        require_member(request.user, team, roles=(Role.ADMIN,))
        data = self.validated(serializers.MembershipInput)
        user = get_user_model().objects.filter(username=data["username"], is_active=True).first()
        if user is None:
            raise ValidationError({"username": ["No such user."]})
        existed = Membership.objects.filter(team=team, user=user).exists()
        membership = add_member(team=team, user=user, role=data["role"], added_by=request.user)
        return Response(
            self.get_serializer(membership).data,
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )


# --- accounts, posts, brands -------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Accounts in your teams"),
    retrieve=extend_schema(summary="One account"),
    create=extend_schema(
        summary="Add an account (unique per team, platform and handle)",
        request=serializers.AccountInput,
        responses={201: serializers.AccountSerializer},
    ),
)
class AccountApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ApiViewSet):
    serializer_class = serializers.AccountSerializer
    filterset_class = filters.AccountFilter
    search_fields = ["handle", "display_name"]
    ordering_fields = ["handle_normalized", "platform", "created_at", "updated_at", "followers"]

    def get_queryset(self):
        # A concrete list of team ids (not a subquery) lets PostgreSQL treat a one-team user's
        # team as a constant and walk the unique (team, platform, handle) index in order: deep
        # pages cost an index scan, not a sort of the team's accounts. The triple is unique, so
        # the order is total.
        team_ids = list(self.teams().values_list("pk", flat=True))
        accounts = Account.objects.filter(team_id__in=team_ids)
        return accounts.order_by("platform", "handle_normalized", "team_id")

    def create(self, request, *args, **kwargs):
        data = self.validated(serializers.AccountInput)
        account = create_account(created_by=request.user, source=AccountSource.API, **data)
        return self.created(account)


@extend_schema_view(
    list=extend_schema(summary="Posts of accounts in your teams"),
    retrieve=extend_schema(summary="One post"),
    create=extend_schema(
        summary="Record a post of an account",
        request=serializers.PostInput,
        responses={201: serializers.PostSerializer},
    ),
)
class PostApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ApiViewSet):
    serializer_class = serializers.PostSerializer
    filterset_class = filters.PostFilter
    search_fields = ["text"]
    ordering_fields = ["posted_at", "created_at"]

    def get_queryset(self):
        return Post.objects.filter(account__team__in=self.teams()).order_by("-posted_at", "-pk")

    def create(self, request, *args, **kwargs):
        data = self.validated(serializers.PostInput)
        data.setdefault("text", "")
        post = create_post(created_by=request.user, **data)
        return self.created(post)


@extend_schema_view(
    list=extend_schema(summary="Fake media brands, with their domains"),
    retrieve=extend_schema(summary="One media brand"),
    create=extend_schema(
        summary="Record a media brand with its domains and accounts",
        request=serializers.MediaBrandInput,
        responses={201: serializers.MediaBrandSerializer},
    ),
)
class MediaBrandApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ApiViewSet):
    serializer_class = serializers.MediaBrandSerializer
    filterset_class = filters.MediaBrandFilter
    search_fields = ["name", "impersonates", "domains__domain"]
    ordering_fields = ["name", "created_at"]

    def get_queryset(self):
        return (
            MediaBrand.objects.filter(team__in=self.teams())
            .prefetch_related("domains", "brandaccount_set")
            .order_by("name", "pk")
        )

    def create(self, request, *args, **kwargs):
        data = self.validated(serializers.MediaBrandInput)
        data["accounts"] = [(item["account"], item["role"]) for item in data.get("accounts", [])]
        brand = create_media_brand(created_by=request.user, **data)
        return self.created(brand)


# --- cases -------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Cases in your teams"),
    retrieve=extend_schema(summary="One case"),
    create=extend_schema(
        summary="Open a case", request=serializers.CaseInput, responses={201: serializers.CaseSerializer}
    ),
)
class CaseApi(
    review.CaseReviewActions,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    ApiViewSet,
):
    serializer_class = serializers.CaseSerializer
    filterset_class = filters.CaseFilter
    search_fields = ["title"]
    ordering_fields = ["priority", "updated_at", "created_at", "title", "account_count", "evidence_count"]

    def get_queryset(self):
        return list_cases_for_user(self.request.user).select_related("created_by")

    def create(self, request, *args, **kwargs):
        data = self.validated(serializers.CaseInput)
        case = create_case(created_by=request.user, **data)
        return self.created(case)

    @extend_schema(
        summary="Export a case: accounts, labels, evidence with hashes, votes and decision",
        description=(
            "`format=json` (default): one nested document. `format=csv`: one row per account on the "
            "case, its labels summarised (verdict counts, techniques), its standing evidence with "
            "SHA-256s, and the standing decision. `format=stix`: a STIX 2.1 bundle (identity of the "
            "team, campaign for the case, intrusion sets for actors, `attributed-to` with confidence "
            "low 15 / moderate 50 / high 85, `user-account`, `domain-name` and `url` observables with "
            "indicators, opinions for votes; ids are stable across exports). Other reviewers' labels "
            "and votes are included for leads and admins, and for everyone once the case is decided "
            "or closed (`review_hidden`)."
        ),
        parameters=[
            OpenApiParameter(
                "format",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                enum=["json", "csv", "stix"],
                default="json",
            )
        ],
        responses={
            (200, "application/json"): serializers.CaseExportSerializer,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV, one row per account."),
            (200, "application/stix+json"): OpenApiResponse(
                OpenApiTypes.OBJECT, description="STIX 2.1 bundle."
            ),
        },
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def export(self, request, pk=None):
        case = self.get_object()
        fmt = self.validated(serializers.ExportQuery, data=request.query_params)["format"]
        # Every exported item's chain of custody records this export (cases.services.custody).
        record_case_export(case=case, user=request.user, export_format=fmt)
        reveal = review_visible_to(request.user, case)
        if fmt == "csv":
            chunks = iter_case_csv(case, viewer=request.user, reveal_review=reveal)
            response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
        elif fmt == "stix":
            chunks = iter_case_stix(case, viewer=request.user, reveal_review=reveal)
            response = StreamingHttpResponse(chunks, content_type="application/stix+json;version=2.1")
        else:
            now = timezone.now()
            manifest = signed_manifest(case, generated_by=request.user, now=now)
            chunks = iter_case_json(
                case, viewer=request.user, reveal_review=reveal, now=now, manifest=manifest
            )
            response = StreamingHttpResponse(chunks, content_type="application/json")
        extension = "stix.json" if fmt == "stix" else fmt
        response["Content-Disposition"] = f'attachment; filename="case-{case.pk}.{extension}"'
        add_never_cache_headers(response)
        return response


@extend_schema_view(
    list=extend_schema(summary="The accounts on a case", parameters=[id_parameter("case_id", "case")]),
    create=extend_schema(
        summary="Put an account on a case",
        parameters=[id_parameter("case_id", "case")],
        request=serializers.CaseAccountInput,
        responses={201: serializers.CaseAccountSerializer},
    ),
    destroy=extend_schema(
        summary="Take an account off a case (its labels and evidence stay)",
        parameters=[id_parameter("case_id", "case"), id_parameter("account_id", "account")],
    ),
)
class CaseAccountApi(mixins.ListModelMixin, CaseNestedViewSet):
    serializer_class = serializers.CaseAccountSerializer
    filterset_class = filters.CaseAccountFilter
    search_fields = ["account__handle", "account__display_name"]
    ordering_fields = ["added_at", "account__handle_normalized"]

    def get_queryset(self):
        if self.is_schema_generation:
            return CaseAccount.objects.none()
        return (
            CaseAccount.objects.filter(case=self.get_case())
            .select_related("account", "added_by")
            .order_by("added_at", "pk")
        )

    def create(self, request, *args, **kwargs):
        case = self.get_case()
        data = self.validated(serializers.CaseAccountInput)
        link = add_account_to_case(
            case=case, account=data["account"], added_by=request.user, reason=data.get("reason", "")
        )
        return self.created(link)

    def destroy(self, request, *args, **kwargs):
        case = self.get_case()
        link = get_object_or_404(self.get_queryset(), account_id=self.kwargs["account_id"])
        remove_account_from_case(case=case, account=link.account, removed_by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- evidence ----------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Evidence in your teams' cases (retractions included)"),
    retrieve=extend_schema(summary="One evidence item, with its files' SHA-256"),
    create=extend_schema(
        summary="Record evidence (JSON, or multipart with one file)",
        description=(
            "Evidence is immutable: there is no update. A screenshot needs a PNG, JPEG or WebP file "
            "(the bytes are decoded; the name and claimed type count for nothing); a page capture "
            "needs the page's HTML or MHTML. `captured_by`, `captured_at`, `capture_method` and the "
            "hashes are set by the server."
        ),
        request={
            "application/json": serializers.EvidenceInput,
            "multipart/form-data": serializers.EvidenceInput,
        },
        responses={201: serializers.EvidenceSerializer},
    ),
)
class EvidenceApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ApiViewSet):
    serializer_class = serializers.EvidenceSerializer
    filterset_class = filters.EvidenceFilter
    parser_classes = [StrictJSONParser, MultiPartParser]
    search_fields = ["title", "url", "captured_text"]
    ordering_fields = ["captured_at", "created_at"]

    def get_queryset(self):
        return (
            Evidence.objects.filter(case__team__in=self.teams())
            .select_related("captured_by", "retracted_by")
            .prefetch_related("techniques", "files")
            .order_by("-captured_at", "-pk")
        )

    def retrieve(self, request, *args, **kwargs):
        evidence = self.get_object()
        # Reading an item is a link in its chain of custody (one INSERT; cases.services.custody).
        record_custody_event(
            evidence=evidence, action=CustodyAction.VIEWED, user=request.user, detail={"via": "api"}
        )
        return Response(self.get_serializer(evidence).data)

    def create(self, request, *args, **kwargs):
        data = self.validated(serializers.EvidenceInput)
        upload = data.pop("file", None)
        role = data.pop("file_role", None)
        files = []
        if upload is not None:
            role = role or serializers.DEFAULT_FILE_ROLE.get(data["kind"], EvidenceFile.Role.ATTACHMENT)
            files.append(Upload(role=role, name=upload.name or "", content=upload.read()))
        evidence = record_evidence(
            captured_by=request.user, capture_method=CaptureMethod.API, files=files, **data
        )
        return self.created(evidence)

    @extend_schema(
        summary="Retract an evidence item (records a retraction; the original stays unchanged)",
        request=serializers.RetractInput,
        responses={201: OpenApiResponse(serializers.EvidenceSerializer, description="The retraction.")},
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def retract(self, request, pk=None):
        evidence = self.get_object()
        data = self.validated(serializers.RetractInput)
        retraction = retract_evidence(evidence=evidence, retracted_by=request.user, reason=data["reason"])
        return self.created(retraction)


# --- taxonomy, actors ----------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Kill-chain techniques (Meta's Online Operations Kill Chain)"),
    retrieve=extend_schema(summary="One technique"),
)
class TechniqueApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """A public taxonomy shared by every team."""

    serializer_class = serializers.TechniqueSerializer
    filterset_class = filters.TechniqueFilter
    search_fields = ["procedure_code", "technique_code", "procedure", "technique", "tactic"]
    ordering_fields = ["order", "procedure_code"]

    def get_queryset(self):
        return Technique.objects.order_by("order", "pk")


@extend_schema_view(
    list=extend_schema(summary="Actors that networks may be attributed to"),
    retrieve=extend_schema(summary="One actor"),
    create=extend_schema(
        summary="Record an actor",
        request=serializers.ActorInput,
        responses={201: serializers.ActorSerializer},
    ),
)
class ActorApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ApiViewSet):
    serializer_class = serializers.ActorSerializer
    filterset_class = filters.ActorFilter
    search_fields = ["name", "country"]
    ordering_fields = ["name", "created_at"]

    def get_queryset(self):
        return Actor.objects.filter(team__in=self.teams()).select_related("created_by").order_by("name", "pk")

    def create(self, request, *args, **kwargs):
        data = self.validated(serializers.ActorInput)
        actor = create_actor(created_by=request.user, **data)
        return self.created(actor)


# --- queues ----------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Review queues"),
    retrieve=extend_schema(summary="One queue, with its item counts"),
    create=extend_schema(
        summary="Create a queue from a case's suspect accounts (leads and admins only)",
        request=serializers.QueueInput,
        responses={201: serializers.QueueSerializer},
    ),
)
class QueueApi(
    review.QueueReviewActions,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    ApiViewSet,
):
    serializer_class = serializers.QueueSerializer
    filterset_class = filters.QueueFilter
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]

    def get_queryset(self):
        return (
            Queue.objects.filter(team__in=self.teams())
            .select_related("created_by")
            .annotate(
                item_count=Count("items", distinct=True),
                done_count=Count("items", filter=Q(items__is_done=True), distinct=True),
            )
            .order_by("name", "pk")
        )

    def create(self, request, *args, **kwargs):
        data = self.validated(serializers.QueueInput)
        queue = create_queue_from_case(created_by=request.user, **data)
        return self.created(queue)


@extend_schema_view(
    list=extend_schema(summary="The items of a queue", parameters=[id_parameter("queue_id", "queue")]),
    retrieve=extend_schema(summary="One queue item", parameters=[id_parameter("queue_id", "queue")]),
)
class QueueItemApi(
    review.QueueItemReviewActions, mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet
):
    serializer_class = serializers.QueueItemSerializer
    filterset_class = filters.QueueItemFilter
    search_fields = ["account__handle", "account__display_name"]
    ordering_fields = ["priority", "created_at", "label_count"]

    def get_queryset(self):
        if self.is_schema_generation:
            return QueueItem.objects.none()
        queue = get_object_or_404(Queue.objects.filter(team__in=self.teams()), pk=self.kwargs["queue_id"])
        return QueueItem.objects.filter(queue=queue).select_related("account").order_by("-priority", "pk")


# --- jobs, audit, suggestions ----------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Background jobs of your teams"),
    retrieve=extend_schema(summary="One job: poll it for progress (never cached)"),
)
class JobApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = serializers.JobSerializer
    filterset_class = filters.JobFilter
    ordering_fields = ["created_at", "finished_at"]

    def get_queryset(self):
        return list_jobs_for_user(self.request.user).order_by("-created_at", "-pk")

    def finalize_response(self, request, response, *args, **kwargs):
        add_never_cache_headers(response)  # polled: every answer must be fresh
        return super().finalize_response(request, response, *args, **kwargs)


@extend_schema_view(
    list=extend_schema(summary="The audit trail of the teams you lead (leads and admins only)"),
    retrieve=extend_schema(summary="One audit event"),
)
class AuditEventApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = serializers.AuditEventSerializer
    filterset_class = filters.AuditEventFilter
    permission_classes = [IsAuthenticated, CanReadAuditTrail]
    ordering_fields = ["at"]

    def get_queryset(self):
        led = Membership.objects.filter(user=self.request.user.pk, role__in=LEAD_ROLES).values("team")
        return AuditEvent.objects.filter(team__in=led).select_related("user").order_by("-at", "-pk")


@extend_schema_view(
    list=extend_schema(summary="Similar-account suggestions, best first"),
    retrieve=extend_schema(summary="One suggestion, with the signals that explain it"),
)
class SuggestionApi(
    review.SuggestionReviewActions, mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet
):
    serializer_class = serializers.SuggestionSerializer
    filterset_class = filters.SuggestionFilter
    ordering_fields = ["score", "created_at", "updated_at"]

    def get_queryset(self):
        return (
            SimilaritySuggestion.objects.filter(team__in=self.teams())
            .select_related("account_a", "account_b", "reviewed_by")
            .order_by("-score", "pk")
        )


# --- imports ---------------------------------------------------------------------------------------


class ImportApi(ApiViewSet):
    """Uploads that start an import job. The file is checked (size, encoding, format) before the
    job is queued; the answer is the queued job, to poll at /api/jobs/{id}/."""

    parser_classes = [MultiPartParser]
    serializer_class = serializers.JobSerializer

    def _accepted(self, job) -> Response:
        fresh = list_jobs_for_user(self.request.user).get(pk=job.pk)
        response = Response(self.get_serializer(fresh).data, status=status.HTTP_202_ACCEPTED)
        response["Location"] = f"/api/jobs/{job.pk}/"
        return response

    @extend_schema(
        summary="Import a bundle of accounts, posts and media brands (starts a job)",
        request={"multipart/form-data": serializers.BundleImportInput},
        responses={202: OpenApiResponse(serializers.JobSerializer, description="The queued job.")},
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def bundle(self, request):
        data = self.validated(serializers.BundleImportInput)
        job = start_bundle_import(team=data["team"], path_or_upload=data["file"], created_by=request.user)
        return self._accepted(job)

    @extend_schema(
        summary="Import Meta threat-indicator files (starts a job)",
        request={"multipart/form-data": serializers.IndicatorImportInput},
        responses={202: OpenApiResponse(serializers.JobSerializer, description="The queued job.")},
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def indicators(self, request):
        data = self.validated(serializers.IndicatorImportInput)
        job = start_indicator_import(team=data["team"], path_or_upload=data["files"], created_by=request.user)
        return self._accepted(job)


# --- tokens ----------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Your API tokens (never their secrets)"),
    retrieve=extend_schema(summary="One of your API tokens"),
    create=extend_schema(
        summary="Create an API token; the secret is in this response only",
        request=serializers.ApiTokenInput,
        responses={201: serializers.ApiTokenCreatedSerializer},
    ),
)
class TokenApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ApiViewSet):
    serializer_class = serializers.ApiTokenSerializer
    filterset_class = filters.ApiTokenFilter
    search_fields = ["name"]
    ordering_fields = ["created_at", "last_used_at", "name"]

    def get_queryset(self):
        return ApiToken.objects.filter(user=self.request.user.pk).order_by("-created_at", "-pk")

    def create(self, request, *args, **kwargs):
        data = self.validated(serializers.ApiTokenInput)
        via = request.auth if isinstance(request.auth, ApiToken) else None
        token, secret = create_token(
            user=request.user, name=data["name"], expires_at=data.get("expires_at"), created_with=via
        )
        body = serializers.ApiTokenCreatedSerializer(token, context={"secret": secret}).data
        response = Response(body, status=status.HTTP_201_CREATED)
        add_never_cache_headers(response)
        return response

    @extend_schema(
        summary="Revoke one of your API tokens (it stops working at once)",
        request=None,
        responses={200: serializers.ApiTokenSerializer},
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def revoke(self, request, pk=None):
        token = revoke_token(token=self.get_object(), user=request.user)
        return Response(self.get_serializer(token).data)
