from django.conf import settings
from django.http import JsonResponse

from .exceptions import error_body, is_api_path, json_error

DEFAULT_MAX_BODY_BYTES = 30 * 1024 * 1024
DEFAULT_MAX_IMPORT_BYTES = 1024**3
IMPORT_PREFIX = "/api/imports/"


class ApiBodySizeLimitMiddleware:
    """Refuses, before anything reads it, an /api/ request no view of the API would take:

    * a declared body that is too large, with a 413. Multipart bodies (evidence files) may use
      API_MAX_BODY_BYTES, import uploads API_MAX_IMPORT_BYTES (they stream to disk); every other
      body is held to the smaller DATA_UPLOAD_MAX_MEMORY_SIZE, because JSON is parsed in memory;
    * a query parameter given more than once, with a 400. Every parameter of the API takes one
      value (the schema has no arrays in query strings); otherwise Django would silently use the
      last one and DRF's serializers the first.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api_path(request.path_info):
            refused = self._too_large(request) or self._repeated_parameter(request)
            if refused is not None:
                return refused
        return self.get_response(request)

    def _repeated_parameter(self, request):
        repeated = sorted(name for name, values in request.GET.lists() if len(values) > 1)
        if not repeated:
            return None
        fields = {name: ["Give this parameter once."] for name in repeated}
        return JsonResponse(
            error_body("invalid", f"{repeated[0]}: Give this parameter once.", fields), status=400
        )

    def _too_large(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_error(400, "bad_request", "The Content-Length header is not a number.")
        limit = getattr(settings, "API_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)
        if request.path_info.startswith(IMPORT_PREFIX):
            limit = getattr(settings, "API_MAX_IMPORT_BYTES", DEFAULT_MAX_IMPORT_BYTES)
        if not request.META.get("CONTENT_TYPE", "").lower().startswith("multipart/form-data"):
            memory_limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            if memory_limit is not None:
                limit = min(limit, memory_limit)
        if length > limit:
            return json_error(
                413,
                "request_too_large",
                f"The request body is {length} bytes; the limit is {limit} bytes.",
            )
        return None
