"""Similar accounts over the API: an account's similar accounts, and starting a sweep.

    GET  /api/accounts/{id}/similar/?limit=20   -> {"results": [{"account", "score", "signals"}]}
    POST /api/similarity/sweeps/                -> 202, the queued Job (poll /api/jobs/{id}/)

The answer of ``similar`` is the stored one when it is fresh and is computed on the spot when
it is not (``cases.services.similarity.get_similar_accounts``; freshness is defined in
``cases.similarity_selectors``). The ``X-Similar-Source`` header says which: ``stored`` or
``computed``. Another team's account is the same 404 as a missing one.
"""

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.models import Case, Platform, Team
from cases.selectors import get_account_for_user, list_jobs_for_user
from cases.services.similarity import TOP_K, get_similar_accounts, start_similarity_sweep

from .fields import StrictFloatField, TeamScopedPrimaryKeyRelatedField
from .serializers import JobSerializer

DEFAULT_LIMIT = 20


class SimilarQuery(serializers.Serializer):
    limit = serializers.IntegerField(
        min_value=1,
        max_value=TOP_K,
        default=DEFAULT_LIMIT,
        help_text=f"How many similar accounts, best first (1 to {TOP_K}).",
    )


class SimilarAccountRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    platform = serializers.ChoiceField(choices=Platform.choices, read_only=True)
    handle = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)


class SignalSerializer(serializers.Serializer):
    signal = serializers.CharField(read_only=True, help_text="`copy_paste`, `co_timing`, `brand`, …")
    score = serializers.FloatField(read_only=True, min_value=0, max_value=1)
    detail = serializers.CharField(read_only=True, help_text="Why, in one sentence.")


class SimilarAccountSerializer(serializers.Serializer):
    account = SimilarAccountRefSerializer(read_only=True)
    score = serializers.FloatField(read_only=True, min_value=0, max_value=1)
    signals = SignalSerializer(many=True, read_only=True)


class SimilarAccountsSerializer(serializers.Serializer):
    results = SimilarAccountSerializer(many=True, read_only=True)


class AccountSimilarApi(APIView):
    @extend_schema(
        operation_id="accounts_similar",
        summary="Accounts similar to this one, best first, each with the signals that explain it",
        description=(
            "The stored answer when it is fresh: the newest sweep or top-k computation that covered "
            "this account read the data after the account's last change, the team's newest account "
            "or brand and the team's last import, under the team's current weights. Otherwise it is "
            "computed now against the whole team (and stored). Dismissed pairs are left out. The "
            "`X-Similar-Source` header says `stored` or `computed`."
        ),
        parameters=[
            OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The account's id."),
            SimilarQuery,
        ],
        responses={200: SimilarAccountsSerializer},
    )
    def get(self, request, id: int):
        account = get_account_for_user(request.user, id)
        query = SimilarQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        results, computed = get_similar_accounts(account=account, limit=query.validated_data["limit"])
        body = SimilarAccountsSerializer(
            {
                "results": [
                    {"account": item.account, "score": item.score, "signals": item.signals}
                    for item in results
                ]
            }
        ).data
        response = Response(body)
        response["X-Similar-Source"] = "computed" if computed else "stored"
        return response


class SweepInput(serializers.Serializer):
    team = TeamScopedPrimaryKeyRelatedField(queryset=Team.objects.all(), team_path="")
    platform = serializers.ChoiceField(
        choices=Platform.choices, required=False, help_text="Only this platform's accounts."
    )
    case = TeamScopedPrimaryKeyRelatedField(
        queryset=Case.objects.all(),
        required=False,
        help_text="Only this case's accounts and their best matches.",
    )
    threshold = StrictFloatField(
        required=False,
        min_value=0.05,
        max_value=1,
        help_text="Pairs scoring at least this become suggestions (default: the team's, 0.5).",
    )

    def validate(self, attrs):
        case = attrs.get("case")
        if case is not None and case.team_id != attrs["team"].pk:
            raise serializers.ValidationError({"case": ["No such case in this team."]})
        if case is not None and attrs.get("platform"):
            raise serializers.ValidationError({"platform": ["A case sweep covers every platform."]})
        return attrs


class SimilaritySweepApi(APIView):
    @extend_schema(
        operation_id="similarity_sweeps_create",
        summary="Start a similar-accounts sweep of a team, a platform or a case (starts a job)",
        description=(
            "Every pair of accounts scoring at least `threshold` becomes a suggestion; reviewers' "
            "accepted and dismissed choices are kept. Poll the job at `/api/jobs/{id}/`."
        ),
        request=SweepInput,
        responses={202: OpenApiResponse(JobSerializer, description="The queued job.")},
    )
    def post(self, request):
        data = SweepInput(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        job = start_similarity_sweep(created_by=request.user, **data.validated_data)
        fresh = list_jobs_for_user(request.user).get(pk=job.pk)
        response = Response(JobSerializer(fresh).data, status=status.HTTP_202_ACCEPTED)
        response["Location"] = f"/api/jobs/{job.pk}/"
        return response


# Included by cases/api/urls.py under the "api" namespace.
urlpatterns = [
    path("accounts/<int:id>/similar/", AccountSimilarApi.as_view(), name="account-similar"),
    path("similarity/sweeps/", SimilaritySweepApi.as_view(), name="similarity-sweeps"),
]
