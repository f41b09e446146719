"""Browser capture (``POST /api/captures/``) and the signed evidence manifest of a case
(``GET /api/cases/{case_id}/manifest/``). See docs/extension.md.

The capture endpoint is what the browser extension calls with the investigator's token; the
bookmarklet's capture window (``frontend/capture.py``) calls the same service with the session.
"""

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from cases.exporters.manifest import file_name, signed_manifest
from cases.models import CaptureMethod, Platform
from cases.selectors import get_case_for_user
from cases.services.captures import CaptureAction, CaptureResult, record_capture
from cases.services.custody import record_case_export

from .base import ApiViewSet, id_parameter
from .fields import MAX_ID, StrictCharField, StrictIntegerField
from .serializers import ErrorSerializer

SHA256_PATTERN = r"^[0-9a-f]{64}$"


class CaptureInput(serializers.Serializer):
    case = StrictIntegerField(min_value=1, max_value=MAX_ID, help_text="The case to capture into.")
    action = serializers.ChoiceField(
        choices=CaptureAction.ALL,
        default=CaptureAction.PAGE,
        help_text="`page`: the page as evidence. `account`: the URL's account onto the case (created "
        "if new), with the page as its first evidence. `repost`: the selection as a copied post.",
    )
    url = StrictCharField(
        max_length=2000,
        help_text="The page's URL; http or https only. Recorded, never fetched by the server.",
    )
    title = StrictCharField(max_length=500, required=False, allow_blank=True)
    selection = StrictCharField(
        max_length=settings.CAPTURE_MAX_TEXT_CHARS, required=False, allow_blank=True, trim_whitespace=False
    )
    source_url = StrictCharField(
        max_length=2000, required=False, allow_blank=True, help_text="Repost: the source post's URL."
    )
    source_text = StrictCharField(
        max_length=settings.CAPTURE_MAX_TEXT_CHARS, required=False, allow_blank=True, trim_whitespace=False
    )
    source_author = StrictCharField(max_length=300, required=False, allow_blank=True)
    captured_at = serializers.DateTimeField(
        required=False, help_text="When the browser captured it (its clock)."
    )
    user_agent = StrictCharField(max_length=500, required=False, allow_blank=True)
    persona = StrictCharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="The research persona used (OPSEC record).",
    )
    method = serializers.ChoiceField(
        choices=[CaptureMethod.EXTENSION.value, CaptureMethod.BOOKMARKLET.value],
        default=CaptureMethod.EXTENSION,
    )
    platform = serializers.ChoiceField(
        choices=[p for p in Platform.values if p != Platform.OTHER],
        required=False,
        help_text="Account: the platform the extension parsed from the URL (the server parses it again).",
    )
    handle = StrictCharField(
        max_length=255, required=False, help_text="Account: the handle the extension parsed from the URL."
    )
    screenshot = serializers.FileField(
        required=False, allow_empty_file=False, help_text="The visible tab, PNG or JPEG (decoded to check)."
    )
    screenshot_sha256 = serializers.RegexField(
        SHA256_PATTERN, required=False, help_text="SHA-256 of the screenshot's bytes, lowercase hex."
    )
    page = serializers.FileField(
        required=False,
        allow_empty_file=False,
        help_text="The page as HTML or MHTML (stored, never served inline).",
    )
    page_sha256 = serializers.RegexField(
        SHA256_PATTERN, required=False, help_text="SHA-256 of the page file's bytes, lowercase hex."
    )

    def validate(self, data):
        problems = {}
        for name in ("screenshot", "page"):
            if name in data and f"{name}_sha256" not in data:
                problems[f"{name}_sha256"] = [f"Required when a {name} is sent."]
            if f"{name}_sha256" in data and name not in data:
                problems[f"{name}_sha256"] = [f"Only with a {name}."]
        if data.get("action") == CaptureAction.ACCOUNT:
            for name in ("platform", "handle"):
                if not data.get(name):
                    problems[name] = ["Required to flag an account."]
        if problems:
            raise serializers.ValidationError(problems)
        return data


