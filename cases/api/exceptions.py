"""One JSON shape for every error the API returns:

    {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}

``code`` is stable and meant for programs, ``message`` is safe to show a person, ``fields``
maps an input name (``"files.0"`` for nested ones) to its problems. DRF's exceptions, the
domain's ``CaseError`` and Django's own 400/403/404/413/500 answers on /api/ paths all come
out in this shape.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from cases.errors import CaseError

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
NON_FIELD_KEYS = {"non_field_errors", "__all__"}


def is_api_path(path: str) -> bool:
    return path == API_PREFIX.rstrip("/") or path.startswith(API_PREFIX)


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def json_error(status_code: int, code: str, message: str, **headers: str) -> JsonResponse:
    """An error answered outside DRF (middleware, Django's handlers), in the same shape."""
    response = JsonResponse(error_body(code, message), status=status_code)
    for name, value in headers.items():
        response[name] = value
    return response


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail -> {"field": [...], "items.0.role": [...]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = str(key) if not prefix or str(key) in NON_FIELD_KEYS else f"{prefix}.{key}"
            for k, v in _flatten(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            if detail:
                out.setdefault(prefix or "non_field_errors", []).extend(str(item) for item in detail)
        else:
            for index, item in enumerate(detail):
                if item:
                    for k, v in _flatten(item, f"{prefix}.{index}" if prefix else str(index)).items():
                        out.setdefault(k, []).extend(v)
    else:
        out.setdefault(prefix or "non_field_errors", []).append(str(detail))
    return out


def _validation_error(exc: exceptions.ValidationError) -> tuple[str, dict[str, list[str]]]:
    fields = _flatten(exc.detail)
    general = [message for key in NON_FIELD_KEYS for message in fields.pop(key, [])]
    if general:
        message = " ".join(general)
    elif len(fields) == 1:
        name, problems = next(iter(fields.items()))
        message = f"{name}: {problems[0]}"
    else:
        message = "Some fields are not valid."
    return message, fields


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER. Returning None lets Django answer (a 500 for real bugs)."""
    if isinstance(exc, CaseError):
        set_rollback()
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):
        set_rollback()
        return Response(
            error_body("request_too_large", "The request body is too large."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        set_rollback()
        return Response(error_body("too_many_fields", str(exc)), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, SuspiciousOperation):
        set_rollback()
        return Response(error_body("bad_request", "The request is malformed."), status=400)

    # Lets DRF convert Http404 / PermissionDenied and set WWW-Authenticate and Retry-After.
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        message, fields = _validation_error(exc)
        response.data = error_body("invalid", message, fields)
        return response
    if isinstance(exc, Http404):
        code, message = "not_found", "Not found."
    elif isinstance(exc, DjangoPermissionDenied):
        code, message = "permission_denied", "You do not have permission to perform this action."
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        message = str(exc.detail) if not isinstance(exc.detail, (list, dict)) else str(exc.default_detail)
    else:  # pragma: no cover - exception_handler handles nothing else
        code, message = "error", "The request failed."
    response.data = error_body(code, message)
    return response


# --- Django's own error views, answering JSON on /api/ and the HTML pages elsewhere -----------


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        if isinstance(exception, RequestDataTooBig):
            return json_error(413, "request_too_large", "The request body is too large.")
        return json_error(400, "bad_request", "The request is malformed.")
    return defaults.bad_request(request, exception)


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        return json_error(403, "permission_denied", "You do not have permission to perform this action.")
    return defaults.permission_denied(request, exception)


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        return json_error(404, "not_found", "Not found.")
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if is_api_path(request.path):
        return json_error(500, "server_error", "The server failed to answer; the error has been logged.")
    return defaults.server_error(request)
