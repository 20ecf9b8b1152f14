"""How the API's refusals answer: the same status codes for the JSON API and the FHIR reads,
each in its own error shape (``{"detail": …}``, or a FHIR ``OperationOutcome``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError

from alliance.web.api import actions
from alliance.web.api.auth import RateLimited, WriteScopeRequired
from alliance.web.audit.log import record

#: Builds an error response: (api, request, status, detail) -> response.
ErrorBody = Callable[[NinjaAPI, HttpRequest, int, Any], HttpResponse]


def json_error(api: NinjaAPI, request: HttpRequest, status: int, detail: Any) -> HttpResponse:
    return api.create_response(request, {"detail": detail}, status=status)


def install(api: NinjaAPI, error: ErrorBody = json_error) -> None:
    """Register the handlers of every refusal the API's operations may raise on ``api``."""

    def rate_limited(request: HttpRequest, exc: Any) -> HttpResponse:
        response = error(api, request, 429, "rate limit reached")
        response["Retry-After"] = str(exc.retry_after)
        return response

    def forbidden(request: HttpRequest, exc: Any) -> HttpResponse:
        read_only = isinstance(exc, WriteScopeRequired)
        return error(api, request, 403, "this token is read only" if read_only else "read only")

    def not_found(request: HttpRequest, exc: Any) -> HttpResponse:
        return error(api, request, 404, "not found")

    def http_error(request: HttpRequest, exc: Any) -> HttpResponse:
        if exc.status_code == 400:  # a body that is not JSON
            _refused(request)
        response = error(api, request, exc.status_code, str(exc))
        if exc.status_code == 401:  # RFC 6750: say which credentials would do
            response["WWW-Authenticate"] = 'Bearer realm="alliance"'
        return response

    def invalid(request: HttpRequest, exc: Any) -> HttpResponse:
        """Bad parameters: 422, audited (without the values, which may be anything)."""
        _refused(request)
        errors = [{"loc": e.get("loc"), "msg": e.get("msg")} for e in exc.errors]
        return error(api, request, 422, errors)

    api.add_exception_handler(RateLimited, rate_limited)
    api.add_exception_handler(WriteScopeRequired, forbidden)
    api.add_exception_handler(PermissionDenied, forbidden)
    api.add_exception_handler(Http404, not_found)
    api.add_exception_handler(HttpError, http_error)
    api.add_exception_handler(ValidationError, invalid)


def _refused(request: HttpRequest) -> None:
    """Audit a call refused before it ran (the path names it; no values are kept)."""
    path = request.path[:40]
    record(request, actions.REFUSED, object_type="api", object_id=path, outcome="refused")
