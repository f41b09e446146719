"""While the database is unreachable, every request answers 503 at once, plainly, and with
Retry-After, instead of a 500; requests succeed again by themselves once it is back.

A refused or broken connection raises django.db.OperationalError or InterfaceError. The
connection's own settings bound how long that takes (``connect_timeout`` in DATABASES' OPTIONS,
DATABASE_CONNECT_TIMEOUT) and bring it back (CONN_HEALTH_CHECKS: a connection kept from before
an outage is tested and replaced before it is used, so no web process needs a restart).

This middleware turns those errors into the answer: JSON in the API's one error shape under
/api/, a small static HTML page elsewhere (no template, no user, nothing that needs the
database). Nothing of the exception reaches the client; the log gets its class and message.

* ``process_exception`` catches what a view (or its template, or DRF) raises;
* an error raised by another middleware (a session saved after the view, say) never reaches
  ``process_exception``: Django turns it into a 500 on the spot. ``got_request_exception`` marks
  such a request, and ``__call__`` answers 503 in place of that 500. Register this middleware
  outside SessionMiddleware and every middleware that may touch the database.
"""

import logging
import sys

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from cases.api.exceptions import is_api_path, json_error

logger = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5
ERROR_CODE = "database_unavailable"
MESSAGE = "Database unavailable, try again shortly."
PAGE = (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Service unavailable</title>'
    "</head>\n<body><h1>Service unavailable</h1><p>" + MESSAGE + "</p></body></html>\n"
)
_MARK = "_database_unavailable"
# Headers of the 500 that the answer replaces and must not inherit.
_NOT_KEPT = {"content-type", "content-length", "content-disposition", "content-encoding"}


def database_unavailable_response(request: HttpRequest) -> HttpResponse:
    if is_api_path(request.path_info):
        response = json_error(503, ERROR_CODE, MESSAGE)
    else:
        response = HttpResponse(PAGE, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def _log(request: HttpRequest, exc: BaseException) -> None:
    # One line, no traceback: an outage makes every request fail the same way.
    logger.warning(
        "database unavailable: %s %s answered 503 (%s: %s)",
        request.method,
        request.path_info,
        type(exc).__name__,
        str(exc).strip().splitlines()[0] if str(exc).strip() else "",
    )


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 500 and getattr(request, _MARK, False):
            replacement = database_unavailable_response(request)
            for name, value in response.items():  # keep what inner middleware set (CSP, Vary, ...)
                if name.lower() not in _NOT_KEPT and name not in replacement:
                    replacement[name] = value
            return replacement
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DATABASE_UNAVAILABLE):
            return None
        _log(request, exception)
        return database_unavailable_response(request)


@receiver(got_request_exception, dispatch_uid="annotator.middleware.mark_database_unavailable")
def _mark_database_unavailable(sender, request=None, **kwargs) -> None:
    """Sent while Django handles an exception it will answer with a 500; marks a database one."""
    exc = sys.exc_info()[1]
    if request is not None and isinstance(exc, DATABASE_UNAVAILABLE):
        setattr(request, _MARK, True)
        _log(request, exc)
