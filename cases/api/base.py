"""What every viewset of the API shares: numeric ids in URLs, validated input, team scope."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status, viewsets
from rest_framework.response import Response

from cases.models import Team
from cases.selectors import get_case_for_user, list_teams_for_user

ID = "[0-9]+"


def id_parameter(name: str, what: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.INT, OpenApiParameter.PATH, description=f"The {what}'s id.")


class ApiViewSet(viewsets.GenericViewSet):
    """Shared plumbing: numeric ids in URLs, validated input, no filters on single objects."""

    lookup_value_regex = ID
    search_fields: list[str] = []
    ordering_fields: list[str] = []

    @property
    def is_schema_generation(self) -> bool:
        return getattr(self, "swagger_fake_view", False)

    def teams(self) -> QuerySet[Team]:
        return list_teams_for_user(self.request.user)

    def validated(self, serializer_class, data=None) -> dict:
        serializer = serializer_class(
            data=self.request.data if data is None else data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def get_object(self):
        # Query-string filters narrow lists; they do not apply to a single object.
        obj = get_object_or_404(
            self.get_queryset(), pk=self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        )
        self.check_object_permissions(self.request, obj)
        return obj

    def created(self, obj) -> Response:
        """The new row, read back through the list queryset so it has what lists show."""
        return self.fresh(obj, code=status.HTTP_201_CREATED)

    def fresh(self, obj, *, code: int = status.HTTP_200_OK, serializer_class=None) -> Response:
        """``obj`` read back through this view's queryset (a service may have changed it), rendered."""
        row = self.get_queryset().get(pk=obj.pk)
        serializer_class = serializer_class or self.get_serializer_class()
        return Response(serializer_class(row, context=self.get_serializer_context()).data, status=code)


class CaseNestedViewSet(ApiViewSet):
    """A viewset under ``/api/cases/{case_id}/``: its case, fetched once per request through the
    user's teams (another team's case is the same 404 as a missing one)."""

    def get_case(self):
        if not hasattr(self, "_case"):
            self._case = get_case_for_user(self.request.user, self.kwargs["case_id"])
        return self._case