class _CaptureFile(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(help_text="The file's name in downloads and manifests.")
    role = serializers.CharField()
    sha256 = serializers.CharField(help_text="Computed by the server; equals the browser's.")
    size = serializers.IntegerField()
    phash = serializers.CharField(help_text="Perceptual hash of a screenshot (hex), else empty.")


class _CaptureEvidence(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    app_url = serializers.URLField(help_text="The evidence page in the app.")
    content_sha256 = serializers.CharField()
    files = _CaptureFile(many=True)


class _CaptureAccount(serializers.Serializer):
    id = serializers.IntegerField()
    platform = serializers.CharField()
    handle = serializers.CharField()
    created = serializers.BooleanField(help_text="True when the capture created the account.")


class _CaptureCase(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()


class CaptureResultSerializer(serializers.Serializer):
    evidence = _CaptureEvidence(many=True)
    account = _CaptureAccount(allow_null=True)
    case = _CaptureCase()


def capture_result_data(request, result: CaptureResult) -> dict:
    """The 201 body; also rendered by the bookmarklet's capture window."""
    return {
        "evidence": [
            {
                "id": item.pk,
                "kind": item.kind,
                "app_url": request.build_absolute_uri(reverse("frontend:evidence-detail", args=[item.pk])),
                "content_sha256": item.content_sha256,
                "files": [
                    {
                        "id": f.pk,
                        "name": file_name(f),
                        "role": f.role,
                        "sha256": f.sha256,
                        "size": f.size,
                        "phash": f.phash,
                    }
                    for f in result.files
                    if f.evidence_id == item.pk
                ],
            }
            for item in result.evidence
        ],
        "account": None
        if result.account is None
        else {
            "id": result.account.pk,
            "platform": result.account.platform,
            "handle": result.account.handle,
            "created": result.account_created,
        },
        "case": {"id": result.case.pk, "title": result.case.title},
    }


class CaptureApi(ApiViewSet):
    parser_classes = [MultiPartParser]
    serializer_class = CaptureInput

    @extend_schema(
        summary="Capture the page you are on into a case (browser extension)",
        description=(
            "multipart/form-data. The server checks each file's size (413 over the limit), compares "
            "its SHA-256 with the `*_sha256` the browser computed (400 `hash_mismatch`), and decodes "
            "it (400 `unsupported_file`: a screenshot must be PNG or JPEG, a page HTML or MHTML). "
            "Only http(s) URLs are taken, and the server never fetches them. For `action=account` "
            "the server parses `url` with the extension's rules and refuses a different "
            "`platform`/`handle`. Another team's case is a 404. Nothing is stored when a request is "
            "refused. Limits: docs/extension.md."
        ),
        request={"multipart/form-data": CaptureInput},
        responses={
            201: CaptureResultSerializer,
            404: OpenApiResponse(ErrorSerializer, description="No such case, or another team's."),
        },
    )
    def create(self, request, *args, **kwargs):
        data = dict(self.validated(CaptureInput))
        case = get_case_for_user(request.user, data.pop("case"))
        result = record_capture(case=case, captured_by=request.user, **data)
        return Response(capture_result_data(request, result), status=201)


class _ManifestSignature(serializers.Serializer):
    algorithm = serializers.CharField(help_text="`Ed25519`")
    canonicalization = serializers.CharField()
    key_id = serializers.CharField(help_text="First 16 hex digits of the SHA-256 of the raw public key.")
    public_key = serializers.CharField(help_text="The raw 32-byte public key, base64.")
    value = serializers.CharField(help_text="The signature over the manifest's canonical JSON, base64.")


class SignedManifestSerializer(serializers.Serializer):
    manifest = serializers.DictField(
        help_text="format, version, generated_at, generated_by, case, artefacts (evidence, file, name, "
        "role, content_type, size, sha256, phash) and evidence (capture metadata, files, custody chain)."
    )
    signature = _ManifestSignature()


class CaseManifestApi(ApiViewSet):
    pagination_class = None
    filter_backends = []

    @extend_schema(
        summary="The signed evidence manifest of a case",
        description=(
            "Every artefact's SHA-256 and size, every item's capture metadata and chain of custody, "
            "signed with the server's Ed25519 key over the manifest's canonical JSON (sorted keys, no "
            "whitespace, UTF-8). Fetching it is recorded as an export in each item's custody chain. "
            "Check it with `manage.py verify_manifest`."
        ),
        parameters=[id_parameter("case_id", "case")],
        responses={(200, "application/json"): SignedManifestSerializer},
    )
    def retrieve(self, request, *args, **kwargs):
        case = get_case_for_user(request.user, self.kwargs["case_id"])
        record_case_export(case=case, user=request.user, export_format="manifest")
        document = signed_manifest(case, generated_by=request.user, now=timezone.now())
        response = Response(document)
        response["Content-Disposition"] = f'attachment; filename="case-{case.pk}-manifest.json"'
        add_never_cache_headers(response)
        return response
