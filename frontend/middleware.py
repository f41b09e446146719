"""Request guards for the HTML pages."""

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

from cases.api.exceptions import is_api_path

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
NUL_MESSAGE = (
    "The request contains a NUL character (U+0000), which cannot be stored. "
    "Remove it and send the form again."
)


def _has_nul(query) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in query.lists())


class RejectNulCharactersMiddleware:
    """Answers a page request whose query string or form fields hold a NUL character with a 400.

    PostgreSQL cannot store NUL in text or jsonb, and many views hand form fields straight to a
    service (a reason, a queue name, a search): without this, pasting one would be a 500. The API
    refuses NUL field by field (DRF's CharField) in its own error shape, so /api/ is left alone.
    Sits inside the CSP middleware, so the refusal carries the policy like every other response.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_api_path(request.path_info) and (
            _has_nul(request.GET)
            or (request.method == "POST" and request.content_type in FORM_TYPES and _has_nul(request.POST))
        ):
            return HttpResponseBadRequest(NUL_MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
