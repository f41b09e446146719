"""drf-spectacular's AutoSchema, plus the error responses every operation can give."""

from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_parameter_type
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from .filters import filter_schema
from .serializers import ErrorSerializer

ERROR_DESCRIPTIONS = {
    "400": "Invalid input: a body field, query parameter or page that is not valid (`fields` says which).",
    "401": "No credentials, or a token that is unknown, revoked or expired.",
    "403": "Authenticated, but the role in the team does not allow this.",
    "404": "No such object, or it belongs to a team you are not in (the same answer for both).",
    "409": (
        "Conflicts with the current state: already exists, already revoked, case decided or closed, "
        "a lease that lapsed or ended, a paused queue, no quorum for a decision."
    ),
    "413": "The request body is larger than the limit.",
    "415": "The Content-Type is not one this operation accepts.",
    "429": "Too many requests for this token; retry after the `Retry-After` seconds.",
}
WRITE_METHODS = {"POST", "PUT", "PATCH"}


class ApiAutoSchema(AutoSchema):
    def _error_codes(self) -> list[str]:
        codes = ["401", "403", "429"]
        takes_input = (
            self.method in WRITE_METHODS or self._is_list_view() or bool(self.get_override_parameters())
        )
        if takes_input:
            codes.append("400")
        if "{" in self.path or self._is_list_view():
            codes.append("404")  # another team's object, or a page past the last one
        if self.method in WRITE_METHODS or self.method == "DELETE":
            codes.append("409")
        if self.method in WRITE_METHODS:
            codes += ["413", "415"]
        return sorted(codes)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if getattr(self.view, "no_error_responses", False):
            return responses
        for code in self._error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code]),
                    code,
                    direction=direction,
                )
        return responses


class BoundedFilterExtension(DjangoFilterExtension):
    """Documents this API's filters with the exact bounds they enforce (id range, text length),
    so a client — or schemathesis — knows which values are valid before sending them."""

    priority = 1

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        schema = filter_schema(filter_field)
        if schema is None:
            return super().resolve_filter_field(auto_schema, model, filterset_class, field_name, filter_field)
        return [
            build_parameter_type(
                name=field_name,
                required=filter_field.extra["required"],
                location=OpenApiParameter.QUERY,
                description=self._get_field_description(filter_field, None),
                schema=schema,
            )
        ]
