"""Plain error pages that say what happened without echoing anything the request carried."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render


def _page(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    context = {"title": title, "message": message}
    return render(request, "error.html", context, status=status)


def bad_request(request: HttpRequest, exception: Any = None) -> HttpResponse:
    if isinstance(exception, MultiPartParserError):  # an upload Django could not take apart
        return _page(request, 400, "Upload not read", _upload_problem(str(exception)))
    return _page(request, 400, "Bad request", "The request could not be understood.")


def _upload_problem(reason: str) -> str:
    """Django refuses a form part whose headers pass 1,024 bytes: in practice a long file name."""
    if "header size" in reason:
        return (
            "The file's name is too long to upload (the limit is about 900 characters, fewer "
            "for accented or non-Latin letters). Rename the file to a shorter name and upload "
            "it again; nothing was stored."
        )
    return "The upload arrived incomplete or malformed. Upload the file again; nothing was stored."


def forbidden(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return _page(request, 403, "Not allowed", "You do not have permission to do that.")


def not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return _page(request, 404, "Not found", "There is nothing here, or you cannot see it.")


def server_error(request: HttpRequest) -> HttpResponse:
    return _page(request, 500, "Something went wrong", "Please try again in a moment.")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return _page(
        request,
        403,
        "Please reload the page",
        "This form had expired or your browser blocked its cookie. Go back, reload the page "
        "and send it again.",
    )
